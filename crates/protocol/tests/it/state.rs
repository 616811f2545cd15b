//! Device leaves, map proofs and the history accumulator against docs/PROTOCOL.md 16.2-16.4.

use sha2::{Digest as _, Sha256};
use witness_protocol::state::{
    AttestedRef, CorrectedBaseline, CorrectionRef, DeviceLeaf, EMPTY_HASH, HISTORY_TAG,
    HistoryAccumulator, LEAF_LEN, LEAF_TAG, MapProof, MapProofError, NODE_TAG, PendingRecovery,
    TamperRef, Terminal, key_bit, leaf_hash, node_hash,
};
use witness_protocol::{Commitment, DeviceId, Error, ModelId, VehicleId};

fn full_leaf() -> DeviceLeaf {
    let mut leaf = DeviceLeaf::new(DeviceId([0x11; 16]), ModelId(0x0102_0304), [0x22; 32]);
    leaf.revoked = true;
    leaf.open_tampers = 0x0102_0304;
    leaf.last_counter = Some(0x0a0b);
    leaf.owner = Some([0x33; 32]);
    leaf.ownership_sequence = Some(7);
    leaf.era = 0x0506_0708;
    leaf.attested = 99;
    leaf.highest = Some(AttestedRef {
        counter: 12,
        commitment: Commitment([0x44; 32]),
        input_index: 13,
    });
    leaf.first = Some(AttestedRef {
        counter: 3,
        commitment: Commitment([0x45; 32]),
        input_index: 4,
    });
    leaf.tamper_events = 2;
    leaf.latest_tamper = Some(Box::new(TamperRef {
        counter: 20,
        reference_counter: 12,
        input_index: 21,
    }));
    leaf.corrections = 1;
    leaf.latest_correction = Some(Box::new(CorrectionRef {
        counter: 20,
        input_index: 22,
    }));
    leaf.corrected_baseline = Some(Box::new(CorrectedBaseline {
        odometer_m: 0x0c0d,
        input_index: 22,
    }));
    leaf.vehicle = VehicleId([0x66; 32]);
    leaf.set_predecessor(Some(DeviceId([0x77; 16])));
    leaf.set_successor(Some(DeviceId([0x88; 16])));
    leaf.pending_recovery = Some(Box::new(PendingRecovery {
        owner: [0x99; 32],
        effective_at: 0x0e0f,
    }));
    leaf.history.fold(b"first notice", 5);
    leaf
}

