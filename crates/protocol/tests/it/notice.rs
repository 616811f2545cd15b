//! State and history notices (docs/PROTOCOL.md 16.4-16.5): layouts, canonical decoding, and
//! the sealed values that only the era's keys open.

use chacha20poly1305::{AeadInOut as _, ChaCha20Poly1305, KeyInit as _, Tag};
use sha2::{Digest as _, Sha256};
use witness_protocol::codec::Writer;
use witness_protocol::notice::{
    DETAIL_KEY_TAG, EnvelopeValues, HistoryEntry, HistoryNotice, NOTICE_HISTORY, NOTICE_STATE,
    ODOMETER_KEY_TAG, STATE_NOTICE_LEN, SealedValues, StateNotice, history_key, notice_kind,
};
use witness_protocol::{CommitmentKey, DeviceId, Error, ModelId, Reading};

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
    /// Per envelope: commitment key byte and readings.
    envelopes: Vec<(u8, Vec<Reading>)>,
}

impl Sealed {
    /// The values as the backend seals them.
    fn values(&self) -> Vec<EnvelopeValues> {
        values(&self.envelopes)
    }

    /// `(blinding, reading)` of each reading entry, in order.
    fn details(&self) -> Vec<([u8; 32], Reading)> {
        let mut counter = 10;
        let mut out = Vec::new();
        for (key, readings) in &self.envelopes {
            for reading in readings {
                out.push((
                    CommitmentKey::from_bytes([*key; 32]).blinding(counter),
                    reading.clone(),
                ));
                counter += 1;
            }
        }
        out
    }
}

fn values(envelopes: &[(u8, Vec<Reading>)]) -> Vec<EnvelopeValues> {
    envelopes
        .iter()
        .map(|(key, readings)| EnvelopeValues {
            commitment_key: CommitmentKey::from_bytes([*key; 32]),
            readings: readings.clone(),
        })
        .collect()
}

