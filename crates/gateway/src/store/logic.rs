//! The decisions of the store's writes. The store loads the rows a write touches (inside its
//! transaction), these functions decide what to do, and the store applies the returned
//! [`Effect`]s before committing.

use std::collections::{HashMap, HashSet};

use witness_protocol::{
    Consent, CounterStep, DeviceId, Domain, MAX_COUNTER_GAP, OwnerObjection, OwnershipStatement,
    PublicKey, RegistrarAction, RegistrarMessage,
};

use super::{DeviceRow, Receipt, ReceiptStatus, kind};
use crate::error::{GatewayError, Result};

/// One verified envelope of an intake request.
#[derive(Debug, Clone)]
pub struct IntakeEnvelope {
    /// SHA-256 of the envelope.
    pub hash: [u8; 32],
    /// Its device.
    pub device_id: DeviceId,
    /// The device key its signature was verified with.
    pub key: [u8; 32],
    /// First counter.
    pub counter: u64,
    /// Last counter.
    pub last_counter: u64,
    /// Number of readings it carries.
    pub readings: u32,
    /// The encoded rollup message (kind byte + envelope).
    pub body: Vec<u8>,
}

/// What one committed intake job produced.
#[derive(Debug, Clone, Default)]
pub struct JobOutcome {
    /// One receipt per envelope of the request, in order.
    pub receipts: Vec<Receipt>,
    /// Envelopes stored by this job (the others were already stored).
    pub new_envelopes: usize,
    /// Readings in those envelopes.
    pub new_readings: u64,
}

/// One intake request: committed entirely or not at all.
#[derive(Debug, Clone, Default)]
pub struct IntakeJob {
    /// Its envelopes, in request order.
    pub envelopes: Vec<IntakeEnvelope>,
}

impl IntakeJob {
    /// The devices the job touches.
    pub fn device_ids(&self) -> impl Iterator<Item = DeviceId> + '_ {
        self.envelopes.iter().map(|e| e.device_id)
    }
}

/// What intake needs to know about a device, loaded (and locked) in the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceState {
    pub key: [u8; 32],
    pub active: bool,
    pub last_counter: Option<u64>,
}

/// A row to append to the outbox.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub kind: i64,
    pub hash: [u8; 32],
    pub device_id: Option<DeviceId>,
    pub counter: Option<u64>,
    pub body: Vec<u8>,
    pub received_at: i64,
}

impl NewMessage {
    pub(crate) fn pending_receipt(&self) -> Receipt {
        Receipt {
            envelope_hash: hex::encode(self.hash),
            status: ReceiptStatus::Pending,
            kind: super::kind_name(self.kind),
            device_id: self.device_id.map(|d| d.to_hex()),
            counter: self.counter,
            received_at: self.received_at,
            tx_hash: None,
            input_index: None,
            block_number: None,
            message_index: None,
            reason: None,
            input_refusals: 0,
            last_input_refusal: None,
        }
    }
}

/// A change to apply in the transaction.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    InsertDevice {
        id: DeviceId,
        model: u32,
        key: [u8; 32],
        registered_by: i64,
        now: i64,
    },
    SetDeviceActive {
        id: DeviceId,
        active: bool,
    },
    SetDeviceKey {
        id: DeviceId,
        key: [u8; 32],
    },
    SetRegistrarSequence {
        key: [u8; 32],
        sequence: u64,
    },
    SetOwner {
        id: DeviceId,
        account: i64,
        key: [u8; 32],
        sequence: u64,
    },
    InsertMessage(NewMessage),
}

/// The intake jobs of one group commit.
#[derive(Debug)]
pub(crate) struct IntakeGroup {
    devices: HashMap<DeviceId, DeviceState>,
    /// Hashes added by earlier jobs of this group → row position.
    new: HashMap<[u8; 32], usize>,
    rows: Vec<NewMessage>,
    changed: HashSet<DeviceId>,
    now: i64,
}

