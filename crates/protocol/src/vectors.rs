//! Deterministic test vectors (`docs/protocol-vectors.json`). Regenerate with
//! `cargo run -p witness-protocol --features vectors --example protocol_vectors`.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::codec::Writer;
use crate::notice::{
    DETAIL_KEY_TAG, EnvelopeValues, HistoryEntry, HistoryKey, HistoryNotice, ODOMETER_KEY_TAG,
    RecoveryOutcome, SealedValues, StateNotice, history_key,
};
use crate::state::{
    AttestedRef, CorrectedBaseline, CorrectionRef, DeviceLeaf, HistoryAccumulator, MapProof,
    PendingRecovery, TamperRef, Terminal, UnitLinks,
};
use crate::{
    BackendSecretKey, CommitmentKey, Consent, Correction, CorrectionReason, DeviceId, Domain,
    Envelope, EvidenceType, FaultCode, GatewayAuthorization, HPKE_INFO, Header, Message, ModelId,
    OwnerObjection, OwnerQuery, OwnershipStatement, PossessionProof, RECOVERY_DELAY_S, Reading,
    RegistrarAction, RegistrarMessage, Release, RollupInput, Signature, SigningKey,
    VehicleIdentity, commitment_of, pack_readings,
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
    domain: Domain,
}

/// The deployment every vector signs for: anvil's chain id, the application of the
/// certificate vectors (their anchors), and `backend`.
fn vector_domain(backend: &BackendSecretKey) -> Domain {
    Domain {
        chain_id: 31_337,
        application: [0xa1; 20],
        backend_key: backend.public_key().clone(),
    }
}

fn domain_fields(map: &mut serde_json::Map<String, Value>, domain: &Domain) {
    map.insert("chain_id".into(), json!(domain.chain_id));
    map.insert("application".into(), json!(hex::encode(domain.application)));
    map.insert("domain".into(), json!(hex::encode(domain.to_bytes())));
}

fn keys(device_label: &str) -> Keys {
    let device_seed = seed_for(device_label);
    let backend = vector_backend();
    Keys {
        device: SigningKey::from_seed(&device_seed),
        device_seed,
        domain: vector_domain(&backend),
        backend,
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
    domain_fields(&mut map, &keys.domain);
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

fn envelope_fields(map: &mut serde_json::Map<String, Value>, envelope: &Envelope, domain: &Domain) {
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
        json!(hex::encode(envelope.signed_message(domain))),
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
    let sealed = Envelope::seal(&keys.device, &keys.domain, id, counter, &readings, &mut rng)?;
    let envelope = &sealed.envelope;
    let mut map = base(name, &keys);
    map.insert("kind".into(), json!("envelope"));
    map.insert("device_id".into(), json!(id.to_hex()));
    envelope_fields(&mut map, envelope, &keys.domain);
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
    let opened = envelope.open(&keys.device.public_key(), &keys.domain, &keys.backend)?;
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
        envelope_fields(&mut map, envelope, &keys.domain);
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
    let domain = keys("registrar").domain;
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
                vehicle: vector_vehicle("registered device").id()?,
            },
        ),
        (
            "registrar_replace_unit",
            RegistrarAction::ReplaceUnit {
                vehicle: vector_vehicle("registered device").id()?,
                old_device: id,
                new_device: device_id("replacement unit"),
                model: ModelId(3),
                public_key: SigningKey::from_seed(&seed_for("replacement unit")).public_key(),
                baseline_m: 152_300_000,
            },
        ),
        (
            "registrar_recover_owner",
            RegistrarAction::RecoverOwner {
                device_id: id,
                owner: SigningKey::from_seed(&seed_for("recovered owner")).public_key(),
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
            "registrar_reinstate_device",
            RegistrarAction::ReinstateDevice {
                device_id: id,
                reason: "found".into(),
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
            "registrar_correct",
            RegistrarAction::Correct(Correction {
                device_id: id,
                counter: 41,
                odometer_m: None,
                baseline_m: Some(1_200_000),
                reason: CorrectionReason::ClusterReplaced,
                evidence: EvidenceType::WorkshopRecord,
                evidence_digest: Sha256::digest(b"witness vector seed/workshop invoice").into(),
                note: "instrument cluster replaced at 152,300 km; the new one shows 1,200 km"
                    .into(),
            }),
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
            let message = RegistrarMessage::sign(&registrar, &domain, i as u64 + 1, action)?;
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
                    signed_message: &message.signed_message(&domain)?,
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
        &keys.domain,
        id,
        seller.public_key(),
        1,
        Consent::FirstPairing,
    );
    // The seller's binding is sequence 1: the release ends it, until its expiry.
    let release = Release::sign(&seller, &keys.domain, id, 1, 1_790_600_000);
    let sale = OwnershipStatement::sign(
        &keys.device,
        &keys.domain,
        id,
        buyer.public_key(),
        2,
        Consent::Release(release),
    );
    for (name, statement) in [
        ("ownership_pairing", pairing),
        ("ownership_sale_released", sale),
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
                signed_message: &statement.signed_message(&keys.domain),
                signature: &statement.device_signature,
            },
            Some(input),
            Some(keys.device_seed),
        );
        if let (Some(map), Consent::Release(release)) = (vector.as_object_mut(), statement.consent)
        {
            map.insert(
                "release_signer_seed".into(),
                json!(hex::encode(seed_for("seller"))),
            );
            map.insert("released_sequence".into(), json!(1));
            map.insert("release_expires_at".into(), json!(release.expires_at));
            map.insert(
                "release_signed_message".into(),
                json!(hex::encode(Release::signed_message(
                    &keys.domain,
                    id,
                    1,
                    release.expires_at
                ))),
            );
            map.insert(
                "release_signature".into(),
                json!(hex::encode(release.signature.0)),
            );
            map.insert(
                "transfer_code".into(),
                json!(
                    crate::TransferCode {
                        device_id: id,
                        release,
                    }
                    .to_text()
                ),
            );
        }
        out.push(vector);
    }
    // The owner objects to the recovery that would take effect at this time.
    let objection =
        OwnerObjection::sign(&seller, &keys.domain, id, 1_790_400_000 + RECOVERY_DELAY_S);
    let mut w = Writer::default();
    objection.encode(&mut w);
    let input = RollupInput {
        messages: vec![Message::Objection(objection.clone())],
    }
    .encode()?;
    out.push(signed_message_vector(
        "ownership_objection",
        "objection",
        seed_for("seller"),
        Signed {
            message: &w.finish(),
            signed_message: &objection.signed_message(&keys.domain),
            signature: &objection.signature,
        },
        Some(input),
        None,
    ));
    Ok(out)
}

fn query_vectors() -> crate::Result<Vec<Value>> {
    let keys = keys("possession_proof");
    let id = device_id("possession_proof");
    let reading = drive(1, 88_000_000, Some(0)).remove(0);
    let proof = PossessionProof::sign(
        &keys.device,
        &keys.domain,
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
            signed_message: &proof.signed_message(&keys.domain)?,
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
        &keys.domain,
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
            signed_message: &query.signed_message(&keys.domain),
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
    let sealed = Envelope::seal(&keys.device, &keys.domain, id, 7, &readings, &mut rng)?;
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
    let message = crate::signed_bytes(crate::ENVELOPE_SIGNING_TAG, &keys.domain, &moved);
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
                &keys.domain,
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

// ---------------------------------------------------------------------------------------------
// Provable state (PROTOCOL.md sections 16 and 17): device leaves, the device map and its
// proofs, state and history notices, the history accumulator, verdicts. The map's root and
// proofs are computed here from the rules of section 16.3 (not with a map implementation of
// the crate); `MapProof` only encodes them, and the tests below check that the crate's
// decoders and verifiers reach each vector's declared outcome.

const LEAF_HASH_TAG: &[u8] = b"witness/v2/leaf";
const MAP_NODE_TAG: &[u8] = b"witness/v2/map-node";
const EMPTY: [u8; 32] = [0; 32];

fn new_vector(name: &str, kind: &str) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("name".into(), json!(name));
    map.insert("kind".into(), json!(kind));
    map.insert("valid".into(), json!(true));
    map.insert("expected_error".into(), Value::Null);
    map
}

fn mark_invalid(map: &mut serde_json::Map<String, Value>, code: &str) {
    map.insert("valid".into(), json!(false));
    map.insert("expected_error".into(), json!(code));
}

fn vector_backend() -> BackendSecretKey {
    BackendSecretKey::derive(b"witness vectors backend key")
}

fn backend_fields(map: &mut serde_json::Map<String, Value>, backend: &BackendSecretKey) {
    map.insert(
        "backend_secret_key".into(),
        json!(hex::encode(*backend.to_bytes())),
    );
    map.insert(
        "backend_public_key".into(),
        json!(hex::encode(backend.public_key().to_bytes())),
    );
    domain_fields(map, &vector_domain(backend));
}

fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

fn leaf_json(leaf: &DeviceLeaf) -> Value {
    json!({
        "device_id": leaf.device_id.to_hex(),
        "model": leaf.model.0,
        "public_key": hex::encode(leaf.key),
        "revoked": leaf.revoked,
        "open_tampers": leaf.open_tampers,
        "last_counter": leaf.last_counter,
        "owner": leaf.owner.map(hex::encode),
        "ownership_sequence": leaf.ownership_sequence,
        "era": leaf.era,
        "attested": leaf.attested,
        "highest": leaf.highest.map(|h| json!({
            "counter": h.counter,
            "commitment": hex::encode(h.commitment.0),
            "input_index": h.input_index,
        })),
        "first": leaf.first.map(|h| json!({
            "counter": h.counter,
            "commitment": hex::encode(h.commitment.0),
            "input_index": h.input_index,
        })),
        "tamper_events": leaf.tamper_events,
        "latest_tamper": leaf.latest_tamper.as_ref().map(|t| json!({
            "counter": t.counter,
            "reference_counter": t.reference_counter,
            "input_index": t.input_index,
        })),
        "corrections": leaf.corrections,
        "latest_correction": leaf.latest_correction.as_ref().map(|c| json!({
            "counter": c.counter,
            "input_index": c.input_index,
        })),
        "corrected_baseline": leaf.corrected_baseline.as_ref().map(|b| json!({
            "odometer_m": b.odometer_m,
            "input_index": b.input_index,
        })),
        "vehicle": leaf.vehicle.to_hex(),
        "predecessor": leaf.predecessor().map(|d| d.to_hex()),
        "successor": leaf.successor().map(|d| d.to_hex()),
        "pending_recovery": leaf.pending_recovery.as_ref().map(|p| json!({
            "owner": hex::encode(p.owner),
            "effective_at": p.effective_at,
        })),
        "history": {
            "count": leaf.history.count,
            "root": hex::encode(leaf.history.root),
            "last_input": leaf.history.last_input,
        },
    })
}

fn leaf_hash_of(encoded: &[u8]) -> [u8; 32] {
    sha256_parts(&[LEAF_HASH_TAG, encoded])
}

// --- The story of one device, "state device": its history notices and its leaf after each.

const STATE_DEVICE: &str = "state device";

/// The sealed values of a notice's envelope entries: the commitment key and the readings of
/// each, in entry order.
type Values = Vec<([u8; 32], Vec<Reading>)>;

fn envelope_values(values: &[([u8; 32], Vec<Reading>)]) -> Vec<EnvelopeValues> {
    values
        .iter()
        .map(|(key, readings)| EnvelopeValues {
            commitment_key: CommitmentKey::from_bytes(*key),
            readings: readings.clone(),
        })
        .collect()
}

/// `(counter, blinding, reading)` of each reading entry, in order (counters are consecutive
/// within an envelope: the notices' envelope entries name the first).
fn reading_values(
    notice: &HistoryNotice,
    values: &[([u8; 32], Vec<Reading>)],
) -> Vec<(u64, [u8; 32], Reading)> {
    let firsts = notice.entries.iter().filter_map(|e| match e {
        HistoryEntry::Envelope { first_counter, .. } => Some(*first_counter),
        _ => None,
    });
    let mut out = Vec::new();
    for (first, (key, readings)) in firsts.zip(values) {
        let key = CommitmentKey::from_bytes(*key);
        for (i, reading) in readings.iter().enumerate() {
            let counter = first + i as u64;
            out.push((counter, key.blinding(counter), reading.clone()));
        }
    }
    out
}

/// A notice that decodes but whose values do not open: name, bytes, the keys to try, the
/// expected error and what was done.
type OpenCase<'a> = (
    &'a str,
    Vec<u8>,
    &'a [u8; 32],
    Option<&'a [u8; 32]>,
    &'a str,
    &'a str,
);

/// One history notice of the story, with the values it seals and the leaf after it.
struct Step {
    name: &'static str,
    notice: HistoryNotice,
    values: Values,
    leaf: DeviceLeaf,
}

fn era_keys(backend: &BackendSecretKey, id: &DeviceId, era: u32) -> (HistoryKey, HistoryKey) {
    let secret = backend.to_bytes();
    (
        history_key(ODOMETER_KEY_TAG, &secret, id, era),
        history_key(DETAIL_KEY_TAG, &secret, id, era),
    )
}

/// The vehicle of a vector's `label`: the simulated VIN and salt of `label`'s seed.
fn vector_vehicle(label: &str) -> VehicleIdentity {
    VehicleIdentity::simulated(&seed_for(label))
}

/// The story's correction of the rollback at counter 3 (input 13).
fn story_correction(device_id: DeviceId) -> Correction {
    Correction {
        device_id,
        counter: 3,
        odometer_m: Some(10_295_000),
        baseline_m: None,
        reason: CorrectionReason::SensorFault,
        evidence: EvidenceType::DiagnosticLog,
        evidence_digest: Sha256::digest(b"witness vector seed/diagnostic log").into(),
        note: "odometer sensor fault at counter 3; the cluster showed 10,295 km".into(),
    }
}

fn story_reading(timestamp: u32, odometer_m: u64, faults: Vec<FaultCode>) -> Reading {
    Reading {
        timestamp,
        odometer_m,
        fuel_ml: 700 + (timestamp % 97),
        engine_s: 3_600_000 + (timestamp - 1_789_900_000) / 4,
        faults,
    }
}

struct ReadingEvent {
    counter: u64,
    reading: Reading,
    rollback_of: Option<u64>,
}

/// The envelope entry, reading entries and sealed values of one envelope of the story (its
/// readings' counters consecutive from the first event's). The commitment key is a stand-in
/// named by the first counter.
fn envelope_entries(
    id: DeviceId,
    events: &[ReadingEvent],
) -> crate::Result<(Vec<HistoryEntry>, Values)> {
    let first = events.first().ok_or(crate::Error::InvalidField)?.counter;
    let key_bytes = seed_for(&format!("{STATE_DEVICE}/commitment key/{first}"));
    let key = CommitmentKey::from_bytes(key_bytes);
    let mut entries = vec![HistoryEntry::Envelope {
        first_counter: first,
        count: events.len() as u8,
    }];
    let mut readings = Vec::new();
    for event in events {
        let blinding = key.blinding(event.counter);
        let commitment = commitment_of(id, event.counter, &blinding, &event.reading)?;
        entries.push(HistoryEntry::Reading {
            counter: event.counter,
            commitment,
            rollback_of: event.rollback_of,
        });
        readings.push(event.reading.clone());
    }
    Ok((entries, vec![(key_bytes, readings)]))
}

/// Emits the leaf's next history notice (era, position and previous input from the leaf)
/// and folds it into the leaf's accumulator.
fn emit(
    leaf: &mut DeviceLeaf,
    backend: &BackendSecretKey,
    input_index: u64,
    block_timestamp: u64,
    entries: Vec<HistoryEntry>,
    values: &[([u8; 32], Vec<Reading>)],
) -> crate::Result<HistoryNotice> {
    let mut notice = HistoryNotice {
        device_id: leaf.device_id,
        input_index,
        block_timestamp,
        era: leaf.era,
        position: leaf.history.count,
        previous_input: leaf.history.last_input,
        entries,
        sealed: SealedValues::default(),
    };
    let (odometer_key, detail_key) = era_keys(backend, &leaf.device_id, leaf.era);
    notice.seal_values(&odometer_key, &detail_key, &envelope_values(values))?;
    fold(&mut leaf.history, &notice.encode(), input_index);
    Ok(notice)
}

