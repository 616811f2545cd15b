//! `witness-node`: runs the host-mode rollups node for one deployed application.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::B256;
use clap::Parser;
use witness_chain::Deployment;
use witness_node::{Error, Node, NodeConfig, Runner};

/// Host-mode stand-in for the Cartesi Rollups Node: follows the InputBox, runs the backend
/// through the Rollup HTTP API, serves inspect and JSON-RPC, claims epochs.
#[derive(Debug, Parser)]
#[command(name = "witness-node", version)]
struct Args {
    /// deployment.json written by `witness chain up`.
    #[arg(
        long,
        env = "WITNESS_DEPLOYMENT",
        default_value = ".witness/deployment.json"
    )]
    deployment: PathBuf,
    /// Backend command line (split on whitespace). With `--runner qemu`: the riscv64 binary and
    /// its arguments. Default: `witness-backend` next to this executable, else on PATH.
    #[arg(long, env = "WITNESS_APP_COMMAND")]
    app_command: Option<String>,
    /// Extra environment for the backend, `KEY=VALUE` (repeatable).
    #[arg(long = "app-env", value_parser = parse_env)]
    app_env: Vec<(String, String)>,
    #[arg(long, value_enum, env = "WITNESS_RUNNER", default_value_t = Runner::Native)]
    runner: Runner,
    /// qemu user-mode binary for `--runner qemu`.
    #[arg(long, default_value = "qemu-riscv64-static")]
    qemu: PathBuf,
    /// SQLite database.
    #[arg(long, env = "WITNESS_NODE_DB", default_value = ".witness/node.sqlite")]
    db: PathBuf,
    /// Address the HTTP listeners bind to.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port of `POST /inspect/<app>`.
    #[arg(long, default_value_t = witness_node::DEFAULT_INSPECT_PORT)]
    inspect_port: u16,
    /// Port of `POST /rpc`, `/healthz`, `/metrics`.
    #[arg(long, default_value_t = witness_node::DEFAULT_RPC_PORT)]
    rpc_port: u16,
    /// Port of the Rollup HTTP API given to the backend (always on 127.0.0.1).
    #[arg(long, default_value_t = witness_node::DEFAULT_ROLLUP_PORT)]
    rollup_port: u16,
    /// Blocks to wait before reading inputs from a block.
    #[arg(long, default_value_t = 0)]
    confirmations: u64,
    #[arg(long, default_value_t = 500)]
    poll_interval_ms: u64,
    /// Chain RPC endpoint (default: the deployment's).
    #[arg(long, env = "WITNESS_RPC_URL")]
    rpc_url: Option<String>,
    /// Authority owner key used for claims (default: the deployment's dev account of the owner).
    #[arg(long, env = "WITNESS_CLAIMER_KEY", hide_env_values = true)]
    claimer_key: Option<B256>,
    /// Compute epoch roots but send no claims.
    #[arg(long)]
    no_claims: bool,
    /// Application name accepted besides its address.
    #[arg(long, default_value = "witness")]
    app_name: String,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

fn default_backend() -> String {
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("witness-backend")))
        .filter(|p| p.is_file());
    match sibling {
        Some(path) => path.display().to_string(),
        None => "witness-backend".into(),
    }
}

fn config(args: Args) -> Result<NodeConfig, Error> {
    let deployment = Deployment::load(&args.deployment)?;
    let command = args.app_command.unwrap_or_else(default_backend);
    let mut config = NodeConfig::from_deployment(
        &deployment,
        command.split_whitespace().map(str::to_owned).collect(),
        args.db,
    );
    if let Some(url) = args.rpc_url {
        config.rpc_url = url;
    }
    if args.claimer_key.is_some() {
        config.claimer_key = args.claimer_key;
    }
    if args.no_claims {
        config.claimer_key = None;
    }
    if let Some(dir) = config
        .db_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    config.app_name = args.app_name;
    config.app_env = args.app_env;
    config.runner = args.runner;
    config.qemu = args.qemu;
    config.inspect_addr = SocketAddr::new(args.host, args.inspect_port);
    config.rpc_addr = SocketAddr::new(args.host, args.rpc_port);
    config.rollup_addr = SocketAddr::from(([127, 0, 0, 1], args.rollup_port));
    config.confirmations = args.confirmations;
    config.poll_interval = Duration::from_millis(args.poll_interval_ms);
    Ok(config)
}

async fn run(args: Args) -> Result<(), Error> {
    let mut node = Node::start(config(args)?).await?;
    println!(
        "witness-node: inspect http://{}/inspect/<app>, rpc http://{}/rpc, rollup http://{}",
        node.inspect_addr, node.rpc_addr, node.rollup_addr
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let result = tokio::select! {
        r = node.wait() => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    };
    node.shutdown().await;
    result
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("witness-node: {e}");
            ExitCode::FAILURE
        }
    }
}
