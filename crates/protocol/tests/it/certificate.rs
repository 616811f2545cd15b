//! Certificates (PROTOCOL.md 18): every vector reaches its declared outcome, and the sizes of
//! a realistic summary and full certificate.

use witness_protocol::certificate::{
    Anchors, CertNotice, Certificate, CertificateError, ClaimRef, Level, OUTPUTS_TREE_HEIGHT,
    OdometerKey, OutputProof, verify_offline, zero_hashes,
};
use witness_protocol::notice::{EnvelopeValues, HistoryEntry, HistoryNotice, StateNotice};
use witness_protocol::state::{AttestedRef, DeviceLeaf, MapProof, Terminal, key_bit, node_hash};
use witness_protocol::{CommitmentKey, DeviceId, ModelId, Reading};

fn vectors() -> Vec<serde_json::Value> {
    let text = include_str!("../../../../docs/protocol-vectors.json");
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "certificate")
        .cloned()
        .collect()
}

fn anchors(v: &serde_json::Value) -> Option<Anchors> {
    if v.is_null() {
        return None;
    }
    let bytes20 = |s: &serde_json::Value| -> [u8; 20] {
        hex::decode(s.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    Some(Anchors {
        chain_id: v["chain_id"].as_u64().unwrap(),
        application: bytes20(&v["application"]),
        consensus: bytes20(&v["consensus"]),
    })
}

#[test]
fn certificate_vectors_reach_their_outcome() {
    let vectors = vectors();
    assert!(vectors.len() >= 20);
    for v in vectors {
        let bytes = hex::decode(v["certificate"].as_str().unwrap()).unwrap();
        let pinned = anchors(&v["pinned"]);
        let result = verify_offline(&bytes, pinned.as_ref());
        let name = v["name"].as_str().unwrap();
        if v["valid"].as_bool().unwrap() {
            let findings = result.unwrap_or_else(|e| panic!("{name}: {}", e.code()));
            let expected = &v["findings"];
            assert_eq!(
                hex::encode(findings.outputs_root),
                expected["outputs_root"],
                "{name}"
            );
            assert_eq!(
                hex::encode(findings.leaf.encode()),
                expected["leaf"],
                "{name}"
            );
            assert_eq!(
                findings.undisclosed,
                serde_json::from_value::<Vec<u64>>(expected["undisclosed"].clone()).unwrap()
            );
            let counters = |list: &serde_json::Value| -> Vec<u64> {
                list.as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["counter"].as_u64().unwrap())
                    .collect()
            };
            let disclosed: Vec<u64> = findings.disclosed.iter().map(|r| r.counter).collect();
            assert_eq!(disclosed, counters(&expected["disclosed"]), "{name}");
            let dated: Vec<u64> = findings.odometer_only.iter().map(|r| r.counter).collect();
            assert_eq!(dated, counters(&expected["odometer_only"]), "{name}");
            assert_eq!(
                findings.first.as_ref().map(|r| r.counter),
                expected["first"]["counter"].as_u64(),
                "{name}"
            );
            // Re-encoding the decoded certificate gives the same bytes: one encoding.
            assert_eq!(
                Certificate::decode(&bytes).unwrap().encode().unwrap(),
                bytes,
                "{name}"
            );
        } else {
            let error = result.err().unwrap_or_else(|| panic!("{name} verified"));
            assert_eq!(error.code(), v["expected_error"], "{name}");
        }
    }
}

fn filler(seed: u64) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&seed.to_be_bytes());
    h[31] = 1;
    h
}

fn reading(i: u64) -> Reading {
    Reading {
        timestamp: 1_790_000_000 + 21_600 * i as u32,
        odometer_m: 40_000_000 + 41_000 * i,
        fuel_ml: 2_900,
        engine_s: 1_000_000 + 2_000 * i as u32,
        faults: vec![],
    }
}

/// What a full certificate discloses.
#[derive(Clone, Copy, PartialEq)]
enum Disclose {
    /// Sealed notices, no key.
    Nothing,
    /// Sealed notices and the era's odometer key.
    Odometer,
    /// Opened notices.
    Readings,
}

