//! The backend's notices (version 2): a [`StateNotice`] ends every processed input, and a
//! [`HistoryNotice`] carries each device's new history entries, with reading values sealed
//! per ownership era. Layouts in docs/PROTOCOL.md section 16.
//!
//! A notice is the payload of an ABI `Notice(bytes)` output, so each is provable on L1
//! with `Application.validateOutput`.

use alloc::string::String;
use alloc::vec::Vec;

use chacha20poly1305::{AeadInOut as _, ChaCha20Poly1305, KeyInit as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::commitment::{Commitment, CommitmentKey};
use crate::envelope::MAX_READINGS_PER_ENVELOPE;
use crate::error::{Error, Result};
use crate::keys::{DeviceId, ModelId};
use crate::messages::Correction;
use crate::reading::{FaultCode, MAX_FAULTS_PER_READING, Reading};

/// Version byte of every notice this module writes.
pub const NOTICE_VERSION: u8 = 2;
/// Notice kind: the state after an input.
pub const NOTICE_STATE: u8 = 4;
/// Notice kind: one device's history entries of one input.
pub const NOTICE_HISTORY: u8 = 5;
/// Encoded length of a [`StateNotice`].
pub const STATE_NOTICE_LEN: usize = 2 + 8 * 4 + 32 + 32;
/// Most entries one history notice holds: every entry comes from at least one byte of its
/// input, so one device's notice of one input (up to 122 envelopes of 64 readings, about
/// 0.6 MB, inside the machine's 2 MiB output buffer) always decodes; the reader still bounds
/// the count by the bytes that remain.
pub const MAX_HISTORY_ENTRIES: usize = crate::MAX_INPUT_LEN;
/// Prefix of the key that seals a history notice's dated odometer values.
pub const ODOMETER_KEY_TAG: &[u8] = b"witness/v2/history-key/odometer";
/// Prefix of the key that seals a history notice's full readings.
pub const DETAIL_KEY_TAG: &[u8] = b"witness/v2/history-key/detail";
/// Prefix of the hash over the backend's global state (gateways, registrars).
pub const GLOBALS_TAG: &[u8] = b"witness/v2/globals";
/// Seconds per day: odometer values are dated to the UTC day.
pub const SECONDS_PER_DAY: u32 = 86_400;

/// Decodes a notice's kind without decoding the rest.
pub fn notice_kind(payload: &[u8]) -> Result<u8> {
    match payload {
        [] => Err(Error::Truncated),
        [version, ..] if *version != NOTICE_VERSION => Err(Error::UnsupportedVersion),
        [_, kind, ..] => Ok(*kind),
        [_] => Err(Error::Truncated),
    }
}

/// The state after one input: the last output of every processed input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateNotice {
    /// The input.
    pub input_index: u64,
    /// Its block.
    pub block_number: u64,
    /// Its block time.
    pub block_timestamp: u64,
    /// Devices in the map.
    pub devices: u64,
    /// Root of the device map (section 16.3).
    pub map_root: [u8; 32],
    /// Hash of the gateways and registrars (section 16.5).
    pub globals: [u8; 32],
}

impl StateNotice {
    /// `version | kind 4 | input_index u64 | block_number u64 | block_timestamp u64 |
    /// devices u64 | map_root 32 | globals 32`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(STATE_NOTICE_LEN);
        w.u8(NOTICE_VERSION)
            .u8(NOTICE_STATE)
            .u64(self.input_index)
            .u64(self.block_number)
            .u64(self.block_timestamp)
            .u64(self.devices)
            .bytes(&self.map_root)
            .bytes(&self.globals);
        w.finish()
    }

    /// Decodes a state notice.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        if notice_kind(payload)? != NOTICE_STATE {
            return Err(Error::UnknownKind);
        }
        let mut r = Reader::new(&payload[2..]);
        let notice = Self {
            input_index: r.u64()?,
            block_number: r.u64()?,
            block_timestamp: r.u64()?,
            devices: r.u64()?,
            map_root: r.array()?,
            globals: r.array()?,
        };
        r.finish()?;
        Ok(notice)
    }
}

/// Entry kinds of a history notice.
pub mod entry_kind {
    /// The device was registered.
    pub const REGISTERED: u8 = 1;
    /// A reading (attested, or a rollback).
    pub const READING: u8 = 2;
    /// Kind 3 (the version 2 draft's correction) is retired: refused as unknown.
    /// A registrar's correction (section 8.2.1).
    pub const CORRECTION: u8 = 8;
    /// This unit was replaced in its vehicle by another (section 8.2.2).
    pub const REPLACED_BY: u8 = 9;
    /// This unit replaced another in its vehicle.
    pub const REPLACES: u8 = 10;
    /// The key changed.
    pub const KEY_ROTATED: u8 = 4;
    /// The device was revoked.
    pub const REVOKED: u8 = 5;
    /// A new owner key was bound.
    pub const OWNER_CHANGED: u8 = 6;
    /// An accepted envelope: its reading entries follow.
    pub const ENVELOPE: u8 = 7;
    /// A registrar started an ownership recovery (section 8.4.2).
    pub const RECOVERY_STARTED: u8 = 11;
    /// A pending recovery ended without taking effect.
    pub const RECOVERY_ENDED: u8 = 12;
    /// A recovery took effect: a new owner key is bound; entries after it are in the next
    /// era.
    pub const OWNER_RECOVERED: u8 = 13;
    /// A revoked device was reinstated.
    pub const REINSTATED: u8 = 14;
}

