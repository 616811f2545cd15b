//! `witness bench gas`: gas per attested reading for a grid of input shapes, on a fresh anvil
//! with the real contracts, against the original design's one-transaction-per-reading baseline.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::{Value, json};
use witness_chain::GATEWAY_ACCOUNT;

use super::machine::{load_average, load_line};
use super::report::{bar, gas_svg, mean, n};
use super::rig::Rig;
use super::sim::SimFleet;
use super::{Common, backend_binary, unix_now_u32};
use crate::CliResult;

/// EIP-7623 floor per calldata byte: 10 gas per token, a non-zero byte is 4 tokens.
const FLOOR_NONZERO: u64 = 40;
const FLOOR_ZERO: u64 = 10;
/// A transaction's base cost.
const TX_BASE: u64 = 21_000;
/// The original design's input: about 1,190 bytes per reading (RSA-2048 signature, PEM key,
/// base64; PROTOCOL.md section 11).
const BASELINE_BYTES: usize = 1_190;
/// The gas target per attested reading.
pub(super) const GAS_TARGET: f64 = 1_000.0;

#[derive(Debug, Args)]
pub(super) struct GasArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Registered devices the envelopes come from (round robin).
    #[arg(long, default_value_t = 1_000)]
    devices: usize,
    /// Baseline transactions (one ~1,190-byte input per reading).
    #[arg(long, default_value_t = 20)]
    baseline: usize,
    /// Write the chart here.
    #[arg(long, default_value = "docs/bench/gas.svg")]
    svg: PathBuf,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct GasRow {
    pub(super) readings_per_envelope: usize,
    pub(super) envelopes: usize,
    readings: usize,
    payload_bytes: usize,
    zero_bytes: u64,
    gas_used: u64,
    floor: u64,
    attested: u64,
    input_index: u64,
}

impl GasRow {
    pub(super) fn gas_per_reading(&self) -> f64 {
        self.gas_used as f64 / self.readings.max(1) as f64
    }
}

pub(super) async fn gas(args: GasArgs, dir: &Path) -> CliResult<Value> {
    let backend = backend_binary(&args.common)?;
    println!("gas: fresh anvil (automine), Cartesi Rollups v2.2, node + real backend");
    let mut rig = Rig::start(dir, &backend, None, None).await?;
    rig.start_node().await?;
    let start = unix_now_u32() - 20 * 86_400;
    let mut fleet = SimFleet::new(args.devices, rig.domain(), start, 42);
    rig.enrol(&fleet).await?;

    let shapes: Vec<(usize, Option<usize>)> = [1usize, 4, 16]
        .iter()
        .flat_map(|r| [Some(1), Some(10), Some(100), None].map(|e| (*r, e)))
        .collect();
    let progress = bar((shapes.len() + args.baseline) as u64, "inputs");
    let mut rows = Vec::new();
    for (per_envelope, envelopes) in shapes {
        let (payload, envelope_count, readings) = fleet.input(per_envelope, envelopes)?;
        let (floor, zeros) = payload_floor(&payload);
        let payload_bytes = payload.len();
        let added = rig.send(GATEWAY_ACCOUNT, payload).await?;
        rows.push(GasRow {
            readings_per_envelope: per_envelope,
            envelopes: envelope_count,
            readings,
            payload_bytes,
            zero_bytes: zeros,
            gas_used: added.gas_used,
            floor,
            attested: 0,
            input_index: added.input_index,
        });
        progress.inc(1);
    }
    // The original design: one ~1,190-byte input per reading, one transaction each, sent by
    // the device itself (dev account 2).
    let mut rng = ChaCha20Rng::seed_from_u64(1_190);
    let mut baseline = Vec::new();
    for _ in 0..args.baseline {
        let mut payload = vec![0u8; BASELINE_BYTES];
        rng.fill_bytes(&mut payload);
        let (floor, _) = payload_floor(&payload);
        let added = rig.send(2, payload).await?;
        baseline.push((added.gas_used, floor));
        progress.inc(1);
    }
    progress.finish_and_clear();

    rig.wait_processed(rig.inputs, Duration::from_secs(300))
        .await?;
    for row in &mut rows {
        row.attested = rig.attested(row.input_index).await?;
    }
    rig.stop_node().await;

    let baseline_gas = mean(&baseline.iter().map(|(g, _)| *g as f64).collect::<Vec<_>>());
    let baseline_floor = mean(&baseline.iter().map(|(_, f)| *f as f64).collect::<Vec<_>>());
    let load = load_average();
    println!(
        "\n| readings/envelope | envelopes/input | readings | payload B | B/reading | gas used | gas/reading | floor 21,000 + 40·nz + 10·z | gas / floor | attested |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {:.1} | {} | **{}** | {} + {} | {:.2} | {} |",
            row.readings_per_envelope,
            row.envelopes,
            n(row.readings as f64),
            n(row.payload_bytes as f64),
            row.payload_bytes as f64 / row.readings as f64,
            n(row.gas_used as f64),
            n(row.gas_per_reading()),
            n(TX_BASE as f64),
            n(row.floor as f64),
            row.gas_used as f64 / (TX_BASE + row.floor) as f64,
            if row.attested == row.readings as u64 {
                "all".to_owned()
            } else {
                format!("{} of {}", row.attested, row.readings)
            }
        );
    }
    println!(
        "| baseline: 1 reading/tx | 1 | 1 | {} | {} | {} | **{}** | {} + {} | {:.2} | (random bytes) |",
        n(BASELINE_BYTES as f64),
        n(BASELINE_BYTES as f64),
        n(baseline_gas),
        n(baseline_gas),
        n(TX_BASE as f64),
        n(baseline_floor),
        baseline_gas / (TX_BASE as f64 + baseline_floor)
    );
    println!(
        "\nbaseline over {} transactions; {}",
        baseline.len(),
        load_line()
    );
    let best16 = rows
        .iter()
        .filter(|r| r.readings_per_envelope == 16)
        .map(GasRow::gas_per_reading)
        .fold(f64::INFINITY, f64::min);
    println!(
        "target ≤ {} gas/reading: {} at 16 readings/envelope in a full input ({:.0}× less than the baseline)",
        n(GAS_TARGET),
        if best16 <= GAS_TARGET {
            "met"
        } else {
            "MISSED"
        },
        baseline_gas / best16
    );
    if let Some(parent) = args.svg.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.svg, gas_svg(&rows, baseline_gas, &load))
        .map_err(|e| format!("{}: {e}", args.svg.display()))?;
    println!("chart written to {}", args.svg.display());
    Ok(json!({
        "bench": "gas",
        "rows": rows,
        "baseline": {"bytes": BASELINE_BYTES, "transactions": baseline.len(), "gas_mean": baseline_gas, "floor_mean": baseline_floor},
        "load_average": load,
    }))
}

/// Calldata floor of a payload: 40 gas per non-zero byte, 10 per zero byte.
fn payload_floor(payload: &[u8]) -> (u64, u64) {
    let zeros = payload.iter().filter(|b| **b == 0).count() as u64;
    let nonzero = payload.len() as u64 - zeros;
    (nonzero * FLOOR_NONZERO + zeros * FLOOR_ZERO, zeros)
}
