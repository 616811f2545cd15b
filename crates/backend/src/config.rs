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

    /// Reads the [`env`] variables from the process environment: [`env::ADMIN_ADDRESS`],
    /// [`env::ROOT_REGISTRARS`] and [`env::BACKEND_SECRET_KEY`] must be set, the others
    /// default.
    pub fn from_env() -> Result<Self, BackendError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] with the variables looked up by `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, BackendError> {
        let required = |name: &str| {
            var(name).ok_or_else(|| BackendError::Config(format!("{name} is not set")))
        };
        let admin = parse_address(&required(env::ADMIN_ADDRESS)?)?;
        let registrars = required(env::ROOT_REGISTRARS)?
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_public_key(s.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let secret = parse_hex32(&required(env::BACKEND_SECRET_KEY)?, env::BACKEND_SECRET_KEY)?;
        let backend_key = BackendSecretKey::from_bytes(&secret)
            .map_err(|e| BackendError::Config(format!("{}: {e}", env::BACKEND_SECRET_KEY)))?;
        let mut config = Self::new(admin, registrars, backend_key);
        let number = |name: &str, default: u64| -> Result<u64, BackendError> {
            match var(name) {
                Some(text) => text
                    .parse()
                    .map_err(|_| BackendError::Config(format!("{name}: not a number"))),
                None => Ok(default),
            }
        };
        config.max_future_skew_s = number(env::MAX_FUTURE_SKEW_S, config.max_future_skew_s)?;
        config.max_age_s = number(env::MAX_AGE_S, config.max_age_s)?;
        config.k_anonymity = number(env::K_ANONYMITY, config.k_anonymity as u64)? as usize;
        config.proof_retention_blocks =
            number(env::PROOF_RETENTION_BLOCKS, config.proof_retention_blocks)?;
        Ok(config)
    }

    /// The environment that makes [`Config::from_env`] read this configuration back: what
    /// every launcher of the backend gives it. An optional setting left at its default is not
    /// set, so one inherited from the launcher's own environment still applies. (The model
    /// catalogue and the proof freshness are not read from the environment.)
    pub fn to_env(&self) -> Vec<(String, String)> {
        let registrars = self
            .root_registrars
            .iter()
            .map(|key| hex::encode(key.to_bytes()))
            .collect::<Vec<_>>()
            .join(",");
        let mut vars = vec![
            (env::ADMIN_ADDRESS, format!("0x{}", hex::encode(self.admin))),
            (env::ROOT_REGISTRARS, registrars),
            (
                env::BACKEND_SECRET_KEY,
                hex::encode(*self.backend_key.to_bytes()),
            ),
        ];
        let optional = [
            (
                env::MAX_FUTURE_SKEW_S,
                self.max_future_skew_s,
                DEFAULT_MAX_FUTURE_SKEW_S,
            ),
            (env::MAX_AGE_S, self.max_age_s, DEFAULT_MAX_AGE_S),
            (
                env::K_ANONYMITY,
                self.k_anonymity as u64,
                DEFAULT_K_ANONYMITY as u64,
            ),
            (
                env::PROOF_RETENTION_BLOCKS,
                self.proof_retention_blocks,
                DEFAULT_PROOF_RETENTION_BLOCKS,
            ),
        ];
        for (name, value, default) in optional {
            if value != default {
                vars.push((name, value.to_string()));
            }
        }
        vars.into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }
}

/// The names of the environment variables the backend is configured with ([`Config::from_env`],
/// [`Config::to_env`]).
pub mod env {
    /// The application admin's address, 0x-hex.
    pub const ADMIN_ADDRESS: &str = "WITNESS_ADMIN_ADDRESS";
    /// The root registrars' Ed25519 public keys, hex, comma-separated.
    pub const ROOT_REGISTRARS: &str = "WITNESS_ROOT_REGISTRARS";
    /// The backend's X25519 secret key, hex.
    pub const BACKEND_SECRET_KEY: &str = "WITNESS_BACKEND_SECRET_KEY";
    /// Optional, [`super::DEFAULT_MAX_FUTURE_SKEW_S`].
    pub const MAX_FUTURE_SKEW_S: &str = "WITNESS_MAX_FUTURE_SKEW_S";
    /// Optional, [`super::DEFAULT_MAX_AGE_S`].
    pub const MAX_AGE_S: &str = "WITNESS_MAX_AGE_S";
    /// Optional, [`super::DEFAULT_K_ANONYMITY`].
    pub const K_ANONYMITY: &str = "WITNESS_K_ANONYMITY";
    /// Optional, [`super::DEFAULT_PROOF_RETENTION_BLOCKS`].
    pub const PROOF_RETENTION_BLOCKS: &str = "WITNESS_PROOF_RETENTION_BLOCKS";
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

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use witness_protocol::SigningKey;

    use super::*;

    #[test]
    fn to_env_reads_back() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let registrars = vec![
            SigningKey::generate(&mut rng).public_key(),
            SigningKey::generate(&mut rng).public_key(),
        ];
        let mut config = Config::new([7; 20], registrars, BackendSecretKey::generate(&mut rng));
        config.k_anonymity = 2;
        let vars = config.to_env();
        assert_eq!(vars.len(), 4, "{vars:?}");
        let lookup = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let back = Config::from_vars(lookup).unwrap();
        assert_eq!(back.admin, config.admin);
        assert_eq!(back.root_registrars, config.root_registrars);
        assert_eq!(*back.backend_key.to_bytes(), *config.backend_key.to_bytes());
        assert_eq!(
            (back.k_anonymity, back.max_age_s, back.max_future_skew_s),
            (2, DEFAULT_MAX_AGE_S, DEFAULT_MAX_FUTURE_SKEW_S)
        );
        assert_eq!(back.proof_retention_blocks, DEFAULT_PROOF_RETENTION_BLOCKS);
    }
}
