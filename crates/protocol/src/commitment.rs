//! Hiding commitments to readings. The backend publishes them in notices; the device (which
//! shares the per-envelope key) can later open any one reading to a verifier.

use core::fmt;

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::keys::DeviceId;
use crate::reading::Reading;

/// HPKE exporter context for the per-envelope commitment key.
pub const COMMITMENT_EXPORTER_CONTEXT: &[u8] = b"witness/v1/commitment";
/// Prefix of the per-reading blinding hash.
pub const BLINDING_TAG: &[u8] = b"witness/v1/blinding";
/// Prefix of the commitment hash.
pub const COMMITMENT_TAG: &[u8] = b"witness/v1/commit";

/// A 32-byte commitment to one reading.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Commitment(pub [u8; 32]);

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({})", hex::encode(self.0))
    }
}

/// The per-envelope secret both device and backend derive from the HPKE context
/// (`Export(exporter_context, 32)`); nobody else can.
#[derive(Clone, PartialEq, Eq)]
pub struct CommitmentKey(Zeroizing<[u8; 32]>);

impl CommitmentKey {
    pub(crate) fn export<E>(
        export: impl FnOnce(&[u8], &mut [u8]) -> Result<(), E>,
    ) -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        export(COMMITMENT_EXPORTER_CONTEXT, key.as_mut()).map_err(|_| Error::EncryptionFailed)?;
        Ok(Self(key))
    }

    /// Restores a key the device stored.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret bytes (the device stores them to open commitments later).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.0.clone()
    }

    /// The secret bytes, borrowed (the backend seals them in the history notice's detail
    /// part, section 16.4).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Blinding of the reading with `counter`:
    /// `SHA-256(BLINDING_TAG ‖ key ‖ counter u64 BE)`.
    pub fn blinding(&self, counter: u64) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(BLINDING_TAG);
        h.update(self.0.as_ref());
        h.update(counter.to_be_bytes());
        h.finalize().into()
    }

    /// Commitment to `reading` with `counter` of `device_id`.
    pub fn commit(
        &self,
        device_id: DeviceId,
        counter: u64,
        reading: &Reading,
    ) -> Result<Commitment> {
        commitment_of(device_id, counter, &self.blinding(counter), reading)
    }

    /// The opening a device hands a verifier for one reading.
    pub fn opening(&self, device_id: DeviceId, counter: u64, reading: Reading) -> Opening {
        Opening {
            device_id,
            counter,
            blinding: self.blinding(counter),
            reading,
        }
    }
}

impl fmt::Debug for CommitmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommitmentKey(..)")
    }
}

/// `SHA-256(COMMITMENT_TAG ‖ device_id ‖ counter u64 BE ‖ blinding ‖ standalone reading)`.
pub fn commitment_of(
    device_id: DeviceId,
    counter: u64,
    blinding: &[u8; 32],
    reading: &Reading,
) -> Result<Commitment> {
    let mut h = Sha256::new();
    h.update(COMMITMENT_TAG);
    h.update(device_id.0);
    h.update(counter.to_be_bytes());
    h.update(blinding);
    if reading.faults.len() > crate::reading::MAX_FAULTS_PER_READING {
        return Err(Error::Oversize);
    }
    // Fed field by field rather than through an encoded copy: one allocation less per
    // reading inside the machine; the bytes are the standalone encoding (5.2).
    h.update(reading.timestamp.to_be_bytes());
    h.update(reading.odometer_m.to_be_bytes());
    h.update(reading.fuel_ml.to_be_bytes());
    h.update(reading.engine_s.to_be_bytes());
    h.update([reading.faults.len() as u8]);
    for fault in &reading.faults {
        h.update(fault.0.to_be_bytes());
    }
    Ok(Commitment(h.finalize().into()))
}

/// Everything a verifier needs to check one reading against its published commitment.
/// Revealing one opening reveals nothing about other readings: each has its own blinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// The device.
    pub device_id: DeviceId,
    /// The reading's counter.
    pub counter: u64,
    /// The reading's blinding.
    pub blinding: [u8; 32],
    /// The reading.
    pub reading: Reading,
}

impl Opening {
    /// `SHA-256(COMMITMENT_TAG ‖ device_id ‖ counter u64 BE ‖ blinding ‖ standalone reading)`.
    pub fn commitment(&self) -> Result<Commitment> {
        commitment_of(self.device_id, self.counter, &self.blinding, &self.reading)
    }

    /// Succeeds when this opening matches `commitment`.
    pub fn verify(&self, commitment: &Commitment) -> Result<()> {
        if self.commitment()? == *commitment {
            Ok(())
        } else {
            Err(Error::CommitmentMismatch)
        }
    }

    /// `device_id 16 | counter u64 | blinding 32 | standalone reading`.
    pub fn encode(&self) -> Result<alloc::vec::Vec<u8>> {
        let mut w = Writer::with_capacity(56 + Reading::STANDALONE_FIXED_LEN);
        w.bytes(&self.device_id.0)
            .u64(self.counter)
            .bytes(&self.blinding);
        self.reading.encode_standalone(&mut w)?;
        Ok(w.finish())
    }

    /// Decodes an opening; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let opening = Self {
            device_id: DeviceId(r.array()?),
            counter: r.u64()?,
            blinding: r.array()?,
            reading: Reading::decode_standalone(&mut r)?,
        };
        r.finish()?;
        Ok(opening)
    }
}
