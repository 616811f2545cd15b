//! `witness`: the command line of The Witness. One module per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod certificate;
mod chain;
mod device;
mod fleet;
mod keys;
mod owner;
mod registrar;
mod relay;
mod system;
mod up;
mod verify;

/// Errors a subcommand reports to the user.
pub(crate) type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The Witness: tamper-evident vehicle readings on Cartesi Rollups.
#[derive(Debug, Parser)]
#[command(name = "witness", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Local EVM dev chain (anvil) with the Cartesi Rollups v2.2 contracts.
    Chain(chain::ChainArgs),
    /// The whole system on loopback: chain, node + backend, gateway + dashboard, fleet.
    Up(up::UpArgs),
    /// Read a device over its local link and check it against its state as proven on L1
    /// (PROTOCOL.md 17): nothing a node or a gateway says is taken unchecked.
    Verify(verify::VerifyArgs),
    /// Mileage certificates: issue one for a device, check one offline (and on L1).
    Certificate(certificate::CertificateArgs),
    /// One hand-driven device: keys, registration, readings.
    Device(device::DeviceArgs),
    /// A simulated fleet against any gateway.
    Fleet(fleet::FleetArgs),
    /// An owner's acts: pair with a car, sell it (a transfer code), object to a recovery.
    Owner(owner::OwnerArgs),
    /// A registrar's acts: replace a vehicle's unit, rotate a key, revoke a unit, correct a
    /// record, recover a car's ownership.
    Registrar(registrar::RegistrarArgs),
    /// Measurements: gas per reading, latency, replay (see docs/BENCHMARKS.md).
    Bench(bench::BenchArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Chain(args) => chain::run(args).await,
        Command::Up(args) => up::run(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Certificate(args) => certificate::run(args).await,
        Command::Device(args) => device::run(args).await,
        Command::Fleet(args) => fleet::run(args).await,
        Command::Owner(args) => owner::run(args).await,
        Command::Registrar(args) => registrar::run(args).await,
        Command::Bench(args) => bench::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