/// The first pass over a job.
enum Pass {
    /// Hashes of envelopes whose counter is not fresh: duplicates or replays; the store
    /// looks them up.
    NeedsLookup(Vec<[u8; 32]>),
    /// The job's outcome.
    Done(Result<(JobOutcome, Vec<NewMessage>, HashMap<DeviceId, u64>)>),
}

impl IntakeGroup {
    pub(crate) fn new(devices: HashMap<DeviceId, DeviceState>, now: i64) -> Self {
        Self {
            devices,
            new: HashMap::new(),
            rows: Vec::new(),
            changed: HashSet::new(),
            now,
        }
    }

    /// Hashes of the job to look up in the database (may be empty).
    pub(crate) fn lookups(&self, job: &IntakeJob) -> Vec<[u8; 32]> {
        match self.pass(job, None) {
            Pass::NeedsLookup(hashes) => hashes,
            Pass::Done(_) => Vec::new(),
        }
    }

    /// Decides the job given the receipts of its looked-up hashes that exist; on success its
    /// rows join the group.
    pub(crate) fn finish(
        &mut self,
        job: &IntakeJob,
        existing: &HashMap<[u8; 32], Receipt>,
    ) -> Result<JobOutcome> {
        match self.pass(job, Some(existing)) {
            Pass::NeedsLookup(_) => Err(GatewayError::Internal(
                "intake lookup pass did not settle".into(),
            )),
            Pass::Done(Err(e)) => Err(e),
            Pass::Done(Ok((outcome, rows, counters))) => {
                for row in rows {
                    self.new.insert(row.hash, self.rows.len());
                    self.rows.push(row);
                }
                for (id, counter) in counters {
                    if let Some(state) = self.devices.get_mut(&id) {
                        state.last_counter = Some(counter);
                    }
                    self.changed.insert(id);
                }
                Ok(outcome)
            }
        }
    }

    fn pass(&self, job: &IntakeJob, existing: Option<&HashMap<[u8; 32], Receipt>>) -> Pass {
        let mut counters: HashMap<DeviceId, u64> = HashMap::new();
        let mut job_new: HashMap<[u8; 32], usize> = HashMap::new();
        let mut rows: Vec<NewMessage> = Vec::new();
        let mut receipts = Vec::with_capacity(job.envelopes.len());
        let mut lookups = Vec::new();
        let mut new_readings = 0u64;
        let error = 'scan: {
            for (index, envelope) in job.envelopes.iter().enumerate() {
                if let Some(&row) = job_new.get(&envelope.hash) {
                    if let Some(row) = rows.get(row) {
                        receipts.push(row.pending_receipt());
                    }
                    continue;
                }
                if let Some(&row) = self.new.get(&envelope.hash) {
                    receipts.push(self.rows[row].pending_receipt());
                    continue;
                }
                let device_id = envelope.device_id;
                let Some(state) = self.devices.get(&device_id) else {
                    break 'scan Some(GatewayError::UnknownDevice {
                        index,
                        device_id: device_id.to_hex(),
                    });
                };
                let last = counters.get(&device_id).copied().or(state.last_counter);
                if CounterStep::of(last, envelope.counter) == CounterStep::Jump {
                    // The backend would refuse it (PROTOCOL.md 6.2): not worth its gas.
                    break 'scan Some(GatewayError::Conflict {
                        code: "counter_jump",
                        message: format!(
                            "item {index}: device {device_id} counter {} skips more than \
                             {MAX_COUNTER_GAP} counters past the last accepted one",
                            envelope.counter
                        ),
                        index: Some(index),
                    });
                }
                if last.is_none_or(|last| envelope.counter > last) {
                    if !state.active {
                        break 'scan Some(GatewayError::DeviceRevoked {
                            index,
                            device_id: device_id.to_hex(),
                        });
                    }
                    if state.key != envelope.key {
                        // The key was rotated between verification and commit.
                        break 'scan Some(GatewayError::BadSignature {
                            index,
                            signer: "device",
                        });
                    }
                    counters.insert(device_id, envelope.last_counter);
                    new_readings += u64::from(envelope.readings);
                    job_new.insert(envelope.hash, rows.len());
                    if existing.is_none() {
                        // The lookup pass only needs counters and hashes.
                        continue;
                    }
                    let row = NewMessage {
                        kind: kind::ENVELOPE,
                        hash: envelope.hash,
                        device_id: Some(device_id),
                        counter: Some(envelope.counter),
                        body: envelope.body.clone(),
                        received_at: self.now,
                    };
                    receipts.push(row.pending_receipt());
                    rows.push(row);
                    continue;
                }
                // Not fresh: the same envelope again (idempotent) or a replay.
                match existing {
                    None => lookups.push(envelope.hash),
                    Some(found) => match found.get(&envelope.hash) {
                        Some(receipt) => receipts.push(receipt.clone()),
                        None => {
                            break 'scan Some(GatewayError::Replay {
                                index,
                                device_id: device_id.to_hex(),
                                counter: envelope.counter,
                                last: last.unwrap_or_default(),
                            });
                        }
                    },
                }
            }
            None
        };
        // Errors are only final once earlier stale envelopes were looked up, so that the
        // first offending item is reported.
        if existing.is_none() && !lookups.is_empty() {
            return Pass::NeedsLookup(lookups);
        }
        match error {
            Some(error) => Pass::Done(Err(error)),
            None => Pass::Done(Ok((
                JobOutcome {
                    receipts,
                    new_envelopes: rows.len(),
                    new_readings,
                },
                rows,
                counters,
            ))),
        }
    }

    /// The group's effects: new outbox rows, then the devices' new last counters.
    pub(crate) fn into_effects(self) -> (Vec<NewMessage>, Vec<(DeviceId, u64)>) {
        let counters = self
            .changed
            .iter()
            .filter_map(|id| {
                self.devices
                    .get(id)
                    .and_then(|s| s.last_counter)
                    .map(|c| (*id, c))
            })
            .collect();
        (self.rows, counters)
    }
}