/// A notice of `count` readings (counters from 10) in envelopes of at most two readings,
/// sealed, after a registration and before a correction; the second reading is a rollback.
fn sealed(count: usize) -> Sealed {
    let device_id = DeviceId([0x42; 16]);
    let envelopes: Vec<(u8, Vec<Reading>)> = readings(count)
        .chunks(2)
        .enumerate()
        .map(|(i, chunk)| (i as u8 + 1, chunk.to_vec()))
        .collect();
    let mut entries = vec![HistoryEntry::Registered {
        model: ModelId(3),
        registrar: [0x77; 32],
    }];
    let mut counter = 10;
    for (key, readings) in &envelopes {
        let key = CommitmentKey::from_bytes([*key; 32]);
        entries.push(HistoryEntry::Envelope {
            first_counter: counter,
            count: readings.len() as u8,
        });
        for reading in readings {
            entries.push(HistoryEntry::Reading {
                counter,
                commitment: key.commit(device_id, counter, reading).unwrap(),
                rollback_of: (counter == 11).then_some(10),
            });
            counter += 1;
        }
    }
    entries.push(HistoryEntry::Corrected {
        registrar: [0x77; 32],
        cleared: true,
        correction: crate::correction(device_id, 11),
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
    notice
        .seal_values(&odometer, &detail, &values(&envelopes))
        .unwrap();
    Sealed {
        notice,
        odometer,
        detail,
        envelopes,
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
    let details = s.details();
    for (i, value) in dated.iter().enumerate() {
        let reading = &details[i].1;
        assert_eq!(value.counter, 10 + i as u64);
        assert_eq!(value.odometer_m, reading.odometer_m);
        assert_eq!(value.day, reading.timestamp / 86_400);
        assert_eq!(value.detail, None);
    }
    let full = s.notice.open_values(&s.odometer, Some(&s.detail)).unwrap();
    for (value, (blinding, reading)) in full.iter().zip(&details) {
        assert_eq!(value.detail.as_ref(), Some(&(*blinding, reading.clone())));
    }
    // The sealed section holds no value in the clear and the ciphertexts have their tags:
    // two commitment keys and three 13-byte readings (no odometer: it is in the odometer
    // part).
    assert_eq!(s.notice.sealed.odometer.len(), 12 * 3 + 16);
    assert_eq!(s.notice.sealed.detail.len(), 2 * 32 + 3 * 13 + 16);
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
    let HistoryEntry::Reading { rollback_of, .. } = &mut rewritten.entries[3] else {
        panic!("entry 3 is the second reading");
    };
    *rollback_of = None;
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
    let mut flipped = s.notice.clone();
    flipped.sealed.detail[0] ^= 1;
    assert!(flipped.open_values(&s.odometer, None).is_ok());
    assert_eq!(
        flipped.open_values(&s.odometer, Some(&s.detail)),
        Err(Error::DecryptionFailed)
    );
}

#[test]
fn the_detail_part_is_bound_to_the_header_and_the_odometer_part_to_the_entries_too() {
    let s = sealed(3);
    // Entries changed where no commitment covers them (a rollback's reference): the
    // odometer part fails, so nothing opens, although the detail part alone would.
    let mut rewritten = s.notice.clone();
    let HistoryEntry::Reading { rollback_of, .. } = &mut rewritten.entries[3] else {
        panic!("entry 3 is the second reading");
    };
    *rollback_of = Some(9);
    assert_eq!(
        rewritten.open_values(&s.odometer, Some(&s.detail)),
        Err(Error::DecryptionFailed)
    );
    assert!(open_detail(&rewritten, &s.detail).is_some());
    // A detail ciphertext moved to another notice of the same era and device, whose
    // odometer part opens: the header (input, block time, position) differs.
    let mut other = s.notice.clone();
    other.input_index += 1;
    other.block_timestamp += 12;
    other.position += 1;
    other.previous_input = Some(500);
    other
        .seal_values(&s.odometer, &s.detail, &s.values())
        .unwrap();
    other.sealed.detail = s.notice.sealed.detail.clone();
    assert!(other.open_values(&s.odometer, None).is_ok());
    assert_eq!(
        other.open_values(&s.odometer, Some(&s.detail)),
        Err(Error::DecryptionFailed)
    );
    // Under the same nonce, a header change alone is caught too.
    let mut rehead = s.notice.clone();
    rehead.block_timestamp += 1;
    assert!(open_detail(&rehead, &s.detail).is_none());
}

/// The detail plaintext of `notice`, opened by hand with its documented AAD (the 55-byte
/// header) and nonce (input index, part 1).
fn open_detail(notice: &HistoryNotice, key: &[u8; 32]) -> Option<Vec<u8>> {
    let header = &notice.encode()[..55];
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&notice.input_index.to_be_bytes());
    nonce[8..].copy_from_slice(&1u32.to_be_bytes());
    let sealed = &notice.sealed.detail;
    let (body, tag) = sealed.split_at(sealed.len() - 16);
    let mut plain = body.to_vec();
    ChaCha20Poly1305::new(key.into())
        .decrypt_inout_detached(
            &nonce.into(),
            header,
            plain.as_mut_slice().into(),
            &Tag::try_from(tag).unwrap(),
        )
        .ok()?;
    Some(plain)
}

#[test]
fn with_the_detail_key_every_reading_is_checked_against_its_commitment() {
    let mut s = sealed(3);
    // The backend sealed a reading that is not the committed one.
    let mut wrong = s.envelopes.clone();
    wrong[0].1[1].fuel_ml += 1;
    s.notice
        .seal_values(&s.odometer, &s.detail, &values(&wrong))
        .unwrap();
    assert!(s.notice.open_values(&s.odometer, None).is_ok());
    assert_eq!(
        s.notice.open_values(&s.odometer, Some(&s.detail)),
        Err(Error::CommitmentMismatch)
    );
    // Or another envelope's commitment key (the second envelope's blinding differs).
    let mut rekeyed = s.envelopes.clone();
    rekeyed[1].0 = 0xee;
    s.notice
        .seal_values(&s.odometer, &s.detail, &values(&rekeyed))
        .unwrap();
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
    b.seal_values(&a.odometer, &a.detail, &a.values()).unwrap();
    assert_ne!(a.notice.sealed.odometer, b.sealed.odometer);
    assert_ne!(a.notice.sealed.detail, b.sealed.detail);
}

#[test]
fn envelope_and_reading_entries_have_the_documented_layout() {
    let s = sealed(2);
    let bytes = s.notice.encode();
    // After the 56-byte header (one-byte count) and the 37-byte registration entry: the
    // envelope entry, 10 bytes (no envelope hash).
    let envelope = 56 + 37;
    assert_eq!(bytes[envelope], 7);
    assert_eq!(&bytes[envelope + 1..envelope + 9], &10u64.to_be_bytes());
    assert_eq!(bytes[envelope + 9], 2);
    // A reading is 34 bytes, a rollback 42 (the reference counter only then); no counter:
    // it is the envelope's first counter plus the reading's place.
    let first = envelope + 10;
    let HistoryEntry::Reading { commitment, .. } = &s.notice.entries[2] else {
        panic!("entry 2 is a reading");
    };
    assert_eq!(bytes[first], 2);
    assert_eq!(&bytes[first + 1..first + 33], &commitment.0);
    assert_eq!(bytes[first + 33], 0);
    let second = first + 34;
    assert_eq!(bytes[second], 2);
    assert_eq!(bytes[second + 33], 1);
    assert_eq!(&bytes[second + 34..second + 42], &10u64.to_be_bytes());
    // The correction follows: kind 8, the registrar, whether it cleared a rollback, then the
    // correction as signed (section 8.2.1).
    let correction = second + 42;
    assert_eq!(bytes[correction], 8, "the correction follows");
    assert_eq!(&bytes[correction + 1..correction + 33], &[0x77; 32]);
    assert_eq!(bytes[correction + 33], 1);
    assert_eq!(
        &bytes[correction + 34..correction + 50],
        &s.notice.device_id.0
    );
    assert_eq!(
        &bytes[correction + 50..correction + 58],
        &11u64.to_be_bytes()
    );
}

#[test]
fn a_sixteen_reading_envelope_makes_a_1078_byte_notice() {
    let device_id = DeviceId([0x42; 16]);
    let key = CommitmentKey::from_bytes([1; 32]);
    let readings: Vec<Reading> = readings(16)
        .into_iter()
        .map(|r| Reading {
            faults: vec![],
            ..r
        })
        .collect();
    let mut entries = vec![HistoryEntry::Envelope {
        first_counter: 1,
        count: 16,
    }];
    for (i, reading) in readings.iter().enumerate() {
        let counter = 1 + i as u64;
        entries.push(HistoryEntry::Reading {
            counter,
            commitment: key.commit(device_id, counter, reading).unwrap(),
            rollback_of: None,
        });
    }
    let notice = HistoryNotice {
        device_id,
        input_index: 9,
        block_timestamp: 1_790_000_000,
        era: 0,
        position: 1,
        previous_input: Some(3),
        entries,
        sealed: SealedValues::default(),
    };
    let values = [EnvelopeValues {
        commitment_key: key,
        readings,
    }];
    let bytes = notice.encode_sealed(&[1; 32], &[2; 32], &values).unwrap();
    // 56 + 10 + 34 n, then 2 + 12 n + 16 and 2 + 32 + 13 n + 16.
    assert_eq!(
        bytes.len(),
        56 + 10 + 34 * 16 + (2 + 12 * 16 + 16) + (2 + 32 + 13 * 16 + 16)
    );
    assert_eq!(bytes.len(), 1_078);
}

/// `sealed(3)`'s entries with `change` applied, encoded without values.
fn reencoded(change: impl FnOnce(&mut Vec<HistoryEntry>)) -> Vec<u8> {
    let mut notice = sealed(3).notice;
    change(&mut notice.entries);
    notice.sealed = SealedValues::default();
    notice.encode()
}

fn envelope(first_counter: u64, count: u8) -> HistoryEntry {
    HistoryEntry::Envelope {
        first_counter,
        count,
    }
}

#[test]
fn reading_entries_must_be_exactly_the_ranges_of_their_envelope_entries() {
    // Entries of sealed(3): registered, envelope(10, 2), 10, 11, envelope(12, 1), 12, corrected.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a reading without an envelope entry", {
            reencoded(|e| {
                e.remove(4);
            })
        }),
        ("a reading entry first of all", {
            reencoded(|e| {
                e.remove(0);
                e.remove(0);
            })
        }),
        ("fewer readings than the count, another entry next", {
            reencoded(|e| e[4] = envelope(12, 2))
        }),
        ("fewer readings than the count at the end", {
            reencoded(|e| {
                e.pop();
                e.insert(4, envelope(12, 2));
                e.remove(5);
            })
        }),
        ("an envelope entry inside another's range", {
            reencoded(|e| e.insert(3, envelope(11, 1)))
        }),
        ("more readings than the count", {
            reencoded(|e| e[1] = envelope(10, 1))
        }),
        ("an envelope entry of no reading", {
            reencoded(|e| e.insert(1, envelope(10, 0)))
        }),
        ("an envelope entry of 65 readings", {
            reencoded(|e| e[1] = envelope(10, 65))
        }),
        ("a range past the last counter", {
            reencoded(|e| {
                e.truncate(1);
                e.push(envelope(u64::MAX, 2));
            })
        }),
        ("an envelope entry as the last entry", {
            reencoded(|e| e.push(envelope(13, 1)))
        }),
    ];
    for (what, bytes) in cases {
        assert_eq!(
            HistoryNotice::decode(&bytes),
            Err(Error::InvalidField),
            "{what}"
        );
    }
    // A one-reading envelope at the last counter is fine.
    let edge = reencoded(|e| {
        e.truncate(1);
        e.push(envelope(u64::MAX, 1));
        e.push(HistoryEntry::Reading {
            counter: u64::MAX,
            commitment: witness_protocol::Commitment([1; 32]),
            rollback_of: None,
        });
    });
    let decoded = HistoryNotice::decode(&edge).unwrap();
    assert_eq!(decoded.reading_counters().collect::<Vec<_>>(), [u64::MAX]);
    // The wire has no reading counters: they follow from the envelope entry.
    let shifted = HistoryNotice::decode(&reencoded(|e| e[1] = envelope(20, 2))).unwrap();
    assert_eq!(shifted.reading_counters().collect::<Vec<_>>(), [20, 21, 12]);
}

