//! State and history notices (docs/PROTOCOL.md 16.4-16.5): layouts, canonical decoding, and
//! the sealed values that only the era's keys open.

use sha2::{Digest as _, Sha256};
use witness_protocol::notice::{
    DETAIL_KEY_TAG, HistoryEntry, HistoryNotice, NOTICE_HISTORY, NOTICE_STATE, ODOMETER_KEY_TAG,
    STATE_NOTICE_LEN, SealedValues, StateNotice, history_key, notice_kind,
};
use witness_protocol::{DeviceId, Error, ModelId, Reading, commitment_of};

use crate::readings;

fn state() -> StateNotice {
    StateNotice {
        input_index: 1,
        block_number: 2,
        block_timestamp: 3,
        devices: 4,
        map_root: [5; 32],
        globals: [6; 32],
    }
}

#[test]
fn a_state_notice_is_98_bytes_at_the_documented_offsets_and_round_trips() {
    let notice = state();
    let bytes = notice.encode();
    assert_eq!(STATE_NOTICE_LEN, 98);
    assert_eq!(bytes.len(), 98);
    assert_eq!(&bytes[..2], &[2, NOTICE_STATE]);
    assert_eq!(&bytes[2..10], &1u64.to_be_bytes());
    assert_eq!(&bytes[10..18], &2u64.to_be_bytes());
    assert_eq!(&bytes[18..26], &3u64.to_be_bytes());
    assert_eq!(&bytes[26..34], &4u64.to_be_bytes());
    assert_eq!(&bytes[34..66], &[5; 32]);
    assert_eq!(&bytes[66..98], &[6; 32]);
    assert_eq!(StateNotice::decode(&bytes).unwrap(), notice);
    assert_eq!(notice_kind(&bytes), Ok(NOTICE_STATE));
}

#[test]
fn notices_of_other_versions_kinds_or_lengths_are_refused() {
    let bytes = state().encode();
    let mut v1 = bytes.clone();
    v1[0] = 1;
    assert_eq!(StateNotice::decode(&v1), Err(Error::UnsupportedVersion));
    assert_eq!(notice_kind(&v1), Err(Error::UnsupportedVersion));
    let mut kind = bytes.clone();
    kind[1] = NOTICE_HISTORY;
    assert_eq!(StateNotice::decode(&kind), Err(Error::UnknownKind));
    assert_eq!(HistoryNotice::decode(&bytes), Err(Error::UnknownKind));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(StateNotice::decode(&long), Err(Error::TrailingBytes));
    assert_eq!(StateNotice::decode(&bytes[..97]), Err(Error::Truncated));
    assert_eq!(notice_kind(&[2]), Err(Error::Truncated));
}

struct Sealed {
    notice: HistoryNotice,
    odometer: [u8; 32],
    detail: [u8; 32],
    values: Vec<([u8; 32], Reading)>,
}

/// A notice of `readings` (counters from 10), sealed, after a registration and before a
/// correction.
fn sealed(count: usize) -> Sealed {
    let device_id = DeviceId([0x42; 16]);
    let values: Vec<([u8; 32], Reading)> = readings(count)
        .into_iter()
        .enumerate()
        .map(|(i, r)| ([i as u8 + 1; 32], r))
        .collect();
    let mut entries = vec![HistoryEntry::Registered {
        model: ModelId(3),
        registrar: [0x77; 32],
    }];
    for (i, (blinding, reading)) in values.iter().enumerate() {
        let counter = 10 + i as u64;
        entries.push(HistoryEntry::Reading {
            counter,
            commitment: commitment_of(device_id, counter, blinding, reading).unwrap(),
            envelope_hash: [0x99; 32],
            rollback_of: (i == 1).then_some(10),
        });
    }
    entries.push(HistoryEntry::Corrected {
        counter: 11,
        odometer_m: 1_234,
        registrar: [0x77; 32],
        reason: "cluster replaced".into(),
    });
    let mut notice = HistoryNotice {
        device_id,
        input_index: 500,
        block_timestamp: 1_790_000_000,
        era: 2,
        position: 7,
        previous_input: Some(480),
        entries,
        sealed: SealedValues::default(),
    };
    let secret = [0x5e; 32];
    let odometer = *history_key(ODOMETER_KEY_TAG, &secret, &device_id, 2);
    let detail = *history_key(DETAIL_KEY_TAG, &secret, &device_id, 2);
    let refs: Vec<([u8; 32], &Reading)> = values.iter().map(|(b, r)| (*b, r)).collect();
    notice.seal_values(&odometer, &detail, &refs).unwrap();
    Sealed {
        notice,
        odometer,
        detail,
        values,
    }
}

