//! Shared by the integration tests of `witness-node`, `witness-gateway` and `witness-cli`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The `witness-backend` binary of the running test's target directory and profile, built
/// (or brought up to date) once per test process, so a test never runs a stale backend.
///
/// # Panics
/// If the test's own path is not `<target>/<profile>/deps/<test>`, or the build fails.
pub fn backend_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test's path");
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("tests run from <target>/<profile>/deps");
            let target_dir = profile_dir.parent().expect("<target>/<profile>");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build
                .args(["build", "-p", "witness-backend", "--bin", "witness-backend"])
                .arg("--target-dir")
                .arg(target_dir);
            if profile_dir.ends_with("release") {
                build.arg("--release");
            }
            let status = build.status().expect("running cargo");
            assert!(status.success(), "building witness-backend failed");
            profile_dir.join("witness-backend")
        })
        .clone()
}