#[test]
fn a_built_notice_whose_reading_counters_are_not_their_ranges_is_not_sealed() {
    let s = sealed(3);
    let mut notice = s.notice.clone();
    let HistoryEntry::Reading { counter, .. } = &mut notice.entries[3] else {
        panic!("entry 3 is the second reading");
    };
    *counter = 12;
    assert_eq!(
        notice.encode_sealed(&s.odometer, &s.detail, &s.values()),
        Err(Error::InvalidField)
    );
    assert_eq!(
        notice.open_values(&s.odometer, None),
        Err(Error::InvalidField)
    );
}

#[test]
fn values_that_do_not_fit_the_envelope_entries_are_neither_sealed_nor_opened() {
    let s = sealed(3);
    let mut notice = s.notice.clone();
    let mut short = s.envelopes.clone();
    short[0].1.pop();
    let mut missing = s.envelopes.clone();
    missing.pop();
    let mut extra = s.envelopes.clone();
    extra.push((9, readings(1)));
    for envelopes in [short, missing, extra, Vec::new()] {
        assert_eq!(
            notice.seal_values(&s.odometer, &s.detail, &values(&envelopes)),
            Err(Error::InvalidField)
        );
        assert_eq!(
            notice.encode_sealed(&s.odometer, &s.detail, &values(&envelopes)),
            Err(Error::InvalidField)
        );
    }
    // A notice built (not decoded) with a reading outside any range does not open.
    notice.entries.remove(1);
    assert_eq!(
        notice.open_values(&s.odometer, None),
        Err(Error::InvalidField)
    );
}

