//! The backend's state machine never panics on any sequence of inputs with any metadata,
//! every input ends with its own state notice, and inspect never panics on any payload.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use witness_backend::{Config, Metadata, State, inspect::inspect};
use witness_protocol::{BackendSecretKey, SigningKey};

#[derive(Debug, Arbitrary)]
struct Step {
    sender: u8,
    block_timestamp: u64,
    payload: Vec<u8>,
    inspect: Vec<u8>,
}

fn registrar() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(&[7; 32]))
}

fuzz_target!(|steps: Vec<Step>| {
    let config = Config::new([1; 20], vec![registrar().public_key()], BackendSecretKey::derive(b"fuzz"));
    let mut state = State::new(config);
    for (index, step) in steps.iter().enumerate() {
        // Sender 1 is the admin, 2 a gateway the fuzzer may authorize, others strangers.
        let sender = [step.sender % 4; 20];
        let meta = Metadata {
            chain_id: 31337,
            app_contract: "0x".into(),
            msg_sender: format!("0x{}", hex_encode(&sender)),
            block_number: index as u64,
            block_timestamp: step.block_timestamp,
            input_index: index as u64,
        };
        let outcome = state.advance(&meta, &step.payload);
        // Every input ends with its state notice (PROTOCOL.md 16).
        let last = outcome.notices.last().map(|n| witness_protocol::notice::StateNotice::decode(n));
        assert!(matches!(last, Some(Ok(s)) if s.input_index == index as u64));
        let _ = inspect(&state, &step.inspect);
    }
});

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
