//! The provable state (docs/PROTOCOL.md 16): every input ends with its state notice, history
//! notices refold to the device's accumulator, sealed values open with the right keys only,
//! and device proofs verify against the right state notice only.

use serde_json::json;
use witness_protocol::api::InspectAnswer;
use witness_protocol::notice::{HistoryEntry, NOTICE_STATE, notice_kind};
use witness_protocol::state::{HistoryAccumulator, MapProofError, Terminal};
use witness_protocol::verdict::Verdict;
use witness_protocol::{
    BackendSecretKey, Correction, CorrectionReason, DeviceId, Envelope, EvidenceType,
    MAX_INPUT_LEN, MAX_READINGS_PER_ENVELOPE, Message, Reading, RegistrarAction, RollupInput,
    SigningKey,
};

use crate::{
    Car, GATEWAY, STRANGER, World, era_key, eras, history, refusal, rejections, state_notice,
};

/// A scenario touching every kind of history entry, several devices, a sale, a mid-input
/// ownership change and refused inputs. Returns the world and its cars and owners.
fn eventful() -> (World, Vec<Car>, Vec<SigningKey>) {
    let mut w = World::new();
    let mut a = w.register(1);
    let mut b = w.register(2);
    let seller = SigningKey::generate(&mut w.rng);
    let buyer = SigningKey::generate(&mut w.rng);
    let ea = w.drive(&mut a, 30, 3);
    let eb = w.drive(&mut b, 10, 1);
    w.send(vec![ea, eb]);
    w.pair(&a, &seller, 1);
    let ea = w.drive(&mut a, 20, 2);
    w.send(vec![ea]);
    // A rollback, then its correction.
    a.odometer_m -= 15_000;
    let ea = w.drive(&mut a, 1, 1);
    w.send(vec![ea]);
    let correction = w.registrar_message(RegistrarAction::Correct(Correction {
        device_id: a.id,
        counter: a.counter,
        odometer_m: None,
        baseline_m: Some(a.odometer_m),
        reason: CorrectionReason::ClusterReplaced,
        evidence: EvidenceType::WorkshopRecord,
        evidence_digest: [1; 32],
        note: "odometer replaced at the dealer".into(),
    }));
    w.submit(STRANGER, vec![correction]);
    // Refused inputs in between.
    w.submit_raw(GATEWAY, b"\x01garbage");
    let eb = w.drive(&mut b, 10, 1);
    w.submit(STRANGER, vec![Message::Envelope(eb)]);
    // Readings, the sale and more readings in one input: two notices for `a`.
    let before = w.drive(&mut a, 10, 1);
    let after = w.drive(&mut a, 10, 2);
    let sale = w.ownership(&a, &buyer, 2, Some(&seller));
    w.now += 600;
    let outcome = w.submit(
        GATEWAY,
        vec![Message::Envelope(before), sale, Message::Envelope(after)],
    );
    assert!(
        rejections(&outcome).is_empty(),
        "{:?}",
        crate::reports(&outcome)
    );
    let new_key = SigningKey::generate(&mut w.rng);
    let rotate = w.registrar_message(RegistrarAction::RotateKey {
        device_id: b.id,
        new_key: new_key.public_key(),
    });
    w.submit(STRANGER, vec![rotate]);
    b.key = new_key;
    let eb = w.drive(&mut b, 10, 2);
    w.send(vec![eb]);
    (w, vec![a, b], vec![seller, buyer])
}

