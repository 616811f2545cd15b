//! The deterministic state machine: every advance input changes state only through here.
//! Time comes from the input metadata; all maps are ordered; nothing here can panic on
//! input (arithmetic is checked or saturating, indexing is guarded).

use std::collections::{BTreeMap, BTreeSet};

use witness_protocol::{
    Commitment, DeviceId, Envelope, Error as ProtocolError, GatewayAuthorization, Message, ModelId,
    OwnershipStatement, PublicKey, Reading, RegistrarAction, RegistrarMessage, RollupInput,
};

use crate::config::Config;
use crate::outputs::{self, AttestedEntry, Report};
use crate::stats::ModelStats;

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

/// What an advance produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AdvanceOutcome {
    /// `true` to accept the input, `false` to reject it (state is unchanged then).
    pub accept: bool,
    /// Notice payloads, in order.
    pub notices: Vec<Vec<u8>>,
    /// Report payloads, in order.
    pub reports: Vec<Vec<u8>>,
}

/// Whether a device may still report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Readings are accepted.
    Active,
    /// Retired by a registrar.
    Revoked { reason: String },
}

/// One line of a device's append-only history. Keys are kept as their 32 bytes: a parsed
/// `PublicKey` holds a decompressed point and would make every entry several times larger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryEvent {
    /// The device was registered.
    Registered { model: ModelId, registrar: [u8; 32] },
    /// A reading, attested or flagged as a rollback.
    Reading(Box<ReadingRecord>),
    /// A registrar corrected the reading at `counter`.
    Corrected {
        counter: u64,
        odometer_m: u64,
        reason: String,
        registrar: [u8; 32],
    },
    /// The device key changed; history continues under the new key.
    KeyRotated { new_key: [u8; 32] },
    /// The device was revoked.
    Revoked { reason: String },
    /// A new owner key was bound.
    OwnerChanged {
        sequence: u64,
        consented_by_previous_owner: bool,
    },
}

/// A reading as the backend keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingRecord {
    /// Counter.
    pub counter: u64,
    /// The decrypted reading (never published).
    pub reading: Reading,
    /// Hiding commitment (published).
    pub commitment: Commitment,
    /// SHA-256 of the carrying envelope (published).
    pub envelope_hash: [u8; 32],
    /// `true` when the odometer read lower than an earlier accepted reading.
    pub rollback: bool,
    /// Counter of the reading it fell below, for a rollback.
    pub reference_counter: Option<u64>,
}

/// A history entry with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Input that caused it.
    pub input_index: u64,
    /// Block time of that input.
    pub block_timestamp: u64,
    /// Global index of the notice that made it public, if any.
    pub notice_index: Option<u64>,
    /// What happened.
    pub event: HistoryEvent,
}

/// Everything the backend knows about one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Model.
    pub model: ModelId,
    /// Current public key.
    pub key: PublicKey,
    /// Active or revoked.
    pub status: DeviceStatus,
    /// Highest counter consumed.
    pub last_counter: Option<u64>,
    /// The accepted reading with the highest odometer: (counter, odometer), the baseline a
    /// later reading must not fall below.
    pub baseline: Option<(u64, u64)>,
    /// Set by a rollback, cleared by a registrar's correction.
    pub flagged: bool,
    /// Current owner key.
    pub owner: Option<PublicKey>,
    /// Highest ownership statement sequence applied.
    pub ownership_sequence: Option<u64>,
    /// Append-only history.
    pub history: Vec<HistoryEntry>,
}

impl Device {
    /// Attested (non-rollback) readings, in counter order.
    pub fn attested(&self) -> impl Iterator<Item = (&HistoryEntry, &ReadingRecord)> {
        self.readings().filter(|(_, record)| !record.rollback)
    }

    /// All readings, in counter order.
    pub fn readings(&self) -> impl Iterator<Item = (&HistoryEntry, &ReadingRecord)> {
        self.history.iter().filter_map(|entry| match &entry.event {
            HistoryEvent::Reading(record) => Some((entry, record.as_ref())),
            _ => None,
        })
    }