/// Why a pending ownership recovery ended without taking effect (section 8.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryOutcome {
    /// 1: the current owner objected.
    Objected,
    /// 2: the current owner released the device, which passed to another owner.
    Superseded,
    /// 3: the unit was revoked or replaced.
    Retired,
}

impl RecoveryOutcome {
    /// The byte on the wire.
    pub const fn byte(self) -> u8 {
        match self {
            Self::Objected => 1,
            Self::Superseded => 2,
            Self::Retired => 3,
        }
    }

    /// The value of a byte on the wire.
    pub fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            1 => Ok(Self::Objected),
            2 => Ok(Self::Superseded),
            3 => Ok(Self::Retired),
            _ => Err(Error::InvalidField),
        }
    }

    /// Stable name.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Objected => "objected",
            Self::Superseded => "superseded",
            Self::Retired => "retired",
        }
    }
}

/// One line of a device's history as published. Values of readings are not here: they are
/// sealed in the notice's [`SealedValues`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryEntry {
    /// Registered by `registrar` as `model`.
    Registered {
        /// The model.
        model: ModelId,
        /// The registrar's key.
        registrar: [u8; 32],
    },
    /// An accepted envelope; exactly its `count` reading entries follow, counters from
    /// `first_counter` on.
    Envelope {
        /// Counter of its first reading.
        first_counter: u64,
        /// Its readings, 1..=64.
        count: u8,
    },
    /// A reading of the envelope entry before it.
    Reading {
        /// Its counter. Not on the wire: the *k*-th reading entry after an envelope entry has
        /// counter `first_counter + k`, and the decoder fills it in from there.
        counter: u64,
        /// Its commitment.
        commitment: Commitment,
        /// Counter of the attested reading it fell below, for a rollback.
        rollback_of: Option<u64>,
    },
    /// A registrar's correction, as it signed it (public: it is in the signed message on
    /// chain), and whether it cleared the rollback recorded at its counter.
    Corrected {
        /// The registrar.
        registrar: [u8; 32],
        /// The reading at the correction's counter was an uncorrected rollback, which this
        /// correction cleared.
        cleared: bool,
        /// What it says.
        correction: Correction,
    },
    /// The key changed to `new_key`.
    KeyRotated {
        /// The new key.
        new_key: [u8; 32],
    },
    /// Revoked.
    Revoked {
        /// Why.
        reason: String,
    },
    /// Reinstated after a revocation: readings are accepted again.
    Reinstated {
        /// Why.
        reason: String,
    },
    /// `new_device` replaced this unit in its vehicle; no reading of this unit follows.
    ReplacedBy {
        /// The new unit.
        new_device: DeviceId,
        /// The registrar that signed the replacement.
        registrar: [u8; 32],
    },
    /// This unit replaced `old_device` in its vehicle, from the stated baseline.
    Replaces {
        /// The old unit, whose history is the vehicle's before this one.
        old_device: DeviceId,
        /// The baseline this unit starts from (public: it is in the signed act).
        baseline_m: u64,
        /// The registrar that signed the replacement.
        registrar: [u8; 32],
    },
    /// A new owner key was bound; entries after it are in the next era.
    OwnerChanged {
        /// The statement's sequence.
        sequence: u64,
        /// The previous owner released the device (else: its first pairing).
        consented: bool,
        /// The new owner's key.
        owner: [u8; 32],
    },
    /// `registrar` started a recovery of the device to `owner`, which takes effect at
    /// `effective_at` unless the current owner objects.
    RecoveryStarted {
        /// The registrar that signed the recovery.
        registrar: [u8; 32],
        /// The owner key the recovery binds.
        owner: [u8; 32],
        /// When it takes effect (block time).
        effective_at: u64,
    },
    /// The pending recovery ended without taking effect.
    RecoveryEnded {
        /// Why.
        outcome: RecoveryOutcome,
    },
    /// The pending recovery took effect: `owner` is bound; entries after it are in the next
    /// era.
    OwnerRecovered {
        /// The recovered owner's key.
        owner: [u8; 32],
    },
}

const MAX_TEXT: usize = 1024;

