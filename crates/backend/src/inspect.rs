//! Inspect queries: a UTF-8 JSON object with a `type`, answered by one JSON report.
//! Readings are revealed only to a valid possession proof or a valid owner query.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use witness_protocol::{
    BackendPublicKey, DeviceId, OwnerQuery, PossessionProof, Reading, seal_response,
};

use crate::state::{Device, DeviceStatus, HistoryEntry, HistoryEvent, State};

/// Most history entries one answer carries.
pub const MAX_PAGE: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Query {
    Config,
    Device {
        device_id: String,
    },
    History {
        #[serde(default)]
        owner_query: Option<String>,
        #[serde(default)]
        proof: Option<String>,
        #[serde(default)]
        offset: usize,
        #[serde(default)]
        limit: Option<usize>,
    },
    Verify {
        proof: String,
    },
    Stats,
    StateRoot,
}

/// The answer to one inspect payload: `(accepted, report JSON)`.
pub fn inspect(state: &State, payload: &[u8]) -> (bool, Value) {
    let query: Query = match serde_json::from_slice(payload) {
        Ok(query) => query,
        Err(error) => return (false, error_json("bad_query", &error.to_string())),
    };
    match query {
        Query::Config => (true, config(state)),
        Query::Device { device_id } => match DeviceId::from_hex(&device_id) {
            Ok(id) => (true, device_status(state, id)),
            Err(_) => (
                false,
                error_json("bad_device_id", "device_id must be 32 hex digits"),
            ),
        },
        Query::History {
            owner_query,
            proof,
            offset,
            limit,
        } => history(
            state,
            owner_query,
            proof,
            offset,
            limit.unwrap_or(100).min(MAX_PAGE),
        ),
        Query::Verify { proof } => verify(state, &proof),
        Query::Stats => (true, stats(state)),
        Query::StateRoot => (
            true,
            json!({
                "type": "state_root",
                "state_root": hex::encode(crate::root::state_root(state)),
                "processed_inputs": state.processed_inputs,
            }),
        ),
    }
}

fn error_json(code: &str, detail: &str) -> Value {
    json!({ "type": "error", "error": code, "detail": detail })
}

fn config(state: &State) -> Value {
    let c = &state.config;
    json!({
        "type": "config",
        "protocol_version": 1,
        "backend_public_key": hex::encode(c.backend_key.public_key().to_bytes()),
        "admin": format!("0x{}", hex::encode(c.admin)),
        "root_registrars": c.root_registrars.iter().map(|k| hex::encode(k.to_bytes())).collect::<Vec<_>>(),
        "registrars": state.registrars.keys().map(|k| hex::encode(k.to_bytes())).collect::<Vec<_>>(),
        "gateways": state.gateways.iter().map(|g| format!("0x{}", hex::encode(g))).collect::<Vec<_>>(),
        "max_future_skew_s": c.max_future_skew_s,
        "max_age_s": c.max_age_s,
        "proof_freshness_s": c.proof_freshness_s,
        "k_anonymity": c.k_anonymity,
        "models": c.models.iter().map(|(id, m)| json!({"model": id.0, "name": m.name, "fuel": m.fuel})).collect::<Vec<_>>(),
    })
}

fn status_name(device: &Device) -> &'static str {
    match device.status {
        DeviceStatus::Revoked { .. } => "revoked",
        DeviceStatus::Active if device.flagged => "flagged",
        DeviceStatus::Active => "active",
    }
}

