//! Integration tests of the rollup backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attacks;
mod binary;
mod map;
mod properties;
mod provable;

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use serde_json::Value;
use witness_backend::{AdvanceOutcome, Config, Metadata, State, inspect::inspect};
use witness_protocol::api::{
    DeviceProofAnswer, EraKey, ErrorAnswer, HistoryKeys, HistoryKeysAnswer, InspectAnswer,
};
use witness_protocol::notice::{HistoryNotice, NOTICE_HISTORY, StateNotice, notice_kind};
use witness_protocol::state::{DeviceLeaf, MapProof};
use witness_protocol::verdict::{Decision, Evidence, decide};
use witness_protocol::{
    BackendSecretKey, Consent, DeviceId, Envelope, GatewayAuthorization, Message, ModelId, Opening,
    OwnerQuery, OwnershipStatement, PossessionProof, Reading, RegistrarAction, RegistrarMessage,
    Release, RollupInput, SigningKey, VehicleId, VehicleIdentity, open_response,
};

pub(crate) const ADMIN: [u8; 20] = [0xAD; 20];
pub(crate) const GATEWAY: [u8; 20] = [0x6A; 20];
pub(crate) const STRANGER: [u8; 20] = [0x55; 20];
pub(crate) const T0: u64 = 1_790_000_000;

pub(crate) fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub(crate) fn hex_address(address: [u8; 20]) -> String {
    format!("0x{}", hex::encode(address))
}

/// A backend with one root registrar and an authorized gateway, helpers to drive it, and a
/// log of every output (what a node would store and a verifier could fetch).
pub(crate) struct World {
    pub(crate) state: State,
    pub(crate) registrar: SigningKey,
    /// The deployment everything is signed for (the metadata's chain and application).
    pub(crate) domain: witness_protocol::Domain,
    pub(crate) registrar_sequence: u64,
    pub(crate) input_index: u64,
    pub(crate) block_number: u64,
    pub(crate) now: u64,
    pub(crate) rng: ChaCha20Rng,
    /// Every notice emitted, in order.
    pub(crate) log: Vec<Vec<u8>>,
    /// The state notice of every input, in order.
    pub(crate) states: Vec<StateNotice>,
}

/// A simulated device, and what it keeps of what it sealed (to open its commitments).
pub(crate) struct Car {
    pub(crate) id: DeviceId,
    pub(crate) key: SigningKey,
    pub(crate) counter: u64,
    pub(crate) odometer_m: u64,
    /// Per counter: the blinding (from the envelope's commitment key) and the reading.
    pub(crate) sealed: BTreeMap<u64, ([u8; 32], Reading)>,
}

impl Car {
    pub(crate) fn new(id: DeviceId, key: SigningKey, counter: u64, odometer_m: u64) -> Self {
        Self {
            id,
            key,
            counter,
            odometer_m,
            sealed: BTreeMap::new(),
        }
    }

    /// The device's opening of the reading with `counter`, if it sealed one.
    pub(crate) fn opening(&self, counter: u64) -> Option<Opening> {
        let (blinding, reading) = self.sealed.get(&counter)?;
        Some(Opening {
            device_id: self.id,
            counter,
            blinding: *blinding,
            reading: reading.clone(),
        })
    }
}

impl World {
    pub(crate) fn new() -> Self {
        Self::with_config(|_| {})
    }

    pub(crate) fn with_config(configure: impl FnOnce(&mut Config)) -> Self {
        let mut rng = rng(7);
        let registrar = SigningKey::generate(&mut rng);
        let backend = BackendSecretKey::generate(&mut rng);
        let domain = witness_protocol::fixture::domain(backend.public_key());
        let mut config = Config::new(ADMIN, vec![registrar.public_key()], backend);
        configure(&mut config);
        let mut world = Self {
            state: State::new(config),
            registrar,
            domain,
            registrar_sequence: 0,
            input_index: 0,
            block_number: 100,
            now: T0,
            rng,
            log: Vec::new(),
            states: Vec::new(),
        };
        let outcome = world.submit(
            ADMIN,
            vec![Message::GatewayAuthorization(GatewayAuthorization {
                gateway: GATEWAY,
                authorized: true,
            })],
        );
        assert_eq!(summary(&outcome)["acts_applied"], 1);
        world
    }

