use witness_protocol::{
    BackendSecretKey, Consent, DeviceId, Domain, Error, GatewayAuthorization, MAX_INPUT_LEN,
    Message, ModelId, OwnerObjection, OwnerQuery, OwnershipStatement, PossessionProof,
    RegistrarAction, RegistrarMessage, Release, RollupInput, SigningKey, TransferCode,
    open_response, seal_response,
};

use crate::{fixture, readings, rng};

fn round_trip(message: Message) {
    let input = RollupInput {
        messages: vec![message],
    };
    let bytes = input.encode().unwrap();
    assert_eq!(RollupInput::decode(&bytes).unwrap(), input);
}

#[test]
fn registrar_messages_verify_round_trip_and_bind_the_deployment() {
    let f = fixture();
    let registrar = SigningKey::generate(&mut rng(20));
    let other = SigningKey::generate(&mut rng(21));
    let actions = [
        RegistrarAction::RegisterDevice {
            device_id: f.device_id,
            model: ModelId(7),
            public_key: f.device.public_key(),
            vehicle: witness_protocol::VehicleIdentity::simulated(b"messages")
                .id()
                .unwrap(),
        },
        RegistrarAction::ReplaceUnit {
            vehicle: witness_protocol::VehicleIdentity::simulated(b"messages")
                .id()
                .unwrap(),
            old_device: f.device_id,
            new_device: witness_protocol::DeviceId([0x42; 16]),
            model: ModelId(7),
            public_key: other.public_key(),
            baseline_m: 1_000,
        },
        RegistrarAction::RevokeDevice {
            device_id: f.device_id,
            reason: "scrapped".into(),
        },
        RegistrarAction::RotateKey {
            device_id: f.device_id,
            new_key: other.public_key(),
        },
        RegistrarAction::Correct(crate::correction(f.device_id, 3)),
        RegistrarAction::AddRegistrar {
            key: other.public_key(),
        },
        RegistrarAction::RemoveRegistrar {
            key: other.public_key(),
        },
    ];
    let other_backend = BackendSecretKey::generate(&mut rng(22));
    // Another backend key, another chain (a testnet sharing keys with production), another
    // application on the same backend key: each is another deployment.
    let elsewhere = [
        Domain {
            backend_key: other_backend.public_key().clone(),
            ..f.domain.clone()
        },
        Domain {
            chain_id: 11_155_111,
            ..f.domain.clone()
        },
        Domain {
            application: [0x0b; 20],
            ..f.domain.clone()
        },
    ];
    for (i, action) in actions.into_iter().enumerate() {
        let message = RegistrarMessage::sign(&registrar, &f.domain, i as u64, action).unwrap();
        message.verify(&f.domain).unwrap();
        for other in &elsewhere {
            assert_eq!(message.verify(other), Err(Error::BadSignature));
        }
        let mut forged = message.clone();
        forged.sequence += 1;
        assert_eq!(forged.verify(&f.domain), Err(Error::BadSignature));
        round_trip(Message::Registrar(message));
    }
}

#[test]
fn reason_text_is_bounded_and_utf8() {
    let f = fixture();
    let registrar = SigningKey::generate(&mut rng(23));
    let long = RegistrarAction::RevokeDevice {
        device_id: f.device_id,
        reason: "x".repeat(257),
    };
    assert_eq!(
        RegistrarMessage::sign(&registrar, &f.domain, 1, long).err(),
        Some(Error::Oversize)
    );
    let ok = RegistrarAction::RevokeDevice {
        device_id: f.device_id,
        reason: "ab".into(),
    };
    let message = RegistrarMessage::sign(&registrar, &f.domain, 1, ok).unwrap();
    let mut bytes = RollupInput {
        messages: vec![Message::Registrar(message)],
    }
    .encode()
    .unwrap();
    // registrar(32) + seq(8) + op(1) + id(16) + len(1) after version, count and kind.
    let text_at = 3 + 32 + 8 + 1 + 16 + 1;
    bytes[text_at] = 0xff;
    assert_eq!(RollupInput::decode(&bytes), Err(Error::InvalidText));
}

