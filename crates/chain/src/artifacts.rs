//! Locating the npm-installed tools (`node_modules`): the anvil binary and the
//! `@cartesi/rollups@2.2.0` Foundry artifacts. Nothing is downloaded at run time.

use std::path::{Path, PathBuf};

use alloy::primitives::Bytes;

use crate::error::{ChainError, Result};

/// Env var naming the `node_modules` directory to use.
pub const NODE_MODULES_ENV: &str = "WITNESS_NODE_MODULES";
/// Env var naming the anvil binary to use.
pub const ANVIL_ENV: &str = "WITNESS_ANVIL";

/// Marker that a `node_modules` directory holds what we need.
const ROLLUPS_OUT: &str = "@cartesi/rollups/out";

/// The contract artifacts directory under a repository root
/// (`<repo_root>/node_modules/@cartesi/rollups/out`).
pub fn artifacts_dir(repo_root: &Path) -> PathBuf {
    repo_root.join("node_modules").join(ROLLUPS_OUT)
}

/// Finds `node_modules` holding `@cartesi/rollups`: `$WITNESS_NODE_MODULES` if set, else the
/// first `node_modules` walking up from the current directory, else walking up from this crate's
/// source directory (so tests and `cargo run` work from anywhere inside the repository).
pub fn find_node_modules() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(NODE_MODULES_ENV) {
        let dir = PathBuf::from(dir);
        if dir.join(ROLLUPS_OUT).is_dir() {
            return Ok(dir);
        }
        return Err(ChainError::NodeModulesNotFound {
            searched: vec![dir],
        });
    }
    let mut searched = Vec::new();
    let starts = std::env::current_dir()
        .ok()
        .into_iter()
        .chain(std::iter::once(PathBuf::from(env!("CARGO_MANIFEST_DIR"))));
    for start in starts {
        for dir in start.ancestors() {
            let candidate = dir.join("node_modules");
            if candidate.join(ROLLUPS_OUT).is_dir() {
                return Ok(candidate);
            }
            searched.push(candidate);
        }
    }
    Err(ChainError::NodeModulesNotFound { searched })
}

/// The npm platform package that ships anvil for this machine.
fn anvil_platform_package() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "aarch64") => "anvil-linux-arm64",
        ("macos", "x86_64") => "anvil-darwin-amd64",
        ("macos", "aarch64") => "anvil-darwin-arm64",
        ("windows", _) => "anvil-win32-amd64",
        _ => "anvil-linux-amd64",
    }
}

/// The anvil binary: `$WITNESS_ANVIL` if set, else
/// `node_modules/@foundry-rs/anvil-<platform>/bin/anvil`.
pub fn anvil_binary() -> Result<PathBuf> {
    let path = match std::env::var_os(ANVIL_ENV) {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = if cfg!(windows) { "anvil.exe" } else { "anvil" };
            find_node_modules()?
                .join("@foundry-rs")
                .join(anvil_platform_package())
                .join("bin")
                .join(exe)
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(ChainError::AnvilNotFound(path))
    }
}

/// Path of the Foundry artifact of contract `name` (`out/<name>.sol/<name>.json`).
pub fn artifact_path(name: &str) -> Result<PathBuf> {
    Ok(find_node_modules()?
        .join(ROLLUPS_OUT)
        .join(format!("{name}.sol"))
        .join(format!("{name}.json")))
}

/// Reads an artifact as JSON.
pub fn load_artifact(name: &str) -> Result<serde_json::Value> {
    read_json(&artifact_path(name)?)
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|source| ChainError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ChainError::Json {
        path: path.to_owned(),
        source,
    })
}

/// The creation bytecode (`bytecode.object`) of contract `name`, without constructor arguments.
pub fn creation_bytecode(name: &str) -> Result<Bytes> {
    let path = artifact_path(name)?;
    let json = read_json(&path)?;
    let bad = |reason: &str| ChainError::Artifact {
        path: path.clone(),
        reason: reason.to_owned(),
    };
    let object = json
        .pointer("/bytecode/object")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("no bytecode.object"))?;
    let code: Bytes = object
        .parse()
        .map_err(|_| bad("bytecode.object is not hex (unlinked library?)"))?;
    if code.is_empty() {
        return Err(bad("empty bytecode (interface or library?)"));
    }
    Ok(code)
}
