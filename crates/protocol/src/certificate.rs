//! Mileage certificates (docs/PROTOCOL.md section 18): one device's proven state as of an
//! accepted claim, with the readings its owner discloses, checkable offline.
//!
//! [`Certificate::encode`] / [`Certificate::decode`] are the strict binary format;
//! [`verify_offline`] checks every proof a certificate carries and says what it proves and
//! what only L1 can tell (whether the outputs root was accepted, whether later claims exist).

use alloc::vec::Vec;

use sha3::{Digest, Keccak256};

use crate::codec::{Reader, Writer};
use crate::commitment::{Commitment, Opening};
use crate::error::Error;
use crate::keys::{DeviceId, VehicleIdentity};
use crate::messages::Correction;
use crate::notice::{EnvelopeValues, HistoryEntry, HistoryNotice, STATE_NOTICE_LEN, StateNotice};
use crate::reading::Reading;
use crate::state::{
    AttestedRef, DeviceLeaf, HistoryAccumulator, KEY_BITS, LEAF_LEN, MapProof, MapProofError,
};

/// The first four bytes of every certificate.
pub const CERTIFICATE_MAGIC: [u8; 4] = *b"WTNC";
/// The certificate format version this implementation reads and writes.
pub const CERTIFICATE_VERSION: u8 = 1;
/// Height of the Cartesi v2 outputs Merkle tree.
pub const OUTPUTS_TREE_HEIGHT: usize = 63;
/// Selector of the ABI `Notice(bytes)` output.
pub const NOTICE_SELECTOR: [u8; 4] = [0xc2, 0x58, 0xd6, 0xe5];
/// Largest map proof (version, terminal, depth, bitmap, 128 siblings, a leaf).
pub const MAX_MAP_PROOF_LEN: usize = 19 + 32 * KEY_BITS + LEAF_LEN;
/// Most earlier units a certificate carries (a car has its unit replaced a few times).
pub const MAX_EARLIER_UNITS: usize = 16;
/// Largest opening (7.4): 77 bytes and 32 fault codes.
pub const MAX_OPENING_LEN: usize = 77 + 2 * crate::MAX_FAULTS_PER_READING;
/// Largest history notice a full certificate carries (the machine's 2 MiB output buffer),
/// in either form.
pub const MAX_NOTICE_LEN: usize = 2 * 1024 * 1024;

/// What a certificate cannot know offline, by stable code (section 18.4).
pub const CANNOT_KNOW_OFFLINE: [&str; 2] = ["outputs_root_accepted", "later_claims"];

/// `keccak256(bytes)`.
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// `keccak256(left ‖ right)`: a parent in the outputs tree.
pub fn keccak_pair(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The canonical empty-subtree hashes of the outputs tree: `zero[0]` is 32 zero bytes,
/// `zero[k+1] = keccak256(zero[k] ‖ zero[k])`.
pub fn zero_hashes() -> [[u8; 32]; OUTPUTS_TREE_HEIGHT] {
    let mut zero = [[0u8; 32]; OUTPUTS_TREE_HEIGHT];
    for k in 1..OUTPUTS_TREE_HEIGHT {
        zero[k] = keccak_pair(&zero[k - 1], &zero[k - 1]);
    }
    zero
}

/// The ABI encoding of `Notice(bytes payload)`: selector, offset 0x20, length, the payload
/// padded with zeros to a multiple of 32 bytes.
pub fn notice_output(payload: &[u8]) -> Vec<u8> {
    let padded = payload.len().div_ceil(32) * 32;
    let mut out = Vec::with_capacity(4 + 64 + padded);
    out.extend_from_slice(&NOTICE_SELECTOR);
    let mut word = [0u8; 32];
    word[31] = 0x20;
    out.extend_from_slice(&word);
    word = [0u8; 32];
    word[24..].copy_from_slice(&(payload.len() as u64).to_be_bytes());
    out.extend_from_slice(&word);
    out.extend_from_slice(payload);
    out.resize(4 + 64 + padded, 0);
    out
}

/// An output's place in the outputs tree: its index and its 63 siblings, leaf level first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputProof {
    /// The output's index (below 2^63).
    pub index: u64,
    /// Sibling at each level, level 0 (the leaf's sibling) first.
    pub siblings: [[u8; 32]; OUTPUTS_TREE_HEIGHT],
}