    pub(crate) fn meta(&self, sender: [u8; 20]) -> Metadata {
        Metadata {
            chain_id: witness_protocol::fixture::CHAIN_ID,
            app_contract: hex_address(witness_protocol::fixture::APPLICATION),
            msg_sender: hex_address(sender),
            block_number: self.block_number,
            block_timestamp: self.now,
            input_index: self.input_index,
        }
    }

    /// Advances with `payload` and checks the output rules every input obeys.
    pub(crate) fn submit_raw(&mut self, sender: [u8; 20], payload: &[u8]) -> AdvanceOutcome {
        let meta = self.meta(sender);
        self.input_index += 1;
        self.block_number += 1;
        let outcome = self.state.advance(&meta, payload);
        let state = check_outputs(&meta, &outcome);
        self.log.extend(outcome.notices.iter().cloned());
        self.states.push(state);
        outcome
    }

    pub(crate) fn submit(&mut self, sender: [u8; 20], messages: Vec<Message>) -> AdvanceOutcome {
        let payload = RollupInput { messages }.encode().unwrap();
        self.submit_raw(sender, &payload)
    }

    pub(crate) fn registrar_message(&mut self, action: RegistrarAction) -> Message {
        self.registrar_sequence += 1;
        Message::Registrar(
            RegistrarMessage::sign(
                &self.registrar,
                &self.domain,
                self.registrar_sequence,
                action,
            )
            .unwrap(),
        )
    }

    pub(crate) fn register(&mut self, model: u32) -> Car {
        let id = DeviceId::random(&mut self.rng);
        self.register_id(model, id)
    }

    pub(crate) fn register_id(&mut self, model: u32, id: DeviceId) -> Car {
        let key = SigningKey::generate(&mut self.rng);
        let message = self.registrar_message(RegistrarAction::RegisterDevice {
            device_id: id,
            model: ModelId(model),
            public_key: key.public_key(),
            vehicle: vehicle_of(&id),
        });
        let outcome = self.submit(STRANGER, vec![message]);
        assert_eq!(
            summary(&outcome)["acts_applied"],
            1,
            "{:?}",
            reports(&outcome)
        );
        Car::new(id, key, 0, 10_000_000)
    }

    pub(crate) fn reading(&self, car: &Car) -> Reading {
        Reading {
            timestamp: self.now as u32,
            odometer_m: car.odometer_m,
            fuel_ml: 700,
            engine_s: 1000,
            faults: vec![],
        }
    }

    /// The car drives `km` and seals `count` readings an hour apart (the last one now).
    pub(crate) fn drive(&mut self, car: &mut Car, km: u64, count: usize) -> Envelope {
        let mut readings = Vec::new();
        for i in 0..count {
            car.odometer_m += km * 1000 / count as u64;
            let mut reading = self.reading(car);
            reading.timestamp = (self.now - 3600 * (count - 1 - i) as u64) as u32;
            readings.push(reading);
        }
        self.seal(car, &readings)
    }

    pub(crate) fn seal(&mut self, car: &mut Car, readings: &[Reading]) -> Envelope {
        let counter = car.counter + 1;
        car.counter += readings.len() as u64;
        let sealed = Envelope::seal(
            &car.key,
            &self.domain,
            car.id,
            counter,
            readings,
            &mut self.rng,
        )
        .unwrap();
        for (offset, reading) in readings.iter().enumerate() {
            let counter = counter + offset as u64;
            car.sealed.insert(
                counter,
                (sealed.commitment_key.blinding(counter), reading.clone()),
            );
        }
        sealed.envelope
    }

    pub(crate) fn send(&mut self, envelopes: Vec<Envelope>) -> AdvanceOutcome {
        self.now += 600;
        self.submit(
            GATEWAY,
            envelopes.into_iter().map(Message::Envelope).collect(),
        )
    }

