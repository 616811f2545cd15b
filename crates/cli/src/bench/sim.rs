//! A synthetic fleet: registered cars that drive and seal, for the in-process [`super::rig::Rig`].

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use witness_protocol::fixture::{Car, Leg};
use witness_protocol::{
    Domain, Envelope, MAX_INPUT_LEN, Message, ModelId, Reading, RollupInput, SigningKey,
};

use crate::CliResult;

/// Cars ([`witness_protocol::fixture::Car`]) that report in turn, like
/// `witness_backend::fixture::FleetFixture` but for a given deployment, with jittered
/// legs, and with readings timed in the recent past (the backend refuses readings older than
/// 30 days or in the future).
pub(super) struct SimFleet {
    cars: Vec<Car>,
    next: usize,
    domain: Domain,
    rng: ChaCha20Rng,
}

impl SimFleet {
    pub(super) fn new(devices: usize, domain: Domain, start_time: u32, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let cars = (0..devices)
            .map(|i| Car {
                odometer_m: 10_000_000 + 1_000 * i as u64,
                time: start_time,
                ..Car::generate(&mut rng)
            })
            .collect();
        Self {
            cars,
            next: 0,
            domain,
            rng,
        }
    }

    /// The registrar's enrolment of every car, packed into as few inputs as fit.
    pub(super) fn registration_inputs(
        &self,
        registrar: &SigningKey,
        first_sequence: u64,
    ) -> CliResult<Vec<Vec<u8>>> {
        let mut messages = Vec::new();
        for (i, car) in self.cars.iter().enumerate() {
            messages.push(Message::Registrar(car.registration(
                registrar,
                &self.domain,
                ModelId(1 + (i % 6) as u32),
                first_sequence + i as u64,
            )?));
        }
        let mut inputs = Vec::new();
        for chunk in messages.chunks(300) {
            inputs.push(
                RollupInput {
                    messages: chunk.to_vec(),
                }
                .encode()?,
            );
        }
        Ok(inputs)
    }

    /// One envelope of `readings` from the next car; its counter moves only once [`Self::input`]
    /// takes the envelope.
    fn envelope(&mut self, readings: usize) -> CliResult<(usize, Envelope)> {
        let index = self.next % self.cars.len().max(1);
        let car = self.cars.get_mut(index).ok_or("the fleet has no cars")?;
        let batch: Vec<Reading> = (0..readings)
            .map(|_| {
                let seconds = 540 + self.rng.next_u32() % 120;
                let metres = 5_000 + u64::from(self.rng.next_u32() % 7_000);
                let fuel_ml = 300 + self.rng.next_u32() % 600;
                car.drive(Leg {
                    seconds,
                    metres,
                    engine_s: seconds * 4 / 5,
                    fuel_ml,
                })
            })
            .collect();
        Ok((index, car.seal(&self.domain, &batch, &mut self.rng)?))
    }

    /// An input of up to `max_envelopes` envelopes (`None`: as many as fit in `MAX_INPUT_LEN`)
    /// of `per_envelope` readings each: (payload, envelopes, readings).
    pub(super) fn input(
        &mut self,
        per_envelope: usize,
        max_envelopes: Option<usize>,
    ) -> CliResult<(Vec<u8>, usize, usize)> {
        let mut messages = Vec::new();
        let mut body = 0usize;
        while max_envelopes.is_none_or(|max| messages.len() < max) {
            let (car, envelope) = self.envelope(per_envelope)?;
            let size =
                RollupInput::header_len(messages.len() + 1) + body + 1 + envelope.as_bytes().len();
            if size > MAX_INPUT_LEN || messages.len() == witness_protocol::MAX_MESSAGES {
                break;
            }
            body += 1 + envelope.as_bytes().len();
            if let Some(c) = self.cars.get_mut(car) {
                c.sent(per_envelope);
            }
            self.next += 1;
            messages.push(Message::Envelope(envelope));
        }
        let envelopes = messages.len();
        Ok((
            RollupInput { messages }.encode()?,
            envelopes,
            envelopes * per_envelope,
        ))
    }
}