/// A device in a map of about 100,000 devices (17 siblings) whose state notice is one of
/// about 10^6 outputs (20 non-empty siblings), with `notices` envelopes of 16 readings.
fn certificate(level: Level, envelopes: u64, disclose: Disclose) -> (Certificate, Anchors) {
    certificate_with(level, envelopes, disclose, |_, _| {}, |_| {})
}

/// [`certificate`], with each notice's entries edited by `entries` (given the notice's
/// number) and the leaf by `leaf` before they are committed to.
fn certificate_with(
    level: Level,
    envelopes: u64,
    disclose: Disclose,
    entries_of: impl Fn(u64, &mut Vec<HistoryEntry>),
    leaf_of: impl Fn(&mut DeviceLeaf),
) -> (Certificate, Anchors) {
    let id = DeviceId([0x5a; 16]);
    let mut leaf = DeviceLeaf::new(id, ModelId(3), [7; 32]);
    let key = CommitmentKey::from_bytes([9; 32]);
    let mut notices = Vec::new();
    let mut previous = None;
    let mut counter = 1;
    for n in 0..envelopes {
        let readings: Vec<Reading> = (0..16).map(|k| reading(counter - 1 + k)).collect();
        let mut entries = vec![HistoryEntry::Envelope {
            first_counter: counter,
            count: 16,
        }];
        for (k, r) in readings.iter().enumerate() {
            let c = counter + k as u64;
            entries.push(HistoryEntry::Reading {
                counter: c,
                commitment: key.commit(id, c, r).unwrap(),
                rollback_of: None,
            });
        }
        entries_of(n, &mut entries);
        let input_index = 10 + 3 * n;
        let notice = HistoryNotice {
            device_id: id,
            input_index,
            block_timestamp: 1_790_000_000 + n * 345_600,
            era: 0,
            position: n,
            previous_input: previous,
            entries,
            sealed: Default::default(),
        };
        let values = vec![EnvelopeValues {
            commitment_key: CommitmentKey::from_bytes([9; 32]),
            readings,
        }];
        let bytes = notice.encode_sealed(&[1; 32], &[2; 32], &values).unwrap();
        leaf.history.fold(&bytes, input_index);
        notices.push(match disclose {
            Disclose::Readings => {
                CertNotice::Opened(HistoryNotice::decode(&bytes).unwrap(), values)
            }
            _ => CertNotice::sealed(bytes).unwrap(),
        });
        previous = Some(input_index);
        counter += 16;
    }
    let last = counter - 1;
    let top = reading(last - 1);
    leaf.last_counter = Some(last);
    leaf.attested = last;
    leaf.highest = Some(AttestedRef {
        counter: last,
        commitment: key.commit(id, last, &top).unwrap(),
        input_index: 7,
    });
    leaf.first = Some(AttestedRef {
        counter: 1,
        commitment: key.commit(id, 1, &reading(0)).unwrap(),
        input_index: 10,
    });
    leaf_of(&mut leaf);
    let siblings: Vec<[u8; 32]> = (0..17).map(filler).collect();
    let mut root = leaf.hash();
    for level in (0..17).rev() {
        root = if key_bit(&id, level) {
            node_hash(&siblings[level], &root)
        } else {
            node_hash(&root, &siblings[level])
        };
    }
    let map_proof = MapProof {
        siblings,
        terminal: Terminal::Leaf(leaf),
    };
    let state = StateNotice {
        input_index: 999_999,
        block_number: 5_000,
        block_timestamp: 1_800_000_000,
        devices: 100_000,
        map_root: root,
        globals: [3; 32],
    };
    let mut output_siblings = zero_hashes();
    for (level, s) in output_siblings.iter_mut().enumerate().take(20) {
        *s = filler(1_000 + level as u64);
    }
    assert_eq!(output_siblings.len(), OUTPUTS_TREE_HEIGHT);
    let output_proof = OutputProof {
        index: 987_654,
        siblings: output_siblings,
    };
    let anchors = Anchors {
        chain_id: 1,
        application: [1; 20],
        consensus: [2; 20],
    };
    let cert = Certificate {
        level,
        anchors,
        device_id: id,
        claim: ClaimRef {
            last_processed_block: 5_010,
            claim_block: 5_020,
            outputs_root: None,
        },
        state_notice: state,
        output_proof,
        map_proof,
        highest: Some(key.opening(id, last, top)),
        first: Some(key.opening(id, 1, reading(0))),
        vehicle: None,
        earlier_units: vec![],
        odometer_keys: match (level, disclose) {
            (Level::Full, Disclose::Odometer) => vec![OdometerKey {
                era: 0,
                key: [1; 32],
            }],
            _ => vec![],
        },
        notices: if level == Level::Full {
            notices
        } else {
            vec![]
        },
    };
    (cert, anchors)
}

