//! The provable device state: one fixed-width [`DeviceLeaf`] per device, kept in a sparse
//! Merkle map keyed by the device id ([`MapProof`]), and the per-device history
//! accumulator ([`HistoryAccumulator`]). Layouts and hashing are specified in
//! docs/PROTOCOL.md section 16.
//!
//! The map is a binary trie over the 128 bits of the device id (most significant bit first)
//! in which a subtree holding exactly one leaf is that leaf, placed where its prefix is
//! unique (the shape of Diem's sparse Merkle tree): a path is about log2(devices) hashes
//! instead of 128, and an update costs as many.

use alloc::boxed::Box;
use alloc::vec::Vec;

use sha2::{Digest as _, Sha256};

use crate::codec::{Reader, Writer};
use crate::commitment::Commitment;
use crate::error::{Error, Result};
use crate::keys::{DeviceId, ModelId, VehicleId};

/// Format version of a [`DeviceLeaf`].
pub const LEAF_VERSION: u8 = 2;
/// Prefix of a leaf's hash.
pub const LEAF_TAG: &[u8] = b"witness/v2/leaf";
/// Prefix of an inner node's hash.
pub const NODE_TAG: &[u8] = b"witness/v2/map-node";
/// Prefix of a history accumulator step.
pub const HISTORY_TAG: &[u8] = b"witness/v2/history";
/// The hash of an empty subtree (and the root of an empty map).
pub const EMPTY_HASH: [u8; 32] = [0; 32];
/// Bits of a key: the device id's 128.
pub const KEY_BITS: usize = 128;
/// Format version of a [`MapProof`].
pub const MAP_PROOF_VERSION: u8 = 1;
/// Encoded length of a [`DeviceLeaf`].
pub const LEAF_LEN: usize = 1
    + 16
    + 4
    + 32
    + 1
    + 4
    + 9
    + 33
    + 9
    + 4
    + 8
    + 49
    + 49
    + 4
    + 25
    + 4
    + 17
    + 17
    + 32
    + 17
    + 17
    + 41
    + 49;

/// Bit `index` (0 = most significant) of a device id: the branch taken at depth `index + 1`.
pub fn key_bit(key: &DeviceId, index: usize) -> bool {
    key.0[index / 8] >> (7 - index % 8) & 1 == 1
}

/// `SHA-256(NODE_TAG ‖ left ‖ right)`.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(NODE_TAG);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A reading the device's leaf points to: its counter, commitment and the input that
/// recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestedRef {
    /// The reading's counter.
    pub counter: u64,
    /// Its published commitment.
    pub commitment: Commitment,
    /// The input that attested it.
    pub input_index: u64,
}

/// The latest rollback on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TamperRef {
    /// Counter of the reading that fell below the baseline.
    pub counter: u64,
    /// Counter of the attested reading it fell below.
    pub reference_counter: u64,
    /// The input that recorded it.
    pub input_index: u64,
}

/// The latest registrar correction on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrectionRef {
    /// Counter of the corrected reading.
    pub counter: u64,
    /// The input that recorded it.
    pub input_index: u64,
}

/// A baseline a registrar's correction set (its value is public: it is in the signed
/// correction on chain). It holds until a reading is attested at or above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrectedBaseline {
    /// The baseline, in metres.
    pub odometer_m: u64,
    /// The input that recorded the correction.
    pub input_index: u64,
}

/// A registrar-mediated ownership recovery waiting for its time (PROTOCOL.md 8.4.2): the
/// current owner can object until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingRecovery {
    /// The owner key it binds.
    pub owner: [u8; 32],
    /// When it takes effect (block time, seconds since the Unix epoch).
    pub effective_at: u64,
}

/// A unit's neighbours among its vehicle's units (PROTOCOL.md 8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnitLinks {
    /// The unit this one replaced: the vehicle's record continues there.
    pub predecessor: Option<DeviceId>,
    /// The unit that replaced this one: this unit takes no more readings.
    pub successor: Option<DeviceId>,
}