#[test]
fn encode_sealed_is_seal_values_then_encode() {
    let s = sealed(5);
    assert_eq!(
        s.notice
            .encode_sealed(&s.odometer, &s.detail, &s.values())
            .unwrap(),
        s.notice.encode()
    );
    let none = sealed(0);
    assert_eq!(
        none.notice.encode_sealed(&[1; 32], &[2; 32], &[]).unwrap(),
        none.notice.encode()
    );
}

#[test]
fn the_detail_plaintext_is_each_envelope_key_then_its_readings_without_odometer() {
    let s = sealed(5);
    // The AAD is the header alone (55 bytes, up to the entry count).
    let plain = open_detail(&s.notice, &s.detail).unwrap();
    let mut want = Writer::default();
    for (key, readings) in &s.envelopes {
        want.bytes(&[*key; 32]);
        for reading in readings {
            want.u32(reading.timestamp)
                .u32(reading.fuel_ml)
                .u32(reading.engine_s)
                .u8(reading.faults.len() as u8);
            for fault in &reading.faults {
                want.u16(fault.0);
            }
        }
    }
    assert_eq!(plain, want.finish());
    // Three envelope keys and five readings, the fifth with one fault code.
    assert_eq!(plain.len(), 3 * 32 + 5 * 13 + 2);
    // The odometer part's AAD is the header and the entries: the notice up to its
    // (here empty) ciphertexts' two zero length bytes.
    let mut bare = s.notice.clone();
    bare.sealed = SealedValues::default();
    let mut aad = bare.encode();
    aad.truncate(aad.len() - 2);
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&500u64.to_be_bytes());
    let sealed = &s.notice.sealed.odometer;
    let (body, tag) = sealed.split_at(sealed.len() - 16);
    let mut plain = body.to_vec();
    ChaCha20Poly1305::new((&s.odometer).into())
        .decrypt_inout_detached(
            &nonce.into(),
            &aad,
            plain.as_mut_slice().into(),
            &Tag::try_from(tag).unwrap(),
        )
        .unwrap();
    assert_eq!(plain.len(), 12 * 5);
}

