//! The state root: SHA-256 over a canonical serialization of the whole state, in key
//! order, so two replays of the same inputs can be compared by one hash.

use sha2::{Digest as _, Sha256};
use witness_protocol::codec::Writer;

use crate::state::{DeviceStatus, HistoryEvent, State};

fn opt_u64(w: &mut Writer, value: Option<u64>) {
    match value {
        Some(v) => w.u8(1).u64(v),
        None => w.u8(0),
    };
}

/// The state root.
pub fn state_root(state: &State) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut w = Writer::with_capacity(4096);
    w.bytes(b"witness/v1/state");
    w.bytes(&state.config.admin)
        .bytes(&state.config.backend_key.public_key().to_bytes());
    w.u64(state.processed_inputs)
        .u64(state.next_output_index)
        .u64(state.last_block_timestamp);
    w.u64(state.gateways.len() as u64);
    for gateway in &state.gateways {
        w.bytes(gateway);
    }
    w.u64(state.registrars.len() as u64);
    for (key, registrar) in &state.registrars {
        w.bytes(&key.to_bytes()).u8(u8::from(registrar.root));
        opt_u64(&mut w, registrar.last_sequence);
    }
    w.u64(state.devices.len() as u64);
    for (id, device) in &state.devices {
        w.bytes(&id.0)
            .u32(device.model.0)
            .bytes(&device.key.to_bytes());
        match &device.status {
            DeviceStatus::Active => w.u8(0),
            DeviceStatus::Revoked { reason } => w.u8(1).var_bytes(reason.as_bytes()),
        };
        opt_u64(&mut w, device.last_counter);
        opt_u64(&mut w, device.baseline.map(|b| b.0));
        opt_u64(&mut w, device.baseline.map(|b| b.1));
        w.u8(u8::from(device.flagged));
        w.bytes(&device.owner.map(|k| k.to_bytes()).unwrap_or([0; 32]));
        opt_u64(&mut w, device.ownership_sequence);
        w.u64(device.history.len() as u64);
        for entry in &device.history {
            w.u64(entry.input_index).u64(entry.block_timestamp);
            opt_u64(&mut w, entry.notice_index);
            match &entry.event {
                HistoryEvent::Registered { model, registrar } => {
                    w.u8(1).u32(model.0).bytes(registrar);
                }
                HistoryEvent::Reading(record) => {
                    w.u8(2)
                        .u64(record.counter)
                        .bytes(&record.commitment.0)
                        .bytes(&record.envelope_hash);
                    w.u8(u8::from(record.rollback));
                    opt_u64(&mut w, record.reference_counter);
                    // Only encodable readings are ever stored (they came off the wire).
                    let _ = record.reading.encode_standalone(&mut w);
                }
                HistoryEvent::Corrected {
                    counter,
                    odometer_m,
                    reason,
                    registrar,
                } => {
                    w.u8(3)
                        .u64(*counter)
                        .u64(*odometer_m)
                        .var_bytes(reason.as_bytes());
                    w.bytes(registrar);
                }
                HistoryEvent::KeyRotated { new_key } => {
                    w.u8(4).bytes(new_key);
                }
                HistoryEvent::Revoked { reason } => {
                    w.u8(5).var_bytes(reason.as_bytes());
                }
                HistoryEvent::OwnerChanged {
                    sequence,
                    consented_by_previous_owner,
                } => {
                    w.u8(6)
                        .u64(*sequence)
                        .u8(u8::from(*consented_by_previous_owner));
                }
            }
        }
        // Flush per device to keep the buffer small.
        hasher.update(std::mem::take(&mut w).finish());
    }
    hasher.update(w.finish());
    hasher.finalize().into()
}
