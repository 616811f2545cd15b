//! Instruction counting of the backend's advance path (instructions per attested reading),
//! natively under callgrind and on riscv64 under qemu. Driven by `scripts/count-instructions.sh`.
//!
//! Two modes, so that the measured process does no sealing (sealing is device work):
//!
//! - `seal FILE [--inputs N] [--per-envelope R] [--envelopes E] [--devices D]` registers a
//!   fleet of `D` cars (default 1000), seals `N` rollup inputs (default 1) of envelopes with `R`
//!   readings each (default 16) and writes them to `FILE`. Inputs are full (64 KiB: 224 envelopes,
//!   3,584 readings, at 16 readings each) unless `--envelopes` caps each input at `E` envelopes.
//! - `advance FILE` rebuilds the same registered fleet (the fixture is deterministic), loads
//!   the inputs, passes each through `State::advance` and prints the readings attested.
//!
//! The advance process still pays the fleet's registration, the same at any `N`: count it at
//! two input counts and divide the difference by the difference in readings. The advancing
//! loop is `advance_all` (not inlined), for `valgrind --toggle-collect=*advance_all*` too.
//!
//! Run: `scripts/count-instructions.sh`, or by hand:
//! `cargo run --release -p witness-backend --example advance_count -- seal /tmp/in.bin --inputs 2`
//! then `valgrind --tool=callgrind target/release/examples/advance_count advance /tmp/in.bin`.

use std::process::ExitCode;

use witness_backend::fixture::FleetFixture;
use witness_backend::outputs::Report;
use witness_backend::{Metadata, State};
use witness_protocol::RollupInput;

const MAGIC: &[u8; 8] = b"WADVCNT1";

/// One sealed input as stored in the file.
struct Sealed {
    meta: Metadata,
    payload: Vec<u8>,
    readings: u64,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("seal"), Some(file)) => seal(file, &args[2..]),
        (Some("advance"), Some(file)) => advance(file),
        _ => Err(
            "usage: advance_count seal FILE [--inputs N] [--per-envelope R] \
                  [--envelopes E] [--devices D] | advance FILE"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("advance_count: {error}");
            ExitCode::FAILURE
        }
    }
}

fn flag(options: &[String], name: &str, default: usize) -> Result<usize, String> {
    match options.iter().position(|o| o == name) {
        None => Ok(default),
        Some(i) => options
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

fn seal(file: &str, options: &[String]) -> Result<(), String> {
    let inputs = flag(options, "--inputs", 1)?;
    let per_envelope = flag(options, "--per-envelope", 16)?.max(1);
    let envelopes = flag(options, "--envelopes", usize::MAX)?.max(1);
    let devices = flag(options, "--devices", 1_000)?;
    let mut fixture = FleetFixture::new(devices);
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&(devices as u64).to_le_bytes());
    let mut written = 0;
    let mut readings = 0;
    let mut input_index = None;
    while written < inputs {
        let (meta, payload, _) = fixture.next_input(per_envelope);
        let full = RollupInput::decode(&payload).map_err(|e| e.to_string())?;
        for chunk in full.messages.chunks(envelopes) {
            if written == inputs {
                break;
            }
            // Capped inputs split one full input, each part its own input index.
            let index = input_index.map_or(meta.input_index, |i: u64| i + 1);
            input_index = Some(index);
            let payload = RollupInput {
                messages: chunk.to_vec(),
            }
            .encode()
            .map_err(|e| e.to_string())?;
            let meta = serde_json::json!({
                "chain_id": meta.chain_id,
                "app_contract": meta.app_contract,
                "msg_sender": meta.msg_sender,
                "block_number": meta.block_number,
                "block_timestamp": meta.block_timestamp,
                "input_index": index,
            })
            .to_string();
            let count = (chunk.len() * per_envelope) as u64;
            for part in [meta.as_bytes(), &payload] {
                bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
                bytes.extend_from_slice(part);
            }
            bytes.extend_from_slice(&count.to_le_bytes());
            written += 1;
            readings += count;
        }
    }
    std::fs::write(file, bytes).map_err(|e| e.to_string())?;
    println!("sealed: inputs {written}, readings {readings}, devices {devices}, file {file}");
    Ok(())
}

fn take<'a>(bytes: &mut &'a [u8], len: usize) -> Result<&'a [u8], String> {
    let (head, tail) = bytes.split_at_checked(len).ok_or("truncated input file")?;
    *bytes = tail;
    Ok(head)
}

fn take_u64(bytes: &mut &[u8]) -> Result<u64, String> {
    let mut word = [0; 8];
    word.copy_from_slice(take(bytes, 8)?);
    Ok(u64::from_le_bytes(word))
}

fn advance(file: &str) -> Result<(), String> {
    let data = std::fs::read(file).map_err(|e| e.to_string())?;
    let mut bytes = data.as_slice();
    if take(&mut bytes, MAGIC.len())? != MAGIC {
        return Err(format!("{file} is not a sealed-input file"));
    }
    let devices = usize::try_from(take_u64(&mut bytes)?).map_err(|e| e.to_string())?;
    let mut inputs = Vec::new();
    while !bytes.is_empty() {
        let len = take_u64(&mut bytes)? as usize;
        let meta = serde_json::from_slice(take(&mut bytes, len)?).map_err(|e| e.to_string())?;
        let len = take_u64(&mut bytes)? as usize;
        let payload = take(&mut bytes, len)?.to_vec();
        let readings = take_u64(&mut bytes)?;
        inputs.push(Sealed {
            meta,
            payload,
            readings,
        });
    }
    let mut fixture = FleetFixture::new(devices);
    let attested = advance_all(&mut fixture.state, &inputs)?;
    let sealed: u64 = inputs.iter().map(|input| input.readings).sum();
    println!(
        "advanced: inputs {}, readings attested {attested}, devices {devices}",
        inputs.len()
    );
    if attested != sealed {
        return Err(format!("{sealed} readings sealed but {attested} attested"));
    }
    Ok(())
}

/// The measured section: every input through `State::advance`; returns the readings attested
/// (from each input's `input_accepted` report). An input refused as a whole is an error.
#[inline(never)]
fn advance_all(state: &mut State, inputs: &[Sealed]) -> Result<u64, String> {
    let mut attested = 0;
    for input in inputs {
        let outcome = state.advance(&input.meta, &input.payload);
        let reports: Vec<Report> = outcome
            .reports
            .iter()
            .filter_map(|r| serde_json::from_slice(r).ok())
            .collect();
        if let Some(Report::InputRefused { reason, .. }) = reports
            .iter()
            .find(|r| matches!(r, Report::InputRefused { .. }))
        {
            return Err(format!(
                "input {} refused: {reason}",
                input.meta.input_index
            ));
        }
        match reports.last() {
            Some(Report::InputAccepted {
                readings_attested, ..
            }) => attested += readings_attested,
            _ => return Err(format!("input {} has no summary", input.meta.input_index)),
        }
    }
    Ok(attested)
}
