//! Secrets of a local deployment, kept in `<data-dir>/keys.json` (mode 0600): the backend's
//! HPKE key (baked into the machine image in production), the root registrar's key, and the
//! demo accounts' password.

use std::path::Path;

use serde::{Deserialize, Serialize};
use witness_protocol::{BackendSecretKey, SigningKey};

#[derive(Serialize, Deserialize)]
struct KeysFile {
    backend_secret_key: String,
    registrar_seed: String,
    demo_password: String,
}

/// The loaded secrets.
pub(crate) struct LocalKeys {
    pub(crate) backend: BackendSecretKey,
    pub(crate) registrar: SigningKey,
    pub(crate) demo_password: String,
}

/// 32 bytes from the OS's randomness.
pub(crate) fn random_bytes() -> Result<[u8; 32], String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(bytes)
}

fn hex32(text: &str, what: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| format!("keys.json: {what} is not 32 bytes of hex"))?;
    Ok(out)
}

impl LocalKeys {
    /// Loads the secrets, creating them on first use.
    pub(crate) fn load_or_create(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join("keys.json");
        if !path.exists() {
            let file = KeysFile {
                backend_secret_key: hex::encode(
                    *BackendSecretKey::derive(&random_bytes()?).to_bytes(),
                ),
                registrar_seed: hex::encode(random_bytes()?),
                demo_password: format!("witness-{}", &hex::encode(random_bytes()?)[..12]),
            };
            let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
            write_private(&path, text.as_bytes())?;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: KeysFile =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let backend =
            BackendSecretKey::from_bytes(&hex32(&file.backend_secret_key, "backend_secret_key")?)
                .map_err(|e| format!("keys.json: backend_secret_key: {e}"))?;
        Ok(Self {
            backend,
            registrar: SigningKey::from_seed(&hex32(&file.registrar_seed, "registrar_seed")?),
            demo_password: file.demo_password,
        })
    }
}

/// A new Ed25519 key (a device's, an owner's): its seed, in hex, goes to a new file only its
/// owner can read.
pub(crate) fn new_key_file(path: &Path) -> Result<SigningKey, String> {
    let seed = random_bytes()?;
    write_private(path, hex::encode(seed).as_bytes())?;
    Ok(SigningKey::from_seed(&seed))
}

/// The Ed25519 key of a key file ([`new_key_file`]).
pub(crate) fn read_key_file(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|_| format!("{}: not a key (32 bytes of hex)", path.display()))?;
    Ok(SigningKey::from_seed(&seed))
}

/// Writes `bytes` to a new file only its owner can read (mode 0600), synced.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}
