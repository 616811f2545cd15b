//! Shared by the integration tests of `witness-node`, `witness-gateway` and `witness-cli`: the
//! binaries of the current build, the system harness ([`witness_system`], re-exported), which
//! `witness up` uses too, and the validator of our interface documents' schemas.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The packages whose binaries the system tests run, built together by one `cargo build`, the
/// same command `scripts/test.sh` runs before the browser tests: one feature resolution, so the
/// dependencies are compiled once for all of them (a build per package resolves features per
/// package and compiles a second copy of many dependencies, which a small CI disk cannot hold).
pub const SYSTEM_PACKAGES: [&str; 3] = ["witness-cli", "witness-backend", "witness-adversary"];

/// The binary `bin` of the current build, in the running test's target directory and profile:
/// the [`SYSTEM_PACKAGES`] are built (or brought up to date) once per test process, so a test
/// never runs a stale binary.
///
/// # Panics
/// If the test's own path is not `<target>/<profile>/deps/<test>`, or the build fails.
pub fn workspace_binary(bin: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let profile_dir = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test's path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("tests run from <target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("<target>/<profile>");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.arg("build");
        for package in SYSTEM_PACKAGES {
            build.args(["-p", package]);
        }
        build.arg("--target-dir").arg(target_dir);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().expect("running cargo");
        assert!(status.success(), "building {SYSTEM_PACKAGES:?} failed");
        profile_dir
    });
    profile_dir.join(bin)
}

pub use witness_system::*;

/// The `witness-backend` binary (see [`workspace_binary`]).
pub fn backend_binary() -> PathBuf {
    workspace_binary("witness-backend")
}

/// [`backend_binary`] as the node's backend command line ([`NodeOpts::command`]).
pub fn backend_command() -> Vec<String> {
    vec![backend_binary().display().to_string()]
}

/// The `witness-adversary` binary: a lying node and gateway (see [`workspace_binary`]).
pub fn adversary_binary() -> PathBuf {
    workspace_binary("witness-adversary")
}

/// A validator of `schema`, a JSON Schema inside an interface document (the gateway's OpenAPI
/// 3.1 document, the node's OpenRPC document) whose `$ref`s point into `doc["components"]`.
///
/// # Panics
/// If `schema` is not a valid JSON Schema.
pub fn schema_validator(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
) -> jsonschema::Validator {
    let root = serde_json::json!({ "components": doc["components"], "allOf": [schema] });
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{schema}: {e}"))
}