#[test]
fn a_history_notice_with_every_entry_kind_round_trips() {
    let mut s = sealed(3);
    s.notice.entries.extend([
        HistoryEntry::KeyRotated { new_key: [1; 32] },
        HistoryEntry::OwnerChanged {
            sequence: 4,
            consented: true,
            owner: [2; 32],
        },
        HistoryEntry::Revoked {
            reason: "scrapped after an accident, certificate 1234".into(),
        },
    ]);
    let bytes = s.notice.encode();
    assert_eq!(&bytes[..2], &[2, NOTICE_HISTORY]);
    assert_eq!(&bytes[2..18], &[0x42; 16]);
    assert_eq!(&bytes[18..26], &500u64.to_be_bytes());
    assert_eq!(&bytes[34..38], &2u32.to_be_bytes());
    assert_eq!(&bytes[38..46], &7u64.to_be_bytes());
    assert_eq!(bytes[46], 1);
    assert_eq!(&bytes[47..55], &480u64.to_be_bytes());
    assert_eq!(HistoryNotice::decode(&bytes).unwrap(), s.notice);
    assert_eq!(notice_kind(&bytes), Ok(NOTICE_HISTORY));
    let mut first = s.notice.clone();
    first.previous_input = None;
    first.position = 0;
    assert_eq!(HistoryNotice::decode(&first.encode()).unwrap(), first);
    assert_eq!(
        s.notice.reading_counters().collect::<Vec<_>>(),
        [10, 11, 12]
    );
}

#[test]
fn only_the_canonical_history_notice_encoding_decodes() {
    let bytes = sealed(2).notice.encode();
    // Absent previous input with a value left in it.
    let mut dirty = bytes.clone();
    dirty[46] = 0;
    assert_eq!(HistoryNotice::decode(&dirty), Err(Error::InvalidField));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(HistoryNotice::decode(&long), Err(Error::TrailingBytes));
    assert!(HistoryNotice::decode(&bytes[..bytes.len() - 1]).is_err());
    // An unknown entry kind (the first entry's kind byte follows the count).
    let mut unknown = bytes.clone();
    unknown[56] = 9;
    assert_eq!(HistoryNotice::decode(&unknown), Err(Error::UnknownKind));
}

#[test]
fn a_history_notice_of_one_short_entry_decodes() {
    let notice = HistoryNotice {
        device_id: DeviceId([1; 16]),
        input_index: 3,
        block_timestamp: 4,
        era: 0,
        position: 1,
        previous_input: Some(2),
        entries: vec![HistoryEntry::Revoked {
            reason: String::new(),
        }],
        sealed: SealedValues::default(),
    };
    assert_eq!(HistoryNotice::decode(&notice.encode()).unwrap(), notice);
}

#[test]
fn the_odometer_key_opens_dated_values_and_the_detail_key_whole_readings() {
    let s = sealed(3);
    let dated = s.notice.open_values(&s.odometer, None).unwrap();
    assert_eq!(dated.len(), 3);
    for (i, value) in dated.iter().enumerate() {
        let reading = &s.values[i].1;
        assert_eq!(value.counter, 10 + i as u64);
        assert_eq!(value.odometer_m, reading.odometer_m);
        assert_eq!(value.day, reading.timestamp / 86_400);
        assert_eq!(value.detail, None);
    }
    let full = s.notice.open_values(&s.odometer, Some(&s.detail)).unwrap();
    for (value, (blinding, reading)) in full.iter().zip(&s.values) {
        assert_eq!(value.detail.as_ref(), Some(&(*blinding, reading.clone())));
    }
    // The sealed section holds no value in the clear and the ciphertexts have their tags.
    assert_eq!(s.notice.sealed.odometer.len(), 12 * 3 + 16);
    assert!(s.notice.sealed.detail.len() > 3 * 32 + 16);
}

