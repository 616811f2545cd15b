//! One simulated device (the box in a car): its key, counter, local log, buffer and the
//! tamper scenario it plays.
//!
//! Files in the device directory (all mode 0600, the directory 0700):
//! - `device.json`: what does not change (id, model, profile, registered public key, tamper
//!   plan, the car's traits);
//! - `key`: the Ed25519 seed in hex;
//! - `counter`: the next unused counter, written durably before a counter is used;
//! - `state.json`: the simulation, the unsealed readings, the outbox of sealed envelopes,
//!   the pairing sequence and statistics;
//! - `log.jsonl`: one line per sealed envelope with what opens its commitments later.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use serde::{Deserialize, Serialize};
use witness_protocol::{
    CommitmentKey, Consent, DeviceId, Domain, Envelope, ModelId, Opening, OwnershipStatement,
    PossessionProof, PublicKey, Reading, SigningKey,
};

use crate::catalogue::{ModelSpec, model};
use crate::error::{Error, Result};
use crate::json;
use crate::random::{derive, os_seed};
use crate::sim::{Profile, SimContext, VehicleParams, VehicleState, offline_at};
use crate::store::{self, CounterFile};
use crate::tamper::{Scenario, TamperPlan};
use crate::transport::Delivery;

mod attack;
use attack::REPLAY_ARCHIVE;

/// Which box reports under a device id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// The box the registrar enrolled.
    Original,
    /// A second box made from a stolen copy (tamper scenario `clone`).
    Clone,
}

/// Buffering and batching limits, the same for every device of a fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferSettings {
    /// Most readings a device keeps while it cannot deliver them; beyond, the oldest are
    /// dropped (counted in [`DeviceStats::buffer_drops`]).
    pub cap: usize,
    /// Most readings sealed into one envelope.
    pub max_readings_per_envelope: usize,
    /// Longest a reading waits unsealed (simulated seconds) for the envelope to fill up; 0
    /// seals every reading at the next step. Envelope overhead is 145 bytes, so waiting for
    /// full envelopes is what makes a reading cheap on chain (docs/BENCHMARKS.md).
    #[serde(default)]
    pub max_hold_secs: u64,
}