#[test]
fn ownership_statement_needs_the_device_and_a_release_names_the_binding_it_ends() {
    let f = fixture();
    let seller = SigningKey::generate(&mut rng(24));
    let buyer = SigningKey::generate(&mut rng(25));
    let key = &f.domain;
    let release = Release::sign(&seller, key, f.device_id, 1, 1_790_000_000);
    let statement = OwnershipStatement::sign(
        &f.device,
        key,
        f.device_id,
        buyer.public_key(),
        2,
        Consent::Release(release),
    );
    statement
        .verify_device(&f.device.public_key(), key)
        .unwrap();
    assert_eq!(
        statement.verify_device(&buyer.public_key(), key),
        Err(Error::BadSignature)
    );
    release
        .verify(&seller.public_key(), key, f.device_id, 1)
        .unwrap();
    // Not the owner's, not this binding's, not this device's.
    for (owner, device, binding) in [
        (buyer.public_key(), f.device_id, 1),
        (seller.public_key(), f.device_id, 2),
        (seller.public_key(), DeviceId([7; 16]), 1),
    ] {
        assert_eq!(
            release.verify(&owner, key, device, binding),
            Err(Error::BadSignature)
        );
    }
    // The expiry is signed.
    let later = Release {
        expires_at: release.expires_at + 1,
        ..release
    };
    assert_eq!(
        later.verify(&seller.public_key(), key, f.device_id, 1),
        Err(Error::BadSignature)
    );
    round_trip(Message::Ownership(statement.clone()));
    let mut w = witness_protocol::codec::Writer::default();
    statement.encode(&mut w);
    assert_eq!(w.len(), 189);
    // A consent byte other than 0 or 1 is refused.
    let mut bytes = RollupInput {
        messages: vec![Message::Ownership(statement)],
    }
    .encode()
    .unwrap();
    bytes[3 + 56] = 2;
    assert_eq!(RollupInput::decode(&bytes), Err(Error::InvalidField));
    // The transfer code carries the device and the release, and only its own text.
    let code = TransferCode {
        device_id: f.device_id,
        release,
    };
    assert_eq!(TransferCode::from_text(&code.to_text()), Ok(code));
    assert!(code.to_text().starts_with("witness-transfer-1."));
    assert_eq!(
        TransferCode::from_text(&code.to_text()[1..]),
        Err(Error::UnsupportedVersion)
    );
    assert_eq!(
        TransferCode::from_text(&format!("{}00", code.to_text())),
        Err(Error::TrailingBytes)
    );
}

#[test]
fn an_objection_is_the_owners_and_names_its_recovery() {
    let f = fixture();
    let owner = SigningKey::generate(&mut rng(26));
    let objection = OwnerObjection::sign(&owner, &f.domain, f.device_id, 1_790_000_000);
    objection.verify(&f.domain).unwrap();
    let mut other = objection.clone();
    other.effective_at += 1;
    assert_eq!(other.verify(&f.domain), Err(Error::BadSignature));
    round_trip(Message::Objection(objection));
}

#[test]
fn possession_proof_binds_nonce_and_reading() {
    let f = fixture();
    let key = &f.domain;
    let reading = readings(1).remove(0);
    let proof = PossessionProof::sign(&f.device, key, f.device_id, [9; 32], 12, reading).unwrap();
    let decoded = PossessionProof::decode(&proof.encode().unwrap()).unwrap();
    assert_eq!(decoded, proof);
    decoded.verify(&f.device.public_key(), key).unwrap();
    let mut replayed = decoded.clone();
    replayed.nonce = [8; 32];
    assert_eq!(
        replayed.verify(&f.device.public_key(), key),
        Err(Error::BadSignature)
    );
    let mut rolled = decoded;
    rolled.reading.odometer_m -= 1;
    assert_eq!(
        rolled.verify(&f.device.public_key(), key),
        Err(Error::BadSignature)
    );
}

