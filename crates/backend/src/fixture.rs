//! A synthetic fleet for benchmarks and measurements: a configured state with registered
//! devices and an authorized gateway, and full rollup inputs of sealed readings; and
//! [`device`], a bare map entry for tests that drive the [`crate::map::DeviceMap`] directly.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use witness_protocol::state::DeviceLeaf;
use witness_protocol::{
    BackendSecretKey, DeviceId, Envelope, GatewayAuthorization, MAX_INPUT_LEN, Message, ModelId,
    Reading, RegistrarAction, RegistrarMessage, RollupInput, SigningKey,
};

use crate::state::Device;
use crate::stats::DeviceSummary;
use crate::{Config, Metadata, State};

/// A map entry holding `leaf`, with no baseline and no statistics yet.
pub fn device(leaf: DeviceLeaf) -> Device {
    Device {
        leaf,
        baseline_odometer_m: 0,
        summary: DeviceSummary::default(),
    }
}

/// The admin address of the fixture.
pub const ADMIN: [u8; 20] = [0xAD; 20];
/// The gateway address of the fixture.
pub const GATEWAY: [u8; 20] = [0x6A; 20];
const T0: u64 = 1_790_000_000;

struct Car {
    id: DeviceId,
    key: SigningKey,
    counter: u64,
    odometer_m: u64,
    time: u32,
}

/// A state with `devices` registered cars that drive and report.
pub struct FleetFixture {
    /// The backend state.
    pub state: State,
    backend: witness_protocol::BackendPublicKey,
    cars: Vec<Car>,
    next_car: usize,
    input_index: u64,
    rng: ChaCha20Rng,
}

impl std::fmt::Debug for FleetFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetFixture")
            .field("cars", &self.cars.len())
            .finish_non_exhaustive()
    }
}

fn meta(sender: [u8; 20], index: u64, time: u64) -> Metadata {
    Metadata {
        chain_id: 31337,
        app_contract: "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
        msg_sender: format!("0x{}", hex::encode(sender)),
        block_number: index,
        block_timestamp: time,
        input_index: index,
    }
}

impl FleetFixture {
    /// Registers `devices` cars (model ids 1..=6 in turn).
    pub fn new(devices: usize) -> Self {
        Self::with_config(devices, |_| {})
    }

    /// Registers `devices` cars in a state whose configuration `configure` adjusted first
    /// (e.g. a shorter `proof_retention_blocks`).
    pub fn with_config(devices: usize, configure: impl FnOnce(&mut Config)) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let registrar = SigningKey::generate(&mut rng);
        let backend = BackendSecretKey::generate(&mut rng);
        let backend_public = backend.public_key().clone();
        let mut config = Config::new(ADMIN, vec![registrar.public_key()], backend);
        configure(&mut config);
        let mut state = State::new(config);
        let authorize = RollupInput {
            messages: vec![Message::GatewayAuthorization(GatewayAuthorization {
                gateway: GATEWAY,
                authorized: true,
            })],
        };
        let mut input_index = 0;
        let _ = state.advance(
            &meta(ADMIN, input_index, T0),
            &authorize.encode().unwrap_or_default(),
        );
        let mut cars = Vec::with_capacity(devices);
        let mut messages = Vec::new();
        for i in 0..devices {
            let key = SigningKey::generate(&mut rng);
            let id = DeviceId::random(&mut rng);
            let action = RegistrarAction::RegisterDevice {
                device_id: id,
                model: ModelId(1 + (i % 6) as u32),
                public_key: key.public_key(),
            };
            if let Ok(message) =
                RegistrarMessage::sign(&registrar, &backend_public, i as u64 + 1, action)
            {
                messages.push(Message::Registrar(message));
            }
            cars.push(Car {
                id,
                key,
                counter: 0,
                odometer_m: 20_000_000 + 1_000 * i as u64,
                time: T0 as u32,
            });
        }
        for chunk in messages.chunks(300) {
            input_index += 1;
            let input = RollupInput {
                messages: chunk.to_vec(),
            };
            let _ = state.advance(
                &meta(STRANGER, input_index, T0),
                &input.encode().unwrap_or_default(),
            );
        }
        Self {
            state,
            backend: backend_public,
            cars,
            next_car: 0,
            input_index,
            rng,
        }
    }

    /// A full input (up to the 64 KiB limit) of envelopes with `per_envelope` readings each,
    /// from the next cars in turn.
    pub fn next_input(&mut self, per_envelope: usize) -> (Metadata, Vec<u8>, usize) {
        let mut messages = Vec::new();
        let mut size = 8;
        let mut readings = 0;
        let fleet_size = self.cars.len().max(1);
        while let Some(car) = self.cars.get_mut(self.next_car % fleet_size) {
            self.next_car += 1;
            let batch: Vec<Reading> = (0..per_envelope)
                .map(|_| {
                    car.odometer_m += 8_000;
                    car.time += 600;
                    Reading {
                        timestamp: car.time,
                        odometer_m: car.odometer_m,
                        fuel_ml: 560,
                        engine_s: car.time - T0 as u32,
                        faults: vec![],
                    }
                })
                .collect();
            let Ok(sealed) = Envelope::seal(
                &car.key,
                &self.backend,
                car.id,
                car.counter + 1,
                &batch,
                &mut self.rng,
            ) else {
                break;
            };
            let len = sealed.envelope.as_bytes().len() + 1;
            if size + len > MAX_INPUT_LEN {
                self.next_car -= 1;
                break;
            }
            car.counter += per_envelope as u64;
            size += len;
            readings += per_envelope;
            messages.push(Message::Envelope(sealed.envelope));
        }
        self.input_index += 1;
        let time = u64::from(self.cars.iter().map(|c| c.time).max().unwrap_or(T0 as u32));
        let input = RollupInput { messages }.encode().unwrap_or_default();
        (meta(GATEWAY, self.input_index, time), input, readings)
    }
}

/// A sender that is neither admin nor gateway (registrar messages may come from anyone).
pub const STRANGER: [u8; 20] = [0x55; 20];
