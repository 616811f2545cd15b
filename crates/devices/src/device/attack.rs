//! What a tampering device does beyond an honest one: the scenarios of `crate::tamper`
//! played by the box (a rollback of its odometer, a clone made from a theft snapshot, a
//! swapped unit with a new key) and the attacker's extra traffic (replayed and forged
//! envelopes). Kept apart so that `device.rs` reads as the honest device.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use witness_protocol::{Envelope, SigningKey};

use super::{
    Device, DeviceEvent, DeviceState, DeviceStats, TamperState, TheftSnapshot, Unit,
    device_file_path,
};
use crate::Error;
use crate::error::Result;
use crate::random::{Dice, derive, os_seed};
use crate::store;
use crate::tamper::Scenario;
use crate::transport::Delivery;

/// Envelopes kept for a replaying device to post again.
pub(super) const REPLAY_ARCHIVE: usize = 8;
/// Counter offset of forged envelopes (they claim to come from the device's future).
const FORGE_COUNTER_OFFSET: u64 = 1_000;
/// Simulated seconds between two attack envelopes of one device.
const ATTACK_INTERVAL_S: u64 = 3_600;

/// An envelope an attacker posts for a device, and which kind.
#[derive(Debug, Clone)]
pub(crate) struct AttackEnvelope {
    pub(crate) kind: Scenario,
    pub(crate) envelope: Envelope,
}

impl Device {
    pub(super) fn tamper_hooks(&mut self, events: &mut Vec<DeviceEvent>) -> Result<()> {
        let Some(plan) = self.file.tamper else {
            return Ok(());
        };
        let produced = self.state.stats.readings_produced;
        if plan.stolen_at() == Some(produced) && self.state.tamper.snapshot.is_none() {
            self.state.tamper.snapshot = Some(TheftSnapshot {
                vehicle: self.state.vehicle.clone(),
                next_counter: self.counter.next(),
                pairing_sequence: self.state.pairing_sequence,
            });
        }
        if produced < plan.after_readings || self.state.tamper.started {
            return Ok(());
        }
        self.state.tamper.started = true;
        tracing::info!(device = %self.handle(), scenario = %plan.scenario, "tamper scenario starts");
        match plan.scenario {
            Scenario::Rollback { km } => {
                let vehicle = &mut self.state.vehicle;
                let back = km.saturating_mul(1000);
                vehicle.odometer_m = if back < vehicle.odometer_m {
                    vehicle.odometer_m - back
                } else {
                    vehicle.odometer_m / 2
                };
            }
            Scenario::Clone { .. } => {
                let snapshot = self.state.tamper.snapshot.clone().unwrap_or(TheftSnapshot {
                    vehicle: self.state.vehicle.clone(),
                    next_counter: self.counter.next(),
                    pairing_sequence: self.state.pairing_sequence,
                });
                if !self.state.tamper.clone_spawned {
                    self.state.tamper.clone_spawned = true;
                    events.push(DeviceEvent::SpawnClone(snapshot));
                }
            }
            Scenario::Swap => self.swap_unit()?,
            Scenario::Replay | Scenario::Forge => {}
        }
        Ok(())
    }

    /// Scenario `swap`: a new box with a new key takes over the id and the counter; the old
    /// box's buffer is lost with it.
    fn swap_unit(&mut self) -> Result<()> {
        if !self.file.swapped {
            self.replace_key()?;
        }
        // The new box starts with an empty buffer; the last reading stays in it.
        let lost_sealed: u64 = self.state.outbox.drain(..).map(|e| e.count).sum();
        let keep = self.state.unsealed.pop();
        let lost = lost_sealed + self.state.unsealed.len() as u64;
        self.state.unsealed.clear();
        self.state.unsealed.extend(keep);
        self.state.stats.buffer_drops += lost;
        Ok(())
    }

    fn replace_key(&mut self) -> Result<()> {
        let seed = if self.file.deterministic {
            derive("swap-key", &[&self.file.sim_seed])
        } else {
            os_seed()?
        };
        let new_key = SigningKey::from_seed(&seed);
        let key_path = self.dir.join("key");
        let old_path = self.dir.join("key.replaced");
        std::fs::rename(&key_path, &old_path).map_err(|e| Error::io(&old_path, e))?;
        store::write_key(&key_path, &new_key)?;
        self.key = new_key;
        self.file.swapped = true;
        store::write_json(&device_file_path(&self.dir), &self.file)
    }