impl HistoryEntry {
    /// Writes the entry; a reading entry without its commitment when `commitments` is
    /// false (the opened form of a certificate, section 18.2, which rebuilds it).
    fn encode(&self, w: &mut Writer, commitments: bool) {
        match self {
            Self::Registered { model, registrar } => {
                w.u8(entry_kind::REGISTERED).u32(model.0).bytes(registrar);
            }
            Self::Envelope {
                first_counter,
                count,
            } => {
                w.u8(entry_kind::ENVELOPE).u64(*first_counter).u8(*count);
            }
            Self::Reading {
                commitment,
                rollback_of,
                ..
            } => {
                w.u8(entry_kind::READING);
                if commitments {
                    w.bytes(&commitment.0);
                }
                match rollback_of {
                    Some(reference) => w.u8(1).u64(*reference),
                    None => w.u8(0),
                };
            }
            Self::Corrected {
                registrar,
                cleared,
                correction,
            } => {
                w.u8(entry_kind::CORRECTION)
                    .bytes(registrar)
                    .u8(u8::from(*cleared));
                // A correction here was decoded from a signed message, so its note fits.
                let _ = correction.encode(w);
            }
            Self::KeyRotated { new_key } => {
                w.u8(entry_kind::KEY_ROTATED).bytes(new_key);
            }
            Self::ReplacedBy {
                new_device,
                registrar,
            } => {
                w.u8(entry_kind::REPLACED_BY)
                    .bytes(&new_device.0)
                    .bytes(registrar);
            }
            Self::Replaces {
                old_device,
                baseline_m,
                registrar,
            } => {
                w.u8(entry_kind::REPLACES)
                    .bytes(&old_device.0)
                    .u64(*baseline_m)
                    .bytes(registrar);
            }
            Self::Revoked { reason } => {
                w.u8(entry_kind::REVOKED).var_bytes(reason.as_bytes());
            }
            Self::Reinstated { reason } => {
                w.u8(entry_kind::REINSTATED).var_bytes(reason.as_bytes());
            }
            Self::OwnerChanged {
                sequence,
                consented,
                owner,
            } => {
                w.u8(entry_kind::OWNER_CHANGED)
                    .u64(*sequence)
                    .u8(u8::from(*consented))
                    .bytes(owner);
            }
            Self::RecoveryStarted {
                registrar,
                owner,
                effective_at,
            } => {
                w.u8(entry_kind::RECOVERY_STARTED)
                    .bytes(registrar)
                    .bytes(owner)
                    .u64(*effective_at);
            }
            Self::RecoveryEnded { outcome } => {
                w.u8(entry_kind::RECOVERY_ENDED).u8(outcome.byte());
            }
            Self::OwnerRecovered { owner } => {
                w.u8(entry_kind::OWNER_RECOVERED).bytes(owner);
            }
        }
    }

    /// Decodes one entry; a reading entry gets the counter `ranges` owes next (section
    /// 16.4), and one outside an envelope's range is `invalid_field` (after its fields).
    /// Without `commitments` a reading entry's commitment is not on the wire and is left
    /// zero, for the caller to rebuild.
    fn decode(r: &mut Reader<'_>, ranges: &Ranges, commitments: bool) -> Result<Self> {
        let text = |r: &mut Reader<'_>| {
            core::str::from_utf8(r.var_bytes(MAX_TEXT)?)
                .map(String::from)
                .map_err(|_| Error::InvalidText)
        };
        Ok(match r.u8()? {
            entry_kind::REGISTERED => Self::Registered {
                model: ModelId(r.u32()?),
                registrar: r.array()?,
            },
            // The count and range are checked with the sequence of entries (`Ranges`).
            entry_kind::ENVELOPE => Self::Envelope {
                first_counter: r.u64()?,
                count: r.u8()?,
            },
            entry_kind::READING => {
                let commitment = Commitment(if commitments { r.array()? } else { [0; 32] });
                let rollback_of = if r.bool()? { Some(r.u64()?) } else { None };
                Self::Reading {
                    counter: ranges.next_counter().ok_or(Error::InvalidField)?,
                    commitment,
                    rollback_of,
                }
            }
            entry_kind::CORRECTION => Self::Corrected {
                registrar: r.array()?,
                cleared: r.bool()?,
                correction: Correction::decode(r)?,
            },
            entry_kind::KEY_ROTATED => Self::KeyRotated {
                new_key: r.array()?,
            },
            entry_kind::REPLACED_BY => Self::ReplacedBy {
                new_device: DeviceId(r.array()?),
                registrar: r.array()?,
            },
            entry_kind::REPLACES => Self::Replaces {
                old_device: DeviceId(r.array()?),
                baseline_m: r.u64()?,
                registrar: r.array()?,
            },
            entry_kind::REVOKED => Self::Revoked { reason: text(r)? },
            entry_kind::REINSTATED => Self::Reinstated { reason: text(r)? },
            entry_kind::OWNER_CHANGED => Self::OwnerChanged {
                sequence: r.u64()?,
                consented: r.bool()?,
                owner: r.array()?,
            },
            entry_kind::RECOVERY_STARTED => Self::RecoveryStarted {
                registrar: r.array()?,
                owner: r.array()?,
                effective_at: r.u64()?,
            },
            entry_kind::RECOVERY_ENDED => Self::RecoveryEnded {
                outcome: RecoveryOutcome::from_byte(r.u8()?)?,
            },
            entry_kind::OWNER_RECOVERED => Self::OwnerRecovered { owner: r.array()? },
            _ => return Err(Error::UnknownKind),
        })
    }
}

