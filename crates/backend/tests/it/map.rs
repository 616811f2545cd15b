//! The device map against its specification (docs/PROTOCOL.md 16.3), driven directly:
//! roots, paths and versions over random sets of devices and random leaf changes.

use std::collections::BTreeSet;

use proptest::prelude::*;
use witness_backend::fixture::device;
use witness_backend::map::{DeviceMap, MIN_VERSIONS, NotKept};
use witness_protocol::state::{
    DeviceLeaf, EMPTY_HASH, MapProof, MapProofError, Terminal, key_bit, node_hash,
};
use witness_protocol::{DeviceId, ModelId};

fn leaf(id: [u8; 16], salt: u64) -> DeviceLeaf {
    let mut leaf = DeviceLeaf::new(DeviceId(id), ModelId(1), [7; 32]);
    leaf.attested = salt;
    leaf
}

/// The root as the specification defines it, computed recursively from the leaves alone.
fn spec_root(leaves: &[&DeviceLeaf], depth: usize) -> [u8; 32] {
    match leaves {
        [] => EMPTY_HASH,
        [one] => one.hash(),
        _ => {
            let (left, right): (Vec<&DeviceLeaf>, Vec<&DeviceLeaf>) = leaves
                .iter()
                .partition(|leaf| !key_bit(&leaf.device_id, depth));
            node_hash(&spec_root(&left, depth + 1), &spec_root(&right, depth + 1))
        }
    }
}

fn map_spec_root(map: &DeviceMap) -> [u8; 32] {
    let leaves: Vec<&DeviceLeaf> = map.iter().map(|d| &d.leaf).collect();
    spec_root(&leaves, 0)
}

/// Random ids, and ids sharing 120 (or all but one) leading bits, so paths run deep.
fn id() -> impl Strategy<Value = [u8; 16]> {
    prop_oneof![
        any::<[u8; 16]>(),
        any::<u8>().prop_map(|last| {
            let mut id = [0xA5; 16];
            id[15] = last;
            id
        }),
    ]
}

fn ids(max: usize) -> impl Strategy<Value = Vec<[u8; 16]>> {
    prop::collection::btree_set(id(), 1..max).prop_map(|set| set.into_iter().collect())
}

fn build(ids: &[[u8; 16]]) -> DeviceMap {
    let mut map = DeviceMap::default();
    for id in ids {
        map.insert(device(leaf(*id, 0)));
    }
    map
}

/// One change to a leaf, by kind.
fn change(leaf: &mut DeviceLeaf, kind: u8) {
    match kind % 6 {
        0 => leaf.attested += 1,
        1 => leaf.open_tampers ^= 1,
        2 => leaf.key[31] ^= 1,
        3 => leaf.history.fold(b"notice", 9),
        4 => leaf.last_counter = Some(leaf.last_counter.map_or(0, |c| c + 1)),
        _ => leaf.era += 1,
    }
}