/// Section 16.4: `root_{n+1} = H("witness/v2/history" ‖ root_n ‖ H(notice_n))`.
fn fold(acc: &mut HistoryAccumulator, notice: &[u8], input_index: u64) {
    let notice_hash = sha256_parts(&[notice]);
    acc.root = sha256_parts(&[b"witness/v2/history", &acc.root, &notice_hash]);
    acc.count += 1;
    acc.last_input = Some(input_index);
}

/// The keys of the story's people.
fn person(label: &str) -> [u8; 32] {
    SigningKey::from_seed(&seed_for(label))
        .public_key()
        .to_bytes()
}

fn story() -> crate::Result<Vec<Step>> {
    let backend = vector_backend();
    let id = device_id(STATE_DEVICE);
    let registrar = person("registrar");
    let mut leaf = DeviceLeaf::new(id, ModelId(3), person(STATE_DEVICE));
    leaf.vehicle = vector_vehicle(STATE_DEVICE).id()?;
    let mut steps = Vec::new();

    // Input 3: registered.
    let entries = vec![HistoryEntry::Registered {
        model: ModelId(3),
        registrar,
    }];
    let notice = emit(&mut leaf, &backend, 3, 1_789_990_000, entries, &[])?;
    steps.push(Step {
        name: "history_registration",
        notice,
        values: Vec::new(),
        leaf: leaf.clone(),
    });

    // Input 5: the first reading, then the device is paired with its first owner (era 0 → 1).
    let first = ReadingEvent {
        counter: 1,
        reading: story_reading(1_790_000_000, 10_000_000, vec![]),
        rollback_of: None,
    };
    let (mut entries, values) = envelope_entries(id, &[first])?;
    entries.push(HistoryEntry::OwnerChanged {
        sequence: 1,
        consented: false,
        owner: person("seller"),
    });
    leaf.last_counter = Some(1);
    leaf.attested = 1;
    leaf.highest = attested_ref(&entries, 1, 5);
    leaf.first = leaf.highest;
    let notice = emit(&mut leaf, &backend, 5, 1_790_000_400, entries, &values)?;
    leaf.owner = Some(person("seller"));
    leaf.ownership_sequence = Some(1);
    leaf.era = 1;
    steps.push(Step {
        name: "history_reading_and_pairing",
        notice,
        values,
        leaf: leaf.clone(),
    });

    // Input 8: three readings in era 1, in two envelopes (counters 2-3 and 4); the second
    // reading falls below the first (a rollback).
    let events = [
        ReadingEvent {
            counter: 2,
            reading: story_reading(1_790_090_000, 10_250_000, vec![]),
            rollback_of: None,
        },
        ReadingEvent {
            counter: 3,
            reading: story_reading(1_790_091_800, 2_500_000, vec![FaultCode(0x0301)]),
            rollback_of: Some(2),
        },
        ReadingEvent {
            counter: 4,
            reading: story_reading(1_790_180_000, 10_290_000, vec![]),
            rollback_of: None,
        },
    ];
    let (mut entries, mut values) = envelope_entries(id, &events[..2])?;
    let (more_entries, more_values) = envelope_entries(id, &events[2..])?;
    entries.extend(more_entries);
    values.extend(more_values);
    leaf.last_counter = Some(4);
    leaf.attested = 3;
    leaf.highest = attested_ref(&entries, 4, 8);
    leaf.tamper_events = 1;
    leaf.latest_tamper = Some(Box::new(TamperRef {
        counter: 3,
        reference_counter: 2,
        input_index: 8,
    }));
    leaf.open_tampers = 1;
    let notice = emit(&mut leaf, &backend, 8, 1_790_180_300, entries, &values)?;
    steps.push(Step {
        name: "history_three_readings_with_rollback",
        notice,
        values,
        leaf: leaf.clone(),
    });

    // Input 12: a reading, a countersigned sale (era 1 → 2) that ends the notice, and a
    // reading of the new era in a second notice of the same input.
    let fifth = ReadingEvent {
        counter: 5,
        reading: story_reading(1_790_200_000, 10_600_000, vec![]),
        rollback_of: None,
    };
    let (mut entries, values) = envelope_entries(id, &[fifth])?;
    entries.push(HistoryEntry::OwnerChanged {
        sequence: 2,
        consented: true,
        owner: person("buyer"),
    });
    leaf.last_counter = Some(5);
    leaf.attested = 4;
    leaf.highest = attested_ref(&entries, 5, 12);
    let notice = emit(&mut leaf, &backend, 12, 1_790_200_500, entries, &values)?;
    leaf.owner = Some(person("buyer"));
    leaf.ownership_sequence = Some(2);
    leaf.era = 2;
    steps.push(Step {
        name: "history_reading_and_sale",
        notice,
        values,
        leaf: leaf.clone(),
    });
    let sixth = ReadingEvent {
        counter: 6,
        reading: story_reading(1_790_200_300, 10_603_000, vec![]),
        rollback_of: None,
    };
    // Another envelope of input 12, after the sale: its own commitment key.
    let (entries, values) = envelope_entries(id, &[sixth])?;
    leaf.last_counter = Some(6);
    leaf.attested = 5;
    leaf.highest = attested_ref(&entries, 6, 12);
    let notice = emit(&mut leaf, &backend, 12, 1_790_200_500, entries, &values)?;
    steps.push(Step {
        name: "history_after_sale",
        notice,
        values,
        leaf: leaf.clone(),
    });

    // Input 13: a registrar clears the rollback at counter 3 (a sensor fault: the reading's
    // value is corrected, the baseline stays) and rotates the key.
    let new_key = person("state device rotated");
    let entries = vec![
        HistoryEntry::Corrected {
            registrar,
            cleared: true,
            correction: story_correction(id),
        },
        HistoryEntry::KeyRotated { new_key },
    ];
    leaf.corrections = 1;
    leaf.latest_correction = Some(Box::new(CorrectionRef {
        counter: 3,
        input_index: 13,
    }));
    leaf.open_tampers = 0;
    leaf.key = new_key;
    let notice = emit(&mut leaf, &backend, 13, 1_790_300_000, entries, &[])?;
    steps.push(Step {
        name: "history_correction_and_key_rotation",
        notice,
        values: Vec::new(),
        leaf: leaf.clone(),
    });

    // Inputs 14-17: a registrar starts an ownership recovery, the owner objects; a second
    // recovery takes effect after its delay (era 2 → 3), recorded with the input that
    // completed it.
    let recovered = person("recovered owner");
    let first_recovery = 1_790_400_000 + RECOVERY_DELAY_S;
    let second_recovery = 1_790_500_000 + RECOVERY_DELAY_S;
    let recovery_steps: [(&'static str, u64, u64, HistoryEntry); 4] = [
        (
            "history_recovery_started",
            14,
            1_790_400_000,
            HistoryEntry::RecoveryStarted {
                registrar,
                owner: recovered,
                effective_at: first_recovery,
            },
        ),
        (
            "history_recovery_objected",
            15,
            1_790_401_000,
            HistoryEntry::RecoveryEnded {
                outcome: RecoveryOutcome::Objected,
            },
        ),
        (
            "history_recovery_started_again",
            16,
            1_790_500_000,
            HistoryEntry::RecoveryStarted {
                registrar,
                owner: recovered,
                effective_at: second_recovery,
            },
        ),
        (
            "history_owner_recovered",
            17,
            second_recovery + 60,
            HistoryEntry::OwnerRecovered { owner: recovered },
        ),
    ];
    for (name, input, time, entry) in recovery_steps {
        leaf.pending_recovery = match &entry {
            HistoryEntry::RecoveryStarted {
                owner,
                effective_at,
                ..
            } => Some(Box::new(PendingRecovery {
                owner: *owner,
                effective_at: *effective_at,
            })),
            _ => None,
        };
        let recovery = matches!(entry, HistoryEntry::OwnerRecovered { .. });
        let notice = emit(&mut leaf, &backend, input, time, vec![entry], &[])?;
        if recovery {
            leaf.owner = Some(recovered);
            leaf.era += 1;
        }
        steps.push(Step {
            name,
            notice,
            values: Vec::new(),
            leaf: leaf.clone(),
        });
    }

    // Input 18: revoked.
    let entries = vec![HistoryEntry::Revoked {
        reason: "stolen".into(),
    }];
    leaf.revoked = true;
    let notice = emit(&mut leaf, &backend, 18, 1_791_200_000, entries, &[])?;
    steps.push(Step {
        name: "history_revoked",
        notice,
        values: Vec::new(),
        leaf: leaf.clone(),
    });

    // Input 19: reinstated (the stolen car was found).
    let entries = vec![HistoryEntry::Reinstated {
        reason: "found".into(),
    }];
    leaf.revoked = false;
    let notice = emit(&mut leaf, &backend, 19, 1_791_300_000, entries, &[])?;
    steps.push(Step {
        name: "history_reinstated",
        notice,
        values: Vec::new(),
        leaf,
    });
    Ok(steps)
}

/// The reading entry with `counter` as the leaf's highest attested reading.
fn attested_ref(entries: &[HistoryEntry], counter: u64, input_index: u64) -> Option<AttestedRef> {
    entries.iter().find_map(|entry| match entry {
        HistoryEntry::Reading {
            counter: c,
            commitment,
            ..
        } if *c == counter => Some(AttestedRef {
            counter,
            commitment: *commitment,
            input_index,
        }),
        _ => None,
    })
}

// --- leaf vectors (16.2)

fn leaf_vector(name: &str, leaf: &DeviceLeaf) -> Value {
    let encoded = leaf.encode();
    let mut map = new_vector(name, "leaf");
    map.insert("leaf".into(), json!(hex::encode(encoded)));
    map.insert(
        "leaf_hash".into(),
        json!(hex::encode(leaf_hash_of(&encoded))),
    );
    map.insert("fields".into(), leaf_json(leaf));
    Value::Object(map)
}

fn invalid_leaf_vector(name: &str, bytes: &[u8], code: &str, what: &str) -> Value {
    let mut map = new_vector(name, "leaf");
    mark_invalid(&mut map, code);
    map.insert("leaf".into(), json!(hex::encode(bytes)));
    map.insert("leaf_hash".into(), Value::Null);
    map.insert("fields".into(), Value::Null);
    map.insert("mutation".into(), json!(what));
    Value::Object(map)
}

fn leaf_vectors(steps: &[Step]) -> Vec<Value> {
    let fresh = DeviceLeaf::new(device_id("leaf fresh"), ModelId(7), person("leaf fresh"));
    let mut out = vec![leaf_vector("leaf_fresh", &fresh)];
    // A unit between two others of its vehicle, with the baseline its replacement stated.
    let mut linked = fresh.clone();
    linked.vehicle = VehicleIdentity::simulated(&seed_for("leaf fresh"))
        .id()
        .unwrap_or(crate::VehicleId([0; 32]));
    linked.links = UnitLinks::boxed(
        Some(device_id("leaf earlier unit")),
        Some(device_id("leaf later unit")),
    );
    linked.corrected_baseline = Some(Box::new(CorrectedBaseline {
        odometer_m: 55_000_000,
        input_index: 9,
    }));
    out.push(leaf_vector("leaf_between_units", &linked));
    for (name, step) in [
        ("leaf_registered", "history_registration"),
        ("leaf_with_owner", "history_reading_and_pairing"),
        ("leaf_flagged", "history_three_readings_with_rollback"),
        ("leaf_after_sale", "history_after_sale"),
        ("leaf_corrected", "history_correction_and_key_rotation"),
        ("leaf_recovery_pending", "history_recovery_started_again"),
        ("leaf_recovered", "history_owner_recovered"),
        ("leaf_revoked", "history_revoked"),
        ("leaf_reinstated", "history_reinstated"),
    ] {
        if let Some(step) = steps.iter().find(|s| s.name == step) {
            out.push(leaf_vector(name, &step.leaf));
        }
    }
    let Some(base) = steps
        .iter()
        .find(|s| s.name == "history_correction_and_key_rotation")
    else {
        return out;
    };
    let good = base.leaf.encode();
    let fresh = fresh.encode();
    let with = |bytes: &[u8], offset: usize, value: &[u8]| {
        let mut b = bytes.to_vec();
        b[offset..offset + value.len()].copy_from_slice(value);
        b
    };
    let cases: [(&str, Vec<u8>, &str, &str); 18] = [
        (
            "leaf_invalid_version_1",
            with(&good, 0, &[1]),
            "unsupported_version",
            "byte 0 (leaf version) = 1, the layout before open rollbacks were counted",
        ),
        (
            "leaf_invalid_revoked_2",
            with(&good, 53, &[2]),
            "invalid_field",
            "byte 53 (revoked) = 2",
        ),
        (
            "leaf_invalid_present_2",
            with(&good, 67, &[2]),
            "invalid_field",
            "byte 67 (owner present) = 2",
        ),
        (
            "leaf_invalid_absent_last_counter_not_zero",
            with(&fresh, 66, &[1]),
            "invalid_field",
            "fresh leaf, byte 66 (last byte of the absent last counter) = 1",
        ),
        (
            "leaf_invalid_absent_owner_not_zero",
            with(&fresh, 68, &[0x80]),
            "invalid_field",
            "fresh leaf, byte 68 (first byte of the absent owner key) = 0x80",
        ),
        (
            "leaf_invalid_absent_highest_not_zero",
            with(&fresh, 143, &[1]),
            "invalid_field",
            "fresh leaf, byte 143 (inside the absent highest's commitment) = 1",
        ),
        (
            "leaf_invalid_absent_first_not_zero",
            with(&fresh, 192, &[1]),
            "invalid_field",
            "fresh leaf, byte 192 (inside the absent first attested's commitment) = 1",
        ),
        (
            "leaf_invalid_absent_latest_tamper_not_zero",
            with(&fresh, 247, &[1]),
            "invalid_field",
            "fresh leaf, byte 247 (last byte of the absent latest tamper) = 1",
        ),
        (
            "leaf_invalid_corrected_baseline_present_2",
            with(&good, 269, &[2]),
            "invalid_field",
            "byte 269 (corrected baseline present) = 2",
        ),
        (
            "leaf_invalid_absent_corrected_baseline_not_zero",
            with(&fresh, 277, &[1]),
            "invalid_field",
            "fresh leaf, byte 277 (last byte of the absent corrected baseline's value) = 1",
        ),
        (
            "leaf_invalid_predecessor_present_2",
            with(&good, 318, &[2]),
            "invalid_field",
            "byte 318 (predecessor present) = 2",
        ),
        (
            "leaf_invalid_absent_successor_not_zero",
            with(&fresh, 336, &[1]),
            "invalid_field",
            "fresh leaf, byte 336 (first byte of the absent successor) = 1",
        ),
        (
            "leaf_invalid_pending_recovery_present_2",
            with(&good, 352, &[2]),
            "invalid_field",
            "byte 352 (pending recovery present) = 2",
        ),
        (
            "leaf_invalid_absent_pending_recovery_not_zero",
            with(&fresh, 392, &[1]),
            "invalid_field",
            "fresh leaf, byte 392 (last byte of the absent pending recovery's time) = 1",
        ),
        (
            "leaf_invalid_absent_last_history_input_not_zero",
            with(&fresh, 441, &[1]),
            "invalid_field",
            "fresh leaf, byte 441 (last byte of the absent history input) = 1",
        ),
        (
            "leaf_invalid_truncated",
            good[..good.len() - 1].to_vec(),
            "truncated",
            "last byte removed",
        ),
        (
            "leaf_invalid_trailing",
            [good.as_slice(), &[0]].concat(),
            "trailing_bytes",
            "a zero byte appended",
        ),
        ("leaf_invalid_empty", Vec::new(), "truncated", "no bytes"),
    ];
    for (name, bytes, code, what) in cases {
        out.push(invalid_leaf_vector(name, &bytes, code, what));
    }
    out
}

// --- the device map (16.3), built from the rules of the section

fn key_bit_of(id: &DeviceId, index: usize) -> bool {
    id.0[index / 8] >> (7 - index % 8) & 1 == 1
}

/// The hash of the subtree at `depth` holding `leaves` (which share their first `depth`
/// bits): `EMPTY` when there is none, the leaf's hash when there is one, else an inner node.
fn subtree_hash(leaves: &[&DeviceLeaf], depth: usize) -> [u8; 32] {
    match leaves {
        [] => EMPTY,
        [one] => leaf_hash_of(&one.encode()),
        _ => {
            let (right, left): (Vec<&DeviceLeaf>, Vec<&DeviceLeaf>) = leaves
                .iter()
                .partition(|leaf| key_bit_of(&leaf.device_id, depth));
            let left = subtree_hash(&left, depth + 1);
            let right = subtree_hash(&right, depth + 1);
            sha256_parts(&[MAP_NODE_TAG, &left, &right])
        }
    }
}

/// The path to where the search for `key` ends: the siblings top-down and the terminal.
fn prove(leaves: &[&DeviceLeaf], key: &DeviceId) -> MapProof {
    let mut here: Vec<&DeviceLeaf> = leaves.to_vec();
    let mut siblings = Vec::new();
    let mut depth = 0;
    loop {
        match here.as_slice() {
            [] => {
                return MapProof {
                    siblings,
                    terminal: Terminal::Empty,
                };
            }
            [one] => {
                return MapProof {
                    siblings,
                    terminal: Terminal::Leaf((*one).clone()),
                };
            }
            _ => {
                let (same, other): (Vec<&DeviceLeaf>, Vec<&DeviceLeaf>) = here
                    .iter()
                    .partition(|leaf| key_bit_of(&leaf.device_id, depth) == key_bit_of(key, depth));
                siblings.push(subtree_hash(&other, depth + 1));
                here = same;
                depth += 1;
            }
        }
    }
}

struct DeviceMap {
    name: &'static str,
    leaves: Vec<DeviceLeaf>,
}

impl DeviceMap {
    fn refs(&self) -> Vec<&DeviceLeaf> {
        self.leaves.iter().collect()
    }

    fn root(&self) -> [u8; 32] {
        subtree_hash(&self.refs(), 0)
    }

    fn prove(&self, key: &DeviceId) -> MapProof {
        prove(&self.refs(), key)
    }

    fn leaf(&self, index: usize) -> crate::Result<&DeviceLeaf> {
        self.leaves.get(index).ok_or(crate::Error::InvalidField)
    }

    fn vector(&self) -> Value {
        let mut map = new_vector(self.name, "map");
        map.insert(
            "leaves".into(),
            json!(
                self.leaves
                    .iter()
                    .map(|l| hex::encode(l.encode()))
                    .collect::<Vec<_>>()
            ),
        );
        map.insert("root".into(), json!(hex::encode(self.root())));
        Value::Object(map)
    }
}

fn map_leaf(label: &str, id: DeviceId, model: u32) -> DeviceLeaf {
    let mut leaf = DeviceLeaf::new(id, ModelId(model), person(label));
    // Some leaves carry more than a fresh registration, so that leaf hashes differ in more
    // than the id.
    if model % 2 == 1 {
        leaf.last_counter = Some(u64::from(model) * 100);
        leaf.attested = u64::from(model) * 90;
    }
    leaf
}

/// Eight devices: six with label-derived ids, and a pair of twins whose ids differ only in
/// the last bit (so their leaves sit at depth 128).
fn eight_device_map() -> DeviceMap {
    let mut leaves: Vec<DeviceLeaf> = (0..6)
        .map(|i| {
            let label = format!("map device {i}");
            map_leaf(&label, device_id(&label), i)
        })
        .collect();
    let twin = device_id("map twin");
    let mut other = twin;
    other.0[15] ^= 0x01;
    leaves.push(map_leaf("map twin", twin, 6));
    leaves.push(map_leaf("map twin other", other, 7));
    DeviceMap {
        name: "map_eight_devices",
        leaves,
    }
}

fn flip_bit(id: &DeviceId, index: usize) -> DeviceId {
    let mut out = *id;
    out.0[index / 8] ^= 0x80 >> (index % 8);
    out
}

struct ProofCase<'a> {
    name: &'a str,
    map: &'a DeviceMap,
    root: [u8; 32],
    key: DeviceId,
    proof: Vec<u8>,
    /// `Ok(Some(leaf))` member, `Ok(None)` absent, `Err(code)`.
    outcome: core::result::Result<Option<DeviceLeaf>, &'a str>,
    what: &'a str,
}