#[test]
fn every_processed_input_ends_with_exactly_one_state_notice_for_that_input() {
    let mut w = World::new();
    let mut car = w.register(1);
    let e = w.drive(&mut car, 10, 1);
    let valid = RollupInput {
        messages: vec![Message::Envelope(e.clone())],
    }
    .encode()
    .unwrap();
    let cases: Vec<(&str, [u8; 20], Vec<u8>)> = vec![
        ("foreign sender", STRANGER, valid.clone()),
        ("garbage payload", GATEWAY, b"\x01\xffgarbage".to_vec()),
        (
            "truncated payload",
            GATEWAY,
            valid[..valid.len() / 2].to_vec(),
        ),
        ("empty payload", GATEWAY, vec![]),
        ("oversize payload", GATEWAY, vec![0; MAX_INPUT_LEN + 1]),
        ("valid input", GATEWAY, valid.clone()),
        ("every message rejected", GATEWAY, valid),
    ];
    for (case, sender, payload) in cases {
        let index = w.input_index;
        let outcome = w.submit_raw(sender, &payload);
        let state = state_notice(&outcome);
        assert_eq!(state.input_index, index, "{case}");
        let states = outcome
            .notices
            .iter()
            .filter(|n| notice_kind(n) == Ok(NOTICE_STATE))
            .count();
        assert_eq!(states, 1, "{case}: exactly one state notice");
        assert_eq!(state.devices, 1, "{case}");
    }
    // The state query names the same notice.
    let InspectAnswer::State(answer) = w.ask(json!({"type": "state"})).unwrap() else {
        panic!("state answers state");
    };
    let last = w.last_state();
    assert_eq!(answer.input_index, Some(last.input_index));
    assert_eq!(answer.block_number, Some(last.block_number));
    assert_eq!(answer.map_root, hex::encode(last.map_root));
    assert_eq!(answer.globals, hex::encode(last.globals));
    assert_eq!(answer.processed_inputs, w.input_index);
    assert_eq!(answer.devices, 1);
}

#[test]
fn a_refused_input_leaves_the_map_root_and_every_leaf_unchanged() {
    let mut w = World::new();
    let mut car = w.register(1);
    let e = w.drive(&mut car, 10, 1);
    w.send(vec![e]);
    let e = w.drive(&mut car, 10, 1);
    let valid = RollupInput {
        messages: vec![Message::Envelope(e)],
    }
    .encode()
    .unwrap();
    for (sender, payload, reason) in [
        (STRANGER, valid.clone(), "unauthorized_sender"),
        (GATEWAY, valid[..valid.len() - 1].to_vec(), "truncated"),
        (GATEWAY, b"\x07".to_vec(), "unsupported_version"),
    ] {
        let before = w.last_state();
        let leaf = w.leaf(&car.id);
        let outcome = w.submit_raw(sender, &payload);
        assert_eq!(refusal(&outcome).as_deref(), Some(reason));
        let after = w.last_state();
        assert_eq!(after.map_root, before.map_root, "{reason}");
        assert_eq!(after.globals, before.globals, "{reason}");
        assert_eq!(after.devices, before.devices, "{reason}");
        assert_eq!(after.input_index, before.input_index + 1);
        assert_eq!(w.leaf(&car.id), leaf, "{reason}");
    }
    // The same envelope from the gateway still applies: the refusals consumed nothing.
    let outcome = w.submit_raw(GATEWAY, &valid);
    assert!(rejections(&outcome).is_empty());
    assert_eq!(w.leaf(&car.id).last_counter, Some(2));
}

#[test]
fn replaying_the_same_inputs_from_scratch_reaches_identical_roots_and_notices() {
    let (first, ..) = eventful();
    let (second, ..) = eventful();
    assert_eq!(first.states, second.states);
    assert_eq!(first.log, second.log);
    // And the roots did move along the way.
    let roots: std::collections::BTreeSet<_> = first.states.iter().map(|s| s.map_root).collect();
    assert!(roots.len() > 10);
}

