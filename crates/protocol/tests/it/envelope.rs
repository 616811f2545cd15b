use witness_protocol::{
    BackendSecretKey, Envelope, Error, Header, MAX_READINGS_PER_ENVELOPE, Message, RollupInput,
    SigningKey, codec::Reader,
};

use crate::{fixture, readings, rng};

#[test]
fn seal_then_open_returns_the_readings_and_matching_commitments() {
    let f = fixture();
    let readings = readings(5);
    let sealed = Envelope::seal(
        &f.device,
        &f.domain,
        f.device_id,
        40,
        &readings,
        &mut rng(2),
    )
    .unwrap();
    let envelope = Envelope::decode(sealed.envelope.as_bytes()).unwrap();
    assert_eq!(envelope, sealed.envelope);
    assert_eq!(envelope.header().counter, 40);
    assert_eq!(envelope.header().last_counter(), Some(44));
    let opened = envelope
        .open(&f.device.public_key(), &f.domain, &f.backend)
        .unwrap();
    assert_eq!(opened.readings, readings);
    assert_eq!(
        *opened.commitment_key.to_bytes(),
        *sealed.commitment_key.to_bytes()
    );
    for (i, (reading, commitment)) in readings.iter().zip(&opened.commitments).enumerate() {
        let opening = sealed
            .commitment_key
            .opening(f.device_id, 40 + i as u64, reading.clone());
        opening.verify(commitment).unwrap();
        // An opening for another reading or counter does not match.
        let mut wrong = opening.clone();
        wrong.reading.odometer_m += 1;
        assert_eq!(wrong.verify(commitment), Err(Error::CommitmentMismatch));
        let mut wrong = opening;
        wrong.counter += 1;
        assert_eq!(wrong.verify(commitment), Err(Error::CommitmentMismatch));
    }
}

#[test]
fn sizes_meet_the_calldata_budget() {
    let f = fixture();
    let one = Envelope::seal(
        &f.device,
        &f.domain,
        f.device_id,
        1,
        &readings(1),
        &mut rng(3),
    )
    .unwrap();
    assert!(
        one.envelope.as_bytes().len() <= 160,
        "{}",
        one.envelope.as_bytes().len()
    );
    let sixteen = Envelope::seal(
        &f.device,
        &f.domain,
        f.device_id,
        1,
        &readings(16),
        &mut rng(3),
    )
    .unwrap();
    assert!(
        sixteen.envelope.as_bytes().len() <= 16 * 24,
        "{}",
        sixteen.envelope.as_bytes().len()
    );
}

#[test]
fn the_gateway_can_verify_but_a_wrong_key_cannot_decrypt() {
    let f = fixture();
    let sealed = Envelope::seal(
        &f.device,
        &f.domain,
        f.device_id,
        1,
        &readings(1),
        &mut rng(4),
    )
    .unwrap();
    sealed
        .envelope
        .verify_signature(&f.device.public_key(), &f.domain)
        .unwrap();
    let other_device = SigningKey::generate(&mut rng(5));
    assert_eq!(
        sealed
            .envelope
            .verify_signature(&other_device.public_key(), &f.domain),
        Err(Error::BadSignature)
    );
    let other_backend = BackendSecretKey::generate(&mut rng(6));
    assert_eq!(
        sealed.envelope.decrypt(&other_backend).err(),
        Some(Error::DecryptionFailed)
    );
}

#[test]
fn ciphertext_resigned_under_another_devices_header_fails_to_decrypt() {
    let f = fixture();
    let sealed = Envelope::seal(
        &f.device,
        &f.domain,
        f.device_id,
        9,
        &readings(2),
        &mut rng(7),
    )
    .unwrap();
    let thief = SigningKey::generate(&mut rng(8));
    let mut bytes = sealed.envelope.as_bytes()[..sealed.envelope.as_bytes().len() - 64].to_vec();
    bytes[2..18].copy_from_slice(&[0xAB; 16]);
    let message =
        witness_protocol::signed_bytes(witness_protocol::ENVELOPE_SIGNING_TAG, &f.domain, &bytes);
    bytes.extend_from_slice(&thief.sign(&message).0);
    let moved = Envelope::decode(&bytes).unwrap();
    moved
        .verify_signature(&thief.public_key(), &f.domain)
        .unwrap();
    assert_eq!(
        moved.open(&thief.public_key(), &f.domain, &f.backend).err(),
        Some(Error::DecryptionFailed)
    );
}