impl OutputProof {
    /// The root this proof folds `output` (the ABI-encoded output) to.
    pub fn root(&self, output: &[u8]) -> [u8; 32] {
        let mut hash = keccak256(output);
        for (level, sibling) in self.siblings.iter().enumerate() {
            hash = if self.index >> level & 1 == 1 {
                keccak_pair(sibling, &hash)
            } else {
                keccak_pair(&hash, sibling)
            };
        }
        hash
    }

    /// The proof of output `index` in a tree of `leaves` (output hashes, in order) and the
    /// tree's root. `None` when `index` is not below `leaves.len()`.
    pub fn build(leaves: &[[u8; 32]], index: u64) -> Option<(Self, [u8; 32])> {
        let zero = zero_hashes();
        let mut position = usize::try_from(index).ok()?;
        if position >= leaves.len() {
            return None;
        }
        let mut level_nodes: Vec<[u8; 32]> = leaves.to_vec();
        let mut siblings = [[0u8; 32]; OUTPUTS_TREE_HEIGHT];
        for (level, sibling) in siblings.iter_mut().enumerate() {
            *sibling = level_nodes
                .get(position ^ 1)
                .copied()
                .unwrap_or(zero[level]);
            let next: Vec<[u8; 32]> = level_nodes
                .chunks(2)
                .map(|pair| keccak_pair(&pair[0], pair.get(1).unwrap_or(&zero[level])))
                .collect();
            level_nodes = next;
            position /= 2;
        }
        let root = level_nodes.first().copied().unwrap_or([0; 32]);
        Some((Self { index, siblings }, root))
    }

    fn encode(&self, w: &mut Writer) {
        let zero = zero_hashes();
        let mut bitmap = 0u64;
        for (level, sibling) in self.siblings.iter().enumerate() {
            if *sibling != zero[level] {
                bitmap |= 1 << level;
            }
        }
        w.u64(self.index).u64(bitmap);
        for (level, sibling) in self.siblings.iter().enumerate() {
            if *sibling != zero[level] {
                w.bytes(sibling);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let index = r.u64()?;
        if index >> OUTPUTS_TREE_HEIGHT != 0 {
            return Err(Error::InvalidField);
        }
        let bitmap = r.u64()?;
        if bitmap >> OUTPUTS_TREE_HEIGHT != 0 {
            return Err(Error::InvalidField);
        }
        let zero = zero_hashes();
        let mut siblings = zero;
        for (level, sibling) in siblings.iter_mut().enumerate() {
            if bitmap >> level & 1 == 1 {
                let value: [u8; 32] = r.array()?;
                // A canonical empty subtree is written as a clear bit only.
                if value == zero[level] {
                    return Err(Error::InvalidField);
                }
                *sibling = value;
            }
        }
        Ok(Self { index, siblings })
    }
}

/// The three values a verifier pins (section 17.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchors {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The application contract.
    pub application: [u8; 20],
    /// Its consensus contract (outputs Merkle root validator).
    pub consensus: [u8; 20],
}

/// The claim a certificate rests on, as L1 records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRef {
    /// The claim's `lastProcessedBlockNumber`.
    pub last_processed_block: u64,
    /// The block of the `ClaimAccepted` event.
    pub claim_block: u64,
    /// The claim's outputs root, when the issuer wrote it (it is also computed).
    pub outputs_root: Option<[u8; 32]>,
}

/// Summary or full history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The leaf and the opening of the highest attested reading.
    Summary = 1,
    /// Also every history notice of the device and the openings the owner discloses.
    Full = 2,
}

/// An era whose dated odometer values a full certificate discloses (section 18.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdometerKey {
    /// The ownership era.
    pub era: u32,
    /// Its odometer key `K_odo(era)` (16.4).
    pub key: [u8; 32],
}

/// One history notice of a full certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertNotice {
    /// Form 0: the notice's payload as published (decoded with the certificate, kept as
    /// published: its bytes are what the accumulator folds).
    Sealed(Vec<u8>, HistoryNotice),
    /// Form 1: the notice with its readings opened; the certificate carries the opened form
    /// ([`HistoryNotice::encode_opened`]) and the verifier rebuilds the commitments.
    Opened(HistoryNotice, Vec<EnvelopeValues>),
}