/// Sizes of PROTOCOL.md 18.3 (`cargo test -p witness-protocol --test it certificate_sizes
/// -- --nocapture` prints them): a summary fits a QR code, a full certificate of a year of a
/// typical car (92 envelopes of 16 readings) with every reading disclosed stays under 100 KB.
#[test]
fn certificate_sizes() {
    let (summary, anchors) = certificate(Level::Summary, 92, Disclose::Nothing);
    let bytes = summary.encode().unwrap();
    let findings = verify_offline(&bytes, Some(&anchors)).unwrap();
    assert_eq!(findings.leaf.attested, 92 * 16);
    assert_eq!(findings.first.map(|r| r.counter), Some(1));
    println!("summary certificate: {} bytes", bytes.len());
    assert!(bytes.len() <= 2_900, "summary {} bytes", bytes.len());
    for (disclose, what) in [
        (Disclose::Nothing, "nothing disclosed"),
        (
            Disclose::Odometer,
            "dated odometer values (the era's odometer key)",
        ),
        (Disclose::Readings, "every reading opened"),
    ] {
        let (full, anchors) = certificate(Level::Full, 92, disclose);
        let bytes = full.encode().unwrap();
        let findings = verify_offline(&bytes, Some(&anchors)).unwrap();
        let (opened, dated, hidden) = match disclose {
            Disclose::Nothing => (0, 0, 1_472),
            Disclose::Odometer => (0, 1_472, 0),
            Disclose::Readings => (1_472, 0, 0),
        };
        assert_eq!(findings.disclosed.len(), opened);
        assert_eq!(findings.odometer_only.len(), dated);
        assert_eq!(findings.undisclosed.len(), hidden);
        println!(
            "full certificate, 92 notices, {what}: {} bytes",
            bytes.len()
        );
        if disclose == Disclose::Readings {
            assert!(bytes.len() < 100_000, "full {} bytes", bytes.len());
        }
    }
}

#[test]
fn keccak_is_ethereum_keccak_not_sha3() {
    // keccak256("") as Ethereum computes it (SHA3-256("") is a7ffc6f8...).
    assert_eq!(
        hex::encode(witness_protocol::certificate::keccak256(b"")),
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    );
    // zero_1 = keccak256(0^64), the first empty-subtree hash of Cartesi's outputs tree.
    assert_eq!(
        hex::encode(zero_hashes()[1]),
        "ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5"
    );
}

#[test]
fn the_text_form_round_trips_and_every_accepted_input_gives_the_same_bytes() {
    use witness_protocol::certificate::{TEXT_BEGIN, TEXT_END, from_any, to_text};
    let (summary, _) = certificate(Level::Summary, 2, Disclose::Nothing);
    let bytes = summary.encode().unwrap();
    let text = to_text(&bytes);
    assert!(text.starts_with(TEXT_BEGIN) && text.trim_end().ends_with(TEXT_END));
    assert!(
        text.lines()
            .all(|l| l.len() <= 64 || l.starts_with("-----"))
    );
    let bare: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let mail = format!("Hello,\n\nhere is the car's certificate:\n\n{text}\nRegards\n");
    for input in [
        bytes.clone(),
        text.clone().into_bytes(),
        bare.into_bytes(),
        mail.into_bytes(),
        hex::encode(&bytes).into_bytes(),
        format!("0x{}", hex::encode(&bytes)).into_bytes(),
    ] {
        assert_eq!(from_any(&input).unwrap(), bytes);
    }
    let cut = &text[..text.len() / 2];
    assert_eq!(from_any(cut.as_bytes()).unwrap_err().code(), "truncated");
    for garbage in [
        &b"not a certificate"[..],
        b"",
        b"\xff\xfe",
        b"AAAA",
        b"00112233",
    ] {
        assert_eq!(
            from_any(garbage).unwrap_err().code(),
            "not_a_certificate",
            "{garbage:?}"
        );
    }
}