#[test]
fn history_notices_refold_to_the_leaf_accumulator_with_a_correct_chain() {
    let (w, cars, _) = eventful();
    for car in &cars {
        let leaf = w.leaf(&car.id);
        let notices = w.notices_of(&car.id);
        assert!(notices.len() >= 4);
        let mut accumulator = HistoryAccumulator::default();
        let mut previous = None;
        for (position, notice) in notices.iter().enumerate() {
            assert_eq!(notice.position, position as u64);
            assert_eq!(notice.previous_input, previous);
            accumulator.fold(&notice.encode(), notice.input_index);
            previous = Some(notice.input_index);
        }
        assert_eq!(accumulator, leaf.history);
        assert_eq!(accumulator.count, notices.len() as u64);
        assert_eq!(accumulator.last_input, previous);
        // A missing or reordered notice does not refold to the leaf.
        let mut skipped = HistoryAccumulator::default();
        for notice in notices.iter().skip(1) {
            skipped.fold(&notice.encode(), notice.input_index);
        }
        assert_ne!(skipped.root, leaf.history.root);
        let mut swapped = HistoryAccumulator::default();
        for i in [1, 0].into_iter().chain(2..notices.len()) {
            swapped.fold(&notices[i].encode(), notices[i].input_index);
        }
        assert_ne!(swapped.root, leaf.history.root);
    }
    // The split input: its two notices of `a` chain within the input.
    let notices = w.notices_of(&cars[0].id);
    let split = notices
        .windows(2)
        .find(|pair| pair[0].input_index == pair[1].input_index)
        .expect("the sale split one input's notice");
    assert_eq!(split[1].previous_input, Some(split[0].input_index));
    assert_eq!(split[1].era, split[0].era + 1);
}

#[test]
fn an_ownership_change_ends_the_devices_notice_and_the_rest_goes_into_the_next_era() {
    let mut w = World::new();
    let mut car = w.register(1);
    let seller = SigningKey::generate(&mut w.rng);
    let owner = SigningKey::generate(&mut w.rng);
    // The first owner binds mid-input: no change of era, one notice.
    let before = w.drive(&mut car, 10, 1);
    let after = w.drive(&mut car, 10, 1);
    let pairing = w.ownership(&car, &seller, 1, None);
    w.now += 600;
    let outcome = w.submit(
        GATEWAY,
        vec![Message::Envelope(before), pairing, Message::Envelope(after)],
    );
    let notices = history(&outcome);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].era, 0);
    // Envelope, reading, owner changed, envelope, reading.
    assert_eq!(notices[0].entries.len(), 5);
    // The device passes to another owner mid-input: the notice ends there.
    let before = w.drive(&mut car, 10, 1);
    let after = w.drive(&mut car, 10, 1);
    let sale = w.ownership(&car, &owner, 2, Some(&seller));
    w.now += 600;
    let outcome = w.submit(
        GATEWAY,
        vec![Message::Envelope(before), sale, Message::Envelope(after)],
    );
    let notices = history(&outcome);
    assert_eq!(notices.len(), 2);
    assert_eq!(notices[0].era, 0);
    assert!(matches!(
        &notices[0].entries[..],
        [
            HistoryEntry::Envelope {
                first_counter: 3,
                count: 1,
                ..
            },
            HistoryEntry::Reading { counter: 3, .. },
            HistoryEntry::OwnerChanged {
                sequence: 2,
                consented: true,
                ..
            }
        ]
    ));
    assert_eq!(notices[1].era, 1);
    assert_eq!(notices[1].reading_counters().collect::<Vec<_>>(), [4]);
    assert_eq!(notices[1].position, notices[0].position + 1);
    assert_eq!(notices[1].previous_input, Some(notices[0].input_index));
    assert_eq!(w.leaf(&car.id).era, 1);
    // The new owner reads its own era in full, the earlier one as dated odometer values.
    let response = BackendSecretKey::generate(&mut w.rng);
    let (_, keys) = w.owner_keys(&car, &owner, &response).unwrap();
    let odo = |era| era_key(&keys.odometer, era).unwrap();
    let detail = era_key(&keys.detail, 1).unwrap();
    let full = notices[1].open_values(&odo(1), Some(&detail)).unwrap();
    assert_eq!(full[0].detail.as_ref().unwrap().1, car.sealed[&4].1);
    assert!(notices[0].open_values(&odo(0), Some(&detail)).is_err());
    assert_eq!(
        notices[0].open_values(&odo(0), None).unwrap()[0].odometer_m,
        car.sealed[&3].1.odometer_m
    );
    // The keys are per era: era 1's odometer key does not open era 0.
    assert!(notices[0].open_values(&odo(1), None).is_err());
}