impl CertNotice {
    fn encode(&self, w: &mut Writer) -> Result<(), Error> {
        match self {
            Self::Sealed(payload, _) => w.u8(0).var_bytes(payload),
            Self::Opened(notice, values) => w.u8(1).var_bytes(&notice.encode_opened(values)?),
        };
        Ok(())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let form = r.u8()?;
        if form > 1 {
            return Err(Error::InvalidField);
        }
        let bytes = r.var_bytes(MAX_NOTICE_LEN)?;
        Ok(match form {
            0 => Self::Sealed(bytes.to_vec(), HistoryNotice::decode(bytes)?),
            _ => {
                let (notice, values) = HistoryNotice::decode_opened(bytes)?;
                Self::Opened(notice, values)
            }
        })
    }

    /// A sealed notice's form: its payload as published.
    pub fn sealed(payload: Vec<u8>) -> Result<Self, Error> {
        let notice = HistoryNotice::decode(&payload)?;
        Ok(Self::Sealed(payload, notice))
    }

    /// The notice (for form 1 with its commitments rebuilt).
    pub fn notice(&self) -> &HistoryNotice {
        match self {
            Self::Sealed(_, notice) | Self::Opened(notice, _) => notice,
        }
    }
}

/// A decoded certificate (section 18.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Summary or full.
    pub level: Level,
    /// The anchors it names.
    pub anchors: Anchors,
    /// The device it is about.
    pub device_id: DeviceId,
    /// The claim.
    pub claim: ClaimRef,
    /// The state notice (16.5), 98 bytes.
    pub state_notice: StateNotice,
    /// The state notice's output proof.
    pub output_proof: OutputProof,
    /// The device's map proof (16.3), against the state notice's map root.
    pub map_proof: MapProof,
    /// The opening (7.4) of the leaf's highest attested reading.
    pub highest: Option<Opening>,
    /// The opening of the leaf's first attested reading.
    pub first: Option<Opening>,
    /// The vehicle's VIN and salt, when the seller discloses them: the buyer compares the
    /// VIN with the car's plate, the verifier the commitment with the leaf's vehicle.
    pub vehicle: Option<VehicleIdentity>,
    /// The map proofs of the vehicle's earlier units (the unit the leaf replaced, the one that
    /// one replaced, …), against the same state notice.
    pub earlier_units: Vec<MapProof>,
    /// Full level: the eras whose sealed notices' odometer values are disclosed, by era.
    pub odometer_keys: Vec<OdometerKey>,
    /// Full level: every history notice of the device, in accumulator order.
    pub notices: Vec<CertNotice>,
}

/// Why a certificate is refused. Codes are stable (section 18.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// Decoding failed (truncated, trailing bytes, unknown version, ...): the protocol code.
    Malformed(Error),
    /// The bytes do not start with the certificate magic.
    NotACertificate,
    /// Another chain than the pinned one.
    ChainMismatch,
    /// Another application than the pinned one.
    ApplicationMismatch,
    /// Another consensus than the pinned one.
    ConsensusMismatch,
    /// The state notice's block is after the claim's last processed block, or that block
    /// after the claim's.
    ClaimMismatch,
    /// The output proof folds to another root than the claim's.
    OutputsRootMismatch,
    /// The map proof folds to another root than the state notice's.
    RootMismatch,
    /// The leaf (or a history notice) is another device's, or the device is absent.
    WrongDevice,
    /// An opening for another commitment than the one it is presented for (another device,
    /// counter, or a reading the history does not hold).
    WrongCommitment,
    /// The leaf names a highest attested reading and its opening is missing.
    OpeningMissing,
    /// An opening does not match its commitment: an altered reading.
    CommitmentMismatch,
    /// The history notices do not refold to the leaf's accumulator.
    HistoryMismatch,
    /// An odometer key does not open a sealed notice of its era.
    HistoryKeyMismatch,
    /// The disclosed VIN and salt do not open the leaf's vehicle commitment.
    VehicleMismatch,
    /// An earlier unit is missing or does not link (section 17.3 rule 5).
    PreviousUnit,
}

