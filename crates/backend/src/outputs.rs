//! Report payloads (JSON, public: they name what happened, never a reading's value). The
//! notices are binary and defined in `witness_protocol::notice`.

pub use witness_protocol::api::Report;

/// The report's JSON bytes.
pub(crate) fn report_bytes(report: &Report) -> Vec<u8> {
    serde_json::to_vec(report).unwrap_or_default()
}
