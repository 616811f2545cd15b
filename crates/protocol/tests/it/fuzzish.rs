//! Property tests: round trips, single-bit flips, and arbitrary bytes (the `decode` fuzz
//! target in fuzz/ runs the same checks longer, `scripts/fuzz.sh`).

use proptest::prelude::*;
use witness_protocol::{
    Envelope, FaultCode, OwnerQuery, PossessionProof, Reading, RollupInput, pack_readings,
    unpack_readings,
};

use crate::{fixture, rng};

fn reading_strategy() -> impl Strategy<Value = Reading> {
    (
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        proptest::collection::vec(any::<u16>(), 0..4),
    )
        .prop_map(|(odometer_m, fuel_ml, engine_s, faults)| Reading {
            timestamp: 1_790_000_000,
            odometer_m,
            fuel_ml,
            engine_s,
            faults: faults.into_iter().map(FaultCode).collect(),
        })
}

fn readings_strategy() -> impl Strategy<Value = Vec<Reading>> {
    (proptest::collection::vec((reading_strategy(), 0u32..100_000), 1..20)).prop_map(|items| {
        let mut time = 1_790_000_000u32;
        items
            .into_iter()
            .map(|(mut reading, dt)| {
                time += dt;
                reading.timestamp = time;
                reading
            })
            .collect()
    })
}

/// Whatever decodes re-encodes to exactly `bytes` (canonical encodings).
fn decodes_canonically(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(input) = RollupInput::decode(bytes) {
        let encoded = input.encode();
        prop_assert_eq!(encoded.as_deref(), Ok(bytes));
    }
    if let Ok(envelope) = Envelope::decode(bytes) {
        prop_assert_eq!(envelope.as_bytes(), bytes);
    }
    if let Ok(proof) = PossessionProof::decode(bytes) {
        let encoded = proof.encode();
        prop_assert_eq!(encoded.as_deref(), Ok(bytes));
    }
    if let Ok(query) = OwnerQuery::decode(bytes) {
        prop_assert_eq!(query.encode(), bytes);
    }
    Ok(())
}

proptest! {
    // Decoders and packing are fast: many cases (sealing an envelope, below, is not).
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn packed_readings_round_trip(readings in readings_strategy()) {
        let packed = pack_readings(&readings);
        // Deltas between arbitrary u64 odometers can exceed i64; those are refused, never wrong.
        if let Ok(packed) = packed {
            prop_assert_eq!(unpack_readings(&packed, readings.len(), readings[0].timestamp).unwrap(), readings);
        }
    }

    #[test]
    fn random_bytes_never_panic_and_what_decodes_is_canonical(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        decodes_canonically(&bytes)?;
        if let Ok(readings) = unpack_readings(&bytes, 3, 0) {
            prop_assert_eq!(readings.len(), 3);
        }
        // Behind a valid input header, so that the message decoders are reached too.
        let mut input = vec![1u8, 1, 1];
        input.extend_from_slice(&bytes);
        decodes_canonically(&input)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_bit_flip_is_rejected(bit in 0usize..(157 * 8), count in 1usize..4) {
        let f = fixture();
        let readings = crate::readings(count);
        let sealed = Envelope::seal(&f.device, &f.domain, f.device_id, 5, &readings, &mut rng(30)).unwrap();
        let mut bytes = sealed.envelope.as_bytes().to_vec();
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        let outcome = Envelope::decode(&bytes).and_then(|e| e.open(&f.device.public_key(), &f.domain, &f.backend));
        prop_assert!(outcome.is_err());
    }
}
