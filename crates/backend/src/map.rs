//! The device map: every device's state in a persistent sparse Merkle trie
//! (docs/PROTOCOL.md 16.3), hashed incrementally and versioned per input.
//!
//! - Updates copy only the path to the changed leaf (`Rc::make_mut`), so a version kept for
//!   an earlier input shares every unchanged node with the current one.
//! - Hashes are cached per node and recomputed only along the paths changed since the last
//!   [`DeviceMap::commit`]: an input costs O(changed devices × log devices) hashes, never
//!   O(devices).
//! - [`DeviceMap::commit`] keeps the root of every input whose block lies within the
//!   retention window (and at least the last [`MIN_VERSIONS`]), so a leaf and its path can
//!   be proven as of any of those inputs.
//!
//! Written here rather than taken from a crate: the proof format is ours (it is checked by
//! the CLI, the browser and the Python cross-check), the machine counts every instruction,
//! and no kept crate offers a persistent, versioned trie of this shape without `std` I/O.

use std::collections::VecDeque;
use std::rc::Rc;

use witness_protocol::DeviceId;
use witness_protocol::state::{EMPTY_HASH, MapProof, Terminal, key_bit, node_hash};

use crate::state::Device;

/// Versions always kept, however old their blocks.
pub const MIN_VERSIONS: usize = 64;

type Hash = [u8; 32];

// Memory, per device (docs/BENCHMARKS.md): a leaf is the device itself behind an `Rc`, with
// no cached hash (32 bytes per device saved; a leaf is rehashed when its parent is, about one
// extra leaf hash per changed device and input); an inner node caches its hash, with
// `EMPTY_HASH` meaning "changed since the last commit" (no real node hashes to zeros).
#[derive(Debug, Clone)]
enum Link {
    Leaf(Rc<Device>),
    Inner(Rc<InnerNode>),
}

#[derive(Debug, Clone)]
struct InnerNode {
    children: [Option<Link>; 2],
    hash: Hash,
}

impl Link {
    /// Hashes what changed below and caches it in the inner nodes.
    fn rehash(&mut self) -> Hash {
        match self {
            Link::Leaf(device) => device.leaf.hash(),
            Link::Inner(rc) if rc.hash != EMPTY_HASH => rc.hash,
            Link::Inner(rc) => {
                let inner = Rc::make_mut(rc);
                let [left, right] = &mut inner.children;
                let hash = node_hash(&hash_of(left), &hash_of(right));
                inner.hash = hash;
                hash
            }
        }
    }

    /// The hash of a node of a committed version (every inner node's is cached: commit
    /// rehashes before it keeps a version).
    fn committed(&self) -> Hash {
        match self {
            Link::Leaf(device) => device.leaf.hash(),
            Link::Inner(inner) => inner.hash,
        }
    }
}

fn hash_of(slot: &mut Option<Link>) -> Hash {
    slot.as_mut().map_or(EMPTY_HASH, Link::rehash)
}

fn hash_committed(slot: &Option<Link>) -> Hash {
    slot.as_ref().map_or(EMPTY_HASH, Link::committed)
}

/// One kept version: the map after an input.
#[derive(Debug, Clone)]
struct Version {
    input_index: u64,
    block_number: u64,
    root: Option<Link>,
    devices: u64,
}

/// Why no proof can be given as of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKept {
    /// The input is not processed yet.
    NotProcessed,
    /// Its version was dropped; the oldest kept is `oldest`.
    Dropped { oldest: Option<u64> },
}

/// The map and its kept versions.
#[derive(Debug, Clone, Default)]
pub struct DeviceMap {
    root: Option<Link>,
    devices: u64,
    versions: VecDeque<Version>,
}

impl DeviceMap {
    /// Devices in the map.
    pub fn len(&self) -> u64 {
        self.devices
    }

    /// Whether no device is registered.
    pub fn is_empty(&self) -> bool {
        self.devices == 0
    }

    /// A device.
    pub fn get(&self, id: &DeviceId) -> Option<&Device> {
        let mut slot = self.root.as_ref();
        let mut depth = 0;
        while let Some(link) = slot {
            match link {
                Link::Leaf(device) => {
                    return (device.leaf.device_id == *id).then_some(device);
                }
                Link::Inner(inner) => {
                    slot = inner.children[usize::from(key_bit(id, depth))].as_ref();
                    depth += 1;
                }
            }
        }
        None
    }

