//! The attack table: each case asserts the exact outcome, on the decoded notices, the proven
//! leaf and the verdict a verifier computes itself.

use serde_json::json;
use witness_protocol::notice::{
    DETAIL_KEY_TAG, HistoryEntry, ODOMETER_KEY_TAG, RecoveryOutcome, history_key,
};
use witness_protocol::verdict::Verdict;
use witness_protocol::{
    BackendSecretKey, Consent, Correction, CorrectionReason, DeviceId, Envelope, Error,
    EvidenceType, GatewayAuthorization, MAX_INPUT_LEN, Message, OwnerObjection, OwnershipStatement,
    RECOVERY_DELAY_S, RegistrarAction, RegistrarMessage, Release, SigningKey,
};

use crate::{
    ADMIN, Car, GATEWAY, STRANGER, World, eras, history, refusal, rejections, reports, summary,
};

/// The reading entries of a notice: `(counter, rollback_of)`.
fn readings(notice: &witness_protocol::notice::HistoryNotice) -> Vec<(u64, Option<u64>)> {
    notice
        .entries
        .iter()
        .filter_map(|e| match e {
            HistoryEntry::Reading {
                counter,
                rollback_of,
                ..
            } => Some((*counter, *rollback_of)),
            _ => None,
        })
        .collect()
}

#[test]
fn honest_readings_are_attested_with_one_history_notice_per_device_then_the_state_notice() {
    let mut w = World::new();
    let mut car = w.register(1);
    let mut other = w.register(2);
    let a = w.drive(&mut car, 30, 3);
    let b = w.drive(&mut other, 5, 1);
    let outcome = w.send(vec![a, b]);
    assert!(rejections(&outcome).is_empty());
    assert_eq!(refusal(&outcome), None);
    // One history notice per device, in the order first touched, then the state notice.
    assert_eq!(outcome.notices.len(), 3);
    let notices = history(&outcome);
    assert_eq!(notices[0].device_id, car.id);
    assert_eq!(notices[1].device_id, other.id);
    assert_eq!(readings(&notices[0]), [(1, None), (2, None), (3, None)]);
    assert_eq!(readings(&notices[1]), [(1, None)]);
    // Each envelope's entry gives its range, and its reading entries follow it.
    assert_eq!(
        notices[1].entries[0],
        HistoryEntry::Envelope {
            first_counter: 1,
            count: 1
        }
    );
    assert!(matches!(
        notices[1].entries[1],
        HistoryEntry::Reading { counter: 1, .. }
    ));
    assert!(matches!(
        notices[0].entries[0],
        HistoryEntry::Envelope {
            first_counter: 1,
            count: 3,
            ..
        }
    ));
    assert_eq!(notices[0].entries.len(), 4);
    // The notice carries no reading value in the clear: the values are sealed, and only the
    // device's era keys open them.
    let secret = w.state.config().backend_key.to_bytes();
    let wrong = history_key(ODOMETER_KEY_TAG, &secret, &other.id, 0);
    assert_eq!(
        notices[0].open_values(&wrong, None),
        Err(Error::DecryptionFailed)
    );
    let right = history_key(ODOMETER_KEY_TAG, &secret, &car.id, 0);
    let values = notices[0].open_values(&right, None).unwrap();
    assert_eq!(values.last().unwrap().odometer_m, car.odometer_m);
    let summary = summary(&outcome);
    assert_eq!(summary["readings_attested"], 4);
    assert_eq!(w.leaf(&car.id).attested, 3);
    assert_eq!(w.leaf(&other.id).attested, 1);
}

#[test]
fn forged_signature_is_rejected_and_the_rest_of_the_batch_proceeds() {
    let mut w = World::new();
    let mut car = w.register(1);
    let mut honest = w.register(1);
    let forged = w.drive(&mut car, 10, 1);
    let mut bytes = forged.as_bytes().to_vec();
    *bytes.last_mut().unwrap() ^= 1;
    let forged = Envelope::decode(&bytes).unwrap();
    let good = w.drive(&mut honest, 10, 1);
    let outcome = w.send(vec![forged, good]);
    assert_eq!(rejections(&outcome), ["bad_signature"]);
    let rejected = &reports(&outcome)[0];
    assert_eq!(rejected["device_id"], car.id.to_hex());
    assert_eq!(rejected["counter"], 1);
    assert_eq!(summary(&outcome)["readings_attested"], 1);
    // Only the honest device has a history notice.
    let notices = history(&outcome);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].device_id, honest.id);
    assert_eq!(w.leaf(&car.id).last_counter, None);
    assert_eq!(w.leaf(&honest.id).last_counter, Some(1));
}

#[test]
fn replayed_and_reordered_envelopes_are_stale() {
    let mut w = World::new();
    let mut car = w.register(1);
    let first = w.drive(&mut car, 10, 1);
    let second = w.drive(&mut car, 10, 1);
    assert!(rejections(&w.send(vec![second.clone()])).is_empty());
    // The earlier counter arrives after the later one: reordered.
    let reordered = w.send(vec![first]);
    assert_eq!(rejections(&reordered), ["stale_counter"]);
    assert!(history(&reordered).is_empty());
    // The same envelope again: replayed.
    let replayed = w.send(vec![second]);
    assert_eq!(rejections(&replayed), ["stale_counter"]);
    assert!(history(&replayed).is_empty());
    let leaf = w.leaf(&car.id);
    assert_eq!(leaf.attested, 1);
    assert_eq!(leaf.last_counter, Some(2));
    // Registration and the one reading: two notices in the device's history.
    assert_eq!(leaf.history.count, 2);
}

#[test]
fn a_clone_with_the_stolen_key_and_an_old_counter_is_stale() {
    let mut w = World::new();
    let mut car = w.register(1);
    for _ in 0..3 {
        let e = w.drive(&mut car, 10, 1);
        w.send(vec![e]);
    }
    let mut clone = Car::new(
        car.id,
        SigningKey::from_seed(&car.key.to_seed()),
        1,
        car.odometer_m + 50_000,
    );
    let e = w.drive(&mut clone, 10, 1);
    assert_eq!(rejections(&w.send(vec![e])), ["stale_counter"]);
    // The clone copied the device's storage too (it can open the attested readings), and
    // answers a verifier with its own lower counter: caught.
    clone.sealed = car.sealed.clone();
    let decision = w.verdict(&clone, clone.odometer_m);
    assert_eq!(decision.verdict, Verdict::Flagged);
    assert_eq!(decision.findings[0].code, "counter_behind");
}