#[test]
fn detail_plaintexts_that_do_not_fit_the_entries_are_malformed() {
    let s = sealed(3);
    let mut plain = open_detail(&s.notice, &s.detail).unwrap();
    let reseal = |plain: &[u8]| {
        let mut notice = s.notice.clone();
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&500u64.to_be_bytes());
        nonce[8..].copy_from_slice(&1u32.to_be_bytes());
        let mut body = plain.to_vec();
        let tag = ChaCha20Poly1305::new((&s.detail).into())
            .encrypt_inout_detached(
                &nonce.into(),
                &notice.encode()[..55],
                body.as_mut_slice().into(),
            )
            .unwrap();
        body.extend_from_slice(&tag);
        notice.sealed.detail = body;
        notice.open_values(&s.odometer, Some(&s.detail))
    };
    assert!(reseal(&plain).is_ok());
    let mut short = plain.clone();
    short.pop();
    assert_eq!(reseal(&short), Err(Error::MalformedPlaintext));
    let mut long = plain.clone();
    long.push(0);
    assert_eq!(reseal(&long), Err(Error::MalformedPlaintext));
    // The first reading's fault count (after the 32-byte key and 12 bytes) above 32.
    plain[32 + 12] = 33;
    assert_eq!(reseal(&plain), Err(Error::MalformedPlaintext));
}

#[test]
fn a_detail_reading_on_another_day_than_its_odometer_value_is_malformed() {
    // The backend sealed a reading whose committed time is a day later than the dated
    // odometer value: the commitment matches, the day does not.
    let s = sealed(1);
    let mut notice = s.notice.clone();
    let mut later = s.envelopes.clone();
    later[0].1[0].timestamp += 86_400;
    let key = CommitmentKey::from_bytes([later[0].0; 32]);
    let HistoryEntry::Reading { commitment, .. } = &mut notice.entries[2] else {
        panic!("entry 2 is the reading");
    };
    *commitment = key.commit(notice.device_id, 10, &later[0].1[0]).unwrap();
    let detail_only = values(&later);
    notice
        .seal_values(&s.odometer, &s.detail, &detail_only)
        .unwrap();
    let odometer_sealed = {
        let mut n = notice.clone();
        n.seal_values(&s.odometer, &s.detail, &values(&s.envelopes))
            .unwrap();
        n.sealed.odometer
    };
    notice.sealed.odometer = odometer_sealed;
    assert_eq!(
        notice.open_values(&s.odometer, Some(&s.detail)),
        Err(Error::MalformedPlaintext)
    );
}