impl CertificateError {
    /// Stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Malformed(error) => error.code(),
            Self::NotACertificate => "not_a_certificate",
            Self::ChainMismatch => "chain_mismatch",
            Self::ApplicationMismatch => "application_mismatch",
            Self::ConsensusMismatch => "consensus_mismatch",
            Self::ClaimMismatch => "claim_mismatch",
            Self::OutputsRootMismatch => "outputs_root_mismatch",
            Self::RootMismatch => "root_mismatch",
            Self::WrongDevice => "wrong_device",
            Self::WrongCommitment => "wrong_commitment",
            Self::OpeningMissing => "opening_missing",
            Self::CommitmentMismatch => "commitment_mismatch",
            Self::HistoryMismatch => "history_mismatch",
            Self::HistoryKeyMismatch => "history_key_mismatch",
            Self::VehicleMismatch => "vehicle_mismatch",
            Self::PreviousUnit => "previous_unit",
        }
    }
}

impl From<Error> for CertificateError {
    fn from(error: Error) -> Self {
        Self::Malformed(error)
    }
}

impl core::fmt::Display for CertificateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())
    }
}

impl Certificate {
    /// The binary certificate (section 18.2).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut w = Writer::with_capacity(2_048);
        w.bytes(&CERTIFICATE_MAGIC)
            .u8(CERTIFICATE_VERSION)
            .u8(self.level as u8)
            .u64(self.anchors.chain_id)
            .bytes(&self.anchors.application)
            .bytes(&self.anchors.consensus)
            .bytes(&self.device_id.0)
            .u64(self.claim.last_processed_block)
            .u64(self.claim.claim_block)
            .u8(u8::from(self.claim.outputs_root.is_some()))
            .bytes(&self.claim.outputs_root.unwrap_or([0; 32]))
            .bytes(&self.state_notice.encode());
        self.output_proof.encode(&mut w);
        w.var_bytes(&self.map_proof.encode());
        for opening in [&self.highest, &self.first] {
            match opening {
                Some(opening) => w.u8(1).var_bytes(&opening.encode()?),
                None => w.u8(0),
            };
        }
        match &self.vehicle {
            Some(vehicle) if vehicle.id().is_ok() => {
                w.u8(1).bytes(vehicle.vin.as_bytes()).bytes(&vehicle.salt)
            }
            Some(_) => return Err(Error::InvalidField),
            None => w.u8(0),
        };
        w.varint(self.earlier_units.len() as u64);
        for proof in &self.earlier_units {
            w.var_bytes(&proof.encode());
        }
        if self.level == Level::Full {
            if self.odometer_keys.windows(2).any(|p| p[0].era >= p[1].era) {
                return Err(Error::InvalidField);
            }
            w.varint(self.odometer_keys.len() as u64);
            for key in &self.odometer_keys {
                w.u32(key.era).bytes(&key.key);
            }
            w.varint(self.notices.len() as u64);
            for notice in &self.notices {
                notice.encode(&mut w)?;
            }
        } else if !self.notices.is_empty() || !self.odometer_keys.is_empty() {
            return Err(Error::InvalidField);
        }
        Ok(w.finish())
    }

    /// Decodes a certificate; only the canonical encoding is accepted.
    pub fn decode(bytes: &[u8]) -> Result<Self, CertificateError> {
        let mut r = Reader::new(bytes);
        let magic = r.take(4.min(bytes.len()))?;
        if magic != CERTIFICATE_MAGIC {
            return Err(if CERTIFICATE_MAGIC.starts_with(magic) {
                CertificateError::Malformed(Error::Truncated)
            } else {
                CertificateError::NotACertificate
            });
        }
        if r.u8()? != CERTIFICATE_VERSION {
            return Err(Error::UnsupportedVersion.into());
        }
        let level = match r.u8()? {
            1 => Level::Summary,
            2 => Level::Full,
            _ => return Err(Error::InvalidField.into()),
        };
        let anchors = Anchors {
            chain_id: r.u64()?,
            application: r.array()?,
            consensus: r.array()?,
        };
        let device_id = DeviceId(r.array()?);
        let last_processed_block = r.u64()?;
        let claim_block = r.u64()?;
        let has_root = r.bool()?;
        let root: [u8; 32] = r.array()?;
        if !has_root && root != [0; 32] {
            return Err(Error::InvalidField.into());
        }
        let claim = ClaimRef {
            last_processed_block,
            claim_block,
            outputs_root: has_root.then_some(root),
        };
        let state_notice = StateNotice::decode(r.take(STATE_NOTICE_LEN)?)?;
        let output_proof = OutputProof::decode(&mut r)?;
        let map_proof = MapProof::decode(r.var_bytes(MAX_MAP_PROOF_LEN)?)?;
        let mut opening = || -> Result<Option<Opening>, Error> {
            match r.bool()? {
                true => Ok(Some(Opening::decode(r.var_bytes(MAX_OPENING_LEN)?)?)),
                false => Ok(None),
            }
        };
        let highest = opening()?;
        let first = opening()?;
        let vehicle = match r.bool()? {
            true => {
                let vin = core::str::from_utf8(r.take(17)?).map_err(|_| Error::InvalidText)?;
                let vehicle = VehicleIdentity {
                    vin: vin.into(),
                    salt: r.array()?,
                };
                // A VIN outside ISO 3779 is refused here, as everywhere (section 4).
                vehicle.id()?;
                Some(vehicle)
            }
            false => None,
        };
        let mut earlier_units = Vec::new();
        for _ in 0..r.count(MAX_EARLIER_UNITS, 2)? {
            earlier_units.push(MapProof::decode(r.var_bytes(MAX_MAP_PROOF_LEN)?)?);
        }
        let mut odometer_keys: Vec<OdometerKey> = Vec::new();
        let mut notices = Vec::new();
        if level == Level::Full {
            for _ in 0..r.count(usize::MAX, 36)? {
                let key = OdometerKey {
                    era: r.u32()?,
                    key: r.array()?,
                };
                if odometer_keys.last().is_some_and(|last| last.era >= key.era) {
                    return Err(Error::InvalidField.into());
                }
                odometer_keys.push(key);
            }
            // Every notice is its form byte, a length byte and at least 2 bytes.
            for _ in 0..r.count(usize::MAX, 4)? {
                notices.push(CertNotice::decode(&mut r)?);
            }
        }
        r.finish()?;
        Ok(Self {
            level,
            anchors,
            device_id,
            claim,
            state_notice,
            output_proof,
            map_proof,
            highest,
            first,
            vehicle,
            earlier_units,
            odometer_keys,
            notices,
        })
    }
}