#[test]
fn rollback_is_a_tamper_event_with_a_history_entry_and_a_flag_until_corrected() {
    let mut w = World::new();
    let mut car = w.register(1);
    let honest = w.drive(&mut car, 100, 2);
    let honest_input = w.input_index;
    w.send(vec![honest]);
    // Wound back from about 10,100 km to 5,000 km.
    car.odometer_m = 5_000_000;
    let rolled = w.drive(&mut car, 1, 1);
    let rolled_input = w.input_index;
    let outcome = w.send(vec![rolled]);
    assert_eq!(outcome.notices.len(), 2);
    let notices = history(&outcome);
    assert_eq!(notices[0].device_id, car.id);
    assert_eq!(readings(&notices[0]), [(3, Some(2))]);
    let tamper = &reports(&outcome)[0];
    assert_eq!(tamper["type"], "tamper");
    assert_eq!(tamper["counter"], 3);
    assert_eq!(tamper["reference_counter"], 2);
    assert_eq!(summary(&outcome)["tamper_events"], 1);
    let status = w
        .inspect(json!({"type": "device", "device_id": car.id.to_hex()}))
        .1;
    assert_eq!(status["leaf"]["status"], "flagged");
    assert_eq!(status["leaf"]["tamper_events"], 1);
    let leaf = w.leaf(&car.id);
    assert!(leaf.flagged());
    let latest = leaf.latest_tamper.unwrap();
    assert_eq!(
        (latest.counter, latest.reference_counter, latest.input_index),
        (3, 2, rolled_input)
    );
    let highest = leaf.highest.unwrap();
    assert_eq!((highest.counter, highest.input_index), (2, honest_input));

    // Verify: the live reading is below the attested history.
    let decision = w.verdict(&car, car.odometer_m);
    assert_eq!(decision.verdict, Verdict::Rollback);
    assert_eq!(decision.findings[0].code, "rollback");
    assert!(
        decision
            .findings
            .iter()
            .any(|f| f.code == "tamper_on_record")
    );
    // Showing the attested value again does not clear the flag.
    assert_eq!(w.verdict(&car, 10_200_000).verdict, Verdict::Flagged);

    // A registrar's correction (the cluster was replaced) keeps the record, clears the
    // rollback it names and moves the baseline to the new cluster's value.
    let correction = w.registrar_message(RegistrarAction::Correct(correction(
        car.id,
        3,
        None,
        Some(car.odometer_m),
    )));
    let outcome = w.submit(STRANGER, vec![correction]);
    let notices = history(&outcome);
    assert_eq!(notices.len(), 1);
    assert!(matches!(
        &notices[0].entries[..],
        [HistoryEntry::Corrected { cleared: true, correction, .. }]
            if correction.counter == 3 && correction.baseline_m == Some(car.odometer_m)
    ));
    let leaf = w.leaf(&car.id);
    assert!(!leaf.flagged());
    assert_eq!(leaf.tamper_events, 1, "the rollback stays on record");
    assert_eq!(leaf.corrections, 1);
    assert_eq!(leaf.latest_correction.unwrap().counter, 3);
    // Verify compares with the corrected baseline, not the old cluster's highest reading:
    // no false rollback, and no opening is needed for a public baseline.
    assert_eq!(
        leaf.corrected_baseline.map(|b| b.odometer_m),
        Some(car.odometer_m)
    );
    assert_eq!(w.verdict(&car, car.odometer_m).verdict, Verdict::Consistent);
    assert_eq!(
        w.verdict(&car, car.odometer_m - 1).verdict,
        Verdict::Rollback
    );
    let next = w.drive(&mut car, 10, 1);
    let outcome = w.send(vec![next]);
    assert!(rejections(&outcome).is_empty());
    assert_eq!(readings(&history(&outcome)[0]), [(4, None)]);
    assert_eq!(
        w.verdict(&car, car.odometer_m + 100).verdict,
        Verdict::Consistent
    );
}

#[test]
fn rollback_inside_one_envelope_splits_attested_and_tampered_readings() {
    let mut w = World::new();
    let mut car = w.register(1);
    let mut readings_sealed = vec![w.reading(&car), w.reading(&car)];
    readings_sealed[0].odometer_m = 50_000_000;
    readings_sealed[1].odometer_m = 10_000_000;
    let envelope = w.seal(&mut car, &readings_sealed);
    let outcome = w.send(vec![envelope]);
    assert_eq!(outcome.notices.len(), 2);
    assert_eq!(readings(&history(&outcome)[0]), [(1, None), (2, Some(1))]);
    let leaf = w.leaf(&car.id);
    assert_eq!(leaf.last_counter, Some(2));
    assert_eq!(leaf.attested, 1);
    assert_eq!(leaf.highest.unwrap().counter, 1);
    assert!(leaf.flagged());
}

/// A correction for `counter` on workshop evidence.
fn correction(
    device_id: DeviceId,
    counter: u64,
    odometer_m: Option<u64>,
    baseline_m: Option<u64>,
) -> Correction {
    Correction {
        device_id,
        counter,
        odometer_m,
        baseline_m,
        reason: CorrectionReason::ClusterReplaced,
        evidence: EvidenceType::WorkshopRecord,
        evidence_digest: [7; 32],
        note: "instrument cluster replaced".into(),
    }
}

#[test]
fn a_correction_clears_only_the_rollback_it_names() {
    let mut w = World::new();
    let mut car = w.register(1);
    let honest = w.drive(&mut car, 100, 2);
    w.send(vec![honest]);
    let top = car.odometer_m;
    // Two rollbacks, counters 3 and 4.
    car.odometer_m = 5_000_000;
    let first = w.drive(&mut car, 1, 1);
    let second = w.drive(&mut car, 1, 1);
    w.send(vec![first, second]);
    assert_eq!(w.leaf(&car.id).open_tampers, 2);
    let correct = |w: &mut World, c: Correction| {
        let message = w.registrar_message(RegistrarAction::Correct(c));
        w.submit(STRANGER, vec![message])
    };
    // A correction of an honest reading's value clears nothing else: a whitewash fails.
    let outcome = correct(&mut w, correction(car.id, 1, Some(1_000_000), None));
    assert!(rejections(&outcome).is_empty());
    let leaf = w.leaf(&car.id);
    assert_eq!((leaf.open_tampers, leaf.corrections), (2, 1));
    assert_eq!(w.verdict(&car, top).verdict, Verdict::Flagged);
    // A correction that names nothing to correct is refused and changes nothing.
    let outcome = correct(&mut w, correction(car.id, 2, None, None));
    assert_eq!(rejections(&outcome), ["nothing_to_correct"]);
    // Nor can it name a counter never consumed.
    let outcome = correct(&mut w, correction(car.id, 9, None, None));
    assert_eq!(rejections(&outcome), ["unknown_counter"]);
    // Clearing rollback 3 leaves rollback 4 open.
    let outcome = correct(&mut w, correction(car.id, 3, None, None));
    assert!(matches!(
        &history(&outcome)[0].entries[..],
        [HistoryEntry::Corrected { cleared: true, .. }]
    ));
    assert_eq!(w.leaf(&car.id).open_tampers, 1);
    assert_eq!(w.verdict(&car, top).verdict, Verdict::Flagged);
    // Naming 3 again clears nothing more (and moves nothing): refused.
    let outcome = correct(&mut w, correction(car.id, 3, None, None));
    assert_eq!(rejections(&outcome), ["nothing_to_correct"]);
    correct(&mut w, correction(car.id, 4, None, None));
    let leaf = w.leaf(&car.id);
    assert_eq!(
        (leaf.open_tampers, leaf.tamper_events, leaf.corrections),
        (0, 2, 3)
    );
    // Without a baseline moved, the reference is still the highest attested reading: the
    // cluster showing 5,000 km is still below it.
    assert_eq!(w.verdict(&car, car.odometer_m).verdict, Verdict::Rollback);
    assert_eq!(w.verdict(&car, top).verdict, Verdict::Consistent);
}

#[test]
fn ciphertext_moved_to_another_device_fails_to_decrypt() {
    let mut w = World::new();
    let mut victim = w.register(1);
    let thief = w.register(1);
    let envelope = w.drive(&mut victim, 10, 1);
    let mut bytes = envelope.as_bytes()[..envelope.as_bytes().len() - 64].to_vec();
    bytes[2..18].copy_from_slice(&thief.id.0);
    let message =
        witness_protocol::signed_bytes(witness_protocol::ENVELOPE_SIGNING_TAG, &w.domain, &bytes);
    bytes.extend_from_slice(&thief.key.sign(&message).0);
    let outcome = w.send(vec![Envelope::decode(&bytes).unwrap()]);
    assert_eq!(rejections(&outcome), ["decryption_failed"]);
    assert!(history(&outcome).is_empty());
    assert_eq!(w.leaf(&thief.id).last_counter, None);
}