#[test]
fn a_leaf_is_442_bytes_at_the_documented_offsets_and_round_trips() {
    assert_eq!(LEAF_LEN, 442);
    let leaf = full_leaf();
    let bytes = leaf.encode();
    assert_eq!(DeviceLeaf::decode(&bytes).unwrap(), leaf);
    assert_eq!(bytes[0], 2, "leaf version");
    assert_eq!(&bytes[1..17], &[0x11; 16]);
    assert_eq!(&bytes[17..21], &[1, 2, 3, 4]);
    assert_eq!(&bytes[21..53], &[0x22; 32]);
    assert_eq!(bytes[53], 1);
    assert_eq!(&bytes[54..58], &[1, 2, 3, 4], "open rollbacks");
    assert_eq!(bytes[58], 1);
    assert_eq!(&bytes[59..67], &0x0a0bu64.to_be_bytes());
    assert_eq!(bytes[67], 1);
    assert_eq!(&bytes[68..100], &[0x33; 32]);
    assert_eq!(&bytes[101..109], &7u64.to_be_bytes());
    assert_eq!(&bytes[109..113], &[5, 6, 7, 8]);
    assert_eq!(&bytes[113..121], &99u64.to_be_bytes());
    assert_eq!(bytes[121], 1);
    assert_eq!(&bytes[122..130], &12u64.to_be_bytes());
    assert_eq!(&bytes[130..162], &[0x44; 32]);
    assert_eq!(&bytes[162..170], &13u64.to_be_bytes());
    assert_eq!(bytes[170], 1);
    assert_eq!(&bytes[171..179], &3u64.to_be_bytes());
    assert_eq!(&bytes[179..211], &[0x45; 32]);
    assert_eq!(&bytes[211..219], &4u64.to_be_bytes());
    assert_eq!(&bytes[219..223], &2u32.to_be_bytes());
    assert_eq!(bytes[223], 1);
    assert_eq!(&bytes[240..248], &21u64.to_be_bytes());
    assert_eq!(&bytes[248..252], &1u32.to_be_bytes());
    assert_eq!(&bytes[261..269], &22u64.to_be_bytes());
    assert_eq!(bytes[269], 1, "corrected baseline present");
    assert_eq!(&bytes[270..278], &0x0c0du64.to_be_bytes());
    assert_eq!(&bytes[278..286], &22u64.to_be_bytes());
    assert_eq!(&bytes[286..318], &[0x66; 32], "vehicle");
    assert_eq!(
        (bytes[318], &bytes[319..335]),
        (1, &[0x77; 16][..]),
        "predecessor"
    );
    assert_eq!(
        (bytes[335], &bytes[336..352]),
        (1, &[0x88; 16][..]),
        "successor"
    );
    assert_eq!(
        (bytes[352], &bytes[353..385], &bytes[385..393]),
        (1, &[0x99; 32][..], &0x0e0fu64.to_be_bytes()[..]),
        "pending recovery"
    );
    assert_eq!(&bytes[393..401], &1u64.to_be_bytes());
    assert_eq!(&bytes[401..433], &leaf.history.root);
    assert_eq!(bytes[433], 1);
    assert_eq!(&bytes[434..442], &5u64.to_be_bytes());
    // A fresh leaf: every optional field absent, all zeros.
    let fresh = DeviceLeaf::new(DeviceId([9; 16]), ModelId(1), [8; 32]);
    let bytes = fresh.encode();
    assert_eq!(DeviceLeaf::decode(&bytes).unwrap(), fresh);
    assert!(bytes[54..67].iter().all(|b| *b == 0));
    assert!(bytes[121..219].iter().all(|b| *b == 0));
    assert!(bytes[248..286].iter().all(|b| *b == 0));
    assert!(bytes[318..].iter().all(|b| *b == 0));
}

#[test]
fn a_leaf_hash_is_the_tagged_hash_of_its_bytes() {
    let leaf = full_leaf();
    let mut h = Sha256::new();
    h.update(b"witness/v2/leaf");
    h.update(leaf.encode());
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(LEAF_TAG, b"witness/v2/leaf");
    assert_eq!(leaf.hash(), expected);
    assert_eq!(leaf_hash(&leaf.encode()), expected);
    let mut h = Sha256::new();
    h.update(NODE_TAG);
    h.update([1; 32]);
    h.update([2; 32]);
    assert_eq!(
        node_hash(&[1; 32], &[2; 32]),
        <[u8; 32]>::from(h.finalize())
    );
    assert_ne!(node_hash(&[1; 32], &[2; 32]), node_hash(&[2; 32], &[1; 32]));
}

#[test]
fn only_the_canonical_leaf_encoding_decodes() {
    let bytes = full_leaf().encode();
    let mut wrong_version = bytes;
    wrong_version[0] = 1;
    assert_eq!(
        DeviceLeaf::decode(&wrong_version),
        Err(Error::UnsupportedVersion)
    );
    let mut not_bool = bytes;
    not_bool[53] = 2;
    assert!(DeviceLeaf::decode(&not_bool).is_err());
    // An absent field with a value left in it.
    let fresh = DeviceLeaf::new(DeviceId([9; 16]), ModelId(1), [8; 32]).encode();
    for offset in [
        59, 68, 101, 122, 175, 204, 261, 270, 319, 336, 353, 385, 434,
    ] {
        let mut dirty = fresh;
        dirty[offset] = 1;
        assert_eq!(
            DeviceLeaf::decode(&dirty),
            Err(Error::InvalidField),
            "offset {offset}"
        );
    }
    assert_eq!(DeviceLeaf::decode(&bytes[..265]), Err(Error::Truncated));
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(DeviceLeaf::decode(&long), Err(Error::TrailingBytes));
}