/// A verified registrar message to record.
#[derive(Debug, Clone)]
pub struct RegistrarItem {
    /// SHA-256 of the encoded message (kind byte included).
    pub hash: [u8; 32],
    /// The message.
    pub message: RegistrarMessage,
    /// The encoded rollup message (kind byte + registrar message).
    pub body: Vec<u8>,
}

/// What a registrar write needs: rows loaded in the transaction.
#[derive(Debug, Default)]
pub(crate) struct RegistrarContext {
    pub devices: HashMap<DeviceId, DeviceRow>,
    pub sequences: HashMap<[u8; 32], u64>,
    pub existing: HashMap<[u8; 32], Receipt>,
}

impl RegistrarItem {
    pub(crate) fn device_id(&self) -> Option<DeviceId> {
        self.message.action.device_id()
    }

    pub(crate) fn registrar_key(&self) -> [u8; 32] {
        self.message.registrar.to_bytes()
    }
}

#[derive(Debug, Clone, Copy)]
struct DeviceView {
    exists: bool,
    key: [u8; 32],
    model: u32,
}

/// Records a registration of `(id, model, key)` in `devices` and `effects`, or refuses one
/// the gateway already knows.
fn register(
    devices: &mut HashMap<DeviceId, DeviceView>,
    effects: &mut Vec<Effect>,
    index: usize,
    (device_id, model, key): (DeviceId, u32, [u8; 32]),
    account_id: i64,
    now: i64,
) -> Result<()> {
    if let Some(view) = devices.get(&device_id).filter(|v| v.exists) {
        let same = view.key == key && view.model == model;
        return Err(GatewayError::Conflict {
            code: "already_registered",
            message: format!(
                "item {index}: device {device_id} is already registered{}",
                if same {
                    " with this key"
                } else {
                    " with another key"
                }
            ),
            index: Some(index),
        });
    }
    devices.insert(
        device_id,
        DeviceView {
            exists: true,
            key,
            model,
        },
    );
    effects.push(Effect::InsertDevice {
        id: device_id,
        model,
        key,
        registered_by: account_id,
        now,
    });
    Ok(())
}