#[test]
fn unregistered_revoked_and_rotated_devices() {
    let mut w = World::new();
    // Swapped unit: a new key nobody registered.
    let mut stranger = Car::new(
        witness_protocol::DeviceId([9; 16]),
        SigningKey::generate(&mut w.rng),
        0,
        1,
    );
    let e = w.drive(&mut stranger, 1, 1);
    assert_eq!(rejections(&w.send(vec![e])), ["unknown_device"]);
    assert_eq!(w.proven_leaf(&stranger.id), None);

    let mut car = w.register(1);
    let e = w.drive(&mut car, 10, 1);
    w.send(vec![e]);
    let new_key = SigningKey::generate(&mut w.rng);
    let rotate = w.registrar_message(RegistrarAction::RotateKey {
        device_id: car.id,
        new_key: new_key.public_key(),
    });
    let outcome = w.submit(STRANGER, vec![rotate]);
    assert!(matches!(
        &history(&outcome)[0].entries[..],
        [HistoryEntry::KeyRotated { new_key: k }] if *k == new_key.public_key().to_bytes()
    ));
    assert_eq!(w.leaf(&car.id).key, new_key.public_key().to_bytes());
    let e = w.drive(&mut car, 10, 1);
    assert_eq!(
        rejections(&w.send(vec![e])),
        ["bad_signature"],
        "old key refused after rotation"
    );
    // A verifier talking to the old unit gets no green verdict either.
    assert_eq!(
        w.verdict(&car, car.odometer_m).findings[0].code,
        "device_signature"
    );
    car.key = new_key;
    let e = w.drive(&mut car, 10, 1);
    assert!(
        rejections(&w.send(vec![e])).is_empty(),
        "new key continues the history"
    );
    assert_eq!(w.leaf(&car.id).attested, 2);

    let revoke = w.registrar_message(RegistrarAction::RevokeDevice {
        device_id: car.id,
        reason: "stolen".into(),
    });
    let outcome = w.submit(STRANGER, vec![revoke]);
    assert!(matches!(
        &history(&outcome)[0].entries[..],
        [HistoryEntry::Revoked { .. }]
    ));
    let e = w.drive(&mut car, 10, 1);
    assert_eq!(rejections(&w.send(vec![e])), ["revoked_device"]);
    assert!(w.leaf(&car.id).revoked);
    assert_eq!(w.verdict(&car, car.odometer_m).verdict, Verdict::Revoked);

    // A revocation can be undone (the stolen car was found): the history and the counter
    // continue, and the reading refused while revoked stays refused.
    let id = car.id;
    let reinstate = |w: &mut World| {
        w.registrar_message(RegistrarAction::ReinstateDevice {
            device_id: id,
            reason: "found".into(),
        })
    };
    let message = reinstate(&mut w);
    let outcome = w.submit(STRANGER, vec![message]);
    assert!(rejections(&outcome).is_empty());
    assert!(matches!(
        &history(&outcome)[0].entries[..],
        [HistoryEntry::Reinstated { reason }] if reason == "found"
    ));
    assert!(!w.leaf(&car.id).revoked);
    let e = w.drive(&mut car, 10, 1);
    assert!(rejections(&w.send(vec![e])).is_empty(), "readings again");
    assert_eq!(w.leaf(&car.id).attested, 3);
    assert_eq!(w.verdict(&car, car.odometer_m).verdict, Verdict::Consistent);
    // Only a revoked device is reinstated; an unknown one is unknown.
    let root = w.root();
    let message = reinstate(&mut w);
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![message])),
        ["not_revoked"]
    );
    let unknown = w.registrar_message(RegistrarAction::ReinstateDevice {
        device_id: witness_protocol::DeviceId([0xee; 16]),
        reason: "found".into(),
    });
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![unknown])),
        ["unknown_device"]
    );
    assert_eq!(w.root(), root, "refused acts change nothing");
}

#[test]
fn registrar_messages_need_a_trusted_valid_fresh_signature() {
    let mut w = World::new();
    let key = SigningKey::generate(&mut w.rng);
    let id = witness_protocol::DeviceId([4; 16]);
    let action = RegistrarAction::RegisterDevice {
        device_id: id,
        model: witness_protocol::ModelId(1),
        public_key: key.public_key(),
        vehicle: crate::vehicle_of(&id),
    };
    // Untrusted registrar.
    let impostor = SigningKey::generate(&mut w.rng);
    let untrusted = RegistrarMessage::sign(&impostor, &w.domain, 1, action.clone()).unwrap();
    assert_eq!(
        rejections(&w.submit(GATEWAY, vec![Message::Registrar(untrusted)])),
        ["untrusted_registrar"]
    );
    // Trusted key, wrong signature (the gateway altered the model).
    let mut altered = RegistrarMessage::sign(&w.registrar, &w.domain, 1, action.clone()).unwrap();
    altered.action = RegistrarAction::RegisterDevice {
        device_id: id,
        model: witness_protocol::ModelId(2),
        public_key: key.public_key(),
        vehicle: crate::vehicle_of(&id),
    };
    assert_eq!(
        rejections(&w.submit(GATEWAY, vec![Message::Registrar(altered)])),
        ["bad_signature"]
    );
    // Signed for another deployment: another backend key, the same keys on another chain (a
    // testnet), another application sharing the backend key.
    for foreign in elsewhere(&mut w) {
        let foreign = RegistrarMessage::sign(&w.registrar, &foreign, 1, action.clone()).unwrap();
        assert_eq!(
            rejections(&w.submit(GATEWAY, vec![Message::Registrar(foreign)])),
            ["bad_signature"]
        );
    }
    assert_eq!(w.proven_leaf(&id), None);
    // Valid, then replayed.
    let valid = RegistrarMessage::sign(&w.registrar, &w.domain, 1, action).unwrap();
    let outcome = w.submit(GATEWAY, vec![Message::Registrar(valid.clone())]);
    assert!(rejections(&outcome).is_empty());
    assert!(matches!(
        &history(&outcome)[0].entries[..],
        [HistoryEntry::Registered { model, registrar }]
            if model.0 == 1 && *registrar == w.registrar.public_key().to_bytes()
    ));
    let root = w.root();
    let replayed = w.submit(GATEWAY, vec![Message::Registrar(valid)]);
    assert_eq!(rejections(&replayed), ["stale_sequence"]);
    assert_eq!(w.root(), root);
    let leaf = w.leaf(&id);
    assert_eq!(leaf.key, key.public_key().to_bytes());
    assert_eq!(leaf.model.0, 1);
}

/// Three deployments other than the world's, each differing in one part.
fn elsewhere(w: &mut World) -> [witness_protocol::Domain; 3] {
    let other_backend = BackendSecretKey::generate(&mut w.rng);
    [
        witness_protocol::Domain {
            backend_key: other_backend.public_key().clone(),
            ..w.domain.clone()
        },
        witness_protocol::Domain {
            chain_id: 11_155_111,
            ..w.domain.clone()
        },
        witness_protocol::Domain {
            application: [0x0b; 20],
            ..w.domain.clone()
        },
    ]
}