    /// Number of rollbacks on record.
    pub fn tamper_events(&self) -> usize {
        self.readings()
            .filter(|(_, record)| record.rollback)
            .count()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registrar {
    pub(crate) root: bool,
    pub(crate) last_sequence: Option<u64>,
}

/// The application state.
#[derive(Debug)]
pub struct State {
    pub(crate) config: Config,
    pub(crate) gateways: BTreeSet<[u8; 20]>,
    pub(crate) registrars: BTreeMap<PublicKey, Registrar>,
    pub(crate) devices: BTreeMap<DeviceId, Device>,
    pub(crate) stats: BTreeMap<ModelId, ModelStats>,
    /// Latest block time seen: the clock for inspect-time checks.
    pub(crate) last_block_timestamp: u64,
    /// Inputs processed (accepted or rejected).
    pub(crate) processed_inputs: u64,
    /// Outputs emitted by accepted inputs: the global index of the next notice.
    pub(crate) next_output_index: u64,
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
    /// No reading with that counter.
    UnknownCounter,
    /// The previous owner's countersignature does not verify.
    BadRelease,
    /// A rotated key equal to the current one.
    SameKey,
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
            Self::TimestampInFuture => "timestamp_in_future",
            Self::TimestampTooOld => "timestamp_too_old",
            Self::UntrustedRegistrar => "untrusted_registrar",
            Self::NotRootRegistrar => "not_root_registrar",
            Self::StaleSequence => "stale_sequence",
            Self::UnknownCounter => "unknown_counter",
            Self::BadRelease => "bad_release_signature",
            Self::SameKey => "same_key",
        }
    }
}

impl From<ProtocolError> for Rejection {
    fn from(error: ProtocolError) -> Self {
        Self::Protocol(error)
    }
}

/// Where a history entry sits: (device, position in its history).
type HistorySlot = (DeviceId, usize);

