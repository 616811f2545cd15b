//! Integration tests of the rollup backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attacks;
mod binary;
mod properties;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::Value;
use witness_backend::{AdvanceOutcome, Config, Metadata, State, inspect::inspect};
use witness_protocol::{
    BackendSecretKey, DeviceId, Envelope, GatewayAuthorization, Message, ModelId, OwnerQuery,
    OwnershipStatement, PossessionProof, Reading, RegistrarAction, RegistrarMessage, RollupInput,
    SigningKey,
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

/// A backend with one root registrar and an authorized gateway, and helpers to drive it.
pub(crate) struct World {
    pub(crate) state: State,
    pub(crate) registrar: SigningKey,
    pub(crate) backend_public: witness_protocol::BackendPublicKey,
    pub(crate) registrar_sequence: u64,
    pub(crate) input_index: u64,
    pub(crate) now: u64,
    pub(crate) rng: ChaCha20Rng,
}

pub(crate) struct Car {
    pub(crate) id: DeviceId,
    pub(crate) key: SigningKey,
    pub(crate) counter: u64,
    pub(crate) odometer_m: u64,
}

impl World {
    pub(crate) fn new() -> Self {
        let mut rng = rng(7);
        let registrar = SigningKey::generate(&mut rng);
        let backend = BackendSecretKey::generate(&mut rng);
        let backend_public = backend.public_key().clone();
        let config = Config::new(ADMIN, vec![registrar.public_key()], backend);
        let mut world = Self {
            state: State::new(config),
            registrar,
            backend_public,
            registrar_sequence: 0,
            input_index: 0,
            now: T0,
            rng,
        };
        let outcome = world.submit(
            ADMIN,
            vec![Message::GatewayAuthorization(GatewayAuthorization {
                gateway: GATEWAY,
                authorized: true,
            })],
        );
        assert!(outcome.accept);
        world
    }

    pub(crate) fn meta(&self, sender: [u8; 20]) -> Metadata {
        Metadata {
            chain_id: 31337,
            app_contract: hex_address([0xAA; 20]),
            msg_sender: hex_address(sender),
            block_number: 100 + self.input_index,
            block_timestamp: self.now,
            input_index: self.input_index,
        }
    }

    pub(crate) fn submit_raw(&mut self, sender: [u8; 20], payload: &[u8]) -> AdvanceOutcome {
        let meta = self.meta(sender);
        self.input_index += 1;
        self.state.advance(&meta, payload)
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
                &self.backend_public,
                self.registrar_sequence,
                action,
            )
            .unwrap(),
        )
    }

    pub(crate) fn register(&mut self, model: u32) -> Car {
        let key = SigningKey::generate(&mut self.rng);
        let id = DeviceId::random(&mut self.rng);
        let message = self.registrar_message(RegistrarAction::RegisterDevice {
            device_id: id,
            model: ModelId(model),
            public_key: key.public_key(),
        });
        let outcome = self.submit(STRANGER, vec![message]);
        assert!(outcome.accept);
        assert_eq!(
            reports(&outcome).last().unwrap()["acts_applied"],
            1,
            "{:?}",
            reports(&outcome)
        );
        Car {
            id,
            key,
            counter: 0,
            odometer_m: 10_000_000,
        }
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
        Envelope::seal(
            &car.key,
            &self.backend_public,
            car.id,
            counter,
            readings,
            &mut self.rng,
        )
        .unwrap()
        .envelope
    }

    pub(crate) fn send(&mut self, envelopes: Vec<Envelope>) -> AdvanceOutcome {
        self.now += 600;
        self.submit(
            GATEWAY,
            envelopes.into_iter().map(Message::Envelope).collect(),
        )
    }

    pub(crate) fn pair(&mut self, car: &Car, owner: &SigningKey, sequence: u64) -> AdvanceOutcome {
        let statement = OwnershipStatement::sign(
            &car.key,
            &self.backend_public,
            car.id,
            owner.public_key(),
            sequence,
        );
        self.submit(STRANGER, vec![Message::Ownership(statement)])
    }

    pub(crate) fn proof(&mut self, car: &Car, odometer_m: u64) -> String {
        let mut reading = self.reading(car);
        reading.odometer_m = odometer_m;
        let proof = PossessionProof::sign(
            &car.key,
            &self.backend_public,
            car.id,
            [3; 32],
            car.counter,
            reading,
        )
        .unwrap();
        hex::encode(proof.encode().unwrap())
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
            &self.backend_public,
            car.id,
            response.public_key().to_bytes(),
            expires_at as u32,
        );
        hex::encode(query.encode())
    }

    pub(crate) fn inspect(&self, query: Value) -> (bool, Value) {
        inspect(&self.state, query.to_string().as_bytes())
    }

    pub(crate) fn root(&self) -> String {
        self.inspect(serde_json::json!({"type": "state_root"})).1["state_root"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

pub(crate) fn reports(outcome: &AdvanceOutcome) -> Vec<Value> {
    outcome
        .reports
        .iter()
        .map(|r| serde_json::from_slice(r).unwrap())
        .collect()
}

/// The reasons of all rejected messages.
pub(crate) fn rejections(outcome: &AdvanceOutcome) -> Vec<String> {
    reports(outcome)
        .iter()
        .filter(|r| r["type"] == "message_rejected")
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect()
}