#[test]
fn envelopes_and_ownership_statements_signed_for_another_deployment_are_refused() {
    let mut w = World::new();
    let mut car = w.register(1);
    let owner = SigningKey::generate(&mut w.rng);
    for foreign in elsewhere(&mut w) {
        let reading = w.reading(&car);
        let envelope = Envelope::seal(&car.key, &foreign, car.id, 1, &[reading], &mut w.rng)
            .unwrap()
            .envelope;
        assert_eq!(rejections(&w.send(vec![envelope])), ["bad_signature"]);
        let pairing = OwnershipStatement::sign(
            &car.key,
            &foreign,
            car.id,
            owner.public_key(),
            1,
            Consent::FirstPairing,
        );
        let outcome = w.submit(GATEWAY, vec![Message::Ownership(pairing)]);
        assert_eq!(rejections(&outcome), ["bad_signature"]);
    }
    assert_eq!(w.leaf(&car.id).last_counter, None);
    assert_eq!(w.leaf(&car.id).owner, None);
    // The same device for this deployment is accepted.
    let e = w.drive(&mut car, 10, 1);
    assert!(rejections(&w.send(vec![e])).is_empty());
}

#[test]
fn a_counter_jump_beyond_the_bound_is_refused() {
    use witness_protocol::MAX_COUNTER_GAP;
    let mut w = World::new();
    let mut car = w.register(1);
    // The first envelope may skip up to the bound from counter 0 ...
    car.counter = MAX_COUNTER_GAP - 1;
    let e = w.drive(&mut car, 10, 1);
    assert_eq!(e.header().counter, MAX_COUNTER_GAP);
    assert!(rejections(&w.send(vec![e])).is_empty());
    // ... and each later one up to the bound past the last.
    car.counter += MAX_COUNTER_GAP;
    let e = w.drive(&mut car, 10, 1);
    assert!(rejections(&w.send(vec![e])).is_empty());
    let last = w.leaf(&car.id).last_counter;
    assert_eq!(last, Some(2 * MAX_COUNTER_GAP + 1));
    // One more is a jump; a key holder cannot end the device's life by jumping near 2^64.
    let root = w.root();
    car.counter += MAX_COUNTER_GAP + 1;
    let e = w.drive(&mut car, 10, 1);
    assert_eq!(rejections(&w.send(vec![e])), ["counter_jump"]);
    car.counter = u64::MAX - 2;
    let e = w.drive(&mut car, 10, 1);
    assert_eq!(rejections(&w.send(vec![e])), ["counter_jump"]);
    assert_eq!(w.root(), root);
    assert_eq!(w.leaf(&car.id).last_counter, last);
}

#[test]
fn a_removed_registrar_keeps_its_sequence_when_added_again() {
    let mut w = World::new();
    let delegate = SigningKey::generate(&mut w.rng);
    let add = w.registrar_message(RegistrarAction::AddRegistrar {
        key: delegate.public_key(),
    });
    w.submit(STRANGER, vec![add.clone()]);
    let key = SigningKey::generate(&mut w.rng);
    let old = RegistrarMessage::sign(
        &delegate,
        &w.domain,
        5,
        RegistrarAction::RegisterDevice {
            device_id: witness_protocol::DeviceId([6; 16]),
            model: witness_protocol::ModelId(1),
            public_key: key.public_key(),
            vehicle: crate::vehicle_of(&witness_protocol::DeviceId([6; 16])),
        },
    )
    .unwrap();
    assert!(rejections(&w.submit(STRANGER, vec![Message::Registrar(old.clone())])).is_empty());
    let revoke = w.registrar_message(RegistrarAction::RevokeDevice {
        device_id: witness_protocol::DeviceId([6; 16]),
        reason: "decommissioned".into(),
    });
    w.submit(STRANGER, vec![revoke]);
    let remove = w.registrar_message(RegistrarAction::RemoveRegistrar {
        key: delegate.public_key(),
    });
    w.submit(STRANGER, vec![remove]);
    let add_again = w.registrar_message(RegistrarAction::AddRegistrar {
        key: delegate.public_key(),
    });
    assert!(rejections(&w.submit(STRANGER, vec![add_again])).is_empty());
    // Its old message (sequence 5) does not replay, a new one (6) is taken.
    let root = w.root();
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Registrar(old)])),
        ["stale_sequence"]
    );
    assert_eq!(w.root(), root);
    let fresh = RegistrarMessage::sign(
        &delegate,
        &w.domain,
        6,
        RegistrarAction::RegisterDevice {
            device_id: witness_protocol::DeviceId([7; 16]),
            model: witness_protocol::ModelId(1),
            public_key: key.public_key(),
            vehicle: crate::vehicle_of(&witness_protocol::DeviceId([7; 16])),
        },
    )
    .unwrap();
    assert!(rejections(&w.submit(STRANGER, vec![Message::Registrar(fresh)])).is_empty());
}

#[test]
fn only_root_registrars_manage_registrars() {
    let mut w = World::new();
    let delegate = SigningKey::generate(&mut w.rng);
    let add = w.registrar_message(RegistrarAction::AddRegistrar {
        key: delegate.public_key(),
    });
    let globals = w.last_state().globals;
    assert!(rejections(&w.submit(STRANGER, vec![add])).is_empty());
    assert_ne!(
        w.last_state().globals,
        globals,
        "the registrars are in the globals"
    );
    let third = SigningKey::generate(&mut w.rng);
    let by_delegate = RegistrarMessage::sign(
        &delegate,
        &w.domain,
        1,
        RegistrarAction::AddRegistrar {
            key: third.public_key(),
        },
    )
    .unwrap();
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Registrar(by_delegate)])),
        ["not_root_registrar"]
    );
    let remove = w.registrar_message(RegistrarAction::RemoveRegistrar {
        key: delegate.public_key(),
    });
    w.submit(STRANGER, vec![remove]);
    let key = SigningKey::generate(&mut w.rng);
    let register = RegistrarMessage::sign(
        &delegate,
        &w.domain,
        2,
        RegistrarAction::RegisterDevice {
            device_id: witness_protocol::DeviceId([5; 16]),
            model: witness_protocol::ModelId(1),
            public_key: key.public_key(),
            vehicle: crate::vehicle_of(&witness_protocol::DeviceId([5; 16])),
        },
    )
    .unwrap();
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Registrar(register)])),
        ["untrusted_registrar"]
    );
}

#[test]
fn gateway_authorization_only_from_the_admin_and_readings_only_from_gateways() {
    let mut w = World::new();
    let root = w.root();
    let globals = w.last_state().globals;
    let by_stranger = w.submit(
        STRANGER,
        vec![Message::GatewayAuthorization(GatewayAuthorization {
            gateway: STRANGER,
            authorized: true,
        })],
    );
    // Refused as a whole: accepted, state unchanged, a report says why.
    assert_eq!(refusal(&by_stranger).as_deref(), Some("not_admin"));
    assert_eq!(by_stranger.notices.len(), 1, "the state notice only");
    assert_eq!(w.root(), root);
    assert_eq!(w.last_state().globals, globals);
    let mut car = w.register(1);
    let root_after_register = w.root();
    assert_ne!(root, root_after_register);
    let e = w.drive(&mut car, 10, 1);
    let outcome = w.submit(STRANGER, vec![Message::Envelope(e.clone())]);
    assert_eq!(refusal(&outcome).as_deref(), Some("unauthorized_sender"));
    assert_eq!(outcome.notices.len(), 1, "the state notice only");
    // A refused input leaves the state as it was, except the input count.
    assert_eq!(w.root(), root_after_register);
    assert_eq!(w.leaf(&car.id).last_counter, None);
    // Deauthorized gateways are refused too.
    w.submit(
        ADMIN,
        vec![Message::GatewayAuthorization(GatewayAuthorization {
            gateway: GATEWAY,
            authorized: false,
        })],
    );
    assert_ne!(
        w.last_state().globals,
        globals,
        "the gateways are in the globals"
    );
    let outcome = w.submit(GATEWAY, vec![Message::Envelope(e)]);
    assert_eq!(refusal(&outcome).as_deref(), Some("unauthorized_sender"));
}