/// Public facts: existence, counter, flags. Never a reading's value.
fn device_status(state: &State, id: DeviceId) -> Value {
    let Some(device) = state.device(&id) else {
        return json!({ "type": "device", "device_id": id.to_hex(), "exists": false });
    };
    let last = device.attested().last();
    json!({
        "type": "device",
        "device_id": id.to_hex(),
        "exists": true,
        "model": device.model.0,
        "status": status_name(device),
        "flagged": device.flagged,
        "revocation_reason": match &device.status { DeviceStatus::Revoked { reason } => Some(reason.clone()), DeviceStatus::Active => None },
        "public_key": hex::encode(device.key.to_bytes()),
        "owner": device.owner.map(|k| hex::encode(k.to_bytes())),
        "last_counter": device.last_counter,
        "readings": device.readings().count(),
        "tamper_events": device.tamper_events(),
        "last_attested": last.map(|(entry, record)| json!({
            "counter": record.counter,
            "input_index": entry.input_index,
            "block_timestamp": entry.block_timestamp,
            "notice_index": entry.notice_index,
            "commitment": hex::encode(record.commitment.0),
        })),
    })
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

fn entry_json(entry: &HistoryEntry) -> Value {
    let common = json!({
        "input_index": entry.input_index,
        "block_timestamp": entry.block_timestamp,
        "notice_index": entry.notice_index,
    });
    let event = match &entry.event {
        HistoryEvent::Registered { model, registrar } => {
            json!({"event": "registered", "model": model.0, "registrar": hex::encode(registrar)})
        }
        HistoryEvent::Reading(record) => json!({
            "event": if record.rollback { "rollback" } else { "reading" },
            "counter": record.counter,
            "reading": reading_json(&record.reading),
            "commitment": hex::encode(record.commitment.0),
            "envelope_hash": hex::encode(record.envelope_hash),
            "reference_counter": record.reference_counter,
        }),
        HistoryEvent::Corrected {
            counter,
            odometer_m,
            reason,
            registrar,
        } => json!({
            "event": "corrected", "counter": counter, "odometer_m": odometer_m, "reason": reason,
            "registrar": hex::encode(registrar),
        }),
        HistoryEvent::KeyRotated { new_key } => {
            json!({"event": "key_rotated", "new_key": hex::encode(new_key)})
        }
        HistoryEvent::Revoked { reason } => json!({"event": "revoked", "reason": reason}),
        HistoryEvent::OwnerChanged {
            sequence,
            consented_by_previous_owner,
        } => json!({
            "event": "owner_changed", "sequence": sequence, "consented_by_previous_owner": consented_by_previous_owner,
        }),
    };
    merge(common, event)
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.trim_start_matches("0x")).ok()
}

/// Checks a possession proof: decodes, the device exists, the signature verifies under its
/// current key.
fn check_proof<'s>(
    state: &'s State,
    proof_hex: &str,
) -> Result<(PossessionProof, &'s Device), Value> {
    let bytes =
        decode_hex(proof_hex).ok_or_else(|| error_json("bad_proof", "proof must be hex"))?;
    let proof = PossessionProof::decode(&bytes).map_err(|e| error_json("bad_proof", e.code()))?;
    let device = state.device(&proof.device_id).ok_or_else(|| {
        json!({"type": "verify", "verdict": "unknown_device", "device_id": proof.device_id.to_hex(),
               "reasons": ["no device with this id is registered"]})
    })?;
    proof
        .verify(&device.key, state.config.backend_key.public_key())
        .map_err(|_| {
            error_json(
                "invalid_proof",
                "the proof's signature does not verify under the device's current key",
            )
        })?;
    Ok((proof, device))
}

fn history(
    state: &State,
    owner_query: Option<String>,
    proof: Option<String>,
    offset: usize,
    limit: usize,
) -> (bool, Value) {
    let page = |device: &Device| -> Vec<Value> {
        device
            .history
            .iter()
            .skip(offset)
            .take(limit)
            .map(entry_json)
            .collect()
    };
    match (owner_query, proof) {
        (Some(query_hex), None) => {
            let Some(bytes) = decode_hex(&query_hex) else {
                return (
                    false,
                    error_json("bad_owner_query", "owner_query must be hex"),
                );
            };
            let query = match OwnerQuery::decode(&bytes) {
                Ok(query) => query,
                Err(e) => return (false, error_json("bad_owner_query", e.code())),
            };
            let Some(device) = state.device(&query.device_id) else {
                return (
                    false,
                    error_json("unknown_device", "no device with this id"),
                );
            };
            if query.verify(state.config.backend_key.public_key()).is_err() {
                return (
                    false,
                    error_json("invalid_owner_query", "signature does not verify"),
                );
            }
            if device.owner != Some(query.owner) {
                return (
                    false,
                    error_json("not_owner", "the key is not the device's current owner"),
                );
            }
            if u64::from(query.expires_at) < state.last_block_timestamp {
                return (
                    false,
                    error_json(
                        "expired_owner_query",
                        "the query expired before the latest block",
                    ),
                );
            }
            let body = json!({
                "device_id": query.device_id.to_hex(),
                "total": device.history.len(),
                "offset": offset,
                "entries": page(device),
            });
            let plaintext = body.to_string().into_bytes();
            match seal_for(state, &query, &plaintext) {
                Ok(sealed) => (
                    true,
                    json!({"type": "history", "sealed": hex::encode(sealed), "total": device.history.len()}),
                ),
                Err(e) => (false, error_json("bad_response_key", e.code())),
            }
        }
        (None, Some(proof_hex)) => {
            let (proof, device) = match check_proof(state, &proof_hex) {
                Ok(ok) => ok,
                Err(answer) => return (false, answer),
            };
            let fresh_after = state
                .last_block_timestamp
                .saturating_sub(state.config.proof_freshness_s);
            if u64::from(proof.reading.timestamp) < fresh_after {
                return (
                    false,
                    error_json(
                        "stale_proof",
                        "the proof's reading is older than the freshness window",
                    ),
                );
            }
            (
                true,
                json!({
                    "type": "history",
                    "device_id": proof.device_id.to_hex(),
                    "total": device.history.len(),
                    "offset": offset,
                    "entries": page(device),
                }),
            )
        }
        _ => (
            false,
            error_json(
                "no_right_to_see",
                "history needs exactly one of owner_query or proof",
            ),
        ),
    }
}

