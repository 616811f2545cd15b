//! Identifiers and keys. Secret keys zeroize on drop and never print their bytes.

use core::fmt;

use ed25519_dalek::Signer as _;
use hpke::{Deserializable as _, Kem as _, Serializable as _};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hpke_receiver::Receiver;

/// The HPKE KEM of suite 1: DHKEM(X25519, HKDF-SHA256).
pub(crate) type Kem = hpke::kem::X25519HkdfSha256;

/// A device's identifier: 16 random bytes chosen at manufacture.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub [u8; 16]);

impl DeviceId {
    /// Size in bytes.
    pub const LEN: usize = 16;

    /// A fresh random id.
    pub fn random(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses 32 hex digits.
    pub fn from_hex(text: &str) -> Result<Self> {
        crate::codec::parse_hex_array(text)
            .map(Self)
            .ok_or(Error::InvalidField)
    }

    /// Lowercase hex without prefix.
    pub fn to_hex(&self) -> alloc::string::String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.to_hex())
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Tag of a vehicle commitment.
pub const VEHICLE_TAG: &[u8] = b"witness/v2/vehicle";

/// A vehicle, by a hiding commitment to its VIN: `SHA-256(VEHICLE_TAG ‖ salt (32) ‖ VIN (17
/// ASCII))` (PROTOCOL.md 4). The manufacturer draws the salt and hands it to the owner with the
/// car's papers; only who holds the VIN and the salt can tell which car a leaf is about, and
/// the VIN never appears in public data.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VehicleId(pub [u8; 32]);

impl VehicleId {
    /// The commitment to `vin` under `salt`. A VIN is 17 characters of ISO 3779: digits and
    /// capital letters except I, O and Q (`invalid_field` otherwise; lower case is refused,
    /// not folded, so that one VIN has one commitment).
    pub fn commit(vin: &str, salt: &[u8; 32]) -> Result<Self> {
        use sha2::{Digest as _, Sha256};
        let valid = |c: u8| c.is_ascii_digit() || (c.is_ascii_uppercase() && !b"IOQ".contains(&c));
        if vin.len() != 17 || !vin.bytes().all(valid) {
            return Err(Error::InvalidField);
        }
        let mut h = Sha256::new();
        h.update(VEHICLE_TAG);
        h.update(salt);
        h.update(vin.as_bytes());
        Ok(Self(h.finalize().into()))
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self> {
        crate::codec::parse_hex_array(text)
            .map(Self)
            .ok_or(Error::InvalidField)
    }

    /// Lowercase hex without prefix.
    pub fn to_hex(&self) -> alloc::string::String {
        hex::encode(self.0)
    }
}

/// What opens a [`VehicleId`]: the VIN and the salt. The owner keeps it with the car's
/// papers and gives it to a buyer, who checks it against the VIN plate and the leaf.
#[derive(Clone, PartialEq, Eq)]
pub struct VehicleIdentity {
    /// The VIN, 17 characters of ISO 3779.
    pub vin: alloc::string::String,
    /// The commitment's salt.
    pub salt: [u8; 32],
}

/// The 33 characters a VIN may use (ISO 3779: no I, O, Q).
const VIN_ALPHABET: &[u8; 33] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

impl VehicleIdentity {
    /// The commitment (`invalid_field` for a VIN that is not one).
    pub fn id(&self) -> Result<VehicleId> {
        VehicleId::commit(&self.vin, &self.salt)
    }

    /// A made-up vehicle for simulations and tests, from `seed`: manufacturer code `WTN`
    /// (unassigned), 14 characters and the salt drawn from SHA-256 of the seed.
    pub fn simulated(seed: &[u8]) -> Self {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::new()
            .chain_update(b"witness simulated vehicle")
            .chain_update(seed)
            .finalize();
        let mut vin = alloc::string::String::from("WTN");
        vin.extend(
            digest[..14]
                .iter()
                .map(|b| char::from(VIN_ALPHABET[usize::from(*b) % VIN_ALPHABET.len()])),
        );
        let salt = Sha256::new()
            .chain_update(b"witness simulated vehicle salt")
            .chain_update(seed)
            .finalize()
            .into();
        Self { vin, salt }
    }
}

impl fmt::Debug for VehicleIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The salt is what keeps the commitment hiding: not printed.
        write!(f, "VehicleIdentity({})", self.vin)
    }
}

impl fmt::Debug for VehicleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VehicleId({})", self.to_hex())
    }
}

/// A vehicle or meter model, assigned by the registrar's catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelId(pub u32);