    pub(crate) fn ownership(
        &self,
        car: &Car,
        owner: &SigningKey,
        sequence: u64,
        release_by: Option<&SigningKey>,
    ) -> Message {
        // The release ends the current binding, for an hour.
        let consent = match release_by {
            None => Consent::FirstPairing,
            Some(previous) => {
                let released = self
                    .state
                    .device(&car.id)
                    .and_then(|d| d.leaf.ownership_sequence)
                    .unwrap_or(0);
                let expires_at = u32::try_from(self.now + 3_600).unwrap_or(u32::MAX);
                Consent::Release(Release::sign(
                    previous,
                    &self.domain,
                    car.id,
                    released,
                    expires_at,
                ))
            }
        };
        Message::Ownership(OwnershipStatement::sign(
            &car.key,
            &self.domain,
            car.id,
            owner.public_key(),
            sequence,
            consent,
        ))
    }

    pub(crate) fn pair(&mut self, car: &Car, owner: &SigningKey, sequence: u64) -> AdvanceOutcome {
        let message = self.ownership(car, owner, sequence, None);
        self.submit(STRANGER, vec![message])
    }

    /// A sale: the device binds `buyer` on the release of the current owner `seller`.
    pub(crate) fn sell(
        &mut self,
        car: &Car,
        seller: &SigningKey,
        buyer: &SigningKey,
        sequence: u64,
    ) -> AdvanceOutcome {
        let message = self.ownership(car, buyer, sequence, Some(seller));
        self.submit(STRANGER, vec![message])
    }

    /// The device's signed answer to `nonce`, showing `odometer_m` now.
    pub(crate) fn possession(
        &self,
        car: &Car,
        odometer_m: u64,
        nonce: [u8; 32],
    ) -> PossessionProof {
        let mut reading = self.reading(car);
        reading.odometer_m = odometer_m;
        PossessionProof::sign(&car.key, &self.domain, car.id, nonce, car.counter, reading).unwrap()
    }

    pub(crate) fn owner_query(
        &self,
        car: &Car,
        owner: &SigningKey,
        response: &BackendSecretKey,
        expires_at: u64,
    ) -> String {
        let query = OwnerQuery::sign(
            owner,
            &self.domain,
            car.id,
            response.public_key().to_bytes(),
            expires_at as u32,
        );
        hex::encode(query.encode())
    }

    /// The raw JSON answer.
    pub(crate) fn inspect(&self, query: Value) -> (bool, Value) {
        let (ok, answer) = inspect(&self.state, query.to_string().as_bytes());
        (ok, serde_json::to_value(answer).unwrap())
    }

    /// The typed answer; a refused query is `Err`.
    pub(crate) fn ask(&self, query: Value) -> Result<InspectAnswer, ErrorAnswer> {
        match inspect(&self.state, query.to_string().as_bytes()) {
            (true, answer) => Ok(answer),
            (false, InspectAnswer::Error(error)) => Err(error),
            (false, other) => panic!("a refused query answered {other:?}"),
        }
    }

    /// The latest state notice.
    pub(crate) fn last_state(&self) -> StateNotice {
        *self.states.last().unwrap()
    }

    /// The map root of the latest state notice.
    pub(crate) fn root(&self) -> [u8; 32] {
        self.last_state().map_root
    }

    /// The state notice of input `index`.
    pub(crate) fn state_of(&self, index: u64) -> StateNotice {
        *self.states.iter().find(|s| s.input_index == index).unwrap()
    }

    pub(crate) fn device_proof(
        &self,
        id: &DeviceId,
        input_index: Option<u64>,
    ) -> Result<(DeviceProofAnswer, MapProof), ErrorAnswer> {
        let query = match input_index {
            Some(index) => {
                serde_json::json!({"type": "device_proof", "device_id": id.to_hex(), "input_index": index})
            }
            None => serde_json::json!({"type": "device_proof", "device_id": id.to_hex()}),
        };
        match self.ask(query)? {
            InspectAnswer::DeviceProof(answer) => {
                let proof = MapProof::decode(&hex::decode(&answer.proof).unwrap()).unwrap();
                Ok((answer, proof))
            }
            other => panic!("device_proof answered {other:?}"),
        }
    }

