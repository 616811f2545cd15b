//! The attack table: each case asserts the exact outcome.

use serde_json::json;
use witness_backend::outputs::{NOTICE_ATTESTATION, NOTICE_CORRECTION, NOTICE_TAMPER};
use witness_protocol::{
    BackendSecretKey, Envelope, GatewayAuthorization, MAX_INPUT_LEN, Message, OwnershipStatement,
    RegistrarAction, RegistrarMessage, SigningKey,
};

use crate::{ADMIN, GATEWAY, STRANGER, World, rejections, reports};

#[test]
fn honest_readings_are_attested_with_one_notice_per_input() {
    let mut w = World::new();
    let mut car = w.register(1);
    let mut other = w.register(2);
    let a = w.drive(&mut car, 30, 3);
    let b = w.drive(&mut other, 5, 1);
    let outcome = w.send(vec![a, b]);
    assert!(outcome.accept);
    assert!(rejections(&outcome).is_empty());
    assert_eq!(outcome.notices.len(), 1);
    let notice = &outcome.notices[0];
    assert_eq!(notice[1], NOTICE_ATTESTATION);
    assert_eq!(u32::from_be_bytes(notice[18..22].try_into().unwrap()), 4);
    // The notice carries no reading value: the odometer's bytes are not in it.
    assert!(
        !notice
            .windows(8)
            .any(|win| win == car.odometer_m.to_be_bytes())
    );
    let summary = reports(&outcome).pop().unwrap();
    assert_eq!(summary["readings_attested"], 4);
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
    assert!(outcome.accept);
    assert_eq!(rejections(&outcome), ["bad_signature"]);
    let rejected = &reports(&outcome)[0];
    assert_eq!(rejected["device_id"], car.id.to_hex());
    assert_eq!(rejected["counter"], 1);
    assert_eq!(reports(&outcome).last().unwrap()["readings_attested"], 1);
    assert_eq!(w.state.device(&car.id).unwrap().last_counter, None);
}

#[test]
fn replayed_and_reordered_envelopes_are_stale() {
    let mut w = World::new();
    let mut car = w.register(1);
    let first = w.drive(&mut car, 10, 1);
    let second = w.drive(&mut car, 10, 1);
    assert!(rejections(&w.send(vec![second.clone()])).is_empty());
    // The earlier counter arrives after the later one: reordered.
    assert_eq!(rejections(&w.send(vec![first])), ["stale_counter"]);
    // The same envelope again: replayed.
    assert_eq!(rejections(&w.send(vec![second])), ["stale_counter"]);
    assert_eq!(w.state.device(&car.id).unwrap().readings().count(), 1);
}

#[test]
fn a_clone_with_the_stolen_key_and_an_old_counter_is_stale() {
    let mut w = World::new();
    let mut car = w.register(1);
    for _ in 0..3 {
        let e = w.drive(&mut car, 10, 1);
        w.send(vec![e]);
    }
    let mut clone = crate::Car {
        id: car.id,
        key: SigningKey::from_seed(&car.key.to_seed()),
        counter: 1,
        odometer_m: car.odometer_m + 50_000,
    };
    let e = w.drive(&mut clone, 10, 1);
    assert_eq!(rejections(&w.send(vec![e])), ["stale_counter"]);
}

