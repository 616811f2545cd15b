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

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::{Value, json};
use witness_chain::primitives::{Address, B256};
use witness_chain::{
    ADMIN_ACCOUNT, AddedInput, AnvilOptions, AnvilProcess, Deployment, GATEWAY_ACCOUNT, add_input,
    decode_evm_advance, deploy_application, deploy_core, dev_accounts, input_added_logs,
};
use witness_node::{Node, NodeConfig, NodeHandle};
use witness_node_client::{NodeClient, NodeEndpoints, quantity};
use witness_protocol::api::{InspectAnswer, InspectQuery, Report};
use witness_protocol::{
    BackendPublicKey, BackendSecretKey, DeviceId, Envelope, GatewayAuthorization, MAX_INPUT_LEN,
    Message, ModelId, Reading, RegistrarAction, RegistrarMessage, RollupInput, SigningKey,
};

use crate::CliResult;
use crate::keys::LocalKeys;
use crate::system::SystemInfo;

/// EIP-7623 floor per calldata byte: 10 gas per token, a non-zero byte is 4 tokens.
const FLOOR_NONZERO: u64 = 40;
const FLOOR_ZERO: u64 = 10;
/// A transaction's base cost.
const TX_BASE: u64 = 21_000;
/// The original design's input: about 1,190 bytes per reading (RSA-2048 signature, PEM key,
/// base64; PROTOCOL.md section 11).
const BASELINE_BYTES: usize = 1_190;
/// The gas target per attested reading.
const GAS_TARGET: f64 = 1_000.0;
/// How often observers poll in the latency run.
const POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Gas per attested reading for readings/envelope × envelopes/input, and the baseline.
    Gas(GasArgs),
    /// The shape and gas of the default `witness up` fleet (runs it for a while).
    Fleet(FleetArgs),
    /// Device → attested and queryable latency through `witness up` with 1 s blocks.
    Latency(LatencyArgs),
    /// The node's replay after a restart, with the real backend.
    Replay(ReplayArgs),
    /// `witness verify` from L1 only, repeated against `witness up`.
    Verify(VerifyBenchArgs),
}

