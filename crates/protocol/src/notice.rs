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
use crate::commitment::Commitment;
use crate::error::{Error, Result};
use crate::keys::{DeviceId, ModelId};
use crate::reading::Reading;

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
/// 1.2 MB, inside the machine's 2 MiB output buffer) always decodes; the reader still bounds
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
    /// A registrar corrected a reading.
    pub const CORRECTED: u8 = 3;
    /// The key changed.
    pub const KEY_ROTATED: u8 = 4;
    /// The device was revoked.
    pub const REVOKED: u8 = 5;
    /// A new owner key was bound.
    pub const OWNER_CHANGED: u8 = 6;
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
    /// A reading.
    Reading {
        /// Its counter.
        counter: u64,
        /// Its commitment.
        commitment: Commitment,
        /// SHA-256 of the envelope that carried it.
        envelope_hash: [u8; 32],
        /// Counter of the attested reading it fell below, for a rollback.
        rollback_of: Option<u64>,
    },
    /// A registrar corrected the reading at `counter` to `odometer_m` (public: it is in the
    /// registrar's signed message on chain).
    Corrected {
        /// The corrected reading.
        counter: u64,
        /// The corrected value.
        odometer_m: u64,
        /// The registrar.
        registrar: [u8; 32],
        /// Why.
        reason: String,
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
    /// A new owner key was bound; entries after it are in the next era.
    OwnerChanged {
        /// The statement's sequence.
        sequence: u64,
        /// The previous owner released the device.
        consented: bool,
        /// The new owner's key.
        owner: [u8; 32],
    },
}

const MAX_TEXT: usize = 1024;

impl HistoryEntry {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Registered { model, registrar } => {
                w.u8(entry_kind::REGISTERED).u32(model.0).bytes(registrar);
            }
            Self::Reading {
                counter,
                commitment,
                envelope_hash,
                rollback_of,
            } => {
                w.u8(entry_kind::READING)
                    .u64(*counter)
                    .bytes(&commitment.0)
                    .bytes(envelope_hash)
                    .u8(u8::from(rollback_of.is_some()))
                    .u64(rollback_of.unwrap_or(0));
            }
            Self::Corrected {
                counter,
                odometer_m,
                registrar,
                reason,
            } => {
                w.u8(entry_kind::CORRECTED)
                    .u64(*counter)
                    .u64(*odometer_m)
                    .bytes(registrar)
                    .var_bytes(reason.as_bytes());
            }
            Self::KeyRotated { new_key } => {
                w.u8(entry_kind::KEY_ROTATED).bytes(new_key);
            }
            Self::Revoked { reason } => {
                w.u8(entry_kind::REVOKED).var_bytes(reason.as_bytes());
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
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
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
            entry_kind::READING => {
                let counter = r.u64()?;
                let commitment = Commitment(r.array()?);
                let envelope_hash = r.array()?;
                let rollback = r.bool()?;
                let reference = r.u64()?;
                if !rollback && reference != 0 {
                    return Err(Error::InvalidField);
                }
                Self::Reading {
                    counter,
                    commitment,
                    envelope_hash,
                    rollback_of: rollback.then_some(reference),
                }
            }
            entry_kind::CORRECTED => Self::Corrected {
                counter: r.u64()?,
                odometer_m: r.u64()?,
                registrar: r.array()?,
                reason: text(r)?,
            },
            entry_kind::KEY_ROTATED => Self::KeyRotated {
                new_key: r.array()?,
            },
            entry_kind::REVOKED => Self::Revoked { reason: text(r)? },
            entry_kind::OWNER_CHANGED => Self::OwnerChanged {
                sequence: r.u64()?,
                consented: r.bool()?,
                owner: r.array()?,
            },
            _ => return Err(Error::UnknownKind),
        })
    }
}

/// The two ciphertexts of a history notice's readings (empty when it has none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SealedValues {
    /// `day u32 | odometer_m u64` per reading, sealed under the era's odometer key.
    pub odometer: Vec<u8>,
    /// `blinding 32 | standalone reading` per reading, sealed under the era's detail key.
    pub detail: Vec<u8>,
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
    /// With the era's detail key: the blinding and the whole reading, which open the
    /// reading's commitment.
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

fn nonce(input_index: u64, part: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&input_index.to_be_bytes());
    n[8..].copy_from_slice(&part.to_be_bytes());
    n
}