#[test]
fn rollback_is_a_tamper_event_with_a_notice_and_a_flag_until_corrected() {
    let mut w = World::new();
    let mut car = w.register(1);
    let honest = w.drive(&mut car, 100, 2);
    w.send(vec![honest]);
    // Wound back from about 10,100 km to 5,000 km.
    car.odometer_m = 5_000_000;
    let rolled = w.drive(&mut car, 1, 1);
    let outcome = w.send(vec![rolled]);
    assert!(outcome.accept);
    assert_eq!(outcome.notices.len(), 1);
    let notice = &outcome.notices[0];
    assert_eq!(notice[1], NOTICE_TAMPER);
    assert_eq!(&notice[2..18], &car.id.0);
    assert_eq!(u64::from_be_bytes(notice[18..26].try_into().unwrap()), 3);
    assert_eq!(u64::from_be_bytes(notice[26..34].try_into().unwrap()), 2);
    assert!(
        !notice
            .windows(8)
            .any(|win| win == car.odometer_m.to_be_bytes())
    );
    let status = w
        .inspect(json!({"type": "device", "device_id": car.id.to_hex()}))
        .1;
    assert_eq!(status["status"], "flagged");
    assert_eq!(status["tamper_events"], 1);

    // Verify: the live reading is below the attested history.
    let proof = w.proof(&car, car.odometer_m);
    let (_, verdict) = w.inspect(json!({"type": "verify", "proof": proof}));
    assert_eq!(verdict["verdict"], "rollback");
    assert_eq!(verdict["highest_attested"]["counter"], 2);
    assert_eq!(verdict["highest_attested"]["input_index"], 2);

    // A registrar's correction keeps the record and clears the flag.
    let correction = w.registrar_message(RegistrarAction::CorrectReading {
        device_id: car.id,
        counter: 3,
        odometer_m: car.odometer_m,
        reason: "instrument cluster replaced".into(),
    });
    let outcome = w.submit(STRANGER, vec![correction]);
    assert_eq!(outcome.notices.len(), 1);
    assert_eq!(outcome.notices[0][1], NOTICE_CORRECTION);
    let device = w.state.device(&car.id).unwrap();
    assert!(!device.flagged);
    assert_eq!(device.tamper_events(), 1, "the rollback stays on record");
    let next = w.drive(&mut car, 10, 1);
    let outcome = w.send(vec![next]);
    assert!(rejections(&outcome).is_empty());
    assert_eq!(outcome.notices[0][1], NOTICE_ATTESTATION);
}

#[test]
fn rollback_inside_one_envelope_splits_attested_and_tampered_readings() {
    let mut w = World::new();
    let mut car = w.register(1);
    let mut readings = vec![w.reading(&car), w.reading(&car)];
    readings[0].odometer_m = 50_000_000;
    readings[1].odometer_m = 10_000_000;
    let envelope = w.seal(&mut car, &readings);
    let outcome = w.send(vec![envelope]);
    assert_eq!(outcome.notices.len(), 2);
    assert_eq!(outcome.notices[0][1], NOTICE_ATTESTATION);
    assert_eq!(outcome.notices[1][1], NOTICE_TAMPER);
    let device = w.state.device(&car.id).unwrap();
    assert_eq!(device.last_counter, Some(2));
    assert_eq!(device.attested().count(), 1);
}

#[test]
fn ciphertext_moved_to_another_device_fails_to_decrypt() {
    let mut w = World::new();
    let mut victim = w.register(1);
    let thief = w.register(1);
    let envelope = w.drive(&mut victim, 10, 1);
    let mut bytes = envelope.as_bytes()[..envelope.as_bytes().len() - 64].to_vec();
    bytes[2..18].copy_from_slice(&thief.id.0);
    let mut message = witness_protocol::ENVELOPE_SIGNING_TAG.to_vec();
    message.extend_from_slice(&bytes);
    bytes.extend_from_slice(&thief.key.sign(&message).0);
    let outcome = w.send(vec![Envelope::decode(&bytes).unwrap()]);
    assert_eq!(rejections(&outcome), ["decryption_failed"]);
    assert_eq!(w.state.device(&thief.id).unwrap().last_counter, None);
}

