//! `witness fleet …`: a simulated fleet against any gateway.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use witness_devices::{Fleet, FleetSpec, RunOptions, SimClock, TamperAssignment};

use crate::CliResult;

#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Create a fleet (or load it if the directory holds one) and run it against a gateway.
    Run {
        /// The fleet's directory.
        #[arg(long)]
        dir: PathBuf,
        /// Gateway URL.
        #[arg(long)]
        gateway: String,
        /// The backend's public key (hex), for a new fleet.
        #[arg(long)]
        backend_key: Option<String>,
        /// The chain id the devices sign for, for a new fleet.
        #[arg(long)]
        chain_id: Option<u64>,
        /// The application (0x address) the devices sign for, for a new fleet.
        #[arg(long)]
        application: Option<String>,
        /// Cars, for a new fleet.
        #[arg(long, default_value_t = 10)]
        devices: usize,
        /// Tamper scenarios, for a new fleet (`INDEX=SCENARIO[@AFTER_READINGS]`).
        #[arg(long = "tamper")]
        tampers: Vec<TamperAssignment>,
        /// Seed, for a new fleet.
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated seconds per real second (1 = real time).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Stop after this many simulated hours (default: run until Ctrl-C).
        #[arg(long)]
        hours: Option<u64>,
    },
    /// List a fleet's devices.
    List {
        #[arg(long)]
        dir: PathBuf,
    },
}

pub(crate) async fn run(args: FleetArgs) -> CliResult {
    match args.command {
        FleetCommand::List { dir } => {
            for device in Fleet::load(&dir)?.devices() {
                let scenario = device
                    .scenario
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_default();
                println!(
                    "{}  {:<26} {:?} {scenario}",
                    device.handle, device.model_name, device.profile
                );
            }
            Ok(())
        }
        FleetCommand::Run {
            dir,
            gateway,
            backend_key,
            chain_id,
            application,
            devices,
            tampers,
            seed,
            speed,
            hours,
        } => {
            let fleet = if dir.join("fleet.json").exists() {
                Fleet::load(&dir)?
            } else {
                let (Some(key), Some(chain_id), Some(application)) =
                    (backend_key, chain_id, application)
                else {
                    return Err(
                        "--backend-key, --chain-id and --application are needed to create a fleet"
                            .into(),
                    );
                };
                let domain = witness_protocol::Domain::from_hex(chain_id, &application, &key)
                    .map_err(|e| {
                        format!("--application (20 bytes) or --backend-key (32 bytes): {e}")
                    })?;
                let mut spec = FleetSpec::new(devices, domain);
                spec.seed = seed;
                spec.tampers = tampers;
                Fleet::create(&dir, spec)?
            };
            let clock = SimClock::new(crate::up::unix_now(), speed)?;
            let mut options = RunOptions::new(gateway, clock);
            if let Some(hours) = hours {
                options = options.run_for(Duration::from_secs(hours * 3600));
            }
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            let progress = fleet
                .run(
                    options,
                    async {
                        let _ = tokio::signal::ctrl_c().await;
                    },
                    |p| {
                        bar.set_message(format!(
                            "{} units, {} readings accepted, {} buffered, {} replays dropped",
                            p.units, p.totals.readings_accepted, p.buffered, p.totals.replay_drops
                        ));
                    },
                )
                .await?;
            bar.finish_with_message(format!(
                "done: {} readings accepted",
                progress.totals.readings_accepted
            ));
            Ok(())
        }
    }
}