/// A reading the certificate proves, with its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenReading {
    /// Its counter.
    pub counter: u64,
    /// The reading (its `timestamp` is the device's time).
    pub reading: Reading,
    /// Recorded as a rollback (full level only; the highest attested reading never is).
    pub rollback: bool,
}

/// A dated odometer value a full certificate discloses with an era's odometer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedOdometer {
    /// The reading's counter.
    pub counter: u64,
    /// Its UTC day (`timestamp / 86,400`).
    pub day: u32,
    /// Its odometer.
    pub odometer_m: u64,
    /// Recorded as a rollback.
    pub rollback: bool,
}

/// A registrar's correction in the history a full certificate proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCorrection {
    /// The input that recorded it.
    pub input_index: u64,
    /// The registrar that signed it.
    pub registrar: [u8; 32],
    /// It cleared the rollback recorded at its counter.
    pub cleared: bool,
    /// What it says.
    pub correction: Correction,
}

/// What a certificate proves offline, and what it cannot know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Summary or full.
    pub level: Level,
    /// The anchors it names (equal to the pinned ones when they were given).
    pub anchors: Anchors,
    /// Whether the anchors were compared with pinned ones.
    pub anchors_pinned: bool,
    /// The device.
    pub device_id: DeviceId,
    /// As of this block (the claim's last processed block).
    pub as_of_block: u64,
    /// The claim's block.
    pub claim_block: u64,
    /// The input whose state notice the certificate carries, and its block time.
    pub input_index: u64,
    /// Block time of that input.
    pub block_timestamp: u64,
    /// The outputs root L1 must have accepted for the certificate to hold.
    pub outputs_root: [u8; 32],
    /// The state notice's output index (for `validateOutput`).
    pub output_index: u64,
    /// The proven leaf: counts (attested readings, tamper events, corrections, era), flags.
    pub leaf: DeviceLeaf,
    /// The VIN, when disclosed (and proven to open the leaf's vehicle commitment).
    pub vin: Option<alloc::string::String>,
    /// The vehicle's earlier units, newest first, proven against the same state notice and
    /// linked to the leaf (section 17.3 rule 5): the vehicle's record is theirs and the leaf's.
    pub earlier_units: Vec<DeviceLeaf>,
    /// The highest attested reading, opened.
    pub highest: Option<ProvenReading>,
    /// The first attested reading, opened.
    pub first: Option<ProvenReading>,
    /// Full level: the readings of opened notices, each proven by its commitment, by
    /// counter.
    pub disclosed: Vec<ProvenReading>,
    /// Full level: the dated odometer values of sealed notices opened with their era's
    /// odometer key, by counter.
    pub odometer_only: Vec<DatedOdometer>,
    /// Full level: counters of the readings on record that are not disclosed.
    pub undisclosed: Vec<u64>,
    /// Full level: history notices proven complete against the leaf's accumulator.
    pub notices: u64,
    /// Full level: the registrar corrections on record, oldest first. The rollbacks the
    /// history records, less those the corrections cleared, are the leaf's open ones.
    pub corrections: Vec<RecordedCorrection>,
    /// What only L1 can tell (codes of [`CANNOT_KNOW_OFFLINE`]).
    pub cannot_know: &'static [&'static str],
}

