//! Arbitrary inputs and metadata never panic the state machine, every one of them ends with
//! its state notice, and an input that applies nothing never changes the map root (the fuzz
//! target in fuzz/ drives the same entry point longer).

use proptest::prelude::*;
use witness_backend::{AdvanceOutcome, Metadata};
use witness_protocol::notice::StateNotice;
use witness_protocol::{Message, RollupInput};

use crate::{GATEWAY, World, hex_address, refusal, summary};

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

/// The outcome's state notice (always the last notice, for this input).
fn state_after(meta: &Metadata, outcome: &AdvanceOutcome) -> StateNotice {
    let state = StateNotice::decode(outcome.notices.last().unwrap()).unwrap();
    assert_eq!(state.input_index, meta.input_index);
    state
}

/// Whether the input applied nothing: refused as a whole, or every message rejected.
fn applied_nothing(outcome: &AdvanceOutcome) -> bool {
    let summary = summary(outcome);
    refusal(outcome).is_some()
        || (summary["readings_attested"] == 0
            && summary["tamper_events"] == 0
            && summary["acts_applied"] == 0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_payloads_never_panic_and_refusals_change_nothing(
        meta in metadata(),
        payload in proptest::collection::vec(any::<u8>(), 0..400),
        flip in any::<prop::sample::Index>(),
    ) {
        let mut w = World::new();
        let mut car = w.register(1);
        let envelope = w.drive(&mut car, 5, 2);
        let mut valid = RollupInput { messages: vec![Message::Envelope(envelope)] }.encode().unwrap();
        let before = w.root();
        let leaf = w.leaf(&car.id);
        // Raw garbage.
        let outcome = w.state.advance(&meta, &payload);
        let after = state_after(&meta, &outcome);
        prop_assert_eq!(outcome.notices.len(), 1, "garbage applies nothing");
        prop_assert!(refusal(&outcome).is_some());
        prop_assert_eq!(after.map_root, before);
        prop_assert_eq!(after.devices, 1);
        // A valid input with one byte changed.
        let i = flip.index(valid.len());
        valid[i] ^= 0x5a;
        let outcome = w.state.advance(&meta, &valid);
        let after = state_after(&meta, &outcome);
        if applied_nothing(&outcome) {
            prop_assert_eq!(outcome.notices.len(), 1);
            prop_assert_eq!(after.map_root, before);
            prop_assert_eq!(&w.state.device(&car.id).unwrap().leaf, &leaf);
        } else {
            prop_assert_ne!(after.map_root, before);
        }
        // Inspect with arbitrary bytes.
        let _ = witness_backend::inspect::inspect(&w.state, &payload);
    }
}

#[test]
fn a_refused_input_leaves_the_map_root_unchanged_but_the_input_count() {
    let mut w = World::new();
    let mut car = w.register(1);
    let envelope = w.drive(&mut car, 5, 1);
    let payload = RollupInput {
        messages: vec![Message::Envelope(envelope)],
    }
    .encode()
    .unwrap();
    let root = w.root();
    let leaf = w.leaf(&car.id);
    let processed = w.state.last_state().unwrap().input_index;
    let outcome = w.submit_raw(crate::STRANGER, &payload);
    assert_eq!(refusal(&outcome).as_deref(), Some("unauthorized_sender"));
    assert_eq!(w.root(), root);
    assert_eq!(w.leaf(&car.id), leaf);
    assert_eq!(w.state.last_state().unwrap().input_index, processed + 1);
}
