//! The deterministic state machine: every advance input changes state only through here.
//! Time comes from the input metadata; all maps are ordered; nothing here can panic on
//! input (arithmetic is checked or saturating, indexing is guarded).
//!
//! The machine keeps what it needs to decide, O(devices): one [`Device`] per device in the
//! provable [`DeviceMap`]. History leaves as outputs: each device's entries of an input go
//! out in a history notice (values sealed per ownership era) folded into the device's
//! accumulator, and every input ends with a state notice carrying the map root
//! (docs/PROTOCOL.md section 16).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest as _, Sha256};
use witness_protocol::notice::{
    DETAIL_KEY_TAG, EnvelopeValues, GLOBALS_TAG, HistoryEntry, HistoryNotice, ODOMETER_KEY_TAG,
    RecoveryOutcome, SealedValues, StateNotice, history_key,
};
use witness_protocol::state::{
    AttestedRef, CorrectedBaseline, CorrectionRef, DeviceLeaf, PendingRecovery, TamperRef,
};
use witness_protocol::{
    Consent, CounterStep, DeviceId, Domain, Envelope, Error as ProtocolError, GatewayAuthorization,
    Message, OwnerObjection, OwnershipStatement, PublicKey, RECOVERY_DELAY_S, RegistrarAction,
    RegistrarMessage, RollupInput, VehicleId,
};

use crate::config::Config;
use crate::map::DeviceMap;
use crate::outputs::{Report, report_bytes};
use crate::stats::{DeviceSummary, ModelStats};

/// The input metadata the node passes with every advance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Metadata {
    /// Chain id.
    pub chain_id: u64,
    /// The application contract (0x-hex).
    pub app_contract: String,
    /// Who called `InputBox.addInput` (0x-hex), authenticated by the chain.
    pub msg_sender: String,
    /// Block number of the input.
    pub block_number: u64,
    /// Block time, seconds since the Unix epoch: the backend's only clock.
    pub block_timestamp: u64,
    /// Index of the input in the application's input box.
    pub input_index: u64,
}

/// What an advance produced. Every input is accepted: one the backend refuses as a whole
/// changes nothing and still ends with its state notice (docs/PROTOCOL.md 16.1).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AdvanceOutcome {
    /// Notice payloads, in order; the state notice is the last.
    pub notices: Vec<Vec<u8>>,
    /// Report payloads, in order.
    pub reports: Vec<Vec<u8>>,
}

/// Everything the backend keeps about one device: its public leaf and the two private
/// facts a decision needs (the baseline's value and the statistics' running summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// What is proven about the device (no plaintext value).
    pub leaf: DeviceLeaf,
    /// Odometer of `leaf.highest`: later readings must not fall below it. Never published.
    pub baseline_odometer_m: u64,
    /// Running figures for the statistics.
    pub(crate) summary: DeviceSummary,
}

/// A registrar the backend knows: trusted now, or removed. A removed registrar's entry stays
/// so that its sequence high-water mark survives: re-adding it does not let its old messages
/// replay (PROTOCOL.md 15.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registrar {
    pub(crate) root: bool,
    pub(crate) trusted: bool,
    pub(crate) last_sequence: Option<u64>,
}

/// The application state.
#[derive(Debug)]
pub struct State {
    pub(crate) config: Config,
    pub(crate) gateways: BTreeSet<[u8; 20]>,
    pub(crate) registrars: BTreeMap<PublicKey, Registrar>,
    pub(crate) devices: DeviceMap,
    /// The vehicles that have a unit, by the first 8 bytes of their id: what refuses a
    /// second registration for a vehicle (a replacement checks the old unit's leaf instead).
    /// Eight bytes, not 32, for the machine's memory per device (BENCHMARKS.md section 7):
    /// two vehicles sharing them (about 3 × 10^-10 for 10^5 vehicles, and a registrar cannot
    /// aim at a vehicle already registered, whose id it would have to collide with) only
    /// make the second registration go through a replacement instead.
    pub(crate) vehicles: BTreeSet<u64>,
    /// Per device with any, the counters of its rollbacks no correction has cleared,
    /// ascending (`leaf.open_tampers` is their number): nothing for the devices without
    /// one, and each entry an attacker paid an input for.
    pub(crate) open_rollbacks: BTreeMap<DeviceId, Vec<u64>>,
    /// The pending ownership recoveries, by the time they take effect (and device): what
    /// the next input at or after that time completes, in this order. Nothing for devices
    /// without one.
    pub(crate) recoveries: BTreeSet<(u64, DeviceId)>,
    pub(crate) stats: BTreeMap<witness_protocol::ModelId, ModelStats>,
    /// Latest block time seen: the clock for inspect-time checks.
    pub(crate) last_block_timestamp: u64,
    /// Inputs processed.
    pub(crate) processed_inputs: u64,
    /// The latest state notice.
    pub(crate) last_state: Option<StateNotice>,
    /// The deployment of the latest input (its metadata's chain and application, the
    /// backend key): what inspect checks signatures against.
    pub(crate) domain: Option<Domain>,
    /// Hash of gateways and registrars, recomputed when they change.
    globals: [u8; 32],
}