fn proof_vector(case: ProofCase<'_>) -> Value {
    let mut map = new_vector(case.name, "map_proof");
    map.insert("map".into(), json!(case.map.name));
    map.insert("root".into(), json!(hex::encode(case.root)));
    map.insert("key".into(), json!(case.key.to_hex()));
    map.insert("proof".into(), json!(hex::encode(&case.proof)));
    match case.outcome {
        Ok(Some(leaf)) => {
            map.insert("outcome".into(), json!("member"));
            map.insert("member_leaf".into(), json!(hex::encode(leaf.encode())));
        }
        Ok(None) => {
            map.insert("outcome".into(), json!("absent"));
            map.insert("member_leaf".into(), Value::Null);
        }
        Err(code) => {
            mark_invalid(&mut map, code);
            map.insert("outcome".into(), Value::Null);
            map.insert("member_leaf".into(), Value::Null);
        }
    }
    map.insert("description".into(), json!(case.what));
    Value::Object(map)
}

/// A valid proof case: its outcome follows from where the search ended.
fn valid_case<'a>(
    name: &'a str,
    map: &'a DeviceMap,
    key: DeviceId,
    what: &'a str,
) -> ProofCase<'a> {
    let proof = map.prove(&key);
    let outcome = match &proof.terminal {
        Terminal::Leaf(leaf) if leaf.device_id == key => Ok(Some(leaf.clone())),
        _ => Ok(None),
    };
    ProofCase {
        name,
        map,
        root: map.root(),
        key,
        proof: proof.encode(),
        outcome,
        what,
    }
}

fn map_vectors() -> crate::Result<Vec<Value>> {
    let eight = eight_device_map();
    let one = DeviceMap {
        name: "map_one_device",
        leaves: vec![map_leaf("map device 0", device_id("map device 0"), 0)],
    };
    let empty = DeviceMap {
        name: "map_empty",
        leaves: Vec::new(),
    };
    let mut out = vec![eight.vector(), one.vector(), empty.vector()];
    let id = |i: usize| eight.leaf(i).map(|l| l.device_id);
    let twin = id(6)?;
    let mut cases = Vec::new();
    for (name, index, what) in [
        (
            "map_proof_member_device_0",
            0,
            "membership of map device 0 (depth 5)",
        ),
        (
            "map_proof_member_device_2",
            2,
            "membership of map device 2 (depth 2)",
        ),
        (
            "map_proof_member_device_3",
            3,
            "membership of map device 3 (depth 7, with EMPTY siblings)",
        ),
        (
            "map_proof_member_device_5",
            5,
            "membership of map device 5 (depth 3)",
        ),
        (
            "map_proof_member_twin",
            6,
            "membership of the twin: depth 128, most siblings EMPTY",
        ),
        (
            "map_proof_member_twin_other",
            7,
            "membership of the other twin (last bit 1)",
        ),
    ] {
        cases.push(valid_case(name, &eight, id(index)?, what));
    }
    let beside_twin = flip_bit(&twin, 40);
    cases.push(valid_case(
        "map_proof_absent_empty_subtree",
        &eight,
        beside_twin,
        "the twin's id with bit 40 flipped: the search ends in an empty subtree",
    ));
    let beside_device_0 = flip_bit(&id(0)?, 127);
    cases.push(valid_case(
        "map_proof_absent_other_leaf",
        &eight,
        beside_device_0,
        "map device 0's id with its last bit flipped: the search ends at device 0's leaf",
    ));
    cases.push(valid_case(
        "map_proof_absent_label",
        &eight,
        device_id("map absent"),
        "an id derived from the label \"map absent\"",
    ));
    cases.push(valid_case(
        "map_proof_one_device_member",
        &one,
        id(0)?,
        "a map of one device: the root is its leaf hash, depth 0",
    ));
    cases.push(valid_case(
        "map_proof_one_device_absent",
        &one,
        device_id("map absent"),
        "a map of one device, another key: the lone leaf at depth 0 proves absence",
    ));
    cases.push(valid_case(
        "map_proof_empty_map_absent",
        &empty,
        device_id("map absent"),
        "the empty map: root EMPTY, depth 0, empty terminal",
    ));
    for case in &cases {
        if case.outcome.is_err() {
            return Err(crate::Error::InvalidField);
        }
    }

    // Invalid proofs.
    let member = eight.prove(&id(3)?);
    let member_bytes = member.encode();
    let depth = member.siblings.len();
    let mut flipped = member_bytes.clone();
    flipped[19] ^= 0x01; // first byte of the first non-EMPTY sibling
    cases.push(ProofCase {
        name: "map_proof_invalid_sibling_flipped",
        map: &eight,
        root: eight.root(),
        key: id(3)?,
        proof: flipped,
        outcome: Err("root_mismatch"),
        what: "membership of device 3 with a bit of its first sibling flipped",
    });
    // Device 3's proof presented for a device that branches off inside its path.
    let key_3 = id(3)?;
    let other_key = eight
        .leaves
        .iter()
        .map(|l| l.device_id)
        .find(|k| (0..depth).any(|b| key_bit_of(k, b) != key_bit_of(&key_3, b)))
        .ok_or(crate::Error::InvalidField)?;
    cases.push(ProofCase {
        name: "map_proof_invalid_wrong_key",
        map: &eight,
        root: eight.root(),
        key: other_key,
        proof: member_bytes.clone(),
        outcome: Err("wrong_prefix"),
        what: "device 3's membership proof checked for another device's key",
    });
    let empty_proof = eight.prove(&beside_twin);
    if empty_proof.terminal != Terminal::Empty {
        return Err(crate::Error::InvalidField);
    }
    cases.push(ProofCase {
        name: "map_proof_invalid_empty_proof_for_another_key",
        map: &eight,
        root: eight.root(),
        key: flip_bit(&twin, 41),
        proof: empty_proof.encode(),
        outcome: Err("root_mismatch"),
        what: "the empty-subtree proof for the twin's id with bit 40 flipped, checked for the twin's id with bit 41 flipped",
    });
    let absent = eight.prove(&beside_device_0);
    let absent_depth = absent.siblings.len();
    let stranger = (0..eight.leaves.len())
        .filter_map(|i| eight.leaves.get(i))
        .find(|l| {
            (0..absent_depth)
                .any(|b| key_bit_of(&l.device_id, b) != key_bit_of(&beside_device_0, b))
        })
        .ok_or(crate::Error::InvalidField)?;
    let wrong_prefix = MapProof {
        siblings: absent.siblings.clone(),
        terminal: Terminal::Leaf(stranger.clone()),
    };
    cases.push(ProofCase {
        name: "map_proof_invalid_other_leaf_wrong_prefix",
        map: &eight,
        root: eight.root(),
        key: beside_device_0,
        proof: wrong_prefix.encode(),
        outcome: Err("wrong_prefix"),
        what: "the absence proof ending at device 0's leaf, with another device's leaf (not sharing the prefix) as terminal",
    });
    cases.push(ProofCase {
        name: "map_proof_invalid_stale_root",
        map: &eight,
        root: one.root(),
        key: id(0)?,
        proof: eight.prove(&id(0)?).encode(),
        outcome: Err("root_mismatch"),
        what: "device 0's membership proof in the eight-device map, checked against the one-device map's root",
    });
    let mut beyond = member_bytes.clone();
    beyond[3 + depth / 8] |= 0x80 >> (depth % 8);
    cases.push(ProofCase {
        name: "map_proof_invalid_bitmap_bit_beyond_depth",
        map: &eight,
        root: eight.root(),
        key: id(3)?,
        proof: beyond,
        outcome: Err("invalid_field"),
        what: "device 3's membership proof with bitmap bit d (= depth) set",
    });
    let mut beyond_truncated = member_bytes.clone();
    beyond_truncated[3 + depth / 8] |= 0x80 >> (depth % 8);
    beyond_truncated.truncate(40);
    cases.push(ProofCase {
        name: "map_proof_invalid_bitmap_bit_beyond_depth_truncated",
        map: &eight,
        root: eight.root(),
        key: id(3)?,
        proof: beyond_truncated,
        outcome: Err("invalid_field"),
        what: "the first 40 bytes of device 3's membership proof with bitmap bit d set: the bitmap is refused before the missing siblings are reached",
    });
    let mut last_bit = member_bytes.clone();
    last_bit[18] |= 0x01;
    cases.push(ProofCase {
        name: "map_proof_invalid_bitmap_bit_127",
        map: &eight,
        root: eight.root(),
        key: id(3)?,
        proof: last_bit,
        outcome: Err("invalid_field"),
        what: "device 3's membership proof with bitmap bit 127 set",
    });
    let mutated = |offset: usize, value: u8| {
        let mut b = member_bytes.clone();
        b[offset] = value;
        b
    };
    for (name, proof, code, what) in [
        (
            "map_proof_invalid_trailing",
            [member_bytes.as_slice(), &[0]].concat(),
            "trailing_bytes",
            "device 3's membership proof with a zero byte appended",
        ),
        (
            "map_proof_invalid_truncated",
            member_bytes[..member_bytes.len() - 1].to_vec(),
            "truncated",
            "device 3's membership proof without its last byte",
        ),
        (
            "map_proof_invalid_version_2",
            mutated(0, 2),
            "unsupported_version",
            "proof version 2",
        ),
        (
            "map_proof_invalid_terminal_2",
            mutated(1, 2),
            "invalid_field",
            "terminal byte 2",
        ),
        (
            "map_proof_invalid_depth_129",
            mutated(2, 129),
            "oversize",
            "depth 129",
        ),
        (
            "map_proof_invalid_leaf_revoked_2",
            {
                let mut b = member_bytes.clone();
                let at = b.len() - crate::state::LEAF_LEN + 53;
                b[at] = 2;
                b
            },
            "invalid_field",
            "device 3's membership proof whose terminal leaf has revoked = 2",
        ),
        (
            "map_proof_invalid_terminal_0_with_leaf",
            mutated(1, 0),
            "trailing_bytes",
            "device 3's membership proof with terminal 0: the leaf bytes are then trailing",
        ),
    ] {
        cases.push(ProofCase {
            name,
            map: &eight,
            root: eight.root(),
            key: id(3)?,
            proof,
            outcome: Err(code),
            what,
        });
    }
    // A sibling that is EMPTY but marked present (bitmap bit set, 32 zero bytes): not the
    // canonical encoding (section 2; 16.3 "bit set = the sibling is not EMPTY").
    let twin_proof = eight.prove(&twin);
    let empty_at = twin_proof
        .siblings
        .iter()
        .position(|s| *s == EMPTY)
        .ok_or(crate::Error::InvalidField)?;
    let set_before = twin_proof.siblings[..empty_at]
        .iter()
        .filter(|s| **s != EMPTY)
        .count();
    let mut padded = twin_proof.encode();
    padded[3 + empty_at / 8] |= 0x80 >> (empty_at % 8);
    let at = 19 + 32 * set_before;
    padded.splice(at..at, EMPTY);
    cases.push(ProofCase {
        name: "map_proof_invalid_set_bit_with_empty_sibling",
        map: &eight,
        root: eight.root(),
        key: twin,
        proof: padded,
        outcome: Err("invalid_field"),
        what: "the twin's membership proof with an EMPTY sibling written out (bitmap bit set, 32 zero bytes)",
    });
    out.extend(cases.into_iter().map(proof_vector));
    Ok(out)
}

// --- state notices (16.5)

struct Globals {
    admin: [u8; 20],
    gateways: Vec<[u8; 20]>,
    /// `(key, root, trusted, last sequence)`: a removed registrar stays, untrusted, with its
    /// high-water mark.
    registrars: Vec<([u8; 32], bool, bool, Option<u64>)>,
}

