//! `witness up`: the whole system on loopback with embedded defaults: anvil with the Cartesi
//! contracts, the node driving the backend, the gateway with SQLite and the dashboard, and a
//! simulated fleet with its local link. Everything lives under one data directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use witness_chain::{AnvilOptions, AnvilProcess, Deployment, GATEWAY_ACCOUNT, dev_accounts};
use witness_devices::{Fleet, FleetSpec, LocalLink, RunOptions, SimClock, TamperAssignment};
use witness_gateway::{BatchConfig, ClientConfig, Gateway, Role};
use witness_node_client::{Inspected, NodeClient};
use witness_protocol::api::{ConfigAnswer, InspectAnswer, InspectQuery};
use witness_system::{Chain, ChainOpts, NodeOpts, RunningNode, gateway_config, node_config};

use crate::CliResult;
use crate::chain::wait_for_stop;
use crate::keys::LocalKeys;
use crate::system::{Anchors, AnchorsFile as _, SystemInfo};

#[derive(Debug, Clone, Args)]
pub(crate) struct UpArgs {
    /// Where everything is kept (keys, chain state, databases, fleet).
    #[arg(long, default_value = ".witness")]
    pub(crate) data_dir: PathBuf,
    /// Delete the data directory first and start over.
    #[arg(long)]
    pub(crate) fresh: bool,
    /// Cars in the simulated fleet.
    #[arg(long, default_value_t = 50)]
    pub(crate) devices: usize,
    /// Tamper scenarios, `INDEX=SCENARIO[@AFTER_READINGS]` (e.g. `7=rollback:60000@4`,
    /// `3=clone`, `5=replay`, `9=forge`, `11=swap`). Default: car 7 is rolled back.
    #[arg(long = "tamper")]
    pub(crate) tampers: Vec<TamperAssignment>,
    /// Days of simulated history the fleet drives before catching up with the wall clock.
    #[arg(long, default_value_t = 21)]
    pub(crate) history_days: u64,
    /// How many times faster than real time the fleet drives while catching up.
    #[arg(long, default_value_t = 20_000.0)]
    pub(crate) catch_up_speed: f64,
    /// Longest a car keeps readings unsealed while its 16-reading envelope fills, in hours
    /// (new fleets). Full envelopes are what make a reading cheap on chain.
    #[arg(long, default_value_t = 72.0)]
    pub(crate) seal_hold_hours: f64,
    /// The gateway sends a partial batch once it costs at most this much gas per reading
    /// (0: off, only the size and delay bounds decide).
    #[arg(long, default_value_t = 1_000)]
    pub(crate) batch_gas_target: u64,
    /// Longest a reading waits in the gateway for its batch, in seconds.
    #[arg(long, default_value_t = 86_400.0)]
    pub(crate) batch_max_delay: f64,
    /// Attest every reading within seconds instead: no hold (new fleets; with `--fresh` for an
    /// existing one), no gas target, 1 s batches. For a small fleet this costs tens of
    /// thousands of gas per reading (docs/BENCHMARKS.md).
    #[arg(long)]
    pub(crate) prompt: bool,
    /// Seconds between blocks.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) block_time: f64,
    /// Epoch length in blocks (claims are posted at the end of each epoch).
    #[arg(long, default_value_t = 10)]
    pub(crate) epoch_length: u64,
    /// Seed of the fleet (reproducible ids, keys and trips).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Bind every service to a free port instead of the defaults (tests).
    #[arg(long)]
    pub(crate) random_ports: bool,
    #[arg(long, default_value_t = 8545)]
    pub(crate) chain_port: u16,
    #[arg(long, default_value_t = 8080)]
    pub(crate) gateway_port: u16,
    #[arg(long, default_value_t = 10012)]
    pub(crate) inspect_port: u16,
    #[arg(long, default_value_t = 10011)]
    pub(crate) rpc_port: u16,
    #[arg(long, default_value_t = 5004)]
    pub(crate) rollup_port: u16,
    #[arg(long, default_value_t = 9700)]
    pub(crate) link_port: u16,
    /// The built dashboard (default: `web/dist` when present).
    #[arg(long)]
    pub(crate) web_dir: Option<PathBuf>,
    /// The backend binary (default: `witness-backend` next to this program).
    #[arg(long)]
    pub(crate) backend: Option<PathBuf>,
}

fn port(args: &UpArgs, port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], if args.random_ports { 0 } else { port }))
}

struct Steps {
    bar: ProgressBar,
    started: Instant,
}