#[test]
fn ownership_needs_the_device_signature_and_a_fresh_sequence() {
    let mut w = World::new();
    let car = w.register(1);
    let owner = SigningKey::generate(&mut w.rng);
    let not_device = SigningKey::generate(&mut w.rng);
    let forged = OwnershipStatement::sign(
        &not_device,
        &w.domain,
        car.id,
        not_device.public_key(),
        1,
        Consent::FirstPairing,
    );
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Ownership(forged)])),
        ["bad_signature"]
    );
    assert_eq!(w.leaf(&car.id).era, 0);
    let paired = w.pair(&car, &owner, 1);
    assert!(rejections(&paired).is_empty());
    assert!(matches!(
        &history(&paired)[0].entries[..],
        [HistoryEntry::OwnerChanged { sequence: 1, consented: false, owner: o }]
            if *o == owner.public_key().to_bytes()
    ));
    // The first owner's era is 0, which also holds what came before any owner.
    assert_eq!(history(&paired)[0].era, 0);
    assert_eq!(w.leaf(&car.id).era, 0);
    assert_eq!(rejections(&w.pair(&car, &owner, 1)), ["stale_sequence"]);
    let buyer = SigningKey::generate(&mut w.rng);
    // Whoever reaches the car cannot pair it away from its owner (the valet, the garage,
    // the thief): the device's signature is not enough once it has an owner.
    assert_eq!(rejections(&w.pair(&car, &buyer, 2)), ["release_required"]);
    let not_owners = w.ownership(&car, &buyer, 2, Some(&not_device));
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![not_owners])),
        ["bad_release_signature"]
    );
    // A release of another binding (an old transfer code) does not verify either.
    let old_binding = Release::sign(&owner, &w.domain, car.id, 0, u32::MAX);
    let stale_release = OwnershipStatement::sign(
        &car.key,
        &w.domain,
        car.id,
        buyer.public_key(),
        2,
        Consent::Release(old_binding),
    );
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Ownership(stale_release)])),
        ["bad_release_signature"]
    );
    // An expired release is refused.
    let expired = Release::sign(&owner, &w.domain, car.id, 1, (w.now - 1) as u32);
    let late = OwnershipStatement::sign(
        &car.key,
        &w.domain,
        car.id,
        buyer.public_key(),
        2,
        Consent::Release(expired),
    );
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Ownership(late)])),
        ["release_expired"]
    );
    assert_eq!(w.leaf(&car.id).owner, Some(owner.public_key().to_bytes()));
    let sale = w.ownership(&car, &buyer, 2, Some(&owner));
    let sold = w.submit(STRANGER, vec![sale.clone()]);
    // The release was for one transfer: the same code does not pass the car on again.
    let Message::Ownership(used) = sale else {
        unreachable!()
    };
    let Consent::Release(used) = used.consent else {
        unreachable!()
    };
    let again = OwnershipStatement::sign(
        &car.key,
        &w.domain,
        car.id,
        not_device.public_key(),
        3,
        Consent::Release(used),
    );
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Ownership(again)])),
        ["bad_release_signature"]
    );
    assert!(rejections(&sold).is_empty());
    assert!(matches!(
        &history(&sold)[0].entries[..],
        [HistoryEntry::OwnerChanged {
            sequence: 2,
            consented: true,
            ..
        }]
    ));
    let leaf = w.leaf(&car.id);
    assert_eq!(leaf.owner, Some(buyer.public_key().to_bytes()));
    assert_eq!(leaf.ownership_sequence, Some(2));
    assert_eq!(leaf.era, 1, "passing to another owner starts era 1");
    assert_eq!(history(&sold)[0].era, 0, "the sale closes era 0");
    // Re-binding the same owner (on its own release) is recorded but starts no new era.
    let same = w.sell(&car, &buyer, &buyer, 4);
    assert!(rejections(&same).is_empty());
    assert_eq!(w.leaf(&car.id).era, 1);
}

#[test]
fn history_keys_go_only_to_the_current_owner_or_a_fresh_possession_proof() {
    let mut w = World::new();
    let mut car = w.register(1);
    let e = w.drive(&mut car, 42, 2);
    w.send(vec![e]);
    let seller = SigningKey::generate(&mut w.rng);
    w.pair(&car, &seller, 1);
    let response = BackendSecretKey::generate(&mut w.rng);

    let (ok, answer) = w.inspect(json!({"type": "history_keys", "device_id": car.id.to_hex()}));
    assert!(!ok);
    assert_eq!(answer["error"], "bad_query", "unknown fields are refused");
    let (ok, answer) = w.inspect(json!({"type": "history_keys"}));
    assert!(!ok);
    assert_eq!(answer["error"], "no_right_to_see");
    // The old query types are gone.
    for gone in ["history", "verify", "state_root"] {
        assert_eq!(w.inspect(json!({"type": gone})).1["error"], "bad_query");
    }

    let (answer, keys) = w.owner_keys(&car, &seller, &response).unwrap();
    assert_eq!(answer.era, 0);
    assert_eq!(eras(&keys.odometer), [0]);
    assert_eq!(eras(&keys.detail), [0]);
    // The readings were sent before the pairing, in the first owner's era 0: they open in
    // full, each checked against its commitment.
    let notices = w.notices_of(&car.id);
    let reading_notice = notices.iter().find(|n| n.reading_counters().count() == 2);
    let reading_notice = reading_notice.unwrap();
    assert_eq!(reading_notice.era, 0);
    let odometer = crate::era_key(&keys.odometer, 0).unwrap();
    let detail = crate::era_key(&keys.detail, 0).unwrap();
    let values = reading_notice
        .open_values(&odometer, Some(&detail))
        .unwrap();
    assert_eq!(values[0].odometer_m, car.odometer_m - 21_000);
    assert_eq!(values[1].odometer_m, car.odometer_m);
    assert_eq!(values[1].day, (w.now - 600) as u32 / 86_400);
    assert_eq!(values[1].detail.as_ref().unwrap().1, car.sealed[&2].1);
    // The relayed answer is sealed: the gateway learns nothing from it.
    let relayed = serde_json::to_string(&answer).unwrap();
    assert!(!relayed.contains(&hex::encode(odometer)));
    // Sealed to the query's response key only.
    let eavesdropper = BackendSecretKey::generate(&mut w.rng);
    let query = w.owner_query(&car, &seller, &response, w.now + 300);
    let signature = witness_protocol::OwnerQuery::decode(&hex::decode(&query).unwrap())
        .unwrap()
        .signature;
    let (_, sealed) = w.inspect(json!({"type": "history_keys", "owner_query": query}));
    let sealed = hex::decode(sealed["sealed"].as_str().unwrap()).unwrap();
    assert!(witness_protocol::open_response(&eavesdropper, &signature.0, &sealed).is_err());

    // Expired query.
    let expired = w.owner_query(&car, &seller, &response, w.now - 1);
    assert_eq!(
        w.inspect(json!({"type": "history_keys", "owner_query": expired}))
            .1["error"],
        "expired_owner_query"
    );
    // After a sale, the seller's queries stop working.
    let buyer = SigningKey::generate(&mut w.rng);
    w.sell(&car, &seller, &buyer, 2);
    let old = w.owner_query(&car, &seller, &response, w.now + 300);
    assert_eq!(
        w.inspect(json!({"type": "history_keys", "owner_query": old}))
            .1["error"],
        "not_owner"
    );
    let (_, keys) = w.owner_keys(&car, &buyer, &response).unwrap();
    assert_eq!(eras(&keys.odometer), [0, 1]);
    assert_eq!(eras(&keys.detail), [1]);

    // A fresh possession proof opens the dated odometer values; a stale one does not, nor
    // one signed by another key.
    let proof = w.possession(&car, car.odometer_m, [3; 32]);
    let (_, keys) = w.proof_keys(&proof, &response).unwrap();
    assert_eq!(eras(&keys.odometer), [0, 1]);
    assert!(keys.detail.is_empty());
    let impostor = Car::new(car.id, SigningKey::generate(&mut w.rng), 9, 1);
    let forged = w.possession(&impostor, 1, [3; 32]);
    assert_eq!(
        w.proof_keys(&forged, &response).unwrap_err().error,
        "invalid_proof"
    );
    w.now += 3600;
    let e = w.drive(&mut car, 1, 1);
    w.send(vec![e]);
    assert_eq!(
        w.proof_keys(&proof, &response).unwrap_err().error,
        "stale_proof"
    );
    // Public status never shows values.
    let status = w
        .inspect(json!({"type": "device", "device_id": car.id.to_hex()}))
        .1;
    assert!(!status.to_string().contains(&car.odometer_m.to_string()));
}