impl UnitLinks {
    /// The leaf's field for these links: `None` when there are none, so each leaf has one
    /// representation.
    pub fn boxed(predecessor: Option<DeviceId>, successor: Option<DeviceId>) -> Option<Box<Self>> {
        (predecessor.is_some() || successor.is_some()).then(|| {
            Box::new(Self {
                predecessor,
                successor,
            })
        })
    }
}

/// A hash chain over a device's history notices, in the order they were emitted:
/// `root_0 = EMPTY_HASH`, `root_{n+1} = SHA-256(HISTORY_TAG ‖ root_n ‖ SHA-256(notice_n))`.
/// Whoever holds all of a device's history notices can refold it and compare with the
/// leaf: a missing, reordered or altered notice changes the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistoryAccumulator {
    /// Notices folded in.
    pub count: u64,
    /// The chain's head.
    pub root: [u8; 32],
    /// Input index of the latest notice folded in (where a reader starts walking back).
    pub last_input: Option<u64>,
}

impl HistoryAccumulator {
    /// Folds in the next notice (its whole payload), emitted by input `input_index`.
    pub fn fold(&mut self, notice: &[u8], input_index: u64) {
        let mut h = Sha256::new();
        h.update(HISTORY_TAG);
        h.update(self.root);
        h.update(Sha256::digest(notice));
        self.root = h.finalize().into();
        self.count = self.count.saturating_add(1);
        self.last_input = Some(input_index);
    }
}

/// Everything the rollup decides about one device, and nothing that reveals a reading's
/// value: what a verdict and a certificate rest on, proven against a state notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLeaf {
    /// The device (also the map key).
    pub device_id: DeviceId,
    /// Its model.
    pub model: ModelId,
    /// Current Ed25519 key (raw bytes).
    pub key: [u8; 32],
    /// Retired by a registrar.
    pub revoked: bool,
    /// Rollbacks on record that no correction has cleared: the device is flagged while this
    /// is not zero.
    pub open_tampers: u32,
    /// Highest counter consumed.
    pub last_counter: Option<u64>,
    /// Current owner key (raw Ed25519 bytes).
    pub owner: Option<[u8; 32]>,
    /// Highest ownership statement sequence applied.
    pub ownership_sequence: Option<u64>,
    /// Ownership era: 0 for the first owner (and for what was recorded before it), +1 each
    /// time the device passes to another owner key. History values are sealed per era
    /// (docs/THREAT_MODEL.md, "after a sale").
    pub era: u32,
    /// Attested (non-rollback) readings.
    pub attested: u64,
    /// The latest attested reading: the highest odometer since the last baseline a
    /// correction set, the baseline later readings must not fall below (unless
    /// `corrected_baseline` is set).
    pub highest: Option<AttestedRef>,
    /// The first reading ever attested: set once, never changed (a certificate dates the
    /// device's record from it).
    pub first: Option<AttestedRef>,
    /// Rollbacks on record.
    pub tamper_events: u32,
    /// The latest of them. Boxed: few devices have one, and the other 99 % save 24 bytes of
    /// machine state each (BENCHMARKS.md section 7).
    pub latest_tamper: Option<Box<TamperRef>>,
    /// Registrar corrections on record.
    pub corrections: u32,
    /// The latest of them. Boxed, as `latest_tamper`: 16 bytes per device saved.
    pub latest_correction: Option<Box<CorrectionRef>>,
    /// The baseline the latest correction set, while no reading has been attested since:
    /// then it, not `highest`, is what later readings are compared with. Boxed, as
    /// `latest_tamper`.
    pub corrected_baseline: Option<Box<CorrectedBaseline>>,
    /// The vehicle this is a unit of (a commitment to its VIN, never the VIN).
    pub vehicle: VehicleId,
    /// The units before and after this one in its vehicle ([`Self::predecessor`],
    /// [`Self::successor`]). Boxed: few units are replaced or replacements, and the others
    /// save 26 bytes of machine state each (BENCHMARKS.md section 7).
    pub links: Option<Box<UnitLinks>>,
    /// An ownership recovery waiting for its time. Boxed, as `latest_tamper`.
    pub pending_recovery: Option<Box<PendingRecovery>>,
    /// The device's history notices.
    pub history: HistoryAccumulator,
}

