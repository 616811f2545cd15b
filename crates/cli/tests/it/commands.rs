//! The `witness` commands that need no running system.

use std::process::Command;

fn witness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_witness"))
}

#[test]
fn device_keys_are_private_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("car");
    let output = witness()
        .args(["device", "keys", "--model", "3", "--dir"])
        .arg(&device)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("model       3"), "{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(device.join("key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(device.join("device.json")).unwrap())
            .unwrap();
    assert_eq!(state["next_counter"], 1);
    let again = witness()
        .args(["device", "keys", "--dir"])
        .arg(&device)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a device"));
}

#[test]
fn verify_without_pinned_anchors_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let output = witness()
        .args(["verify", "00112233445566778899aabbccddeeff", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no trust anchors") && stderr.contains("anchors.json"),
        "{stderr}"
    );
}

#[test]
fn verify_with_anchors_but_no_chain_cannot_confirm_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let anchors = dir.path().join("pinned.json");
    std::fs::write(
        &anchors,
        r#"{"chain_id": 31337, "application": "0x00000000000000000000000000000000000000aa",
            "consensus": "0x00000000000000000000000000000000000000bb"}"#,
    )
    .unwrap();
    let output = witness()
        .args([
            "verify",
            "00112233445566778899aabbccddeeff",
            "--json",
            "--anchors",
        ])
        .arg(&anchors)
        .args([
            "--rpc",
            "http://127.0.0.1:9",
            "--node-rpc",
            "http://127.0.0.1:9/rpc",
        ])
        .args([
            "--node-inspect",
            "http://127.0.0.1:9/inspect/app",
            "--link",
            "http://127.0.0.1:9",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["verdict"], "cannot_confirm", "{report}");
    assert_eq!(
        report["findings"][0]["code"], "chain_unreachable",
        "{report}"
    );
    assert_eq!(
        report["anchors_source"],
        format!("file {}", anchors.display())
    );
}

#[test]
fn fleet_run_needs_the_backend_key_to_create_a_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let output = witness()
        .args(["fleet", "run", "--gateway", "http://127.0.0.1:9", "--dir"])
        .arg(dir.path().join("fleet"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--backend-key"));
}