fn check_opening(
    opening: &Opening,
    device_id: &DeviceId,
    counter: u64,
    commitment: &Commitment,
) -> Result<(), CertificateError> {
    if opening.device_id != *device_id || opening.counter != counter {
        return Err(CertificateError::WrongCommitment);
    }
    opening.verify(commitment).map_err(|error| match error {
        Error::CommitmentMismatch => CertificateError::CommitmentMismatch,
        other => CertificateError::Malformed(other),
    })
}

/// The opening of a reading the leaf names (its highest or first attested), checked.
fn check_named(
    named: Option<&AttestedRef>,
    opening: Option<&Opening>,
    device_id: &DeviceId,
) -> Result<Option<ProvenReading>, CertificateError> {
    match (named, opening) {
        (Some(named), Some(opening)) => {
            check_opening(opening, device_id, named.counter, &named.commitment)?;
            Ok(Some(ProvenReading {
                counter: opening.counter,
                reading: opening.reading.clone(),
                rollback: false,
            }))
        }
        (Some(_), None) => Err(CertificateError::OpeningMissing),
        (None, Some(_)) => Err(CertificateError::WrongCommitment),
        (None, None) => Ok(None),
    }
}

/// `(counter, rollback)` of each reading entry of `notice`, in order.
fn reading_entries(notice: &HistoryNotice) -> impl Iterator<Item = (u64, bool)> + '_ {
    notice.entries.iter().filter_map(|entry| match entry {
        HistoryEntry::Reading {
            counter,
            rollback_of,
            ..
        } => Some((*counter, rollback_of.is_some())),
        _ => None,
    })
}