/// Why one message was refused (its `code` goes into reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The protocol refused it (signature, decryption, format).
    Protocol(ProtocolError),
    /// Device not registered.
    UnknownDevice,
    /// Device revoked.
    RevokedDevice,
    /// Device already registered.
    AlreadyRegistered,
    /// Counter not above the last accepted one (replay, reordering, clone).
    StaleCounter,
    /// Counter more than `MAX_COUNTER_GAP` above the next one.
    CounterJump,
    /// A reading dated too far in the future.
    TimestampInFuture,
    /// A reading older than the buffering window.
    TimestampTooOld,
    /// Signed by a registrar the backend does not trust.
    UntrustedRegistrar,
    /// Only a root registrar may add or remove registrars.
    NotRootRegistrar,
    /// Registrar sequence not above the last one.
    StaleSequence,
    /// No reading with that counter was consumed.
    UnknownCounter,
    /// The previous owner's countersignature does not verify.
    BadRelease,
    /// A rotated key equal to the current one.
    SameKey,
    /// A correction that clears no rollback, corrects no value and moves no baseline.
    NothingToCorrect,
    /// The vehicle has a unit already (a new unit needs a replacement act).
    VehicleBound,
    /// The replacement's old unit is not the vehicle's current unit.
    WrongVehicle,
    /// The unit was replaced: it takes no more readings or acts.
    ReplacedDevice,
    /// A replacement's baseline below the old unit's record.
    BaselineBelowRecord,
    /// The device has an owner: another binds only with its release or by recovery.
    ReleaseRequired,
    /// The release's expiry is before the input's block time.
    ReleaseExpired,
    /// A recovery of a device that has no owner (its first pairing needs none).
    NotOwned,
    /// A recovery while another is pending.
    RecoveryPending,
    /// An objection naming no pending recovery of the device.
    NoPendingRecovery,
    /// A reinstatement of a device that is not revoked.
    NotRevoked,
    /// An objection signed by another key than the device's owner.
    NotOwner,
}

impl Rejection {
    /// Stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Protocol(error) => error.code(),
            Self::UnknownDevice => "unknown_device",
            Self::RevokedDevice => "revoked_device",
            Self::AlreadyRegistered => "already_registered",
            Self::StaleCounter => "stale_counter",
            Self::CounterJump => "counter_jump",
            Self::TimestampInFuture => "timestamp_in_future",
            Self::TimestampTooOld => "timestamp_too_old",
            Self::UntrustedRegistrar => "untrusted_registrar",
            Self::NotRootRegistrar => "not_root_registrar",
            Self::StaleSequence => "stale_sequence",
            Self::UnknownCounter => "unknown_counter",
            Self::BadRelease => "bad_release_signature",
            Self::SameKey => "same_key",
            Self::NothingToCorrect => "nothing_to_correct",
            Self::VehicleBound => "vehicle_bound",
            Self::WrongVehicle => "wrong_vehicle",
            Self::ReplacedDevice => "replaced_device",
            Self::BaselineBelowRecord => "baseline_below_record",
            Self::ReleaseRequired => "release_required",
            Self::ReleaseExpired => "release_expired",
            Self::NotOwned => "not_owned",
            Self::RecoveryPending => "recovery_pending",
            Self::NoPendingRecovery => "no_pending_recovery",
            Self::NotOwner => "not_owner",
            Self::NotRevoked => "not_revoked",
        }
    }
}

impl From<ProtocolError> for Rejection {
    fn from(error: ProtocolError) -> Self {
        Self::Protocol(error)
    }
}

/// One device's history notice of this input, before it is sealed.
#[derive(Debug)]
struct PendingNotice {
    device_id: DeviceId,
    era: u32,
    entries: Vec<HistoryEntry>,
    /// The commitment key and readings of each envelope entry, in order.
    values: Vec<EnvelopeValues>,
}

/// Collects what one input produces.
struct Batch<'m> {
    meta: &'m Metadata,
    notices: Vec<PendingNotice>,
    /// Each device's open notice in `notices`.
    open: BTreeMap<DeviceId, usize>,
    reports: Vec<Report>,
    attested: usize,
    tamper_events: usize,
    rejected: usize,
    acts: usize,
}

