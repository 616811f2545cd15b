//! The synthetic car of tests and benchmarks: a signing key, a device id, a counter and
//! meters that advance, sealing envelopes of readings to the backend, and the registrar's
//! message that enrols it.
//!
//! Behind the non-default `fixture` feature, which adds no dependency and keeps the crate
//! `no_std`. It lives here because every user can depend on
//! this crate: the backend (which must keep building for riscv64 and gain no tokio or
//! network dependency), the gateway's tests and benches, and the CLI's bench rig.
//! `witness-devices`, the simulated honest fleet, pulls in tokio, axum and reqwest, so the
//! backend cannot use it; and its devices are another idea (durable counters, driving
//! profiles, a per-reading derived sealing randomness), not this one.
//!
//! Nothing here draws randomness of its own: the caller passes the generator (a seeded
//! `ChaCha20Rng` in every user, so runs are reproducible) and decides how far each reading
//! moves the car ([`Leg`]).

use alloc::vec::Vec;

use rand_core::CryptoRng;

use crate::error::Result;
use crate::{
    BackendPublicKey, DeviceId, Domain, Envelope, ModelId, Reading, RegistrarAction,
    RegistrarMessage, SigningKey,
};

/// The chain id of tests and benchmarks (anvil's).
pub const CHAIN_ID: u64 = 31_337;
/// The application address of tests and benchmarks.
pub const APPLICATION: [u8; 20] = [0xaa; 20];

/// The deployment of tests and benchmarks: [`CHAIN_ID`], [`APPLICATION`] and `backend`.
pub fn domain(backend: &BackendPublicKey) -> Domain {
    Domain {
        chain_id: CHAIN_ID,
        application: APPLICATION,
        backend_key: backend.clone(),
    }
}

/// How one reading moves a car on from the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    /// Seconds since the previous reading.
    pub seconds: u32,
    /// Metres driven.
    pub metres: u64,
    /// Seconds the engine ran.
    pub engine_s: u32,
    /// Fuel used, millilitres (the reading's `fuel_ml`).
    pub fuel_ml: u32,
}

/// A synthetic car: its identity and where its meters and counter stand.
#[derive(Debug)]
pub struct Car {
    /// The device id.
    pub id: DeviceId,
    /// The device key.
    pub key: SigningKey,
    /// The counter of the next reading sealed.
    pub counter: u64,
    /// The odometer at the last reading, metres.
    pub odometer_m: u64,
    /// The engine time at the last reading, seconds.
    pub engine_s: u32,
    /// The time of the last reading, Unix seconds.
    pub time: u32,
}

impl Car {
    /// A car with this identity; counters start at 1, the meters and the clock at 0.
    pub fn new(id: DeviceId, key: SigningKey) -> Self {
        Self {
            id,
            key,
            counter: 1,
            odometer_m: 0,
            engine_s: 0,
            time: 0,
        }
    }