/// An Ed25519 public key (RFC 8032) of a device, registrar or owner.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Size in bytes.
    pub const LEN: usize = 32;

    /// Parses a compressed Edwards point; rejects invalid and small-order (weak) keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidPublicKey)?;
        // Reject small-order keys and non-canonical encodings (y >= p), as RFC 8032
        // decoding does, so every implementation accepts exactly the same keys.
        if key.is_weak() || key.to_edwards().compress().to_bytes() != *bytes {
            return Err(Error::InvalidPublicKey);
        }
        Ok(Self(key))
    }

    /// Decompresses a key that [`PublicKey::from_bytes`] accepted before (a key the backend
    /// stored as bytes at registration): the point decompression only, without the
    /// canonical-encoding and small-order checks, which cost a second field exponentiation.
    /// Kept keys are stored compressed (32 instead of 192 bytes per device), so this runs once
    /// per envelope inside the machine. Bytes that never passed `from_bytes` must not come here.
    pub fn from_checked_bytes(bytes: &[u8; 32]) -> Result<Self> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidPublicKey)
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Verifies `signature` over `message` with the strict rules of RFC 8032 (canonical S,
    /// no small-order components), so a signature has exactly one accepted encoding.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| Error::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.to_bytes()))
    }
}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.to_bytes().hash(state);
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.to_bytes().cmp(&other.to_bytes())
    }
}

/// A 64-byte Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Size in bytes.
    pub const LEN: usize = 64;
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// An Ed25519 signing key (device, registrar or owner). Zeroized on drop; Debug shows only
/// the public key.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh random key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The key from its 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed. Handle with care: this is the secret.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message` (pure Ed25519).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// The rollup backend's X25519 public key, to which devices seal readings.
#[derive(Clone, PartialEq, Eq)]
pub struct BackendPublicKey(<Kem as hpke::Kem>::PublicKey);

impl BackendPublicKey {
    /// Size in bytes.
    pub const LEN: usize = 32;

    /// Parses a 32-byte X25519 public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidPublicKey)
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.0.to_bytes());
        out
    }

    pub(crate) fn inner(&self) -> &<Kem as hpke::Kem>::PublicKey {
        &self.0
    }
}

impl fmt::Debug for BackendPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackendPublicKey({})", hex::encode(self.to_bytes()))
    }
}

/// The deployment a signature belongs to (docs/PROTOCOL.md 3.5): the chain, the application
/// contract on it, and the backend key inside the application. Every signature of protocol
/// version 2 covers its 60 bytes, so a message signed for one deployment (a testnet sharing
/// keys with production, two applications on one backend key) is refused by every other. The
/// bytes are never on chain: each party knows its deployment, and the backend reads it from
/// the input's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The application contract's address.
    pub application: [u8; 20],
    /// The backend's HPKE key.
    pub backend_key: BackendPublicKey,
}

impl Domain {
    /// Size of [`Self::to_bytes`].
    pub const LEN: usize = 8 + 20 + BackendPublicKey::LEN;

    /// From the forms configuration files use: the application and the backend key as hex
    /// (with or without `0x`). A wrong length or a bad key is `invalid_field` /
    /// `invalid_public_key`.
    pub fn from_hex(chain_id: u64, application: &str, backend_key: &str) -> Result<Self> {
        use crate::codec::parse_hex_array;
        Ok(Self {
            chain_id,
            application: parse_hex_array(application).ok_or(Error::InvalidField)?,
            backend_key: BackendPublicKey::from_bytes(
                &parse_hex_array(backend_key).ok_or(Error::InvalidField)?,
            )?,
        })
    }

    /// `chain_id (u64) ‖ application (20) ‖ backend key (32)`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..8].copy_from_slice(&self.chain_id.to_be_bytes());
        out[8..28].copy_from_slice(&self.application);
        out[28..].copy_from_slice(&self.backend_key.to_bytes());
        out
    }
}

/// The rollup backend's X25519 secret key. Whoever holds it can read every reading.
pub struct BackendSecretKey {
    /// The clamped X25519 scalar (RFC 9180 `SerializePrivateKey`).
    scalar: Zeroizing<[u8; 32]>,
    public: BackendPublicKey,
}

impl BackendSecretKey {
    /// A fresh random key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut());
        Self::derive(bytes.as_ref())
    }

    /// Derives a key pair from input keying material (RFC 9180 DeriveKeyPair).
    pub fn derive(ikm: &[u8]) -> Self {
        let (secret, public) = Kem::derive_keypair(ikm);
        Self::from_parts(secret, BackendPublicKey(public))
    }

    /// Parses a 32-byte X25519 secret scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let secret =
            <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes).map_err(|_| Error::InvalidField)?;
        let public = BackendPublicKey(Kem::sk_to_pk(&secret));
        Ok(Self::from_parts(secret, public))
    }

    fn from_parts(secret: <Kem as hpke::Kem>::PrivateKey, public: BackendPublicKey) -> Self {
        let mut scalar = Zeroizing::new([0u8; 32]);
        scalar.copy_from_slice(&secret.to_bytes());
        Self { scalar, public }
    }

    /// The 32 secret bytes. Handle with care.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.scalar.clone()
    }

    /// The matching public key.
    pub fn public_key(&self) -> &BackendPublicKey {
        &self.public
    }

    /// HPKE `SetupBaseR` for `enc` and `info`, with this key pair (see [`Receiver`]).
    pub(crate) fn receiver(&self, enc: &[u8], info: &[u8]) -> Result<Receiver> {
        let enc: &[u8; 32] = enc.try_into().map_err(|_| Error::DecryptionFailed)?;
        Receiver::setup_base(&self.scalar, &self.public.to_bytes(), enc, info)
            .map_err(|_| Error::DecryptionFailed)
    }
}

impl fmt::Debug for BackendSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendSecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