fn put_opt_u64(w: &mut Writer, value: Option<u64>) {
    w.u8(u8::from(value.is_some())).u64(value.unwrap_or(0));
}

fn get_opt<T>(
    r: &mut Reader<'_>,
    read: impl FnOnce(&mut Reader<'_>) -> Result<T>,
) -> Result<Option<T>>
where
    T: PartialEq + Default,
{
    let present = r.bool()?;
    let value = read(r)?;
    match present {
        true => Ok(Some(value)),
        // An absent field is all zeros, so each leaf has exactly one encoding.
        false if value == T::default() => Ok(None),
        false => Err(Error::InvalidField),
    }
}

impl DeviceLeaf {
    /// A freshly registered device.
    pub fn new(device_id: DeviceId, model: ModelId, key: [u8; 32]) -> Self {
        Self {
            device_id,
            model,
            key,
            revoked: false,
            open_tampers: 0,
            last_counter: None,
            owner: None,
            ownership_sequence: None,
            era: 0,
            attested: 0,
            highest: None,
            first: None,
            tamper_events: 0,
            latest_tamper: None,
            corrections: 0,
            latest_correction: None,
            corrected_baseline: None,
            vehicle: VehicleId([0; 32]),
            links: None,
            pending_recovery: None,
            history: HistoryAccumulator::default(),
        }
    }

    /// The unit this one replaced in its vehicle.
    pub fn predecessor(&self) -> Option<DeviceId> {
        self.links.as_ref().and_then(|l| l.predecessor)
    }

    /// The unit that replaced this one.
    pub fn successor(&self) -> Option<DeviceId> {
        self.links.as_ref().and_then(|l| l.successor)
    }

    /// Sets the unit this one replaced.
    pub fn set_predecessor(&mut self, predecessor: Option<DeviceId>) {
        self.links = UnitLinks::boxed(predecessor, self.successor());
    }

    /// Sets the unit that replaced this one.
    pub fn set_successor(&mut self, successor: Option<DeviceId>) {
        self.links = UnitLinks::boxed(self.predecessor(), successor);
    }

    /// Whether a rollback is on record that no correction cleared.
    pub fn flagged(&self) -> bool {
        self.open_tampers > 0
    }

    /// The fixed-width encoding (section 16.2), [`LEAF_LEN`] bytes.
    pub fn encode(&self) -> [u8; LEAF_LEN] {
        let mut w = Writer::with_capacity(LEAF_LEN);
        w.u8(LEAF_VERSION)
            .bytes(&self.device_id.0)
            .u32(self.model.0)
            .bytes(&self.key)
            .u8(u8::from(self.revoked))
            .u32(self.open_tampers);
        put_opt_u64(&mut w, self.last_counter);
        w.u8(u8::from(self.owner.is_some()))
            .bytes(&self.owner.unwrap_or([0; 32]));
        put_opt_u64(&mut w, self.ownership_sequence);
        w.u32(self.era).u64(self.attested);
        for attested in [&self.highest, &self.first] {
            let named = attested.unwrap_or(AttestedRef {
                counter: 0,
                commitment: Commitment([0; 32]),
                input_index: 0,
            });
            w.u8(u8::from(attested.is_some()))
                .u64(named.counter)
                .bytes(&named.commitment.0)
                .u64(named.input_index);
        }
        let tamper = self.latest_tamper.as_deref().copied().unwrap_or(TamperRef {
            counter: 0,
            reference_counter: 0,
            input_index: 0,
        });
        w.u32(self.tamper_events)
            .u8(u8::from(self.latest_tamper.is_some()))
            .u64(tamper.counter)
            .u64(tamper.reference_counter)
            .u64(tamper.input_index);
        let correction = self
            .latest_correction
            .as_deref()
            .copied()
            .unwrap_or(CorrectionRef {
                counter: 0,
                input_index: 0,
            });
        w.u32(self.corrections)
            .u8(u8::from(self.latest_correction.is_some()))
            .u64(correction.counter)
            .u64(correction.input_index);
        let baseline = self.corrected_baseline.as_deref();
        w.u8(u8::from(baseline.is_some()))
            .u64(baseline.map_or(0, |b| b.odometer_m))
            .u64(baseline.map_or(0, |b| b.input_index));
        w.bytes(&self.vehicle.0);
        for unit in [self.predecessor(), self.successor()] {
            w.u8(u8::from(unit.is_some()))
                .bytes(&unit.unwrap_or(DeviceId([0; 16])).0);
        }
        let recovery = self.pending_recovery.as_deref();
        w.u8(u8::from(recovery.is_some()))
            .bytes(&recovery.map_or([0; 32], |p| p.owner))
            .u64(recovery.map_or(0, |p| p.effective_at));
        w.u64(self.history.count).bytes(&self.history.root);
        put_opt_u64(&mut w, self.history.last_input);
        let bytes = w.finish();
        let mut out = [0u8; LEAF_LEN];
        // The layout above is fixed-width: the lengths agree by construction.
        out.copy_from_slice(&bytes[..LEAF_LEN.min(bytes.len())]);
        out
    }

    /// Decodes a leaf; only the canonical encoding is accepted.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if r.u8()? != LEAF_VERSION {
            return Err(Error::UnsupportedVersion);
        }
        let device_id = DeviceId(r.array()?);
        let model = ModelId(r.u32()?);
        let key = r.array()?;
        let revoked = r.bool()?;
        let open_tampers = r.u32()?;
        let last_counter = get_opt(&mut r, |r| r.u64())?;
        let owner = get_opt(&mut r, |r| r.array::<32>())?;
        let ownership_sequence = get_opt(&mut r, |r| r.u64())?;
        let era = r.u32()?;
        let attested = r.u64()?;
        let attested_ref = |r: &mut Reader<'_>| {
            Ok(
                get_opt(r, |r| Ok((r.u64()?, r.array::<32>()?, r.u64()?)))?.map(
                    |(counter, commitment, input_index)| AttestedRef {
                        counter,
                        commitment: Commitment(commitment),
                        input_index,
                    },
                ),
            )
        };
        let highest = attested_ref(&mut r)?;
        let first = attested_ref(&mut r)?;
        let tamper_events = r.u32()?;
        let latest_tamper = get_opt(&mut r, |r| Ok((r.u64()?, r.u64()?, r.u64()?)))?.map(
            |(counter, reference_counter, input_index)| TamperRef {
                counter,
                reference_counter,
                input_index,
            },
        );
        let corrections = r.u32()?;
        let latest_correction =
            get_opt(&mut r, |r| Ok((r.u64()?, r.u64()?)))?.map(|(counter, input_index)| {
                CorrectionRef {
                    counter,
                    input_index,
                }
            });
        let corrected_baseline =
            get_opt(&mut r, |r| Ok((r.u64()?, r.u64()?)))?.map(|(odometer_m, input_index)| {
                Box::new(CorrectedBaseline {
                    odometer_m,
                    input_index,
                })
            });
        let vehicle = VehicleId(r.array()?);
        let predecessor = get_opt(&mut r, |r| r.array::<16>())?.map(DeviceId);
        let successor = get_opt(&mut r, |r| r.array::<16>())?.map(DeviceId);
        let pending_recovery =
            get_opt(&mut r, |r| Ok((r.array::<32>()?, r.u64()?)))?.map(|(owner, effective_at)| {
                Box::new(PendingRecovery {
                    owner,
                    effective_at,
                })
            });
        let count = r.u64()?;
        let root = r.array()?;
        let last_input = get_opt(&mut r, |r| r.u64())?;
        r.finish()?;
        Ok(Self {
            device_id,
            model,
            key,
            revoked,
            open_tampers,
            last_counter,
            owner,
            ownership_sequence,
            era,
            attested,
            highest,
            first,
            tamper_events,
            latest_tamper: latest_tamper.map(Box::new),
            corrections,
            latest_correction: latest_correction.map(Box::new),
            corrected_baseline,
            vehicle,
            links: UnitLinks::boxed(predecessor, successor),
            pending_recovery,
            history: HistoryAccumulator {
                count,
                root,
                last_input,
            },
        })
    }

    /// `SHA-256(LEAF_TAG ‖ encode())`: the leaf's hash in the map.
    pub fn hash(&self) -> [u8; 32] {
        leaf_hash(&self.encode())
    }
}

