//! The outputs Merkle tree of Cartesi Rollups v2.
//!
//! A binary tree of height 63 over the output hashes (`keccak256(output)`), indexed by the global
//! output index; absent leaves are 32 zero bytes and a parent is `keccak256(left ‖ right)`.
//! Only the non-empty part of each level is stored: an entirely empty subtree of height `h` is
//! replaced by the precomputed `zero_hash(h)`, so a tree over `n` leaves costs O(n) memory and time.

use std::sync::OnceLock;

use alloy::primitives::{B256, keccak256};

/// Height of the outputs tree (`CanonicalMachine.LOG2_MAX_OUTPUTS`).
pub const HEIGHT: usize = 63;

/// `zero_hash(h)` is the root of an empty subtree of height `h` (`zero_hash(0)` is the empty leaf).
pub fn zero_hash(height: usize) -> B256 {
    static ZEROS: OnceLock<[B256; HEIGHT + 1]> = OnceLock::new();
    ZEROS.get_or_init(|| {
        let mut zeros = [B256::ZERO; HEIGHT + 1];
        for h in 1..=HEIGHT {
            zeros[h] = hash_pair(&zeros[h - 1], &zeros[h - 1]);
        }
        zeros
    })[height]
}

fn hash_pair(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// A fully built tree: every non-empty node of every level.
#[derive(Debug, Clone)]
pub struct OutputsTree {
    /// `levels[0]` are the leaves, `levels[h]` the non-empty nodes at height `h`.
    levels: Vec<Vec<B256>>,
}

impl OutputsTree {
    /// Builds the tree over `leaves` (output hashes in output-index order).
    pub fn new(leaves: Vec<B256>) -> Self {
        let mut levels = Vec::with_capacity(HEIGHT + 1);
        levels.push(leaves);
        for h in 1..=HEIGHT {
            let zero = zero_hash(h - 1);
            // A lone left child pairs with an empty subtree; chunks are never empty.
            let level: Vec<B256> = levels[h - 1]
                .chunks(2)
                .map(|pair| hash_pair(&pair[0], pair.get(1).unwrap_or(&zero)))
                .collect();
            levels.push(level);
        }
        Self { levels }
    }

    /// Number of leaves (outputs) in the tree.
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    pub fn root(&self) -> B256 {
        self.levels[HEIGHT]
            .first()
            .copied()
            .unwrap_or_else(|| zero_hash(HEIGHT))
    }

    /// The 63 sibling hashes from the leaf at `index` up to the root, bottom first, as
    /// `Application.validateOutput` expects them; `None` when `index` is not a leaf of the tree.
    pub fn siblings(&self, index: u64) -> Option<Vec<B256>> {
        if index >= self.len() {
            return None;
        }
        let siblings = (0..HEIGHT)
            .map(|h| {
                let sibling = usize::try_from((index >> h) ^ 1).unwrap_or(usize::MAX);
                self.levels[h]
                    .get(sibling)
                    .copied()
                    .unwrap_or_else(|| zero_hash(h))
            })
            .collect();
        Some(siblings)
    }
}

/// Recomputes the root from a leaf and its siblings (what the contract does).
pub fn root_from_siblings(leaf: B256, index: u64, siblings: &[B256]) -> B256 {
    siblings
        .iter()
        .enumerate()
        .fold(leaf, |node, (h, sibling)| {
            if (index >> h) & 1 == 0 {
                hash_pair(&node, sibling)
            } else {
                hash_pair(sibling, &node)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward reference: pads the leaves to a power of two with zero leaves, hashes up
    /// to that subtree's root, then climbs the remaining heights against empty subtrees.
    fn naive_root(leaves: &[B256]) -> B256 {
        let width = leaves.len().next_power_of_two().max(1);
        let mut level: Vec<B256> = leaves.to_vec();
        level.resize(width, B256::ZERO);
        let mut height = 0;
        while level.len() > 1 {
            level = level.chunks(2).map(|p| hash_pair(&p[0], &p[1])).collect();
            height += 1;
        }
        let mut node = level[0];
        let mut empty = B256::ZERO;
        for _ in 0..height {
            empty = hash_pair(&empty, &empty);
        }
        while height < HEIGHT {
            node = hash_pair(&node, &empty);
            empty = hash_pair(&empty, &empty);
            height += 1;
        }
        node
    }

    fn leaf(i: u64) -> B256 {
        keccak256(i.to_be_bytes())
    }

    #[test]
    fn zero_hashes_chain() {
        assert_eq!(zero_hash(0), B256::ZERO);
        assert_eq!(zero_hash(1), keccak256([0u8; 64]));
        assert_eq!(zero_hash(2), hash_pair(&zero_hash(1), &zero_hash(1)));
    }

    #[test]
    fn empty_tree_root_is_zero_subtree() {
        let tree = OutputsTree::new(vec![]);
        assert_eq!(tree.root(), zero_hash(HEIGHT));
        assert_eq!(tree.root(), naive_root(&[]));
        assert!(tree.siblings(0).is_none());
    }

    #[test]
    fn single_leaf_root_by_hand() {
        let l = leaf(7);
        let mut expected = l;
        for h in 0..HEIGHT {
            expected = hash_pair(&expected, &zero_hash(h));
        }
        assert_eq!(OutputsTree::new(vec![l]).root(), expected);
    }

    #[test]
    fn roots_match_naive_and_siblings_verify() {
        for n in 1..=33u64 {
            let leaves: Vec<B256> = (0..n).map(leaf).collect();
            let tree = OutputsTree::new(leaves.clone());
            let root = tree.root();
            assert_eq!(root, naive_root(&leaves), "n = {n}");
            for (i, l) in leaves.iter().enumerate() {
                let siblings = tree.siblings(i as u64).expect("leaf exists");
                assert_eq!(siblings.len(), HEIGHT);
                assert_eq!(
                    root_from_siblings(*l, i as u64, &siblings),
                    root,
                    "n={n} i={i}"
                );
                // A proof for the wrong position or a tampered leaf must not verify.
                if n > 1 {
                    let other = (i as u64 + 1) % n;
                    assert_ne!(root_from_siblings(*l, other, &siblings), root);
                }
                assert_ne!(root_from_siblings(leaf(1000), i as u64, &siblings), root);
            }
            assert!(tree.siblings(n).is_none());
        }
    }

    #[test]
    fn adding_a_leaf_changes_the_root() {
        let a = OutputsTree::new((0..5).map(leaf).collect());
        let b = OutputsTree::new((0..6).map(leaf).collect());
        assert_ne!(a.root(), b.root());
    }
}