/// Step 7a of section 18.4: a full certificate recomputes the open rollbacks from the
/// history, so a leaf that hides one, a correction that clears one never recorded, or a
/// history that keeps one the leaf dropped is refused; the corrections are in the findings.
#[test]
fn a_full_certificate_recomputes_the_corrected_record() {
    let id = DeviceId([0x5a; 16]);
    // Reading 20 (notice 1) is a rollback below 19; notice 2 ends with its correction.
    let rollback = |n: u64, entries: &mut Vec<HistoryEntry>| {
        for entry in entries.iter_mut() {
            if let HistoryEntry::Reading {
                counter: 20,
                rollback_of,
                ..
            } = entry
            {
                *rollback_of = Some(19);
            }
        }
        if n == 2 {
            entries.push(HistoryEntry::Corrected {
                registrar: [0x77; 32],
                cleared: true,
                correction: crate::correction(id, 20),
            });
        }
    };
    let check = |entries: &dyn Fn(u64, &mut Vec<HistoryEntry>), open: u32| {
        let (cert, anchors) = certificate_with(Level::Full, 3, Disclose::Nothing, entries, |l| {
            l.tamper_events = 1;
            l.open_tampers = open;
        });
        verify_offline(&cert.encode().unwrap(), Some(&anchors))
    };
    let findings = check(&rollback, 0).unwrap();
    assert_eq!(findings.corrections.len(), 1);
    let recorded = &findings.corrections[0];
    assert_eq!((recorded.input_index, recorded.cleared), (16, true));
    assert_eq!(recorded.correction, crate::correction(id, 20));
    // The leaf claims the rollback is still open, though the history cleared it.
    assert_eq!(
        check(&rollback, 1).unwrap_err(),
        CertificateError::HistoryMismatch
    );
    // Without the correction the rollback stays open: a leaf showing none hides it.
    let uncorrected = |n: u64, entries: &mut Vec<HistoryEntry>| {
        if n < 2 {
            rollback(n, entries);
        }
    };
    assert_eq!(
        check(&uncorrected, 0).unwrap_err(),
        CertificateError::HistoryMismatch
    );
    assert!(check(&uncorrected, 1).unwrap().corrections.is_empty());
    // A correction that says it cleared a rollback the history never recorded.
    let phantom = |n: u64, entries: &mut Vec<HistoryEntry>| {
        if n == 2 {
            rollback(n, entries);
        }
    };
    assert_eq!(
        check(&phantom, 0).unwrap_err(),
        CertificateError::HistoryMismatch
    );
    // A summary proves only the leaf: it cannot see the history, so it does not refuse.
    let (cert, anchors) =
        certificate_with(Level::Summary, 3, Disclose::Nothing, uncorrected, |l| {
            l.open_tampers = 0;
        });
    assert!(verify_offline(&cert.encode().unwrap(), Some(&anchors)).is_ok());
}

/// The root a path of `siblings` (root to leaf) folds `leaf` up to.
fn fold_path(id: &DeviceId, leaf: &DeviceLeaf, siblings: &[[u8; 32]]) -> [u8; 32] {
    let mut root = leaf.hash();
    for level in (0..siblings.len()).rev() {
        root = if key_bit(id, level) {
            node_hash(&siblings[level], &root)
        } else {
            node_hash(&root, &siblings[level])
        };
    }
    root
}

