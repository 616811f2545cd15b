//! `witness chain ...`: the local dev chain.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use witness_chain::primitives::B256;
use witness_chain::{
    ADMIN_ACCOUNT, AnvilOptions, AnvilProcess, GATEWAY_ACCOUNT, core_addresses, dev_accounts,
};
use witness_system::{Chain, ChainOpts};

use crate::CliResult;

#[derive(Debug, Args)]
pub(crate) struct ChainArgs {
    #[command(subcommand)]
    command: ChainCommand,
}

#[derive(Debug, Subcommand)]
enum ChainCommand {
    /// Start anvil, deploy the rollups contracts and an application, write
    /// `<data-dir>/deployment.json`, and keep the chain running until Ctrl-C.
    Up(UpArgs),
}

#[derive(Debug, Args)]
struct UpArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Seconds between blocks (fractions allowed); 0 mines one block per transaction.
    #[arg(long, default_value_t = 1.0)]
    block_time: f64,
    /// Where `deployment.json` and `anvil.log` go.
    #[arg(long, default_value = ".witness")]
    data_dir: PathBuf,
    /// Epoch length of the application's Authority, in blocks.
    #[arg(long, default_value_t = 10)]
    epoch_length: u64,
    /// Template hash recorded in the Application contract.
    #[arg(long, default_value_t = B256::ZERO)]
    template_hash: B256,
}

pub(crate) async fn run(args: ChainArgs) -> CliResult {
    match args.command {
        ChainCommand::Up(up_args) => up(up_args).await,
    }
}

async fn up(args: UpArgs) -> CliResult {
    if args.epoch_length == 0 {
        return Err("--epoch-length must be at least 1".into());
    }
    if !(args.block_time.is_finite() && args.block_time >= 0.0) {
        return Err("--block-time must be a number of seconds >= 0".into());
    }
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("{}: {e}", args.data_dir.display()))?;
    let log_file = args.data_dir.join("anvil.log");
    let anvil = AnvilOptions {
        port: args.port,
        block_time: (args.block_time > 0.0).then_some(args.block_time),
        log_file: Some(log_file.clone()),
        ..AnvilOptions::default()
    };
    let opts = ChainOpts {
        epoch_length: args.epoch_length,
        template_hash: args.template_hash,
    };
    let mut chain = Chain::start(anvil, opts).await?;
    let deployment = &chain.deployment;
    let path = args.data_dir.join("deployment.json");
    deployment.save(&path)?;

    let block_time = if args.block_time > 0.0 {
        format!("{} s blocks", args.block_time)
    } else {
        "a block per transaction".to_owned()
    };
    println!(
        "anvil        {}  (chain id {}, {block_time}, pid {}, log {})",
        chain.rpc_url(),
        deployment.chain_id,
        chain.anvil.pid(),
        log_file.display()
    );
    for (name, address) in core_addresses()?.to_map() {
        println!("  {name:<30} {address}");
    }
    println!(
        "application  {}  (deployed in block {})",
        deployment.application, deployment.deployment_block
    );
    println!(
        "authority    {}  (epoch length {} blocks)",
        deployment.authority, deployment.epoch_length
    );
    println!(
        "admin        {}  (account {ADMIN_ACCOUNT}: owns the application and the authority)",
        deployment.application_owner
    );
    println!(
        "gateway      {}  (account {GATEWAY_ACCOUNT})",
        dev_accounts()[GATEWAY_ACCOUNT].address
    );
    println!("deployment   {}", path.display());
    println!("running; Ctrl-C to stop");

    wait_for_stop(&mut chain.anvil).await?;
    println!("stopping anvil");
    drop(chain);
    Ok(())
}

/// Returns on Ctrl-C or SIGTERM; fails if anvil exits by itself.
pub(crate) async fn wait_for_stop(anvil: &mut AnvilProcess) -> CliResult {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        #[cfg(unix)]
        let terminate = term.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();
        tokio::select! {
            r = tokio::signal::ctrl_c() => return r.map_err(Into::into),
            _ = terminate => return Ok(()),
            _ = tick.tick() => {
                if !anvil.is_running() {
                    return Err("anvil exited unexpectedly (see anvil.log)".into());
                }
            }
        }
    }
}