impl Steps {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Self {
            bar,
            started: Instant::now(),
        }
    }

    fn step(&self, message: &str) {
        self.say(&format!(
            "  [{:>5.1}s] {message}",
            self.started.elapsed().as_secs_f64()
        ));
        self.bar.set_message(message.to_owned());
    }

    /// Prints above the spinner, or plainly when there is no terminal to draw it on.
    fn say(&self, text: &str) {
        if self.bar.is_hidden() {
            println!("{text}");
        } else {
            self.bar.println(text);
        }
    }
}

pub(crate) async fn run(args: UpArgs) -> CliResult {
    let steps = Steps::new();
    if args.fresh && args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)
            .map_err(|e| format!("{}: {e}", args.data_dir.display()))?;
    }
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("{}: {e}", args.data_dir.display()))?;
    let data = args.data_dir.canonicalize()?;
    log_to(&data.join("witness.log"))?;
    let keys = LocalKeys::load_or_create(&data)?;
    let backend_binary = match &args.backend {
        Some(path) => path.clone(),
        None => witness_system::installed_backend()?,
    };

    steps.step("starting anvil");
    let state_file = data.join("anvil-state.json");
    let anvil = AnvilProcess::spawn(AnvilOptions {
        port: port(&args, args.chain_port).port(),
        block_time: (args.block_time > 0.0).then_some(args.block_time),
        log_file: Some(data.join("anvil.log")),
        extra_args: vec![
            "--state".into(),
            state_file.display().to_string(),
            "--state-interval".into(),
            "2".into(),
        ],
        ..AnvilOptions::default()
    })
    .await?;

    steps.step("deploying the Cartesi Rollups v2.2 contracts and the application");
    let opts = ChainOpts {
        epoch_length: args.epoch_length,
        ..ChainOpts::default()
    };
    let mut chain = Chain::deploy(anvil, opts).await?;
    let rpc_url = chain.rpc_url().to_owned();
    let deployment = &chain.deployment;
    deployment.save(data.join("deployment.json"))?;
    reset_if_chain_was_lost(&data, deployment)?;

    steps.step("starting the node and the rollup backend");
    let mut node_config = node_config(
        deployment,
        NodeOpts {
            command: vec![backend_binary.display().to_string()],
            backend_key: &keys.backend,
            root_registrar: keys.registrar.public_key(),
            db_path: data.join("node.sqlite"),
        },
    );
    node_config.inspect_addr = port(&args, args.inspect_port);
    node_config.rpc_addr = port(&args, args.rpc_port);
    node_config.rollup_addr = port(&args, args.rollup_port);
    // The node polls a local chain: 100 ms instead of 500 ms takes ~0.2 s off device ->
    // attested (docs/BENCHMARKS.md) at no cost worth counting.
    node_config.poll_interval = Duration::from_millis(100);
    let node = RunningNode::start(node_config).await?;
    let application = format!("{:#x}", deployment.application);
    let inspect_url = node.endpoints().inspect_url.clone();
    let node_rpc_url = node.endpoints().rpc_url.clone();

    steps.step("authorizing the gateway account in the rollup");
    let http = reqwest::Client::new();
    authorize_gateway(&node.client(), &chain).await?;

    steps.step("preparing the fleet");
    let fleet_dir = data.join("fleet");
    let new_fleet = !fleet_dir.join("fleet.json").exists();
    let fleet = if new_fleet {
        let mut spec = FleetSpec::new(args.devices, chain.domain(keys.backend.public_key()));
        spec.seed = args.seed;
        spec.start_time = Some(unix_now().saturating_sub(args.history_days * 86_400));
        spec.buffer.max_hold_secs = if args.prompt {
            0
        } else {
            (args.seal_hold_hours.max(0.0) * 3600.0) as u64
        };
        spec.tampers = if args.tampers.is_empty() && args.devices > 7 {
            vec!["7=rollback:60000@4".parse()?]
        } else {
            args.tampers.clone()
        };
        Fleet::create(&fleet_dir, spec)?
    } else {
        let fleet = Fleet::load(&fleet_dir)?;
        if *fleet.domain() != chain.domain(keys.backend.public_key()) {
            return Err(format!(
                "the fleet in {} signs for another deployment (chain, application or backend \
                 key); remove it to create a new one",
                fleet_dir.display()
            )
            .into());
        }
        fleet
    };
    let link = LocalLink::serve(fleet.clone(), port(&args, args.link_port)).await?;

    steps.step("starting the gateway");
    let database = format!("sqlite://{}", data.join("gateway.sqlite").display());
    let mut gateway_config = gateway_config(database, &chain, &node);
    gateway_config.listen = port(&args, args.gateway_port);
    gateway_config.batch = if args.prompt {
        BatchConfig::default()
    } else {
        BatchConfig {
            max_delay: Duration::try_from_secs_f64(args.batch_max_delay)
                .map_err(|e| format!("--batch-max-delay: {e}"))?,
            gas_target: (args.batch_gas_target > 0).then_some(args.batch_gas_target),
            ..BatchConfig::default()
        }
    };
    gateway_config.backend_public_key = Some(keys.backend.public_key().clone());
    gateway_config.web_dir = args.web_dir.clone().or_else(default_web_dir);
    gateway_config.client = ClientConfig {
        node_inspect_url: Some(inspect_url.clone()),
        node_rpc_url: Some(node_rpc_url.clone()),
        chain_rpc_url: Some(rpc_url.clone()),
        application: Some(application.clone()),
        chain_id: Some(deployment.chain_id),
        local_link_url: Some(link.url()),
        backend_public_key: None,
    };
    gateway_config.bootstrap_accounts = vec![
        ("demo".into(), keys.demo_password.clone(), Role::Owner),
        (
            "registrar".into(),
            keys.demo_password.clone(),
            Role::Registrar,
        ),
        ("admin".into(), keys.demo_password.clone(), Role::Admin),
    ];
    let gateway = Gateway::start(gateway_config).await?;
    let gateway_url = format!("http://{}", gateway.addr);

    if new_fleet {
        register_fleet(&http, &gateway_url, &keys, &fleet).await?;
    }

    let rolled_back = fleet
        .devices()
        .iter()
        .filter(|d| matches!(d.scenario, Some(witness_devices::Scenario::Rollback { .. })))
        .map(|d| d.id.to_hex())
        .collect();
    let info = SystemInfo {
        chain_rpc_url: rpc_url.clone(),
        chain_id: deployment.chain_id,
        application: application.clone(),
        input_box: format!("{:#x}", deployment.input_box),
        node_inspect_url: inspect_url.clone(),
        node_rpc_url: node_rpc_url.clone(),
        gateway_url: gateway_url.clone(),
        local_link_url: link.url(),
        backend_public_key: hex::encode(keys.backend.public_key().to_bytes()),
        demo_user: "demo".into(),
        demo_password: keys.demo_password.clone(),
        registrar_user: "registrar".into(),
        rolled_back_devices: rolled_back,
        devices: fleet.devices().len(),
    };
    info.save(&data)?;
    // The pinned configuration a verifier trusts (PROTOCOL.md 17.1): written here, by whoever
    // deployed, never served by the gateway.
    let anchors = Anchors {
        chain_id: deployment.chain_id,
        application: application.clone(),
        consensus: format!("{:#x}", deployment.authority),
        backend_public_key: Some(info.backend_public_key.clone()),
        chain_rpc_url: Some(rpc_url.clone()),
        node_rpc_url: Some(node_rpc_url.clone()),
        node_inspect_url: Some(inspect_url.clone()),
    };
    anchors.save(&data)?;
    let pin_link = format!("{gateway_url}/#pin={}", anchors.to_link_fragment());

    let (stop_fleet, fleet_stopped) = tokio::sync::oneshot::channel::<()>();
    // Devices resume from their own saved time, so the clock can always start at the
    // fleet's installation: a fresh fleet drives its history, a reloaded one catches up.
    let clock = SimClock::catch_up(fleet.start_time(), args.catch_up_speed)?;
    let fleet_bar = steps.bar.clone();
    let fleet_task = tokio::spawn({
        let fleet = fleet.clone();
        let options = RunOptions::new(gateway_url.clone(), clock);
        async move {
            fleet
                .run(
                    options,
                    async {
                        let _ = fleet_stopped.await;
                    },
                    |progress| {
                        fleet_bar.set_message(format!(
                        "fleet at {} ({} units, {} readings accepted by the gateway, {} buffered)",
                        format_time(progress.sim_time),
                        progress.units,
                        progress.totals.readings_accepted,
                        progress.buffered
                    ));
                    },
                )
                .await
        }
    });

    let attestation = if args.prompt {
        "every reading within seconds (--prompt)".to_owned()
    } else {
        format!(
            "cars seal 16 readings, or after {} h; the gateway sends at ≤ {} gas/reading, or after {} h\n                (--prompt: every reading within seconds, at a much higher gas cost)",
            args.seal_hold_hours,
            args.batch_gas_target,
            args.batch_max_delay / 3600.0
        )
    };
    steps.say(&format!(
        "\nThe Witness is ready.\n\n  dashboard     {gateway_url}/\n  verify link   {pin_link}\n                (pins chain id, application and consensus; also in {}/anchors.json)\n  API docs      {gateway_url}/docs\n  node inspect  {inspect_url}\n  node JSON-RPC {node_rpc_url}\n  chain         {rpc_url} (chain id {})\n  local link    {}\n  data          {}\n\n  demo login    demo / {}   (registrar / same password)\n  rolled back   {}\n  attestation   {attestation}\n\nCtrl-C stops everything.\n",
        data.display(),
        deployment.chain_id,
        link.url(),
        data.display(),
        keys.demo_password,
        info.rolled_back_devices.join(", "),
    ));
    println!("ready");

    wait_for_stop(&mut chain.anvil).await?;
    steps.step("stopping");
    let _ = stop_fleet.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), fleet_task).await;
    let _ = link.shutdown().await;
    gateway.shutdown().await;
    node.shutdown().await;
    drop(chain);
    steps.bar.finish_with_message("stopped");
    Ok(())
}