#[test]
fn verify_consistent_for_an_honest_device_proven_against_the_state_notice() {
    let mut w = World::new();
    let mut car = w.register(3);
    let e = w.drive(&mut car, 20, 1);
    let attesting = w.input_index;
    let outcome = w.send(vec![e]);
    // The device's notice is the input's first output, the state notice its last.
    assert_eq!(outcome.notices.len(), 2);
    assert_eq!(history(&outcome)[0].device_id, car.id);
    let leaf = w.leaf(&car.id);
    let highest = leaf.highest.unwrap();
    assert_eq!((highest.counter, highest.input_index), (1, attesting));
    assert_eq!(leaf.history.last_input, Some(attesting));
    // The device's opening matches the proven commitment and its value is the attested one.
    let opening = car.opening(1).unwrap();
    assert!(opening.verify(&highest.commitment).is_ok());
    assert_eq!(opening.reading.odometer_m, car.odometer_m);
    let decision = w.verdict(&car, car.odometer_m + 500);
    assert_eq!(decision.verdict, Verdict::Consistent, "{decision:?}");
    // A proof signed by another key cannot confirm anything.
    let impostor = Car::new(car.id, SigningKey::generate(&mut w.rng), 9, 1);
    let decision = w.verdict(&impostor, car.odometer_m);
    assert_eq!(decision.verdict, Verdict::CannotConfirm);
    assert_eq!(decision.findings[0].code, "device_signature");
    // A recorded answer to another nonce is not fresh.
    let leaf = w.proven_leaf(&car.id);
    let replayed = w.possession(&car, car.odometer_m, [3; 32]);
    let decision = witness_protocol::verdict::decide(&witness_protocol::verdict::Evidence {
        device_id: car.id,
        leaf: leaf.as_ref(),
        proof: &replayed,
        nonce: &[4; 32],
        domain: &w.domain,
        opening: car.opening(1).as_ref(),
        predecessors: &[],
    });
    assert_eq!(decision.findings[0].code, "proof_not_fresh");
    // Without the opening there is nothing to compare with.
    let decision = witness_protocol::verdict::decide(&witness_protocol::verdict::Evidence {
        device_id: car.id,
        leaf: leaf.as_ref(),
        proof: &replayed,
        nonce: &[3; 32],
        domain: &w.domain,
        opening: None,
        predecessors: &[],
    });
    assert_eq!(decision.verdict, Verdict::CannotConfirm);
    assert_eq!(decision.findings[0].code, "opening");
    // An unknown device is proven absent.
    let unknown = Car::new(
        witness_protocol::DeviceId([1; 16]),
        SigningKey::generate(&mut w.rng),
        1,
        1,
    );
    assert_eq!(w.verdict(&unknown, 5).verdict, Verdict::UnknownDevice);
    // Registered but nothing attested yet.
    let fresh = w.register(3);
    assert_eq!(w.verdict(&fresh, 5).verdict, Verdict::NoHistory);
}

#[test]
fn device_timestamps_must_fall_in_the_window() {
    let mut w = World::new();
    let mut car = w.register(1);
    let mut future = w.reading(&car);
    future.timestamp = (w.now + 600 + 301) as u32;
    let e = w.seal(&mut car, &[future]);
    assert_eq!(rejections(&w.send(vec![e])), ["timestamp_in_future"]);
    let mut old = w.reading(&car);
    old.timestamp = (w.now - 31 * 24 * 3600) as u32;
    let e = w.seal(&mut car, &[old]);
    assert_eq!(rejections(&w.send(vec![e])), ["timestamp_too_old"]);
    assert_eq!(w.leaf(&car.id).last_counter, None);
    // Buffered for a week while offline: fine.
    let mut buffered = w.reading(&car);
    buffered.timestamp = (w.now - 7 * 24 * 3600) as u32;
    let e = w.seal(&mut car, &[buffered]);
    assert!(rejections(&w.send(vec![e])).is_empty());
    assert_eq!(w.leaf(&car.id).last_counter, Some(3));
}

#[test]
fn truncated_garbage_and_oversize_inputs_are_refused_with_a_report_and_a_state_notice() {
    let mut w = World::new();
    let mut car = w.register(1);
    let e = w.drive(&mut car, 1, 1);
    let full = witness_protocol::RollupInput {
        messages: vec![Message::Envelope(e)],
    }
    .encode()
    .unwrap();
    for (payload, reason) in [
        (full[..full.len() - 3].to_vec(), "truncated"),
        (b"GET / HTTP/1.1".to_vec(), "unsupported_version"),
        (vec![], "truncated"),
        (vec![1u8; MAX_INPUT_LEN + 1], "oversize"),
    ] {
        let root = w.root();
        let outcome = w.submit_raw(GATEWAY, &payload);
        assert_eq!(refusal(&outcome).as_deref(), Some(reason));
        assert_eq!(outcome.notices.len(), 1, "the state notice only");
        assert_eq!(w.root(), root);
    }
    assert_eq!(w.leaf(&car.id).last_counter, None);
}

#[test]
fn statistics_are_k_anonymous() {
    let mut w = World::new();
    let mut fleet: Vec<_> = (0..5).map(|_| w.register(1)).collect();
    let mut lonely = w.register(2);
    for day in 0..3 {
        let mut envelopes: Vec<_> = fleet.iter_mut().map(|car| w.drive(car, 40, 1)).collect();
        envelopes.push(w.drive(&mut lonely, 40, 1));
        w.send(envelopes);
        w.now += 86_400 + day;
    }
    let stats = w.inspect(json!({"type": "stats"})).1;
    let models = stats["models"].as_array().unwrap();
    let golf = models.iter().find(|m| m["model"] == 1).unwrap();
    assert_eq!(golf["published"], true);
    assert_eq!(golf["devices"], 5);
    assert_eq!(golf["total_km"], 400.0);
    assert!(golf["consumption_l_per_100km"].as_f64().unwrap() > 0.0);
    let corolla = models.iter().find(|m| m["model"] == 2).unwrap();
    assert_eq!(corolla["published"], false);
    assert!(corolla["devices"].is_null() && corolla["total_km"].is_null());
    // The fleet total excludes the hidden group, so it cannot be subtracted out.
    assert_eq!(stats["fleet"]["devices"], 5);
    assert_eq!(stats["fleet"]["total_km"], 400.0);
}