    /// The attacker's extra traffic for this step (scenarios `replay` and `forge`).
    pub(crate) fn attack_traffic(&mut self, now: u64) -> Result<Vec<AttackEnvelope>> {
        let Some(plan) = self.file.tamper else {
            return Ok(Vec::new());
        };
        if !self.state.tamper.started
            || now
                < self
                    .state
                    .tamper
                    .last_attack_at
                    .saturating_add(ATTACK_INTERVAL_S)
        {
            return Ok(Vec::new());
        }
        let attack = match plan.scenario {
            Scenario::Replay => {
                let archive = &self.state.tamper.archive;
                if archive.is_empty() {
                    return Ok(Vec::new());
                }
                let index = self.state.tamper.next_replay % archive.len();
                let envelope = Envelope::decode(&archive[index].envelope)?;
                self.state.tamper.next_replay = self.state.tamper.next_replay.wrapping_add(1);
                envelope
            }
            Scenario::Forge => self.forged_envelope(now)?,
            _ => return Ok(Vec::new()),
        };
        self.state.tamper.last_attack_at = now;
        self.save()?;
        Ok(vec![AttackEnvelope {
            kind: plan.scenario,
            envelope: attack,
        }])
    }

    /// A well-formed envelope for this device claiming a lower odometer under a counter from
    /// the future, whose signature is corrupted: what someone without the key can send.
    pub fn forged_envelope(&self, now: u64) -> Result<Envelope> {
        let mut reading = self.current_reading(now);
        reading.odometer_m = reading.odometer_m / 10 * 6;
        let counter = self.counter.next() + FORGE_COUNTER_OFFSET;
        let mut dice = Dice::for_stream(&self.file.sim_seed, "forge", now);
        let mut rng_seed = [0u8; 32];
        for chunk in rng_seed.chunks_mut(8) {
            chunk.copy_from_slice(&dice.int(0, u64::MAX - 1).to_be_bytes());
        }
        let mut rng = ChaCha20Rng::from_seed(rng_seed);
        let sealed = Envelope::seal(
            &self.key,
            &self.domain,
            self.id(),
            counter,
            std::slice::from_ref(&reading),
            &mut rng,
        )?;
        let mut bytes = sealed.envelope.as_bytes().to_vec();
        let len = bytes.len();
        // Flip bits in R and S: the structure stays valid, the signature does not.
        for offset in [64usize, 40, 17, 3] {
            if let Some(byte) = bytes.get_mut(len - offset) {
                *byte ^= 0x5a;
            }
        }
        Ok(Envelope::decode(&bytes)?)
    }

    /// Records the gateway's answer to an attack envelope.
    pub(crate) fn record_attack(&mut self, delivery: &Delivery) -> Result<()> {
        let stats = &mut self.state.stats;
        stats.attack_envelopes += 1;
        match delivery {
            Delivery::Accepted => stats.attack_accepted += 1,
            Delivery::Replay | Delivery::Rejected { .. } => stats.attack_refused += 1,
            Delivery::Deferred { .. } => {}
        }
        self.save()
    }

    /// The clone unit made from `snapshot`, reporting from `now` on.
    pub(crate) fn create_clone(&self, snapshot: TheftSnapshot, now: u64) -> Result<Self> {
        let mut file = self.file.clone();
        file.unit = Unit::Clone;
        file.tamper = None;
        file.created_at = now;
        let mut vehicle = snapshot.vehicle;
        vehicle.not_before = now;
        vehicle.day = crate::clock::day_of(now);
        vehicle.next_trip = 0;
        let state = DeviceState {
            sim_time: now,
            vehicle,
            unsealed: Vec::new(),
            outbox: Vec::new(),
            pairing_sequence: snapshot.pairing_sequence,
            stats: DeviceStats::default(),
            tamper: TamperState::default(),
        };
        // The stolen key is the original's registered key (a swapped unit is not cloned).
        let stolen = store::read_key(&self.dir.join(if self.file.swapped {
            "key.replaced"
        } else {
            "key"
        }))?;
        Self::create(
            self.dir.join("clone"),
            file,
            &stolen,
            state,
            snapshot.next_counter,
            self.domain.clone(),
        )
    }
}
