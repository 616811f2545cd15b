//! Shared by the integration tests of `witness-node`, `witness-gateway` and `witness-cli`: the
//! binaries of the current build, and the system harness ([`witness_system`], re-exported),
//! which `witness up` uses too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The binary `bin` of workspace package `package`, in the running test's target directory
/// and profile, built (or brought up to date) once per test process, so a test never runs a
/// stale binary.
///
/// # Panics
/// If the test's own path is not `<target>/<profile>/deps/<test>`, or the build fails.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = built.get(bin) {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("the test's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("<target>/<profile>");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", package, "--bin", bin])
        .arg("--target-dir")
        .arg(target_dir);
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status().expect("running cargo");
    assert!(status.success(), "building {bin} failed");
    let path = profile_dir.join(bin);
    built.insert(bin.to_owned(), path.clone());
    path
}

pub use witness_system::*;

/// The `witness-backend` binary (see [`workspace_binary`]).
pub fn backend_binary() -> PathBuf {
    workspace_binary("witness-backend", "witness-backend")
}

/// [`backend_binary`] as the node's backend command line ([`NodeOpts::command`]).
pub fn backend_command() -> Vec<String> {
    vec![backend_binary().display().to_string()]
}

/// The `witness-adversary` binary: a lying node and gateway (see [`workspace_binary`]).
pub fn adversary_binary() -> PathBuf {
    workspace_binary("witness-adversary", "witness-adversary")
}
