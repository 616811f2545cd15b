//! Configuration baked into the machine image: who administers the application, which
//! registrars are trusted from the start, and the backend's decryption key.

use std::collections::BTreeMap;

use witness_protocol::codec::parse_hex_array;
use witness_protocol::{BackendSecretKey, ModelId, PublicKey};

use crate::error::BackendError;

/// How far a device clock may run ahead of the block time, in seconds.
pub const DEFAULT_MAX_FUTURE_SKEW_S: u64 = 300;
/// How old a reading may be when it reaches the chain (devices buffer while offline).
pub const DEFAULT_MAX_AGE_S: u64 = 30 * 24 * 3600;
/// Smallest group published in statistics.
pub const DEFAULT_K_ANONYMITY: usize = 5;
/// How old a possession proof's reading may be, against the latest block time, to open a
/// device's history.
pub const DEFAULT_PROOF_FRESHNESS_S: u64 = 600;
/// How many blocks back the map keeps a version per input, so a device's leaf and path can
/// be proven as of the input a claim covers (docs/PROTOCOL.md 16.6). It must cover the
/// claim delay plus two epochs; 7,200 blocks is a day at 12 s, and the map also always keeps
/// the last `map::MIN_VERSIONS` inputs.
pub const DEFAULT_PROOF_RETENTION_BLOCKS: u64 = 7_200;

pub use witness_protocol::catalogue::Fuel;

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// Display name.
    pub name: String,
    /// Fuel.
    pub fuel: Fuel,
}

/// The model catalogue used by the mock fleet; deployments may replace it.
pub fn default_models() -> BTreeMap<ModelId, ModelInfo> {
    witness_protocol::catalogue::DEFAULT_MODELS
        .iter()
        .map(|m| {
            (
                m.id,
                ModelInfo {
                    name: m.name.into(),
                    fuel: m.fuel,
                },
            )
        })
        .collect()
}

/// Everything the backend is configured with.
#[derive(Debug)]
pub struct Config {
    /// The application admin: the only `msg_sender` that may (de)authorize gateways.
    pub admin: [u8; 20],
    /// Registrars trusted from genesis; only they may add or remove other registrars.
    pub root_registrars: Vec<PublicKey>,
    /// The backend's HPKE key.
    pub backend_key: BackendSecretKey,
    /// See [`DEFAULT_MAX_FUTURE_SKEW_S`].
    pub max_future_skew_s: u64,
    /// See [`DEFAULT_MAX_AGE_S`].
    pub max_age_s: u64,
    /// See [`DEFAULT_PROOF_FRESHNESS_S`].
    pub proof_freshness_s: u64,
    /// See [`DEFAULT_K_ANONYMITY`].
    pub k_anonymity: usize,
    /// Model catalogue.
    pub models: BTreeMap<ModelId, ModelInfo>,
    /// See [`DEFAULT_PROOF_RETENTION_BLOCKS`].
    pub proof_retention_blocks: u64,
}

impl Config {
    /// A configuration with the documented defaults.
    pub fn new(
        admin: [u8; 20],
        root_registrars: Vec<PublicKey>,
        backend_key: BackendSecretKey,
    ) -> Self {
        Self {
            admin,
            root_registrars,
            backend_key,
            max_future_skew_s: DEFAULT_MAX_FUTURE_SKEW_S,
            max_age_s: DEFAULT_MAX_AGE_S,
            proof_freshness_s: DEFAULT_PROOF_FRESHNESS_S,
            k_anonymity: DEFAULT_K_ANONYMITY,
            models: default_models(),
            proof_retention_blocks: DEFAULT_PROOF_RETENTION_BLOCKS,
        }
    }

    /// Reads `WITNESS_ADMIN_ADDRESS` (0x-hex), `WITNESS_ROOT_REGISTRARS` (comma-separated hex
    /// Ed25519 keys) and `WITNESS_BACKEND_SECRET_KEY` (hex X25519 secret), plus the optional
    /// `WITNESS_MAX_FUTURE_SKEW_S`, `WITNESS_MAX_AGE_S`, `WITNESS_K_ANONYMITY`,
    /// `WITNESS_PROOF_RETENTION_BLOCKS`.
    pub fn from_env() -> Result<Self, BackendError> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| BackendError::Config(format!("{name} is not set")))
        };
        let admin = parse_address(&var("WITNESS_ADMIN_ADDRESS")?)?;
        let registrars = var("WITNESS_ROOT_REGISTRARS")?
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_public_key(s.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let secret = parse_hex32(
            &var("WITNESS_BACKEND_SECRET_KEY")?,
            "WITNESS_BACKEND_SECRET_KEY",
        )?;
        let backend_key = BackendSecretKey::from_bytes(&secret)
            .map_err(|e| BackendError::Config(format!("WITNESS_BACKEND_SECRET_KEY: {e}")))?;
        let mut config = Self::new(admin, registrars, backend_key);
        let number = |name: &str, default: u64| -> Result<u64, BackendError> {
            match std::env::var(name) {
                Ok(text) => text
                    .parse()
                    .map_err(|_| BackendError::Config(format!("{name}: not a number"))),
                Err(_) => Ok(default),
            }
        };
        config.max_future_skew_s = number("WITNESS_MAX_FUTURE_SKEW_S", config.max_future_skew_s)?;
        config.max_age_s = number("WITNESS_MAX_AGE_S", config.max_age_s)?;
        config.k_anonymity = number("WITNESS_K_ANONYMITY", config.k_anonymity as u64)? as usize;
        config.proof_retention_blocks = number(
            "WITNESS_PROOF_RETENTION_BLOCKS",
            config.proof_retention_blocks,
        )?;
        Ok(config)
    }
}

fn parse_hex32(text: &str, what: &str) -> Result<[u8; 32], BackendError> {
    parse_hex_array(text)
        .ok_or_else(|| BackendError::Config(format!("{what}: expected 32 bytes of hex")))
}

/// Parses a 0x-prefixed (or bare) 20-byte hex address.
pub fn parse_address(text: &str) -> Result<[u8; 20], BackendError> {
    parse_hex_array(text)
        .ok_or_else(|| BackendError::Config(format!("not a 20-byte address: {text}")))
}

/// Parses a hex Ed25519 public key.
pub fn parse_public_key(text: &str) -> Result<PublicKey, BackendError> {
    PublicKey::from_bytes(&parse_hex32(text, "public key")?)
        .map_err(|e| BackendError::Config(format!("public key {text}: {e}")))
}