#[test]
fn history_keys_open_the_devices_values_and_they_match_the_sealed_readings() {
    let (w, cars, owners) = eventful();
    let response = BackendSecretKey::generate(&mut crate::rng(99));
    let (answer, keys) = w.owner_keys(&cars[0], &owners[1], &response).unwrap();
    let era = answer.era;
    assert_eq!(era, 1);
    let mut opened = 0;
    for notice in w.notices_of(&cars[0].id) {
        let odometer = era_key(&keys.odometer, notice.era).unwrap();
        let detail = era_key(&keys.detail, notice.era);
        assert_eq!(detail.is_some(), notice.era == era);
        let values = notice.open_values(&odometer, detail.as_ref()).unwrap();
        let counters: Vec<u64> = notice.reading_counters().collect();
        assert_eq!(values.len(), counters.len());
        for (value, counter) in values.iter().zip(counters) {
            let (blinding, reading) = &cars[0].sealed[&counter];
            assert_eq!(value.counter, counter);
            assert_eq!(value.odometer_m, reading.odometer_m);
            assert_eq!(value.day, reading.timestamp / 86_400);
            if let Some((b, r)) = &value.detail {
                assert_eq!((b, r), (blinding, reading));
            }
            opened += 1;
        }
    }
    assert_eq!(
        opened,
        cars[0].sealed.len(),
        "every sealed reading was opened"
    );
    // Another device's notices do not open with these keys.
    let other = w.notices_of(&cars[1].id);
    let with_readings = other
        .iter()
        .find(|n| n.reading_counters().count() > 0)
        .unwrap();
    let key = era_key(&keys.odometer, with_readings.era).unwrap();
    assert!(with_readings.open_values(&key, None).is_err());
}

#[test]
fn after_a_sale_the_new_owner_gets_every_eras_odometer_key_but_only_its_own_detail_key() {
    let mut w = World::new();
    let mut car = w.register(1);
    let seller = SigningKey::generate(&mut w.rng);
    let buyer = SigningKey::generate(&mut w.rng);
    w.pair(&car, &seller, 1);
    let e = w.drive(&mut car, 50, 4);
    w.send(vec![e]);
    let response = BackendSecretKey::generate(&mut w.rng);
    let (_, seller_keys) = w.owner_keys(&car, &seller, &response).unwrap();
    assert_eq!(eras(&seller_keys.detail), [0]);
    let sold = w.sell(&car, &seller, &buyer, 2);
    assert!(rejections(&sold).is_empty());
    let e = w.drive(&mut car, 50, 2);
    w.send(vec![e]);

    let (answer, keys) = w.owner_keys(&car, &buyer, &response).unwrap();
    assert_eq!(answer.era, 1);
    assert_eq!(eras(&keys.odometer), [0, 1]);
    assert_eq!(eras(&keys.detail), [1]);
    let notices = w.notices_of(&car.id);
    let seller_era = notices
        .iter()
        .find(|n| n.era == 0 && n.reading_counters().count() == 4)
        .unwrap();
    let buyer_era = notices
        .iter()
        .find(|n| n.era == 1 && n.reading_counters().count() == 2)
        .unwrap();
    // The seller's readings: dated odometer values only.
    let odo0 = era_key(&keys.odometer, 0).unwrap();
    let det1 = era_key(&keys.detail, 1).unwrap();
    let dated = seller_era.open_values(&odo0, None).unwrap();
    assert_eq!(
        dated.iter().map(|v| v.odometer_m).collect::<Vec<_>>(),
        (1..=4)
            .map(|c| car.sealed[&c].1.odometer_m)
            .collect::<Vec<_>>()
    );
    assert!(dated.iter().all(|v| v.detail.is_none()));
    assert!(seller_era.open_values(&odo0, Some(&det1)).is_err());
    // The buyer's own readings in full, each checked against its commitment.
    let odo1 = era_key(&keys.odometer, 1).unwrap();
    let full = buyer_era.open_values(&odo1, Some(&det1)).unwrap();
    assert!(full.iter().all(|v| v.detail.is_some()));
    // The seller's keys stop at its era: its detail key does not open the buyer's.
    let seller_detail = era_key(&seller_keys.detail, 0).unwrap();
    assert!(buyer_era.open_values(&odo1, Some(&seller_detail)).is_err());
    assert_eq!(
        w.owner_keys(&car, &seller, &response).unwrap_err().error,
        "not_owner"
    );
}