/// Where the entries of a history notice stand with respect to envelope ranges: the next
/// counter an envelope's reading entries still owe, and how many they owe.
#[derive(Debug, Clone, Copy, Default)]
struct Ranges {
    open: Option<(u64, u8)>,
}

impl Ranges {
    /// The counter of the reading entry due next, if a range is open.
    fn next_counter(&self) -> Option<u64> {
        self.open.map(|(next, _)| next)
    }

    /// Section 16.4's rule, entry by entry: an envelope entry is followed by exactly its
    /// `count` reading entries, counters `first_counter` on (decoded entries get those
    /// counters; built ones must carry them); a reading entry appears nowhere else. A
    /// violation is `invalid_field`.
    fn step(&mut self, entry: &HistoryEntry) -> Result<()> {
        self.open = match (self.open, entry) {
            (Some((next, owed)), HistoryEntry::Reading { counter, .. }) if *counter == next => {
                // The range was checked to exist, so `next + 1` does not overflow.
                (owed > 1).then(|| (next + 1, owed - 1))
            }
            (Some(_), _) | (None, HistoryEntry::Reading { .. }) => {
                return Err(Error::InvalidField);
            }
            (
                None,
                HistoryEntry::Envelope {
                    first_counter,
                    count,
                    ..
                },
            ) => {
                if *count == 0
                    || usize::from(*count) > MAX_READINGS_PER_ENVELOPE
                    || first_counter.checked_add(u64::from(*count) - 1).is_none()
                {
                    return Err(Error::InvalidField);
                }
                Some((*first_counter, *count))
            }
            (None, _) => None,
        };
        Ok(())
    }

    /// The entries must not end inside an envelope's range.
    fn finish(self) -> Result<()> {
        match self.open {
            Some(_) => Err(Error::InvalidField),
            None => Ok(()),
        }
    }

    /// Checks a whole list of entries.
    fn check(entries: &[HistoryEntry]) -> Result<()> {
        let mut ranges = Self::default();
        for entry in entries {
            ranges.step(entry)?;
        }
        ranges.finish()
    }
}

/// The two ciphertexts of a history notice's readings (empty when it has none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SealedValues {
    /// `day u32 | odometer_m u64` per reading, sealed under the era's odometer key.
    pub odometer: Vec<u8>,
    /// Per envelope entry `commitment key 32`, then per reading `timestamp u32 | fuel_ml u32 |
    /// engine_s u32 | fault count u8 | faults u16 each` (the standalone reading without its
    /// odometer, which is in the odometer part), sealed under the era's detail key.
    pub detail: Vec<u8>,
}

/// What the backend seals for one envelope entry of a history notice: the envelope's
/// commitment key (section 7.1) and its readings, in counter order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeValues {
    /// The envelope's commitment key: a reader derives each blinding from it (7.2).
    pub commitment_key: CommitmentKey,
    /// The envelope's readings, one per reading entry of the envelope entry.
    pub readings: Vec<Reading>,
}

/// One device's history entries of one input (an ownership change ends a notice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryNotice {
    /// The device.
    pub device_id: DeviceId,
    /// The input.
    pub input_index: u64,
    /// Its block time.
    pub block_timestamp: u64,
    /// The ownership era the entries belong to.
    pub era: u32,
    /// Notices of this device before this one (its position in the accumulator).
    pub position: u64,
    /// Input index of the device's previous notice.
    pub previous_input: Option<u64>,
    /// The entries, in order.
    pub entries: Vec<HistoryEntry>,
    /// The readings' values, sealed.
    pub sealed: SealedValues,
}

/// The values of one reading of a history notice, as opened by a key holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedValue {
    /// The reading's counter.
    pub counter: u64,
    /// UTC day (`timestamp / 86,400`).
    pub day: u32,
    /// Odometer.
    pub odometer_m: u64,
    /// With the era's detail key: the blinding (derived from the envelope's commitment key)
    /// and the whole reading, which open the reading's commitment.
    pub detail: Option<([u8; 32], Reading)>,
}

