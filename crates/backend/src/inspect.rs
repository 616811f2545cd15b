//! Inspect queries ([`InspectQuery`]), each answered by one JSON report ([`InspectAnswer`]).
//! Nothing here reveals a reading's value: values live sealed in history notices, and the
//! keys that open them go only to the current owner or a fresh possession proof, sealed.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest as _, Sha256};
use witness_protocol::api::{
    ConfigAnswer, DeviceAnswer, DeviceProofAnswer, EraKey, ErrorAnswer, HistoryKeys,
    HistoryKeysAnswer, InspectAnswer, InspectQuery, LeafView, ModelView, StateAnswer, StatsAnswer,
};
use witness_protocol::notice::{DETAIL_KEY_TAG, NOTICE_VERSION, ODOMETER_KEY_TAG, history_key};
use witness_protocol::{
    BackendPublicKey, DeviceId, OwnerQuery, PossessionProof, PublicKey, seal_response,
};

use crate::map::NotKept;
use crate::state::State;

/// The answer to one inspect payload: `(accepted, answer)`.
pub fn inspect(state: &State, payload: &[u8]) -> (bool, InspectAnswer) {
    match answer(state, payload) {
        Ok(answer) => (true, answer),
        Err(error) => (false, InspectAnswer::Error(error)),
    }
}

type Answer = Result<InspectAnswer, ErrorAnswer>;

fn error(code: &str, detail: impl Into<String>) -> ErrorAnswer {
    ErrorAnswer {
        error: code.into(),
        detail: detail.into(),
    }
}

fn answer(state: &State, payload: &[u8]) -> Answer {
    let query: InspectQuery =
        serde_json::from_slice(payload).map_err(|e| error("bad_query", e.to_string()))?;
    match query {
        InspectQuery::Config => Ok(InspectAnswer::Config(config(state))),
        InspectQuery::Device { device_id } => {
            let id = device_id_of(&device_id)?;
            let leaf = state.device(&id).map(|d| LeafView::from(&d.leaf));
            Ok(InspectAnswer::Device(DeviceAnswer {
                device_id: id.to_hex(),
                exists: leaf.is_some(),
                input_index: state.last_state().map(|s| s.input_index),
                leaf,
            }))
        }
        InspectQuery::DeviceProof {
            device_id,
            input_index,
        } => device_proof(state, &device_id_of(&device_id)?, input_index),
        InspectQuery::HistoryKeys {
            owner_query,
            proof,
            response_key,
        } => history_keys(state, owner_query, proof, response_key),
        InspectQuery::Stats => Ok(InspectAnswer::Stats(stats(state))),
        InspectQuery::State => {
            let last = state.last_state();
            Ok(InspectAnswer::State(StateAnswer {
                processed_inputs: state.processed_inputs,
                input_index: last.map(|s| s.input_index),
                block_number: last.map(|s| s.block_number),
                devices: state.devices().len(),
                map_root: hex::encode(last.map_or([0; 32], |s| s.map_root)),
                globals: hex::encode(last.map_or([0; 32], |s| s.globals)),
                kept_from: state.devices().kept().map(|(oldest, _)| oldest),
            }))
        }
    }
}

fn device_id_of(text: &str) -> Result<DeviceId, ErrorAnswer> {
    DeviceId::from_hex(text).map_err(|_| error("bad_device_id", "device_id must be 32 hex digits"))
}

fn decode_hex(text: &str, what: &str) -> Result<Vec<u8>, ErrorAnswer> {
    witness_protocol::codec::parse_hex(text)
        .ok_or_else(|| error(&format!("bad_{what}"), format!("{what} must be hex")))
}

fn config(state: &State) -> ConfigAnswer {
    let c = &state.config;
    ConfigAnswer {
        protocol_version: NOTICE_VERSION,
        backend_public_key: hex::encode(c.backend_key.public_key().to_bytes()),
        admin: format!("0x{}", hex::encode(c.admin)),
        root_registrars: c
            .root_registrars
            .iter()
            .map(|k| hex::encode(k.to_bytes()))
            .collect(),
        registrars: state
            .registrars
            .iter()
            .filter(|(_, r)| r.trusted)
            .map(|(k, _)| hex::encode(k.to_bytes()))
            .collect(),
        gateways: state
            .gateways
            .iter()
            .map(|g| format!("0x{}", hex::encode(g)))
            .collect(),
        max_future_skew_s: c.max_future_skew_s,
        max_age_s: c.max_age_s,
        proof_freshness_s: c.proof_freshness_s,
        k_anonymity: c.k_anonymity as u64,
        proof_retention_blocks: c.proof_retention_blocks,
        models: c
            .models
            .iter()
            .map(|(id, m)| ModelView {
                model: id.0,
                name: m.name.clone(),
                fuel: m.fuel.name().into(),
            })
            .collect(),
    }
}

fn device_proof(state: &State, id: &DeviceId, input_index: Option<u64>) -> Answer {
    let Some(input_index) = input_index.or(state.last_state().map(|s| s.input_index)) else {
        return Err(error("not_processed", "no input has been processed yet"));
    };
    match state.devices().prove(id, input_index) {
        Ok((proof, root, _)) => Ok(InspectAnswer::DeviceProof(DeviceProofAnswer {
            device_id: id.to_hex(),
            input_index,
            map_root: hex::encode(root),
            proof: hex::encode(proof.encode()),
        })),
        Err(NotKept::NotProcessed) => Err(error(
            "not_processed",
            format!("input {input_index} is not processed yet"),
        )),
        Err(NotKept::Dropped { oldest }) => Err(error(
            "not_kept",
            format!(
                "the map as of input {input_index} is no longer kept (oldest kept: {})",
                oldest.map_or_else(|| "none".into(), |o| o.to_string())
            ),
        )),
    }
}

