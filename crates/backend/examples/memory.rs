//! Measures the backend's machine state (live heap, dhat's counting allocator): bytes per
//! registered device, growth per attested reading, and what the map's kept versions cost.
//!
//! Run: `cargo run --release -p witness-backend --example memory -- [--devices D]
//! [--readings R] [--per-envelope E] [--retention-blocks B]` (defaults: 100,000 devices,
//! 100 readings each, 16 per envelope, the default retention of 7,200 blocks). The fixture
//! sends one full input per block, so a retention of B blocks keeps about B versions (and
//! never fewer than the last 64): `--retention-blocks 0` gives the steady state with the
//! minimum kept.
//!
//! Figures:
//! - state per device: the device map with a single version (every device's leaf, baseline
//!   and statistics summary, the trie's inner nodes), built afresh from the final devices;
//! - growth per reading: live heap growth over the second half of the readings, divided by
//!   the readings (the kept-version count is stable by then when the window is small);
//! - retention: the whole state minus the single-version map, per kept version.

use std::process::ExitCode;

use witness_backend::fixture::FleetFixture;
use witness_backend::map::DeviceMap;
use witness_backend::{Config, State};
use witness_protocol::BackendSecretKey;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn live_bytes() -> usize {
    dhat::HeapStats::get().curr_bytes
}

fn flag(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("memory: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let devices = flag(&args, "--devices", 100_000)? as usize;
    let per_device = flag(&args, "--readings", 100)?;
    let per_envelope = flag(&args, "--per-envelope", 16)?.clamp(1, 64) as usize;
    let retention = flag(
        &args,
        "--retention-blocks",
        witness_backend::config::DEFAULT_PROOF_RETENTION_BLOCKS,
    )?;
    let _profiler = dhat::Profiler::builder().testing().build();

    let baseline = live_bytes();
    let mut fixture = FleetFixture::with_config(devices, |config| {
        config.proof_retention_blocks = retention;
    });
    let after_registration = live_bytes();
    let target = devices as u64 * per_device;
    let mut readings = 0u64;
    let mut inputs = 0u64;
    let mut halfway = None;
    while readings < target {
        let (meta, input, count) = fixture.next_input(per_envelope);
        let outcome = fixture.state.advance(&meta, &input);
        let summary = outcome
            .reports
            .last()
            .and_then(|r| serde_json::from_slice::<serde_json::Value>(r).ok())
            .and_then(|r| r["readings_attested"].as_u64());
        if summary != Some(count as u64) {
            return Err(format!(
                "input {} did not attest its readings",
                meta.input_index
            ));
        }
        readings += count as u64;
        inputs += 1;
        if halfway.is_none() && readings >= target / 2 {
            halfway = Some((readings, live_bytes()));
        }
        drop(outcome);
    }
    let after_readings = live_bytes();
    let (half_readings, half_bytes) = halfway.unwrap_or((0, after_registration));

    // The map with a single version: the state a machine keeps in the steady state.
    let (oldest, newest) = fixture.state.devices().kept().ok_or("no version kept")?;
    let kept = newest - oldest + 1;
    let before_fresh = live_bytes();
    let mut fresh = DeviceMap::default();
    for device in fixture.state.devices().iter() {
        fresh.insert(device.clone());
    }
    let fresh_root = fresh.commit(0, 0, 0);
    let single_version = live_bytes().saturating_sub(before_fresh);
    if Some(fresh_root) != fixture.state.last_state().map(|s| s.map_root) {
        return Err("the rebuilt map has another root".into());
    }
    drop(fresh);

    // The whole state, measured by dropping it (an empty state of the same shape replaces it).
    let empty = State::new(Config::new(
        witness_backend::fixture::ADMIN,
        Vec::new(),
        BackendSecretKey::derive(b"memory example"),
    ));
    let before_drop = live_bytes();
    let empty_bytes = {
        let start = live_bytes();
        let probe = State::new(Config::new(
            witness_backend::fixture::ADMIN,
            Vec::new(),
            BackendSecretKey::derive(b"probe"),
        ));
        let bytes = live_bytes().saturating_sub(start);
        drop(probe);
        bytes
    };
    drop(std::mem::replace(&mut fixture.state, empty));
    let state_bytes = before_drop.saturating_sub(live_bytes());
    let retained = state_bytes.saturating_sub(single_version + empty_bytes);

    let envelopes_per_input = readings as f64 / inputs as f64 / per_envelope as f64;
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "devices {devices}, readings {readings} ({per_device} per device, {per_envelope} per envelope), \
         inputs {inputs} ({envelopes_per_input:.0} envelopes each), retention {retention} blocks"
    );
    println!(
        "state per device:      {:.0} bytes (single-version map {:.1} MiB / {devices})",
        single_version as f64 / devices as f64,
        mib(single_version)
    );
    println!(
        "growth per reading:    {:.2} bytes (second half: {} readings, {:+} bytes)",
        (after_readings as f64 - half_bytes as f64) / (readings - half_readings).max(1) as f64,
        readings - half_readings,
        after_readings as i64 - half_bytes as i64
    );
    println!(
        "whole state:           {:.1} MiB ({:.0} bytes per device), of which kept versions {:.1} MiB",
        mib(state_bytes),
        state_bytes as f64 / devices as f64,
        mib(retained)
    );
    println!(
        "kept versions:         {kept} (inputs {oldest}..={newest}): {:.0} bytes each, \
         {:.0} bytes per changed device per version",
        retained as f64 / kept as f64,
        retained as f64 / kept as f64 / envelopes_per_input.max(1.0)
    );
    println!(
        "registration:          {:.0} bytes per device, fixture's own keys and the registration versions included",
        after_registration.saturating_sub(baseline) as f64 / devices as f64
    );
    Ok(())
}