/// Collects what one input produces.
struct Batch<'m> {
    meta: &'m Metadata,
    attested: Vec<AttestedEntry>,
    /// Pending history entries whose notice index is the attestation notice's.
    attested_slots: Vec<HistorySlot>,
    extra_notices: Vec<(Vec<u8>, HistorySlot)>,
    reports: Vec<Report>,
    tamper_events: usize,
    rejected: usize,
    acts: usize,
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
                        last_sequence: None,
                    },
                )
            })
            .collect();
        Self {
            config,
            gateways: BTreeSet::new(),
            registrars,
            devices: BTreeMap::new(),
            stats: BTreeMap::new(),
            last_block_timestamp: 0,
            processed_inputs: 0,
            next_output_index: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A device, if registered.
    pub fn device(&self, id: &DeviceId) -> Option<&Device> {
        self.devices.get(id)
    }

    /// Whether `address` may submit readings.
    pub fn is_gateway(&self, address: &[u8; 20]) -> bool {
        self.gateways.contains(address)
    }

    /// Processes one advance input. Rejecting (`accept == false`) happens only before any
    /// change, so the state after a reject equals the state before, as in the Cartesi
    /// machine, which reverts a rejected input.
    pub fn advance(&mut self, meta: &Metadata, payload: &[u8]) -> AdvanceOutcome {
        self.processed_inputs = self.processed_inputs.saturating_add(1);
        let input = match RollupInput::decode(payload) {
            Ok(input) => input,
            Err(error) => return self.reject(meta, error.code(), error.to_string()),
        };
        let sender = match crate::config::parse_address(&meta.msg_sender) {
            Ok(sender) => sender,
            Err(_) => {
                return self.reject(meta, "bad_metadata", "msg_sender is not an address".into());
            }
        };
        let has_readings = input
            .messages
            .iter()
            .any(|m| matches!(m, Message::Envelope(_)));
        if has_readings && !self.gateways.contains(&sender) {
            return self.reject(
                meta,
                "unauthorized_sender",
                format!("{} is not an authorized gateway", meta.msg_sender),
            );
        }
        let has_authorizations = input
            .messages
            .iter()
            .any(|m| matches!(m, Message::GatewayAuthorization(_)));
        if has_authorizations && sender != self.config.admin {
            return self.reject(
                meta,
                "not_admin",
                format!("{} is not the application admin", meta.msg_sender),
            );
        }

        // From here on the input is accepted.
        self.last_block_timestamp = self.last_block_timestamp.max(meta.block_timestamp);
        let mut batch = Batch {
            meta,
            attested: Vec::new(),
            attested_slots: Vec::new(),
            extra_notices: Vec::new(),
            reports: Vec::new(),
            tamper_events: 0,
            rejected: 0,
            acts: 0,
        };
        for (index, message) in input.messages.iter().enumerate() {
            let (device_id, counter) = message_subject(message);
            let result = match message {
                Message::Envelope(envelope) => self.apply_envelope(&mut batch, envelope),
                Message::Registrar(message) => self.apply_registrar(&mut batch, message),
                Message::GatewayAuthorization(authorization) => {
                    self.apply_authorization(authorization);
                    Ok(())
                }
                Message::Ownership(statement) => self.apply_ownership(&mut batch, statement),
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
                        message_index: index,
                        reason: rejection.code(),
                        device_id: device_id.map(|id| id.to_hex()),
                        counter,
                    });
                }
            }
        }
        self.finish(batch)
    }

    fn reject(&mut self, meta: &Metadata, reason: &'static str, detail: String) -> AdvanceOutcome {
        let report = Report::InputRejected {
            input_index: meta.input_index,
            reason,
            detail,
        };
        AdvanceOutcome {
            accept: false,
            notices: Vec::new(),
            reports: vec![report.to_bytes()],
        }
    }

    fn finish(&mut self, batch: Batch<'_>) -> AdvanceOutcome {
        let mut notices = Vec::new();
        if !batch.attested.is_empty() {
            let index = self.next_output_index;
            notices.push(outputs::attestation_notice(
                batch.meta.input_index,
                batch.meta.block_timestamp,
                &batch.attested,
            ));
            self.set_notice_index(&batch.attested_slots, index);
            self.next_output_index = self.next_output_index.saturating_add(1);
        }
        for (notice, slot) in batch.extra_notices {
            self.set_notice_index(&[slot], self.next_output_index);
            notices.push(notice);
            self.next_output_index = self.next_output_index.saturating_add(1);
        }
        let mut reports: Vec<Vec<u8>> = batch.reports.iter().map(Report::to_bytes).collect();
        reports.push(
            Report::InputAccepted {
                input_index: batch.meta.input_index,
                readings_attested: batch.attested.len(),
                tamper_events: batch.tamper_events,
                messages_rejected: batch.rejected,
                acts_applied: batch.acts,
            }
            .to_bytes(),
        );
        AdvanceOutcome {
            accept: true,
            notices,
            reports,
        }
    }

    fn set_notice_index(&mut self, slots: &[HistorySlot], index: u64) {
        for (device_id, position) in slots {
            if let Some(entry) = self
                .devices
                .get_mut(device_id)
                .and_then(|d| d.history.get_mut(*position))
            {
                entry.notice_index = Some(index);
            }
        }
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
    ) -> Result<(), Rejection> {
        let header = *envelope.header();
        let device = self
            .devices
            .get(&header.device_id)
            .ok_or(Rejection::UnknownDevice)?;
        if device.status != DeviceStatus::Active {
            return Err(Rejection::RevokedDevice);
        }
        envelope.verify_signature(&device.key)?;
        if device
            .last_counter
            .is_some_and(|last| header.counter <= last)
        {
            return Err(Rejection::StaleCounter);
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

        let envelope_hash = envelope.hash();
        let Some(device) = self.devices.get_mut(&header.device_id) else {
            return Err(Rejection::UnknownDevice);
        };
        let model = device.model;
        for (offset, (reading, commitment)) in opened
            .readings
            .into_iter()
            .zip(opened.commitments)
            .enumerate()
        {
            let counter = header.counter.saturating_add(offset as u64);
            let previous_best = device.baseline;
            let reference_counter = match previous_best {
                Some((best_counter, best_odometer)) if reading.odometer_m < best_odometer => {
                    Some(best_counter)
                }
                _ => None,
            };
            let rollback = reference_counter.is_some();
            if !rollback {
                self.stats
                    .entry(model)
                    .or_default()
                    .record(header.device_id, &reading);
                device.baseline = Some((counter, reading.odometer_m));
            }
            device.history.push(HistoryEntry {
                input_index: batch.meta.input_index,
                block_timestamp: batch.meta.block_timestamp,
                notice_index: None,
                event: HistoryEvent::Reading(Box::new(ReadingRecord {
                    counter,
                    reading,
                    commitment,
                    envelope_hash,
                    rollback,
                    reference_counter,
                })),
            });
            let position = device.history.len() - 1;
            match reference_counter {
                Some(reference) => {
                    device.flagged = true;
                    batch.tamper_events += 1;
                    batch.extra_notices.push((
                        outputs::tamper_notice(
                            header.device_id,
                            counter,
                            reference,
                            batch.meta.input_index,
                            commitment,
                        ),
                        (header.device_id, position),
                    ));
                    batch.reports.push(Report::Tamper {
                        input_index: batch.meta.input_index,
                        device_id: header.device_id.to_hex(),
                        counter,
                        reference_counter: reference,
                    });
                }
                None => {
                    batch.attested.push(AttestedEntry {
                        device_id: header.device_id,
                        counter,
                        commitment,
                        envelope_hash,
                    });
                    batch.attested_slots.push((header.device_id, position));
                }
            }
        }
        device.last_counter = header.last_counter();
        Ok(())
    }

    fn apply_registrar(
        &mut self,
        batch: &mut Batch<'_>,
        message: &RegistrarMessage,
    ) -> Result<(), Rejection> {
        let registrar = self
            .registrars
            .get(&message.registrar)
            .ok_or(Rejection::UntrustedRegistrar)?;
        message.verify(self.config.backend_key.public_key())?;
        if registrar
            .last_sequence
            .is_some_and(|last| message.sequence <= last)
        {
            return Err(Rejection::StaleSequence);
        }
        let is_root = registrar.root;
        let entry = |event| HistoryEntry {
            input_index: batch.meta.input_index,
            block_timestamp: batch.meta.block_timestamp,
            notice_index: None,
            event,
        };
        match &message.action {
            RegistrarAction::RegisterDevice {
                device_id,
                model,
                public_key,
            } => {
                if self.devices.contains_key(device_id) {
                    return Err(Rejection::AlreadyRegistered);
                }
                self.devices.insert(
                    *device_id,
                    Device {
                        model: *model,
                        key: *public_key,
                        status: DeviceStatus::Active,
                        last_counter: None,
                        baseline: None,
                        flagged: false,
                        owner: None,
                        ownership_sequence: None,
                        history: vec![entry(HistoryEvent::Registered {
                            model: *model,
                            registrar: message.registrar.to_bytes(),
                        })],
                    },
                );
                self.stats.entry(*model).or_default().register(*device_id);
            }
            RegistrarAction::RevokeDevice { device_id, reason } => {
                let device = self
                    .devices
                    .get_mut(device_id)
                    .ok_or(Rejection::UnknownDevice)?;
                if device.status != DeviceStatus::Active {
                    return Err(Rejection::RevokedDevice);
                }
                device.status = DeviceStatus::Revoked {
                    reason: reason.clone(),
                };
                device.history.push(entry(HistoryEvent::Revoked {
                    reason: reason.clone(),
                }));
            }
            RegistrarAction::RotateKey { device_id, new_key } => {
                let device = self
                    .devices
                    .get_mut(device_id)
                    .ok_or(Rejection::UnknownDevice)?;
                if device.status != DeviceStatus::Active {
                    return Err(Rejection::RevokedDevice);
                }
                if device.key == *new_key {
                    return Err(Rejection::SameKey);
                }
                device.key = *new_key;
                device.history.push(entry(HistoryEvent::KeyRotated {
                    new_key: new_key.to_bytes(),
                }));
            }
            RegistrarAction::CorrectReading {
                device_id,
                counter,
                odometer_m,
                reason,
            } => {
                let device = self
                    .devices
                    .get_mut(device_id)
                    .ok_or(Rejection::UnknownDevice)?;
                if !device.readings().any(|(_, r)| r.counter == *counter) {
                    return Err(Rejection::UnknownCounter);
                }
                device.history.push(entry(HistoryEvent::Corrected {
                    counter: *counter,
                    odometer_m: *odometer_m,
                    reason: reason.clone(),
                    registrar: message.registrar.to_bytes(),
                }));
                // The corrected value of the latest reading becomes the new baseline (a
                // replaced instrument cluster, a mistyped value); the flag is cleared.
                let latest = device.readings().map(|(_, r)| r.counter).max();
                if latest == Some(*counter) {
                    device.baseline = Some((*counter, *odometer_m));
                }
                device.flagged = false;
                let position = device.history.len() - 1;
                batch.extra_notices.push((
                    outputs::correction_notice(
                        *device_id,
                        *counter,
                        message.registrar.to_bytes(),
                        batch.meta.input_index,
                    ),
                    (*device_id, position),
                ));
            }
            RegistrarAction::AddRegistrar { key } => {
                if !is_root {
                    return Err(Rejection::NotRootRegistrar);
                }
                self.registrars.entry(*key).or_insert(Registrar {
                    root: false,
                    last_sequence: None,
                });
            }
            RegistrarAction::RemoveRegistrar { key } => {
                if !is_root {
                    return Err(Rejection::NotRootRegistrar);
                }
                if self.registrars.get(key).is_some_and(|r| !r.root) {
                    self.registrars.remove(key);
                }
            }
        }
        if let Some(registrar) = self.registrars.get_mut(&message.registrar) {
            registrar.last_sequence = Some(message.sequence);
        }
        Ok(())
    }

    fn apply_ownership(
        &mut self,
        batch: &mut Batch<'_>,
        statement: &OwnershipStatement,
    ) -> Result<(), Rejection> {
        let backend_key = self.config.backend_key.public_key().clone();
        let device = self
            .devices
            .get_mut(&statement.device_id)
            .ok_or(Rejection::UnknownDevice)?;
        if device.status != DeviceStatus::Active {
            return Err(Rejection::RevokedDevice);
        }
        statement.verify_device(&device.key, &backend_key)?;
        if device
            .ownership_sequence
            .is_some_and(|last| statement.sequence <= last)
        {
            return Err(Rejection::StaleSequence);
        }
        let consented = match (&statement.release, &device.owner) {
            (Some(_), Some(previous)) => {
                statement
                    .verify_release(previous, &backend_key)
                    .map_err(|_| Rejection::BadRelease)?;
                true
            }
            (Some(_), None) => return Err(Rejection::BadRelease),
            (None, _) => false,
        };
        device.owner = Some(statement.owner);
        device.ownership_sequence = Some(statement.sequence);
        device.history.push(HistoryEntry {
            input_index: batch.meta.input_index,
            block_timestamp: batch.meta.block_timestamp,
            notice_index: None,
            event: HistoryEvent::OwnerChanged {
                sequence: statement.sequence,
                consented_by_previous_owner: consented,
            },
        });
        Ok(())
    }
}

fn message_subject(message: &Message) -> (Option<DeviceId>, Option<u64>) {
    match message {
        Message::Envelope(envelope) => (
            Some(envelope.header().device_id),
            Some(envelope.header().counter),
        ),
        Message::Registrar(message) => (message.action.device_id(), None),
        Message::Ownership(statement) => (Some(statement.device_id), Some(statement.sequence)),
        Message::GatewayAuthorization(_) => (None, None),
    }
}