impl Globals {
    /// `H("witness/v2/globals" ‖ admin ‖ backend key ‖ u32 n ‖ gateways ascending ‖ u32 m ‖
    /// (key ‖ root u8 ‖ trusted u8 ‖ opt u64 last sequence) by key ascending)`.
    fn hash(&self, backend: &BackendSecretKey) -> [u8; 32] {
        let mut gateways = self.gateways.clone();
        gateways.sort_unstable();
        let mut registrars = self.registrars.clone();
        registrars.sort_unstable_by_key(|r| r.0);
        let mut w = Writer::default();
        w.bytes(b"witness/v2/globals")
            .bytes(&self.admin)
            .bytes(&backend.public_key().to_bytes())
            .u32(gateways.len() as u32);
        for gateway in &gateways {
            w.bytes(gateway);
        }
        w.u32(registrars.len() as u32);
        for (key, root, trusted, last) in &registrars {
            w.bytes(key)
                .u8(u8::from(*root))
                .u8(u8::from(*trusted))
                .u8(u8::from(last.is_some()))
                .u64(last.unwrap_or(0));
        }
        sha256_parts(&[&w.finish()])
    }

    fn json(&self, backend: &BackendSecretKey) -> Value {
        json!({
            "admin": hex::encode(self.admin),
            "backend_public_key": hex::encode(backend.public_key().to_bytes()),
            "gateways": self.gateways.iter().map(hex::encode).collect::<Vec<_>>(),
            "registrars": self.registrars.iter().map(|(key, root, trusted, last)| json!({
                "key": hex::encode(key),
                "root": root,
                "trusted": trusted,
                "last_sequence": last,
            })).collect::<Vec<_>>(),
        })
    }
}

fn state_notice_vector(name: &str, notice: &StateNotice, globals: &Globals) -> Value {
    let backend = vector_backend();
    let mut map = new_vector(name, "state_notice");
    map.insert("notice".into(), json!(hex::encode(notice.encode())));
    map.insert(
        "fields".into(),
        json!({
            "input_index": notice.input_index,
            "block_number": notice.block_number,
            "block_timestamp": notice.block_timestamp,
            "devices": notice.devices,
            "map_root": hex::encode(notice.map_root),
            "globals": hex::encode(notice.globals),
        }),
    );
    map.insert("globals_input".into(), globals.json(&backend));
    Value::Object(map)
}

fn state_notice_vectors() -> crate::Result<Vec<Value>> {
    let backend = vector_backend();
    let registrar = person("registrar");
    let genesis = Globals {
        admin: [0xad; 20],
        gateways: Vec::new(),
        registrars: vec![(registrar, true, true, None)],
    };
    let empty = StateNotice {
        input_index: 0,
        block_number: 21,
        block_timestamp: 1_789_980_000,
        devices: 0,
        map_root: EMPTY,
        globals: genesis.hash(&backend),
    };
    let busy = Globals {
        admin: [0xad; 20],
        gateways: vec![[0x70; 20], [0x17; 20]],
        registrars: vec![
            (registrar, true, true, Some(9)),
            (person("second registrar"), false, true, Some(2)),
            (person("removed registrar"), false, false, Some(4)),
        ],
    };
    let eight = eight_device_map();
    let later = StateNotice {
        input_index: 14,
        block_number: 96,
        block_timestamp: 1_790_400_000,
        devices: eight.leaves.len() as u64,
        map_root: eight.root(),
        globals: busy.hash(&backend),
    };
    let mut out = vec![
        state_notice_vector("state_notice_empty_map", &empty, &genesis),
        state_notice_vector("state_notice_eight_devices", &later, &busy),
    ];
    let good = later.encode();
    let with = |offset: usize, value: u8| {
        let mut b = good.clone();
        b[offset] = value;
        b
    };
    for (name, bytes, code, what) in [
        (
            "state_notice_invalid_version_3",
            with(0, 3),
            "unsupported_version",
            "version byte 3",
        ),
        (
            "state_notice_invalid_kind_5",
            with(1, 5),
            "unknown_kind",
            "kind 5 (a history notice) given to the state notice decoder",
        ),
        (
            "state_notice_invalid_kind_9",
            with(1, 9),
            "unknown_kind",
            "kind 9",
        ),
        (
            "state_notice_invalid_truncated",
            good[..good.len() - 1].to_vec(),
            "truncated",
            "97 bytes",
        ),
        (
            "state_notice_invalid_trailing",
            [good.as_slice(), &[0]].concat(),
            "trailing_bytes",
            "99 bytes",
        ),
        (
            "state_notice_invalid_one_byte_version_3",
            vec![3],
            "unsupported_version",
            "the single byte 03: the version is read (and refused) before the kind is missed",
        ),
        (
            "state_notice_invalid_one_byte",
            vec![2],
            "truncated",
            "the single byte 02",
        ),
        (
            "state_notice_invalid_empty",
            Vec::new(),
            "truncated",
            "no bytes",
        ),
    ] {
        let mut map = new_vector(name, "state_notice");
        mark_invalid(&mut map, code);
        map.insert("notice".into(), json!(hex::encode(bytes)));
        map.insert("fields".into(), Value::Null);
        map.insert("globals_input".into(), Value::Null);
        map.insert("description".into(), json!(what));
        out.push(Value::Object(map));
    }
    Ok(out)
}

// --- history notices (16.4)

fn nonce_of(input_index: u64, part: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&input_index.to_be_bytes());
    n[8..].copy_from_slice(&part.to_be_bytes());
    n
}

/// The odometer part's AAD: the notice from its version byte to the end of its entries.
fn aad_of(notice: &HistoryNotice) -> Vec<u8> {
    let mut bare = notice.clone();
    bare.sealed = SealedValues::default();
    let mut bytes = bare.encode();
    // Two empty ciphertexts are two zero length bytes.
    bytes.truncate(bytes.len().saturating_sub(2));
    bytes
}

fn odometer_plaintext(values: &[([u8; 32], Vec<Reading>)]) -> Vec<u8> {
    let mut w = Writer::default();
    for reading in values.iter().flat_map(|(_, readings)| readings) {
        w.u32(reading.timestamp / 86_400).u64(reading.odometer_m);
    }
    w.finish()
}

fn detail_plaintext(values: &[([u8; 32], Vec<Reading>)]) -> crate::Result<Vec<u8>> {
    let mut w = Writer::default();
    for (key, readings) in values {
        w.bytes(key);
        for reading in readings {
            crate::notice::encode_detail(reading, &mut w)?;
        }
    }
    Ok(w.finish())
}

/// The detail part's AAD: the notice's header, from its version byte to the end of the
/// previous-input field (before the entry count).
fn detail_aad_of(notice: &HistoryNotice) -> Vec<u8> {
    let mut aad = aad_of(notice);
    aad.truncate(HISTORY_HEADER_LEN);
    aad
}

/// Bytes of a history notice's header (version to previous input).
const HISTORY_HEADER_LEN: usize = 55;