    /// The device's leaf proven against the latest state notice's root (`None`: proven
    /// absent). Panics if the path does not verify.
    pub(crate) fn proven_leaf(&self, id: &DeviceId) -> Option<DeviceLeaf> {
        let (_, proof) = self.device_proof(id, None).unwrap();
        proof.verify(id, &self.root()).unwrap().cloned()
    }

    pub(crate) fn leaf(&self, id: &DeviceId) -> DeviceLeaf {
        self.proven_leaf(id).expect("the device is proven present")
    }

    /// The vehicle's earlier units of `leaf`, newest first, proven against the same root.
    pub(crate) fn predecessors(&self, leaf: Option<&DeviceLeaf>) -> Vec<DeviceLeaf> {
        let mut units: Vec<DeviceLeaf> = Vec::new();
        let mut next = leaf.and_then(|l| l.predecessor());
        while let Some(id) = next {
            let unit = self.leaf(&id);
            next = unit.predecessor();
            units.push(unit);
        }
        units
    }

    /// What a verifier concludes: the leaf proven against the latest state notice, a live
    /// possession proof showing `odometer_m` for a fresh nonce, and the device's opening of
    /// the leaf's highest attested reading.
    pub(crate) fn verdict(&mut self, car: &Car, odometer_m: u64) -> Decision {
        let mut nonce = [0u8; 32];
        self.rng.fill_bytes(&mut nonce);
        let proof = self.possession(car, odometer_m, nonce);
        let leaf = self.proven_leaf(&car.id);
        let opening = leaf
            .as_ref()
            .and_then(|l| l.highest)
            .and_then(|h| car.opening(h.counter));
        decide(&Evidence {
            device_id: car.id,
            leaf: leaf.as_ref(),
            proof: &proof,
            nonce: &nonce,
            domain: &self.domain,
            opening: opening.as_ref(),
            predecessors: &self.predecessors(leaf.as_ref()),
        })
    }

    /// `history_keys` with an owner query, opened with `response`.
    pub(crate) fn owner_keys(
        &self,
        car: &Car,
        owner: &SigningKey,
        response: &BackendSecretKey,
    ) -> Result<(HistoryKeysAnswer, HistoryKeys), ErrorAnswer> {
        let query = self.owner_query(car, owner, response, self.now + 300);
        let signature = OwnerQuery::decode(&hex::decode(&query).unwrap())
            .unwrap()
            .signature;
        self.open_keys(
            serde_json::json!({"type": "history_keys", "owner_query": query}),
            response,
            &signature.0,
        )
    }

    /// `history_keys` with a possession proof, sealed to `response`.
    pub(crate) fn proof_keys(
        &self,
        proof: &PossessionProof,
        response: &BackendSecretKey,
    ) -> Result<(HistoryKeysAnswer, HistoryKeys), ErrorAnswer> {
        self.open_keys(
            serde_json::json!({
                "type": "history_keys",
                "proof": hex::encode(proof.encode().unwrap()),
                "response_key": hex::encode(response.public_key().to_bytes()),
            }),
            response,
            &proof.signature.0,
        )
    }

    fn open_keys(
        &self,
        query: Value,
        response: &BackendSecretKey,
        aad: &[u8],
    ) -> Result<(HistoryKeysAnswer, HistoryKeys), ErrorAnswer> {
        match self.ask(query)? {
            InspectAnswer::HistoryKeys(answer) => {
                let sealed = hex::decode(&answer.sealed).unwrap();
                let plain = open_response(response, aad, &sealed).unwrap();
                let keys: HistoryKeys = serde_json::from_slice(&plain).unwrap();
                assert_eq!(keys.device_id, answer.device_id);
                Ok((answer, keys))
            }
            other => panic!("history_keys answered {other:?}"),
        }
    }

