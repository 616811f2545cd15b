//! Notice payloads (binary, so they are cheap to prove on L1) and report payloads (JSON).
//! Neither ever carries a reading's value.

use serde::Serialize;
use witness_protocol::{Commitment, DeviceId, codec::Writer};

/// Notice kind: the readings an input attested.
pub const NOTICE_ATTESTATION: u8 = 1;
/// Notice kind: a rollback was detected.
pub const NOTICE_TAMPER: u8 = 2;
/// Notice kind: a registrar corrected a reading.
pub const NOTICE_CORRECTION: u8 = 3;
/// Notice format version.
pub const NOTICE_VERSION: u8 = 1;

/// One attested reading inside an attestation notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedEntry {
    /// The device.
    pub device_id: DeviceId,
    /// The reading's counter.
    pub counter: u64,
    /// Hiding commitment to the reading.
    pub commitment: Commitment,
    /// SHA-256 of the envelope that carried it.
    pub envelope_hash: [u8; 32],
}

/// `version u8 | kind u8 = 1 | input_index u64 | block_timestamp u64 | count u32 |
/// count × (device_id 16 | counter u64 | commitment 32 | envelope_hash 32)`.
pub fn attestation_notice(
    input_index: u64,
    block_timestamp: u64,
    entries: &[AttestedEntry],
) -> Vec<u8> {
    let mut w = Writer::with_capacity(22 + entries.len() * 88);
    w.u8(NOTICE_VERSION)
        .u8(NOTICE_ATTESTATION)
        .u64(input_index)
        .u64(block_timestamp);
    w.u32(entries.len() as u32);
    for entry in entries {
        w.bytes(&entry.device_id.0)
            .u64(entry.counter)
            .bytes(&entry.commitment.0)
            .bytes(&entry.envelope_hash);
    }
    w.finish()
}

/// `version u8 | kind u8 = 2 | device_id 16 | counter u64 | reference_counter u64 |
/// input_index u64 | commitment 32`: the reading at `counter` reads lower than the reading
/// at `reference_counter`. The values stay private; the commitment lets the device prove
/// them later.
pub fn tamper_notice(
    device_id: DeviceId,
    counter: u64,
    reference_counter: u64,
    input_index: u64,
    commitment: Commitment,
) -> Vec<u8> {
    let mut w = Writer::with_capacity(74);
    w.u8(NOTICE_VERSION)
        .u8(NOTICE_TAMPER)
        .bytes(&device_id.0)
        .u64(counter)
        .u64(reference_counter);
    w.u64(input_index).bytes(&commitment.0);
    w.finish()
}

/// `version u8 | kind u8 = 3 | device_id 16 | counter u64 | registrar 32 | input_index u64`.
pub fn correction_notice(
    device_id: DeviceId,
    counter: u64,
    registrar: [u8; 32],
    input_index: u64,
) -> Vec<u8> {
    let mut w = Writer::with_capacity(66);
    w.u8(NOTICE_VERSION)
        .u8(NOTICE_CORRECTION)
        .bytes(&device_id.0)
        .u64(counter)
        .bytes(&registrar);
    w.u64(input_index);
    w.finish()
}

/// A JSON report. Public: it names what happened, never a reading's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Report {
    /// The whole input was refused (`reject`).
    InputRejected {
        input_index: u64,
        reason: &'static str,
        detail: String,
    },
    /// One message of an input was refused; the others proceeded.
    MessageRejected {
        input_index: u64,
        message_index: usize,
        reason: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        device_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        counter: Option<u64>,
    },
    /// A rollback was recorded.
    Tamper {
        input_index: u64,
        device_id: String,
        counter: u64,
        reference_counter: u64,
    },
    /// Summary of an accepted input.
    InputAccepted {
        input_index: u64,
        readings_attested: usize,
        tamper_events: usize,
        messages_rejected: usize,
        acts_applied: usize,
    },
}

impl Report {
    /// The report's JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