/// The hash of an encoded leaf.
pub fn leaf_hash(encoded: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LEAF_TAG);
    h.update(encoded);
    h.finalize().into()
}

/// What a path ends in.
#[derive(Debug, Clone, PartialEq, Eq)]
// A proof is built, checked and dropped; boxing the leaf would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Terminal {
    /// An empty subtree: no device has the path's prefix.
    Empty,
    /// A leaf: the queried device's (membership) or another device's sharing the prefix
    /// (non-membership).
    Leaf(DeviceLeaf),
}

/// A path from the map root to where a key's search ends: the siblings top-down (depth 1
/// first) and what sits at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapProof {
    /// Sibling hashes, top-down; `siblings.len()` is the depth of the terminal.
    pub siblings: Vec<[u8; 32]>,
    /// The end of the path.
    pub terminal: Terminal,
}

/// Why a map proof does not prove anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapProofError {
    /// The proof does not decode.
    Malformed(Error),
    /// The terminal leaf belongs to another device whose id does not share the path's
    /// prefix with the queried one.
    WrongPrefix,
    /// The path folds to another root.
    RootMismatch,
}

impl MapProofError {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed(error) => error.code(),
            Self::WrongPrefix => "wrong_prefix",
            Self::RootMismatch => "root_mismatch",
        }
    }
}