/// ChaCha20-Poly1305 (RFC 8439): `ciphertext ‖ tag`.
fn chacha_seal(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> crate::Result<Vec<u8>> {
    use chacha20poly1305::{AeadInOut as _, ChaCha20Poly1305, KeyInit as _};
    let mut buffer = plaintext.to_vec();
    let tag = ChaCha20Poly1305::new(key.into())
        .encrypt_inout_detached(&(*nonce).into(), aad, buffer.as_mut_slice().into())
        .map_err(|_| crate::Error::EncryptionFailed)?;
    buffer.extend_from_slice(&tag);
    Ok(buffer)
}

fn entry_json(entry: &HistoryEntry) -> Value {
    match entry {
        HistoryEntry::Registered { model, registrar } => json!({
            "type": "registered", "model": model.0, "registrar": hex::encode(registrar),
        }),
        HistoryEntry::Envelope {
            first_counter,
            count,
        } => json!({
            "type": "envelope",
            "first_counter": first_counter,
            "count": count,
        }),
        HistoryEntry::Reading {
            counter,
            commitment,
            rollback_of,
        } => json!({
            "type": "reading",
            "counter": counter,
            "commitment": hex::encode(commitment.0),
            "rollback_of": rollback_of,
        }),
        HistoryEntry::Corrected {
            registrar,
            cleared,
            correction,
        } => json!({
            "type": "corrected",
            "registrar": hex::encode(registrar),
            "cleared": cleared,
            "device_id": correction.device_id.to_hex(),
            "counter": correction.counter,
            "odometer_m": correction.odometer_m,
            "baseline_m": correction.baseline_m,
            "reason": correction.reason.code(),
            "evidence": correction.evidence.code(),
            "evidence_digest": hex::encode(correction.evidence_digest),
            "note": correction.note,
        }),
        HistoryEntry::KeyRotated { new_key } => json!({
            "type": "key_rotated", "new_key": hex::encode(new_key),
        }),
        HistoryEntry::Revoked { reason } => json!({"type": "revoked", "reason": reason}),
        HistoryEntry::Reinstated { reason } => json!({"type": "reinstated", "reason": reason}),
        HistoryEntry::ReplacedBy {
            new_device,
            registrar,
        } => json!({
            "type": "replaced_by",
            "new_device": new_device.to_hex(),
            "registrar": hex::encode(registrar),
        }),
        HistoryEntry::Replaces {
            old_device,
            baseline_m,
            registrar,
        } => json!({
            "type": "replaces",
            "old_device": old_device.to_hex(),
            "baseline_m": baseline_m,
            "registrar": hex::encode(registrar),
        }),
        HistoryEntry::OwnerChanged {
            sequence,
            consented,
            owner,
        } => json!({
            "type": "owner_changed",
            "sequence": sequence,
            "consented": consented,
            "owner": hex::encode(owner),
        }),
        HistoryEntry::RecoveryStarted {
            registrar,
            owner,
            effective_at,
        } => json!({
            "type": "recovery_started",
            "registrar": hex::encode(registrar),
            "owner": hex::encode(owner),
            "effective_at": effective_at,
        }),
        HistoryEntry::RecoveryEnded { outcome } => json!({
            "type": "recovery_ended", "outcome": outcome.code(),
        }),
        HistoryEntry::OwnerRecovered { owner } => json!({
            "type": "owner_recovered", "owner": hex::encode(owner),
        }),
    }
}

fn notice_fields(notice: &HistoryNotice) -> Value {
    json!({
        "device_id": notice.device_id.to_hex(),
        "input_index": notice.input_index,
        "block_timestamp": notice.block_timestamp,
        "era": notice.era,
        "position": notice.position,
        "previous_input": notice.previous_input,
        "entries": notice.entries.iter().map(entry_json).collect::<Vec<_>>(),
    })
}

fn history_base(
    name: &str,
    notice_bytes: &[u8],
    id: &DeviceId,
    odometer_key: &[u8; 32],
    detail_key: Option<&[u8; 32]>,
) -> serde_json::Map<String, Value> {
    let mut map = new_vector(name, "history_notice");
    map.insert("notice".into(), json!(hex::encode(notice_bytes)));
    map.insert("device_id".into(), json!(id.to_hex()));
    backend_fields(&mut map, &vector_backend());
    map.insert("odometer_key".into(), json!(hex::encode(odometer_key)));
    map.insert(
        "detail_key".into(),
        detail_key.map_or(Value::Null, |k| json!(hex::encode(k))),
    );
    map
}

fn history_vector(step: &Step, name: &str, with_detail: bool) -> crate::Result<Value> {
    let notice = &step.notice;
    let (odometer_key, detail_key) = era_keys(&vector_backend(), &notice.device_id, notice.era);
    let mut map = history_base(
        name,
        &notice.encode(),
        &notice.device_id,
        &odometer_key,
        with_detail.then_some(&*detail_key),
    );
    map.insert("fields".into(), notice_fields(notice));
    map.insert("odometer_aad".into(), json!(hex::encode(aad_of(notice))));
    map.insert(
        "detail_aad".into(),
        json!(hex::encode(detail_aad_of(notice))),
    );
    let has_values = !step.values.is_empty();
    let hex_if = |bytes: Vec<u8>| {
        if has_values {
            json!(hex::encode(bytes))
        } else {
            Value::Null
        }
    };
    map.insert(
        "odometer_nonce".into(),
        hex_if(nonce_of(notice.input_index, 0).to_vec()),
    );
    map.insert(
        "detail_nonce".into(),
        hex_if(nonce_of(notice.input_index, 1).to_vec()),
    );
    map.insert(
        "odometer_plaintext".into(),
        hex_if(odometer_plaintext(&step.values)),
    );
    map.insert(
        "detail_plaintext".into(),
        hex_if(detail_plaintext(&step.values)?),
    );
    map.insert(
        "odometer_ciphertext".into(),
        json!(hex::encode(&notice.sealed.odometer)),
    );
    map.insert(
        "detail_ciphertext".into(),
        json!(hex::encode(&notice.sealed.detail)),
    );
    let opened: Vec<Value> = reading_values(notice, &step.values)
        .iter()
        .map(|(counter, blinding, reading)| {
            json!({
                "counter": counter,
                "day": reading.timestamp / 86_400,
                "odometer_m": reading.odometer_m,
                "blinding": if with_detail { json!(hex::encode(blinding)) } else { Value::Null },
                "reading": if with_detail { reading_json(reading) } else { Value::Null },
            })
        })
        .collect();
    map.insert("opened".into(), json!(opened));
    Ok(Value::Object(map))
}

fn history_vectors(steps: &[Step]) -> crate::Result<Vec<Value>> {
    let mut out = Vec::new();
    for step in steps {
        out.push(history_vector(step, step.name, true)?);
    }
    let find = |name: &str| {
        steps
            .iter()
            .find(|s| s.name == name)
            .ok_or(crate::Error::InvalidField)
    };
    let three = find("history_three_readings_with_rollback")?;
    out.push(history_vector(
        three,
        "history_three_readings_odometer_key_only",
        false,
    )?);

    let backend = vector_backend();
    let id = three.notice.device_id;
    let (odo, det) = era_keys(&backend, &id, three.notice.era);
    let registration = find("history_registration")?.notice.encode();
    let corrected = find("history_correction_and_key_rotation")?.notice.encode();
    let good = three.notice.encode();
    let with = |bytes: &[u8], offset: usize, value: &[u8]| {
        let mut b = bytes.to_vec();
        b[offset..offset + value.len()].copy_from_slice(value);
        b
    };
    // Offsets: version 0, kind 1, device id 2..18, input 18..26, block time 26..34, era
    // 34..38, position 38..46, previous 46..55, entry count 55, first entry 56. The entries of
    // history_three_readings_with_rollback: envelope (2, 2) at 56 (first counter 57..65,
    // count 65), reading 2 at 66 (commitment 67..99, rollback byte 99), reading 3 (a
    // rollback) at 100 (rollback byte 133, reference counter 134..142), envelope (4, 1) at
    // 142 (count 151), reading 4 at 152.
    let first_envelope_count = 56 + 9;
    let first_rollback_byte = 66 + 33;
    let reference_counter = 100 + 34;
    let second_envelope_count = 142 + 9;
    let pairing = find("history_reading_and_pairing")?;
    let pairing_bytes = pairing.notice.encode();
    // history_reading_and_pairing: envelope (1, 1) at 56 (count 65), reading 1 at 66, owner
    // change at 100 (consented byte 109).
    let without_envelope = {
        let mut n = pairing.notice.clone();
        n.entries
            .retain(|e| !matches!(e, HistoryEntry::Envelope { .. }));
        n.encode()
    };
    let reading_after_owner_change = {
        let mut n = pairing.notice.clone();
        let reading = n
            .entries
            .iter()
            .find(|e| matches!(e, HistoryEntry::Reading { .. }))
            .cloned()
            .ok_or(crate::Error::InvalidField)?;
        n.entries.push(reading);
        n.encode()
    };
    let long_reason = {
        let mut n = HistoryNotice {
            entries: vec![HistoryEntry::Revoked {
                reason: "x".repeat(1025),
            }],
            ..find("history_revoked")?.notice.clone()
        };
        n.sealed = SealedValues::default();
        n.encode()
    };
    let reason_at = corrected
        .windows(4)
        .position(|w| w == b"clus")
        .ok_or(crate::Error::InvalidField)?;
    let decode_cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "history_invalid_version_3",
            with(&good, 0, &[3]),
            "unsupported_version",
            "version byte 3",
        ),
        (
            "history_invalid_kind_4",
            with(&good, 1, &[4]),
            "unknown_kind",
            "kind 4 (a state notice) given to the history notice decoder",
        ),
        (
            "history_invalid_unknown_entry_kind",
            with(&registration, 56, &[15]),
            "unknown_kind",
            "history_registration with entry kind 15",
        ),
        (
            "history_invalid_retired_entry_kind_3",
            with(&registration, 56, &[3]),
            "unknown_kind",
            "history_registration with entry kind 3 (the version 2 draft's correction, retired)",
        ),
        (
            "history_invalid_entry_count_65217",
            [
                &registration[..55],
                &[0xc1, 0xfd, 0x03],
                &registration[56..],
            ]
            .concat(),
            "oversize",
            "history_registration with entry count 65,217 (varint c1 fd 03), one above the limit",
        ),
        (
            "history_invalid_entry_count_beyond_remaining",
            with(&registration, 55, &[100]),
            "truncated",
            "history_registration with entry count 100: 100 entries of at least 2 bytes cannot fit",
        ),
        (
            "history_invalid_entry_count_overlong",
            [&registration[..55], &[0x81, 0x00], &registration[56..]].concat(),
            "non_canonical_varint",
            "history_registration with entry count 1 written 81 00",
        ),
        (
            "history_invalid_previous_present_2",
            with(&good, 46, &[2]),
            "invalid_field",
            "previous-input present byte 2",
        ),
        (
            "history_invalid_previous_absent_not_zero",
            with(&registration, 54, &[1]),
            "invalid_field",
            "history_registration (no previous notice) with a previous input of 1 under present = 0",
        ),
        (
            "history_invalid_rollback_2",
            with(&good, first_rollback_byte, &[2]),
            "invalid_field",
            "the first reading entry's rollback byte 2",
        ),
        (
            "history_invalid_consented_2",
            with(&pairing_bytes, 100 + 1 + 8, &[2]),
            "invalid_field",
            "history_reading_and_pairing with the owner change's consented byte 2",
        ),
        (
            "history_invalid_reading_without_envelope",
            without_envelope,
            "invalid_field",
            "history_reading_and_pairing without its envelope entry: a reading entry with no envelope entry before it",
        ),
        (
            "history_invalid_reading_after_owner_change",
            reading_after_owner_change,
            "invalid_field",
            "history_reading_and_pairing with its reading entry repeated after the owner change: a reading entry after its envelope's range is complete, with another entry between",
        ),
        (
            "history_invalid_envelope_range_interrupted",
            with(&good, first_envelope_count, &[3]),
            "invalid_field",
            "the first envelope entry's count 3: an envelope entry comes where its third reading is due",
        ),
        (
            "history_invalid_envelope_range_interrupted_by_owner_change",
            with(&pairing_bytes, 65, &[2]),
            "invalid_field",
            "history_reading_and_pairing with its envelope entry's count 2: the owner change comes where the second reading is due",
        ),
        (
            "history_invalid_envelope_range_unfinished",
            with(&good, second_envelope_count, &[2]),
            "invalid_field",
            "the last envelope entry's count 2: the entries end after one of its readings",
        ),
        (
            "history_invalid_reading_after_range",
            with(&good, first_envelope_count, &[1]),
            "invalid_field",
            "the first envelope entry's count 1: the reading entry after it is in no range",
        ),
        (
            "history_invalid_envelope_count_0",
            with(&good, first_envelope_count, &[0]),
            "invalid_field",
            "the first envelope entry's count 0",
        ),
        (
            "history_invalid_envelope_count_65",
            with(&good, first_envelope_count, &[65]),
            "invalid_field",
            "the first envelope entry's count 65 (at most 64 readings per envelope)",
        ),
        (
            "history_invalid_envelope_count_255",
            with(&good, first_envelope_count, &[255]),
            "invalid_field",
            "the first envelope entry's count 255",
        ),
        (
            "history_invalid_envelope_range_overflow",
            with(&good, 56 + 1, &u64::MAX.to_be_bytes()),
            "invalid_field",
            "the first envelope entry's first counter 2^64 - 1 with count 2: its last counter does not exist",
        ),
        (
            "history_invalid_reason_too_long",
            long_reason,
            "oversize",
            "a revocation whose reason is 1,025 bytes",
        ),
        (
            "history_invalid_reason_not_utf8",
            with(&corrected, reason_at, &[0xc3, 0x28]),
            "invalid_text",
            "history_correction_and_key_rotation with two bytes of the correction's note c3 28",
        ),
        (
            "history_invalid_ciphertext_length_beyond_notice",
            [&registration[..registration.len() - 1], &[0x80, 0x08]].concat(),
            "truncated",
            "history_registration with the detail ciphertext's length 1,024 (varint 80 08), more than the notice holds",
        ),
        (
            "history_invalid_truncated",
            good[..good.len() - 1].to_vec(),
            "truncated",
            "history_three_readings_with_rollback without its last byte",
        ),
        (
            "history_invalid_trailing",
            [good.as_slice(), &[0]].concat(),
            "trailing_bytes",
            "history_three_readings_with_rollback with a zero byte appended",
        ),
    ];
    for (name, bytes, code, what) in decode_cases {
        let mut map = history_base(name, &bytes, &id, &odo, Some(&det));
        mark_invalid(&mut map, code);
        map.insert("description".into(), json!(what));
        out.push(Value::Object(map));
    }

    // Notices that decode but whose values do not open.
    let resealed = |values: &[([u8; 32], Vec<Reading>)],
                    odometer_plain: Option<Vec<u8>>,
                    detail_plain: Option<Vec<u8>>|
     -> crate::Result<Vec<u8>> {
        let mut n = three.notice.clone();
        let aad = aad_of(&n);
        let detail_aad = detail_aad_of(&n);
        let odometer_plain = odometer_plain.unwrap_or_else(|| odometer_plaintext(values));
        let detail_plain = match detail_plain {
            Some(p) => p,
            None => detail_plaintext(values)?,
        };
        n.sealed = SealedValues {
            odometer: chacha_seal(&odo, &nonce_of(n.input_index, 0), &aad, &odometer_plain)?,
            detail: chacha_seal(
                &det,
                &nonce_of(n.input_index, 1),
                &detail_aad,
                &detail_plain,
            )?,
        };
        Ok(n.encode())
    };
    let (era0_odo, era0_det) = era_keys(&backend, &id, 0);
    let mut wrong_key = three.values.clone();
    wrong_key[1].0[0] ^= 0x01;
    let mut swapped_keys = three.values.clone();
    let second_key = swapped_keys[1].0;
    swapped_keys[1].0 = swapped_keys[0].0;
    swapped_keys[0].0 = second_key;
    // The odometer plaintext with the third reading 1 m higher: the rebuilt reading is not
    // the committed one.
    let mut other_odometer = three.values.clone();
    other_odometer[1].1[0].odometer_m += 1;
    let odometer_altered = odometer_plaintext(&other_odometer);
    // The odometer plaintext with the third reading's day one later: the commitment still
    // matches (it covers the detail's timestamp), the day does not.
    let mut day_altered = odometer_plaintext(&three.values);
    let day = u32::from_be_bytes(
        day_altered[24..28]
            .try_into()
            .map_err(|_| crate::Error::InvalidField)?,
    );
    day_altered[24..28].copy_from_slice(&(day + 1).to_be_bytes());
    let mut fault_count_33 = detail_plaintext(&three.values)?;
    // After the first envelope's key, the first reading's timestamp, fuel and engine time.
    fault_count_33[32 + 12] = 33;
    let mut short_detail = detail_plaintext(&three.values)?;
    short_detail.pop();
    let mut long_detail = detail_plaintext(&three.values)?;
    long_detail.extend_from_slice(&three.values[1].0);
    let mut long_odometer = odometer_plaintext(&three.values);
    long_odometer.push(0);
    let altered_entry = with(&good, 67, &[good[67] ^ 0x01]);
    let altered_reference = with(&good, reference_counter, &1u64.to_be_bytes());
    // history_reading_and_sale (input 12, era 1, one reading) carrying the detail ciphertext
    // of history_three_readings_with_rollback (input 8, era 1): its odometer part opens.
    let detail_moved = {
        let mut n = find("history_reading_and_sale")?.notice.clone();
        n.sealed.detail = three.notice.sealed.detail.clone();
        n.encode()
    };
    let other_input = with(&good, 25, &[good[25] ^ 0x01]);
    let no_ciphertexts = {
        let mut n = three.notice.clone();
        n.sealed = SealedValues::default();
        n.encode()
    };
    let values_without_readings = {
        let mut n = find("history_registration")?.notice.clone();
        n.sealed = SealedValues {
            odometer: vec![0; 16],
            detail: vec![0; 16],
        };
        n.encode()
    };
    let open_cases: Vec<OpenCase<'_>> = vec![
        (
            "history_open_invalid_era_0_keys",
            good.clone(),
            &era0_odo,
            Some(&*era0_det),
            "decryption_failed",
            "history_three_readings_with_rollback (era 1) opened with the era 0 keys",
        ),
        (
            "history_open_invalid_entry_altered",
            altered_entry,
            &odo,
            Some(&*det),
            "decryption_failed",
            "history_three_readings_with_rollback with a bit of the first reading's commitment flipped: the odometer part's AAD (header and entries) differs",
        ),
        (
            "history_open_invalid_entries_changed",
            altered_reference,
            &odo,
            Some(&*det),
            "decryption_failed",
            "history_three_readings_with_rollback with the rollback's reference counter 1 instead of 2 (no commitment covers it): the odometer part's AAD differs, so it fails, although the detail part (AAD: the header) alone would open",
        ),
        (
            "history_open_invalid_detail_moved_to_another_notice",
            detail_moved,
            &odo,
            Some(&*det),
            "decryption_failed",
            "history_reading_and_sale (era 1) with the detail ciphertext of history_three_readings_with_rollback (era 1, same keys): its odometer part opens; the detail part's header (input index, block time, position, previous input) and nonce differ",
        ),
        (
            "history_open_invalid_input_index_altered",
            other_input,
            &odo,
            Some(&*det),
            "decryption_failed",
            "history_three_readings_with_rollback with the input index's last bit flipped: nonce and AAD differ",
        ),
        (
            "history_open_invalid_no_ciphertexts",
            no_ciphertexts,
            &odo,
            Some(&*det),
            "decryption_failed",
            "history_three_readings_with_rollback with both ciphertexts empty (shorter than the tag)",
        ),
        (
            "history_open_invalid_values_without_readings",
            values_without_readings,
            &odo,
            Some(&*det),
            "malformed_plaintext",
            "history_registration (no reading entry) with two 16-byte ciphertexts",
        ),
        (
            "history_open_invalid_commitment_mismatch",
            resealed(&wrong_key, None, None)?,
            &odo,
            Some(&*det),
            "commitment_mismatch",
            "history_three_readings_with_rollback resealed with the second envelope's commitment key altered (first bit): the third reading's blinding differs",
        ),
        (
            "history_open_invalid_commitment_keys_swapped",
            resealed(&swapped_keys, None, None)?,
            &odo,
            Some(&*det),
            "commitment_mismatch",
            "history_three_readings_with_rollback resealed with the two envelopes' commitment keys in each other's place",
        ),
        (
            "history_open_invalid_odometer_disagrees",
            resealed(&three.values, Some(odometer_altered), None)?,
            &odo,
            Some(&*det),
            "commitment_mismatch",
            "history_three_readings_with_rollback resealed with the third odometer value 1 m higher: the reading rebuilt with it is not the committed one",
        ),
        (
            "history_open_invalid_day_disagrees",
            resealed(&three.values, Some(day_altered), None)?,
            &odo,
            Some(&*det),
            "malformed_plaintext",
            "history_three_readings_with_rollback resealed with the third odometer value's day one later than its detail timestamp's (the commitment matches)",
        ),
        (
            "history_open_invalid_detail_fault_count_33",
            resealed(&three.values, None, Some(fault_count_33))?,
            &odo,
            Some(&*det),
            "malformed_plaintext",
            "history_three_readings_with_rollback resealed with the first detail reading's fault count 33",
        ),
        (
            "history_open_invalid_odometer_plaintext_long",
            resealed(&three.values, Some(long_odometer), None)?,
            &odo,
            None,
            "malformed_plaintext",
            "history_three_readings_with_rollback resealed with a 37-byte odometer plaintext (odometer key only)",
        ),
        (
            "history_open_invalid_detail_plaintext_short",
            resealed(&three.values, None, Some(short_detail))?,
            &odo,
            Some(&*det),
            "malformed_plaintext",
            "history_three_readings_with_rollback resealed with the detail plaintext's last byte removed",
        ),
        (
            "history_open_invalid_detail_plaintext_long",
            resealed(&three.values, None, Some(long_detail))?,
            &odo,
            Some(&*det),
            "malformed_plaintext",
            "history_three_readings_with_rollback resealed with a third commitment key (32 bytes) after the detail plaintext",
        ),
    ];
    for (name, bytes, odometer_key, detail_key, code, what) in open_cases {
        let mut map = history_base(name, &bytes, &id, odometer_key, detail_key);
        mark_invalid(&mut map, code);
        map.insert("description".into(), json!(what));
        out.push(Value::Object(map));
    }
    Ok(out)
}

fn accumulator_vector(steps: &[Step]) -> Value {
    let mut map = new_vector("history_accumulator_state_device", "history_accumulator");
    map.insert("device_id".into(), json!(device_id(STATE_DEVICE).to_hex()));
    map.insert(
        "notices".into(),
        json!(
            steps
                .iter()
                .map(|s| hex::encode(s.notice.encode()))
                .collect::<Vec<_>>()
        ),
    );
    let mut acc = HistoryAccumulator::default();
    let mut folds = Vec::new();
    for step in steps {
        fold(&mut acc, &step.notice.encode(), step.notice.input_index);
        folds.push(json!({
            "count": acc.count,
            "root": hex::encode(acc.root),
            "last_input": acc.last_input,
        }));
    }
    map.insert("folds".into(), json!(folds));
    map.insert(
        "leaf".into(),
        steps
            .last()
            .map_or(Value::Null, |s| json!(hex::encode(s.leaf.encode()))),
    );
    Value::Object(map)
}

// --- verdicts (17.3)

struct VerdictCase<'a> {
    name: &'a str,
    leaf: Option<DeviceLeaf>,
    proof: Vec<u8>,
    nonce: [u8; 32],
    opening: Option<Vec<u8>>,
    verdict: &'a str,
    finding: &'a str,
    what: &'a str,
    /// The vehicle's earlier units, newest first (17.3).
    predecessors: Vec<DeviceLeaf>,
}

