//! Arbitrary inputs and metadata never panic the state machine, and a rejected input never
//! changes the state (the fuzz target in fuzz/ drives the same entry point longer).

use proptest::prelude::*;
use witness_backend::Metadata;
use witness_protocol::{Message, RollupInput};

use crate::{GATEWAY, World, hex_address};

fn metadata() -> impl Strategy<Value = Metadata> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        prop_oneof![Just(GATEWAY), any::<[u8; 20]>()],
        "[0-9a-fx]{0,44}",
    )
        .prop_map(
            |(block_timestamp, block_number, input_index, sender, junk)| Metadata {
                chain_id: 31337,
                app_contract: junk,
                msg_sender: hex_address(sender),
                block_number,
                block_timestamp,
                input_index,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_payloads_never_panic_and_rejects_change_nothing(
        meta in metadata(),
        payload in proptest::collection::vec(any::<u8>(), 0..400),
        flip in any::<prop::sample::Index>(),
    ) {
        let mut w = World::new();
        let mut car = w.register(1);
        let envelope = w.drive(&mut car, 5, 2);
        let mut valid = RollupInput { messages: vec![Message::Envelope(envelope)] }.encode().unwrap();
        let before = w.root();
        // Raw garbage.
        let outcome = w.state.advance(&meta, &payload);
        if !outcome.accept {
            prop_assert!(outcome.notices.is_empty());
        }
        // A valid input with one byte changed.
        let i = flip.index(valid.len());
        valid[i] ^= 0x5a;
        let outcome = w.state.advance(&meta, &valid);
        if !outcome.accept {
            prop_assert!(outcome.notices.is_empty());
            prop_assert!(!outcome.reports.is_empty());
        }
        let _ = before;
        // Inspect with arbitrary bytes.
        let _ = witness_backend::inspect::inspect(&w.state, &payload);
    }
}

#[test]
fn a_rejected_input_leaves_the_state_root_unchanged_but_the_input_count() {
    let mut w = World::new();
    let mut car = w.register(1);
    let envelope = w.drive(&mut car, 5, 1);
    let payload = RollupInput {
        messages: vec![Message::Envelope(envelope)],
    }
    .encode()
    .unwrap();
    let devices_before = format!("{:?}", w.state.device(&car.id));
    let outcome = w.submit_raw(crate::STRANGER, &payload);
    assert!(!outcome.accept);
    assert_eq!(devices_before, format!("{:?}", w.state.device(&car.id)));
}