/// ChaCha20-Poly1305: `ciphertext ‖ tag`.
fn seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], mut buffer: Vec<u8>) -> Result<Vec<u8>> {
    let tag = ChaCha20Poly1305::new(key.into())
        .encrypt_inout_detached(&(*nonce).into(), aad, buffer.as_mut_slice().into())
        .map_err(|_| Error::EncryptionFailed)?;
    buffer.extend_from_slice(&tag);
    Ok(buffer)
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
    /// The bytes the ciphertexts authenticate: everything before the sealed section.
    fn header_and_entries(&self) -> Writer {
        let mut w = Writer::with_capacity(64 + self.entries.len() * 90);
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
            entry.encode(&mut w);
        }
        w
    }

    /// `version | kind 5 | device_id 16 | input_index u64 | block_timestamp u64 | era u32 |
    /// position u64 | previous_input (present u8, u64) | entry count varint | entries |
    /// odometer ciphertext (varint length, bytes) | detail ciphertext (varint length, bytes)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.header_and_entries();
        w.var_bytes(&self.sealed.odometer)
            .var_bytes(&self.sealed.detail);
        w.finish()
    }

    /// Decodes a history notice.
    pub fn decode(payload: &[u8]) -> Result<Self> {
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
        for _ in 0..count {
            entries.push(HistoryEntry::decode(&mut r)?);
        }
        // Bounded by what remains (a length past the end is `truncated`).
        let odometer = r.var_bytes(usize::MAX)?.to_vec();
        let detail = r.var_bytes(usize::MAX)?.to_vec();
        r.finish()?;
        Ok(Self {
            device_id,
            input_index,
            block_timestamp,
            era,
            position,
            previous_input: has_previous.then_some(previous),
            entries,
            sealed: SealedValues { odometer, detail },
        })
    }

    /// Counters of the reading entries, in order.
    pub fn reading_counters(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.iter().filter_map(|e| match e {
            HistoryEntry::Reading { counter, .. } => Some(*counter),
            _ => None,
        })
    }

    /// Seals the readings' values (one per reading entry, in order) under the era's keys
    /// and stores them in `self.sealed`. Nonces are the input index and the part (0 for
    /// odometer, 1 for detail): a device has at most one notice per era and input.
    pub fn seal_values(
        &mut self,
        odometer_key: &[u8; 32],
        detail_key: &[u8; 32],
        values: &[([u8; 32], &Reading)],
    ) -> Result<()> {
        if values.is_empty() {
            self.sealed = SealedValues::default();
            return Ok(());
        }
        let mut odometer = Writer::with_capacity(12 * values.len());
        let mut detail = Writer::with_capacity(values.len() * (32 + Reading::STANDALONE_FIXED_LEN));
        for (blinding, reading) in values {
            odometer
                .u32(reading.timestamp / SECONDS_PER_DAY)
                .u64(reading.odometer_m);
            detail.bytes(blinding);
            reading.encode_standalone(&mut detail)?;
        }
        let aad = self.header_and_entries().finish();
        self.sealed = SealedValues {
            odometer: seal(
                odometer_key,
                &nonce(self.input_index, 0),
                &aad,
                odometer.finish(),
            )?,
            detail: seal(
                detail_key,
                &nonce(self.input_index, 1),
                &aad,
                detail.finish(),
            )?,
        };
        Ok(())
    }

    /// Opens the readings' values with the era's odometer key and, if given, its detail key.
    /// With the detail key every opened reading is also checked against its commitment.
    pub fn open_values(
        &self,
        odometer_key: &[u8; 32],
        detail_key: Option<&[u8; 32]>,
    ) -> Result<Vec<OpenedValue>> {
        let counters: Vec<(u64, Commitment)> = self
            .entries
            .iter()
            .filter_map(|e| match e {
                HistoryEntry::Reading {
                    counter,
                    commitment,
                    ..
                } => Some((*counter, *commitment)),
                _ => None,
            })
            .collect();
        if counters.is_empty() {
            return if self.sealed == SealedValues::default() {
                Ok(Vec::new())
            } else {
                Err(Error::MalformedPlaintext)
            };
        }
        let aad = self.header_and_entries().finish();
        let odometer = open(
            odometer_key,
            &nonce(self.input_index, 0),
            &aad,
            &self.sealed.odometer,
        )?;
        if odometer.len() != 12 * counters.len() {
            return Err(Error::MalformedPlaintext);
        }
        let details = match detail_key {
            Some(key) => {
                let plain = open(key, &nonce(self.input_index, 1), &aad, &self.sealed.detail)?;
                let mut r = Reader::new(&plain);
                let mut out = Vec::with_capacity(counters.len());
                for _ in &counters {
                    let blinding: [u8; 32] = r.array().map_err(|_| Error::MalformedPlaintext)?;
                    let reading = Reading::decode_standalone(&mut r)
                        .map_err(|_| Error::MalformedPlaintext)?;
                    out.push((blinding, reading));
                }
                r.finish().map_err(|_| Error::MalformedPlaintext)?;
                Some(out)
            }
            None => None,
        };
        let mut r = Reader::new(&odometer);
        let mut values = Vec::with_capacity(counters.len());
        for (k, (counter, commitment)) in counters.iter().enumerate() {
            let day = r.u32()?;
            let odometer_m = r.u64()?;
            let detail = match &details {
                Some(details) => {
                    let (blinding, reading) = details[k].clone();
                    let opening = crate::commitment::Opening {
                        device_id: self.device_id,
                        counter: *counter,
                        blinding,
                        reading: reading.clone(),
                    };
                    opening.verify(commitment)?;
                    if reading.odometer_m != odometer_m
                        || reading.timestamp / SECONDS_PER_DAY != day
                    {
                        return Err(Error::MalformedPlaintext);
                    }
                    Some((blinding, reading))
                }
                None => None,
            };
            values.push(OpenedValue {
                counter: *counter,
                day,
                odometer_m,
                detail,
            });
        }
        Ok(values)
    }
}