#[test]
fn unregistered_revoked_and_rotated_devices() {
    let mut w = World::new();
    // Swapped unit: a new key nobody registered.
    let mut stranger = crate::Car {
        id: witness_protocol::DeviceId([9; 16]),
        key: SigningKey::generate(&mut w.rng),
        counter: 0,
        odometer_m: 1,
    };
    let e = w.drive(&mut stranger, 1, 1);
    assert_eq!(rejections(&w.send(vec![e])), ["unknown_device"]);

    let mut car = w.register(1);
    let old_key = SigningKey::from_seed(&car.key.to_seed());
    let e = w.drive(&mut car, 10, 1);
    w.send(vec![e]);
    let new_key = SigningKey::generate(&mut w.rng);
    let rotate = w.registrar_message(RegistrarAction::RotateKey {
        device_id: car.id,
        new_key: new_key.public_key(),
    });
    assert!(w.submit(STRANGER, vec![rotate]).accept);
    let e = w.drive(&mut car, 10, 1);
    assert_eq!(
        rejections(&w.send(vec![e])),
        ["bad_signature"],
        "old key refused after rotation"
    );
    car.key = new_key;
    let e = w.drive(&mut car, 10, 1);
    assert!(
        rejections(&w.send(vec![e])).is_empty(),
        "new key continues the history"
    );
    assert_eq!(w.state.device(&car.id).unwrap().attested().count(), 2);
    drop(old_key);

    let revoke = w.registrar_message(RegistrarAction::RevokeDevice {
        device_id: car.id,
        reason: "stolen".into(),
    });
    w.submit(STRANGER, vec![revoke]);
    let e = w.drive(&mut car, 10, 1);
    assert_eq!(rejections(&w.send(vec![e])), ["revoked_device"]);
    let proof = w.proof(&car, car.odometer_m);
    assert_eq!(
        w.inspect(json!({"type": "verify", "proof": proof})).1["verdict"],
        "revoked"
    );
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
    };
    // Untrusted registrar.
    let impostor = SigningKey::generate(&mut w.rng);
    let untrusted =
        RegistrarMessage::sign(&impostor, &w.backend_public, 1, action.clone()).unwrap();
    assert_eq!(
        rejections(&w.submit(GATEWAY, vec![Message::Registrar(untrusted)])),
        ["untrusted_registrar"]
    );
    // Trusted key, wrong signature (the gateway altered the model).
    let mut altered =
        RegistrarMessage::sign(&w.registrar, &w.backend_public, 1, action.clone()).unwrap();
    altered.action = RegistrarAction::RegisterDevice {
        device_id: id,
        model: witness_protocol::ModelId(2),
        public_key: key.public_key(),
    };
    assert_eq!(
        rejections(&w.submit(GATEWAY, vec![Message::Registrar(altered)])),
        ["bad_signature"]
    );
    // Signed for another deployment.
    let elsewhere = BackendSecretKey::generate(&mut w.rng);
    let foreign =
        RegistrarMessage::sign(&w.registrar, elsewhere.public_key(), 1, action.clone()).unwrap();
    assert_eq!(
        rejections(&w.submit(GATEWAY, vec![Message::Registrar(foreign)])),
        ["bad_signature"]
    );
    // Valid, then replayed.
    let valid = RegistrarMessage::sign(&w.registrar, &w.backend_public, 1, action).unwrap();
    assert!(rejections(&w.submit(GATEWAY, vec![Message::Registrar(valid.clone())])).is_empty());
    assert_eq!(
        rejections(&w.submit(GATEWAY, vec![Message::Registrar(valid)])),
        ["stale_sequence"]
    );
    assert!(w.state.device(&id).is_some());
}