impl Batch<'_> {
    /// The index in `notices` of the device's open notice (opened if needed).
    fn notice(&mut self, device_id: DeviceId, era: u32) -> usize {
        *self.open.entry(device_id).or_insert_with(|| {
            self.notices.push(PendingNotice {
                device_id,
                era,
                entries: Vec::new(),
                values: Vec::new(),
            });
            self.notices.len() - 1
        })
    }

    fn record(&mut self, device_id: DeviceId, era: u32, entry: HistoryEntry) {
        let index = self.notice(device_id, era);
        self.notices[index].entries.push(entry);
    }

    /// An ownership change ends the device's notice: what follows is in the next era.
    fn close(&mut self, device_id: &DeviceId) {
        self.open.remove(device_id);
    }
}

impl State {
    /// A fresh state.
    pub fn new(config: Config) -> Self {
        let registrars = config
            .root_registrars
            .iter()
            .map(|key| {
                (
                    *key,
                    Registrar {
                        root: true,
                        trusted: true,
                        last_sequence: None,
                    },
                )
            })
            .collect();
        let mut state = Self {
            config,
            gateways: BTreeSet::new(),
            registrars,
            devices: DeviceMap::default(),
            vehicles: BTreeSet::new(),
            open_rollbacks: BTreeMap::new(),
            recoveries: BTreeSet::new(),
            stats: BTreeMap::new(),
            last_block_timestamp: 0,
            processed_inputs: 0,
            last_state: None,
            domain: None,
            globals: [0; 32],
        };
        state.globals = state.globals_hash();
        state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A device, if registered.
    pub fn device(&self, id: &DeviceId) -> Option<&Device> {
        self.devices.get(id)
    }

    /// The device map.
    pub fn devices(&self) -> &DeviceMap {
        &self.devices
    }

    /// The latest state notice.
    pub fn last_state(&self) -> Option<&StateNotice> {
        self.last_state.as_ref()
    }

    /// Whether `address` may submit readings.
    pub fn is_gateway(&self, address: &[u8; 20]) -> bool {
        self.gateways.contains(address)
    }

    /// `SHA-256(GLOBALS_TAG ‖ admin 20 ‖ backend key 32 ‖ u32 n ‖ gateways (20 each, in
    /// order) ‖ u32 m ‖ registrars (key 32 ‖ root u8 ‖ trusted u8 ‖ present u8 ‖ last
    /// sequence u64), in key order)`.
    fn globals_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(GLOBALS_TAG);
        h.update(self.config.admin);
        h.update(self.config.backend_key.public_key().to_bytes());
        h.update((self.gateways.len() as u32).to_be_bytes());
        for gateway in &self.gateways {
            h.update(gateway);
        }
        h.update((self.registrars.len() as u32).to_be_bytes());
        for (key, registrar) in &self.registrars {
            h.update(key.to_bytes());
            h.update([
                u8::from(registrar.root),
                u8::from(registrar.trusted),
                u8::from(registrar.last_sequence.is_some()),
            ]);
            h.update(registrar.last_sequence.unwrap_or(0).to_be_bytes());
        }
        h.finalize().into()
    }

    /// Processes one advance input. Always accepted: a refusal of the whole input changes
    /// nothing but the input count and says why in a report.
    pub fn advance(&mut self, meta: &Metadata, payload: &[u8]) -> AdvanceOutcome {
        self.processed_inputs = self.processed_inputs.saturating_add(1);
        let mut batch = Batch {
            meta,
            notices: Vec::new(),
            open: BTreeMap::new(),
            reports: Vec::new(),
            attested: 0,
            tamper_events: 0,
            rejected: 0,
            acts: 0,
        };
        match self.admit(meta, payload) {
            Ok((input, domain)) => {
                self.domain = Some(domain.clone());
                self.apply(&mut batch, &input, &domain)
            }
            Err((reason, detail)) => batch.reports.push(Report::InputRefused {
                input_index: meta.input_index,
                reason: reason.into(),
                detail,
            }),
        }
        self.finish(batch)
    }

    /// The whole-input checks I1-I4: the decoded input and the deployment its signatures
    /// must be for, or why nothing of it applies.
    fn admit(
        &self,
        meta: &Metadata,
        payload: &[u8],
    ) -> Result<(RollupInput, Domain), (&'static str, String)> {
        let input = RollupInput::decode(payload).map_err(|e| (e.code(), e.to_string()))?;
        let sender = crate::config::parse_address(&meta.msg_sender)
            .map_err(|_| ("bad_metadata", "msg_sender is not an address".to_string()))?;
        let application = crate::config::parse_address(&meta.app_contract)
            .map_err(|_| ("bad_metadata", "app_contract is not an address".to_string()))?;
        let domain = Domain {
            chain_id: meta.chain_id,
            application,
            backend_key: self.config.backend_key.public_key().clone(),
        };
        let has = |f: fn(&Message) -> bool| input.messages.iter().any(f);
        if has(|m| matches!(m, Message::Envelope(_))) && !self.gateways.contains(&sender) {
            return Err((
                "unauthorized_sender",
                format!("{} is not an authorized gateway", meta.msg_sender),
            ));
        }
        if has(|m| matches!(m, Message::GatewayAuthorization(_))) && sender != self.config.admin {
            return Err((
                "not_admin",
                format!("{} is not the application admin", meta.msg_sender),
            ));
        }
        Ok((input, domain))
    }