#[test]
fn config_publishes_the_backend_key() {
    let w = World::new();
    let config = w.inspect(json!({"type": "config"})).1;
    assert_eq!(config["type"], "config");
    assert_eq!(config["protocol_version"], 2);
    assert_eq!(
        config["backend_public_key"],
        hex::encode(w.domain.backend_key.to_bytes())
    );
    assert_eq!(config["gateways"][0], crate::hex_address(GATEWAY));
    assert_eq!(
        config["proof_retention_blocks"],
        witness_backend::config::DEFAULT_PROOF_RETENTION_BLOCKS
    );
    let (ok, bad) = w.inspect(json!({"type": "nope"}));
    assert!(!ok);
    assert_eq!(bad["error"], "bad_query");
}

#[test]
fn history_keys_are_the_documented_derivation() {
    // The keys a requester receives are the ones the backend sealed with (16.4), so a
    // verifier with the backend's published notices needs nothing else.
    let mut w = World::new();
    let car = w.register(1);
    let owner = SigningKey::generate(&mut w.rng);
    w.pair(&car, &owner, 1);
    let response = BackendSecretKey::generate(&mut w.rng);
    let (_, keys) = w.owner_keys(&car, &owner, &response).unwrap();
    let secret = w.state.config().backend_key.to_bytes();
    for (tag, list) in [
        (ODOMETER_KEY_TAG, &keys.odometer),
        (DETAIL_KEY_TAG, &keys.detail),
    ] {
        for key in list {
            assert_eq!(
                crate::era_key(list, key.era).unwrap(),
                *history_key(tag, &secret, &car.id, key.era)
            );
        }
    }
}

/// A replacement act for `car`'s vehicle: `new` takes over from `baseline_m`.
fn replacement(car: &Car, new: &Car, baseline_m: u64) -> RegistrarAction {
    RegistrarAction::ReplaceUnit {
        vehicle: crate::vehicle_of(&car.id),
        old_device: car.id,
        new_device: new.id,
        model: witness_protocol::ModelId(1),
        public_key: new.key.public_key(),
        baseline_m,
    }
}

#[test]
fn a_replacement_unit_continues_the_vehicles_history() {
    let mut w = World::new();
    let mut car = w.register(1);
    let honest = w.drive(&mut car, 100, 3);
    w.send(vec![honest]);
    let owner = SigningKey::generate(&mut w.rng);
    w.pair(&car, &owner, 1);
    let mut unit = Car::new(
        DeviceId([0x55; 16]),
        SigningKey::generate(&mut w.rng),
        1,
        car.odometer_m,
    );
    let act = |w: &mut World, action: RegistrarAction| {
        let message = w.registrar_message(action);
        rejections(&w.submit(STRANGER, vec![message]))
    };
    // The vehicle has a unit: a second registration for it is refused.
    let second = RegistrarAction::RegisterDevice {
        device_id: unit.id,
        model: witness_protocol::ModelId(1),
        public_key: unit.key.public_key(),
        vehicle: crate::vehicle_of(&car.id),
    };
    assert_eq!(act(&mut w, second), ["vehicle_bound"]);
    // Kilometres cannot be dropped by swapping the unit.
    let low = replacement(&car, &unit, car.odometer_m - 1);
    assert_eq!(act(&mut w, low), ["baseline_below_record"]);
    // Another car's unit is not this vehicle's.
    let other = w.register(1);
    let foreign = RegistrarAction::ReplaceUnit {
        vehicle: crate::vehicle_of(&car.id),
        old_device: other.id,
        new_device: unit.id,
        model: witness_protocol::ModelId(1),
        public_key: unit.key.public_key(),
        baseline_m: car.odometer_m,
    };
    assert_eq!(act(&mut w, foreign), ["wrong_vehicle"]);
    // A unit already registered elsewhere is refused.
    let bound = Car::new(other.id, SigningKey::from_seed(&other.key.to_seed()), 1, 0);
    let taken = replacement(&car, &bound, car.odometer_m);
    assert_eq!(act(&mut w, taken), ["already_registered"]);

    // The replacement: the new unit takes over from the old unit's last reading.
    assert!(act(&mut w, replacement(&car, &unit, car.odometer_m)).is_empty());
    let old_leaf = w.leaf(&car.id);
    let new_leaf = w.leaf(&unit.id);
    assert_eq!(old_leaf.successor(), Some(unit.id));
    assert_eq!(new_leaf.predecessor(), Some(car.id));
    assert_eq!(new_leaf.vehicle, old_leaf.vehicle);
    assert_eq!(
        new_leaf.owner, old_leaf.owner,
        "the car's owner stays its owner"
    );
    assert_eq!(
        new_leaf.corrected_baseline.map(|b| b.odometer_m),
        Some(car.odometer_m)
    );
    // The old unit takes nothing more, and no reinstatement brings it back.
    let late = w.drive(&mut car, 10, 1);
    assert_eq!(rejections(&w.send(vec![late])), ["replaced_device"]);
    let reinstate = w.registrar_message(RegistrarAction::ReinstateDevice {
        device_id: car.id,
        reason: "mistake".into(),
    });
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![reinstate])),
        ["replaced_device"]
    );
    let decision = w.verdict(&car, car.odometer_m);
    assert_eq!(
        (decision.verdict, decision.findings[0].code),
        (Verdict::Revoked, "replaced")
    );
    // The new unit speaks for the vehicle: compared with the stated baseline before its first
    // reading, with the old unit's record part of the verdict.
    let decision = w.verdict(&unit, car.odometer_m);
    assert_eq!(decision.verdict, Verdict::Consistent, "{decision:?}");
    assert!(decision.findings.iter().any(|f| f.code == "unit_replaced"));
    // Its own counter space starts at 1; its readings continue the odometer.
    let first = w.drive(&mut unit, 20, 2);
    assert!(rejections(&w.send(vec![first])).is_empty());
    assert_eq!(w.leaf(&unit.id).attested, 2);
    assert_eq!(w.leaf(&unit.id).corrected_baseline, None);
    assert_eq!(
        w.verdict(&unit, unit.odometer_m).verdict,
        Verdict::Consistent
    );
    // A verifier who is not shown the old unit cannot confirm the vehicle's record.
    let proof = w.possession(&unit, unit.odometer_m, [9; 32]);
    let leaf = w.proven_leaf(&unit.id);
    let decision = witness_protocol::verdict::decide(&witness_protocol::verdict::Evidence {
        device_id: unit.id,
        leaf: leaf.as_ref(),
        proof: &proof,
        nonce: &[9; 32],
        domain: &w.domain,
        opening: unit
            .opening(leaf.as_ref().and_then(|l| l.highest).unwrap().counter)
            .as_ref(),
        predecessors: &[],
    });
    assert_eq!(decision.findings[0].code, "previous_unit");
}

