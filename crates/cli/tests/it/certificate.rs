//! `witness certificate verify` on the certificate vectors of docs/protocol-vectors.json:
//! no running system needed (offline checks, refusals with their reason).

use serde_json::Value;

use crate::util::witness;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/protocol-vectors.json"
    );
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "certificate")
        .cloned()
        .collect()
}

fn pinned_file(dir: &std::path::Path, pinned: &Value) -> std::path::PathBuf {
    let path = dir.join("pinned.json");
    let text = serde_json::json!({
        "chain_id": pinned["chain_id"],
        "application": format!("0x{}", pinned["application"].as_str().unwrap()),
        "consensus": format!("0x{}", pinned["consensus"].as_str().unwrap()),
    });
    std::fs::write(&path, text.to_string()).unwrap();
    path
}

fn vector(name: &str) -> Value {
    vectors().into_iter().find(|v| v["name"] == name).unwrap()
}

fn certificate_bytes(vector: &Value) -> Vec<u8> {
    hex::decode(vector["certificate"].as_str().unwrap()).unwrap()
}

/// `witness certificate verify --json --anchors ANCHORS FILE`.
fn verify_json(anchors: &std::path::Path, file: &std::path::Path) -> (bool, Value) {
    witness()
        .args(["certificate", "verify", "--json", "--anchors"])
        .arg(anchors)
        .arg(file)
        .json()
}

#[test]
fn certificate_vectors_verify_or_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for vector in vectors() {
        if vector["pinned"].is_null() {
            continue;
        }
        let name = vector["name"].as_str().unwrap();
        let anchors = pinned_file(dir.path(), &vector["pinned"]);
        let file = dir.path().join(format!("{name}.wtnc"));
        std::fs::write(&file, certificate_bytes(&vector)).unwrap();
        let (ok, report) = verify_json(&anchors, &file);
        if vector["valid"] == true {
            assert!(ok, "{name}: {report}");
            assert_eq!(report["ok"], true, "{name}");
            assert!(report["refused"].is_null(), "{name}");
            let cannot: Vec<&str> = report["cannot_know"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(cannot, ["outputs_root_accepted", "later_claims"], "{name}");
            assert_eq!(
                report["claim"]["as_of_block"], vector["findings"]["as_of_block"],
                "{name}"
            );
        } else {
            assert!(!ok, "{name}: accepted");
            assert_eq!(report["ok"], false, "{name}");
            assert_eq!(
                report["refused"]["code"], vector["expected_error"],
                "{name}: {report}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} vectors");
}

#[test]
fn certificate_refusals_name_their_reason_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "certificate_trailing_bytes",
        "certificate_unknown_version",
        "certificate_altered_reading",
    ] {
        let vector = vector(name);
        let anchors = pinned_file(dir.path(), &vector["pinned"]);
        let file = dir.path().join("cert.wtnc");
        std::fs::write(&file, certificate_bytes(&vector)).unwrap();
        let (stdout, _) = witness()
            .args(["certificate", "verify", "--anchors"])
            .arg(&anchors)
            .arg(&file)
            .fails();
        let code = vector["expected_error"].as_str().unwrap();
        assert!(
            stdout.contains("REFUSED") && stdout.contains(code),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn certificate_tampered_by_one_byte_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let vector = vector("certificate_summary");
    let anchors = pinned_file(dir.path(), &vector["pinned"]);
    let mut bytes = certificate_bytes(&vector);
    let last = bytes.len() - 20;
    bytes[last] ^= 1;
    let file = dir.path().join("cert.wtnc");
    std::fs::write(&file, &bytes).unwrap();
    let (ok, report) = verify_json(&anchors, &file);
    assert!(!ok);
    assert_eq!(report["ok"], false);
    assert!(report["refused"]["code"].is_string(), "{report}");
}

#[test]
fn certificate_verify_without_pinned_anchors_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cert.wtnc");
    std::fs::write(&file, b"WTNC").unwrap();
    let (_, stderr) = witness()
        .args(["certificate", "verify"])
        .data_dir(dir.path())
        .arg(&file)
        .fails();
    assert!(stderr.contains("no trust anchors"), "{stderr}");
}

#[test]
fn certificate_text_form_verifies_like_the_binary_and_garbage_is_not_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let vector = vector("certificate_summary");
    let anchors = pinned_file(dir.path(), &vector["pinned"]);
    let bytes = certificate_bytes(&vector);
    let text = witness_protocol::certificate::to_text(&bytes);
    assert!(text.starts_with("-----BEGIN WITNESS CERTIFICATE-----\n"));
    let bare: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    for (name, content) in [("armoured", text.clone()), ("bare", bare)] {
        let file = dir.path().join(format!("{name}.txt"));
        std::fs::write(&file, content).unwrap();
        let (ok, report) = verify_json(&anchors, &file);
        assert!(ok, "{name}: {report}");
        assert_eq!(
            report["first"]["counter"], vector["findings"]["first"]["counter"],
            "{name}"
        );
        assert_eq!(
            report["highest"]["counter"], vector["findings"]["highest"]["counter"],
            "{name}"
        );
    }
    let file = dir.path().join("garbage.txt");
    std::fs::write(&file, "this is not a certificate!").unwrap();
    let (ok, report) = verify_json(&anchors, &file);
    assert!(!ok);
    assert_eq!(report["refused"]["code"], "not_a_certificate");
}