#[test]
fn a_fresh_possession_proof_gets_odometer_keys_only() {
    let mut w = World::new();
    let mut car = w.register(1);
    let owner = SigningKey::generate(&mut w.rng);
    w.pair(&car, &owner, 1);
    let e = w.drive(&mut car, 10, 2);
    w.send(vec![e]);
    let verifier = BackendSecretKey::generate(&mut w.rng);
    let proof = w.possession(&car, car.odometer_m, [8; 32]);
    let (answer, keys) = w.proof_keys(&proof, &verifier).unwrap();
    assert_eq!(answer.era, 0);
    assert_eq!(eras(&keys.odometer), [0]);
    assert!(keys.detail.is_empty());
    let notice = w
        .notices_of(&car.id)
        .into_iter()
        .find(|n| n.reading_counters().count() == 2)
        .unwrap();
    let values = notice
        .open_values(&era_key(&keys.odometer, 0).unwrap(), None)
        .unwrap();
    assert_eq!(values[1].odometer_m, car.odometer_m);
    // A bad response key is refused; so is a proof without one.
    let (ok, error) = w.inspect(json!({
        "type": "history_keys",
        "proof": hex::encode(proof.encode().unwrap()),
        "response_key": "00",
    }));
    assert!(!ok);
    assert_eq!(error["error"], "bad_response_key");
    let (_, error) = w.inspect(json!({
        "type": "history_keys",
        "proof": hex::encode(proof.encode().unwrap()),
    }));
    assert_eq!(error["error"], "no_right_to_see");
}

#[test]
fn a_device_proof_as_of_a_kept_input_verifies_against_that_inputs_root_only() {
    let mut w = World::new();
    let mut car = w.register(1);
    let e = w.drive(&mut car, 10, 1);
    let then = w.input_index;
    w.send(vec![e]);
    let old_root = w.state_of(then).map_root;
    let e = w.drive(&mut car, 10, 1);
    w.send(vec![e]);
    let now = w.last_state();
    assert_ne!(now.map_root, old_root);

    let (answer, proof) = w.device_proof(&car.id, Some(then)).unwrap();
    assert_eq!(answer.input_index, then);
    assert_eq!(answer.map_root, hex::encode(old_root));
    let leaf = proof.verify(&car.id, &old_root).unwrap().unwrap();
    assert_eq!(leaf.last_counter, Some(1));
    assert_eq!(
        proof.verify(&car.id, &now.map_root),
        Err(MapProofError::RootMismatch)
    );
    // The latest proof is the other way round.
    let (_, latest) = w.device_proof(&car.id, None).unwrap();
    assert_eq!(
        latest
            .verify(&car.id, &now.map_root)
            .unwrap()
            .unwrap()
            .last_counter,
        Some(2)
    );
    assert_eq!(
        latest.verify(&car.id, &old_root),
        Err(MapProofError::RootMismatch)
    );
    // An input not processed yet has no proof.
    assert_eq!(
        w.device_proof(&car.id, Some(w.input_index))
            .unwrap_err()
            .error,
        "not_processed"
    );
    assert_eq!(
        w.ask(json!({"type": "device_proof", "device_id": "zz"}))
            .unwrap_err()
            .error,
        "bad_device_id"
    );
}