/// Seals an answer to the query's response key. The HPKE randomness is derived from the
/// backend secret, the query and the answer, so the answer is reproducible (no OS
/// randomness) and a different answer never reuses a key.
fn seal_for(
    state: &State,
    query: &OwnerQuery,
    plaintext: &[u8],
) -> witness_protocol::Result<Vec<u8>> {
    let recipient = BackendPublicKey::from_bytes(&query.response_key)?;
    let mut seed = Sha256::new();
    seed.update(b"witness/v1/response-seed");
    seed.update(state.config.backend_key.to_bytes().as_ref());
    seed.update(query.signature.0);
    seed.update(Sha256::digest(plaintext));
    let mut rng = ChaCha20Rng::from_seed(seed.finalize().into());
    seal_response(&recipient, &query.signature.0, plaintext, &mut rng)
}

/// The verdict on a device read now (possession proof) against its attested history.
fn verify(state: &State, proof_hex: &str) -> (bool, Value) {
    let (proof, device) = match check_proof(state, proof_hex) {
        Ok(ok) => ok,
        Err(answer) => return (!answer["verdict"].is_null(), answer),
    };
    let best = device
        .attested()
        .max_by_key(|(_, r)| (r.reading.odometer_m, r.counter));
    let latest = device.attested().last();
    let mut reasons = Vec::new();
    let verdict = if let DeviceStatus::Revoked { reason } = &device.status {
        reasons.push(format!("the device was revoked: {reason}"));
        "revoked"
    } else if let Some((_, record)) =
        best.filter(|(_, r)| proof.reading.odometer_m < r.reading.odometer_m)
    {
        reasons.push(format!(
            "the device shows {} m, below the {} m attested at counter {}",
            proof.reading.odometer_m, record.reading.odometer_m, record.counter
        ));
        "rollback"
    } else if device.flagged {
        reasons.push(format!(
            "{} rollback(s) on record without a correction",
            device.tamper_events()
        ));
        "flagged"
    } else if device.last_counter.is_some_and(|last| proof.counter < last) {
        reasons.push(format!(
            "the device's counter {} is below the last attested counter {}: a clone or a reset",
            proof.counter,
            device.last_counter.unwrap_or_default()
        ));
        "flagged"
    } else {
        reasons.push(match latest {
            Some((_, r)) => format!(
                "the device shows {} m, at or above the attested {} m",
                proof.reading.odometer_m, r.reading.odometer_m
            ),
            None => "no readings attested yet; nothing contradicts the device".to_string(),
        });
        "consistent"
    };
    let attested = |found: Option<(&HistoryEntry, &crate::state::ReadingRecord)>| {
        found.map(|(entry, record)| {
            json!({
                "counter": record.counter,
                "reading": reading_json(&record.reading),
                "commitment": hex::encode(record.commitment.0),
                "input_index": entry.input_index,
                "block_timestamp": entry.block_timestamp,
                "notice_index": entry.notice_index,
            })
        })
    };
    (
        true,
        json!({
            "type": "verify",
            "verdict": verdict,
            "reasons": reasons,
            "device_id": proof.device_id.to_hex(),
            "nonce": hex::encode(proof.nonce),
            "device_reading": reading_json(&proof.reading),
            "device_counter": proof.counter,
            "last_attested": attested(latest),
            "highest_attested": attested(best),
            "tamper_events": device.tamper_events(),
        }),
    )
}

fn stats(state: &State) -> Value {
    let (models, fleet) =
        crate::stats::publish(&state.stats, &state.config.models, state.config.k_anonymity);
    json!({
        "type": "stats",
        "k_anonymity": state.config.k_anonymity,
        "km_per_year_buckets": crate::stats::KM_PER_YEAR_BUCKETS,
        "models": models,
        "fleet": fleet,
    })
}