/// Decides a registrar request (all or nothing).
pub(crate) fn decide_registrar(
    account_id: i64,
    items: &[RegistrarItem],
    context: &RegistrarContext,
    now: i64,
) -> Result<(Vec<Effect>, Vec<Receipt>)> {
    let mut effects = Vec::new();
    let mut receipts = Vec::with_capacity(items.len());
    let mut sequences = context.sequences.clone();
    let mut devices: HashMap<DeviceId, DeviceView> = context
        .devices
        .iter()
        .map(|(id, d)| {
            (
                *id,
                DeviceView {
                    exists: true,
                    key: d.public_key,
                    model: d.model,
                },
            )
        })
        .collect();
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        if let Some(receipt) = context.existing.get(&item.hash) {
            receipts.push(receipt.clone());
            continue;
        }
        if !seen.insert(item.hash) {
            return Err(GatewayError::InvalidRequest(format!(
                "item {index}: the same message appears twice in the request"
            )));
        }
        let registrar = item.registrar_key();
        if let Some(&last) = sequences.get(&registrar)
            && item.message.sequence <= last
        {
            return Err(GatewayError::Conflict {
                code: "stale_sequence",
                message: format!(
                    "item {index}: registrar sequence {} is not above the last relayed {last}",
                    item.message.sequence
                ),
                index: Some(index),
            });
        }
        sequences.insert(registrar, item.message.sequence);
        effects.push(Effect::SetRegistrarSequence {
            key: registrar,
            sequence: item.message.sequence,
        });
        match &item.message.action {
            RegistrarAction::RegisterDevice {
                device_id,
                model,
                public_key,
                ..
            } => register(
                &mut devices,
                &mut effects,
                index,
                (*device_id, model.0, public_key.to_bytes()),
                account_id,
                now,
            )?,
            // The new unit is registered; the old one takes no more readings.
            RegistrarAction::ReplaceUnit {
                old_device,
                new_device,
                model,
                public_key,
                ..
            } => {
                register(
                    &mut devices,
                    &mut effects,
                    index,
                    (*new_device, model.0, public_key.to_bytes()),
                    account_id,
                    now,
                )?;
                if devices.get(old_device).is_some_and(|v| v.exists) {
                    effects.push(Effect::SetDeviceActive {
                        id: *old_device,
                        active: false,
                    });
                }
            }
            RegistrarAction::RevokeDevice { device_id, .. }
            | RegistrarAction::ReinstateDevice { device_id, .. } => {
                if devices.get(device_id).is_some_and(|v| v.exists) {
                    effects.push(Effect::SetDeviceActive {
                        id: *device_id,
                        active: matches!(
                            item.message.action,
                            RegistrarAction::ReinstateDevice { .. }
                        ),
                    });
                }
            }
            RegistrarAction::RotateKey { device_id, new_key } => {
                if let Some(view) = devices.get_mut(device_id).filter(|v| v.exists) {
                    view.key = new_key.to_bytes();
                    effects.push(Effect::SetDeviceKey {
                        id: *device_id,
                        key: new_key.to_bytes(),
                    });
                }
            }
            // A recovery changes the owner only after its delay, on the rollup's word.
            RegistrarAction::Correct(_)
            | RegistrarAction::RecoverOwner { .. }
            | RegistrarAction::AddRegistrar { .. }
            | RegistrarAction::RemoveRegistrar { .. } => {}
        }
        let row = NewMessage {
            kind: kind::REGISTRAR,
            hash: item.hash,
            device_id: item.device_id(),
            counter: None,
            body: item.body.clone(),
            received_at: now,
        };
        receipts.push(row.pending_receipt());
        effects.push(Effect::InsertMessage(row));
    }
    Ok((effects, receipts))
}