/// Every part's tracing goes to `<data-dir>/witness.log` (filter with `RUST_LOG`).
fn log_to(path: &Path) -> Result<(), String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init()
        .map_err(|e| e.to_string())
}

fn default_web_dir() -> Option<PathBuf> {
    let candidates = [
        PathBuf::from("web/dist"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("index.html").exists())
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn format_time(seconds: u64) -> String {
    let days = seconds / 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let rest = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// When anvil's saved state could not be restored (first run, or a crash before the state was
/// written), the chain starts empty: the node's and gateway's records of the old chain and the
/// fleet's enrolment no longer hold, so they start over too.
fn reset_if_chain_was_lost(data: &Path, deployment: &Deployment) -> Result<(), String> {
    let marker = data.join("deployment-block");
    let current = deployment.deployment_block.to_string();
    let previous = std::fs::read_to_string(&marker).ok();
    if previous.as_deref().is_some_and(|p| p.trim() != current) {
        for stale in [
            "node.sqlite",
            "node.sqlite-wal",
            "node.sqlite-shm",
            "gateway.sqlite",
            "gateway.sqlite-wal",
            "gateway.sqlite-shm",
            "system.json",
        ] {
            let _ = std::fs::remove_file(data.join(stale));
        }
        let _ = std::fs::remove_dir_all(data.join("fleet"));
    }
    std::fs::write(&marker, current).map_err(|e| format!("{}: {e}", marker.display()))
}

/// The admin authorizes the gateway account once; waits until the rollup has processed it.
async fn authorize_gateway(node: &NodeClient, chain: &Chain) -> CliResult {
    let gateway = format!("{:#x}", dev_accounts()[GATEWAY_ACCOUNT].address);
    let authorized = |config: &ConfigAnswer| config.gateways.contains(&gateway);
    if authorized(&wait_for_inspect(node).await?) {
        return Ok(());
    }
    chain.authorize_gateway().await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if authorized(&config_of(node).await?) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err("the rollup did not process the gateway authorization within 60 s".into())
}

/// The backend's configuration, asked over inspect.
async fn config_of(node: &NodeClient) -> Result<ConfigAnswer, String> {
    match node.inspect(&InspectQuery::Config).await {
        Ok(Inspected {
            answer: InspectAnswer::Config(config),
            ..
        }) => Ok(config),
        Ok(other) => Err(format!("inspect config answered {:?}", other.answer)),
        Err(e) => Err(e.to_string()),
    }
}

/// Waits until the backend answers inspect (it replays stored inputs first).
async fn wait_for_inspect(node: &NodeClient) -> Result<ConfigAnswer, String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match config_of(node).await {
            Ok(config) => return Ok(config),
            Err(error) if Instant::now() > deadline => return Err(error),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The registrar enrols every car through the gateway (which relays the signed messages).
async fn register_fleet(
    http: &reqwest::Client,
    gateway_url: &str,
    keys: &LocalKeys,
    fleet: &Fleet,
) -> CliResult {
    let login: Value = http
        .post(format!("{gateway_url}/v1/auth/login"))
        .json(&json!({"username": "registrar", "password": keys.demo_password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .ok_or("the gateway's login answer has no token")?;
    let messages = fleet.registration_messages(&keys.registrar, fleet.domain(), 1)?;
    let encoded = messages
        .iter()
        .map(|m| m.encode().map(hex::encode))
        .collect::<Result<Vec<_>, _>>()?;
    let response = http
        .post(format!("{gateway_url}/v1/registrar/messages"))
        .bearer_auth(token)
        .json(&json!({"messages": encoded}))
        .send()
        .await?;
    if !response.status().is_success() {
        let status = response.status();
        return Err(format!(
            "registering the fleet failed: {status} {}",
            response.text().await.unwrap_or_default()
        )
        .into());
    }
    Ok(())
}