#[derive(Debug, Args)]
struct VerifyBenchArgs {
    #[command(flatten)]
    common: Common,
    /// Verifications to time.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Cars of the `witness up` fleet.
    #[arg(long, default_value_t = 10)]
    devices: usize,
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

#[derive(Debug, Args)]
struct GasArgs {
    #[command(flatten)]
    common: Common,
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

#[derive(Debug, Args)]
struct FleetArgs {
    #[command(flatten)]
    common: Common,
    /// How long to let the default fleet run.
    #[arg(long, default_value_t = 150)]
    seconds: u64,
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

#[derive(Debug, Args)]
struct LatencyArgs {
    #[command(flatten)]
    common: Common,
    /// Readings to send (one envelope each).
    #[arg(long, default_value_t = 100)]
    readings: usize,
    /// Milliseconds between readings.
    #[arg(long, default_value_t = 500)]
    interval_ms: u64,
    /// Seconds between blocks.
    #[arg(long, default_value_t = 1.0)]
    block_time: f64,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    #[command(flatten)]
    common: Common,
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
    println!("{}", machine_line());
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, async {
        match args.what {
            What::Gas(a) => gas(a, &work.path).await,
            What::Fleet(a) => fleet(a, &work.path).await,
            What::Latency(a) => latency(a, &work.path).await,
            What::Replay(a) => replay(a, &work.path).await,
            What::Verify(a) => verify(a, &work.path).await,
        }
    })
    .await
    .map_err(|_| format!("gave up after {} s (--timeout)", timeout.as_secs()))??;
    println!(
        "\ndone in {:.1} s; {}",
        started.elapsed().as_secs_f64(),
        load_line()
    );
    if let Some(path) = &common.json {
        let mut result = result;
        result["machine"] = machine_json();
        std::fs::write(path, serde_json::to_string_pretty(&result)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("results written to {}", path.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Machine and working directory
// ---------------------------------------------------------------------------------------------

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn load_line() -> String {
    format!("load average {}", load_average())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

fn machine_line() -> String {
    format!("machine: {} × {}; {}", cpus(), cpu_model(), load_line())
}

fn machine_json() -> Value {
    json!({"cpus": cpus(), "cpu": cpu_model(), "load_at_end": load_average()})
}

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

fn backend_binary(common: &Common) -> Result<PathBuf, String> {
    if let Some(path) = &common.backend {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name("witness-backend");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build --release -p witness-backend`",
            path.display()
        ))
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {what} {{bar:30}} {{pos}}/{{len}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn say(bar: &ProgressBar, text: &str) {
    if bar.is_hidden() {
        println!("{text}");
    } else {
        bar.println(text);
    }
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Child processes of this process, except `skip`.
fn children(skip: u32) -> Vec<u32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != skip)
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .and_then(|(_, r)| r.split_whitespace().nth(1).map(|p| p == me))
                })
                .unwrap_or(false)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Small helpers: JSON-RPC, inspect, statistics
// ---------------------------------------------------------------------------------------------

/// One JSON-RPC call to the chain; its `result`. (The node is asked with [`NodeClient`].)
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

/// The client of the node `witness up` runs.
fn system_node(system: &SystemInfo) -> NodeClient {
    NodeClient::new(NodeEndpoints {
        inspect_url: system.node_inspect_url.clone(),
        rpc_url: system.node_rpc_url.clone(),
    })
}

/// The last consumed counter of a device as the node reports it (`None`: unknown device or
/// no counter yet).
async fn device_counter(node: &NodeClient, query: &InspectQuery) -> CliResult<Option<u64>> {
    match node.inspect(query).await?.answer {
        InspectAnswer::Device(device) => Ok(device.leaf.and_then(|leaf| leaf.last_counter)),
        other => Err(format!("device query answered {other:?}").into()),
    }
}

/// The backend's `state`: its latest map root and how many inputs it processed.
async fn map_root(node: &NodeClient) -> CliResult<(String, u64)> {
    match node.inspect(&InspectQuery::State).await?.answer {
        InspectAnswer::State(state) => Ok((state.map_root, state.processed_inputs)),
        other => Err(format!("state query answered {other:?}").into()),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Thousands separators.
fn n(value: f64) -> String {
    let rounded = value.round() as i128;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}

/// Calldata floor of a payload: 40 gas per non-zero byte, 10 per zero byte.
fn payload_floor(payload: &[u8]) -> (u64, u64) {
    let zeros = payload.iter().filter(|b| **b == 0).count() as u64;
    let nonzero = payload.len() as u64 - zeros;
    (nonzero * FLOOR_NONZERO + zeros * FLOOR_ZERO, zeros)
}

// ---------------------------------------------------------------------------------------------
// A synthetic fleet (registered cars that drive and seal)
// ---------------------------------------------------------------------------------------------

struct Car {
    id: DeviceId,
    key: SigningKey,
    /// Last counter used.
    counter: u64,
    odometer_m: u64,
    engine_s: u32,
    time: u32,
}

/// Cars that report in turn, like `witness_backend::fixture::FleetFixture` but sealed to a
/// given backend key and with readings timed in the recent past (the backend refuses readings
/// older than 30 days or in the future).
struct SimFleet {
    cars: Vec<Car>,
    next: usize,
    backend: BackendPublicKey,
    rng: ChaCha20Rng,
}

impl SimFleet {
    fn new(devices: usize, backend: BackendPublicKey, start_time: u32, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let cars = (0..devices)
            .map(|i| Car {
                id: DeviceId::random(&mut rng),
                key: SigningKey::generate(&mut rng),
                counter: 0,
                odometer_m: 10_000_000 + 1_000 * i as u64,
                engine_s: 0,
                time: start_time,
            })
            .collect();
        Self {
            cars,
            next: 0,
            backend,
            rng,
        }
    }

    /// The registrar's enrolment of every car, packed into as few inputs as fit.
    fn registration_inputs(
        &self,
        registrar: &SigningKey,
        first_sequence: u64,
    ) -> CliResult<Vec<Vec<u8>>> {
        let mut messages = Vec::new();
        for (i, car) in self.cars.iter().enumerate() {
            messages.push(Message::Registrar(RegistrarMessage::sign(
                registrar,
                &self.backend,
                first_sequence + i as u64,
                RegistrarAction::RegisterDevice {
                    device_id: car.id,
                    model: ModelId(1 + (i % 6) as u32),
                    public_key: car.key.public_key(),
                },
            )?));
        }
        let mut inputs = Vec::new();
        for chunk in messages.chunks(300) {
            inputs.push(
                RollupInput {
                    messages: chunk.to_vec(),
                }
                .encode()?,
            );
        }
        Ok(inputs)
    }

    /// One envelope of `readings` from the next car; the car's counter moves only if `commit`.
    fn envelope(&mut self, readings: usize) -> CliResult<(usize, Envelope)> {
        let index = self.next % self.cars.len().max(1);
        let car = self.cars.get_mut(index).ok_or("the fleet has no cars")?;
        let batch: Vec<Reading> = (0..readings)
            .map(|_| {
                let dt = 540 + self.rng.next_u32() % 120;
                car.time += dt;
                car.odometer_m += 5_000 + u64::from(self.rng.next_u32() % 7_000);
                car.engine_s += dt * 4 / 5;
                Reading {
                    timestamp: car.time,
                    odometer_m: car.odometer_m,
                    fuel_ml: 300 + self.rng.next_u32() % 600,
                    engine_s: car.engine_s,
                    faults: vec![],
                }
            })
            .collect();
        let sealed = Envelope::seal(
            &car.key,
            &self.backend,
            car.id,
            car.counter + 1,
            &batch,
            &mut self.rng,
        )?;
        Ok((index, sealed.envelope))
    }

    /// An input of up to `max_envelopes` envelopes (`None`: as many as fit in `MAX_INPUT_LEN`)
    /// of `per_envelope` readings each: (payload, envelopes, readings).
    fn input(
        &mut self,
        per_envelope: usize,
        max_envelopes: Option<usize>,
    ) -> CliResult<(Vec<u8>, usize, usize)> {
        let mut messages = Vec::new();
        let mut body = 0usize;
        while max_envelopes.is_none_or(|max| messages.len() < max) {
            let (car, envelope) = self.envelope(per_envelope)?;
            let size =
                RollupInput::header_len(messages.len() + 1) + body + 1 + envelope.as_bytes().len();
            if size > MAX_INPUT_LEN || messages.len() == witness_protocol::MAX_MESSAGES {
                break;
            }
            body += 1 + envelope.as_bytes().len();
            if let Some(c) = self.cars.get_mut(car) {
                c.counter += per_envelope as u64;
            }
            self.next += 1;
            messages.push(Message::Envelope(envelope));
        }
        let envelopes = messages.len();
        Ok((
            RollupInput { messages }.encode()?,
            envelopes,
            envelopes * per_envelope,
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The in-process rig: anvil, contracts, node with the real backend
// ---------------------------------------------------------------------------------------------

struct Rig {
    anvil: AnvilProcess,
    deployment: Deployment,
    backend_key: BackendSecretKey,
    registrar: SigningKey,
    node_config: NodeConfig,
    node: Option<NodeHandle>,
    /// Inputs added so far (all of them go to the application).
    inputs: u64,
}

impl Rig {
    async fn start(
        dir: &Path,
        backend: &Path,
        wrapper: Option<&str>,
        block_time: Option<f64>,
    ) -> CliResult<Self> {
        let anvil = AnvilProcess::spawn(AnvilOptions {
            block_time,
            log_file: Some(dir.join("anvil.log")),
            ..AnvilOptions::default()
        })
        .await?;
        let rpc_url = anvil.rpc_url().to_owned();
        let admin = dev_accounts()[ADMIN_ACCOUNT].private_key;
        deploy_core(&rpc_url, admin).await?;
        let deployment = deploy_application(&rpc_url, admin, 10, B256::ZERO, B256::ZERO).await?;
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let backend_key = BackendSecretKey::generate(&mut rng);
        let registrar = SigningKey::generate(&mut rng);
        let mut command: Vec<String> = wrapper
            .map(|w| w.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        command.push(backend.display().to_string());
        let mut node_config =
            NodeConfig::from_deployment(&deployment, command, dir.join("node.sqlite"))
                .with_ephemeral_ports();
        // Claims are not part of any measurement here; the admin account stays free.
        node_config.claimer_key = None;
        node_config.inspect_timeout = Duration::from_secs(1_200);
        node_config.app_env = vec![
            (
                "WITNESS_ADMIN_ADDRESS".into(),
                format!("{:#x}", deployment.application_owner),
            ),
            (
                "WITNESS_ROOT_REGISTRARS".into(),
                hex::encode(registrar.public_key().to_bytes()),
            ),
            (
                "WITNESS_BACKEND_SECRET_KEY".into(),
                hex::encode(*backend_key.to_bytes()),
            ),
        ];
        Ok(Self {
            anvil,
            deployment,
            backend_key,
            registrar,
            node_config,
            node: None,
            inputs: 0,
        })
    }

    fn backend_public(&self) -> BackendPublicKey {
        self.backend_key.public_key().clone()
    }

    async fn start_node(&mut self) -> CliResult {
        self.node = Some(Node::start(self.node_config.clone()).await?);
        Ok(())
    }

    fn node(&self) -> Result<&NodeHandle, String> {
        self.node
            .as_ref()
            .ok_or_else(|| "the node is not running".into())
    }

    fn node_client(&self) -> Result<NodeClient, String> {
        let node = self.node()?;
        Ok(NodeClient::new(NodeEndpoints::new(
            &format!("http://{}", node.inspect_addr),
            &format!("http://{}", node.rpc_addr),
            &format!("{:#x}", self.deployment.application),
        )))
    }

    /// The backend process (a child of this process other than anvil).
    fn backend_pid(&self) -> Option<u32> {
        children(self.anvil.pid()).into_iter().next()
    }

    /// Stops the backend with SIGTERM (so that a profiler wrapping it can write its results),
    /// then the node.
    async fn stop_node(&mut self) {
        if let Some(pid) = self.backend_pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(120);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                // A zombie is gone as far as we are concerned.
                let state =
                    std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if state
                    .rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if let Some(node) = self.node.take() {
            node.shutdown().await;
        }
    }

    async fn send(&mut self, account: usize, payload: Vec<u8>) -> CliResult<AddedInput> {
        let key = dev_accounts()[account].private_key;
        let added = add_input(
            self.anvil.rpc_url(),
            key,
            self.deployment.input_box,
            self.deployment.application,
            payload,
        )
        .await?;
        self.inputs += 1;
        Ok(added)
    }

    /// The admin authorizes the gateway account; the registrar's enrolment of every car is
    /// relayed by the gateway account.
    async fn enrol(&mut self, fleet: &SimFleet) -> CliResult {
        let gateway = dev_accounts()[GATEWAY_ACCOUNT].address;
        let payload = RollupInput {
            messages: vec![Message::GatewayAuthorization(GatewayAuthorization {
                gateway: gateway.into_array(),
                authorized: true,
            })],
        }
        .encode()?;
        self.send(ADMIN_ACCOUNT, payload).await?;
        for input in fleet.registration_inputs(&self.registrar, 1)? {
            self.send(GATEWAY_ACCOUNT, input).await?;
        }
        Ok(())
    }

    async fn wait_processed(&self, count: u64, limit: Duration) -> CliResult<Duration> {
        let started = Instant::now();
        let node = self.node_client()?;
        loop {
            if let Ok(done) = node.processed_input_count().await
                && done >= count
            {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                return Err(format!("the node did not process {count} inputs in {limit:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `readings_attested` of the backend's report on input `index`.
    async fn attested(&self, index: u64) -> CliResult<u64> {
        let reports = self.node_client()?.reports_of_input(index).await?;
        Ok(reports
            .iter()
            .map(|report| match report {
                Report::InputAccepted {
                    readings_attested, ..
                } => *readings_attested,
                _ => 0,
            })
            .sum())
    }
}

fn unix_now_u32() -> u32 {
    u32::try_from(crate::up::unix_now()).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------------------------
// bench gas
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, serde::Serialize)]
struct GasRow {
    readings_per_envelope: usize,
    envelopes: usize,
    readings: usize,
    payload_bytes: usize,
    zero_bytes: u64,
    gas_used: u64,
    floor: u64,
    attested: u64,
    input_index: u64,
}

impl GasRow {
    fn gas_per_reading(&self) -> f64 {
        self.gas_used as f64 / self.readings.max(1) as f64
    }
}

async fn gas(args: GasArgs, dir: &Path) -> CliResult<Value> {
    let backend = backend_binary(&args.common)?;
    println!("gas: fresh anvil (automine), Cartesi Rollups v2.2, node + real backend");
    let mut rig = Rig::start(dir, &backend, None, None).await?;
    rig.start_node().await?;
    let start = unix_now_u32() - 20 * 86_400;
    let mut fleet = SimFleet::new(args.devices, rig.backend_public(), start, 42);
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

/// A log-log chart of gas per reading against envelopes per input.
fn gas_svg(rows: &[GasRow], baseline: f64, load: &str) -> String {
    let (width, height) = (840.0, 470.0);
    let (left, right, top, bottom) = (84.0, 600.0, 50.0, 400.0);
    let (x_min, x_max) = (0.0f64, 3.0f64); // log10 envelopes: 1 .. 1000
    let (y_min, y_max) = (2.5f64, 5.3f64); // log10 gas: ~316 .. ~200,000
    let x = |v: f64| left + (v.log10() - x_min) / (x_max - x_min) * (right - left);
    let y = |v: f64| bottom - (v.log10() - y_min) / (y_max - y_min) * (bottom - top);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{left}" y="24" font-size="15" font-weight="bold">Gas per attested reading vs envelopes per input (anvil 1.7.1, EIP-7623 floor)</text>
<text x="{left}" y="40" fill="#555">witness bench gas; log-log; load average at the end {load}</text>"##
    );
    // Grid.
    for v in [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0] {
        let major = [1.0, 10.0, 100.0, 1000.0].contains(&v);
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{bottom}" stroke="{1}"/>"##,
            x(v),
            if major { "#bbbbbb" } else { "#eeeeee" }
        );
        if major || [5.0, 50.0, 500.0].contains(&v) {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x(v),
                bottom + 18.0,
                n(v)
            );
        }
    }
    for v in [
        500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0, 200_000.0,
    ] {
        let major = [1_000.0, 10_000.0, 100_000.0].contains(&v);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{0:.1}" x2="{right}" y2="{0:.1}" stroke="{1}"/>
<text x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            y(v),
            if major { "#bbbbbb" } else { "#eeeeee" },
            left - 6.0,
            y(v) + 4.0,
            n(v)
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#333"/>
<text x="{}" y="{}" text-anchor="middle">envelopes per input (the rightmost point of each curve: as many as fit in 65,216 bytes)</text>
<text x="20" y="{}" transform="rotate(-90 20 {})" text-anchor="middle">gas per reading</text>"##,
        right - left,
        bottom - top,
        (left + right) / 2.0,
        bottom + 40.0,
        (top + bottom) / 2.0,
        (top + bottom) / 2.0
    );
    // Baseline and target.
    let _ = writeln!(
        svg,
        r##"<line x1="{left}" y1="{0:.1}" x2="{right}" y2="{0:.1}" stroke="#d62728" stroke-width="2" stroke-dasharray="8 5"/>
<line x1="{left}" y1="{1:.1}" x2="{right}" y2="{1:.1}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="2 4"/>"##,
        y(baseline),
        y(GAS_TARGET)
    );
    let colors = [(1usize, "#1f77b4"), (4, "#ff7f0e"), (16, "#9467bd")];
    for (per_envelope, color) in colors {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.readings_per_envelope == per_envelope)
            .map(|r| (x(r.envelopes as f64), y(r.gas_per_reading())))
            .collect();
        let line = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            svg,
            r#"<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>"#
        );
        for (row, (px, py)) in rows
            .iter()
            .filter(|r| r.readings_per_envelope == per_envelope)
            .zip(&points)
        {
            let _ = writeln!(
                svg,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="4" fill="{color}"><title>{} readings/envelope, {} envelopes: {} gas/reading</title></circle>"#,
                per_envelope,
                row.envelopes,
                n(row.gas_per_reading())
            );
        }
        if let (Some(last), Some((px, py))) = (
            rows.iter()
                .rev()
                .find(|r| r.readings_per_envelope == per_envelope),
            points.last(),
        ) {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" fill="{color}">{}</text>"#,
                px + 7.0,
                py + 4.0,
                n(last.gas_per_reading())
            );
        }
    }
    // Legend.
    let lx = right + 20.0;
    let mut ly = top + 10.0;
    for (per_envelope, color) in colors {
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"/><circle cx="{}" cy="{ly}" r="4" fill="{color}"/>
<text x="{}" y="{}">{per_envelope} reading{} / envelope</text>"#,
            lx + 28.0,
            lx + 14.0,
            lx + 36.0,
            ly + 4.0,
            if per_envelope == 1 { "" } else { "s" }
        );
        ly += 24.0;
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{lx}" y1="{ly}" x2="{0}" y2="{ly}" stroke="#d62728" stroke-width="2" stroke-dasharray="8 5"/>
<text x="{1}" y="{2}">baseline: {3} gas</text>
<text x="{1}" y="{4}">(1,190 B/reading, 1 tx each)</text>
<line x1="{lx}" y1="{5}" x2="{0}" y2="{5}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="2 4"/>
<text x="{1}" y="{6}">target: 1,000 gas</text>"##,
        lx + 28.0,
        lx + 36.0,
        ly + 4.0,
        n(baseline),
        ly + 20.0,
        ly + 44.0,
        ly + 48.0
    );
    svg.push_str("</svg>\n");
    svg
}

// ---------------------------------------------------------------------------------------------
// `witness up` as a subprocess
// ---------------------------------------------------------------------------------------------

struct UpProcess {
    child: Child,
    data: PathBuf,
    system: SystemInfo,
}

impl UpProcess {
    async fn start(dir: &Path, common: &Common, extra: &[String]) -> CliResult<Self> {
        let exe = std::env::current_exe()?;
        let data = dir.join("up");
        let stdout = std::fs::File::create(dir.join("up.out"))?;
        let stderr = stdout.try_clone()?;
        let mut command = Command::new(exe);
        command
            .arg("up")
            .arg("--fresh")
            .arg("--random-ports")
            .arg("--data-dir")
            .arg(&data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        if let Some(backend) = &common.backend {
            command.arg("--backend").arg(backend);
        }
        let mut child = command.spawn()?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(format!(
                    "witness up exited ({status}); see {}",
                    dir.join("up.out").display()
                )
                .into());
            }
            let ready = std::fs::read_to_string(dir.join("up.out"))
                .is_ok_and(|out| out.lines().any(|l| l == "ready"));
            if ready && let Ok(system) = SystemInfo::load(&data) {
                return Ok(Self {
                    child,
                    data,
                    system,
                });
            }
            if started.elapsed() > Duration::from_secs(180) {
                let _ = child.kill();
                return Err("witness up was not ready within 180 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then up to 20 s for a clean stop.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for UpProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn metric(http: &reqwest::Client, url: &str, name: &str) -> Option<f64> {
    let text = http.get(url).send().await.ok()?.text().await.ok()?;
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

// ---------------------------------------------------------------------------------------------
// bench fleet
// ---------------------------------------------------------------------------------------------

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

async fn fleet(args: FleetArgs, dir: &Path) -> CliResult<Value> {
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
    let logs = input_added_logs(&rpc_url, input_box, application, 0, head).await?;
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

// ---------------------------------------------------------------------------------------------
// bench latency
// ---------------------------------------------------------------------------------------------

/// What the observers saw of one reading, in seconds since the start.
#[derive(Debug, Default, Clone)]
struct Track {
    counter: u64,
    hash: String,
    posted: Option<f64>,
    acked: Option<f64>,
    submitted: Option<f64>,
    input_index: Option<u64>,
    block: Option<u64>,
    visible: Option<f64>,
}

#[derive(Debug, Default)]
struct Seen {
    tracks: Vec<Track>,
    /// Block number → when the head poller first saw it.
    blocks: HashMap<u64, f64>,
    /// `processed[i]`: when the node's processed count first exceeded `i`.
    processed: Vec<f64>,
    stop: bool,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn latency(args: LatencyArgs, dir: &Path) -> CliResult<Value> {
    println!(
        "latency: `witness up` (1 car of its own, no history, {} s blocks) + one device driven here: {} readings, one every {} ms",
        args.block_time, args.readings, args.interval_ms
    );
    let up = UpProcess::start(
        dir,
        &args.common,
        &[
            "--devices".into(),
            "1".into(),
            "--history-days".into(),
            "0".into(),
            "--block-time".into(),
            args.block_time.to_string(),
            // The pipeline's latency: nothing held for cost.
            "--prompt".into(),
        ],
    )
    .await?;
    let system = up.system.clone();
    let keys = LocalKeys::load_or_create(&up.data)?;
    let http = reqwest::Client::new();

    // Our device, enrolled by the registrar through the gateway (sequence after the fleet's).
    let mut rng = ChaCha20Rng::seed_from_u64(unix_now_u32().into());
    let device_key = SigningKey::generate(&mut rng);
    let device_id = DeviceId::random(&mut rng);
    let message = RegistrarMessage::sign(
        &keys.registrar,
        keys.backend.public_key(),
        system.devices as u64 + 1,
        RegistrarAction::RegisterDevice {
            device_id,
            model: ModelId(1),
            public_key: device_key.public_key(),
        },
    )?;
    let gateway = system.gateway_url.clone();
    let login: Value = http
        .post(format!("{gateway}/v1/auth/login"))
        .json(&json!({"username": system.registrar_user, "password": system.demo_password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"].as_str().ok_or("registrar login failed")?;
    http.post(format!("{gateway}/v1/registrar/messages"))
        .bearer_auth(token)
        .json(&json!({"messages": [hex::encode(message.encode()?)]}))
        .send()
        .await?
        .error_for_status()?;
    let node = system_node(&system);
    let device_query = InspectQuery::Device {
        device_id: device_id.to_hex(),
    };
    let enrolled = Instant::now();
    loop {
        if let Ok(inspected) = node.inspect(&device_query).await
            && matches!(inspected.answer, InspectAnswer::Device(ref d) if d.exists)
        {
            break;
        }
        if enrolled.elapsed() > Duration::from_secs(60) {
            return Err("the device was not registered within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "device {} registered ({:.1} s after the request)",
        device_id.to_hex(),
        enrolled.elapsed().as_secs_f64()
    );
    let node_metrics = system.node_rpc_url.replace("/rpc", "/metrics");
    let backend_before = (
        metric(&http, &node_metrics, "witness_node_backend_seconds_sum").await,
        metric(&http, &node_metrics, "witness_node_backend_seconds_count").await,
    );

    let t0 = Instant::now();
    let since = move || t0.elapsed().as_secs_f64();
    let shared: Shared = Arc::new(Mutex::new(Seen::default()));
    let mut observers = Vec::new();
    // Chain head.
    observers.push(tokio::spawn({
        let (shared, http, url) = (shared.clone(), http.clone(), system.chain_rpc_url.clone());
        async move {
            let mut last = None::<u64>;
            while !lock(&shared).stop {
                if let Ok(head) = rpc(&http, &url, "eth_blockNumber", json!([])).await
                    && let Some(head) = quantity(&head)
                {
                    let now = since();
                    let mut seen = lock(&shared);
                    for block in last.map_or(head, |l| l + 1)..=head {
                        seen.blocks.entry(block).or_insert(now);
                    }
                    last = Some(head);
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }));
    // Node processed count.
    observers.push(tokio::spawn({
        let (shared, node) = (shared.clone(), node.clone());
        async move {
            while !lock(&shared).stop {
                if let Ok(count) = node.processed_input_count().await {
                    let now = since();
                    let mut seen = lock(&shared);
                    while (seen.processed.len() as u64) < count {
                        seen.processed.push(now);
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }));
    // Gateway receipts.
    observers.push(tokio::spawn({
        let (shared, http, gateway) = (shared.clone(), http.clone(), gateway.clone());
        async move {
            while !lock(&shared).stop {
                let open: Vec<(usize, String)> = lock(&shared)
                    .tracks
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.acked.is_some() && t.block.is_none())
                    .map(|(i, t)| (i, t.hash.clone()))
                    .collect();
                for (i, hash) in open {
                    let Ok(response) = http
                        .get(format!("{gateway}/v1/receipts/{hash}"))
                        .send()
                        .await
                    else {
                        continue;
                    };
                    let Ok(receipt) = response.json::<Value>().await else {
                        continue;
                    };
                    let now = since();
                    let mut seen = lock(&shared);
                    let Some(track) = seen.tracks.get_mut(i) else {
                        continue;
                    };
                    match receipt["status"].as_str() {
                        Some("submitted") => {
                            track.submitted.get_or_insert(now);
                        }
                        Some("included" | "attested") => {
                            track.input_index = receipt["input_index"].as_u64();
                            track.block = receipt["block_number"].as_u64();
                        }
                        _ => {}
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }));
    // The device's state in the rollup.
    observers.push(tokio::spawn({
        let (shared, node) = (shared.clone(), node.clone());
        let query = device_query.clone();
        async move {
            while !lock(&shared).stop {
                if let Ok(Some(last)) = device_counter(&node, &query).await {
                    let now = since();
                    for track in &mut lock(&shared).tracks {
                        if track.counter <= last && track.posted.is_some() {
                            track.visible.get_or_insert(now);
                        }
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }));

    let backend = keys.backend.public_key().clone();
    let progress = bar(args.readings as u64, "readings");
    let mut odometer = 42_000_000u64;
    let mut engine = 0u32;
    let mut next = tokio::time::interval(Duration::from_millis(args.interval_ms));
    next.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..args.readings {
        next.tick().await;
        odometer += 700 + u64::from(rng.next_u32() % 300);
        engine += 30;
        let counter = i as u64 + 1;
        let reading = Reading {
            timestamp: unix_now_u32(),
            odometer_m: odometer,
            fuel_ml: 50,
            engine_s: engine,
            faults: vec![],
        };
        let sealed = Envelope::seal(
            &device_key,
            &backend,
            device_id,
            counter,
            &[reading],
            &mut rng,
        )?;
        lock(&shared).tracks.push(Track {
            counter,
            posted: Some(since()),
            ..Track::default()
        });
        let response = http
            .post(format!("{gateway}/v1/readings"))
            .header("content-type", "application/octet-stream")
            .body(sealed.envelope.as_bytes().to_vec())
            .send()
            .await?
            .error_for_status()?;
        let acked = since();
        let answer: Value = response.json().await?;
        let hash = answer["receipts"][0]["envelope_hash"]
            .as_str()
            .ok_or("no receipt")?
            .to_owned();
        if let Some(track) = lock(&shared).tracks.get_mut(i) {
            track.acked = Some(acked);
            track.hash = hash;
        }
        progress.inc(1);
    }
    progress.set_message("waiting for the last ones");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        {
            let seen = lock(&shared);
            if seen
                .tracks
                .iter()
                .all(|t| t.visible.is_some() && t.block.is_some())
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lock(&shared).stop = true;
    for observer in observers {
        let _ = observer.await;
    }
    progress.finish_and_clear();
    let backend_after = (
        metric(&http, &node_metrics, "witness_node_backend_seconds_sum").await,
        metric(&http, &node_metrics, "witness_node_backend_seconds_count").await,
    );
    let batch_sizes = {
        let seen = lock(&shared);
        let mut per_input: BTreeMap<u64, usize> = BTreeMap::new();
        for t in &seen.tracks {
            if let Some(i) = t.input_index {
                *per_input.entry(i).or_default() += 1;
            }
        }
        per_input.values().map(|v| *v as f64).collect::<Vec<_>>()
    };
    drop(up);

    let seen = lock(&shared);
    let mut stages: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut missing = 0;
    for t in &seen.tracks {
        let (Some(posted), Some(visible)) = (t.posted, t.visible) else {
            missing += 1;
            continue;
        };
        stages
            .entry("0 total: POST → queryable")
            .or_default()
            .push(visible - posted);
        let block_seen = t.block.and_then(|b| seen.blocks.get(&b).copied());
        let processed = t
            .input_index
            .and_then(|i| seen.processed.get(usize::try_from(i).ok()?).copied());
        if let Some(acked) = t.acked {
            stages
                .entry("1 intake: POST → 202")
                .or_default()
                .push(acked - posted);
            if let Some(submitted) = t.submitted {
                stages
                    .entry("2 batch wait: 202 → addInput sent")
                    .or_default()
                    .push(submitted - acked);
                if let Some(block) = block_seen {
                    stages
                        .entry("3 mined: sent → block seen")
                        .or_default()
                        .push(block - submitted);
                }
            }
        }
        if let (Some(block), Some(processed)) = (block_seen, processed) {
            stages
                .entry("4 node: block → input processed")
                .or_default()
                .push(processed - block);
            stages
                .entry("5 inspect: processed → counter visible")
                .or_default()
                .push(visible - processed);
        }
    }
    let load = load_average();
    println!("\n| stage (s) | n | mean | p50 | p95 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    let mut summary = serde_json::Map::new();
    for (stage, values) in &stages {
        let s = sorted(values.clone());
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            &stage[2..],
            s.len(),
            mean(&s),
            percentile(&s, 50.0),
            percentile(&s, 95.0),
            percentile(&s, 99.0),
            s.last().copied().unwrap_or(f64::NAN)
        );
        summary.insert(
            stage[2..].to_owned(),
            json!({"n": s.len(), "mean": mean(&s), "p50": percentile(&s, 50.0),
                   "p95": percentile(&s, 95.0), "p99": percentile(&s, 99.0), "max": s.last()}),
        );
    }
    let backend_per_input = match (backend_before, backend_after) {
        ((Some(s0), Some(c0)), (Some(s1), Some(c1))) if c1 > c0 => Some((s1 - s0) / (c1 - c0)),
        _ => None,
    };
    let total = sorted(
        stages
            .get("0 total: POST → queryable")
            .cloned()
            .unwrap_or_default(),
    );
    let p95 = percentile(&total, 95.0);
    println!(
        "\nbackend time per input (node metric): {}; our readings per input: mean {:.2}; not seen: {missing}; observers poll every {} ms; {}",
        backend_per_input.map_or("?".into(), |s| format!("{:.2} ms", s * 1e3)),
        mean(&batch_sizes),
        POLL.as_millis(),
        load_line()
    );
    println!(
        "target p95 ≤ 3 s: {} (p95 {p95:.2} s)",
        if p95 <= 3.0 { "met" } else { "MISSED" }
    );
    Ok(json!({
        "bench": "latency",
        "readings": args.readings,
        "interval_ms": args.interval_ms,
        "block_time": args.block_time,
        "stages": summary,
        "backend_seconds_per_input": backend_per_input,
        "readings_per_input_mean": mean(&batch_sizes),
        "missing": missing,
        "load_average": load,
    }))
}

// ---------------------------------------------------------------------------------------------
// bench replay
// ---------------------------------------------------------------------------------------------

async fn replay(args: ReplayArgs, dir: &Path) -> CliResult<Value> {
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
    let mut fleet = SimFleet::new(args.devices, rig.backend_public(), start, 42);
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
    let cpu_self = || cpu_seconds("self").unwrap_or(0.0);
    let self0 = cpu_self();
    let started = Instant::now();
    let anvil_pid = rig.anvil.pid().to_string();
    let anvil0 = cpu_seconds(&anvil_pid).unwrap_or(0.0);
    rig.start_node().await?;
    rig.wait_processed(total_inputs, Duration::from_secs(1_200))
        .await?;
    let first = started.elapsed();
    // The backend's CPU time since it started: the whole pass.
    let backend_cpu = rig.backend_pid().and_then(|p| cpu_seconds(&p.to_string()));
    let first_self = cpu_self() - self0;
    let first_anvil = cpu_seconds(&anvil_pid).unwrap_or(0.0) - anvil0;
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
        let backend_cpu = rig.backend_pid().and_then(|p| cpu_seconds(&p.to_string()));
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

// ---------------------------------------------------------------------------------------------
// `witness bench verify`
// ---------------------------------------------------------------------------------------------

async fn verify(args: VerifyBenchArgs, dir: &Path) -> CliResult<Value> {
    println!(
        "verify: `witness up` ({} cars, 3 days of history, 0.5 s blocks, epochs of 4 blocks), then {} verifications of one honest car",
        args.devices, args.runs
    );
    let up = UpProcess::start(
        dir,
        &args.common,
        &[
            "--devices".into(),
            args.devices.to_string(),
            "--history-days".into(),
            "3".into(),
            "--block-time".into(),
            "0.5".into(),
            "--epoch-length".into(),
            "4".into(),
            "--prompt".into(),
        ],
    )
    .await?;
    let setup = crate::verify::setup_with(&crate::verify::PinArgs::data_dir(&up.data)).await?;
    let rolled_back = &up.system.rolled_back_devices;
    let http = reqwest::Client::new();
    let devices: Value = http
        .get(format!("{}/devices", up.system.local_link_url))
        .send()
        .await?
        .json()
        .await?;
    let car = devices["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str())
        .find(|id| !rolled_back.iter().any(|r| r == id))
        .ok_or("no honest car")?
        .to_owned();
    // Wait until the car's history is claimed: its verdict is `consistent`.
    let ready = Instant::now();
    loop {
        let report = crate::verify::verify(&setup, &car, Duration::from_secs(30)).await;
        if report.verdict == "consistent" {
            break;
        }
        if ready.elapsed() > Duration::from_secs(300) {
            return Err(format!("{car} never verified consistent: {:?}", report.findings).into());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let bar = bar(args.runs as u64, "verifications");
    let mut seconds = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let started = Instant::now();
        let report = crate::verify::verify(&setup, &car, Duration::ZERO).await;
        seconds.push(started.elapsed().as_secs_f64());
        if report.verdict != "consistent" {
            return Err(format!("{car}: {} {:?}", report.verdict, report.findings).into());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    seconds.sort_by(f64::total_cmp);
    let ms = |p: f64| percentile(&seconds, p) * 1000.0;
    println!(
        "\n| runs | p50 (ms) | p95 (ms) | max (ms) |\n|---|---|---|---|\n| {} | {:.0} | {:.0} | {:.0} |",
        seconds.len(),
        ms(50.0),
        ms(95.0),
        seconds.last().copied().unwrap_or(0.0) * 1000.0
    );
    Ok(json!({
        "runs": seconds.len(),
        "p50_ms": ms(50.0),
        "p95_ms": ms(95.0),
        "max_ms": seconds.last().map(|s| s * 1000.0),
        "device": car,
    }))
}