/// A history key (odometer or detail) of one device and era.
pub type HistoryKey = Zeroizing<[u8; 32]>;

/// `SHA-256(tag ‖ backend secret 32 ‖ device_id 16 ‖ era u32)`. A plain keyed hash rather
/// than HKDF: two keys per envelope are derived inside the machine, where each SHA-256
/// compression is counted (fixed-length input, so length extension does not apply).
pub fn history_key(
    tag: &[u8],
    backend_secret: &[u8; 32],
    device_id: &DeviceId,
    era: u32,
) -> HistoryKey {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(backend_secret);
    h.update(device_id.0);
    h.update(era.to_be_bytes());
    Zeroizing::new(h.finalize().into())
}

const TAG_LEN: usize = 16;
/// The notice header: version, kind, device id, input index, block time, era, position and
/// previous input (present u8, u64): the detail ciphertext's AAD.
const HEADER_LEN: usize = 2 + 16 + 8 + 8 + 4 + 8 + 9;
/// A reading in the detail plaintext without fault codes: `timestamp u32 | fuel_ml u32 |
/// engine_s u32 | fault count u8`.
const DETAIL_READING_FIXED_LEN: usize = 4 + 4 + 4 + 1;
/// A varint length of a ciphertext takes at most this many bytes (lengths below 2^35).
const MAX_LENGTH_PREFIX: usize = 5;

fn nonce(input_index: u64, part: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&input_index.to_be_bytes());
    n[8..].copy_from_slice(&part.to_be_bytes());
    n
}

/// Encrypts `buffer[start..]` in place with ChaCha20-Poly1305 under the AAD
/// `buffer[..aad_len]` and appends the tag: the plaintext is never copied.
fn seal_in_place(
    buffer: &mut Vec<u8>,
    aad_len: usize,
    start: usize,
    key: &[u8; 32],
    nonce: &[u8; 12],
) -> Result<()> {
    let (head, body) = buffer.split_at_mut(start);
    let tag = ChaCha20Poly1305::new(key.into())
        .encrypt_inout_detached(&(*nonce).into(), &head[..aad_len], body.into())
        .map_err(|_| Error::EncryptionFailed)?;
    buffer.extend_from_slice(&tag);
    Ok(())
}

/// Writes `reading` as the detail plaintext carries it: its standalone encoding (5.2)
/// without the odometer.
pub(crate) fn encode_detail(reading: &Reading, w: &mut Writer) -> Result<()> {
    if reading.faults.len() > MAX_FAULTS_PER_READING {
        return Err(Error::Oversize);
    }
    w.u32(reading.timestamp)
        .u32(reading.fuel_ml)
        .u32(reading.engine_s)
        .u8(reading.faults.len() as u8);
    for fault in &reading.faults {
        w.u16(fault.0);
    }
    Ok(())
}

/// Reads one reading of the detail plaintext and completes it with `odometer_m` from the
/// odometer plaintext. Any failure is `malformed_plaintext`.
fn decode_detail(r: &mut Reader<'_>, odometer_m: u64) -> Result<Reading> {
    let mut read = || -> Result<Reading> {
        let timestamp = r.u32()?;
        let fuel_ml = r.u32()?;
        let engine_s = r.u32()?;
        let count = usize::from(r.u8()?);
        if count > MAX_FAULTS_PER_READING || 2 * count > r.remaining() {
            return Err(Error::MalformedPlaintext);
        }
        let faults = (0..count)
            .map(|_| r.u16().map(FaultCode))
            .collect::<Result<Vec<_>>>()?;
        Ok(Reading {
            timestamp,
            odometer_m,
            fuel_ml,
            engine_s,
            faults,
        })
    };
    read().map_err(|_| Error::MalformedPlaintext)
}

fn open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let body_len = ciphertext
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(Error::DecryptionFailed)?;
    let (body, tag) = ciphertext.split_at(body_len);
    let tag = chacha20poly1305::Tag::try_from(tag).map_err(|_| Error::DecryptionFailed)?;
    let mut plaintext = Zeroizing::new(body.to_vec());
    ChaCha20Poly1305::new(key.into())
        .decrypt_inout_detached(&(*nonce).into(), aad, plaintext.as_mut_slice().into(), &tag)
        .map_err(|_| Error::DecryptionFailed)?;
    Ok(plaintext)
}

impl HistoryNotice {
    /// The notice's bytes before the sealed section: the header (the detail ciphertext's
    /// AAD, [`HEADER_LEN`] bytes), the entry count and the entries (with the header, the
    /// odometer ciphertext's AAD), in a writer with room for `extra` more bytes.
    fn header_and_entries(&self, extra: usize) -> Writer {
        self.header_and_entries_form(extra, true)
    }