#[test]
fn key_bits_run_from_the_most_significant_bit_of_byte_zero() {
    let mut id = [0u8; 16];
    id[0] = 0b1000_0001;
    id[15] = 1;
    let id = DeviceId(id);
    assert!(key_bit(&id, 0));
    assert!(!key_bit(&id, 1));
    assert!(key_bit(&id, 7));
    assert!(!key_bit(&id, 8));
    assert!(key_bit(&id, 127));
}

#[test]
fn the_accumulator_chains_the_hashes_of_the_notices() {
    let mut acc = HistoryAccumulator::default();
    assert_eq!((acc.count, acc.root, acc.last_input), (0, EMPTY_HASH, None));
    let mut root = EMPTY_HASH;
    for (i, notice) in [b"one".as_slice(), b"two", b"three"].iter().enumerate() {
        acc.fold(notice, 10 + i as u64);
        let mut h = Sha256::new();
        h.update(HISTORY_TAG);
        h.update(root);
        h.update(Sha256::digest(notice));
        root = h.finalize().into();
        assert_eq!(acc.root, root);
    }
    assert_eq!(acc.count, 3);
    assert_eq!(acc.last_input, Some(12));
    let mut reordered = HistoryAccumulator::default();
    for notice in [b"two".as_slice(), b"one", b"three"] {
        reordered.fold(notice, 12);
    }
    assert_ne!(reordered.root, acc.root);
}

fn leaf_at(first: u8) -> DeviceLeaf {
    let mut id = [0u8; 16];
    id[0] = first;
    DeviceLeaf::new(DeviceId(id), ModelId(1), [first; 32])
}

/// Three devices by their first bits: a = 00.., b = 01.., c = 1...; the trie is
/// root(node(a, b), c).
fn three() -> (DeviceLeaf, DeviceLeaf, DeviceLeaf, [u8; 32]) {
    let (a, b, c) = (leaf_at(0x00), leaf_at(0x40), leaf_at(0x80));
    let root = node_hash(&node_hash(&a.hash(), &b.hash()), &c.hash());
    (a, b, c, root)
}

#[test]
fn membership_and_both_kinds_of_absence_verify_against_a_hand_built_trie() {
    let (a, b, c, root) = three();
    let proof_a = MapProof {
        siblings: vec![c.hash(), b.hash()],
        terminal: Terminal::Leaf(a.clone()),
    };
    assert_eq!(proof_a.verify(&a.device_id, &root), Ok(Some(&a)));
    let proof_c = MapProof {
        siblings: vec![node_hash(&a.hash(), &b.hash())],
        terminal: Terminal::Leaf(c.clone()),
    };
    assert_eq!(proof_c.verify(&c.device_id, &root), Ok(Some(&c)));
    // 1100..: c's subtree holds only c, so c's leaf proves the id absent.
    let mut id = [0u8; 16];
    id[0] = 0xC0;
    assert_eq!(proof_c.verify(&DeviceId(id), &root), Ok(None));
    // 0001..: under a's prefix 00 only a: absent.
    id[0] = 0x10;
    assert_eq!(proof_a.verify(&DeviceId(id), &root), Ok(None));
    // a's path is no proof for an id under 01 (b's): wrong prefix.
    id[0] = 0x60;
    assert_eq!(
        proof_a.verify(&DeviceId(id), &root),
        Err(MapProofError::WrongPrefix)
    );
    // An empty subtree: with a and b only, the root's right subtree (1..) is empty.
    let root_ab = node_hash(&node_hash(&a.hash(), &b.hash()), &EMPTY_HASH);
    let empty = MapProof {
        siblings: vec![node_hash(&a.hash(), &b.hash())],
        terminal: Terminal::Empty,
    };
    assert_eq!(empty.verify(&c.device_id, &root_ab), Ok(None));
    // The same claim against the trie that has c is refused.
    assert_eq!(
        empty.verify(&c.device_id, &root),
        Err(MapProofError::RootMismatch)
    );
    // A leaf cannot stand for a subtree: c's leaf presented where node(a, b) sits.
    let forged = MapProof {
        siblings: vec![c.hash()],
        terminal: Terminal::Leaf(a.clone()),
    };
    assert_eq!(
        forged.verify(&a.device_id, &root),
        Err(MapProofError::RootMismatch)
    );
    assert_eq!(
        proof_a.verify(&a.device_id, &[7; 32]),
        Err(MapProofError::RootMismatch)
    );
    assert_eq!(MapProofError::WrongPrefix.code(), "wrong_prefix");
    assert_eq!(MapProofError::RootMismatch.code(), "root_mismatch");
}