impl MapProof {
    /// `version u8 | terminal u8 (0 empty, 1 leaf) | depth u8 | bitmap 16 (bit i, most
    /// significant first: sibling at depth i+1 is not empty) | the non-empty siblings, 32
    /// each, top-down | the terminal leaf (LEAF_LEN) when terminal = 1`.
    pub fn encode(&self) -> Vec<u8> {
        let depth = self.siblings.len().min(KEY_BITS);
        let mut bitmap = [0u8; 16];
        for (i, sibling) in self.siblings.iter().take(depth).enumerate() {
            if *sibling != EMPTY_HASH {
                bitmap[i / 8] |= 1 << (7 - i % 8);
            }
        }
        let mut w = Writer::with_capacity(19 + 32 * depth + LEAF_LEN);
        w.u8(MAP_PROOF_VERSION)
            .u8(u8::from(matches!(self.terminal, Terminal::Leaf(_))))
            .u8(depth as u8)
            .bytes(&bitmap);
        for sibling in self.siblings.iter().take(depth) {
            if *sibling != EMPTY_HASH {
                w.bytes(sibling);
            }
        }
        if let Terminal::Leaf(leaf) = &self.terminal {
            w.bytes(&leaf.encode());
        }
        w.finish()
    }

    /// Decodes a proof; only the canonical encoding is accepted.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if r.u8()? != MAP_PROOF_VERSION {
            return Err(Error::UnsupportedVersion);
        }
        let has_leaf = r.bool()?;
        let depth = usize::from(r.u8()?);
        if depth > KEY_BITS {
            return Err(Error::Oversize);
        }
        let bitmap: [u8; 16] = r.array()?;
        let set = |i: usize| bitmap[i / 8] >> (7 - i % 8) & 1 == 1;
        if (depth..KEY_BITS).any(set) {
            return Err(Error::InvalidField);
        }
        let mut siblings = Vec::with_capacity(depth);
        for i in 0..depth {
            if set(i) {
                let sibling: [u8; 32] = r.array()?;
                // An empty sibling has its bit clear: one encoding per proof.
                if sibling == EMPTY_HASH {
                    return Err(Error::InvalidField);
                }
                siblings.push(sibling);
            } else {
                siblings.push(EMPTY_HASH);
            }
        }
        let terminal = if has_leaf {
            Terminal::Leaf(DeviceLeaf::decode(r.take(LEAF_LEN)?)?)
        } else {
            Terminal::Empty
        };
        r.finish()?;
        Ok(Self { siblings, terminal })
    }

    /// Checks the proof for `key` against `root`: `Ok(Some(leaf))` proves the device's
    /// leaf, `Ok(None)` proves that no device with this id exists.
    pub fn verify(
        &self,
        key: &DeviceId,
        root: &[u8; 32],
    ) -> core::result::Result<Option<&DeviceLeaf>, MapProofError> {
        let depth = self.siblings.len();
        if depth > KEY_BITS {
            return Err(MapProofError::Malformed(Error::Oversize));
        }
        let (mut hash, found) = match &self.terminal {
            Terminal::Empty => (EMPTY_HASH, None),
            Terminal::Leaf(leaf) if leaf.device_id == *key => (leaf.hash(), Some(leaf)),
            Terminal::Leaf(leaf) => {
                if (0..depth).any(|i| key_bit(&leaf.device_id, i) != key_bit(key, i)) {
                    return Err(MapProofError::WrongPrefix);
                }
                (leaf.hash(), None)
            }
        };
        for level in (0..depth).rev() {
            let sibling = &self.siblings[level];
            hash = if key_bit(key, level) {
                node_hash(sibling, &hash)
            } else {
                node_hash(&hash, sibling)
            };
        }
        if hash == *root {
            Ok(found)
        } else {
            Err(MapProofError::RootMismatch)
        }
    }
}