    fn header_and_entries_form(&self, extra: usize, commitments: bool) -> Writer {
        // The header and a 2-byte count; a reading entry is at most 42 bytes, and so are all
        // but long-reason entries (the writer grows for those).
        let mut w = Writer::with_capacity(HEADER_LEN + 2 + self.entries.len() * 42 + extra);
        w.u8(NOTICE_VERSION)
            .u8(NOTICE_HISTORY)
            .bytes(&self.device_id.0)
            .u64(self.input_index)
            .u64(self.block_timestamp)
            .u32(self.era)
            .u64(self.position)
            .u8(u8::from(self.previous_input.is_some()))
            .u64(self.previous_input.unwrap_or(0))
            .varint(self.entries.len() as u64);
        for entry in &self.entries {
            entry.encode(&mut w, commitments);
        }
        w
    }

    /// `version | kind 5 | device_id 16 | input_index u64 | block_timestamp u64 | era u32 |
    /// position u64 | previous_input (present u8, u64) | entry count varint | entries |
    /// odometer ciphertext (varint length, bytes) | detail ciphertext (varint length, bytes)`.
    /// Reading entries carry no counter on the wire, so the entries should satisfy the
    /// envelope ranges (section 16.4; [`Self::encode_sealed`] checks it): a reading entry
    /// with another counter would decode with the counter its range implies.
    pub fn encode(&self) -> Vec<u8> {
        let extra = 2 * MAX_LENGTH_PREFIX + self.sealed.odometer.len() + self.sealed.detail.len();
        let mut w = self.header_and_entries(extra);
        w.var_bytes(&self.sealed.odometer)
            .var_bytes(&self.sealed.detail);
        w.finish()
    }