#[test]
fn other_keys_other_eras_and_altered_notices_do_not_open() {
    let s = sealed(2);
    let secret = [0x5e; 32];
    let id = s.notice.device_id;
    let other_era = *history_key(ODOMETER_KEY_TAG, &secret, &id, 1);
    let other_device = *history_key(ODOMETER_KEY_TAG, &secret, &DeviceId([0x43; 16]), 2);
    let other_backend = *history_key(ODOMETER_KEY_TAG, &[0x5f; 32], &id, 2);
    for key in [other_era, other_device, other_backend, s.detail] {
        assert_eq!(
            s.notice.open_values(&key, None),
            Err(Error::DecryptionFailed)
        );
    }
    // The odometer key is no detail key.
    assert_eq!(
        s.notice.open_values(&s.odometer, Some(&s.odometer)),
        Err(Error::DecryptionFailed)
    );
    // Everything before the sealed section is authenticated.
    let mut moved = s.notice.clone();
    moved.input_index += 1;
    assert!(moved.open_values(&s.odometer, None).is_err());
    let mut renumbered = s.notice.clone();
    renumbered.position += 1;
    assert!(renumbered.open_values(&s.odometer, None).is_err());
    let mut rewritten = s.notice.clone();
    if let HistoryEntry::Reading { rollback_of, .. } = &mut rewritten.entries[2] {
        *rollback_of = None;
    }
    assert!(rewritten.open_values(&s.odometer, None).is_err());
    let mut swapped = s.notice.clone();
    std::mem::swap(&mut swapped.sealed.odometer, &mut swapped.sealed.detail);
    assert!(swapped.open_values(&s.odometer, None).is_err());
    let mut flipped = s.notice.clone();
    flipped.sealed.odometer[0] ^= 1;
    assert_eq!(
        flipped.open_values(&s.odometer, None),
        Err(Error::DecryptionFailed)
    );
}

#[test]
fn with_the_detail_key_every_reading_is_checked_against_its_commitment() {
    let mut s = sealed(2);
    // The backend sealed a reading that is not the committed one.
    let mut wrong = s.values.clone();
    wrong[1].1.fuel_ml += 1;
    let refs: Vec<([u8; 32], &Reading)> = wrong.iter().map(|(b, r)| (*b, r)).collect();
    s.notice.seal_values(&s.odometer, &s.detail, &refs).unwrap();
    assert!(s.notice.open_values(&s.odometer, None).is_ok());
    assert_eq!(
        s.notice.open_values(&s.odometer, Some(&s.detail)),
        Err(Error::CommitmentMismatch)
    );
    // Or with another blinding.
    let mut blinded = s.values.clone();
    blinded[0].0 = [0xee; 32];
    let refs: Vec<([u8; 32], &Reading)> = blinded.iter().map(|(b, r)| (*b, r)).collect();
    s.notice.seal_values(&s.odometer, &s.detail, &refs).unwrap();
    assert_eq!(
        s.notice.open_values(&s.odometer, Some(&s.detail)),
        Err(Error::CommitmentMismatch)
    );
}

#[test]
fn a_notice_without_readings_has_empty_ciphertexts() {
    let mut notice = sealed(0).notice;
    assert_eq!(notice.sealed, SealedValues::default());
    assert_eq!(notice.open_values(&[1; 32], Some(&[2; 32])), Ok(vec![]));
    notice.sealed.odometer = vec![0; 16];
    assert_eq!(
        notice.open_values(&[1; 32], None),
        Err(Error::MalformedPlaintext)
    );
}

#[test]
fn history_keys_are_the_tagged_hash_of_secret_device_and_era() {
    let secret = [3u8; 32];
    let id = DeviceId([4; 16]);
    let mut h = Sha256::new();
    h.update(b"witness/v2/history-key/odometer");
    h.update(secret);
    h.update(id.0);
    h.update(7u32.to_be_bytes());
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(*history_key(ODOMETER_KEY_TAG, &secret, &id, 7), expected);
    assert_eq!(DETAIL_KEY_TAG, b"witness/v2/history-key/detail");
    let keys = [
        *history_key(ODOMETER_KEY_TAG, &secret, &id, 7),
        *history_key(DETAIL_KEY_TAG, &secret, &id, 7),
        *history_key(ODOMETER_KEY_TAG, &secret, &id, 8),
        *history_key(ODOMETER_KEY_TAG, &secret, &DeviceId([5; 16]), 7),
    ];
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn the_same_values_sealed_for_two_inputs_give_different_ciphertexts() {
    let a = sealed(2);
    let mut b = a.notice.clone();
    b.input_index += 1;
    let refs: Vec<([u8; 32], &Reading)> = a.values.iter().map(|(x, r)| (*x, r)).collect();
    b.seal_values(&a.odometer, &a.detail, &refs).unwrap();
    assert_ne!(a.notice.sealed.odometer, b.sealed.odometer);
    assert_ne!(a.notice.sealed.detail, b.sealed.detail);
}