/// An owner's objection to relay, its signature checked.
#[derive(Debug, Clone)]
pub struct ObjectionItem {
    /// SHA-256 of the encoded message (kind byte included).
    pub hash: [u8; 32],
    /// The objection.
    pub objection: OwnerObjection,
    /// The encoded rollup message.
    pub body: Vec<u8>,
}

/// Decides an objection against the device row: relayed once (the same objection again
/// answers its receipt), refused when the gateway knows another owner.
pub(crate) fn decide_objection(
    item: &ObjectionItem,
    device: Option<&DeviceRow>,
    existing: Option<Receipt>,
    now: i64,
) -> Result<(Vec<Effect>, Receipt)> {
    let id = item.objection.device_id;
    let Some(device) = device else {
        return Err(GatewayError::NotFound(format!(
            "device {id} is not registered at this gateway"
        )));
    };
    if let Some(receipt) = existing {
        return Ok((Vec::new(), receipt));
    }
    if device
        .owner_key
        .is_some_and(|owner| owner != item.objection.owner.to_bytes())
    {
        return Err(GatewayError::conflict(
            "not_owner",
            "the objection is signed by a key that is not the device's owner",
        ));
    }
    let row = NewMessage {
        kind: kind::OBJECTION,
        hash: item.hash,
        device_id: Some(id),
        counter: None,
        body: item.body.clone(),
        received_at: now,
    };
    let receipt = row.pending_receipt();
    Ok((vec![Effect::InsertMessage(row)], receipt))
}

/// A decoded ownership statement to record.
#[derive(Debug, Clone)]
pub struct ClaimItem {
    /// SHA-256 of the encoded message (kind byte included).
    pub hash: [u8; 32],
    /// The statement.
    pub statement: OwnershipStatement,
    /// The encoded rollup message.
    pub body: Vec<u8>,
    /// The deployment the signatures cover.
    pub domain: Domain,
}

/// Decides a claim against the (locked) device row.
pub(crate) fn decide_claim(
    account_id: i64,
    item: &ClaimItem,
    device: Option<&DeviceRow>,
    existing: Option<Receipt>,
    now: i64,
) -> Result<(Vec<Effect>, Receipt)> {
    let statement = &item.statement;
    let Some(device) = device else {
        return Err(GatewayError::NotFound(format!(
            "device {} is not registered at this gateway",
            statement.device_id
        )));
    };
    if let Some(receipt) = existing {
        if device.owner_account == Some(account_id) {
            return Ok((Vec::new(), receipt));
        }
        return Err(GatewayError::conflict(
            "already_claimed",
            "this ownership statement was already relayed for another account",
        ));
    }
    if !device.active {
        return Err(GatewayError::DeviceRevoked {
            index: 0,
            device_id: statement.device_id.to_hex(),
        });
    }
    let device_key = PublicKey::from_bytes(&device.public_key)
        .map_err(|e| GatewayError::Database(format!("stored device key: {e}")))?;
    statement
        .verify_device(&device_key, &item.domain)
        .map_err(|_| GatewayError::BadSignature {
            index: 0,
            signer: "device",
        })?;
    if let Some(last) = device.owner_sequence
        && statement.sequence <= last
    {
        return Err(GatewayError::conflict(
            "stale_sequence",
            format!(
                "ownership sequence {} is not above the device's last {last}",
                statement.sequence
            ),
        ));
    }
    // The rollup's rule (PROTOCOL.md 15.1): a device with an owner passes on only with that
    // owner's release; the gateway checks it against the owner it knows.
    match (&statement.consent, device.owner_key) {
        (Consent::FirstPairing, None) | (Consent::Release(_), None) => {}
        (Consent::FirstPairing, Some(_)) => {
            return Err(GatewayError::conflict(
                "release_required",
                "the device has an owner: a new owner needs the owner's release (a transfer code)",
            ));
        }
        (Consent::Release(release), Some(owner)) => {
            let owner = PublicKey::from_bytes(&owner)
                .map_err(|e| GatewayError::Database(format!("stored owner key: {e}")))?;
            release
                .verify(
                    &owner,
                    &item.domain,
                    statement.device_id,
                    device.owner_sequence.unwrap_or(0),
                )
                .map_err(|_| GatewayError::BadSignature {
                    index: 0,
                    signer: "owner's release",
                })?;
            if super::expired(release.expires_at, now) {
                return Err(GatewayError::conflict(
                    "release_expired",
                    format!("the release expired at {}", release.expires_at),
                ));
            }
        }
    }
    let row = NewMessage {
        kind: kind::OWNERSHIP,
        hash: item.hash,
        device_id: Some(statement.device_id),
        counter: None,
        body: item.body.clone(),
        received_at: now,
    };
    let receipt = row.pending_receipt();
    Ok((
        vec![
            Effect::SetOwner {
                id: statement.device_id,
                account: account_id,
                key: statement.owner.to_bytes(),
                sequence: statement.sequence,
            },
            Effect::InsertMessage(row),
        ],
        receipt,
    ))
}

