//! `witness-gateway`: runs the gateway (API, intake, submitter) until SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use witness_gateway::{Gateway, GatewayArgs, GatewayConfig, GatewayError};

/// The Witness gateway: durable intake of sealed readings, device registry, submitter to the
/// InputBox, read API with OpenAPI at /openapi.json.
#[derive(Debug, Parser)]
#[command(name = "witness-gateway", version)]
struct Cli {
    #[command(flatten)]
    args: GatewayArgs,
}

async fn run(cli: Cli) -> Result<(), GatewayError> {
    let config = GatewayConfig::from_args(&cli.args)?;
    let mut handle = Gateway::start(config).await?;
    println!("witness-gateway: listening on http://{}", handle.addr);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| GatewayError::Internal(format!("signal handler: {e}")))?;
    let failed = tokio::select! {
        _ = tokio::signal::ctrl_c() => false,
        _ = term.recv() => false,
        () = handle.wait() => true,
    };
    handle.shutdown().await;
    if failed {
        return Err(GatewayError::Internal("the gateway's tasks stopped".into()));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("witness-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