    /// A car with a random identity: the id is drawn first, then the key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let id = DeviceId::random(rng);
        let key = SigningKey::generate(rng);
        Self::new(id, key)
    }

    /// Drives `leg` and reads the meters (no fault codes).
    pub fn drive(&mut self, leg: Leg) -> Reading {
        self.time += leg.seconds;
        self.odometer_m += leg.metres;
        self.engine_s += leg.engine_s;
        Reading {
            timestamp: self.time,
            odometer_m: self.odometer_m,
            fuel_ml: leg.fuel_ml,
            engine_s: self.engine_s,
            faults: Vec::new(),
        }
    }

    /// `count` readings a `leg` apart, the last one a leg before `now`: readings for a live
    /// clock (the backend refuses readings in the future or older than its window). The
    /// car's clock is set back as needed; its meters only move on.
    pub fn drive_until(&mut self, now: u32, count: usize, leg: Leg) -> Vec<Reading> {
        self.time = now.saturating_sub((count as u32 + 1) * leg.seconds);
        (0..count).map(|_| self.drive(leg)).collect()
    }

    /// Seals `readings` for `domain` from the car's next counter, which does not move (see
    /// [`Self::sent`]): a caller can still drop the envelope, e.g. when it does not fit.
    pub fn seal(
        &self,
        domain: &Domain,
        readings: &[Reading],
        rng: &mut impl CryptoRng,
    ) -> Result<Envelope> {
        Envelope::seal(&self.key, domain, self.id, self.counter, readings, rng)
            .map(|sealed| sealed.envelope)
    }

    /// Moves the counter past an envelope of `readings` readings.
    pub fn sent(&mut self, readings: usize) {
        self.counter += readings as u64;
    }

    /// Seals `readings` from the next counter and moves the counter past them.
    pub fn seal_next(
        &mut self,
        domain: &Domain,
        readings: &[Reading],
        rng: &mut impl CryptoRng,
    ) -> Result<Envelope> {
        let envelope = self.seal(domain, readings, rng)?;
        self.sent(readings.len());
        Ok(envelope)
    }

    /// The car's vehicle: a made-up VIN and salt drawn from its id.
    pub fn vehicle(&self) -> crate::VehicleIdentity {
        crate::VehicleIdentity::simulated(&self.id.0)
    }

    /// What a registrar says to enrol this car (its id and key) as a `model`.
    pub fn enrolment(&self, model: ModelId) -> RegistrarAction {
        RegistrarAction::RegisterDevice {
            device_id: self.id,
            model,
            public_key: self.key.public_key(),
            // A simulated VIN is valid by construction.
            vehicle: self.vehicle().id().unwrap_or(crate::VehicleId([0; 32])),
        }
    }

    /// The `registrar`'s [`Self::enrolment`] of this car, message `sequence`.
    pub fn registration(
        &self,
        registrar: &SigningKey,
        domain: &Domain,
        model: ModelId,
        sequence: u64,
    ) -> Result<RegistrarMessage> {
        RegistrarMessage::sign(registrar, domain, sequence, self.enrolment(model))
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    use super::*;
    use crate::BackendSecretKey;

    const LEG: Leg = Leg {
        seconds: 600,
        metres: 8_000,
        engine_s: 500,
        fuel_ml: 560,
    };

    #[test]
    fn a_car_seals_what_it_drove_and_counts_on() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let backend = BackendSecretKey::generate(&mut rng);
        let domain = domain(backend.public_key());
        let registrar = SigningKey::generate(&mut rng);
        let mut car = Car::generate(&mut rng);
        let message = car.registration(&registrar, &domain, ModelId(5), 9);
        message.unwrap().verify(&domain).unwrap();
        car.time = 1_790_000_000;
        let readings: Vec<Reading> = (0..3).map(|_| car.drive(LEG)).collect();
        let last = &readings[2];
        assert_eq!(
            (last.timestamp, last.odometer_m, last.engine_s),
            (1_790_001_800, 24_000, 1_500)
        );
        let envelope = car.seal_next(&domain, &readings, &mut rng);
        let envelope = envelope.unwrap();
        assert_eq!(envelope.header().counter, 1);
        assert_eq!(car.counter, 4);
        let opened = envelope
            .open(&car.key.public_key(), &domain, &backend)
            .unwrap();
        assert_eq!(opened.readings, readings);
        // Sealed but not sent: the counter stays until `sent`.
        let dropped = car.seal(&domain, &readings[..1], &mut rng);
        assert_eq!((dropped.unwrap().header().counter, car.counter), (4, 4));
        car.sent(1);
        assert_eq!(car.counter, 5);
    }

    #[test]
    fn readings_until_now_end_a_leg_before_it() {
        let mut car = Car::generate(&mut ChaCha20Rng::seed_from_u64(2));
        let readings = car.drive_until(1_790_000_000, 3, LEG);
        let times: Vec<u32> = readings.iter().map(|r| r.timestamp).collect();
        assert_eq!(times, [1_789_998_200, 1_789_998_800, 1_789_999_400]);
        assert_eq!(car.odometer_m, 24_000);
    }
}