    fn apply(&mut self, batch: &mut Batch<'_>, input: &RollupInput, domain: &Domain) {
        let meta = batch.meta;
        self.last_block_timestamp = self.last_block_timestamp.max(meta.block_timestamp);
        self.complete_recoveries(batch);
        let mut globals_changed = false;
        for (index, message) in input.messages.iter().enumerate() {
            let (device_id, counter) = message_subject(message);
            let result = match message {
                Message::Envelope(envelope) => self.apply_envelope(batch, envelope, domain),
                Message::Registrar(message) => {
                    globals_changed = true;
                    self.apply_registrar(batch, message, domain)
                }
                Message::GatewayAuthorization(authorization) => {
                    globals_changed = true;
                    self.apply_authorization(authorization);
                    Ok(())
                }
                Message::Ownership(statement) => self.apply_ownership(batch, statement, domain),
                Message::Objection(objection) => self.apply_objection(batch, objection, domain),
            };
            match result {
                Ok(()) => {
                    if !matches!(message, Message::Envelope(_)) {
                        batch.acts += 1;
                    }
                }
                Err(rejection) => {
                    batch.rejected += 1;
                    batch.reports.push(Report::MessageRejected {
                        input_index: meta.input_index,
                        message_index: index as u64,
                        reason: rejection.code().into(),
                        device_id: device_id.map(|id| id.to_hex()),
                        counter,
                    });
                }
            }
        }
        if globals_changed {
            self.globals = self.globals_hash();
        }
    }

    fn finish(&mut self, batch: Batch<'_>) -> AdvanceOutcome {
        let meta = batch.meta;
        let secret = self.config.backend_key.to_bytes();
        let mut notices = Vec::with_capacity(batch.notices.len() + 1);
        for pending in batch.notices {
            let Some(device) = self.devices.get_mut(&pending.device_id) else {
                continue;
            };
            let notice = HistoryNotice {
                device_id: pending.device_id,
                input_index: meta.input_index,
                block_timestamp: meta.block_timestamp,
                era: pending.era,
                position: device.leaf.history.count,
                previous_input: device.leaf.history.last_input,
                entries: pending.entries,
                sealed: SealedValues::default(),
            };
            let bytes = if pending.values.is_empty() {
                notice.encode()
            } else {
                let odometer_key =
                    history_key(ODOMETER_KEY_TAG, &secret, &pending.device_id, pending.era);
                let detail_key =
                    history_key(DETAIL_KEY_TAG, &secret, &pending.device_id, pending.era);
                // Header and entries are encoded once, as the AAD and in the bytes. Sealing
                // fails only on readings that do not encode, and every reading here was
                // decoded from an envelope; the entries still go out if it ever did.
                notice
                    .encode_sealed(&odometer_key, &detail_key, &pending.values)
                    .unwrap_or_else(|_| notice.encode())
            };
            device.leaf.history.fold(&bytes, meta.input_index);
            notices.push(bytes);
        }
        let map_root = self.devices.commit(
            meta.input_index,
            meta.block_number,
            self.config.proof_retention_blocks,
        );
        let state = StateNotice {
            input_index: meta.input_index,
            block_number: meta.block_number,
            block_timestamp: meta.block_timestamp,
            devices: self.devices.len(),
            map_root,
            globals: self.globals,
        };
        notices.push(state.encode());
        self.last_state = Some(state);
        let mut reports: Vec<Vec<u8>> = batch.reports.iter().map(report_bytes).collect();
        reports.push(report_bytes(&Report::InputAccepted {
            input_index: meta.input_index,
            readings_attested: batch.attested as u64,
            tamper_events: batch.tamper_events as u64,
            messages_rejected: batch.rejected as u64,
            acts_applied: batch.acts as u64,
        }));
        AdvanceOutcome { notices, reports }
    }

    fn apply_authorization(&mut self, authorization: &GatewayAuthorization) {
        if authorization.authorized {
            self.gateways.insert(authorization.gateway);
        } else {
            self.gateways.remove(&authorization.gateway);
        }
    }

