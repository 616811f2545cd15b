//! Deterministic test vectors (`docs/protocol-vectors.json`). Regenerate with
//! `cargo run -p witness-protocol --features vectors --example protocol_vectors`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::codec::Writer;
use crate::{
    BackendSecretKey, DeviceId, Envelope, FaultCode, GatewayAuthorization, HPKE_INFO, Header,
    Message, ModelId, OwnerQuery, OwnershipStatement, PossessionProof, Reading, RegistrarAction,
    RegistrarMessage, RollupInput, Signature, SigningKey, pack_readings,
};

fn rng_for(label: &str) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(Sha256::digest(format!("witness vectors/{label}")).into())
}

fn seed_for(label: &str) -> [u8; 32] {
    Sha256::digest(format!("witness vector seed/{label}")).into()
}

fn reading_json(reading: &Reading) -> Value {
    json!({
        "timestamp": reading.timestamp,
        "odometer_m": reading.odometer_m,
        "fuel_ml": reading.fuel_ml,
        "engine_s": reading.engine_s,
        "faults": reading.faults.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// A plausible drive: one reading every 10 minutes.
fn drive(count: usize, start_odometer: u64, faults_at: Option<usize>) -> Vec<Reading> {
    (0..count)
        .map(|i| {
            let i32_ = i as u32;
            Reading {
                timestamp: 1_790_000_000 + 600 * i32_,
                odometer_m: start_odometer + 9_870 * i as u64 + (i as u64 * 37) % 500,
                fuel_ml: 610 + (i32_ * 53) % 240,
                engine_s: 3_600_000 + 600 * i32_,
                faults: if faults_at == Some(i) {
                    vec![FaultCode(0x0301), FaultCode(0x0420)]
                } else {
                    vec![]
                },
            }
        })
        .collect()
}

struct Keys {
    device_seed: [u8; 32],
    device: SigningKey,
    backend: BackendSecretKey,
}

fn keys(device_label: &str) -> Keys {
    let device_seed = seed_for(device_label);
    Keys {
        device: SigningKey::from_seed(&device_seed),
        device_seed,
        backend: BackendSecretKey::derive(b"witness vectors backend key"),
    }
}

fn base(name: &str, keys: &Keys) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("name".into(), json!(name));
    map.insert("valid".into(), json!(true));
    map.insert("expected_error".into(), Value::Null);
    map.insert(
        "device_signing_seed".into(),
        json!(hex::encode(keys.device_seed)),
    );
    map.insert(
        "device_public_key".into(),
        json!(hex::encode(keys.device.public_key().to_bytes())),
    );
    map.insert(
        "backend_secret_key".into(),
        json!(hex::encode(*keys.backend.to_bytes())),
    );
    map.insert(
        "backend_public_key".into(),
        json!(hex::encode(keys.backend.public_key().to_bytes())),
    );
    for field in [
        "hpke_info",
        "aad",
        "enc",
        "ciphertext",
        "plaintext",
        "signed_message",
        "signature",
        "envelope",
        "readings",
        "input",
    ] {
        map.insert(field.into(), Value::Null);
    }
    map
}

fn envelope_fields(map: &mut serde_json::Map<String, Value>, envelope: &Envelope) {
    map.insert("hpke_info".into(), json!(hex::encode(HPKE_INFO)));
    map.insert(
        "aad".into(),
        json!(hex::encode(envelope.header().to_bytes())),
    );
    map.insert("enc".into(), json!(hex::encode(envelope.enc())));
    map.insert(
        "ciphertext".into(),
        json!(hex::encode(envelope.ciphertext())),
    );
    map.insert(
        "signed_message".into(),
        json!(hex::encode(envelope.signed_message())),
    );
    map.insert(
        "signature".into(),
        json!(hex::encode(envelope.signature().0)),
    );
    map.insert("envelope".into(), json!(hex::encode(envelope.as_bytes())));
}

fn device_id(label: &str) -> DeviceId {
    let mut id = [0u8; 16];
    id.copy_from_slice(&seed_for(&format!("device id/{label}"))[..16]);
    DeviceId(id)
}

fn valid_envelope(name: &str, counter: u64, readings: Vec<Reading>) -> crate::Result<Value> {
    let keys = keys(name);
    let id = device_id(name);
    let mut rng = rng_for(name);
    let sealed = Envelope::seal(
        &keys.device,
        keys.backend.public_key(),
        id,
        counter,
        &readings,
        &mut rng,
    )?;
    let envelope = &sealed.envelope;
    let mut map = base(name, &keys);
    map.insert("kind".into(), json!("envelope"));
    map.insert("device_id".into(), json!(id.to_hex()));
    envelope_fields(&mut map, envelope);
    map.insert(
        "plaintext".into(),
        json!(hex::encode(pack_readings(&readings)?)),
    );
    map.insert(
        "readings".into(),
        Value::Array(readings.iter().map(reading_json).collect()),
    );
    map.insert(
        "commitment_key".into(),
        json!(hex::encode(*sealed.commitment_key.to_bytes())),
    );
    let opened = envelope.open(&keys.device.public_key(), &keys.backend)?;
    map.insert(
        "commitments".into(),
        json!(
            opened
                .commitments
                .iter()
                .map(|c| hex::encode(c.0))
                .collect::<Vec<_>>()
        ),
    );
    let openings = readings
        .iter()
        .enumerate()
        .map(|(i, reading)| {
            sealed
                .commitment_key
                .opening(id, counter + i as u64, reading.clone())
                .encode()
                .map(hex::encode)
        })
        .collect::<crate::Result<Vec<_>>>()?;
    map.insert("openings".into(), json!(openings));
    let input = RollupInput {
        messages: vec![Message::Envelope(envelope.clone())],
    }
    .encode()?;
    map.insert("input".into(), json!(hex::encode(input)));
    Ok(Value::Object(map))
}

fn invalid_envelope(
    name: &str,
    error: crate::Error,
    envelope_bytes: &[u8],
    signed_from: Option<&Envelope>,
) -> Value {
    let keys = keys("single_reading");
    let mut map = base(name, &keys);
    map.insert("kind".into(), json!("envelope"));
    map.insert("valid".into(), json!(false));
    map.insert("expected_error".into(), json!(error.code()));
    if let Some(envelope) = signed_from {
        envelope_fields(&mut map, envelope);
    }
    map.insert("envelope".into(), json!(hex::encode(envelope_bytes)));
    Value::Object(map)
}

/// The bytes of one signed statement.
struct Signed<'a> {
    message: &'a [u8],
    signed_message: &'a [u8],
    signature: &'a Signature,
}

fn signed_message_vector(
    name: &str,
    kind: &str,
    signer_seed: [u8; 32],
    signed: Signed<'_>,
    input: Option<Vec<u8>>,
    device_seed: Option<[u8; 32]>,
) -> Value {
    let Signed {
        message,
        signed_message,
        signature,
    } = signed;
    let keys = keys(name);
    let mut map = base(name, &keys);
    map.insert("kind".into(), json!(kind));
    // Device fields name the device the statement is about, or nothing.
    let device = device_seed.map(|seed| (seed, SigningKey::from_seed(&seed).public_key()));
    map.insert(
        "device_signing_seed".into(),
        device
            .as_ref()
            .map_or(Value::Null, |(seed, _)| json!(hex::encode(seed))),
    );
    map.insert(
        "device_public_key".into(),
        device
            .as_ref()
            .map_or(Value::Null, |(_, key)| json!(hex::encode(key.to_bytes()))),
    );
    let signer = SigningKey::from_seed(&signer_seed);
    map.insert("signer_seed".into(), json!(hex::encode(signer_seed)));
    map.insert(
        "signer_public_key".into(),
        json!(hex::encode(signer.public_key().to_bytes())),
    );
    map.insert("message".into(), json!(hex::encode(message)));
    map.insert("signed_message".into(), json!(hex::encode(signed_message)));
    map.insert("signature".into(), json!(hex::encode(signature.0)));
    map.insert(
        "input".into(),
        input.map_or(Value::Null, |i| json!(hex::encode(i))),
    );
    Value::Object(map)
}

fn registrar_vectors() -> crate::Result<Vec<Value>> {
    let backend = keys("registrar").backend;
    let registrar_seed = seed_for("registrar");
    let registrar = SigningKey::from_seed(&registrar_seed);
    let device = SigningKey::from_seed(&seed_for("registered device"));
    let other = SigningKey::from_seed(&seed_for("second registrar"));
    let id = device_id("registered device");
    let actions = [
        (
            "registrar_register_device",
            RegistrarAction::RegisterDevice {
                device_id: id,
                model: ModelId(3),
                public_key: device.public_key(),
            },
        ),
        (
            "registrar_revoke_device",
            RegistrarAction::RevokeDevice {
                device_id: id,
                reason: "stolen".into(),
            },
        ),
        (
            "registrar_rotate_key",
            RegistrarAction::RotateKey {
                device_id: id,
                new_key: other.public_key(),
            },
        ),
        (
            "registrar_correct_reading",
            RegistrarAction::CorrectReading {
                device_id: id,
                counter: 41,
                odometer_m: 152_300_000,
                reason: "instrument cluster replaced at 152,300 km".into(),
            },
        ),
        (
            "registrar_add_registrar",
            RegistrarAction::AddRegistrar {
                key: other.public_key(),
            },
        ),
        (
            "registrar_remove_registrar",
            RegistrarAction::RemoveRegistrar {
                key: other.public_key(),
            },
        ),
    ];
    actions
        .into_iter()
        .enumerate()
        .map(|(i, (name, action))| {
            let message =
                RegistrarMessage::sign(&registrar, backend.public_key(), i as u64 + 1, action)?;
            let input = RollupInput {
                messages: vec![Message::Registrar(message.clone())],
            }
            .encode()?;
            Ok(signed_message_vector(
                name,
                "registrar",
                registrar_seed,
                Signed {
                    message: &message.encode()?,
                    signed_message: &message.signed_message(backend.public_key())?,
                    signature: &message.signature,
                },
                Some(input),
                None,
            ))
        })
        .collect()
}

fn ownership_vectors() -> crate::Result<Vec<Value>> {
    let keys = keys("ownership");
    let id = device_id("ownership");
    let seller = SigningKey::from_seed(&seed_for("seller"));
    let buyer = SigningKey::from_seed(&seed_for("buyer"));
    let mut out = Vec::new();
    let pairing = OwnershipStatement::sign(
        &keys.device,
        keys.backend.public_key(),
        id,
        seller.public_key(),
        1,
    );
    let mut sale = OwnershipStatement::sign(
        &keys.device,
        keys.backend.public_key(),
        id,
        buyer.public_key(),
        2,
    );
    sale.countersign(&seller, keys.backend.public_key());
    for (name, statement) in [
        ("ownership_pairing", pairing),
        ("ownership_sale_countersigned", sale),
    ] {
        let mut w = Writer::default();
        statement.encode(&mut w);
        let input = RollupInput {
            messages: vec![Message::Ownership(statement.clone())],
        }
        .encode()?;
        let mut vector = signed_message_vector(
            name,
            "ownership",
            keys.device_seed,
            Signed {
                message: &w.finish(),
                signed_message: &statement.signed_message(keys.backend.public_key()),
                signature: &statement.device_signature,
            },
            Some(input),
            Some(keys.device_seed),
        );
        if let (Some(map), Some(release)) = (vector.as_object_mut(), statement.release) {
            map.insert(
                "release_signer_seed".into(),
                json!(hex::encode(seed_for("seller"))),
            );
            map.insert(
                "release_signed_message".into(),
                json!(hex::encode(
                    statement.release_message(keys.backend.public_key())
                )),
            );
            map.insert("release_signature".into(), json!(hex::encode(release.0)));
        }
        out.push(vector);
    }
    Ok(out)
}

fn query_vectors() -> crate::Result<Vec<Value>> {
    let keys = keys("possession_proof");
    let id = device_id("possession_proof");
    let reading = drive(1, 88_000_000, Some(0)).remove(0);
    let proof = PossessionProof::sign(
        &keys.device,
        keys.backend.public_key(),
        id,
        seed_for("verifier nonce"),
        57,
        reading.clone(),
    )?;
    let mut possession = signed_message_vector(
        "possession_proof",
        "possession_proof",
        keys.device_seed,
        Signed {
            message: &proof.encode()?,
            signed_message: &proof.signed_message(keys.backend.public_key())?,
            signature: &proof.signature,
        },
        None,
        Some(keys.device_seed),
    );
    if let Some(map) = possession.as_object_mut() {
        map.insert("readings".into(), json!([reading_json(&reading)]));
        map.insert("nonce".into(), json!(hex::encode(proof.nonce)));
    }
    let owner_seed = seed_for("owner");
    let owner = SigningKey::from_seed(&owner_seed);
    let response_key = BackendSecretKey::derive(b"owner response key");
    let query = OwnerQuery::sign(
        &owner,
        keys.backend.public_key(),
        id,
        response_key.public_key().to_bytes(),
        1_790_086_400,
    );
    let owner_query = signed_message_vector(
        "owner_query",
        "owner_query",
        owner_seed,
        Signed {
            message: &query.encode(),
            signed_message: &query.signed_message(keys.backend.public_key()),
            signature: &query.signature,
        },
        None,
        None,
    );
    Ok(vec![possession, owner_query])
}

fn rejection_vectors() -> crate::Result<Vec<Value>> {
    let keys = keys("single_reading");
    let mut rng = rng_for("rejections");
    let id = device_id("single_reading");
    let readings = drive(1, 120_000_000, None);
    let sealed = Envelope::seal(
        &keys.device,
        keys.backend.public_key(),
        id,
        7,
        &readings,
        &mut rng,
    )?;
    let bytes = sealed.envelope.as_bytes().to_vec();
    let mut out = Vec::new();

    let mut bad_signature = bytes.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 0x01;
    out.push(invalid_envelope(
        "bad_signature",
        crate::Error::BadSignature,
        &bad_signature,
        None,
    ));

    // Another enrolled device takes this ciphertext, puts it under its own header and signs
    // it: the signature is valid, decryption must fail because the header is the AAD.
    let thief = SigningKey::from_seed(&seed_for("thief"));
    let thief_id = device_id("thief");
    let mut moved = bytes[..bytes.len() - 64].to_vec();
    moved[2..18].copy_from_slice(&thief_id.0);
    let mut message = crate::ENVELOPE_SIGNING_TAG.to_vec();
    message.extend_from_slice(&moved);
    moved.extend_from_slice(&thief.sign(&message).0);
    let moved_envelope = Envelope::decode(&moved)?;
    let mut vector = invalid_envelope(
        "ciphertext_moved_to_another_device",
        crate::Error::DecryptionFailed,
        &moved,
        Some(&moved_envelope),
    );
    if let Some(map) = vector.as_object_mut() {
        map.insert(
            "device_signing_seed".into(),
            json!(hex::encode(seed_for("thief"))),
        );
        map.insert(
            "device_public_key".into(),
            json!(hex::encode(thief.public_key().to_bytes())),
        );
    }
    out.push(vector);

    let mut altered = bytes.clone();
    altered[25] ^= 0x01; // counter's lowest bit, after signing
    out.push(invalid_envelope(
        "header_altered_after_signing",
        crate::Error::BadSignature,
        &altered,
        None,
    ));

    out.push(invalid_envelope(
        "truncated",
        crate::Error::Truncated,
        &bytes[..bytes.len() - 1],
        None,
    ));
    let mut trailing = bytes.clone();
    trailing.push(0);
    out.push(invalid_envelope(
        "trailing_bytes",
        crate::Error::TrailingBytes,
        &trailing,
        None,
    ));

    let mut oversize = bytes[..Header::LEN].to_vec();
    oversize[31..33].copy_from_slice(&(crate::MAX_CIPHERTEXT_LEN as u16 + 1).to_be_bytes());
    out.push(invalid_envelope(
        "oversize_ciphertext_length",
        crate::Error::Oversize,
        &oversize,
        None,
    ));
    Ok(out)
}

fn batch_vector() -> crate::Result<Value> {
    let keys = keys("batch");
    let mut rng = rng_for("batch");
    let envelopes = (0..3u64)
        .map(|i| {
            let device = SigningKey::from_seed(&seed_for(&format!("batch device {i}")));
            let id = device_id(&format!("batch device {i}"));
            Envelope::seal(
                &device,
                keys.backend.public_key(),
                id,
                1,
                &drive(2, 10_000_000 * i, None),
                &mut rng,
            )
            .map(|s| Message::Envelope(s.envelope))
        })
        .collect::<crate::Result<Vec<_>>>()?;
    let mut messages = envelopes;
    messages.push(Message::GatewayAuthorization(GatewayAuthorization {
        gateway: [0x70; 20],
        authorized: true,
    }));
    let input = RollupInput { messages }.encode()?;
    let mut map = base(
        "input_batch_of_three_envelopes_and_gateway_authorization",
        &keys,
    );
    map.insert("kind".into(), json!("input"));
    map.insert("input".into(), json!(hex::encode(input)));
    Ok(Value::Object(map))
}

/// All vectors as the JSON document `{"vectors": [...]}`.
pub fn generate() -> crate::Result<Value> {
    let mut vectors = vec![
        valid_envelope("single_reading", 1, drive(1, 152_000_000, None))?,
        valid_envelope(
            "single_reading_with_faults",
            2,
            drive(1, 152_010_000, Some(0)),
        )?,
        valid_envelope("four_readings", 10, drive(4, 64_500_000, None))?,
        valid_envelope("sixteen_readings", 100, drive(16, 23_400_000, Some(9)))?,
    ];
    let mut rollback = drive(3, 150_000_000, None);
    rollback[2].odometer_m = 40_000_000;
    vectors.push(valid_envelope("rollback_inside_envelope", 30, rollback)?);
    vectors.extend(rejection_vectors()?);
    vectors.extend(query_vectors()?);
    vectors.extend(registrar_vectors()?);
    vectors.extend(ownership_vectors()?);
    vectors.push(batch_vector()?);
    Ok(json!({ "vectors": vectors }))
}

/// The vectors file's exact text.
pub fn generate_pretty() -> crate::Result<String> {
    let value = generate()?;
    let mut text = serde_json::to_string_pretty(&value).map_err(|_| crate::Error::InvalidField)?;
    text.push('\n');
    Ok(text)
}