#[test]
fn a_single_device_is_the_root_and_an_empty_map_is_empty_hash() {
    let a = leaf_at(0x00);
    let alone = MapProof {
        siblings: vec![],
        terminal: Terminal::Leaf(a.clone()),
    };
    assert_eq!(alone.verify(&a.device_id, &a.hash()), Ok(Some(&a)));
    assert_eq!(alone.verify(&leaf_at(0x80).device_id, &a.hash()), Ok(None));
    let nothing = MapProof {
        siblings: vec![],
        terminal: Terminal::Empty,
    };
    assert_eq!(nothing.verify(&a.device_id, &EMPTY_HASH), Ok(None));
    assert_eq!(
        nothing.verify(&a.device_id, &a.hash()),
        Err(MapProofError::RootMismatch)
    );
}

#[test]
fn a_map_proof_encodes_only_its_non_empty_siblings_and_round_trips() {
    let (a, _, c, _) = three();
    let proof = MapProof {
        siblings: vec![c.hash(), EMPTY_HASH, [5; 32]],
        terminal: Terminal::Leaf(a),
    };
    let bytes = proof.encode();
    assert_eq!(bytes.len(), 3 + 16 + 2 * 32 + LEAF_LEN);
    assert_eq!(&bytes[..3], &[1, 1, 3]);
    assert_eq!(
        bytes[3], 0b1010_0000,
        "bitmap: siblings 1 and 3 are not empty"
    );
    assert_eq!(MapProof::decode(&bytes).unwrap(), proof);
    let empty = MapProof {
        siblings: vec![EMPTY_HASH; 128],
        terminal: Terminal::Empty,
    };
    let bytes = empty.encode();
    assert_eq!(bytes.len(), 19);
    assert_eq!(MapProof::decode(&bytes).unwrap(), empty);
}

#[test]
fn only_the_canonical_map_proof_encoding_decodes() {
    let (a, _, c, _) = three();
    let bytes = MapProof {
        siblings: vec![c.hash()],
        terminal: Terminal::Leaf(a),
    }
    .encode();
    let mut version = bytes.clone();
    version[0] = 2;
    assert_eq!(MapProof::decode(&version), Err(Error::UnsupportedVersion));
    // A bitmap bit at or beyond the depth.
    let mut beyond = bytes.clone();
    beyond[3] |= 0b0100_0000;
    assert!(MapProof::decode(&beyond).is_err());
    let mut deep = bytes.clone();
    deep[2] = 129;
    assert_eq!(MapProof::decode(&deep), Err(Error::Oversize));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(MapProof::decode(&long), Err(Error::TrailingBytes));
    assert_eq!(
        MapProof::decode(&bytes[..bytes.len() - 1]),
        Err(Error::Truncated)
    );
    let mut no_leaf = bytes.clone();
    no_leaf[1] = 0;
    assert_eq!(MapProof::decode(&no_leaf), Err(Error::TrailingBytes));
}
