//! The backend's state machine never panics on any sequence of inputs with any metadata,
//! every input ends with its own state notice, and inspect never panics on any payload.
//!
//! The fuzz input is a list of steps, each (integers big-endian):
//!
//! ```text
//! flags u8 | block_timestamp u64 | payload_len u16 | payload | inspect_len u16 | inspect
//! ```
//!
//! Step `i` advances the state with `payload` as input `i` (block number `i`), then inspects
//! it with `inspect`. `flags & 3` is the sender, `[n; 20]`: 1 the admin, 2 a gateway the admin
//! may authorize, 0 and 3 strangers. With `flags & 0x40` the metadata's application is no
//! address (the backend refuses the whole input). With `flags & 0x80` set and a payload that decodes as a
//! rollup input, the target first signs that input's registrar messages that name the fuzz
//! registrar (whatever signature they carry), so registrations, revocations and the rest
//! that the fuzzer makes up apply. A step cut short ends the list.
//!
//! The backend key and the registrar are those of the protocol vectors
//! (`docs/protocol-vectors.json`), so their envelopes open and their registrar messages
//! verify; `fuzz/seeds.py` builds the seed corpus from them in this framing.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use witness_backend::{Config, Metadata, State, inspect::inspect};
use witness_protocol::{
    BackendSecretKey, Domain, Message, RegistrarMessage, RollupInput, SigningKey,
};

/// The vectors' backend key (`backend_secret_key` of docs/protocol-vectors.json).
fn backend_key() -> BackendSecretKey {
    BackendSecretKey::derive(b"witness vectors backend key")
}

/// The vectors' registrar (`signer_seed` of their `registrar` vectors).
fn registrar() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let seed = "1dfe5a20e1a6482414f03f27ab6db7f37d82f0c45db27753fb77c272af53687d";
        let mut bytes = [0; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&seed[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        SigningKey::from_seed(&bytes)
    })
}

const SIGN: u8 = 0x80;
const BAD_METADATA: u8 = 0x40;

struct Step<'a> {
    flags: u8,
    block_timestamp: u64,
    payload: &'a [u8],
    inspect: &'a [u8],
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = data.split_at_checked(n)?;
    *data = rest;
    Some(head)
}

fn step<'a>(data: &mut &'a [u8]) -> Option<Step<'a>> {
    let flags = take(data, 1)?[0];
    let block_timestamp = u64::from_be_bytes(take(data, 8)?.try_into().ok()?);
    let len = |data: &mut &'a [u8]| {
        Some(usize::from(u16::from_be_bytes(
            take(data, 2)?.try_into().ok()?,
        )))
    };
    let n = len(data)?;
    let payload = take(data, n)?;
    let n = len(data)?;
    let inspect = take(data, n)?;
    Some(Step {
        flags,
        block_timestamp,
        payload,
        inspect,
    })
}

/// The vectors' deployment (PROTOCOL.md 3.5): what the metadata of every step names, unless
/// the step asks for metadata the backend must refuse.
fn domain() -> Domain {
    Domain {
        chain_id: 31_337,
        application: [0xa1; 20],
        backend_key: backend_key().public_key().clone(),
    }
}

/// `payload` with the fuzz registrar's messages signed, if it is a rollup input.
fn signed(payload: &[u8]) -> Option<Vec<u8>> {
    let mut input = RollupInput::decode(payload).ok()?;
    let key = registrar();
    let domain = domain();
    for message in &mut input.messages {
        if let Message::Registrar(m) = message
            && m.registrar == key.public_key()
        {
            *m = RegistrarMessage::sign(key, &domain, m.sequence, m.action.clone())
                .ok()?;
        }
    }
    input.encode().ok()
}

fuzz_target!(|data: &[u8]| {
    let config = Config::new([1; 20], vec![registrar().public_key()], backend_key());
    let mut state = State::new(config);
    let mut data = data;
    let mut index = 0u64;
    while let Some(step) = step(&mut data) {
        let sender = [step.flags % 4; 20];
        // With BAD_METADATA the application is no address: the whole input is refused.
        let app_contract = if step.flags & BAD_METADATA != 0 {
            "0x".to_owned()
        } else {
            format!("0x{}", hex_encode(&domain().application))
        };
        let meta = Metadata {
            chain_id: domain().chain_id,
            app_contract,
            msg_sender: format!("0x{}", hex_encode(&sender)),
            block_number: index,
            block_timestamp: step.block_timestamp,
            input_index: index,
        };
        let signed = (step.flags & SIGN != 0)
            .then(|| signed(step.payload))
            .flatten();
        let outcome = state.advance(&meta, signed.as_deref().unwrap_or(step.payload));
        // Every input ends with its state notice (PROTOCOL.md 16).
        let last = outcome
            .notices
            .last()
            .map(|n| witness_protocol::notice::StateNotice::decode(n));
        assert!(matches!(last, Some(Ok(s)) if s.input_index == index));
        let _ = inspect(&state, step.inspect);
        index += 1;
    }
});

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