/// A certificate of a unit that replaced another carries the earlier unit's path against the
/// same root; the VIN it discloses must open the vehicle commitment.
#[test]
fn a_certificate_speaks_for_the_vehicle_across_units() {
    let vehicle = witness_protocol::VehicleIdentity::simulated(b"certificate vehicle");
    let old_id = DeviceId([
        0x5a, 0x5a, 0xda, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
        0x5a,
    ]);
    let (mut cert, anchors) = certificate_with(
        Level::Summary,
        1,
        Disclose::Nothing,
        |_, _| {},
        |l| {
            l.vehicle = vehicle.id().unwrap();
            l.set_predecessor(Some(old_id));
        },
    );
    let Terminal::Leaf(leaf) = cert.map_proof.terminal.clone() else {
        panic!("present");
    };
    let mut old = DeviceLeaf::new(old_id, ModelId(3), [8; 32]);
    old.vehicle = leaf.vehicle;
    old.set_successor(Some(leaf.device_id));
    old.tamper_events = 1;
    old.open_tampers = 1;
    // The two units are neighbours at depth 17.
    let mut siblings = cert.map_proof.siblings.clone();
    siblings[16] = old.hash();
    let root = fold_path(&leaf.device_id, &leaf, &siblings);
    let mut old_siblings = siblings.clone();
    old_siblings[16] = leaf.hash();
    assert_eq!(fold_path(&old_id, &old, &old_siblings), root);
    cert.map_proof.siblings = siblings;
    cert.state_notice.map_root = root;
    let old_proof = MapProof {
        siblings: old_siblings,
        terminal: Terminal::Leaf(old.clone()),
    };
    let check = |cert: &Certificate| verify_offline(&cert.encode().unwrap(), Some(&anchors));

    // Without the earlier unit the record is incomplete.
    assert_eq!(check(&cert).unwrap_err(), CertificateError::PreviousUnit);
    cert.earlier_units = vec![old_proof.clone()];
    let findings = check(&cert).unwrap();
    assert_eq!(findings.earlier_units, vec![old.clone()]);
    assert!(
        findings.earlier_units[0].flagged(),
        "the old unit's rollback is shown"
    );
    // The VIN opens the commitment; another VIN (or salt) does not.
    cert.vehicle = Some(vehicle.clone());
    assert_eq!(
        check(&cert).unwrap().vin.as_deref(),
        Some(vehicle.vin.as_str())
    );
    let mut other = vehicle.clone();
    other
        .vin
        .replace_range(16..17, if other.vin.ends_with('A') { "B" } else { "A" });
    cert.vehicle = Some(other);
    assert_eq!(check(&cert).unwrap_err(), CertificateError::VehicleMismatch);
    cert.vehicle = None;
    // An earlier unit of another vehicle, or one that names another successor, does not link.
    for broken in [
        DeviceLeaf {
            vehicle: witness_protocol::VehicleId([1; 32]),
            ..old.clone()
        },
        DeviceLeaf {
            links: witness_protocol::state::UnitLinks::boxed(None, Some(DeviceId([1; 16]))),
            ..old.clone()
        },
    ] {
        let mut siblings = cert.map_proof.siblings.clone();
        siblings[16] = broken.hash();
        let mut broken_cert = cert.clone();
        broken_cert.state_notice.map_root = fold_path(&leaf.device_id, &leaf, &siblings);
        broken_cert.map_proof.siblings = siblings;
        let mut path = old_proof.siblings.clone();
        path[16] = leaf.hash();
        broken_cert.earlier_units = vec![MapProof {
            siblings: path,
            terminal: Terminal::Leaf(broken),
        }];
        assert_eq!(
            check(&broken_cert).unwrap_err(),
            CertificateError::PreviousUnit
        );
    }
    // The encoding round-trips.
    cert.earlier_units = vec![old_proof];
    cert.vehicle = Some(vehicle);
    assert_eq!(Certificate::decode(&cert.encode().unwrap()).unwrap(), cert);
}