fn flip(hash: &mut [u8; 32], at: usize) {
    hash[at % 32] ^= 0x01;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_change_to_any_leaf_changes_the_root(
        ids in ids(40),
        changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut map = build(&ids);
        let mut previous = map.commit(0, 0, 0);
        prop_assert_eq!(previous, map_spec_root(&map));
        for (index, kind) in changes {
            let id = DeviceId(*index.get(&ids));
            change(&mut map.get_mut(&id).unwrap().leaf, kind);
            let root = map.root_hash();
            prop_assert_ne!(root, previous);
            prop_assert_eq!(root, map_spec_root(&map));
            previous = root;
        }
    }

    #[test]
    fn a_path_verifies_only_for_its_own_device_and_its_own_root(
        ids in ids(24),
        absent in prop::collection::vec(id(), 1..6),
        at in any::<usize>(),
        other_root in any::<[u8; 32]>(),
    ) {
        let mut map = build(&ids);
        let root = map.commit(1, 1, 0);
        for id in &ids {
            let key = DeviceId(*id);
            let (proof, proven_root, devices) = map.prove(&key, 1).unwrap();
            prop_assert_eq!(proven_root, root);
            prop_assert_eq!(devices, ids.len() as u64);
            prop_assert_eq!(MapProof::decode(&proof.encode()).unwrap(), proof.clone());
            let leaf = proof.verify(&key, &root).unwrap().unwrap();
            prop_assert_eq!(leaf, &map.get(&key).unwrap().leaf);
            // A sibling altered (the top, the bottom and one between; empty ones too):
            // refused.
            let depth = proof.siblings.len();
            let levels: BTreeSet<usize> = [0, at % depth.max(1), depth.saturating_sub(1)]
                .into_iter()
                .filter(|level| *level < depth)
                .collect();
            for level in levels {
                let mut forged = proof.clone();
                flip(&mut forged.siblings[level], at);
                prop_assert_eq!(forged.verify(&key, &root), Err(MapProofError::RootMismatch));
            }
            // The leaf altered: refused.
            let mut forged = proof.clone();
            if let Terminal::Leaf(leaf) = &mut forged.terminal {
                change(leaf, at as u8);
            }
            prop_assert_eq!(forged.verify(&key, &root), Err(MapProofError::RootMismatch));
            // A path cut short or made longer: refused.
            if let Some((_, shorter)) = proof.siblings.split_first() {
                let forged = MapProof { siblings: shorter.to_vec(), terminal: proof.terminal.clone() };
                prop_assert!(forged.verify(&key, &root).is_err());
            }
            let mut longer = proof.clone();
            longer.siblings.push(EMPTY_HASH);
            prop_assert!(longer.verify(&key, &root).is_err());
            // Another root: refused.
            if other_root != root {
                prop_assert_eq!(proof.verify(&key, &other_root), Err(MapProofError::RootMismatch));
            }
            // Another present device, its neighbours in id order (the longest shared
            // prefixes): refused, never a false absence.
            let at_id = ids.iter().position(|i| i == id).unwrap();
            let neighbours = &ids[at_id.saturating_sub(2)..(at_id + 3).min(ids.len())];
            for other in neighbours.iter().filter(|other| *other != id) {
                prop_assert!(proof.verify(&DeviceId(*other), &root).is_err());
            }
            // An absent id: at most proven absent.
            for other in absent.iter().filter(|a| !ids.contains(a)) {
                prop_assert!(!matches!(proof.verify(&DeviceId(*other), &root), Ok(Some(_))));
            }
        }
        // Each absent id has its own absence proof, which never proves a present device
        // absent.
        for other in absent.iter().filter(|a| !ids.contains(a)) {
            let key = DeviceId(*other);
            let (proof, _, _) = map.prove(&key, 1).unwrap();
            prop_assert_eq!(proof.verify(&key, &root), Ok(None));
            for id in &ids {
                prop_assert_ne!(proof.verify(&DeviceId(*id), &root), Ok(None));
            }
        }
    }

    #[test]
    fn a_root_computed_incrementally_equals_one_built_from_scratch_in_another_order(
        (ids, shuffled) in ids(40).prop_flat_map(|ids| (Just(ids.clone()), Just(ids).prop_shuffle())),
        salts in prop::collection::vec(1..1_000u64, 40),
        every in 1..8usize,
    ) {
        // Incrementally: inserted in id order with commits in between, then every leaf
        // updated in place.
        let mut incremental = DeviceMap::default();
        for (n, id) in ids.iter().enumerate() {
            incremental.insert(device(leaf(*id, 0)));
            if n % every == 0 {
                incremental.commit(n as u64, n as u64, 0);
            }
        }
        for (id, salt) in ids.iter().zip(&salts) {
            incremental.get_mut(&DeviceId(*id)).unwrap().leaf.attested = *salt;
        }
        let root = incremental.commit(1_000, 1_000, 0);
        // From scratch, in another order, with the final leaves.
        let mut scratch = DeviceMap::default();
        for id in &shuffled {
            let position = ids.iter().position(|i| i == id).unwrap();
            scratch.insert(device(leaf(*id, salts[position])));
        }
        prop_assert_eq!(scratch.root_hash(), root);
        prop_assert_eq!(map_spec_root(&scratch), root);
        prop_assert_eq!(scratch.len(), ids.len() as u64);
        // Both iterate in id order.
        let order: Vec<[u8; 16]> = scratch.iter().map(|d| d.leaf.device_id.0).collect();
        prop_assert_eq!(&order, &ids);
    }
}