/// Decodes `bytes` and checks every proof it carries, in the order of section 18.4.
pub fn verify_offline(
    bytes: &[u8],
    pinned: Option<&Anchors>,
) -> Result<Findings, CertificateError> {
    let cert = Certificate::decode(bytes)?;
    if let Some(pinned) = pinned {
        if cert.anchors.chain_id != pinned.chain_id {
            return Err(CertificateError::ChainMismatch);
        }
        if cert.anchors.application != pinned.application {
            return Err(CertificateError::ApplicationMismatch);
        }
        if cert.anchors.consensus != pinned.consensus {
            return Err(CertificateError::ConsensusMismatch);
        }
    }
    let state = &cert.state_notice;
    if state.block_number > cert.claim.last_processed_block
        || cert.claim.last_processed_block > cert.claim.claim_block
    {
        return Err(CertificateError::ClaimMismatch);
    }
    let outputs_root = cert.output_proof.root(&notice_output(&state.encode()));
    if cert
        .claim
        .outputs_root
        .is_some_and(|root| root != outputs_root)
    {
        return Err(CertificateError::OutputsRootMismatch);
    }
    let leaf = match cert.map_proof.verify(&cert.device_id, &state.map_root) {
        Ok(Some(leaf)) => leaf.clone(),
        Ok(None) | Err(MapProofError::WrongPrefix) => return Err(CertificateError::WrongDevice),
        Err(MapProofError::RootMismatch) => return Err(CertificateError::RootMismatch),
        Err(MapProofError::Malformed(error)) => return Err(error.into()),
    };
    let vin = match &cert.vehicle {
        Some(vehicle) if vehicle.id().ok() == Some(leaf.vehicle) => Some(vehicle.vin.clone()),
        Some(_) => return Err(CertificateError::VehicleMismatch),
        None => None,
    };
    // The vehicle's earlier units, link by link, against the same root.
    let mut earlier_units: Vec<DeviceLeaf> = Vec::with_capacity(cert.earlier_units.len());
    let mut next = leaf.predecessor();
    for proof in &cert.earlier_units {
        let id = next.ok_or(CertificateError::PreviousUnit)?;
        let unit = match proof.verify(&id, &state.map_root) {
            Ok(Some(unit)) => unit.clone(),
            Ok(None) | Err(MapProofError::WrongPrefix) => {
                return Err(CertificateError::PreviousUnit);
            }
            Err(MapProofError::RootMismatch) => return Err(CertificateError::RootMismatch),
            Err(MapProofError::Malformed(error)) => return Err(error.into()),
        };
        let successor = earlier_units.last().map_or(leaf.device_id, |u| u.device_id);
        if unit.successor() != Some(successor) || unit.vehicle != leaf.vehicle {
            return Err(CertificateError::PreviousUnit);
        }
        next = unit.predecessor();
        earlier_units.push(unit);
    }
    if next.is_some() {
        return Err(CertificateError::PreviousUnit);
    }
    let highest = check_named(
        leaf.highest.as_ref(),
        cert.highest.as_ref(),
        &cert.device_id,
    )?;
    let first = check_named(leaf.first.as_ref(), cert.first.as_ref(), &cert.device_id)?;
    let mut disclosed = Vec::new();
    let mut odometer_only = Vec::new();
    let mut undisclosed = Vec::new();
    let mut corrections = Vec::new();
    if cert.level == Level::Full {
        let mut acc = HistoryAccumulator::default();
        let mut sealed: Vec<&HistoryNotice> = Vec::new();
        let same_device = |notice: &HistoryNotice| match notice.device_id == cert.device_id {
            true => Ok(()),
            false => Err(CertificateError::WrongDevice),
        };
        for notice in &cert.notices {
            match notice {
                CertNotice::Opened(notice, values) => {
                    same_device(notice)?;
                    // The rebuilt payload, its commitments computed from the values.
                    acc.fold(&notice.encode(), notice.input_index);
                    let readings = values.iter().flat_map(|v| &v.readings);
                    for ((counter, rollback), reading) in reading_entries(notice).zip(readings) {
                        disclosed.push(ProvenReading {
                            counter,
                            reading: reading.clone(),
                            rollback,
                        });
                    }
                }
                CertNotice::Sealed(payload, notice) => {
                    same_device(notice)?;
                    acc.fold(payload, notice.input_index);
                    sealed.push(notice);
                }
            }
        }
        if acc != leaf.history {
            return Err(CertificateError::HistoryMismatch);
        }
        // The corrected record: each rollback stays open until a correction clears it.
        let mut open = alloc::collections::BTreeSet::new();
        for notice in cert.notices.iter().map(CertNotice::notice) {
            for entry in &notice.entries {
                match entry {
                    HistoryEntry::Reading {
                        counter,
                        rollback_of: Some(_),
                        ..
                    } => {
                        open.insert(*counter);
                    }
                    HistoryEntry::Corrected {
                        registrar,
                        cleared,
                        correction,
                    } => {
                        // A correction clears the rollback at its counter exactly when one
                        // is open there (section 18.4 step 7a).
                        if *cleared != open.remove(&correction.counter) {
                            return Err(CertificateError::HistoryMismatch);
                        }
                        corrections.push(RecordedCorrection {
                            input_index: notice.input_index,
                            registrar: *registrar,
                            cleared: *cleared,
                            correction: correction.clone(),
                        });
                    }
                    _ => {}
                }
            }
        }
        if open.len() != leaf.open_tampers as usize {
            return Err(CertificateError::HistoryMismatch);
        }
        for notice in sealed {
            if notice.reading_counters().next().is_none() {
                continue;
            }
            let key = cert.odometer_keys.iter().find(|k| k.era == notice.era);
            let Some(key) = key else {
                undisclosed.extend(notice.reading_counters());
                continue;
            };
            let values = notice
                .open_values(&key.key, None)
                .map_err(|error| match error {
                    Error::DecryptionFailed => CertificateError::HistoryKeyMismatch,
                    other => CertificateError::Malformed(other),
                })?;
            for ((counter, rollback), value) in reading_entries(notice).zip(values) {
                odometer_only.push(DatedOdometer {
                    counter,
                    day: value.day,
                    odometer_m: value.odometer_m,
                    rollback,
                });
            }
        }
        disclosed.sort_by_key(|r| r.counter);
        odometer_only.sort_by_key(|r| r.counter);
        undisclosed.sort_unstable();
    }
    Ok(Findings {
        level: cert.level,
        anchors: cert.anchors,
        anchors_pinned: pinned.is_some(),
        device_id: cert.device_id,
        as_of_block: cert.claim.last_processed_block,
        claim_block: cert.claim.claim_block,
        input_index: state.input_index,
        block_timestamp: state.block_timestamp,
        outputs_root,
        output_index: cert.output_proof.index,
        notices: cert.notices.len() as u64,
        corrections,
        vin,
        earlier_units,
        leaf,
        highest,
        first,
        disclosed,
        odometer_only,
        undisclosed,
        cannot_know: &CANNOT_KNOW_OFFLINE,
    })
}