/// A pending message other than an envelope, as the submitter reads the outbox while it holds
/// envelopes back (the rollup does not authorize the gateway to send them).
#[derive(Debug, Clone)]
pub(crate) struct PendingStatement {
    pub id: i64,
    /// The encoded rollup message (kind byte first).
    pub body: Vec<u8>,
    pub received_at: i64,
    pub device_id: Option<DeviceId>,
    /// A pending envelope of the same device was acknowledged before it.
    pub behind_envelope: bool,
}

/// Which pending statements may go ahead of held envelopes, decided in acknowledgement order,
/// such that the rollup makes of every message what it would have made of it in order:
///
/// - a device's messages keep their order: a statement behind a held envelope of its device
///   is held (a rotation, revocation, correction or ownership change applied before earlier
///   readings would refuse them, correct a counter not yet consumed, or put a seller's
///   readings in the buyer's era), and so is every later statement of that device;
/// - a registrar's messages keep their order (their sequences must increase): once one is
///   held, the registrar's later messages are held;
/// - a change of the registrar set (add or remove a registrar) keeps its place among
///   everything held before it (removing a registrar ahead of its held messages would make
///   the rollup refuse them);
/// - a statement that does not decode is held (it cannot be placed).
#[derive(Debug, Default)]
pub(crate) struct Overtaking {
    devices: HashSet<DeviceId>,
    registrars: HashSet<[u8; 32]>,
    held_any: bool,
}

impl Overtaking {
    /// Whether `statement`, the next pending statement in acknowledgement order, may be sent
    /// now; a held one holds whatever must stay behind it.
    pub(crate) fn may_pass(&mut self, statement: &PendingStatement) -> bool {
        let message = witness_protocol::Message::read(&mut witness_protocol::codec::Reader::new(
            &statement.body,
        ));
        let (registrar, registrar_set, replacement) = match &message {
            Ok(witness_protocol::Message::Registrar(m)) => (
                Some(m.registrar.to_bytes()),
                matches!(
                    m.action,
                    RegistrarAction::AddRegistrar { .. } | RegistrarAction::RemoveRegistrar { .. }
                ),
                matches!(m.action, RegistrarAction::ReplaceUnit { .. }),
            ),
            _ => (None, false, false),
        };
        // A replacement retires the old unit: its readings acknowledged before must reach the
        // rollup first, and they are among the held envelopes, so it waits for them.
        let held = message.is_err()
            || replacement
            || statement.behind_envelope
            || statement
                .device_id
                .is_some_and(|d| self.devices.contains(&d))
            || registrar.is_some_and(|r| self.registrars.contains(&r))
            || (registrar_set && self.held_any);
        if held {
            self.held_any = true;
            self.devices.extend(statement.device_id);
            self.registrars.extend(registrar);
        }
        !held
    }
}

#[cfg(test)]
mod tests {
    use witness_protocol::{ModelId, SigningKey};

    use super::*;