    /// The checks on an envelope, in the order of docs/PROTOCOL.md.
    fn apply_envelope(
        &mut self,
        batch: &mut Batch<'_>,
        envelope: &Envelope,
        domain: &Domain,
    ) -> Result<(), Rejection> {
        let header = *envelope.header();
        let device = self
            .devices
            .get(&header.device_id)
            .ok_or(Rejection::UnknownDevice)?;
        if device.leaf.revoked {
            return Err(Rejection::RevokedDevice);
        }
        if device.leaf.successor().is_some() {
            return Err(Rejection::ReplacedDevice);
        }
        let key = PublicKey::from_checked_bytes(&device.leaf.key)?;
        envelope.verify_signature(&key, domain)?;
        match CounterStep::of(device.leaf.last_counter, header.counter) {
            CounterStep::Fresh => {}
            CounterStep::Stale => return Err(Rejection::StaleCounter),
            CounterStep::Jump => return Err(Rejection::CounterJump),
        }
        let opened = envelope.decrypt(&self.config.backend_key)?;
        let now = batch.meta.block_timestamp;
        for reading in &opened.readings {
            let time = u64::from(reading.timestamp);
            if time > now.saturating_add(self.config.max_future_skew_s) {
                return Err(Rejection::TimestampInFuture);
            }
            if time.saturating_add(self.config.max_age_s) < now {
                return Err(Rejection::TimestampTooOld);
            }
        }

        let input_index = batch.meta.input_index;
        let Some(device) = self.devices.get_mut(&header.device_id) else {
            return Err(Rejection::UnknownDevice);
        };
        let model = device.leaf.model;
        let era = device.leaf.era;
        let stats = self.stats.entry(model).or_default();
        // The envelope entry, then its reading entries, all in the device's open notice.
        let notice = batch.notice(header.device_id, era);
        let entries = &mut batch.notices[notice].entries;
        entries.reserve(1 + opened.readings.len());
        entries.push(HistoryEntry::Envelope {
            first_counter: header.counter,
            count: header.reading_count,
        });
        for (offset, (reading, commitment)) in
            opened.readings.iter().zip(opened.commitments).enumerate()
        {
            let counter = header.counter.saturating_add(offset as u64);
            // Below the baseline: a rollback, referring to the highest attested reading's
            // counter, or 0 when the baseline is one a correction or a replacement stated
            // before any reading of this unit was attested.
            let reference = (reading.odometer_m < device.baseline_odometer_m)
                .then(|| device.leaf.highest.map_or(0, |highest| highest.counter));
            match reference {
                Some(reference_counter) => {
                    // Counters increase, so pushing keeps the list ascending.
                    self.open_rollbacks
                        .entry(header.device_id)
                        .or_default()
                        .push(counter);
                    device.leaf.open_tampers = device.leaf.open_tampers.saturating_add(1);
                    device.leaf.tamper_events = device.leaf.tamper_events.saturating_add(1);
                    device.leaf.latest_tamper = Some(Box::new(TamperRef {
                        counter,
                        reference_counter,
                        input_index,
                    }));
                    batch.tamper_events += 1;
                    batch.reports.push(Report::Tamper {
                        input_index,
                        device_id: header.device_id.to_hex(),
                        counter,
                        reference_counter,
                    });
                }
                None => {
                    stats.record(&mut device.summary, reading);
                    device.baseline_odometer_m = reading.odometer_m;
                    let attested = AttestedRef {
                        counter,
                        commitment,
                        input_index,
                    };
                    device.leaf.highest = Some(attested);
                    device.leaf.corrected_baseline = None;
                    device.leaf.first.get_or_insert(attested);
                    device.leaf.attested = device.leaf.attested.saturating_add(1);
                    batch.attested += 1;
                }
            }
            batch.notices[notice].entries.push(HistoryEntry::Reading {
                counter,
                commitment,
                rollback_of: reference,
            });
        }
        batch.notices[notice].values.push(EnvelopeValues {
            commitment_key: opened.commitment_key,
            readings: opened.readings,
        });
        device.leaf.last_counter = header.last_counter();
        Ok(())
    }