#[test]
fn an_input_older_than_the_retention_window_answers_not_kept() {
    let mut w = World::with_config(|config| config.proof_retention_blocks = 100);
    let car = w.register(1);
    let registered = w.input_index - 1;
    // Within 100 blocks every version is kept, more than the 64 always kept.
    for _ in 0..80 {
        w.submit_raw(GATEWAY, b"\x01");
    }
    let kept_from = |w: &World| match w.ask(json!({"type": "state"})).unwrap() {
        InspectAnswer::State(state) => state.kept_from,
        other => panic!("{other:?}"),
    };
    assert_eq!(kept_from(&w), Some(0));
    let (_, proof) = w.device_proof(&car.id, Some(registered)).unwrap();
    assert!(
        proof
            .verify(&car.id, &w.state_of(registered).map_root)
            .unwrap()
            .is_some()
    );
    // 200 blocks later only the latest 64 remain.
    w.block_number += 200;
    w.submit_raw(GATEWAY, b"\x01");
    let latest = w.last_state().input_index;
    assert_eq!(kept_from(&w), Some(latest - 63));
    let error = w.device_proof(&car.id, Some(registered)).unwrap_err();
    assert_eq!(error.error, "not_kept");
    assert_eq!(
        w.device_proof(&car.id, Some(latest - 64))
            .unwrap_err()
            .error,
        "not_kept"
    );
    let (_, proof) = w.device_proof(&car.id, Some(latest - 63)).unwrap();
    assert!(
        proof
            .verify(&car.id, &w.state_of(latest - 63).map_root)
            .unwrap()
            .is_some()
    );
}

#[test]
fn unknown_ids_are_proven_absent_by_an_empty_subtree_or_another_leaf() {
    let mut w = World::new();
    let mut low = [0u8; 16];
    low[15] = 0x10;
    let mut high = [0u8; 16];
    high[0] = 0x40;
    // Ids 00.. and 01.. (first two bits): the root's right subtree is empty, and the two
    // leaves sit at depth 2.
    let a = w.register_id(1, DeviceId(low));
    let b = w.register_id(1, DeviceId(high));
    let root = w.root();

    let mut right = [0u8; 16];
    right[0] = 0x80;
    let right = DeviceId(right);
    let (_, empty) = w.device_proof(&right, None).unwrap();
    assert_eq!(empty.terminal, Terminal::Empty);
    assert_eq!(empty.siblings.len(), 1);
    assert_eq!(empty.verify(&right, &root), Ok(None));

    let mut near = low;
    near[15] = 0x11;
    let near = DeviceId(near);
    let (_, other) = w.device_proof(&near, None).unwrap();
    assert!(matches!(&other.terminal, Terminal::Leaf(leaf) if leaf.device_id == a.id));
    assert_eq!(other.siblings.len(), 2);
    assert_eq!(other.verify(&near, &root), Ok(None));
    // That leaf's path does not prove absence of an id with another prefix (b's subtree).
    let mut beside = high;
    beside[15] = 1;
    assert_eq!(
        other.verify(&DeviceId(beside), &root),
        Err(MapProofError::WrongPrefix)
    );
    // Nor does an absence proof survive another root.
    let mut car = b;
    let e = w.drive(&mut car, 1, 1);
    w.send(vec![e]);
    assert_eq!(
        other.verify(&near, &w.root()),
        Err(MapProofError::RootMismatch)
    );
    let stranger = Car::new(near, SigningKey::generate(&mut w.rng), 0, 0);
    assert_eq!(w.verdict(&stranger, 1).verdict, Verdict::UnknownDevice);

    // With more devices at random ids, unknown ids are still proven absent, both ways.
    for _ in 0..6 {
        w.register(2);
    }
    let root = w.root();
    let mut rng = crate::rng(5);
    let (mut empties, mut others) = (0, 0);
    for _ in 0..64 {
        let id = DeviceId::random(&mut rng);
        let (_, proof) = w.device_proof(&id, None).unwrap();
        assert_eq!(proof.verify(&id, &root), Ok(None));
        match proof.terminal {
            Terminal::Empty => empties += 1,
            Terminal::Leaf(_) => others += 1,
        }
    }
    assert!(empties > 0 && others > 0, "{empties} / {others}");
    let (ok, device) = w.inspect(json!({"type": "device", "device_id": near.to_hex()}));
    assert!(ok);
    assert_eq!(device["exists"], false);
}

