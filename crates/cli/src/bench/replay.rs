//! `witness bench replay`: the node's replay after a restart, with the real backend.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use procfs::process::Process;
use serde_json::{Value, json};
use witness_chain::GATEWAY_ACCOUNT;
use witness_node_client::NodeClient;
use witness_protocol::api::{InspectAnswer, InspectQuery};

use super::machine::{cpu_seconds, load_average, load_line};
use super::report::{bar, n, percentile, say, sorted};
use super::rig::Rig;
use super::sim::SimFleet;
use super::{Common, backend_binary, unix_now_u32};
use crate::CliResult;

#[derive(Debug, Args)]
pub(super) struct ReplayArgs {
    #[command(flatten)]
    pub(super) common: Common,
    /// Full inputs to process and then replay.
    #[arg(long, default_value_t = 100)]
    inputs: usize,
    /// Readings per envelope.
    #[arg(long, default_value_t = 16)]
    per_envelope: usize,
    /// Registered devices.
    #[arg(long, default_value_t = 1_000)]
    devices: usize,
    /// Restarts to time.
    #[arg(long, default_value_t = 3)]
    restarts: usize,
    /// Run the backend under this command (e.g. "valgrind --tool=callgrind
    /// --callgrind-out-file=/tmp/cg.%p"); it is stopped with SIGTERM so that it can write its
    /// results.
    #[arg(long)]
    backend_wrapper: Option<String>,
}

/// The backend's `state`: its latest map root and how many inputs it processed.
async fn map_root(node: &NodeClient) -> CliResult<(String, u64)> {
    match node.inspect(&InspectQuery::State).await?.answer {
        InspectAnswer::State(state) => Ok((state.map_root, state.processed_inputs)),
        other => Err(format!("state query answered {other:?}").into()),
    }
}

pub(super) async fn replay(args: ReplayArgs, dir: &Path) -> CliResult<Value> {
    let backend = backend_binary(&args.common)?;
    println!(
        "replay: {} full inputs of {}-reading envelopes from {} devices; node + real backend{}",
        args.inputs,
        args.per_envelope,
        args.devices,
        args.backend_wrapper
            .as_deref()
            .map_or(String::new(), |w| format!(" under `{w}`"))
    );
    let mut rig = Rig::start(dir, &backend, args.backend_wrapper.as_deref(), None).await?;
    let start = unix_now_u32() - 20 * 86_400;
    let mut fleet = SimFleet::new(args.devices, rig.domain(), start, 42);
    rig.enrol(&fleet).await?;

    // Seal everything first (in a blocking thread), then send.
    let progress = bar(args.inputs as u64, "sealing");
    let (inputs, per_envelope, count) = (args.inputs, args.per_envelope, progress.clone());
    let (payloads, fleet_back) = tokio::task::spawn_blocking(move || {
        let mut payloads = Vec::new();
        for _ in 0..inputs {
            payloads.push(fleet.input(per_envelope, None).map_err(|e| e.to_string())?);
            count.inc(1);
        }
        Ok::<_, String>((payloads, fleet))
    })
    .await??;
    drop(fleet_back);
    progress.finish_and_clear();
    let readings: usize = payloads.iter().map(|(_, _, r)| r).sum();
    let envelopes: usize = payloads.iter().map(|(_, e, _)| e).sum();
    let progress = bar(args.inputs as u64, "sending");
    for (payload, _, _) in payloads {
        rig.send(GATEWAY_ACCOUNT, payload).await?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let total_inputs = rig.inputs;
    println!(
        "{} inputs on chain ({} with readings: {} envelopes, {} readings)",
        total_inputs,
        args.inputs,
        n(envelopes as f64),
        n(readings as f64)
    );

    // First pass: the node follows the chain and processes everything.
    let cpu_self = || cpu_seconds(Process::myself()).unwrap_or(0.0);
    let self0 = cpu_self();
    let started = Instant::now();
    let anvil_pid = i32::try_from(rig.chain.anvil.pid())?;
    let anvil0 = cpu_seconds(Process::new(anvil_pid)).unwrap_or(0.0);
    rig.start_node().await?;
    rig.wait_processed(total_inputs, Duration::from_secs(1_200))
        .await?;
    let first = started.elapsed();
    // The backend's CPU time since it started: the whole pass.
    let backend_cpu = rig.backend_pid().and_then(|p| cpu_seconds(Process::new(p)));
    let first_self = cpu_self() - self0;
    let first_anvil = cpu_seconds(Process::new(anvil_pid)).unwrap_or(0.0) - anvil0;
    let (first_root, processed) = map_root(&rig.node_client()?).await?;
    println!(
        "first pass: {} inputs processed in {:.2} s = {} readings/s (CPU: backend {:.2} s, node {:.2} s, anvil {:.2} s; from node start; {})",
        processed,
        first.as_secs_f64(),
        n(readings as f64 / first.as_secs_f64()),
        backend_cpu.unwrap_or(f64::NAN),
        first_self,
        first_anvil,
        load_line()
    );

    let mut runs = Vec::new();
    let progress = bar(args.restarts as u64, "restarts");
    for _ in 0..args.restarts {
        rig.stop_node().await;
        let self0 = cpu_self();
        let started = Instant::now();
        rig.start_node().await?;
        let node = rig.node_client()?;
        let (root, count) = loop {
            match map_root(&node).await {
                Ok(answer) => break answer,
                Err(_) if started.elapsed() < Duration::from_secs(1_200) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let elapsed = started.elapsed().as_secs_f64();
        let backend_cpu = rig.backend_pid().and_then(|p| cpu_seconds(Process::new(p)));
        let node_cpu = cpu_self() - self0;
        let same = root == first_root && count == processed;
        let load = load_average();
        say(
            &progress,
            &format!(
                "replay: {count} inputs in {elapsed:.2} s = {} readings/s, {:.0} inputs/s; backend {:.2} s CPU, node {:.2} s CPU; same map root: {same}; load {load}",
                n(readings as f64 / elapsed),
                count as f64 / elapsed,
                backend_cpu.unwrap_or(f64::NAN),
                node_cpu
            ),
        );
        if !same {
            return Err(format!(
                "replay diverged: map root {root} after {count} inputs, {first_root} after {processed}"
            )
            .into());
        }
        runs.push(
            json!({"seconds": elapsed, "readings_per_s": readings as f64 / elapsed,
            "backend_cpu_s": backend_cpu, "node_cpu_s": node_cpu, "load_average": load}),
        );
        progress.inc(1);
    }
    progress.finish_and_clear();
    rig.stop_node().await;
    let seconds = sorted(runs.iter().filter_map(|r| r["seconds"].as_f64()).collect());
    let median = percentile(&seconds, 50.0);
    let rate = readings as f64 / median;
    println!(
        "\nreplay of {} inputs ({} readings): median {:.2} s = {} readings/s over {} restarts; target ≥ 50,000 readings/s: {}",
        processed,
        n(readings as f64),
        median,
        n(rate),
        runs.len(),
        if rate >= 50_000.0 { "met" } else { "MISSED" }
    );
    Ok(json!({
        "bench": "replay",
        "inputs": processed,
        "reading_inputs": args.inputs,
        "readings": readings,
        "envelopes": envelopes,
        "per_envelope": args.per_envelope,
        "first_pass_seconds": first.as_secs_f64(),
        "first_pass_backend_cpu_s": backend_cpu,
        "first_pass_node_cpu_s": first_self,
        "first_pass_anvil_cpu_s": first_anvil,
        "runs": runs,
        "median_seconds": median,
        "readings_per_s": rate,
        "map_root": first_root,
        "load_average": load_average(),
    }))
}
