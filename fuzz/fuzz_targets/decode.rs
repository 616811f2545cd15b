//! Every decoder a stranger can reach takes arbitrary bytes without panicking, and whatever
//! decodes re-encodes to the same bytes (canonical encoding): rollup inputs (with every
//! signed statement they carry), envelopes, possession proofs, owner queries, openings, the
//! state and history notices, device leaves and map proofs, certificates (binary, and every
//! form `from_any` accepts) and their offline verification, fault codes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness_protocol::certificate::{self, Certificate};
use witness_protocol::notice::{HistoryNotice, StateNotice};
use witness_protocol::state::{DeviceLeaf, MapProof};
use witness_protocol::{
    Envelope, FaultCode, Opening, OwnerQuery, PossessionProof, RollupInput, unpack_readings,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = RollupInput::decode(data) {
        assert_eq!(input.encode().as_deref(), Ok(data));
    }
    if let Ok(envelope) = Envelope::decode(data) {
        assert_eq!(envelope.as_bytes(), data);
    }
    if let Ok(proof) = PossessionProof::decode(data) {
        assert_eq!(proof.encode().as_deref(), Ok(data));
    }
    if let Ok(query) = OwnerQuery::decode(data) {
        assert_eq!(query.encode(), data);
    }
    if let Ok(opening) = Opening::decode(data) {
        assert_eq!(opening.encode().as_deref(), Ok(data));
    }
    if let Ok(notice) = StateNotice::decode(data) {
        assert_eq!(notice.encode(), data);
    }
    if let Ok(notice) = HistoryNotice::decode(data) {
        assert_eq!(notice.encode(), data);
    }
    let _ = HistoryNotice::decode_opened(data);
    if let Ok(leaf) = DeviceLeaf::decode(data) {
        assert_eq!(&leaf.encode()[..], data);
    }
    if let Ok(proof) = MapProof::decode(data) {
        assert_eq!(proof.encode(), data);
    }
    if let Ok(cert) = Certificate::decode(data) {
        assert_eq!(cert.encode().as_deref(), Ok(data));
    }
    let _ = certificate::verify_offline(data, None);
    if let Ok(bytes) = certificate::from_any(data) {
        let _ = certificate::verify_offline(&bytes, None);
    }
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = FaultCode::parse(text);
    }
    let count = data.first().map_or(1, |b| usize::from(*b % 64) + 1);
    let _ = unpack_readings(data, count, 0);
});