fn history_keys(
    state: &State,
    owner_query: Option<String>,
    proof: Option<String>,
    response_key: Option<String>,
) -> Answer {
    // Signatures are for the deployment of the latest input; before any input there is no
    // device to ask about.
    let domain = state
        .domain
        .as_ref()
        .ok_or_else(|| error("unknown_device", "no input processed yet"))?;
    let (device_id, recipient, aad, detail) = match (owner_query, proof, response_key) {
        (Some(query), None, None) => {
            let query = OwnerQuery::decode(&decode_hex(&query, "owner_query")?)
                .map_err(|e| error("bad_owner_query", e.code()))?;
            let device = state
                .device(&query.device_id)
                .ok_or_else(|| error("unknown_device", "no device with this id"))?;
            query
                .verify(domain)
                .map_err(|_| error("invalid_owner_query", "signature does not verify"))?;
            if device.leaf.owner != Some(query.owner.to_bytes()) {
                return Err(error(
                    "not_owner",
                    "the key is not the device's current owner",
                ));
            }
            if u64::from(query.expires_at) < state.last_block_timestamp {
                return Err(error(
                    "expired_owner_query",
                    "the query expired before the latest block",
                ));
            }
            (query.device_id, query.response_key, query.signature.0, true)
        }
        (None, Some(proof), Some(response_key)) => {
            let proof = PossessionProof::decode(&decode_hex(&proof, "proof")?)
                .map_err(|e| error("bad_proof", e.code()))?;
            let device = state
                .device(&proof.device_id)
                .ok_or_else(|| error("unknown_device", "no device with this id"))?;
            let key = PublicKey::from_checked_bytes(&device.leaf.key)
                .map_err(|_| error("invalid_proof", "the device key does not parse"))?;
            proof.verify(&key, domain).map_err(|_| {
                error(
                    "invalid_proof",
                    "the proof's signature does not verify under the device's current key",
                )
            })?;
            let fresh_after = state
                .last_block_timestamp
                .saturating_sub(state.config.proof_freshness_s);
            let time = u64::from(proof.reading.timestamp);
            if time < fresh_after {
                return Err(error(
                    "stale_proof",
                    "the proof's reading is older than the freshness window",
                ));
            }
            // A proof dated ahead of the chain would otherwise stay fresh until block time
            // caught up with it.
            if time
                > state
                    .last_block_timestamp
                    .saturating_add(state.config.max_future_skew_s)
            {
                return Err(error(
                    "proof_in_future",
                    "the proof's reading is dated after the latest block",
                ));
            }
            let mut key = [0u8; 32];
            hex::decode_to_slice(
                witness_protocol::codec::strip_hex_prefix(&response_key),
                &mut key,
            )
            .map_err(|_| error("bad_response_key", "response_key must be 32 bytes of hex"))?;
            (proof.device_id, key, proof.signature.0, false)
        }
        _ => {
            return Err(error(
                "no_right_to_see",
                "history keys need an owner_query, or a proof with a response_key",
            ));
        }
    };
    let Some(device) = state.device(&device_id) else {
        return Err(error("unknown_device", "no device with this id"));
    };
    let era = device.leaf.era;
    let secret = state.config.backend_key.to_bytes();
    let key = |tag: &[u8], era: u32| EraKey {
        era,
        key: hex::encode(*history_key(tag, &secret, &device_id, era)),
    };
    // Dated odometer values of every era (what a buyer needs); whole readings only of the
    // current owner's own era (docs/THREAT_MODEL.md, "after a sale").
    let keys = HistoryKeys {
        device_id: device_id.to_hex(),
        odometer: (0..=era).map(|e| key(ODOMETER_KEY_TAG, e)).collect(),
        detail: if detail {
            vec![key(DETAIL_KEY_TAG, era)]
        } else {
            Vec::new()
        },
    };
    let plaintext = serde_json::to_vec(&keys).unwrap_or_default();
    let recipient = BackendPublicKey::from_bytes(&recipient)
        .map_err(|e| error("bad_response_key", e.code()))?;
    // The HPKE randomness is derived from the backend secret, the request and the answer:
    // reproducible (no OS randomness), and a different answer never reuses a key.
    let mut seed = Sha256::new();
    seed.update(b"witness/v2/response-seed");
    seed.update(secret.as_ref());
    seed.update(aad);
    seed.update(Sha256::digest(&plaintext));
    let mut rng = ChaCha20Rng::from_seed(seed.finalize().into());
    let sealed = seal_response(&recipient, &aad, &plaintext, &mut rng)
        .map_err(|e| error("bad_response_key", e.code()))?;
    Ok(InspectAnswer::HistoryKeys(HistoryKeysAnswer {
        device_id: device_id.to_hex(),
        era,
        sealed: hex::encode(sealed),
    }))
}

fn stats(state: &State) -> StatsAnswer {
    let devices = state.devices().iter().map(|d| (d.leaf.model, &d.summary));
    let (models, fleet) = crate::stats::publish(
        &state.stats,
        devices,
        &state.config.models,
        state.config.k_anonymity,
    );
    StatsAnswer {
        k_anonymity: state.config.k_anonymity as u64,
        km_per_year_buckets: crate::stats::KM_PER_YEAR_BUCKETS.to_vec(),
        models,
        fleet,
    }
}