#[test]
fn a_revocation_with_a_short_reason_has_a_decodable_history_notice() {
    let mut w = World::new();
    let car = w.register(1);
    let revoke = w.registrar_message(RegistrarAction::RevokeDevice {
        device_id: car.id,
        reason: "stolen".into(),
    });
    // submit checks that every history notice decodes.
    let outcome = w.submit(STRANGER, vec![revoke]);
    assert!(matches!(
        &history(&outcome)[0].entries[..],
        [HistoryEntry::Revoked { reason }] if reason == "stolen"
    ));
}

#[test]
fn one_devices_full_input_of_readings_has_a_decodable_history_notice() {
    let mut w = World::new();
    let mut car = w.register(1);
    let mut messages = Vec::new();
    let mut size = RollupInput::header_len(4_096);
    loop {
        let readings: Vec<Reading> = (0..MAX_READINGS_PER_ENVELOPE)
            .map(|_| w.reading(&car))
            .collect();
        let envelope: Envelope = w.seal(&mut car, &readings);
        size += envelope.as_bytes().len() + 1;
        if size > MAX_INPUT_LEN {
            break;
        }
        messages.push(Message::Envelope(envelope));
    }
    let count = messages.len() * MAX_READINGS_PER_ENVELOPE;
    assert!(count > 4_096, "{count} readings");
    let outcome = w.submit(GATEWAY, messages);
    assert_eq!(history(&outcome)[0].reading_counters().count(), count);
}

#[test]
fn an_envelope_of_16_readings_is_one_envelope_entry_its_reading_entries_and_one_commitment_key() {
    use witness_protocol::notice::{DETAIL_KEY_TAG, ODOMETER_KEY_TAG, history_key};
    let mut w = World::new();
    let mut car = w.register(1);
    let envelope = w.drive(&mut car, 160, 16);
    let outcome = w.send(vec![envelope]);
    // Header 56, envelope entry 10, 16 readings of 34, odometer part 2 + 16 × 12 + 16, detail
    // part 2 + 32 + 16 × 13 + 16 (PROTOCOL.md 16.4).
    assert_eq!(outcome.notices[0].len(), 56 + 10 + 16 * 34 + 210 + 258);
    assert_eq!(outcome.notices[0].len(), 1_078);
    let notice = &history(&outcome)[0];
    assert_eq!(
        notice.entries[0],
        HistoryEntry::Envelope {
            first_counter: 1,
            count: 16
        }
    );
    assert_eq!(
        notice.reading_counters().collect::<Vec<_>>(),
        (1..=16).collect::<Vec<_>>()
    );
    // The era's detail key opens every reading with the blinding the device holds.
    let secret = w.state.config().backend_key.to_bytes();
    let odometer = history_key(ODOMETER_KEY_TAG, &secret, &car.id, 0);
    let detail = history_key(DETAIL_KEY_TAG, &secret, &car.id, 0);
    let values = notice.open_values(&odometer, Some(&detail)).unwrap();
    assert_eq!(values.len(), 16);
    for value in values {
        assert_eq!(value.detail.as_ref(), Some(&car.sealed[&value.counter]));
    }
}