impl Default for BufferSettings {
    fn default() -> Self {
        Self {
            cap: 500,
            max_readings_per_envelope: 16,
            max_hold_secs: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeviceFile {
    pub(crate) version: u32,
    #[serde(with = "json::hex_bytes")]
    pub(crate) id: [u8; 16],
    pub(crate) index: usize,
    pub(crate) unit: Unit,
    pub(crate) model: u32,
    pub(crate) profile: Profile,
    /// The key the registrar enrols (a swapped unit signs with another).
    #[serde(with = "json::hex_bytes")]
    pub(crate) registered_key: [u8; 32],
    #[serde(with = "json::hex_bytes")]
    pub(crate) sim_seed: [u8; 32],
    pub(crate) params: VehicleParams,
    pub(crate) tamper: Option<TamperPlan>,
    pub(crate) buffer: BufferSettings,
    /// Whether fleet randomness is reproducible (seeded); otherwise new keys come from the OS.
    pub(crate) deterministic: bool,
    pub(crate) created_at: u64,
    pub(crate) swapped: bool,
}

/// Counts of what happened to a device's traffic since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceStats {
    /// Readings the car produced.
    pub readings_produced: u64,
    /// Envelopes sealed (each with fresh counters).
    pub envelopes_sealed: u64,
    /// Envelopes the gateway accepted (202).
    pub envelopes_accepted: u64,
    /// Readings in accepted envelopes.
    pub readings_accepted: u64,
    /// Envelopes dropped because the gateway answered 409 replay.
    pub replay_drops: u64,
    /// Envelopes dropped because the gateway refused them for good (other 4xx).
    pub rejected_drops: u64,
    /// Readings dropped because the buffer was full (or lost with a replaced unit).
    pub buffer_drops: u64,
    /// Delivery attempts that failed and were kept for later.
    pub deferred: u64,
    /// Attack envelopes posted (replays of old envelopes, forgeries).
    pub attack_envelopes: u64,
    /// Attack envelopes the gateway refused.
    pub attack_refused: u64,
    /// Attack envelopes the gateway accepted (should stay 0).
    pub attack_accepted: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OutboxEntry {
    pub(crate) counter: u64,
    pub(crate) count: u64,
    #[serde(with = "json::hex_bytes")]
    pub(crate) envelope: Vec<u8>,
}

/// What a thief copied out of the box (scenario `clone`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TheftSnapshot {
    pub(crate) vehicle: VehicleState,
    pub(crate) next_counter: u64,
    pub(crate) pairing_sequence: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct TamperState {
    pub(crate) started: bool,
    pub(crate) snapshot: Option<TheftSnapshot>,
    pub(crate) clone_spawned: bool,
    /// Accepted envelopes a replaying device posts again.
    #[serde(default)]
    pub(crate) archive: Vec<OutboxEntry>,
    #[serde(default)]
    pub(crate) next_replay: usize,
    /// Simulated time of the last attack envelope (at most one per simulated hour).
    #[serde(default)]
    pub(crate) last_attack_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeviceState {
    pub(crate) sim_time: u64,
    pub(crate) vehicle: VehicleState,
    #[serde(with = "json::readings")]
    pub(crate) unsealed: Vec<Reading>,
    pub(crate) outbox: Vec<OutboxEntry>,
    /// Last ownership-statement sequence used (0: never paired).
    pub(crate) pairing_sequence: u64,
    pub(crate) stats: DeviceStats,
    pub(crate) tamper: TamperState,
}

/// One line of the local log: a sealed envelope and what opens its commitments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedRecord {
    /// Counter of the first reading; reading `i` has `counter + i`.
    pub counter: u64,
    /// SHA-256 of the envelope (its id at the gateway and the backend).
    #[serde(with = "json::hex_bytes")]
    pub envelope_hash: [u8; 32],
    #[serde(with = "json::hex_bytes")]
    commitment_key: [u8; 32],
    /// The readings, in counter order.
    #[serde(with = "json::readings")]
    pub readings: Vec<Reading>,
    /// Simulated time of sealing.
    pub sealed_at: u64,
}

impl SealedRecord {
    /// The counters this envelope used.
    pub fn counters(&self) -> Range<u64> {
        self.counter..self.counter + self.readings.len() as u64
    }

    /// The envelope's commitment key.
    pub fn commitment_key(&self) -> CommitmentKey {
        CommitmentKey::from_bytes(self.commitment_key)
    }
}

/// Something the fleet must act on after a device advanced.
#[derive(Debug)]
pub(crate) enum DeviceEvent {
    /// A clone of this device starts reporting.
    SpawnClone(TheftSnapshot),
}

/// A simulated device. Obtain one through [`crate::Fleet::with_device`].
#[derive(Debug)]
pub struct Device {
    dir: PathBuf,
    file: DeviceFile,
    model: &'static ModelSpec,
    key: SigningKey,
    domain: Domain,
    counter: CounterFile,
    state: DeviceState,
    log: Vec<SealedRecord>,
    forced_offline: bool,
    /// When the pairing button was last pressed (not kept across restarts: a press is for
    /// the person at the car now).
    button_pressed: Option<Instant>,
    /// The in-memory state differs from `state.json` in ways a restart cannot re-derive.
    dirty: bool,
}

/// How long a press of the pairing button lets the device sign an ownership statement.
pub const PAIRING_WINDOW: Duration = Duration::from_secs(120);

fn device_file_path(dir: &Path) -> PathBuf {
    dir.join("device.json")
}

impl Device {
    /// Writes a new device directory and returns the device.
    pub(crate) fn create(
        dir: PathBuf,
        file: DeviceFile,
        key: &SigningKey,
        state: DeviceState,
        first_counter: u64,
        domain: Domain,
    ) -> Result<Self> {
        store::create_private_dir(&dir)?;
        let model = model(ModelId(file.model))
            .ok_or_else(|| Error::invalid("model", format!("unknown model {}", file.model)))?;
        store::write_key(&dir.join("key"), key)?;
        let counter = CounterFile::create(dir.join("counter"), first_counter)?;
        store::write_json(&dir.join("state.json"), &state)?;
        // device.json last: a directory without it is an interrupted creation.
        store::write_json(&device_file_path(&dir), &file)?;
        Ok(Self {
            key: SigningKey::from_seed(&key.to_seed()),
            dir,
            file,
            model,
            domain,
            counter,
            state,
            log: Vec::new(),
            forced_offline: false,
            button_pressed: None,
            dirty: false,
        })
    }

    /// Loads a device directory.
    pub(crate) fn load(dir: PathBuf, domain: Domain) -> Result<Self> {
        let file: DeviceFile = store::read_json(&device_file_path(&dir))?;
        let model = model(ModelId(file.model)).ok_or_else(|| {
            Error::corrupt(
                device_file_path(&dir),
                format!("unknown model {}", file.model),
            )
        })?;
        let key = store::read_key(&dir.join("key"))?;
        let counter = CounterFile::load(dir.join("counter"))?;
        let state: DeviceState = store::read_json(&dir.join("state.json"))?;
        let log: Vec<SealedRecord> = store::read_json_lines(&dir.join("log.jsonl"))?;
        let mut device = Self {
            dir,
            file,
            model,
            key,
            domain,
            counter,
            state,
            log,
            forced_offline: false,
            button_pressed: None,
            dirty: false,
        };
        // Belt and braces: the counter never falls behind what the log shows was used.
        if let Some(end) = device.log.iter().map(|r| r.counters().end).max() {
            device.counter.advance_to(end)?;
        }
        Ok(device)
    }

    /// The device id.
    pub fn id(&self) -> DeviceId {
        DeviceId(self.file.id)
    }

    /// Index in the fleet.
    pub fn index(&self) -> usize {
        self.file.index
    }

    /// Which box this is.
    pub fn unit(&self) -> Unit {
        self.file.unit
    }

    /// How the local link names this unit: the device id in hex, with `-clone` for a clone.
    pub fn handle(&self) -> String {
        match self.file.unit {
            Unit::Original => self.id().to_hex(),
            Unit::Clone => format!("{}-clone", self.id().to_hex()),
        }
    }

    /// The car's model.
    pub fn model(&self) -> &'static ModelSpec {
        self.model
    }

    /// The driving profile.
    pub fn profile(&self) -> Profile {
        self.file.profile
    }

    /// The car's fixed traits.
    pub fn params(&self) -> &VehicleParams {
        &self.file.params
    }

    /// The tamper plan, if any.
    pub fn tamper(&self) -> Option<&TamperPlan> {
        self.file.tamper.as_ref()
    }

    /// Whether the tamper scenario has started.
    pub fn tamper_started(&self) -> bool {
        self.state.tamper.started
    }

    /// The key this unit signs with now.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The key the registrar enrols for this device.
    pub fn registered_key(&self) -> Result<PublicKey> {
        Ok(PublicKey::from_bytes(&self.file.registered_key)?)
    }

    /// Whether a swap replaced the registered key.
    pub fn swapped(&self) -> bool {
        self.file.swapped
    }

    /// The latest counter used (0 when none yet).
    pub fn counter(&self) -> u64 {
        self.counter.next().saturating_sub(1)
    }

    /// The next counter the device will use.
    pub fn next_counter(&self) -> u64 {
        self.counter.next()
    }

    /// Simulated time up to which the car has been driven.
    pub fn sim_time(&self) -> u64 {
        self.state.sim_time
    }

    /// The last ownership-statement sequence used (0 when never paired).
    pub fn pairing_sequence(&self) -> u64 {
        self.state.pairing_sequence
    }

    /// Statistics.
    pub fn stats(&self) -> &DeviceStats {
        &self.state.stats
    }

    /// Readings waiting to be delivered (unsealed, or sealed in the outbox).
    pub fn buffered(&self) -> usize {
        self.state.unsealed.len()
            + self
                .state
                .outbox
                .iter()
                .map(|e| e.count as usize)
                .sum::<usize>()
    }

    /// Readings not yet sealed.
    pub fn unsealed(&self) -> &[Reading] {
        &self.state.unsealed
    }

    /// Sealed envelopes not yet delivered, oldest first.
    pub fn outbox(&self) -> Result<Vec<Envelope>> {
        self.state
            .outbox
            .iter()
            .map(|e| Envelope::decode(&e.envelope).map_err(Error::from))
            .collect()
    }

    pub(crate) fn outbox_len(&self) -> usize {
        self.state.outbox.len()
    }

    /// The local log, oldest first.
    pub fn log(&self) -> &[SealedRecord] {
        &self.log
    }

    /// What the instruments show at `now`: the odometer as it is (wound back on a rolled-back
    /// car), stamped with `now`.
    pub fn current_reading(&self, now: u64) -> Reading {
        self.state
            .vehicle
            .current_reading(now.max(self.state.sim_time))
    }

    /// Whether the device has coverage at `t`.
    pub fn is_online(&self, t: u64) -> bool {
        !self.forced_offline
            && !offline_at(&self.file.sim_seed, self.file.params.offline_per_day, t)
    }

    /// Forces the device out of coverage (or lets it back).
    pub fn set_forced_offline(&mut self, offline: bool) {
        self.forced_offline = offline;
    }

    fn sim_seed(&self) -> [u8; 32] {
        match self.file.unit {
            Unit::Original => self.file.sim_seed,
            Unit::Clone => derive("clone-trips", &[&self.file.sim_seed]),
        }
    }

    fn save(&mut self) -> Result<()> {
        store::write_json(&self.dir.join("state.json"), &self.state)?;
        self.dirty = false;
        Ok(())
    }

    /// Saves the state if [`Self::advance`] changed it and nothing saved it since.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.dirty { self.save() } else { Ok(()) }
    }

    /// Drives the car up to `now`, buffering the readings produced, and plays the tamper
    /// scenario when its time comes. Leaves saving to [`Self::flush`] or the sealing that
    /// follows: the simulation is a pure function of the saved state, so a crash before the
    /// save replays the same readings.
    pub(crate) fn advance(&mut self, now: u64) -> Result<Vec<DeviceEvent>> {
        let mut events = Vec::new();
        if now <= self.state.sim_time {
            return Ok(events);
        }
        let seed = self.sim_seed();
        let params = self.file.params.clone();
        let ctx = SimContext {
            profile: self.file.profile,
            params: &params,
            model: self.model,
            seed: &seed,
        };
        let before = self.state.stats.readings_produced;
        while let Some(reading) = self.state.vehicle.next_reading(ctx, now) {
            self.state.unsealed.push(reading);
            self.state.stats.readings_produced += 1;
            self.tamper_hooks(&mut events)?;
        }
        self.state.sim_time = now;
        if self.state.stats.readings_produced != before {
            self.enforce_cap();
            self.dirty = true;
        }
        Ok(events)
    }

    /// Drops the oldest buffered readings beyond the cap (whole envelopes from the outbox
    /// first, since they are the oldest).
    fn enforce_cap(&mut self) {
        let cap = self.file.buffer.cap.max(1);
        let mut dropped = 0u64;
        while self.buffered() > cap {
            if self.state.outbox.is_empty() {
                let excess = self.state.unsealed.len().saturating_sub(cap);
                self.state.unsealed.drain(..excess);
                dropped += excess as u64;
            } else {
                let entry = self.state.outbox.remove(0);
                dropped += entry.count;
            }
        }
        if dropped > 0 {
            self.state.stats.buffer_drops += dropped;
            tracing::warn!(
                device = %self.handle(),
                dropped,
                total = self.state.stats.buffer_drops,
                "buffer full: oldest readings dropped"
            );
        }
    }

    /// Reserves `n` consecutive counters, durably, before they are used.
    pub fn reserve_counters(&mut self, n: u64) -> Result<Range<u64>> {
        self.counter.reserve(n)
    }

    fn seal_rng(&self, counter: u64, readings: &[Reading]) -> Result<ChaCha20Rng> {
        // Deterministic per (key, counter, readings), like RFC 6979: counters never repeat
        // for the device, and a clone sealing other readings under an old counter gets
        // another ephemeral key. An unseeded fleet mixes in OS randomness.
        let mut parts: Vec<Vec<u8>> = vec![counter.to_be_bytes().to_vec()];
        for reading in readings {
            parts.push(reading.to_standalone_bytes()?);
        }
        if !self.file.deterministic {
            parts.push(os_seed()?.to_vec());
        }
        let seed = self.key.to_seed();
        let mut refs: Vec<&[u8]> = vec![seed.as_ref()];
        refs.extend(parts.iter().map(Vec::as_slice));
        Ok(ChaCha20Rng::from_seed(derive("seal", &refs)))
    }

    fn seal(
        &self,
        counter: u64,
        readings: &[Reading],
        now: u64,
    ) -> Result<(Envelope, SealedRecord)> {
        let mut rng = self.seal_rng(counter, readings)?;
        let sealed = Envelope::seal(
            &self.key,
            &self.domain,
            self.id(),
            counter,
            readings,
            &mut rng,
        )?;
        let record = SealedRecord {
            counter,
            envelope_hash: sealed.envelope.hash(),
            commitment_key: *sealed.commitment_key.to_bytes(),
            readings: readings.to_vec(),
            sealed_at: now,
        };
        Ok((sealed.envelope, record))
    }

    /// Seals buffered readings into at most `max_envelopes` envelopes (each up to the fleet's
    /// readings-per-envelope limit) and puts them in the outbox: full envelopes, and the
    /// remainder too once its oldest reading has waited the fleet's hold. The counters are
    /// reserved durably first, then the opening material is logged durably, then the outbox
    /// saved: only then can an envelope be sent.
    pub(crate) fn seal_pending(&mut self, max_envelopes: usize, now: u64) -> Result<usize> {
        let buffer = self.file.buffer;
        let per_envelope = buffer
            .max_readings_per_envelope
            .clamp(1, witness_protocol::MAX_READINGS_PER_ENVELOPE);
        let buffered = self.state.unsealed.len();
        let held_long_enough = self.state.unsealed.first().is_some_and(|oldest| {
            now.saturating_sub(u64::from(oldest.timestamp)) >= buffer.max_hold_secs
        });
        let ready = if held_long_enough {
            buffered
        } else {
            buffered - buffered % per_envelope
        };
        let total = ready.min(per_envelope.saturating_mul(max_envelopes));
        if total == 0 {
            return Ok(0);
        }
        let range = self.reserve_counters(total as u64)?;
        let readings: Vec<Reading> = self.state.unsealed[..total].to_vec();
        let mut lines = String::new();
        let mut sealed = Vec::new();
        for (i, chunk) in readings.chunks(per_envelope).enumerate() {
            let counter = range.start + (i * per_envelope) as u64;
            let (envelope, record) = self.seal(counter, chunk, now)?;
            let line = serde_json::to_string(&record)
                .map_err(|e| Error::corrupt(self.dir.join("log.jsonl"), e))?;
            lines.push_str(&line);
            lines.push('\n');
            sealed.push((envelope, record));
        }
        store::append_line(&self.dir.join("log.jsonl"), lines.trim_end())?;
        let count = sealed.len();
        for (envelope, record) in sealed {
            self.state.outbox.push(OutboxEntry {
                counter: record.counter,
                count: record.readings.len() as u64,
                envelope: envelope.as_bytes().to_vec(),
            });
            self.log.push(record);
        }
        self.state.unsealed.drain(..total);
        self.state.stats.envelopes_sealed += count as u64;
        self.save()?;
        Ok(count)
    }

    /// Records the gateway's answers for `sent` (same order) and saves.
    pub(crate) fn apply_deliveries(
        &mut self,
        sent: &[Envelope],
        deliveries: &[Delivery],
    ) -> Result<bool> {
        let mut deferred = false;
        let replaying = matches!(self.file.tamper.map(|t| t.scenario), Some(Scenario::Replay));
        for (envelope, delivery) in sent.iter().zip(deliveries) {
            let hash = envelope.hash();
            let position = self
                .state
                .outbox
                .iter()
                .position(|e| e.envelope == envelope.as_bytes());
            if matches!(delivery, Delivery::Deferred { .. }) {
                self.state.stats.deferred += 1;
                deferred = true;
                continue;
            }
            let Some(position) = position else { continue };
            let entry = self.state.outbox.remove(position);
            match delivery {
                Delivery::Accepted => {
                    self.state.stats.envelopes_accepted += 1;
                    self.state.stats.readings_accepted += entry.count;
                    if replaying {
                        self.state.tamper.archive.push(entry);
                        if self.state.tamper.archive.len() > REPLAY_ARCHIVE {
                            self.state.tamper.archive.remove(0);
                        }
                    }
                }
                Delivery::Replay => {
                    self.state.stats.replay_drops += 1;
                    tracing::warn!(device = %self.handle(), envelope = %hex::encode(hash),
                        counter = entry.counter, "gateway answered replay; envelope dropped");
                }
                Delivery::Rejected { status, code } => {
                    self.state.stats.rejected_drops += 1;
                    tracing::warn!(device = %self.handle(), envelope = %hex::encode(hash),
                        status, code = %code, "gateway refused the envelope; dropped");
                }
                Delivery::Deferred { .. } => {}
            }
        }
        self.save()?;
        Ok(deferred)
    }

    /// Signs a possession proof over the verifier's `nonce` with the current reading and
    /// counter.
    pub fn possession_proof(&self, nonce: [u8; 32], now: u64) -> Result<PossessionProof> {
        Ok(PossessionProof::sign(
            &self.key,
            &self.domain,
            self.id(),
            nonce,
            self.counter(),
            self.current_reading(now),
        )?)
    }

    /// The sealed reading with `counter`, the opening of its commitment, and its envelope's
    /// commitment key (which opens every reading of the envelope: a full certificate carries
    /// it instead of a blinding per reading).
    pub fn opening(&self, counter: u64) -> Result<(Opening, CommitmentKey)> {
        let index = self.log.partition_point(|r| r.counter <= counter);
        let record = index
            .checked_sub(1)
            .and_then(|i| self.log.get(i))
            .filter(|r| r.counters().contains(&counter))
            .ok_or_else(|| Error::UnknownCounter {
                device: self.handle(),
                counter,
            })?;
        let reading = record.readings[(counter - record.counter) as usize].clone();
        let key = record.commitment_key();
        Ok((key.opening(self.id(), counter, reading), key))
    }

    /// The pairing button on the unit was pressed: for [`PAIRING_WINDOW`] the device signs
    /// one ownership statement. A real unit has the button behind the dashboard or asks for
    /// the ignition to be cycled with the key present (PROTOCOL.md 8.4): whoever pairs has
    /// the car in hand, not just its radio range.
    pub fn press_button(&mut self) {
        self.button_pressed = Some(Instant::now());
    }

    /// Signs an ownership statement binding `owner`, under a new pairing sequence that is
    /// stored durably before the statement leaves the device. Only within
    /// [`PAIRING_WINDOW`] of a button press, which it uses up. `consent` is the owner's
    /// release (a transfer code) when the device has an owner, else its first pairing.
    pub fn pair(&mut self, owner: PublicKey, consent: Consent) -> Result<OwnershipStatement> {
        if self
            .button_pressed
            .take()
            .is_none_or(|pressed| pressed.elapsed() > PAIRING_WINDOW)
        {
            return Err(Error::ButtonNotPressed(self.handle()));
        }
        self.state.pairing_sequence += 1;
        self.save()?;
        Ok(OwnershipStatement::sign(
            &self.key,
            &self.domain,
            self.id(),
            owner,
            self.state.pairing_sequence,
            consent,
        ))
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn new_state(vehicle: VehicleState, sim_time: u64) -> DeviceState {
        DeviceState {
            sim_time,
            vehicle,
            unsealed: Vec::new(),
            outbox: Vec::new(),
            pairing_sequence: 0,
            stats: DeviceStats::default(),
            tamper: TamperState::default(),
        }
    }
}
