//! `witness bench fleet`: the shape (readings per envelope, envelopes per input) and the gas the
//! default `witness up` fleet actually produces, read back from the chain.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use witness_chain::primitives::Address;
use witness_chain::{GATEWAY_ACCOUNT, L1, decode_evm_advance, dev_accounts};
use witness_node_client::quantity;
use witness_protocol::{Envelope, Message, RollupInput};

use super::machine::{load_average, load_line};
use super::report::{bar, n};
use super::rig::UpProcess;
use super::{Common, metric, rpc};
use crate::CliResult;

#[derive(Debug, Args)]
pub(super) struct FleetArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// How long to let the default fleet run.
    #[arg(long, default_value_t = 150)]
    pub(super) seconds: u64,
    /// Cars (the `witness up` default).
    #[arg(long, default_value_t = 50)]
    devices: usize,
    /// Seed of the fleet (default: random, as in `witness up`).
    #[arg(long)]
    seed: Option<u64>,
    /// More `witness up` options, e.g. `--up-arg=--prompt` (repeatable).
    #[arg(long = "up-arg", allow_hyphen_values = true)]
    up_args: Vec<String>,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
struct ShapeTotals {
    inputs: u64,
    envelopes: u64,
    readings: u64,
    payload_bytes: u64,
    gas: u64,
    /// Envelopes by readings per envelope.
    per_envelope: BTreeMap<u8, u64>,
}

impl ShapeTotals {
    fn row(&self, phase: &str) -> String {
        let common = self
            .per_envelope
            .iter()
            .max_by_key(|(_, count)| **count)
            .map_or(0, |(k, _)| *k);
        format!(
            "| {phase} | {} | {} | {} | {:.2} | {} (most common {common}) | {:.1} | {:.1} | **{}** |",
            self.inputs,
            n(self.envelopes as f64),
            n(self.readings as f64),
            self.readings as f64 / self.envelopes.max(1) as f64,
            self.per_envelope
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(" "),
            self.envelopes as f64 / self.inputs.max(1) as f64,
            self.payload_bytes as f64 / self.readings.max(1) as f64,
            n(self.gas as f64 / self.readings.max(1) as f64),
        )
    }
}

pub(super) async fn fleet(args: FleetArgs, dir: &Path) -> CliResult<Value> {
    println!(
        "fleet: `witness up` with its defaults ({} cars, 21 days of history at 20,000×, 1 s blocks) {}for {} s",
        args.devices,
        if args.up_args.is_empty() {
            String::new()
        } else {
            format!("and {} ", args.up_args.join(" "))
        },
        args.seconds
    );
    let mut extra = vec!["--devices".to_owned(), args.devices.to_string()];
    if let Some(seed) = args.seed {
        extra.extend(["--seed".to_owned(), seed.to_string()]);
    }
    extra.extend(args.up_args.iter().cloned());
    let up = UpProcess::start(dir, &args.common, &extra).await?;
    let http = reqwest::Client::new();
    let metrics_url = format!("{}/metrics", up.system.gateway_url);
    let progress = bar(args.seconds, "seconds");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(args.seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        progress.set_position(started.elapsed().as_secs());
        if let Some(readings) = metric(
            &http,
            &metrics_url,
            "witness_gateway_readings_accepted_total",
        )
        .await
        {
            progress.set_message(format!("{} readings accepted", n(readings)));
        }
    }
    progress.finish_and_clear();
    let gas_metric = metric(&http, &metrics_url, "witness_gateway_gas_used_total").await;
    let readings_metric = metric(
        &http,
        &metrics_url,
        "witness_gateway_readings_accepted_total",
    )
    .await;

    // Everything on chain, from the chain itself.
    let rpc_url = up.system.chain_rpc_url.clone();
    let input_box: Address = up.system.input_box.parse()?;
    let application: Address = up.system.application.parse()?;
    let head = quantity(&rpc(&http, &rpc_url, "eth_blockNumber", json!([])).await?)
        .ok_or("eth_blockNumber")?;
    let logs = L1::connect(&rpc_url)?
        .with_input_box(input_box)
        .input_added_logs(application, 0, head)
        .await?;
    let gateway = dev_accounts()[GATEWAY_ACCOUNT].address;
    let mut phases: BTreeMap<&str, ShapeTotals> = BTreeMap::new();
    let mut other_gas = 0u64;
    for log in &logs {
        let advance = decode_evm_advance(&log.input)?;
        let receipt = rpc(
            &http,
            &rpc_url,
            "eth_getTransactionReceipt",
            json!([format!("{:#x}", log.tx_hash)]),
        )
        .await?;
        let gas = quantity(&receipt["gasUsed"]).unwrap_or(0);
        let Ok(input) = RollupInput::decode(&advance.payload) else {
            other_gas += gas;
            continue;
        };
        let envelopes: Vec<&Envelope> = input
            .messages
            .iter()
            .filter_map(|m| match m {
                Message::Envelope(e) => Some(e),
                _ => None,
            })
            .collect();
        if envelopes.is_empty() || advance.msg_sender != gateway {
            other_gas += gas;
            continue;
        }
        // Readings more than an hour older than their block were buffered during the
        // catch-up through the simulated history.
        let oldest = envelopes
            .iter()
            .map(|e| u64::from(e.header().timestamp))
            .min()
            .unwrap_or(0);
        let phase = if oldest + 3_600 < advance.block_timestamp {
            "catch-up (history)"
        } else {
            "live (real time)"
        };
        for name in [phase, "all"] {
            let totals = phases.entry(name).or_default();
            totals.inputs += 1;
            totals.gas += gas;
            totals.payload_bytes += advance.payload.len() as u64;
            for e in &envelopes {
                totals.envelopes += 1;
                totals.readings += u64::from(e.header().reading_count);
                *totals
                    .per_envelope
                    .entry(e.header().reading_count)
                    .or_default() += 1;
            }
        }
    }
    drop(up);
    let load = load_average();
    println!(
        "\n| phase | inputs | envelopes | readings | readings/envelope | envelopes by readings/envelope | envelopes/input | B/reading | gas/reading |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (phase, totals) in &phases {
        println!("{}", totals.row(phase));
    }
    println!(
        "\nother inputs (authorization, registrations): {} gas; gateway /metrics: gas_used_total {} / readings_accepted_total {} = {} gas/reading (accepted readings include those not yet on chain); {}",
        n(other_gas as f64),
        gas_metric.map_or("?".into(), n),
        readings_metric.map_or("?".into(), n),
        match (gas_metric, readings_metric) {
            (Some(g), Some(r)) if r > 0.0 => n(g / r),
            _ => "?".into(),
        },
        load_line()
    );
    Ok(json!({
        "bench": "fleet",
        "seconds": args.seconds,
        "devices": args.devices,
        "seed": args.seed,
        "phases": phases,
        "other_gas": other_gas,
        "gateway_gas_used_total": gas_metric,
        "gateway_readings_accepted_total": readings_metric,
        "load_average": load,
    }))
}