#[test]
fn an_empty_map_has_the_empty_root_and_proves_every_id_absent() {
    let mut map = DeviceMap::default();
    assert!(map.is_empty());
    assert_eq!(map.root_hash(), EMPTY_HASH);
    assert_eq!(
        map.prove(&DeviceId([1; 16]), 0).unwrap_err(),
        NotKept::NotProcessed
    );
    let root = map.commit(0, 0, 0);
    assert_eq!(root, EMPTY_HASH);
    let (proof, _, devices) = map.prove(&DeviceId([1; 16]), 0).unwrap();
    assert_eq!(devices, 0);
    assert_eq!(proof.terminal, Terminal::Empty);
    assert!(proof.siblings.is_empty());
    assert_eq!(proof.verify(&DeviceId([1; 16]), &root), Ok(None));
}

#[test]
fn one_device_is_the_root_and_ids_parting_at_the_last_bit_sit_at_depth_128() {
    let mut map = build(&[[0x33; 16]]);
    assert_eq!(map.root_hash(), leaf([0x33; 16], 0).hash());
    let mut twin = [0x33; 16];
    twin[15] ^= 1;
    map.insert(device(leaf(twin, 0)));
    // Inserting an id again changes nothing.
    map.insert(device(leaf(twin, 5)));
    assert_eq!(map.len(), 2);
    let root = map.commit(0, 0, 0);
    let (proof, _, _) = map.prove(&DeviceId(twin), 0).unwrap();
    assert_eq!(proof.siblings.len(), 128);
    assert_eq!(proof.siblings[127], leaf([0x33; 16], 0).hash());
    assert!(proof.siblings[..127].iter().all(|s| *s == EMPTY_HASH));
    assert_eq!(
        proof.encode().len(),
        19 + 32 + witness_protocol::state::LEAF_LEN
    );
    assert_eq!(
        proof
            .verify(&DeviceId(twin), &root)
            .unwrap()
            .unwrap()
            .attested,
        0
    );
}

#[test]
fn a_kept_version_is_unaffected_by_later_changes() {
    let ids: Vec<[u8; 16]> = (0..20u8).map(|i| [i.wrapping_mul(37); 16]).collect();
    let mut map = build(&ids);
    let old = map.commit(0, 0, 0);
    let key = DeviceId(ids[3]);
    for (n, id) in ids.iter().enumerate() {
        map.get_mut(&DeviceId(*id)).unwrap().leaf.attested = n as u64 + 1;
    }
    let new = map.commit(1, 1, 0);
    assert_ne!(old, new);
    let (then, root, _) = map.prove(&key, 0).unwrap();
    assert_eq!(root, old);
    assert_eq!(then.verify(&key, &old).unwrap().unwrap().attested, 0);
    assert_eq!(then.verify(&key, &new), Err(MapProofError::RootMismatch));
    let (now, root, _) = map.prove(&key, 1).unwrap();
    assert_eq!(root, new);
    assert_eq!(now.verify(&key, &new).unwrap().unwrap().attested, 4);
}

#[test]
fn commit_keeps_the_retention_window_and_at_least_the_last_64_versions() {
    let mut map = build(&[[1; 16], [2; 16]]);
    let key = DeviceId([1; 16]);
    // Blocks 10 apart, 100 blocks kept: 11 versions in the window, but at least 64 stay.
    for input in 0..100u64 {
        map.get_mut(&key).unwrap().leaf.attested = input;
        map.commit(input, input * 10, 100);
    }
    assert_eq!(map.kept(), Some((100 - MIN_VERSIONS as u64, 99)));
    assert_eq!(
        map.prove(&key, 100 - MIN_VERSIONS as u64 - 1).unwrap_err(),
        NotKept::Dropped {
            oldest: Some(100 - MIN_VERSIONS as u64)
        }
    );
    assert_eq!(map.prove(&key, 100).unwrap_err(), NotKept::NotProcessed);
    // All in one block: everything is within the window.
    let mut map = build(&[[1; 16]]);
    for input in 0..100u64 {
        map.commit(input, 7, 0);
    }
    assert_eq!(map.kept(), Some((0, 99)));
    let old: BTreeSet<u64> = (0..100).filter(|i| map.prove(&key, *i).is_ok()).collect();
    assert_eq!(old.len(), 100);
}