    fn apply_registrar(
        &mut self,
        batch: &mut Batch<'_>,
        message: &RegistrarMessage,
        domain: &Domain,
    ) -> Result<(), Rejection> {
        let registrar = self
            .registrars
            .get(&message.registrar)
            .filter(|r| r.trusted)
            .ok_or(Rejection::UntrustedRegistrar)?;
        message.verify(domain)?;
        if registrar
            .last_sequence
            .is_some_and(|last| message.sequence <= last)
        {
            return Err(Rejection::StaleSequence);
        }
        let is_root = registrar.root;
        let input_index = batch.meta.input_index;
        let active = |devices: &mut DeviceMap, id: &DeviceId| -> Result<(), Rejection> {
            let device = devices.get(id).ok_or(Rejection::UnknownDevice)?;
            if device.leaf.revoked {
                return Err(Rejection::RevokedDevice);
            }
            if device.leaf.successor().is_some() {
                return Err(Rejection::ReplacedDevice);
            }
            Ok(())
        };
        match &message.action {
            RegistrarAction::RegisterDevice {
                device_id,
                model,
                public_key,
                vehicle,
            } => {
                if self.devices.get(device_id).is_some() {
                    return Err(Rejection::AlreadyRegistered);
                }
                if self.vehicles.contains(&vehicle_key(vehicle)) {
                    return Err(Rejection::VehicleBound);
                }
                self.register_unit(batch, message, *device_id, *model, public_key, *vehicle);
            }
            RegistrarAction::ReplaceUnit {
                vehicle,
                old_device,
                new_device,
                model,
                public_key,
                baseline_m,
            } => {
                active(&mut self.devices, old_device)?;
                // An active unit has no successor: the old unit is its vehicle's current one.
                if self
                    .devices
                    .get(old_device)
                    .is_none_or(|old| old.leaf.vehicle != *vehicle)
                {
                    return Err(Rejection::WrongVehicle);
                }
                if self.devices.get(new_device).is_some() {
                    return Err(Rejection::AlreadyRegistered);
                }
                let Some(old) = self.devices.get_mut(old_device) else {
                    return Err(Rejection::UnknownDevice);
                };
                // Kilometres on record cannot be dropped by swapping the unit.
                if *baseline_m < old.baseline_odometer_m {
                    return Err(Rejection::BaselineBelowRecord);
                }
                old.leaf.set_successor(Some(*new_device));
                let (owner, era) = (old.leaf.owner, old.leaf.era);
                self.end_recovery(batch, old_device, RecoveryOutcome::Retired);
                batch.record(
                    *old_device,
                    era,
                    HistoryEntry::ReplacedBy {
                        new_device: *new_device,
                        registrar: message.registrar.to_bytes(),
                    },
                );
                self.register_unit(batch, message, *new_device, *model, public_key, *vehicle);
                if let Some(new) = self.devices.get_mut(new_device) {
                    // The car's owner stays its owner; the new unit's first era is theirs.
                    new.leaf.owner = owner;
                    new.leaf.set_predecessor(Some(*old_device));
                    new.baseline_odometer_m = *baseline_m;
                    new.leaf.corrected_baseline = Some(Box::new(CorrectedBaseline {
                        odometer_m: *baseline_m,
                        input_index,
                    }));
                }
                batch.record(
                    *new_device,
                    0,
                    HistoryEntry::Replaces {
                        old_device: *old_device,
                        baseline_m: *baseline_m,
                        registrar: message.registrar.to_bytes(),
                    },
                );
            }
            RegistrarAction::RevokeDevice { device_id, reason } => {
                active(&mut self.devices, device_id)?;
                self.end_recovery(batch, device_id, RecoveryOutcome::Retired);
                if let Some(device) = self.devices.get_mut(device_id) {
                    device.leaf.revoked = true;
                    batch.record(
                        *device_id,
                        device.leaf.era,
                        HistoryEntry::Revoked {
                            reason: reason.clone(),
                        },
                    );
                }
            }
            RegistrarAction::ReinstateDevice { device_id, reason } => {
                let device = self
                    .devices
                    .get_mut(device_id)
                    .ok_or(Rejection::UnknownDevice)?;
                if device.leaf.successor().is_some() {
                    return Err(Rejection::ReplacedDevice);
                }
                if !device.leaf.revoked {
                    return Err(Rejection::NotRevoked);
                }
                device.leaf.revoked = false;
                batch.record(
                    *device_id,
                    device.leaf.era,
                    HistoryEntry::Reinstated {
                        reason: reason.clone(),
                    },
                );
            }
            RegistrarAction::RotateKey { device_id, new_key } => {
                active(&mut self.devices, device_id)?;
                if self
                    .devices
                    .get(device_id)
                    .is_some_and(|d| d.leaf.key == new_key.to_bytes())
                {
                    return Err(Rejection::SameKey);
                }
                if let Some(device) = self.devices.get_mut(device_id) {
                    device.leaf.key = new_key.to_bytes();
                    batch.record(
                        *device_id,
                        device.leaf.era,
                        HistoryEntry::KeyRotated {
                            new_key: new_key.to_bytes(),
                        },
                    );
                }
            }
            RegistrarAction::RecoverOwner { device_id, owner } => {
                active(&mut self.devices, device_id)?;
                let Some(device) = self.devices.get_mut(device_id) else {
                    return Err(Rejection::UnknownDevice);
                };
                let current = device.leaf.owner.ok_or(Rejection::NotOwned)?;
                if device.leaf.pending_recovery.is_some() {
                    return Err(Rejection::RecoveryPending);
                }
                if current == owner.to_bytes() {
                    return Err(Rejection::SameKey);
                }
                let effective_at = batch.meta.block_timestamp.saturating_add(RECOVERY_DELAY_S);
                device.leaf.pending_recovery = Some(Box::new(PendingRecovery {
                    owner: owner.to_bytes(),
                    effective_at,
                }));
                self.recoveries.insert((effective_at, *device_id));
                batch.record(
                    *device_id,
                    device.leaf.era,
                    HistoryEntry::RecoveryStarted {
                        registrar: message.registrar.to_bytes(),
                        owner: owner.to_bytes(),
                        effective_at,
                    },
                );
            }
            RegistrarAction::Correct(correction) => {
                let device = self
                    .devices
                    .get(&correction.device_id)
                    .ok_or(Rejection::UnknownDevice)?;
                // Counters are consumed in order, so any consumed one was a reading.
                if device
                    .leaf
                    .last_counter
                    .is_none_or(|last| correction.counter > last)
                {
                    return Err(Rejection::UnknownCounter);
                }
                let open = self
                    .open_rollbacks
                    .get(&correction.device_id)
                    .and_then(|open| open.binary_search(&correction.counter).ok());
                if open.is_none()
                    && correction.odometer_m.is_none()
                    && correction.baseline_m.is_none()
                {
                    return Err(Rejection::NothingToCorrect);
                }
                if let Some(device) = self.devices.get_mut(&correction.device_id) {
                    // Only the rollback at the named counter is cleared; the baseline moves
                    // only when the correction says where to.
                    if let Some(position) = open
                        && let Some(list) = self.open_rollbacks.get_mut(&correction.device_id)
                    {
                        list.remove(position);
                        if list.is_empty() {
                            self.open_rollbacks.remove(&correction.device_id);
                        }
                        device.leaf.open_tampers = device.leaf.open_tampers.saturating_sub(1);
                    }
                    if let Some(baseline) = correction.baseline_m {
                        device.baseline_odometer_m = baseline;
                        device.leaf.corrected_baseline = Some(Box::new(CorrectedBaseline {
                            odometer_m: baseline,
                            input_index,
                        }));
                    }
                    device.leaf.corrections = device.leaf.corrections.saturating_add(1);
                    device.leaf.latest_correction = Some(Box::new(CorrectionRef {
                        counter: correction.counter,
                        input_index,
                    }));
                    batch.record(
                        correction.device_id,
                        device.leaf.era,
                        HistoryEntry::Corrected {
                            registrar: message.registrar.to_bytes(),
                            cleared: open.is_some(),
                            correction: correction.clone(),
                        },
                    );
                }
            }
            RegistrarAction::AddRegistrar { key } => {
                if !is_root {
                    return Err(Rejection::NotRootRegistrar);
                }
                // A registrar added again keeps its high-water mark.
                self.registrars
                    .entry(*key)
                    .or_insert(Registrar {
                        root: false,
                        trusted: true,
                        last_sequence: None,
                    })
                    .trusted = true;
            }
            RegistrarAction::RemoveRegistrar { key } => {
                if !is_root {
                    return Err(Rejection::NotRootRegistrar);
                }
                if let Some(registrar) = self.registrars.get_mut(key).filter(|r| !r.root) {
                    registrar.trusted = false;
                }
            }
        }
        if let Some(registrar) = self.registrars.get_mut(&message.registrar) {
            registrar.last_sequence = Some(message.sequence);
        }
        Ok(())
    }