    /// Decodes a history notice.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let (notice, r) = Self::decode_form(payload, true)?;
        r.finish()?;
        Ok(notice)
    }

    /// The opened form (section 18.2, form 1): the notice without its reading entries'
    /// commitments, followed by the readings' values (per envelope entry its commitment key,
    /// then its readings, standalone). Every value a reader of the notice could open with
    /// the era's keys, and the commitments rebuilt from them.
    pub fn encode_opened(&self, envelopes: &[EnvelopeValues]) -> Result<Vec<u8>> {
        Ranges::check(&self.entries)?;
        let mut next = envelopes.iter();
        let mut w = self.header_and_entries_form(0, false);
        w.var_bytes(&self.sealed.odometer)
            .var_bytes(&self.sealed.detail);
        for entry in &self.entries {
            if let HistoryEntry::Envelope { count, .. } = entry {
                let values = next.next().ok_or(Error::InvalidField)?;
                if values.readings.len() != usize::from(*count) {
                    return Err(Error::InvalidField);
                }
                w.bytes(values.commitment_key.as_bytes());
                for reading in &values.readings {
                    reading.encode_standalone(&mut w)?;
                }
            }
        }
        if next.next().is_some() {
            return Err(Error::InvalidField);
        }
        Ok(w.finish())
    }

    /// Decodes the opened form and rebuilds the notice: each reading entry's commitment is
    /// computed from its envelope's commitment key, the device, its counter and its reading
    /// (sections 7.2-7.3). Returns the notice and its values.
    pub fn decode_opened(bytes: &[u8]) -> Result<(Self, Vec<EnvelopeValues>)> {
        let (mut notice, mut r) = Self::decode_form(bytes, false)?;
        let mut envelopes = Vec::new();
        let mut key = None;
        for entry in &mut notice.entries {
            match entry {
                HistoryEntry::Envelope { count, .. } => {
                    let commitment_key = CommitmentKey::from_bytes(r.array()?);
                    let mut readings = Vec::with_capacity(usize::from(*count));
                    for _ in 0..*count {
                        readings.push(Reading::decode_standalone(&mut r)?);
                    }
                    envelopes.push(EnvelopeValues {
                        commitment_key,
                        readings,
                    });
                    key = envelopes.last().map(|e| (e, 0usize));
                }
                HistoryEntry::Reading {
                    counter,
                    commitment,
                    ..
                } => {
                    // The envelope ranges put an envelope entry before every reading entry.
                    let (values, k) = key.as_mut().ok_or(Error::InvalidField)?;
                    let reading = values.readings.get(*k).ok_or(Error::InvalidField)?;
                    *commitment =
                        values
                            .commitment_key
                            .commit(notice.device_id, *counter, reading)?;
                    *k += 1;
                }
                _ => {}
            }
        }
        r.finish()?;
        Ok((notice, envelopes))
    }

    /// Reads a notice up to its ciphertexts (the reading entries' commitments only when
    /// `commitments`); the reader is left after the detail ciphertext.
    fn decode_form(payload: &[u8], commitments: bool) -> Result<(Self, Reader<'_>)> {
        if notice_kind(payload)? != NOTICE_HISTORY {
            return Err(Error::UnknownKind);
        }
        let mut r = Reader::new(&payload[2..]);
        let device_id = DeviceId(r.array()?);
        let input_index = r.u64()?;
        let block_timestamp = r.u64()?;
        let era = r.u32()?;
        let position = r.u64()?;
        let has_previous = r.bool()?;
        let previous = r.u64()?;
        if !has_previous && previous != 0 {
            return Err(Error::InvalidField);
        }
        // The shortest entry (a revocation with an empty reason) is 2 bytes.
        let count = r.count(MAX_HISTORY_ENTRIES, 2)?;
        let mut entries = Vec::with_capacity(count);
        let mut ranges = Ranges::default();
        for _ in 0..count {
            let entry = HistoryEntry::decode(&mut r, &ranges, commitments)?;
            ranges.step(&entry)?;
            entries.push(entry);
        }
        ranges.finish()?;
        // Bounded by what remains (a length past the end is `truncated`).
        let odometer = r.var_bytes(usize::MAX)?.to_vec();
        let detail = r.var_bytes(usize::MAX)?.to_vec();
        let notice = Self {
            device_id,
            input_index,
            block_timestamp,
            era,
            position,
            previous_input: has_previous.then_some(previous),
            entries,
            sealed: SealedValues { odometer, detail },
        };
        Ok((notice, r))
    }

    /// Counters of the reading entries, in order.
    pub fn reading_counters(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.iter().filter_map(|e| match e {
            HistoryEntry::Reading { counter, .. } => Some(*counter),
            _ => None,
        })
    }

    /// The notice's bytes with the readings' values sealed under the era's keys, the header
    /// and entries written once (they are also the AADs) and each plaintext encrypted where
    /// it lies: what the backend publishes. `envelopes` holds one [`EnvelopeValues`] per
    /// envelope entry, in order, each with as many readings as the entry's count (else
    /// `invalid_field`; so are entries outside the envelope ranges of section 16.4).
    /// `self.sealed` is ignored. Nonces are the input index and the part (0 for odometer,
    /// 1 for detail): a device has at most one notice per era and input.
    pub fn encode_sealed(
        &self,
        odometer_key: &[u8; 32],
        detail_key: &[u8; 32],
        envelopes: &[EnvelopeValues],
    ) -> Result<Vec<u8>> {
        Ok(self.seal_into(odometer_key, detail_key, envelopes)?.0)
    }

    /// Seals the readings' values as [`Self::encode_sealed`] does and stores the
    /// ciphertexts in `self.sealed`.
    pub fn seal_values(
        &mut self,
        odometer_key: &[u8; 32],
        detail_key: &[u8; 32],
        envelopes: &[EnvelopeValues],
    ) -> Result<()> {
        let (bytes, sealed_start) = self.seal_into(odometer_key, detail_key, envelopes)?;
        let mut r = Reader::new(&bytes[sealed_start..]);
        self.sealed = SealedValues {
            odometer: r.var_bytes(usize::MAX)?.to_vec(),
            detail: r.var_bytes(usize::MAX)?.to_vec(),
        };
        Ok(())
    }

    /// The sealed notice's bytes and where the sealed section starts (the end of the
    /// odometer part's AAD).
    fn seal_into(
        &self,
        odometer_key: &[u8; 32],
        detail_key: &[u8; 32],
        envelopes: &[EnvelopeValues],
    ) -> Result<(Vec<u8>, usize)> {
        // Reading entries carry no counter on the wire: they must be where their counters
        // say, and the values must be those of the envelope entries, envelope by envelope.
        Ranges::check(&self.entries)?;
        let mut next = envelopes.iter();
        for entry in &self.entries {
            if let HistoryEntry::Envelope { count, .. } = entry {
                match next.next() {
                    Some(values) if values.readings.len() == usize::from(*count) => {}
                    _ => return Err(Error::InvalidField),
                }
            }
        }
        if next.next().is_some() {
            return Err(Error::InvalidField);
        }
        let readings: usize = envelopes.iter().map(|e| e.readings.len()).sum();
        let odometer_len = 12 * readings;
        let detail_len: usize = envelopes
            .iter()
            .map(|e| {
                32 + e
                    .readings
                    .iter()
                    .map(|r| DETAIL_READING_FIXED_LEN + 2 * r.faults.len())
                    .sum::<usize>()
            })
            .sum();
        let sealed_len = if readings == 0 {
            2
        } else {
            2 * (MAX_LENGTH_PREFIX + TAG_LEN) + odometer_len + detail_len
        };
        let mut w = self.header_and_entries(sealed_len);
        let entries_end = w.len();
        if readings == 0 {
            w.varint(0).varint(0);
            return Ok((w.finish(), entries_end));
        }
        w.varint((odometer_len + TAG_LEN) as u64);
        let odometer_start = w.len();
        for reading in envelopes.iter().flat_map(|e| &e.readings) {
            w.u32(reading.timestamp / SECONDS_PER_DAY)
                .u64(reading.odometer_m);
        }
        let mut bytes = w.finish();
        // Odometer values have no commitment: their AAD is the header and the entries.
        seal_in_place(
            &mut bytes,
            entries_end,
            odometer_start,
            odometer_key,
            &nonce(self.input_index, 0),
        )?;
        let mut w = Writer::from_vec(bytes);
        w.varint((detail_len + TAG_LEN) as u64);
        let detail_start = w.len();
        for envelope in envelopes {
            w.bytes(envelope.commitment_key.as_bytes());
            for reading in &envelope.readings {
                encode_detail(reading, &mut w)?;
            }
        }
        if w.len() - detail_start != detail_len {
            return Err(Error::EncryptionFailed);
        }
        let mut bytes = w.finish();
        // Every detail reading is checked against its entry's commitment when opened: the
        // header alone is its AAD, so Poly1305 does not go over the entries a second time.
        seal_in_place(
            &mut bytes,
            HEADER_LEN,
            detail_start,
            detail_key,
            &nonce(self.input_index, 1),
        )?;
        Ok((bytes, entries_end))
    }

    /// Opens the readings' values with the era's odometer key and, if given, its detail key.
    /// With the detail key every reading is rebuilt (its odometer from the odometer part)
    /// and checked against its commitment, its blinding derived from its envelope's
    /// commitment key (sections 7.2-7.3), and its day against the odometer part's.
    pub fn open_values(
        &self,
        odometer_key: &[u8; 32],
        detail_key: Option<&[u8; 32]>,
    ) -> Result<Vec<OpenedValue>> {
        // A decoded notice satisfies this already; a built one may not.
        Ranges::check(&self.entries)?;
        let readings = self.reading_counters().count();
        if readings == 0 {
            return if self.sealed == SealedValues::default() {
                Ok(Vec::new())
            } else {
                Err(Error::MalformedPlaintext)
            };
        }
        let aad = self.header_and_entries(0).finish();
        let odometer = open(
            odometer_key,
            &nonce(self.input_index, 0),
            &aad,
            &self.sealed.odometer,
        )?;
        if odometer.len() != 12 * readings {
            return Err(Error::MalformedPlaintext);
        }
        // Value `k` of the odometer plaintext: `(day, odometer_m)`.
        let dated = |k: usize| -> Result<(u32, u64)> {
            let mut r = Reader::new(&odometer[12 * k..]);
            Ok((r.u32()?, r.u64()?))
        };
        // Per reading entry: its blinding (from its envelope's commitment key) and reading,
        // rebuilt with the odometer value of the same reading entry.
        let details = match detail_key {
            Some(key) => {
                let plain = open(
                    key,
                    &nonce(self.input_index, 1),
                    &aad[..HEADER_LEN],
                    &self.sealed.detail,
                )?;
                let mut r = Reader::new(&plain);
                let mut envelope_key = None;
                let mut out = Vec::with_capacity(readings);
                for entry in &self.entries {
                    match entry {
                        HistoryEntry::Envelope { .. } => {
                            let key: [u8; 32] = r.array().map_err(|_| Error::MalformedPlaintext)?;
                            envelope_key = Some(CommitmentKey::from_bytes(key));
                        }
                        HistoryEntry::Reading { counter, .. } => {
                            let (_, odometer_m) = dated(out.len())?;
                            let reading = decode_detail(&mut r, odometer_m)?;
                            // `Ranges::check` put an envelope entry before every reading.
                            let key = envelope_key.as_ref().ok_or(Error::InvalidField)?;
                            out.push(Some((key.blinding(*counter), reading)));
                        }
                        _ => {}
                    }
                }
                r.finish().map_err(|_| Error::MalformedPlaintext)?;
                out
            }
            None => (0..readings).map(|_| None).collect(),
        };
        let mut values = Vec::with_capacity(readings);
        let entries = self.entries.iter().filter_map(|e| match e {
            HistoryEntry::Reading {
                counter,
                commitment,
                ..
            } => Some((*counter, commitment)),
            _ => None,
        });
        for (k, ((counter, commitment), detail)) in entries.zip(details).enumerate() {
            let (day, odometer_m) = dated(k)?;
            let detail = match detail {
                Some((blinding, reading)) => {
                    let opening = crate::commitment::Opening {
                        device_id: self.device_id,
                        counter,
                        blinding,
                        reading,
                    };
                    opening.verify(commitment)?;
                    if opening.reading.timestamp / SECONDS_PER_DAY != day {
                        return Err(Error::MalformedPlaintext);
                    }
                    Some((blinding, opening.reading))
                }
                None => None,
            };
            values.push(OpenedValue {
                counter,
                day,
                odometer_m,
                detail,
            });
        }
        Ok(values)
    }
}
