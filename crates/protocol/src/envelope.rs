//! Sealed envelopes: one or more consecutive readings of one device, encrypted to the
//! rollup backend with HPKE and signed by the device.

use alloc::vec::Vec;

use hpke::{OpModeS, Serializable as _};
use rand_core::CryptoRng;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::commitment::{Commitment, CommitmentKey};
use crate::error::{Error, Result};
use crate::keys::{BackendSecretKey, DeviceId, Domain, Kem, PublicKey, Signature, SigningKey};
use crate::reading::{Reading, pack_readings, unpack_readings};

/// Envelope format version.
pub const ENVELOPE_VERSION: u8 = 2;
/// Suite 1: Ed25519 signatures; HPKE base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
/// ChaCha20-Poly1305.
pub const SUITE_ED25519_X25519_CHACHA: u8 = 1;
/// Most readings one envelope may carry.
pub const MAX_READINGS_PER_ENVELOPE: usize = 64;
/// HPKE `info` for envelopes.
pub const HPKE_INFO: &[u8] = b"witness/v1/hpke";
/// Domain-separation tag prefixed to the bytes a device signs for an envelope.
pub const ENVELOPE_SIGNING_TAG: &[u8] = b"witness/v2/envelope";
/// Most counters a device may skip between two accepted envelopes (section 6.2): readings
/// lost on the way are skipped, but a key holder cannot jump the counter near 2^64 and so
/// end the device's life; reaching the end takes at least 2^40 envelopes.
pub const MAX_COUNTER_GAP: u64 = 1 << 24;

/// How an envelope's first counter stands to the device's last accepted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterStep {
    /// Above the last, skipping at most [`MAX_COUNTER_GAP`] counters.
    Fresh,
    /// Not above the last: a replay, a reordering or a clone.
    Stale,
    /// Skips more than [`MAX_COUNTER_GAP`] counters.
    Jump,
}

impl CounterStep {
    /// The step from `last` (`None`: nothing accepted yet, the next counter is 0) to
    /// `counter`.
    pub fn of(last: Option<u64>, counter: u64) -> Self {
        let next = match last {
            None => 0,
            Some(last) if counter <= last => return Self::Stale,
            // last < counter <= u64::MAX, so last + 1 does not overflow.
            Some(last) => last + 1,
        };
        if counter - next > MAX_COUNTER_GAP {
            Self::Jump
        } else {
            Self::Fresh
        }
    }
}

/// Size of the HPKE encapsulated key.
pub const ENC_LEN: usize = 32;
/// Size of the AEAD tag at the end of the ciphertext.
pub const AEAD_TAG_LEN: usize = 16;
/// Largest ciphertext (bounded so an envelope always fits one rollup input).
pub const MAX_CIPHERTEXT_LEN: usize = 16_384;

type Aead = hpke::aead::ChaCha20Poly1305;
type Kdf = hpke::kdf::HkdfSha256;

/// The public, authenticated part of an envelope: the HPKE AAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Envelope format version ([`ENVELOPE_VERSION`]).
    pub version: u8,
    /// Cipher suite ([`SUITE_ED25519_X25519_CHACHA`]).
    pub suite: u8,
    /// The sealing device.
    pub device_id: DeviceId,
    /// Counter of the first reading; reading `i` has counter `counter + i`.
    pub counter: u64,
    /// Device time of the first reading (seconds since the Unix epoch).
    pub timestamp: u32,
    /// Number of readings, 1..=[`MAX_READINGS_PER_ENVELOPE`].
    pub reading_count: u8,
    /// Length of the ciphertext, AEAD tag included.
    pub ciphertext_len: u16,
}

impl Header {
    /// Encoded size.
    pub const LEN: usize = 33;