#[cfg(feature = "api")]
impl From<&AttestedRef> for crate::api::AttestedView {
    fn from(h: &AttestedRef) -> Self {
        Self {
            counter: h.counter,
            commitment: hex::encode(h.commitment.0),
            input_index: h.input_index,
        }
    }
}

#[cfg(feature = "api")]
impl From<&DeviceLeaf> for crate::api::LeafView {
    fn from(leaf: &DeviceLeaf) -> Self {
        use crate::api::{
            AccumulatorView, AttestedView, CorrectedBaselineView, CorrectionView,
            PendingRecoveryView, TamperView,
        };
        use alloc::string::ToString as _;
        Self {
            device_id: leaf.device_id.to_hex(),
            model: leaf.model.0,
            public_key: hex::encode(leaf.key),
            status: match (leaf.revoked, leaf.successor().is_some(), leaf.flagged()) {
                (true, _, _) => "revoked",
                (false, true, _) => "replaced",
                (false, false, true) => "flagged",
                (false, false, false) => "active",
            }
            .to_string(),
            revoked: leaf.revoked,
            flagged: leaf.flagged(),
            open_tampers: leaf.open_tampers,
            last_counter: leaf.last_counter,
            owner: leaf.owner.map(hex::encode),
            ownership_sequence: leaf.ownership_sequence,
            era: leaf.era,
            attested: leaf.attested,
            highest: leaf.highest.as_ref().map(AttestedView::from),
            first: leaf.first.as_ref().map(AttestedView::from),
            tamper_events: leaf.tamper_events,
            latest_tamper: leaf.latest_tamper.as_ref().map(|t| TamperView {
                counter: t.counter,
                reference_counter: t.reference_counter,
                input_index: t.input_index,
            }),
            corrections: leaf.corrections,
            latest_correction: leaf.latest_correction.as_ref().map(|c| CorrectionView {
                counter: c.counter,
                input_index: c.input_index,
            }),
            corrected_baseline: leaf
                .corrected_baseline
                .as_ref()
                .map(|b| CorrectedBaselineView {
                    odometer_m: b.odometer_m,
                    input_index: b.input_index,
                }),
            vehicle: leaf.vehicle.to_hex(),
            predecessor: leaf.predecessor().map(|d| d.to_hex()),
            successor: leaf.successor().map(|d| d.to_hex()),
            pending_recovery: leaf.pending_recovery.as_ref().map(|p| PendingRecoveryView {
                owner: hex::encode(p.owner),
                effective_at: p.effective_at,
            }),
            history: AccumulatorView {
                count: leaf.history.count,
                root: hex::encode(leaf.history.root),
                last_input: leaf.history.last_input,
            },
        }
    }
}