/// First line of the text form (section 18.6).
pub const TEXT_BEGIN: &str = "-----BEGIN WITNESS CERTIFICATE-----";
/// Last line of the text form.
pub const TEXT_END: &str = "-----END WITNESS CERTIFICATE-----";

/// The text form (section 18.6): standard base64 with padding, 64 characters a line,
/// between [`TEXT_BEGIN`] and [`TEXT_END`].
#[cfg(feature = "std")]
pub fn to_text(bytes: &[u8]) -> alloc::string::String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = alloc::string::String::with_capacity(encoded.len() + encoded.len() / 64 + 80);
    out.push_str(TEXT_BEGIN);
    out.push('\n');
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(core::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(TEXT_END);
    out.push('\n');
    out
}

/// The certificate's bytes from what a buyer was handed (section 18.6): the binary file (it
/// starts with the magic), the text form (found anywhere in the text, as in an e-mail), its
/// base64 without the two lines, or hex (as the vectors write certificates); whitespace is
/// ignored. Anything else is `not_a_certificate`; a BEGIN line without its END line is
/// `truncated`.
#[cfg(feature = "std")]
pub fn from_any(input: &[u8]) -> Result<Vec<u8>, CertificateError> {
    use base64::Engine as _;
    if input.starts_with(&CERTIFICATE_MAGIC) {
        return Ok(input.to_vec());
    }
    let text = core::str::from_utf8(input).map_err(|_| CertificateError::NotACertificate)?;
    let (body, armoured) = match text.find(TEXT_BEGIN) {
        Some(begin) => {
            let rest = &text[begin + TEXT_BEGIN.len()..];
            let end = rest
                .find(TEXT_END)
                .ok_or(CertificateError::Malformed(Error::Truncated))?;
            (&rest[..end], true)
        }
        None if text.contains(TEXT_END) => return Err(CertificateError::NotACertificate),
        None => (text, false),
    };
    let compact: alloc::string::String = body.chars().filter(|c| !c.is_whitespace()).collect();
    // Hex of a certificate starts `57544e43` (`WTNC`); its base64 starts `V1ROQ`, never hex.
    if !armoured
        && let Some(bytes) = crate::codec::parse_hex(&compact)
        && bytes.starts_with(&CERTIFICATE_MAGIC)
    {
        return Ok(bytes);
    }
    match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        Ok(bytes) if bytes.starts_with(&CERTIFICATE_MAGIC) => Ok(bytes),
        _ => Err(CertificateError::NotACertificate),
    }
}
