//! The `witness` commands that need no running system.

use crate::util::witness;

#[test]
fn device_keys_are_private_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("car");
    let stdout = witness()
        .args(["device", "keys", "--model", "3", "--dir"])
        .arg(&device)
        .stdout();
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
    let (_, stderr) = witness()
        .args(["device", "keys", "--dir"])
        .arg(&device)
        .fails();
    assert!(stderr.contains("already holds a device"), "{stderr}");
}

#[test]
fn verify_without_pinned_anchors_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stderr) = witness()
        .args(["verify", "00112233445566778899aabbccddeeff"])
        .data_dir(dir.path())
        .fails();
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
    let (ok, report) = witness()
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
        .json();
    assert!(!ok);
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
    let (_, stderr) = witness()
        .args(["fleet", "run", "--gateway", "http://127.0.0.1:9", "--dir"])
        .arg(dir.path().join("fleet"))
        .fails();
    assert!(stderr.contains("--backend-key"), "{stderr}");
}