    /// The 33 header bytes (big-endian integers).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = self.version;
        out[1] = self.suite;
        out[2..18].copy_from_slice(&self.device_id.0);
        out[18..26].copy_from_slice(&self.counter.to_be_bytes());
        out[26..30].copy_from_slice(&self.timestamp.to_be_bytes());
        out[30] = self.reading_count;
        out[31..33].copy_from_slice(&self.ciphertext_len.to_be_bytes());
        out
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let version = r.u8()?;
        if version != ENVELOPE_VERSION {
            return Err(Error::UnsupportedVersion);
        }
        let suite = r.u8()?;
        if suite != SUITE_ED25519_X25519_CHACHA {
            return Err(Error::UnsupportedSuite);
        }
        let header = Self {
            version,
            suite,
            device_id: DeviceId(r.array()?),
            counter: r.u64()?,
            timestamp: r.u32()?,
            reading_count: r.u8()?,
            ciphertext_len: r.u16()?,
        };
        let count = usize::from(header.reading_count);
        if count == 0 {
            return Err(Error::InvalidField);
        }
        if count > MAX_READINGS_PER_ENVELOPE
            || usize::from(header.ciphertext_len) > MAX_CIPHERTEXT_LEN
        {
            return Err(Error::Oversize);
        }
        if usize::from(header.ciphertext_len) <= AEAD_TAG_LEN {
            return Err(Error::InvalidField);
        }
        // The last reading's counter must exist.
        header.last_counter().ok_or(Error::InvalidField)?;
        Ok(header)
    }

    /// Counter of the last reading, or `None` on overflow.
    pub fn last_counter(&self) -> Option<u64> {
        self.counter.checked_add(u64::from(self.reading_count) - 1)
    }
}

/// A sealed envelope, kept as its exact bytes with the parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    header: Header,
    bytes: Vec<u8>,
}

/// What the device keeps after sealing: the envelope and the secret that opens its
/// commitments later.
#[derive(Debug)]
pub struct Sealed {
    /// The envelope to send.
    pub envelope: Envelope,
    /// Per-envelope commitment key (HPKE exporter output).
    pub commitment_key: CommitmentKey,
}

/// What the backend learns from a valid envelope.
#[derive(Debug)]
pub struct Opened {
    /// The readings, in counter order.
    pub readings: Vec<Reading>,
    /// The hiding commitment of each reading.
    pub commitments: Vec<Commitment>,
    /// Per-envelope commitment key (HPKE exporter output): each reading's blinding derives
    /// from it (section 7.2).
    pub commitment_key: CommitmentKey,
}

impl Envelope {
    /// Offset of the encapsulated key in the envelope.
    pub const ENC_OFFSET: usize = Header::LEN;
    /// Offset of the ciphertext in the envelope.
    pub const CIPHERTEXT_OFFSET: usize = Header::LEN + ENC_LEN;
    /// Envelope size minus the ciphertext.
    pub const OVERHEAD: usize = Header::LEN + ENC_LEN + Signature::LEN;

    /// Seals `readings` (consecutive counters from `counter`) for the backend.
    pub fn seal(
        device_key: &SigningKey,
        domain: &Domain,
        device_id: DeviceId,
        counter: u64,
        readings: &[Reading],
        rng: &mut impl CryptoRng,
    ) -> Result<Sealed> {
        let first = readings.first().ok_or(Error::InvalidField)?;
        if readings.len() > MAX_READINGS_PER_ENVELOPE {
            return Err(Error::Oversize);
        }
        let plaintext = Zeroizing::new(pack_readings(readings)?);
        let ciphertext_len = plaintext.len() + AEAD_TAG_LEN;
        if ciphertext_len > MAX_CIPHERTEXT_LEN {
            return Err(Error::Oversize);
        }
        let header = Header {
            version: ENVELOPE_VERSION,
            suite: SUITE_ED25519_X25519_CHACHA,
            device_id,
            counter,
            timestamp: first.timestamp,
            reading_count: readings.len() as u8,
            ciphertext_len: ciphertext_len as u16,
        };
        header.last_counter().ok_or(Error::InvalidField)?;
        let aad = header.to_bytes();
        let (enc, mut ctx) = hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(
            &OpModeS::Base,
            domain.backend_key.inner(),
            HPKE_INFO,
            rng,
        )
        .map_err(|_| Error::EncryptionFailed)?;
        let ciphertext = ctx
            .seal(&plaintext, &aad)
            .map_err(|_| Error::EncryptionFailed)?;
        let commitment_key = CommitmentKey::export(|label, out| ctx.export(label, out))?;

        let mut w = Writer::with_capacity(Self::OVERHEAD + ciphertext.len());
        w.bytes(&aad).bytes(&enc.to_bytes()).bytes(&ciphertext);
        let body = w.finish();
        let signature = device_key.sign(&signing_message(domain, &body));
        let mut bytes = body;
        bytes.extend_from_slice(&signature.0);
        Ok(Sealed {
            envelope: Self { header, bytes },
            commitment_key,
        })
    }