#[test]
fn counter_moved_and_resigned_by_the_same_device_fails_to_decrypt() {
    // A device (or a thief of its key) cannot re-use an old ciphertext under a new counter.
    let f = fixture();
    let sealed = Envelope::seal(
        &f.device,
        &f.domain,
        f.device_id,
        9,
        &readings(1),
        &mut rng(9),
    )
    .unwrap();
    let mut bytes = sealed.envelope.as_bytes()[..sealed.envelope.as_bytes().len() - 64].to_vec();
    bytes[18..26].copy_from_slice(&100u64.to_be_bytes());
    let message =
        witness_protocol::signed_bytes(witness_protocol::ENVELOPE_SIGNING_TAG, &f.domain, &bytes);
    bytes.extend_from_slice(&f.device.sign(&message).0);
    let moved = Envelope::decode(&bytes).unwrap();
    assert_eq!(
        moved
            .open(&f.device.public_key(), &f.domain, &f.backend)
            .err(),
        Some(Error::DecryptionFailed)
    );
}

#[test]
fn header_rules_are_enforced() {
    let f = fixture();
    let sealed = Envelope::seal(
        &f.device,
        &f.domain,
        f.device_id,
        1,
        &readings(1),
        &mut rng(10),
    )
    .unwrap();
    let bytes = sealed.envelope.as_bytes();
    let mut version = bytes.to_vec();
    version[0] = 1;
    assert_eq!(Envelope::decode(&version), Err(Error::UnsupportedVersion));
    let mut suite = bytes.to_vec();
    suite[1] = 9;
    assert_eq!(Envelope::decode(&suite), Err(Error::UnsupportedSuite));
    let mut zero_count = bytes.to_vec();
    zero_count[30] = 0;
    assert_eq!(Envelope::decode(&zero_count), Err(Error::InvalidField));
    let mut too_many = bytes.to_vec();
    too_many[30] = MAX_READINGS_PER_ENVELOPE as u8 + 1;
    assert_eq!(Envelope::decode(&too_many), Err(Error::Oversize));
    let mut overflow = bytes.to_vec();
    overflow[18..26].copy_from_slice(&u64::MAX.to_be_bytes());
    overflow[30] = 2;
    assert_eq!(Envelope::decode(&overflow), Err(Error::InvalidField));
    assert_eq!(
        Envelope::decode(&bytes[..Header::LEN - 1]),
        Err(Error::Truncated)
    );
}

#[test]
fn sealing_refuses_empty_and_too_many_readings() {
    let f = fixture();
    let key = &f.domain;
    assert_eq!(
        Envelope::seal(&f.device, key, f.device_id, 1, &[], &mut rng(11)).err(),
        Some(Error::InvalidField)
    );
    let many = readings(MAX_READINGS_PER_ENVELOPE + 1);
    assert_eq!(
        Envelope::seal(&f.device, key, f.device_id, 1, &many, &mut rng(11)).err(),
        Some(Error::Oversize)
    );
    assert!(
        Envelope::seal(
            &f.device,
            key,
            f.device_id,
            u64::MAX,
            &readings(2),
            &mut rng(11)
        )
        .is_err()
    );
}

#[test]
fn envelopes_are_self_delimiting_inside_an_input() {
    let f = fixture();
    let messages: Vec<Message> = (0..3)
        .map(|i| {
            let sealed = Envelope::seal(
                &f.device,
                &f.domain,
                f.device_id,
                1 + 10 * i,
                &readings(i as usize + 1),
                &mut rng(12),
            )
            .unwrap();
            Message::Envelope(sealed.envelope)
        })
        .collect();
    let input = RollupInput {
        messages: messages.clone(),
    };
    let bytes = input.encode().unwrap();
    assert_eq!(RollupInput::decode(&bytes).unwrap(), input);
    let mut r = Reader::new(&bytes[2..]);
    for message in &messages {
        assert_eq!(&Message::read(&mut r).unwrap(), message);
    }
    assert_eq!(r.finish(), Ok(()));
}