/// Every finding code the rules give `case`, in order (the generator's own decision: the
/// cross-checks recompute it; the first is the hand-written `finding`, which the unit test
/// below checks).
fn all_findings(id: &DeviceId, case: &VerdictCase<'_>) -> Vec<&'static str> {
    let Ok(proof) = PossessionProof::decode(&case.proof) else {
        return Vec::new();
    };
    let opening = case
        .opening
        .as_ref()
        .and_then(|o| crate::Opening::decode(o).ok());
    let decision = crate::verdict::decide(&crate::verdict::Evidence {
        device_id: *id,
        leaf: case.leaf.as_ref(),
        proof: &proof,
        nonce: &case.nonce,
        domain: &vector_domain(&vector_backend()),
        opening: opening.as_ref(),
        predecessors: &case.predecessors,
    });
    decision.findings.iter().map(|f| f.code).collect()
}

fn verdict_vector(id: &DeviceId, case: VerdictCase<'_>) -> Value {
    let backend = vector_backend();
    let mut map = new_vector(case.name, "verdict");
    map.insert("device_id".into(), json!(id.to_hex()));
    map.insert(
        "leaf".into(),
        case.leaf
            .as_ref()
            .map_or(Value::Null, |l| json!(hex::encode(l.encode()))),
    );
    map.insert("possession_proof".into(), json!(hex::encode(&case.proof)));
    map.insert("nonce".into(), json!(hex::encode(case.nonce)));
    map.insert(
        "opening".into(),
        case.opening
            .as_ref()
            .map_or(Value::Null, |o| json!(hex::encode(o))),
    );
    map.insert(
        "backend_public_key".into(),
        json!(hex::encode(backend.public_key().to_bytes())),
    );
    domain_fields(&mut map, &vector_domain(&backend));
    map.insert(
        "predecessors".into(),
        json!(
            case.predecessors
                .iter()
                .map(|l| hex::encode(l.encode()))
                .collect::<Vec<_>>()
        ),
    );
    map.insert("expected_verdict".into(), json!(case.verdict));
    map.insert("expected_finding".into(), json!(case.finding));
    map.insert("expected_findings".into(), json!(all_findings(id, &case)));
    map.insert("description".into(), json!(case.what));
    Value::Object(map)
}

fn verdict_vectors() -> crate::Result<Vec<Value>> {
    let backend = vector_backend();
    let domain = vector_domain(&backend);
    let label = "verdict device";
    let device = SigningKey::from_seed(&seed_for(label));
    let id = device_id(label);
    let key = CommitmentKey::from_bytes(seed_for("verdict device/commitment key"));
    let attested = Reading {
        timestamp: 1_790_500_000,
        odometer_m: 152_000_000,
        fuel_ml: 610,
        engine_s: 3_600_000,
        faults: vec![],
    };
    let commitment = key.commit(id, 40, &attested)?;
    let opening = key.opening(id, 40, attested.clone()).encode()?;
    let mut leaf = DeviceLeaf::new(id, ModelId(3), device.public_key().to_bytes());
    leaf.vehicle = vector_vehicle(label).id()?;
    leaf.last_counter = Some(41);
    leaf.owner = Some(person("owner"));
    leaf.ownership_sequence = Some(1);
    leaf.era = 1;
    leaf.attested = 38;
    leaf.highest = Some(AttestedRef {
        counter: 40,
        commitment,
        input_index: 77,
    });
    leaf.history = HistoryAccumulator {
        count: 9,
        root: seed_for("verdict device/history root"),
        last_input: Some(77),
    };
    let flagged = DeviceLeaf {
        open_tampers: 1,
        tamper_events: 1,
        latest_tamper: Some(Box::new(TamperRef {
            counter: 41,
            reference_counter: 40,
            input_index: 77,
        })),
        ..leaf.clone()
    };
    let revoked = DeviceLeaf {
        revoked: true,
        ..leaf.clone()
    };
    // Replacement: "verdict device" replaced "verdict old unit" in the same vehicle, from a
    // stated 152,000,000 m baseline, no reading of its own yet.
    let old_id = device_id("verdict old unit");
    let old_unit = DeviceLeaf {
        device_id: old_id,
        key: person("verdict old unit"),
        links: UnitLinks::boxed(None, Some(id)),
        ..leaf.clone()
    };
    let new_unit = DeviceLeaf {
        links: UnitLinks::boxed(Some(old_id), None),
        highest: None,
        first: None,
        attested: 0,
        last_counter: None,
        corrected_baseline: Some(Box::new(CorrectedBaseline {
            odometer_m: 152_000_000,
            input_index: 79,
        })),
        ..leaf.clone()
    };
    let old_unit_flagged = DeviceLeaf {
        open_tampers: 1,
        tamper_events: 1,
        latest_tamper: Some(Box::new(TamperRef {
            counter: 41,
            reference_counter: 40,
            input_index: 77,
        })),
        ..old_unit.clone()
    };
    let old_unit_of_another = DeviceLeaf {
        links: UnitLinks::boxed(None, Some(device_id("verdict third unit"))),
        ..old_unit.clone()
    };
    let replaced = DeviceLeaf {
        links: UnitLinks::boxed(None, Some(device_id("verdict next unit"))),
        ..leaf.clone()
    };
    // Two rollbacks on record, one of them cleared by a correction: still flagged.
    let one_of_two_corrected = DeviceLeaf {
        tamper_events: 2,
        corrections: 1,
        latest_correction: Some(Box::new(CorrectionRef {
            counter: 39,
            input_index: 78,
        })),
        ..flagged.clone()
    };
    // The rollback cleared: nothing open, the correction on record.
    let corrected = DeviceLeaf {
        open_tampers: 0,
        tamper_events: 1,
        corrections: 1,
        latest_correction: Some(Box::new(CorrectionRef {
            counter: 41,
            input_index: 78,
        })),
        ..leaf.clone()
    };
    // A replaced cluster: a correction set the baseline to 1,200,000 m, no reading since.
    let rebased = DeviceLeaf {
        corrected_baseline: Some(Box::new(CorrectedBaseline {
            odometer_m: 1_200_000,
            input_index: 78,
        })),
        ..corrected.clone()
    };
    let recovery_pending = DeviceLeaf {
        pending_recovery: Some(Box::new(PendingRecovery {
            owner: person("recovered owner"),
            effective_at: 1_790_600_000,
        })),
        ..corrected.clone()
    };
    let unattested = DeviceLeaf {
        highest: None,
        attested: 0,
        last_counter: None,
        ..leaf.clone()
    };
    let unattested_flagged = DeviceLeaf {
        open_tampers: 1,
        tamper_events: 1,
        latest_tamper: Some(Box::new(TamperRef {
            counter: 2,
            reference_counter: 1,
            input_index: 5,
        })),
        last_counter: Some(2),
        ..unattested.clone()
    };
    let nonce = seed_for("verdict nonce");
    let now = |odometer_m: u64| Reading {
        timestamp: 1_790_600_000,
        odometer_m,
        fuel_ml: 420,
        engine_s: 3_640_000,
        faults: vec![],
    };
    let sign = |signer: &SigningKey,
                domain: &Domain,
                device: DeviceId,
                nonce: [u8; 32],
                counter: u64,
                odometer_m: u64|
     -> crate::Result<Vec<u8>> {
        PossessionProof::sign(signer, domain, device, nonce, counter, now(odometer_m))?.encode()
    };
    let good = sign(&device, &domain, id, nonce, 45, 152_480_000)?;
    let equal = sign(&device, &domain, id, nonce, 45, 152_000_000)?;
    let below = sign(&device, &domain, id, nonce, 45, 101_000_000)?;
    let new_cluster = sign(&device, &domain, id, nonce, 45, 1_250_000)?;
    let below_new_cluster = sign(&device, &domain, id, nonce, 45, 1_100_000)?;
    let behind = sign(&device, &domain, id, nonce, 30, 152_480_000)?;
    let other_nonce = sign(
        &device,
        &domain,
        id,
        seed_for("verdict old nonce"),
        45,
        152_480_000,
    )?;
    let other_device = sign(
        &device,
        &domain,
        device_id("verdict other device"),
        nonce,
        45,
        152_480_000,
    )?;
    let clone = SigningKey::from_seed(&seed_for("verdict clone"));
    let by_clone = sign(&clone, &domain, id, nonce, 45, 152_480_000)?;
    // The honest answer, signed for another deployment (section 3.5).
    let elsewhere = |domain: Domain| sign(&device, &domain, id, nonce, 45, 152_480_000);
    let for_other_backend = elsewhere(vector_domain(&BackendSecretKey::derive(
        b"verdict other backend",
    )))?;
    let for_other_chain = elsewhere(Domain {
        chain_id: 1,
        ..domain.clone()
    })?;
    let for_other_application = elsewhere(Domain {
        application: [0xa2; 20],
        ..domain.clone()
    })?;
    let mut forged = good.clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    let earlier = key.opening(id, 39, now(151_990_000)).encode()?;
    let altered = {
        let mut reading = attested.clone();
        reading.odometer_m = 160_000_000;
        key.opening(id, 40, reading).encode()?
    };
    let foreign_opening = key
        .opening(device_id("verdict other device"), 40, attested.clone())
        .encode()?;
    let cases = vec![
        VerdictCase {
            name: "verdict_unknown_device",
            leaf: None,
            proof: good.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "unknown_device",
            finding: "unknown_device",
            what: "proven absent (rule 1)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_revoked",
            leaf: Some(revoked),
            proof: good.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "revoked",
            finding: "revoked",
            what: "the leaf is revoked (rule 2), whatever the device answers",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_proof_for_another_nonce",
            leaf: Some(leaf.clone()),
            proof: other_nonce,
            nonce,
            opening: Some(opening.clone()),
            verdict: "cannot_confirm",
            finding: "proof_not_fresh",
            what: "a replayed answer to an older nonce (rule 3)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_proof_for_another_device",
            leaf: Some(leaf.clone()),
            proof: other_device,
            nonce,
            opening: Some(opening.clone()),
            verdict: "cannot_confirm",
            finding: "proof_not_fresh",
            what: "an answer naming another device id (rule 3)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_proof_by_another_key",
            leaf: Some(leaf.clone()),
            proof: by_clone,
            nonce,
            opening: Some(opening.clone()),
            verdict: "cannot_confirm",
            finding: "device_signature",
            what: "signed by a key other than the leaf's (rule 4)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_proof_for_another_backend",
            leaf: Some(leaf.clone()),
            proof: for_other_backend,
            nonce,
            opening: Some(opening.clone()),
            verdict: "cannot_confirm",
            finding: "device_signature",
            what: "signed for another deployment's backend key (rule 4, section 8.1)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_proof_for_another_chain",
            leaf: Some(leaf.clone()),
            proof: for_other_chain,
            nonce,
            opening: Some(opening.clone()),
            verdict: "cannot_confirm",
            finding: "device_signature",
            what: "signed for the same application address and backend key on another chain (rule 4, section 8.1)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_proof_for_another_application",
            leaf: Some(leaf.clone()),
            proof: for_other_application,
            nonce,
            opening: Some(opening.clone()),
            verdict: "cannot_confirm",
            finding: "device_signature",
            what: "signed for another application sharing the backend key (rule 4, section 8.1)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_proof_signature_altered",
            leaf: Some(leaf.clone()),
            proof: forged,
            nonce,
            opening: Some(opening.clone()),
            verdict: "cannot_confirm",
            finding: "device_signature",
            what: "the proof's last signature byte flipped (rule 4)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_no_history",
            leaf: Some(unattested.clone()),
            proof: good.clone(),
            nonce,
            opening: None,
            verdict: "no_history",
            finding: "no_history",
            what: "no highest attested reading, not flagged (rule 5)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_flagged_without_history",
            leaf: Some(unattested_flagged),
            proof: good.clone(),
            nonce,
            opening: None,
            verdict: "flagged",
            finding: "tamper_on_record",
            what: "no highest attested reading, flagged (rule 5)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_rollback",
            leaf: Some(leaf.clone()),
            proof: below.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "rollback",
            finding: "rollback",
            what: "the device shows 101,000,000 m, the opened highest is 152,000,000 m (rule 6)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_rollback_when_flagged",
            leaf: Some(flagged.clone()),
            proof: below.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "rollback",
            finding: "rollback",
            what: "a rollback now outranks the tamper on record (rule 6 before 7)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_flagged",
            leaf: Some(flagged.clone()),
            proof: good.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "flagged",
            finding: "tamper_on_record",
            what: "flagged leaf, the device's odometer is not below (rule 7)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_flagged_one_of_two_corrected",
            leaf: Some(one_of_two_corrected),
            proof: good.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "flagged",
            finding: "tamper_on_record",
            what: "two rollbacks on record, a correction cleared one: the other keeps the leaf flagged (rule 7)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_consistent_after_correction",
            leaf: Some(corrected),
            proof: good.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "consistent",
            finding: "consistent",
            what: "the only rollback cleared by a correction (rule 10; corrections_on_record follows)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_consistent_above_corrected_baseline",
            leaf: Some(rebased.clone()),
            proof: new_cluster,
            nonce,
            opening: None,
            verdict: "consistent",
            finding: "consistent",
            what: "the device shows 1,250,000 m, at or above the 1,200,000 m baseline a correction set; no opening needed (rules 6 and 10)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_consistent_corrected_baseline_outranks_highest",
            leaf: Some(rebased.clone()),
            proof: below.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "consistent",
            finding: "consistent",
            what: "the device shows 101,000,000 m, below the opened highest (152,000,000 m) but above the 1,200,000 m baseline a correction set: the baseline is the reference (rule 6)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_rollback_below_corrected_baseline",
            leaf: Some(rebased),
            proof: below_new_cluster.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "rollback",
            finding: "rollback",
            what: "the device shows 1,100,000 m, below the 1,200,000 m baseline a correction set; the opened highest (152,000,000 m) is no longer the reference (rule 6)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_flagged_without_opening",
            leaf: Some(flagged),
            proof: good.clone(),
            nonce,
            opening: None,
            verdict: "flagged",
            finding: "tamper_on_record",
            what: "flagged leaf, no opening (rule 7 before 8)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_no_opening",
            leaf: Some(leaf.clone()),
            proof: good.clone(),
            nonce,
            opening: None,
            verdict: "cannot_confirm",
            finding: "opening",
            what: "no opening given (rule 8)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_opening_of_another_counter",
            leaf: Some(leaf.clone()),
            proof: good.clone(),
            nonce,
            opening: Some(earlier),
            verdict: "cannot_confirm",
            finding: "opening",
            what: "an opening of counter 39, not of the highest (40) (rule 6: not valid, so rule 8)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_opening_mismatch",
            leaf: Some(leaf.clone()),
            proof: below,
            nonce,
            opening: Some(altered),
            verdict: "cannot_confirm",
            finding: "opening",
            what: "an opening of counter 40 altered to 160,000,000 m (above the device's 101,000,000 m): it does not match the commitment, so it shows no rollback (rule 8)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_opening_of_another_device",
            leaf: Some(leaf.clone()),
            proof: good.clone(),
            nonce,
            opening: Some(foreign_opening),
            verdict: "cannot_confirm",
            finding: "opening",
            what: "an opening naming another device id (rule 8)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_opening_undecodable",
            leaf: Some(leaf.clone()),
            proof: good.clone(),
            nonce,
            opening: Some(opening[..opening.len() - 1].to_vec()),
            verdict: "cannot_confirm",
            finding: "opening",
            what: "an opening without its last byte (does not decode: no valid opening, rule 8)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_counter_behind",
            leaf: Some(leaf.clone()),
            proof: behind,
            nonce,
            opening: Some(opening.clone()),
            verdict: "flagged",
            finding: "counter_behind",
            what: "the device's counter 30 is below the last consumed 41 (rule 9)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_consistent",
            leaf: Some(leaf.clone()),
            proof: good.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "consistent",
            finding: "consistent",
            what: "everything agrees (rule 10)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_consistent_equal_odometer",
            leaf: Some(leaf),
            proof: equal,
            nonce,
            opening: Some(opening.clone()),
            verdict: "consistent",
            finding: "consistent",
            what: "the device shows exactly the highest attested odometer (rule 6 needs exceeds)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_replaced_unit",
            leaf: Some(replaced),
            proof: good.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "revoked",
            finding: "replaced",
            what: "a unit that was replaced in its vehicle: ask the vehicle's current unit (rule 2)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_previous_unit_missing",
            leaf: Some(new_unit.clone()),
            proof: good.clone(),
            nonce,
            opening: None,
            verdict: "cannot_confirm",
            finding: "previous_unit",
            what: "the unit replaced another whose leaf is not given (rule 5)",
            predecessors: vec![],
        },
        VerdictCase {
            name: "verdict_previous_unit_does_not_link",
            leaf: Some(new_unit.clone()),
            proof: good.clone(),
            nonce,
            opening: None,
            verdict: "cannot_confirm",
            finding: "previous_unit",
            what: "the earlier unit's leaf names another successor (rule 5)",
            predecessors: vec![old_unit_of_another],
        },
        VerdictCase {
            name: "verdict_consistent_after_replacement",
            leaf: Some(new_unit.clone()),
            proof: good.clone(),
            nonce,
            opening: None,
            verdict: "consistent",
            finding: "consistent",
            what: "a new unit at or above the baseline its replacement act stated, the earlier unit clean; unit_replaced follows (rules 6 and 10)",
            predecessors: vec![old_unit.clone()],
        },
        VerdictCase {
            name: "verdict_flagged_in_previous_unit",
            leaf: Some(new_unit.clone()),
            proof: good.clone(),
            nonce,
            opening: None,
            verdict: "flagged",
            finding: "tamper_on_record",
            what: "the vehicle's earlier unit has an uncorrected rollback: the vehicle stays flagged after the swap (rule 7)",
            predecessors: vec![old_unit_flagged],
        },
        VerdictCase {
            name: "verdict_rollback_below_replacement_baseline",
            leaf: Some(new_unit),
            proof: below_new_cluster.clone(),
            nonce,
            opening: None,
            verdict: "rollback",
            finding: "rollback",
            what: "the new unit shows less than the baseline its replacement act stated (rule 6)",
            predecessors: vec![old_unit],
        },
        VerdictCase {
            name: "verdict_consistent_recovery_pending",
            leaf: Some(recovery_pending),
            proof: good.clone(),
            nonce,
            opening: Some(opening.clone()),
            verdict: "consistent",
            finding: "consistent",
            what: "consistent, with a correction on record and an ownership recovery pending: corrections_on_record, then recovery_pending close the findings (rule 5)",
            predecessors: vec![],
        },
    ];
    Ok(cases
        .into_iter()
        .map(|case| verdict_vector(&id, case))
        .collect())
}

// --- certificates (section 18)

/// A device's proven state, built from the rules of sections 16 and 18: its history notices,
/// its leaf in a small map, the state notice in a small outputs tree, and the openings.
#[derive(Debug)]
pub struct CertificateStory {
    /// The certificate's anchors.
    pub anchors: crate::certificate::Anchors,
    /// The summary certificate.
    pub summary: crate::certificate::Certificate,
    /// The full certificate disclosing every reading (the readings' notice opened).
    pub full: crate::certificate::Certificate,
    /// The full certificate with every notice sealed and the era's odometer key.
    pub full_odometer: crate::certificate::Certificate,
    /// Another device's map proof in the same map (a leaf from another device).
    pub other_device_proof: MapProof,
    /// The device's proof in a map with one more device (a path for another root).
    pub other_root_proof: MapProof,
}

/// The certificate story of the vectors.
pub fn certificate_story() -> crate::Result<CertificateStory> {
    use crate::certificate::{
        Anchors, CertNotice, Certificate, ClaimRef, Level, OdometerKey, OutputProof, keccak256,
        notice_output,
    };
    let id = device_id("certificate-car");
    let backend = vector_backend();
    let (odo, det) = era_keys(&backend, &id, 0);
    let mut leaf = DeviceLeaf::new(id, ModelId(7), person("certificate-car-key"));
    leaf.vehicle = vector_vehicle("certificate-car").id()?;
    let registered = HistoryNotice {
        device_id: id,
        input_index: 3,
        block_timestamp: 1_790_000_000,
        era: 0,
        position: 0,
        previous_input: None,
        entries: vec![HistoryEntry::Registered {
            model: ModelId(7),
            registrar: person("certificate-registrar"),
        }],
        sealed: SealedValues::default(),
    };
    let registered_bytes = registered.encode();
    let key = CommitmentKey::from_bytes(seed_for("certificate-envelope"));
    let readings: Vec<Reading> = (0..3u32)
        .map(|i| {
            story_reading(
                1_790_100_000 + 3_600 * i,
                81_000_000 + 25_000 * u64::from(i),
                vec![],
            )
        })
        .collect();
    let mut entries = vec![HistoryEntry::Envelope {
        first_counter: 1,
        count: 3,
    }];
    for (i, reading) in readings.iter().enumerate() {
        entries.push(HistoryEntry::Reading {
            counter: 1 + i as u64,
            commitment: key.commit(id, 1 + i as u64, reading)?,
            rollback_of: None,
        });
    }
    let envelope = HistoryNotice {
        device_id: id,
        input_index: 5,
        block_timestamp: 1_790_100_100,
        era: 0,
        position: 1,
        previous_input: Some(3),
        entries,
        sealed: SealedValues::default(),
    };
    let envelope_bytes = envelope.encode_sealed(
        &odo,
        &det,
        &[EnvelopeValues {
            commitment_key: CommitmentKey::from_bytes(seed_for("certificate-envelope")),
            readings: readings.clone(),
        }],
    )?;
    fold(&mut leaf.history, &registered_bytes, 3);
    fold(&mut leaf.history, &envelope_bytes, 5);
    leaf.last_counter = Some(3);
    leaf.attested = 3;
    leaf.highest = Some(AttestedRef {
        counter: 3,
        commitment: key.commit(id, 3, &readings[2])?,
        input_index: 5,
    });
    leaf.first = Some(AttestedRef {
        counter: 1,
        commitment: key.commit(id, 1, &readings[0])?,
        input_index: 5,
    });
    let others: Vec<DeviceLeaf> = (0..4)
        .map(|i| {
            map_leaf(
                &format!("certificate-neighbour-{i}"),
                device_id(&format!("certificate-neighbour-{i}")),
                7,
            )
        })
        .collect();
    let mut leaves: Vec<&DeviceLeaf> = others.iter().collect();
    leaves.push(&leaf);
    let map_root = subtree_hash(&leaves, 0);
    let map_proof = prove(&leaves, &id);
    let other_device_proof = prove(&leaves, &others[0].device_id);
    let extra = map_leaf("certificate-newcomer", device_id("certificate-newcomer"), 7);
    let mut more = leaves.clone();
    more.push(&extra);
    let other_root_proof = prove(&more, &id);
    let state = StateNotice {
        input_index: 5,
        block_number: 1_200,
        block_timestamp: 1_790_100_100,
        devices: leaves.len() as u64,
        map_root,
        globals: sha256_parts(&[b"certificate-globals"]),
    };
    // Outputs of the claim's epoch: some earlier outputs, the envelope's history notice,
    // then the state notice, the input's last output.
    let outputs: Vec<Vec<u8>> = vec![
        notice_output(b"earlier output 0"),
        notice_output(b"earlier output 1"),
        notice_output(&registered_bytes),
        notice_output(b"earlier output 3"),
        notice_output(&envelope_bytes),
        notice_output(&state.encode()),
    ];
    let hashes: Vec<[u8; 32]> = outputs.iter().map(|o| keccak256(o)).collect();
    let (output_proof, outputs_root) =
        OutputProof::build(&hashes, 5).ok_or(crate::Error::InvalidField)?;
    let anchors = Anchors {
        chain_id: 31_337,
        application: [0xa1; 20],
        consensus: [0xc0; 20],
    };
    let summary = Certificate {
        level: Level::Summary,
        anchors,
        device_id: id,
        claim: ClaimRef {
            last_processed_block: 1_210,
            claim_block: 1_215,
            outputs_root: Some(outputs_root),
        },
        state_notice: state,
        output_proof,
        map_proof,
        highest: Some(key.opening(id, 3, readings[2].clone())),
        first: Some(key.opening(id, 1, readings[0].clone())),
        vehicle: Some(vector_vehicle("certificate-car")),
        earlier_units: vec![],
        odometer_keys: vec![],
        notices: vec![],
    };
    let mut full = summary.clone();
    full.level = Level::Full;
    full.notices = vec![
        CertNotice::sealed(registered_bytes.clone())?,
        CertNotice::Opened(
            HistoryNotice::decode(&envelope_bytes)?,
            vec![EnvelopeValues {
                commitment_key: key,
                readings,
            }],
        ),
    ];
    let mut full_odometer = full.clone();
    full_odometer.notices = vec![
        CertNotice::sealed(registered_bytes)?,
        CertNotice::sealed(envelope_bytes)?,
    ];
    full_odometer.odometer_keys = vec![OdometerKey { era: 0, key: *odo }];
    Ok(CertificateStory {
        anchors,
        summary,
        full,
        full_odometer,
        other_device_proof,
        other_root_proof,
    })
}

fn anchors_json(a: &crate::certificate::Anchors) -> Value {
    json!({
        "chain_id": a.chain_id,
        "application": hex::encode(a.application),
        "consensus": hex::encode(a.consensus),
    })
}

fn certificate_vector(
    name: &str,
    bytes: &[u8],
    pinned: Option<&crate::certificate::Anchors>,
    code: Option<&str>,
    what: &str,
) -> Value {
    let mut map = new_vector(name, "certificate");
    map.insert("description".into(), json!(what));
    map.insert("certificate".into(), json!(hex::encode(bytes)));
    map.insert("pinned".into(), pinned.map_or(Value::Null, anchors_json));
    match code {
        Some(code) => mark_invalid(&mut map, code),
        None => {
            if let Ok(f) = crate::certificate::verify_offline(bytes, pinned) {
                let reading = |p: &crate::certificate::ProvenReading| json!({"counter": p.counter, "rollback": p.rollback, "reading": reading_json(&p.reading)});
                map.insert(
                    "findings".into(),
                    json!({
                        "level": if f.level == crate::certificate::Level::Full { "full" } else { "summary" },
                        "device_id": hex::encode(f.device_id.0),
                        "as_of_block": f.as_of_block,
                        "claim_block": f.claim_block,
                        "input_index": f.input_index,
                        "block_timestamp": f.block_timestamp,
                        "outputs_root": hex::encode(f.outputs_root),
                        "output_index": f.output_index,
                        "leaf": hex::encode(f.leaf.encode()),
                        "highest": f.highest.as_ref().map(reading),
                        "first": f.first.as_ref().map(reading),
                        "disclosed": f.disclosed.iter().map(reading).collect::<Vec<_>>(),
                        "odometer_only": f.odometer_only.iter().map(|o| json!({
                            "counter": o.counter,
                            "day": o.day,
                            "odometer_m": o.odometer_m,
                            "rollback": o.rollback,
                        })).collect::<Vec<_>>(),
                        "undisclosed": f.undisclosed,
                        "notices": f.notices,
                        "vin": f.vin,
                        "earlier_units": f.earlier_units.iter().map(|l| hex::encode(l.encode())).collect::<Vec<_>>(),
                        "corrections": f.corrections.len(),
                        "cannot_know": f.cannot_know,
                    }),
                );
            }
        }
    }
    Value::Object(map)
}

/// An invalid certificate vector: name, bytes, pinned anchors, expected code, what it is.
type CertificateCase = (
    &'static str,
    Vec<u8>,
    Option<crate::certificate::Anchors>,
    &'static str,
    &'static str,
);

fn certificate_vectors() -> crate::Result<Vec<Value>> {
    use crate::certificate::CertNotice;
    let story = certificate_story()?;
    let pinned = story.anchors;
    let summary = story.summary.encode()?;
    let full = story.full.encode()?;
    let mut out = vec![
        certificate_vector(
            "certificate_summary",
            &summary,
            Some(&pinned),
            None,
            "a summary certificate, anchors pinned",
        ),
        certificate_vector(
            "certificate_summary_unpinned",
            &summary,
            None,
            None,
            "the same, no anchors pinned",
        ),
        certificate_vector(
            "certificate_full",
            &full,
            Some(&pinned),
            None,
            "a full certificate: the registration notice sealed (form 0), the readings' notice \
             opened (form 1), counters 1..=3 disclosed",
        ),
        certificate_vector(
            "certificate_full_odometer_key",
            &story.full_odometer.encode()?,
            Some(&pinned),
            None,
            "a full certificate: both notices sealed, era 0's odometer key: counters 1..=3 as \
             dated odometer values",
        ),
        certificate_vector(
            "certificate_full_undisclosed",
            &{
                let mut sealed = story.full_odometer.clone();
                sealed.odometer_keys.clear();
                sealed.encode()?
            },
            Some(&pinned),
            None,
            "a full certificate: both notices sealed, no key: counters 1..=3 undisclosed",
        ),
    ];
    let mut cases: Vec<CertificateCase> = Vec::new();
    let mut altered = story.summary.clone();
    if let Some(opening) = altered.highest.as_mut() {
        opening.reading.odometer_m -= 1_000_000;
    }
    cases.push((
        "certificate_altered_reading",
        altered.encode()?,
        Some(pinned),
        "commitment_mismatch",
        "the highest reading's odometer lowered by 1,000 km",
    ));
    let mut another = story.summary.clone();
    another.highest = story.summary.first.clone();
    cases.push((
        "certificate_opening_for_another_commitment",
        another.encode()?,
        Some(pinned),
        "wrong_commitment",
        "the opening of counter 1 given for the highest (counter 3)",
    ));
    let mut other_device = story.summary.clone();
    other_device.map_proof = story.other_device_proof.clone();
    cases.push((
        "certificate_leaf_from_another_device",
        other_device.encode()?,
        Some(pinned),
        "wrong_device",
        "another device's leaf and path in the same map",
    ));
    let mut other_root = story.summary.clone();
    other_root.map_proof = story.other_root_proof.clone();
    cases.push((
        "certificate_path_for_another_root",
        other_root.encode()?,
        Some(pinned),
        "root_mismatch",
        "the device's path in a map with one more device",
    ));
    let mut other_salt = story.summary.clone();
    if let Some(vehicle) = other_salt.vehicle.as_mut() {
        vehicle.salt[0] ^= 1;
    }
    cases.push((
        "certificate_vehicle_mismatch",
        other_salt.encode()?,
        Some(pinned),
        "vehicle_mismatch",
        "the disclosed VIN with another salt: it does not open the leaf's vehicle commitment",
    ));
    let mut phantom_unit = story.summary.clone();
    phantom_unit.earlier_units = vec![story.other_device_proof.clone()];
    cases.push((
        "certificate_earlier_unit_without_a_predecessor",
        phantom_unit.encode()?,
        Some(pinned),
        "previous_unit",
        "an earlier unit's proof for a leaf that replaced no unit",
    ));
    let mut wrong_root = story.summary.clone();
    wrong_root.claim.outputs_root = Some([0x55; 32]);
    cases.push((
        "certificate_outputs_root_mismatch",
        wrong_root.encode()?,
        Some(pinned),
        "outputs_root_mismatch",
        "the claim's outputs root is not the one the output proof folds to",
    ));
    let mut late = story.summary.clone();
    late.claim.last_processed_block = late.state_notice.block_number - 1;
    cases.push((
        "certificate_state_after_claim",
        late.encode()?,
        Some(pinned),
        "claim_mismatch",
        "the state notice's block is after the claim's last processed block",
    ));
    let mut no_opening = story.summary.clone();
    no_opening.highest = None;
    cases.push((
        "certificate_opening_missing",
        no_opening.encode()?,
        Some(pinned),
        "opening_missing",
        "the leaf names a highest reading and no opening is given",
    ));
    let mut no_first = story.summary.clone();
    no_first.first = None;
    cases.push((
        "certificate_first_opening_missing",
        no_first.encode()?,
        Some(pinned),
        "opening_missing",
        "the leaf names a first attested reading and no opening is given",
    ));
    let mut first_altered = story.summary.clone();
    if let Some(opening) = first_altered.first.as_mut() {
        opening.reading.timestamp -= 86_400 * 365;
    }
    cases.push((
        "certificate_first_altered",
        first_altered.encode()?,
        Some(pinned),
        "commitment_mismatch",
        "the first reading dated a year earlier",
    ));
    let mut chain = pinned;
    chain.chain_id = 1;
    cases.push((
        "certificate_another_chain",
        summary.clone(),
        Some(chain),
        "chain_mismatch",
        "the buyer pinned chain 1",
    ));
    let mut app = pinned;
    app.application = [0xa2; 20];
    cases.push((
        "certificate_another_application",
        summary.clone(),
        Some(app),
        "application_mismatch",
        "the buyer pinned another application",
    ));
    let mut consensus = pinned;
    consensus.consensus = [0xc1; 20];
    cases.push((
        "certificate_another_consensus",
        summary.clone(),
        Some(consensus),
        "consensus_mismatch",
        "the buyer pinned another consensus",
    ));
    let mut version = summary.clone();
    version[4] = 2;
    cases.push((
        "certificate_unknown_version",
        version,
        Some(pinned),
        "unsupported_version",
        "version 2",
    ));
    let mut magic = summary.clone();
    magic[0] = b'X';
    cases.push((
        "certificate_bad_magic",
        magic,
        Some(pinned),
        "not_a_certificate",
        "not the certificate magic",
    ));
    cases.push((
        "certificate_truncated",
        summary[..summary.len() - 1].to_vec(),
        Some(pinned),
        "truncated",
        "the last byte missing",
    ));
    cases.push((
        "certificate_only_version",
        summary[..5].to_vec(),
        Some(pinned),
        "truncated",
        "nothing after the version",
    ));
    let mut trailing = summary.clone();
    trailing.push(0);
    cases.push((
        "certificate_trailing_bytes",
        trailing,
        Some(pinned),
        "trailing_bytes",
        "one byte after the last field",
    ));
    let mut level = summary.clone();
    level[5] = 3;
    cases.push((
        "certificate_unknown_level",
        level,
        Some(pinned),
        "invalid_field",
        "level 3",
    ));
    let mut missing = story.full.clone();
    missing.notices.remove(0);
    cases.push((
        "certificate_full_notice_missing",
        missing.encode()?,
        Some(pinned),
        "history_mismatch",
        "the registration notice left out",
    ));
    let mut swapped = story.full.clone();
    swapped.notices.swap(0, 1);
    cases.push((
        "certificate_full_notices_reordered",
        swapped.encode()?,
        Some(pinned),
        "history_mismatch",
        "the two notices swapped",
    ));
    let mut altered_full = story.full.clone();
    if let Some(CertNotice::Opened(_, values)) = altered_full.notices.get_mut(1) {
        values[0].readings[1].odometer_m += 1;
    }
    cases.push((
        "certificate_full_altered_reading",
        altered_full.encode()?,
        Some(pinned),
        "history_mismatch",
        "a disclosed reading of the opened notice altered by 1 m: its commitment changes",
    ));
    let mut other_device_notice = story.full.clone();
    if let Some(CertNotice::Opened(notice, _)) = other_device_notice.notices.get_mut(1) {
        notice.device_id = device_id("certificate-neighbour-0");
    }
    cases.push((
        "certificate_full_notice_of_another_device",
        other_device_notice.encode()?,
        Some(pinned),
        "wrong_device",
        "the opened notice names another device",
    ));
    let mut wrong_key = story.full_odometer.clone();
    wrong_key.odometer_keys[0].key[0] ^= 1;
    cases.push((
        "certificate_full_wrong_odometer_key",
        wrong_key.encode()?,
        Some(pinned),
        "history_key_mismatch",
        "era 0's odometer key with one bit flipped",
    ));
    // The full part starts where the summary ends: the key count, then the keys.
    let mut unordered = story.full_odometer.encode()?;
    let record = unordered[summary.len() + 1..summary.len() + 37].to_vec();
    unordered[summary.len()] = 2;
    unordered.splice(summary.len() + 1..summary.len() + 1, record);
    cases.push((
        "certificate_full_odometer_keys_unordered",
        unordered,
        Some(pinned),
        "invalid_field",
        "era 0's odometer key given twice",
    ));
    let mut form = full.clone();
    let registered = match &story.full.notices[0] {
        CertNotice::Sealed(payload, _) => payload.len(),
        CertNotice::Opened(..) => 0,
    };
    // No keys, two notices, the first in form 0 (form byte, varint length, payload): the
    // second's form.
    let varint_len = if registered < 128 { 1 } else { 2 };
    let at = summary.len() + 3 + varint_len + registered;
    form[at] = 2;
    cases.push((
        "certificate_full_unknown_form",
        form,
        Some(pinned),
        "invalid_field",
        "the second notice in form 2",
    ));
    // Decoding comes first (18.4 step 1): a malformed opened notice is refused as such even
    // when the anchors differ too.
    if let [
        CertNotice::Sealed(registered, _),
        CertNotice::Opened(notice, values),
    ] = &story.full.notices[..]
    {
        let mut opened = notice.encode_opened(values)?;
        opened.push(0);
        let mut w = crate::codec::Writer::with_capacity(full.len() + 8);
        w.bytes(&full[..summary.len()])
            .varint(0)
            .varint(2)
            .u8(0)
            .var_bytes(registered)
            .u8(1)
            .var_bytes(&opened);
        let mut chain = pinned;
        chain.chain_id = 1;
        cases.push((
            "certificate_full_opened_trailing_byte_other_chain",
            w.finish(),
            Some(chain),
            "trailing_bytes",
            "a byte after the opened notice's values, and the buyer pinned chain 1",
        ));
    }
    // No keys, one notice: form 2, then a length whose varint never ends.
    let mut short_form = full[..summary.len()].to_vec();
    short_form.extend_from_slice(&[0, 1, 2, 0x80, 0x80, 0x80]);
    cases.push((
        "certificate_full_unknown_form_cut_short",
        short_form,
        Some(pinned),
        "invalid_field",
        "a notice in form 2 whose length is cut short: the form is refused first",
    ));
    for (name, bytes, pinned, code, what) in cases {
        out.push(certificate_vector(
            name,
            &bytes,
            pinned.as_ref(),
            Some(code),
            what,
        ));
    }
    Ok(out)
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
    let steps = story()?;
    vectors.extend(leaf_vectors(&steps));
    vectors.extend(map_vectors()?);
    vectors.extend(state_notice_vectors()?);
    vectors.extend(history_vectors(&steps)?);
    vectors.push(accumulator_vector(&steps));
    vectors.extend(verdict_vectors()?);
    vectors.extend(certificate_vectors()?);
    vectors.push(counter_step_vector());
    Ok(json!({ "vectors": vectors }))
}

/// The counter rule of section 6.2 at its edges: `(last or null, first counter, step)`.
fn counter_step_vector() -> Value {
    use crate::{CounterStep, MAX_COUNTER_GAP};
    let gap = MAX_COUNTER_GAP;
    let cases: [(Option<u64>, u64); 10] = [
        (None, 0),
        (None, gap),
        (None, gap + 1),
        (Some(5), 5),
        (Some(5), 4),
        (Some(5), 6),
        (Some(5), 6 + gap),
        (Some(5), 7 + gap),
        (Some(u64::MAX - 1), u64::MAX),
        (Some(0), u64::MAX),
    ];
    let mut map = new_vector("counter_steps", "counter_step");
    map.insert("max_counter_gap".into(), json!(gap));
    map.insert(
        "cases".into(),
        Value::Array(
            cases
                .iter()
                .map(|&(last, counter)| {
                    let step = match CounterStep::of(last, counter) {
                        CounterStep::Fresh => "fresh",
                        CounterStep::Stale => "stale_counter",
                        CounterStep::Jump => "counter_jump",
                    };
                    json!({ "last": last, "counter": counter, "step": step })
                })
                .collect(),
        ),
    );
    Value::Object(map)
}

/// The vectors file's exact text.
pub fn generate_pretty() -> crate::Result<String> {
    let value = generate()?;
    let mut text = serde_json::to_string_pretty(&value).map_err(|_| crate::Error::InvalidField)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    //! The crate's decoders, verifiers and verdict rules reach every state vector's declared
    //! outcome (the Python cross-check does the same from the specification).
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::state::MapProofError;
    use crate::verdict::{Evidence, decide};
    use crate::{BackendPublicKey, Opening};

    type Check = core::result::Result<(), String>;

    fn bytes(v: &Value) -> Vec<u8> {
        hex::decode(v.as_str().expect("hex string")).expect("hex")
    }

    fn array32(v: &Value) -> [u8; 32] {
        bytes(v).try_into().expect("32 bytes")
    }

    fn ensure(ok: bool, what: &str) -> Check {
        if ok { Ok(()) } else { Err(what.into()) }
    }

    fn outcome<T>(
        v: &Value,
        result: core::result::Result<T, &'static str>,
        valid: impl FnOnce(T) -> Check,
    ) -> Check {
        match (v["valid"].as_bool(), result) {
            (Some(true), Ok(value)) => valid(value),
            (Some(false), Err(code)) => ensure(
                Some(code) == v["expected_error"].as_str(),
                &format!("rejected with {code}, want {}", v["expected_error"]),
            ),
            (_, Ok(_)) => Err(format!("accepted, want {}", v["expected_error"])),
            (_, Err(code)) => Err(format!("rejected with {code}, want acceptance")),
        }
    }

    fn check_leaf(v: &Value) -> Check {
        let raw = bytes(&v["leaf"]);
        outcome(v, DeviceLeaf::decode(&raw).map_err(|e| e.code()), |leaf| {
            ensure(leaf.encode()[..] == raw[..], "re-encoding")?;
            ensure(
                json!(hex::encode(leaf.hash())) == v["leaf_hash"],
                "leaf hash",
            )?;
            ensure(leaf_json(&leaf) == v["fields"], "fields")
        })
    }

    fn check_map(v: &Value) -> Check {
        for leaf in v["leaves"].as_array().unwrap() {
            DeviceLeaf::decode(&bytes(leaf)).map_err(|e| e.code().to_string())?;
        }
        Ok(())
    }

    fn check_map_proof(v: &Value) -> Check {
        let raw = bytes(&v["proof"]);
        let key = DeviceId::from_hex(v["key"].as_str().unwrap()).unwrap();
        let root = array32(&v["root"]);
        let result = MapProof::decode(&raw)
            .map_err(MapProofError::Malformed)
            .and_then(|proof| {
                let found = proof
                    .verify(&key, &root)?
                    .map(|leaf| leaf.encode().to_vec());
                Ok((proof, found))
            })
            .map_err(MapProofError::code);
        outcome(v, result, |(proof, found)| {
            ensure(proof.encode() == raw, "re-encoding")?;
            match found {
                Some(leaf) => ensure(
                    v["outcome"] == "member" && v["member_leaf"] == json!(hex::encode(leaf)),
                    "member",
                ),
                None => ensure(v["outcome"] == "absent", "absent"),
            }
        })
    }

    fn check_state_notice(v: &Value) -> Check {
        let raw = bytes(&v["notice"]);
        outcome(v, StateNotice::decode(&raw).map_err(|e| e.code()), |n| {
            ensure(n.encode() == raw, "re-encoding")?;
            let f = &v["fields"];
            ensure(
                json!(n.input_index) == f["input_index"]
                    && json!(n.block_number) == f["block_number"]
                    && json!(n.block_timestamp) == f["block_timestamp"]
                    && json!(n.devices) == f["devices"]
                    && json!(hex::encode(n.map_root)) == f["map_root"]
                    && json!(hex::encode(n.globals)) == f["globals"],
                "fields",
            )
        })
    }

    fn check_history(v: &Value) -> Check {
        let raw = bytes(&v["notice"]);
        let odometer_key = array32(&v["odometer_key"]);
        let detail_key = (!v["detail_key"].is_null()).then(|| array32(&v["detail_key"]));
        let result = HistoryNotice::decode(&raw)
            .and_then(|n| {
                let values = n.open_values(&odometer_key, detail_key.as_ref())?;
                Ok((n, values))
            })
            .map_err(|e| e.code());
        outcome(v, result, |(n, values)| {
            ensure(n.encode() == raw, "re-encoding")?;
            ensure(notice_fields(&n) == v["fields"], "fields")?;
            let opened: Vec<Value> = values
                .iter()
                .map(|o| {
                    json!({
                        "counter": o.counter,
                        "day": o.day,
                        "odometer_m": o.odometer_m,
                        "blinding": o.detail.as_ref().map(|(b, _)| hex::encode(b)),
                        "reading": o.detail.as_ref().map_or(Value::Null, |(_, r)| reading_json(r)),
                    })
                })
                .collect();
            ensure(json!(opened) == v["opened"], "opened values")
        })
    }

    fn check_accumulator(v: &Value) -> Check {
        let mut acc = HistoryAccumulator::default();
        for (notice, want) in v["notices"]
            .as_array()
            .unwrap()
            .iter()
            .zip(v["folds"].as_array().unwrap())
        {
            let raw = bytes(notice);
            let input = u64::from_be_bytes(raw[18..26].try_into().unwrap());
            acc.fold(&raw, input);
            ensure(
                json!(acc.count) == want["count"]
                    && json!(hex::encode(acc.root)) == want["root"]
                    && json!(acc.last_input) == want["last_input"],
                "fold",
            )?;
        }
        let leaf = DeviceLeaf::decode(&bytes(&v["leaf"])).map_err(|e| e.code().to_string())?;
        ensure(leaf.history == acc, "the leaf's accumulator")
    }

    fn check_verdict(v: &Value) -> Check {
        let device_id = DeviceId::from_hex(v["device_id"].as_str().unwrap()).unwrap();
        let leaf = match &v["leaf"] {
            Value::Null => None,
            hex => Some(DeviceLeaf::decode(&bytes(hex)).map_err(|e| e.code().to_string())?),
        };
        let proof = PossessionProof::decode(&bytes(&v["possession_proof"]))
            .map_err(|e| e.code().to_string())?;
        let opening = match &v["opening"] {
            Value::Null => None,
            hex => Opening::decode(&bytes(hex)).ok(),
        };
        let backend_key = BackendPublicKey::from_bytes(&array32(&v["backend_public_key"])).unwrap();
        let predecessors = v["predecessors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hex| DeviceLeaf::decode(&bytes(hex)).map_err(|e| e.code().to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let domain = Domain {
            chain_id: v["chain_id"].as_u64().unwrap(),
            application: bytes(&v["application"]).try_into().unwrap(),
            backend_key,
        };
        let decision = decide(&Evidence {
            device_id,
            leaf: leaf.as_ref(),
            proof: &proof,
            nonce: &array32(&v["nonce"]),
            domain: &domain,
            opening: opening.as_ref(),
            predecessors: &predecessors,
        });
        let finding = decision.findings.first().map(|f| f.code);
        let codes: Vec<&str> = decision.findings.iter().map(|f| f.code).collect();
        ensure(
            Some(decision.verdict.code()) == v["expected_verdict"].as_str()
                && finding == v["expected_finding"].as_str()
                && v["expected_findings"] == json!(codes),
            &format!("decided {} ({codes:?})", decision.verdict.code()),
        )
    }

    #[test]
    fn a_pending_recovery_closes_the_findings() {
        let doc = generate().unwrap();
        let case = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "verdict_consistent_recovery_pending")
            .unwrap();
        assert_eq!(
            case["expected_findings"],
            json!(["consistent", "corrections_on_record", "recovery_pending"])
        );
    }

    #[test]
    fn the_sale_vector_carries_a_release_that_verifies_and_its_transfer_code() {
        let doc = generate().unwrap();
        let v = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "ownership_sale_released")
            .unwrap();
        let bytes = hex::decode(v["message"].as_str().unwrap()).unwrap();
        let mut r = crate::codec::Reader::new(&bytes);
        let statement = crate::OwnershipStatement::read(&mut r).unwrap();
        r.finish().unwrap();
        let Consent::Release(release) = statement.consent else {
            panic!("not a sale: {:?}", statement.consent);
        };
        let code = crate::TransferCode::from_text(v["transfer_code"].as_str().unwrap()).unwrap();
        assert_eq!(
            (code.device_id, code.release),
            (statement.device_id, release)
        );
        let seller = SigningKey::from_seed(&seed_for("seller"));
        let domain = keys("ownership").domain;
        release
            .verify(&seller.public_key(), &domain, statement.device_id, 1)
            .unwrap();
        assert!(
            release
                .verify(&seller.public_key(), &domain, statement.device_id, 2)
                .is_err(),
            "bound to the binding it ends"
        );
        assert_eq!(
            v["release_signed_message"].as_str().unwrap(),
            hex::encode(Release::signed_message(
                &domain,
                statement.device_id,
                1,
                release.expires_at
            ))
        );
    }

    #[test]
    fn state_vectors_behave_as_declared() {
        let doc = generate().unwrap();
        let mut checked = 0;
        for v in doc["vectors"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap();
            let check = match v["kind"].as_str().unwrap() {
                "leaf" => check_leaf(v),
                "map" => check_map(v),
                "map_proof" => check_map_proof(v),
                "state_notice" => check_state_notice(v),
                "history_notice" => check_history(v),
                "history_accumulator" => check_accumulator(v),
                "verdict" => check_verdict(v),
                _ => continue,
            };
            checked += 1;
            if let Err(why) = check {
                panic!("{name}: {why}");
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn names_are_unique() {
        let doc = generate().unwrap();
        let mut names: Vec<&str> = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all);
    }
}