    /// Reads one envelope from the front of `r` (envelopes are self-delimiting).
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.position();
        let header = Header::decode(r)?;
        r.take(ENC_LEN + usize::from(header.ciphertext_len) + Signature::LEN)?;
        Ok(Self {
            header,
            bytes: r.since(start).to_vec(),
        })
    }

    /// Decodes exactly one envelope; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let envelope = Self::read(&mut r)?;
        r.finish()?;
        Ok(envelope)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The exact envelope bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The HPKE encapsulated key.
    pub fn enc(&self) -> &[u8] {
        &self.bytes[Self::ENC_OFFSET..Self::CIPHERTEXT_OFFSET]
    }

    /// The ciphertext, AEAD tag included.
    pub fn ciphertext(&self) -> &[u8] {
        &self.bytes[Self::CIPHERTEXT_OFFSET..self.signature_offset()]
    }

    /// The device's signature.
    pub fn signature(&self) -> Signature {
        let mut out = [0u8; 64];
        out.copy_from_slice(&self.bytes[self.signature_offset()..]);
        Signature(out)
    }

    fn signature_offset(&self) -> usize {
        self.bytes.len() - Signature::LEN
    }

    /// Exactly the bytes the device signs: the tag, the domain, then header, enc and
    /// ciphertext.
    pub fn signed_message(&self, domain: &Domain) -> Vec<u8> {
        signing_message(domain, &self.bytes[..self.signature_offset()])
    }

    /// SHA-256 of the envelope bytes: the receipt and the id of the envelope everywhere.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }

    /// Checks the device's signature. Needs only the device's public key and the deployment,
    /// so the gateway can authenticate an envelope it cannot read.
    pub fn verify_signature(&self, device_key: &PublicKey, domain: &Domain) -> Result<()> {
        device_key.verify(&self.signed_message(domain), &self.signature())
    }

    /// Decrypts with the backend key, without checking the signature (see [`Self::open`]).
    pub fn decrypt(&self, backend_key: &BackendSecretKey) -> Result<Opened> {
        let ctx = backend_key.receiver(self.enc(), HPKE_INFO)?;
        let plaintext = ctx
            .open_first(&self.header.to_bytes(), self.ciphertext())
            .map_err(|_| Error::DecryptionFailed)?;
        let readings = unpack_readings(
            &plaintext,
            usize::from(self.header.reading_count),
            self.header.timestamp,
        )?;
        let commitment_key = CommitmentKey::export(|label, out| ctx.export(label, out))?;
        let mut commitments = Vec::with_capacity(readings.len());
        for (i, reading) in readings.iter().enumerate() {
            let counter = self.header.counter + i as u64;
            commitments.push(commitment_key.commit(self.header.device_id, counter, reading)?);
        }
        Ok(Opened {
            readings,
            commitments,
            commitment_key,
        })
    }

    /// Verifies the signature under `device_key` for `domain`, then decrypts.
    pub fn open(
        &self,
        device_key: &PublicKey,
        domain: &Domain,
        backend_key: &BackendSecretKey,
    ) -> Result<Opened> {
        self.verify_signature(device_key, domain)?;
        self.decrypt(backend_key)
    }
}

fn signing_message(domain: &Domain, body: &[u8]) -> Vec<u8> {
    crate::messages::signed_bytes(ENVELOPE_SIGNING_TAG, domain, body)
}