#[test]
fn a_rollback_survives_the_swap_of_the_unit() {
    let mut w = World::new();
    let mut car = w.register(1);
    let honest = w.drive(&mut car, 100, 2);
    w.send(vec![honest]);
    let top = car.odometer_m;
    car.odometer_m /= 2;
    let rolled = w.drive(&mut car, 1, 1);
    w.send(vec![rolled]);
    assert!(w.leaf(&car.id).flagged());
    // The seller has the unit swapped, hoping a fresh unit carries a clean record.
    let mut unit = Car::new(
        DeviceId([0x56; 16]),
        SigningKey::generate(&mut w.rng),
        1,
        top,
    );
    let message = w.registrar_message(replacement(&car, &unit, top));
    assert!(rejections(&w.submit(STRANGER, vec![message])).is_empty());
    let next = w.drive(&mut unit, 10, 1);
    w.send(vec![next]);
    let decision = w.verdict(&unit, unit.odometer_m);
    assert_eq!(decision.verdict, Verdict::Flagged, "{decision:?}");
    assert!(decision.findings[0].detail.contains("earlier unit"));
    // A new unit showing less than the baseline its act stated is a rollback of its own.
    unit.odometer_m = top - 1;
    let low = w.drive(&mut unit, 0, 1);
    w.send(vec![low]);
    assert_eq!(w.leaf(&unit.id).open_tampers, 1);
}

/// Every entry of an outcome's history notices, in order.
fn entries(outcome: &witness_backend::AdvanceOutcome) -> Vec<HistoryEntry> {
    history(outcome)
        .into_iter()
        .flat_map(|n| n.entries)
        .collect()
}

#[test]
fn an_ownership_recovery_waits_out_its_delay_and_the_owner_can_stop_it() {
    let mut w = World::new();
    let mut car = w.register(1);
    let e = w.drive(&mut car, 10, 1);
    w.send(vec![e]);
    let owner = SigningKey::generate(&mut w.rng);
    let claimant = SigningKey::generate(&mut w.rng);
    let id = car.id;
    let recover = |w: &mut World, to: &SigningKey| {
        let message = w.registrar_message(RegistrarAction::RecoverOwner {
            device_id: id,
            owner: to.public_key(),
        });
        w.submit(STRANGER, vec![message])
    };
    // A device without an owner needs no recovery: its first pairing is at the car.
    assert_eq!(rejections(&recover(&mut w, &claimant)), ["not_owned"]);
    w.pair(&car, &owner, 1);
    assert_eq!(rejections(&recover(&mut w, &owner)), ["same_key"]);

    let effective_at = w.now + RECOVERY_DELAY_S;
    let started = recover(&mut w, &claimant);
    assert!(rejections(&started).is_empty());
    assert_eq!(
        entries(&started),
        [HistoryEntry::RecoveryStarted {
            registrar: w.registrar.public_key().to_bytes(),
            owner: claimant.public_key().to_bytes(),
            effective_at,
        }]
    );
    let pending = w.leaf(&car.id).pending_recovery.unwrap();
    assert_eq!(
        (pending.owner, pending.effective_at),
        (claimant.public_key().to_bytes(), effective_at)
    );
    // A buyer sees it on L1 before the car changes hands.
    let verdict = w.verdict(&car, car.odometer_m);
    assert!(
        verdict
            .findings
            .iter()
            .any(|f| f.code == "recovery_pending")
    );
    assert_eq!(
        rejections(&recover(&mut w, &claimant)),
        ["recovery_pending"]
    );

    // Only the owner objects, and only to this recovery.
    let object = |w: &World, key: &SigningKey, at: u64| {
        Message::Objection(OwnerObjection::sign(key, &w.domain, id, at))
    };
    let not_owner = object(&w, &claimant, effective_at);
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![not_owner])),
        ["not_owner"]
    );
    let other_time = object(&w, &owner, effective_at + 1);
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![other_time])),
        ["no_pending_recovery"]
    );
    let mut forged = OwnerObjection::sign(&claimant, &w.domain, car.id, effective_at);
    forged.owner = owner.public_key();
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Objection(forged)])),
        ["bad_signature"]
    );
    let objected = w.submit(STRANGER, vec![object(&w, &owner, effective_at)]);
    assert!(rejections(&objected).is_empty());
    assert_eq!(
        entries(&objected),
        [HistoryEntry::RecoveryEnded {
            outcome: RecoveryOutcome::Objected
        }]
    );
    assert!(w.leaf(&car.id).pending_recovery.is_none());
    w.now += RECOVERY_DELAY_S;
    let e = w.drive(&mut car, 10, 1);
    w.send(vec![e]);
    assert_eq!(w.leaf(&car.id).owner, Some(owner.public_key().to_bytes()));

    // Unopposed, it takes effect with the first input at or after its time: an objection in
    // that input is too late.
    let effective_at = w.now + RECOVERY_DELAY_S;
    recover(&mut w, &claimant);
    // `send` moves the clock on by 600 s: this input is a second before the time.
    w.now = effective_at - 601;
    let e = w.drive(&mut car, 10, 1);
    w.send(vec![e]);
    assert!(w.leaf(&car.id).pending_recovery.is_some(), "not yet");
    w.now = effective_at;
    let late = w.submit(STRANGER, vec![object(&w, &owner, effective_at)]);
    assert_eq!(rejections(&late), ["no_pending_recovery"]);
    let recovered = entries(&late);
    assert_eq!(
        recovered,
        [HistoryEntry::OwnerRecovered {
            owner: claimant.public_key().to_bytes()
        }]
    );
    let leaf = w.leaf(&car.id);
    assert_eq!(leaf.owner, Some(claimant.public_key().to_bytes()));
    assert_eq!(leaf.era, 1, "the recovered owner starts a new era");
    assert!(leaf.pending_recovery.is_none());
    // The recovered owner sells with their own release; the old owner can no longer.
    let buyer = SigningKey::generate(&mut w.rng);
    let by_old = w.sell(&car, &owner, &buyer, 2);
    assert_eq!(rejections(&by_old), ["bad_release_signature"]);

    // A release by the owner supersedes a pending recovery; a revocation retires one.
    recover(&mut w, &buyer);
    let third = SigningKey::generate(&mut w.rng);
    let recover_again = w.registrar_message(RegistrarAction::RecoverOwner {
        device_id: car.id,
        owner: third.public_key(),
    });
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![recover_again])),
        ["recovery_pending"]
    );
    let sold = w.sell(&car, &claimant, &buyer, 3);
    assert!(rejections(&sold).is_empty());
    assert!(matches!(
        &entries(&sold)[..],
        [
            HistoryEntry::RecoveryEnded {
                outcome: RecoveryOutcome::Superseded
            },
            HistoryEntry::OwnerChanged {
                consented: true,
                ..
            }
        ]
    ));
    recover(&mut w, &third);
    let revoke = w.registrar_message(RegistrarAction::RevokeDevice {
        device_id: car.id,
        reason: "stolen".into(),
    });
    let revoked = w.submit(STRANGER, vec![revoke]);
    assert!(matches!(
        &entries(&revoked)[..],
        [
            HistoryEntry::RecoveryEnded {
                outcome: RecoveryOutcome::Retired
            },
            HistoryEntry::Revoked { .. }
        ]
    ));
    // Nothing is left to complete: the machine keeps no recovery of a revoked unit.
    w.now += RECOVERY_DELAY_S;
    let after = w.submit(STRANGER, vec![object(&w, &buyer, 0)]);
    assert!(entries(&after).is_empty());
    assert_eq!(w.leaf(&car.id).owner, Some(buyer.public_key().to_bytes()));
}