#[test]
fn only_root_registrars_manage_registrars() {
    let mut w = World::new();
    let delegate = SigningKey::generate(&mut w.rng);
    let add = w.registrar_message(RegistrarAction::AddRegistrar {
        key: delegate.public_key(),
    });
    assert!(rejections(&w.submit(STRANGER, vec![add])).is_empty());
    let third = SigningKey::generate(&mut w.rng);
    let by_delegate = RegistrarMessage::sign(
        &delegate,
        &w.backend_public,
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
        &w.backend_public,
        2,
        RegistrarAction::RegisterDevice {
            device_id: witness_protocol::DeviceId([5; 16]),
            model: witness_protocol::ModelId(1),
            public_key: key.public_key(),
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
    let by_stranger = w.submit(
        STRANGER,
        vec![Message::GatewayAuthorization(GatewayAuthorization {
            gateway: STRANGER,
            authorized: true,
        })],
    );
    assert!(!by_stranger.accept);
    assert_eq!(reports(&by_stranger)[0]["reason"], "not_admin");
    let mut car = w.register(1);
    let root_after_register = w.root();
    assert_ne!(root, root_after_register);
    let e = w.drive(&mut car, 10, 1);
    let outcome = w.submit(STRANGER, vec![Message::Envelope(e.clone())]);
    assert!(!outcome.accept);
    assert!(outcome.notices.is_empty());
    assert_eq!(reports(&outcome)[0]["reason"], "unauthorized_sender");
    // A rejected input leaves the state as it was, except the input count.
    assert_eq!(w.state.device(&car.id).unwrap().last_counter, None);
    // Deauthorized gateways are refused too.
    w.submit(
        ADMIN,
        vec![Message::GatewayAuthorization(GatewayAuthorization {
            gateway: GATEWAY,
            authorized: false,
        })],
    );
    assert_eq!(
        reports(&w.submit(GATEWAY, vec![Message::Envelope(e)]))[0]["reason"],
        "unauthorized_sender"
    );
}

#[test]
fn ownership_needs_the_device_signature_and_a_fresh_sequence() {
    let mut w = World::new();
    let car = w.register(1);
    let owner = SigningKey::generate(&mut w.rng);
    let not_device = SigningKey::generate(&mut w.rng);
    let forged = OwnershipStatement::sign(
        &not_device,
        &w.backend_public,
        car.id,
        not_device.public_key(),
        1,
    );
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Ownership(forged)])),
        ["bad_signature"]
    );
    assert!(rejections(&w.pair(&car, &owner, 1)).is_empty());
    assert_eq!(rejections(&w.pair(&car, &owner, 1)), ["stale_sequence"]);
    let buyer = SigningKey::generate(&mut w.rng);
    let mut sale =
        OwnershipStatement::sign(&car.key, &w.backend_public, car.id, buyer.public_key(), 2);
    sale.countersign(&not_device, &w.backend_public);
    assert_eq!(
        rejections(&w.submit(STRANGER, vec![Message::Ownership(sale.clone())])),
        ["bad_release_signature"]
    );
    sale.countersign(&owner, &w.backend_public);
    assert!(rejections(&w.submit(STRANGER, vec![Message::Ownership(sale)])).is_empty());
    assert_eq!(
        w.state.device(&car.id).unwrap().owner,
        Some(buyer.public_key())
    );
}

#[test]
fn history_is_revealed_only_to_the_current_owner_or_a_fresh_possession_proof() {
    let mut w = World::new();
    let mut car = w.register(1);
    let e = w.drive(&mut car, 42, 2);
    w.send(vec![e]);
    let seller = SigningKey::generate(&mut w.rng);
    w.pair(&car, &seller, 1);
    let response = BackendSecretKey::generate(&mut w.rng);

    let (ok, answer) = w.inspect(json!({"type": "history", "device_id": car.id.to_hex()}));
    assert!(!ok);
    assert!(answer.to_string().contains("unknown field") || answer["error"] == "no_right_to_see");
    let (ok, answer) = w.inspect(json!({"type": "history"}));
    assert!(!ok);
    assert_eq!(answer["error"], "no_right_to_see");

    let query = w.owner_query(&car, &seller, &response, w.now + 300);
    let (ok, answer) = w.inspect(json!({"type": "history", "owner_query": query}));
    assert!(ok, "{answer}");
    let sealed = hex::decode(answer["sealed"].as_str().unwrap()).unwrap();
    let signature = &hex::decode(&query).unwrap()[86..];
    let plain = witness_protocol::open_response(&response, signature, &sealed).unwrap();
    let history: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(
        history["entries"][1]["reading"]["odometer_m"],
        car.odometer_m - 21_000
    );
    assert!(
        !answer.to_string().contains(&car.odometer_m.to_string()),
        "the relayed answer is sealed"
    );

    // Expired query.
    let expired = w.owner_query(&car, &seller, &response, w.now - 1);
    assert_eq!(
        w.inspect(json!({"type": "history", "owner_query": expired}))
            .1["error"],
        "expired_owner_query"
    );
    // After a sale, the seller's queries stop working.
    let buyer = SigningKey::generate(&mut w.rng);
    w.pair(&car, &buyer, 2);
    let old = w.owner_query(&car, &seller, &response, w.now + 300);
    assert_eq!(
        w.inspect(json!({"type": "history", "owner_query": old})).1["error"],
        "not_owner"
    );
    let new = w.owner_query(&car, &buyer, &response, w.now + 300);
    assert!(w.inspect(json!({"type": "history", "owner_query": new})).0);

    // A fresh possession proof opens the history; a stale one does not.
    let proof = w.proof(&car, car.odometer_m);
    let (ok, answer) = w.inspect(json!({"type": "history", "proof": proof}));
    assert!(ok);
    assert!(answer["entries"].as_array().unwrap().len() >= 3);
    w.now += 3600;
    let e = w.drive(&mut car, 1, 1);
    w.send(vec![e]);
    assert_eq!(
        w.inspect(json!({"type": "history", "proof": proof})).1["error"],
        "stale_proof"
    );
    // Public status never shows values.
    let status = w
        .inspect(json!({"type": "device", "device_id": car.id.to_hex()}))
        .1;
    assert!(!status.to_string().contains(&car.odometer_m.to_string()));
}

