//! The committed vectors equal a fresh regeneration and behave as they declare.

use serde_json::Value;
use witness_protocol::{BackendSecretKey, Domain, Envelope, Error, PublicKey, RollupInput};

fn committed() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/protocol-vectors.json"
    );
    std::fs::read_to_string(path).expect("docs/protocol-vectors.json exists")
}

fn bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex string")).expect("valid hex")
}

fn array32(value: &Value) -> [u8; 32] {
    bytes(value).try_into().expect("32 bytes")
}

#[test]
fn regeneration_matches_the_committed_file() {
    let fresh = witness_protocol::vectors::generate_pretty().unwrap();
    assert!(
        fresh == committed(),
        "docs/protocol-vectors.json is stale: run `cargo run -p witness-protocol --features vectors --example protocol_vectors docs/protocol-vectors.json`"
    );
}

#[test]
fn every_envelope_vector_behaves_as_declared() {
    let doc: Value = serde_json::from_str(&committed()).unwrap();
    let mut checked = 0;
    for vector in doc["vectors"].as_array().unwrap() {
        if vector["kind"] != "envelope" {
            continue;
        }
        let backend =
            BackendSecretKey::from_bytes(&array32(&vector["backend_secret_key"])).unwrap();
        let device = PublicKey::from_bytes(&array32(&vector["device_public_key"])).unwrap();
        let domain = Domain {
            chain_id: vector["chain_id"].as_u64().unwrap(),
            application: bytes(&vector["application"]).try_into().unwrap(),
            backend_key: backend.public_key().clone(),
        };
        assert_eq!(domain.to_bytes().to_vec(), bytes(&vector["domain"]));
        let outcome = Envelope::decode(&bytes(&vector["envelope"]))
            .and_then(|e| e.open(&device, &domain, &backend).map(|o| (e, o)));
        match (vector["valid"].as_bool().unwrap(), outcome) {
            (true, Ok((envelope, opened))) => {
                assert_eq!(
                    opened.readings.len(),
                    vector["readings"].as_array().unwrap().len()
                );
                assert_eq!(
                    envelope.signed_message(&domain),
                    bytes(&vector["signed_message"])
                );
                let input = RollupInput::decode(&bytes(&vector["input"])).unwrap();
                assert_eq!(input.messages.len(), 1);
            }
            (false, Err(error)) => {
                assert_eq!(
                    Some(error.code()),
                    vector["expected_error"].as_str(),
                    "{}",
                    vector["name"]
                );
            }
            (valid, outcome) => panic!(
                "{}: valid={valid} but got {:?}",
                vector["name"],
                outcome.err()
            ),
        }
        checked += 1;
    }
    assert!(checked >= 11);
    assert_eq!(Error::DecryptionFailed.code(), "decryption_failed");
}

#[test]
fn every_input_vector_decodes() {
    let doc: Value = serde_json::from_str(&committed()).unwrap();
    let inputs: Vec<_> = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !v["input"].is_null())
        .collect();
    assert!(inputs.len() >= 14);
    for vector in inputs {
        let raw = bytes(&vector["input"]);
        let input = RollupInput::decode(&raw).unwrap();
        assert_eq!(input.encode().unwrap(), raw, "{}", vector["name"]);
    }
}