#[test]
fn owner_query_and_sealed_response() {
    let f = fixture();
    let owner = SigningKey::generate(&mut rng(26));
    let response = BackendSecretKey::generate(&mut rng(27));
    let query = OwnerQuery::sign(
        &owner,
        &f.domain,
        f.device_id,
        response.public_key().to_bytes(),
        99,
    );
    let decoded = OwnerQuery::decode(&query.encode()).unwrap();
    decoded.verify(&f.domain).unwrap();
    let mut extended = decoded.clone();
    extended.expires_at += 1;
    assert_eq!(extended.verify(&f.domain), Err(Error::BadSignature));
    let mut flagged = query.encode();
    flagged[85] = 1;
    assert_eq!(OwnerQuery::decode(&flagged), Err(Error::InvalidField));

    let sealed = seal_response(
        response.public_key(),
        &query.signature.0,
        b"history",
        &mut rng(28),
    )
    .unwrap();
    assert_eq!(
        open_response(&response, &query.signature.0, &sealed).unwrap(),
        b"history"
    );
    assert_eq!(
        open_response(&f.backend, &query.signature.0, &sealed),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(
        open_response(&response, b"other query", &sealed),
        Err(Error::DecryptionFailed)
    );
}

#[test]
fn inputs_are_bounded_and_strict() {
    let authorization = Message::GatewayAuthorization(GatewayAuthorization {
        gateway: [1; 20],
        authorized: true,
    });
    round_trip(authorization.clone());
    let mut bytes = RollupInput {
        messages: vec![authorization.clone()],
    }
    .encode()
    .unwrap();
    *bytes.last_mut().unwrap() = 2;
    assert_eq!(RollupInput::decode(&bytes), Err(Error::InvalidField));
    assert_eq!(RollupInput::decode(&[2, 0]), Err(Error::InvalidField));
    // Version 1 signed without the chain and the application (PROTOCOL.md 14).
    assert_eq!(RollupInput::decode(&[1, 1]), Err(Error::UnsupportedVersion));
    let mut unknown = vec![2, 1, 9];
    unknown.resize(24, 0);
    assert_eq!(RollupInput::decode(&unknown), Err(Error::UnknownKind));
    assert_eq!(
        RollupInput::decode(&vec![1; MAX_INPUT_LEN + 1]),
        Err(Error::Oversize)
    );
    // A huge message count with few bytes is refused before allocating.
    assert_eq!(
        RollupInput::decode(&[2, 0xff, 0x1f, 3]),
        Err(Error::Truncated)
    );
    let too_big = RollupInput {
        messages: vec![authorization; 3_000],
    };
    assert_eq!(too_big.encode(), Err(Error::Oversize));
}

#[test]
fn non_canonical_and_small_order_keys_are_refused() {
    // y = 2^255 - 16 >= p: decompresses in lax decoders, but RFC 8032 rejects it.
    let mut non_canonical = [0xff; 32];
    non_canonical[0] = 0xf0;
    non_canonical[31] = 0x7f;
    assert_eq!(
        witness_protocol::PublicKey::from_bytes(&non_canonical),
        Err(Error::InvalidPublicKey)
    );
    // The identity point: small order.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        witness_protocol::PublicKey::from_bytes(&identity),
        Err(Error::InvalidPublicKey)
    );
    let valid = SigningKey::generate(&mut rng(29)).public_key();
    assert_eq!(
        witness_protocol::PublicKey::from_bytes(&valid.to_bytes()),
        Ok(valid)
    );
}

#[test]
fn a_domain_parses_from_its_configuration_forms() {
    let f = fixture();
    let backend = hex::encode(f.domain.backend_key.to_bytes());
    let application = format!("0x{}", hex::encode(f.domain.application));
    assert_eq!(
        Domain::from_hex(f.domain.chain_id, &application, &backend),
        Ok(f.domain.clone())
    );
    assert_eq!(
        Domain::from_hex(f.domain.chain_id, &application[..40], &backend),
        Err(Error::InvalidField)
    );
    assert_eq!(
        Domain::from_hex(f.domain.chain_id, &application, &backend[2..]),
        Err(Error::InvalidField)
    );
    let bytes = f.domain.to_bytes();
    assert_eq!(bytes.len(), Domain::LEN);
    assert_eq!(
        (&bytes[..8], &bytes[8..28]),
        (
            &f.domain.chain_id.to_be_bytes()[..],
            &f.domain.application[..]
        )
    );
}

/// A vehicle is a salted commitment to its VIN (PROTOCOL.md 4): one VIN, one commitment per
/// salt; anything that is not a VIN of ISO 3779 is refused, lower case included.
#[test]
fn a_vehicle_commits_to_a_valid_vin_under_its_salt() {
    use sha2::{Digest as _, Sha256};
    use witness_protocol::{VEHICLE_TAG, VehicleId, VehicleIdentity};
    let salt = [7; 32];
    let vin = "WDB1240821A123456";
    let id = VehicleId::commit(vin, &salt).unwrap();
    let expected: [u8; 32] = Sha256::new()
        .chain_update(VEHICLE_TAG)
        .chain_update(salt)
        .chain_update(vin)
        .finalize()
        .into();
    assert_eq!(id.0, expected);
    assert_ne!(
        VehicleId::commit(vin, &[8; 32]).unwrap(),
        id,
        "the salt hides the VIN"
    );
    for bad in [
        "WDB1240821A12345",   // 16 characters
        "WDB1240821A1234567", // 18
        "wdb1240821a123456",  // lower case
        "WDB1240821I123456",  // I
        "WDB1240821O123456",  // O
        "WDB1240821Q123456",  // Q
        "WDB1240821-123456",
    ] {
        assert_eq!(
            VehicleId::commit(bad, &salt),
            Err(witness_protocol::Error::InvalidField),
            "{bad}"
        );
    }
    let simulated = VehicleIdentity::simulated(b"seed");
    assert!(simulated.vin.starts_with("WTN"));
    assert_eq!(
        simulated.id().unwrap(),
        VehicleIdentity::simulated(b"seed").id().unwrap()
    );
    assert_ne!(
        simulated.id().unwrap(),
        VehicleIdentity::simulated(b"other").id().unwrap()
    );
    assert!(!format!("{simulated:?}").contains(&hex::encode(simulated.salt)));
}