    /// Registers `device_id` as the current unit of `vehicle` (its history's first entry).
    fn register_unit(
        &mut self,
        batch: &mut Batch<'_>,
        message: &RegistrarMessage,
        device_id: DeviceId,
        model: witness_protocol::ModelId,
        public_key: &PublicKey,
        vehicle: VehicleId,
    ) {
        let mut leaf = DeviceLeaf::new(device_id, model, public_key.to_bytes());
        leaf.vehicle = vehicle;
        self.devices.insert(Device {
            leaf,
            baseline_odometer_m: 0,
            summary: DeviceSummary::default(),
        });
        self.vehicles.insert(vehicle_key(&vehicle));
        self.stats.entry(model).or_default().register();
        batch.record(
            device_id,
            0,
            HistoryEntry::Registered {
                model,
                registrar: message.registrar.to_bytes(),
            },
        );
    }

    fn apply_ownership(
        &mut self,
        batch: &mut Batch<'_>,
        statement: &OwnershipStatement,
        domain: &Domain,
    ) -> Result<(), Rejection> {
        let device = self
            .devices
            .get(&statement.device_id)
            .ok_or(Rejection::UnknownDevice)?;
        if device.leaf.revoked {
            return Err(Rejection::RevokedDevice);
        }
        if device.leaf.successor().is_some() {
            return Err(Rejection::ReplacedDevice);
        }
        statement.verify_device(&PublicKey::from_checked_bytes(&device.leaf.key)?, domain)?;
        if device
            .leaf
            .ownership_sequence
            .is_some_and(|last| statement.sequence <= last)
        {
            return Err(Rejection::StaleSequence);
        }
        // Who holds the device binds a first owner; after that only the owner's release
        // passes it on (a recovery is a registrar's act, 8.4.2).
        let consented = match (&statement.consent, &device.leaf.owner) {
            (Consent::FirstPairing, None) => false,
            (Consent::FirstPairing, Some(_)) => return Err(Rejection::ReleaseRequired),
            (Consent::Release(_), None) => return Err(Rejection::BadRelease),
            (Consent::Release(release), Some(current)) => {
                let current = PublicKey::from_bytes(current).map_err(|_| Rejection::BadRelease)?;
                release
                    .verify(
                        &current,
                        domain,
                        statement.device_id,
                        device.leaf.ownership_sequence.unwrap_or(0),
                    )
                    .map_err(|_| Rejection::BadRelease)?;
                if u64::from(release.expires_at) < batch.meta.block_timestamp {
                    return Err(Rejection::ReleaseExpired);
                }
                true
            }
        };
        // The owner showed their key: a recovery pending against them lapses.
        self.end_recovery(batch, &statement.device_id, RecoveryOutcome::Superseded);
        let owner = statement.owner.to_bytes();
        let entry = HistoryEntry::OwnerChanged {
            sequence: statement.sequence,
            consented,
            owner,
        };
        self.bind_owner(batch, &statement.device_id, owner, entry);
        if let Some(device) = self.devices.get_mut(&statement.device_id) {
            device.leaf.ownership_sequence = Some(statement.sequence);
        }
        Ok(())
    }