#[test]
fn verify_consistent_for_an_honest_device_with_the_attesting_input() {
    let mut w = World::new();
    let mut car = w.register(3);
    let e = w.drive(&mut car, 20, 1);
    let outcome = w.send(vec![e]);
    assert_eq!(outcome.notices.len(), 1);
    let proof = w.proof(&car, car.odometer_m + 500);
    let (ok, verdict) = w.inspect(json!({"type": "verify", "proof": proof}));
    assert!(ok);
    assert_eq!(verdict["verdict"], "consistent");
    assert_eq!(verdict["last_attested"]["input_index"], 2);
    assert_eq!(verdict["last_attested"]["notice_index"], 0);
    assert_eq!(
        verdict["last_attested"]["reading"]["odometer_m"],
        car.odometer_m
    );
    // A proof signed by another key is refused.
    let impostor = crate::Car {
        id: car.id,
        key: SigningKey::generate(&mut w.rng),
        counter: 9,
        odometer_m: 1,
    };
    let forged = w.proof(&impostor, car.odometer_m);
    assert_eq!(
        w.inspect(json!({"type": "verify", "proof": forged})).1["error"],
        "invalid_proof"
    );
    let unknown = crate::Car {
        id: witness_protocol::DeviceId([1; 16]),
        key: SigningKey::generate(&mut w.rng),
        counter: 1,
        odometer_m: 1,
    };
    let unknown_proof = w.proof(&unknown, 5);
    assert_eq!(
        w.inspect(json!({"type": "verify", "proof": unknown_proof}))
            .1["verdict"],
        "unknown_device"
    );
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
    // Buffered for a week while offline: fine.
    let mut buffered = w.reading(&car);
    buffered.timestamp = (w.now - 7 * 24 * 3600) as u32;
    let e = w.seal(&mut car, &[buffered]);
    assert!(rejections(&w.send(vec![e])).is_empty());
}

#[test]
fn truncated_garbage_and_oversize_inputs_are_rejected_with_a_report() {
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
        let outcome = w.submit_raw(GATEWAY, &payload);
        assert!(!outcome.accept);
        assert!(outcome.notices.is_empty());
        assert_eq!(reports(&outcome)[0]["reason"], reason);
    }
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
fn replaying_the_same_inputs_reaches_the_same_state_root() {
    let run = || {
        let mut w = World::new();
        let mut car = w.register(1);
        for _ in 0..3 {
            let e = w.drive(&mut car, 10, 2);
            w.send(vec![e]);
        }
        w.root()
    };
    assert_eq!(run(), run());
}

#[test]
fn config_publishes_the_backend_key() {
    let w = World::new();
    let config = w.inspect(json!({"type": "config"})).1;
    assert_eq!(
        config["backend_public_key"],
        hex::encode(w.backend_public.to_bytes())
    );
    assert_eq!(config["gateways"][0], crate::hex_address(GATEWAY));
    let (ok, bad) = w.inspect(json!({"type": "nope"}));
    assert!(!ok);
    assert_eq!(bad["error"], "bad_query");
}