    /// A device to change; copies the path if a kept version shares it and marks it for
    /// rehashing. Looks the device up first so a miss copies nothing.
    pub fn get_mut(&mut self, id: &DeviceId) -> Option<&mut Device> {
        self.get(id)?;
        let mut slot = self.root.as_mut();
        let mut depth = 0;
        while let Some(link) = slot {
            match link {
                Link::Leaf(rc) => return Some(Rc::make_mut(rc)),
                Link::Inner(rc) => {
                    let inner = Rc::make_mut(rc);
                    inner.hash = EMPTY_HASH;
                    slot = inner.children[usize::from(key_bit(id, depth))].as_mut();
                    depth += 1;
                }
            }
        }
        None
    }

    /// Adds a device whose id is not in the map yet (the caller checked).
    pub fn insert(&mut self, device: Device) {
        let id = device.leaf.device_id;
        let mut slot = &mut self.root;
        let mut depth = 0;
        loop {
            match slot {
                None => {
                    *slot = Some(Link::Leaf(Rc::new(device)));
                    self.devices += 1;
                    return;
                }
                Some(Link::Leaf(existing)) => {
                    if existing.leaf.device_id == id {
                        return;
                    }
                    // Push the existing leaf one level down under a new inner node; the
                    // loop then meets it again until the two ids part.
                    let existing_id = existing.leaf.device_id;
                    let Some(old) = slot.take() else { return };
                    let mut children = [None, None];
                    children[usize::from(key_bit(&existing_id, depth))] = Some(old);
                    *slot = Some(Link::Inner(Rc::new(InnerNode {
                        children,
                        hash: EMPTY_HASH,
                    })));
                }
                Some(Link::Inner(_)) => {}
            }
            let Some(Link::Inner(rc)) = slot else { return };
            let inner = Rc::make_mut(rc);
            inner.hash = EMPTY_HASH;
            slot = &mut inner.children[usize::from(key_bit(&id, depth))];
            depth += 1;
        }
    }

    /// The current root, hashing what changed since the last call.
    pub fn root_hash(&mut self) -> Hash {
        hash_of(&mut self.root)
    }

    /// Keeps the map as it is after input `input_index` (block `block_number`), and drops
    /// versions whose block is more than `retention_blocks` older, keeping at least
    /// [`MIN_VERSIONS`].
    pub fn commit(&mut self, input_index: u64, block_number: u64, retention_blocks: u64) -> Hash {
        let root = self.root_hash();
        self.versions.push_back(Version {
            input_index,
            block_number,
            root: self.root.clone(),
            devices: self.devices,
        });
        while self.versions.len() > MIN_VERSIONS
            && self
                .versions
                .front()
                .is_some_and(|v| v.block_number.saturating_add(retention_blocks) < block_number)
        {
            self.versions.pop_front();
        }
        root
    }

    /// Inputs whose versions are kept: `(oldest, newest)`.
    pub fn kept(&self) -> Option<(u64, u64)> {
        Some((
            self.versions.front()?.input_index,
            self.versions.back()?.input_index,
        ))
    }

    /// The device's leaf and path as of input `input_index` (its version must be kept).
    pub fn prove(&self, id: &DeviceId, input_index: u64) -> Result<(MapProof, Hash, u64), NotKept> {
        let newest = self.versions.back().map(|v| v.input_index);
        if newest.is_none_or(|newest| input_index > newest) {
            return Err(NotKept::NotProcessed);
        }
        let position = self
            .versions
            .binary_search_by_key(&input_index, |v| v.input_index)
            .map_err(|_| NotKept::Dropped {
                oldest: self.versions.front().map(|v| v.input_index),
            })?;
        let version = &self.versions[position];
        let mut siblings = Vec::new();
        let mut slot = version.root.as_ref();
        let mut depth = 0;
        let terminal = loop {
            match slot {
                None => break Terminal::Empty,
                Some(Link::Leaf(device)) => break Terminal::Leaf(device.leaf.clone()),
                Some(Link::Inner(inner)) => {
                    let bit = usize::from(key_bit(id, depth));
                    siblings.push(hash_committed(&inner.children[1 - bit]));
                    slot = inner.children[bit].as_ref();
                    depth += 1;
                }
            }
        };
        Ok((
            MapProof { siblings, terminal },
            hash_committed(&version.root),
            version.devices,
        ))
    }

    /// Every device, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        let mut stack: Vec<&Link> = self.root.iter().collect();
        std::iter::from_fn(move || {
            while let Some(link) = stack.pop() {
                match link {
                    Link::Leaf(device) => return Some(device.as_ref()),
                    Link::Inner(inner) => {
                        stack.extend(inner.children[1].iter());
                        stack.extend(inner.children[0].iter());
                    }
                }
            }
            None
        })
    }
}
