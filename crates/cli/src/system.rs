//! What `witness up` writes for other commands and tests: where every part listens.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `<data-dir>/system.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SystemInfo {
    pub(crate) chain_rpc_url: String,
    pub(crate) chain_id: u64,
    pub(crate) application: String,
    pub(crate) input_box: String,
    pub(crate) node_inspect_url: String,
    pub(crate) node_rpc_url: String,
    pub(crate) gateway_url: String,
    pub(crate) local_link_url: String,
    pub(crate) backend_public_key: String,
    pub(crate) demo_user: String,
    pub(crate) demo_password: String,
    pub(crate) registrar_user: String,
    pub(crate) rolled_back_devices: Vec<String>,
    pub(crate) devices: usize,
}

impl SystemInfo {
    pub(crate) fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("system.json")
    }

    pub(crate) fn load(data_dir: &Path) -> Result<Self, String> {
        let path = Self::path(data_dir);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (is `witness up` running with this --data-dir?)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The deployment signatures are bound to: this chain, application and backend key.
    pub(crate) fn domain(&self) -> Result<witness_protocol::Domain, String> {
        witness_protocol::Domain::from_hex(
            self.chain_id,
            &self.application,
            &self.backend_public_key,
        )
        .map_err(|e| format!("system.json: the application or the backend key: {e}"))
    }

    pub(crate) fn save(&self, data_dir: &Path) -> Result<(), String> {
        let path = Self::path(data_dir);
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(|e| format!("{}: {e}", temporary.display()))?;
        std::fs::rename(&temporary, &path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The anchors file: `witness_protocol::api::TrustAnchors`.
pub(crate) use witness_protocol::api::TrustAnchors as Anchors;

/// Where the anchors file lives, and reading and writing it.
pub(crate) trait AnchorsFile: Sized {
    fn path(data_dir: &Path) -> PathBuf;
    fn load(path: &Path) -> Result<Self, String>;
    fn save(&self, data_dir: &Path) -> Result<(), String>;
    fn to_link_fragment(&self) -> String;
}

impl AnchorsFile for Anchors {
    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("anchors.json")
    }

    fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn save(&self, data_dir: &Path) -> Result<(), String> {
        let path = Self::path(data_dir);
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The dashboard's `#pin=` value: the JSON, base64url without padding.
    fn to_link_fragment(&self) -> String {
        use base64::Engine as _;
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }
}
