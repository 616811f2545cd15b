//! A synthetic fleet for benchmarks and measurements: a configured state with registered
//! devices and an authorized gateway, and full rollup inputs of sealed readings; and
//! [`device`], a bare map entry for tests that drive the [`crate::map::DeviceMap`] directly.
//! The cars are the workspace's one synthetic car, [`witness_protocol::fixture::Car`].

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use witness_protocol::fixture::{Car, Leg};
use witness_protocol::state::DeviceLeaf;
use witness_protocol::{
    BackendSecretKey, DeviceId, GatewayAuthorization, MAX_INPUT_LEN, Message, ModelId, Reading,
    RollupInput, SigningKey,
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
/// Every reading: ten minutes of driving, 8 km, the engine on throughout.
const LEG: Leg = Leg {
    seconds: 600,
    metres: 8_000,
    engine_s: 600,
    fuel_ml: 560,
};

/// A state with `devices` registered cars that drive and report.
pub struct FleetFixture {
    /// The backend state.
    pub state: State,
    domain: witness_protocol::Domain,
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
        chain_id: witness_protocol::fixture::CHAIN_ID,
        app_contract: format!("0x{}", hex::encode(witness_protocol::fixture::APPLICATION)),
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
        let domain = witness_protocol::fixture::domain(backend.public_key());
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
            // The key first, then the id: the draws the measured figures were taken with.
            let key = SigningKey::generate(&mut rng);
            let id = DeviceId::random(&mut rng);
            let car = Car {
                odometer_m: 20_000_000 + 1_000 * i as u64,
                time: T0 as u32,
                ..Car::new(id, key)
            };
            let model = ModelId(1 + (i % 6) as u32);
            if let Ok(message) = car.registration(&registrar, &domain, model, i as u64 + 1) {
                messages.push(Message::Registrar(message));
            }
            cars.push(car);
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
            domain,
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
            let batch: Vec<Reading> = (0..per_envelope).map(|_| car.drive(LEG)).collect();
            let Ok(envelope) = car.seal(&self.domain, &batch, &mut self.rng) else {
                break;
            };
            let len = envelope.as_bytes().len() + 1;
            if size + len > MAX_INPUT_LEN {
                self.next_car -= 1;
                break;
            }
            car.sent(per_envelope);
            size += len;
            readings += per_envelope;
            messages.push(Message::Envelope(envelope));
        }
        self.input_index += 1;
        let time = u64::from(self.cars.iter().map(|c| c.time).max().unwrap_or(T0 as u32));
        let input = RollupInput { messages }.encode().unwrap_or_default();
        (meta(GATEWAY, self.input_index, time), input, readings)
    }
}

/// A sender that is neither admin nor gateway (registrar messages may come from anyone).
pub const STRANGER: [u8; 20] = [0x55; 20];