    fn registrar_statement(
        id: i64,
        key: &SigningKey,
        sequence: u64,
        action: RegistrarAction,
        behind_envelope: bool,
    ) -> PendingStatement {
        let backend = witness_protocol::BackendSecretKey::from_bytes(&[7; 32]).unwrap();
        let domain = witness_protocol::fixture::domain(backend.public_key());
        let device_id = action.device_id();
        let message = RegistrarMessage::sign(key, &domain, sequence, action).unwrap();
        let mut body = vec![witness_protocol::kind::REGISTRAR];
        body.extend(message.encode().unwrap());
        PendingStatement {
            id,
            body,
            received_at: 0,
            device_id,
            behind_envelope,
        }
    }

    fn register(device: u8, key: &SigningKey) -> RegistrarAction {
        RegistrarAction::RegisterDevice {
            device_id: DeviceId([device; 16]),
            model: ModelId(1),
            public_key: key.public_key(),
            vehicle: witness_protocol::VehicleId([device; 32]),
        }
    }

    /// Statements pass held envelopes unless a device's, a registrar's or the registrar set's
    /// order would change.
    #[test]
    fn statements_overtake_held_envelopes_only_where_order_does_not_matter() {
        let r1 = SigningKey::from_seed(&[1; 32]);
        let r2 = SigningKey::from_seed(&[2; 32]);
        let r3 = SigningKey::from_seed(&[4; 32]);
        let device_key = SigningKey::from_seed(&[3; 32]);
        let rotate = |device: u8| RegistrarAction::RotateKey {
            device_id: DeviceId([device; 16]),
            new_key: SigningKey::from_seed(&[device; 32]).public_key(),
        };
        let cases = [
            // A registration of a new device passes.
            (
                registrar_statement(1, &r1, 1, register(1, &device_key), false),
                true,
            ),
            // A rotation behind a held envelope of its device waits,
            (registrar_statement(2, &r2, 1, rotate(2), true), false),
            // and so does its registrar's next message, of another device,
            (
                registrar_statement(3, &r2, 2, register(3, &device_key), false),
                false,
            ),
            // and a later message of the held device by another registrar (which holds that
            // registrar's later messages too).
            (registrar_statement(4, &r1, 2, rotate(3), false), false),
            (
                registrar_statement(5, &r1, 3, register(6, &device_key), false),
                false,
            ),
            // A third registrar's message of another device passes.
            (
                registrar_statement(5, &r3, 1, register(5, &device_key), false),
                true,
            ),
            // A change of the registrar set waits behind what is held.
            (
                registrar_statement(
                    6,
                    &r3,
                    2,
                    RegistrarAction::RemoveRegistrar {
                        key: r2.public_key(),
                    },
                    false,
                ),
                false,
            ),
        ];
        let mut overtaking = Overtaking::default();
        for (statement, passes) in &cases {
            assert_eq!(
                overtaking.may_pass(statement),
                *passes,
                "statement {}",
                statement.id
            );
        }
        // Nothing held yet: a change of the registrar set passes; garbage does not.
        let mut fresh = Overtaking::default();
        let add = registrar_statement(
            7,
            &r1,
            5,
            RegistrarAction::AddRegistrar {
                key: r2.public_key(),
            },
            false,
        );
        assert!(fresh.may_pass(&add));
        // A replacement waits for the held envelopes (its old unit's among them).
        let replace = registrar_statement(
            8,
            &r2,
            9,
            RegistrarAction::ReplaceUnit {
                vehicle: witness_protocol::VehicleId([3; 32]),
                old_device: DeviceId([1; 16]),
                new_device: DeviceId([2; 16]),
                model: ModelId(1),
                public_key: r1.public_key(),
                baseline_m: 0,
            },
            false,
        );
        assert!(!Overtaking::default().may_pass(&replace));
        let garbage = PendingStatement {
            body: vec![witness_protocol::kind::REGISTRAR, 0],
            ..add.clone()
        };
        assert!(!fresh.may_pass(&garbage));
    }
}