    /// Binds `owner` to the device, recording `entry`. A new era starts when the device
    /// passes from one owner key to another; the first owner's era (0) also holds what was
    /// recorded before the device had an owner.
    fn bind_owner(
        &mut self,
        batch: &mut Batch<'_>,
        device_id: &DeviceId,
        owner: [u8; 32],
        entry: HistoryEntry,
    ) {
        let Some(device) = self.devices.get_mut(device_id) else {
            return;
        };
        let era = device.leaf.era;
        batch.record(*device_id, era, entry);
        if device.leaf.owner.is_some_and(|previous| previous != owner) {
            device.leaf.era = era.saturating_add(1);
            batch.close(device_id);
        }
        device.leaf.owner = Some(owner);
    }

    /// The owner's objection ends the pending recovery it names (8.4.2).
    fn apply_objection(
        &mut self,
        batch: &mut Batch<'_>,
        objection: &OwnerObjection,
        domain: &Domain,
    ) -> Result<(), Rejection> {
        let device = self
            .devices
            .get(&objection.device_id)
            .ok_or(Rejection::UnknownDevice)?;
        if device
            .leaf
            .pending_recovery
            .as_ref()
            .is_none_or(|pending| pending.effective_at != objection.effective_at)
        {
            return Err(Rejection::NoPendingRecovery);
        }
        if device.leaf.owner != Some(objection.owner.to_bytes()) {
            return Err(Rejection::NotOwner);
        }
        objection.verify(domain)?;
        self.end_recovery(batch, &objection.device_id, RecoveryOutcome::Objected);
        Ok(())
    }

    /// Ends the device's pending recovery, if any, without its taking effect.
    fn end_recovery(
        &mut self,
        batch: &mut Batch<'_>,
        device_id: &DeviceId,
        outcome: RecoveryOutcome,
    ) {
        let Some(device) = self.devices.get_mut(device_id) else {
            return;
        };
        if let Some(pending) = device.leaf.pending_recovery.take() {
            self.recoveries.remove(&(pending.effective_at, *device_id));
            batch.record(
                *device_id,
                device.leaf.era,
                HistoryEntry::RecoveryEnded { outcome },
            );
        }
    }

    /// Completes the recoveries whose time has come (before the input's messages, so an
    /// objection in the same input is too late), in the order of their time and device.
    fn complete_recoveries(&mut self, batch: &mut Batch<'_>) {
        let now = batch.meta.block_timestamp;
        while let Some(&(effective_at, device_id)) = self.recoveries.first() {
            if effective_at > now {
                break;
            }
            self.recoveries.pop_first();
            let Some(pending) = self
                .devices
                .get_mut(&device_id)
                .and_then(|device| device.leaf.pending_recovery.take())
            else {
                continue;
            };
            let entry = HistoryEntry::OwnerRecovered {
                owner: pending.owner,
            };
            self.bind_owner(batch, &device_id, pending.owner, entry);
        }
    }
}

/// The key of [`State::vehicles`]: the vehicle id's first 8 bytes.
fn vehicle_key(vehicle: &VehicleId) -> u64 {
    let mut key = [0u8; 8];
    key.copy_from_slice(&vehicle.0[..8]);
    u64::from_be_bytes(key)
}

fn message_subject(message: &Message) -> (Option<DeviceId>, Option<u64>) {
    match message {
        Message::Envelope(envelope) => (
            Some(envelope.header().device_id),
            Some(envelope.header().counter),
        ),
        Message::Registrar(message) => (message.action.device_id(), None),
        Message::Ownership(statement) => (Some(statement.device_id), Some(statement.sequence)),
        Message::Objection(objection) => (Some(objection.device_id), None),
        Message::GatewayAuthorization(_) => (None, None),
    }
}