    /// Every history notice of `id`, in emission order.
    pub(crate) fn notices_of(&self, id: &DeviceId) -> Vec<HistoryNotice> {
        self.log
            .iter()
            .filter(|n| notice_kind(n) == Ok(NOTICE_HISTORY))
            .map(|n| HistoryNotice::decode(n).unwrap())
            .filter(|n| n.device_id == *id)
            .collect()
    }
}

/// The rules of every input's outputs (docs/PROTOCOL.md 16): history notices, each for the
/// input, at most one per device and era; then exactly one state notice, last, for the input;
/// and the `input_accepted` summary as the last report. Returns the state notice.
pub(crate) fn check_outputs(meta: &Metadata, outcome: &AdvanceOutcome) -> StateNotice {
    let (last, history) = outcome
        .notices
        .split_last()
        .expect("every input has outputs");
    let state = StateNotice::decode(last).expect("the last notice is a state notice");
    assert_eq!(state.input_index, meta.input_index);
    assert_eq!(state.block_number, meta.block_number);
    assert_eq!(state.block_timestamp, meta.block_timestamp);
    let mut eras = BTreeSet::new();
    for bytes in history {
        assert!(StateNotice::decode(bytes).is_err(), "one state notice only");
        let notice = HistoryNotice::decode(bytes).expect("the others are history notices");
        assert_eq!(notice.input_index, meta.input_index);
        assert_eq!(notice.block_timestamp, meta.block_timestamp);
        assert!(
            eras.insert((notice.device_id, notice.era)),
            "a device has at most one notice per era and input"
        );
    }
    let summary = reports(outcome).pop().expect("every input has reports");
    assert_eq!(summary["type"], "input_accepted");
    assert_eq!(summary["input_index"], meta.input_index);
    state
}

/// The history notices of one outcome (all but the last notice), decoded.
pub(crate) fn history(outcome: &AdvanceOutcome) -> Vec<HistoryNotice> {
    let (_, history) = outcome.notices.split_last().unwrap();
    history
        .iter()
        .map(|n| HistoryNotice::decode(n).unwrap())
        .collect()
}

/// The state notice of one outcome.
pub(crate) fn state_notice(outcome: &AdvanceOutcome) -> StateNotice {
    StateNotice::decode(outcome.notices.last().unwrap()).unwrap()
}

pub(crate) fn reports(outcome: &AdvanceOutcome) -> Vec<Value> {
    outcome
        .reports
        .iter()
        .map(|r| serde_json::from_slice(r).unwrap())
        .collect()
}

/// The `input_accepted` summary (the last report).
pub(crate) fn summary(outcome: &AdvanceOutcome) -> Value {
    reports(outcome).pop().unwrap()
}

/// The `input_refused` report, if the input was refused as a whole.
pub(crate) fn refusal(outcome: &AdvanceOutcome) -> Option<String> {
    reports(outcome)
        .iter()
        .find(|r| r["type"] == "input_refused")
        .map(|r| r["reason"].as_str().unwrap().to_string())
}

/// The reasons of all rejected messages.
/// The simulated vehicle of a test device: a made-up VIN and salt from its id.
pub(crate) fn vehicle_of(id: &DeviceId) -> VehicleId {
    VehicleIdentity::simulated(&id.0)
        .id()
        .expect("a simulated VIN is valid")
}

pub(crate) fn rejections(outcome: &AdvanceOutcome) -> Vec<String> {
    reports(outcome)
        .iter()
        .filter(|r| r["type"] == "message_rejected")
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect()
}

/// The key of `era` in a list of era keys.
pub(crate) fn era_key(keys: &[EraKey], era: u32) -> Option<[u8; 32]> {
    let key = keys.iter().find(|k| k.era == era)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(&key.key, &mut out).unwrap();
    Some(out)
}

/// The eras a list of keys covers.
pub(crate) fn eras(keys: &[EraKey]) -> Vec<u32> {
    keys.iter().map(|k| k.era).collect()
}
