//! Every decoder takes arbitrary bytes without panicking, and whatever decodes re-encodes to
//! the same bytes (canonical encoding).
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness_protocol::{Envelope, Opening, OwnerQuery, PossessionProof, RollupInput, unpack_readings};

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
    let count = data.first().map_or(1, |b| usize::from(*b % 64) + 1);
    let _ = unpack_readings(data, count, 0);
});
