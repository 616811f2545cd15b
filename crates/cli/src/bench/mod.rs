//! `witness bench …`: measurements of the real system on loopback, as documented in
//! `docs/BENCHMARKS.md`.
//!
//! - `gas`: gas per attested reading for a grid of input shapes, on a fresh anvil with the real
//!   contracts, against the original design's one-transaction-per-reading baseline;
//! - `fleet`: the shape (readings per envelope, envelopes per input) and the gas the default
//!   `witness up` fleet actually produces;
//! - `latency`: device → attested and queryable, through `witness up` (1 s blocks);
//! - `replay`: the node's replay after a restart with the real backend;
//! - `verify`: `witness verify` (PROTOCOL.md 17) of a car of a running `witness up`, repeated.
//!
//! Every run is bounded in time (`--timeout`) and prints the machine's load next to its figures.
//!
//! One module per benchmark; [`rig`] starts what they measure, [`sim`] is the synthetic fleet,
//! [`machine`] reads the machine's and the processes' figures and [`report`] writes tables,
//! statistics and the chart.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::CliResult;

mod fleet;
mod gas;
mod latency;
mod machine;
mod replay;
mod report;
mod rig;
mod sim;
mod verify;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Gas per attested reading for readings/envelope × envelopes/input, and the baseline.
    Gas(gas::GasArgs),
    /// The shape and gas of the default `witness up` fleet (runs it for a while).
    Fleet(fleet::FleetArgs),
    /// Device → attested and queryable latency through `witness up` with 1 s blocks.
    Latency(latency::LatencyArgs),
    /// The node's replay after a restart, with the real backend.
    Replay(replay::ReplayArgs),
    /// `witness verify` from L1 only, repeated against `witness up`.
    Verify(verify::VerifyBenchArgs),
}

#[derive(Debug, Clone, Args)]
struct Common {
    /// Working directory (default: a fresh directory under the system's temp dir, removed at
    /// the end unless --keep).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the working directory.
    #[arg(long)]
    keep: bool,
    /// The backend binary (default: `witness-backend` next to this program).
    #[arg(long)]
    backend: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long)]
    timeout: Option<u64>,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub(crate) async fn run(args: BenchArgs) -> CliResult {
    let (common, default_timeout) = match &args.what {
        What::Gas(a) => (a.common.clone(), 900),
        What::Fleet(a) => (a.common.clone(), a.seconds + 300),
        What::Latency(a) => (a.common.clone(), 600),
        What::Replay(a) => (a.common.clone(), 1_800),
        What::Verify(a) => (a.common.clone(), 900),
    };
    let timeout = Duration::from_secs(common.timeout.unwrap_or(default_timeout));
    let work = WorkDir::new(&common)?;
    println!("{}", machine::machine_line());
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, async {
        match args.what {
            What::Gas(a) => gas::gas(a, &work.path).await,
            What::Fleet(a) => fleet::fleet(a, &work.path).await,
            What::Latency(a) => latency::latency(a, &work.path).await,
            What::Replay(a) => replay::replay(a, &work.path).await,
            What::Verify(a) => verify::verify(a, &work.path).await,
        }
    })
    .await
    .map_err(|_| format!("gave up after {} s (--timeout)", timeout.as_secs()))??;
    println!(
        "\ndone in {:.1} s; {}",
        started.elapsed().as_secs_f64(),
        machine::load_line()
    );
    if let Some(path) = &common.json {
        let mut result = result;
        result["machine"] = machine::machine_json();
        std::fs::write(path, serde_json::to_string_pretty(&result)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("results written to {}", path.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Working directory, backend, clock
// ---------------------------------------------------------------------------------------------

/// The run's working directory (`--work-dir`, or `<temp>/witness-bench-<pid>` removed unless
/// `--keep`).
// Not `tempfile`: it would rename the default directory; this is 20 lines.
struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl WorkDir {
    fn new(common: &Common) -> Result<Self, String> {
        let (path, remove) = match &common.work_dir {
            Some(dir) => (dir.clone(), false),
            None => (
                std::env::temp_dir().join(format!("witness-bench-{}", std::process::id())),
                !common.keep,
            ),
        };
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let path = path.canonicalize().map_err(|e| e.to_string())?;
        Ok(Self { path, remove })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn backend_binary(common: &Common) -> witness_system::Result<PathBuf> {
    common
        .backend
        .clone()
        .map_or_else(witness_system::installed_backend, Ok)
}

fn unix_now_u32() -> u32 {
    u32::try_from(crate::up::unix_now()).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------------------------
// Asking the chain and the services
// ---------------------------------------------------------------------------------------------

/// One JSON-RPC call to the chain; its `result`. (The node is asked with
/// [`witness_node_client::NodeClient`].)
// Not an alloy provider: one shared HTTP client, polled every 20 ms by the latency observers.
async fn rpc(http: &reqwest::Client, url: &str, method: &str, params: Value) -> CliResult<Value> {
    let answer: Value = http
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await?
        .json()
        .await?;
    if let Some(error) = answer.get("error") {
        return Err(format!("{method}: {error}").into());
    }
    Ok(answer["result"].clone())
}

/// One unlabelled sample (`name value`) of a Prometheus text exposition.
// No crate: a line lookup; a parser (`prometheus-parse`) would be a dependency for one `find`.
async fn metric(http: &reqwest::Client, url: &str, name: &str) -> Option<f64> {
    let text = http.get(url).send().await.ok()?.text().await.ok()?;
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}
