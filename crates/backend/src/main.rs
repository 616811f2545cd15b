//! `witness-backend`: the rollup application process. Reads its configuration from the
//! environment and serves the Rollup HTTP API at `ROLLUP_HTTP_SERVER_URL`.

use std::process::ExitCode;

use witness_backend::{Config, State, rollup};

fn main() -> ExitCode {
    let url =
        std::env::var("ROLLUP_HTTP_SERVER_URL").unwrap_or_else(|_| "http://127.0.0.1:5004".into());
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("witness-backend: {error}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "witness-backend: serving {url}; backend key {}",
        hex::encode(config.backend_key.public_key().to_bytes())
    );
    let mut state = State::new(config);
    match rollup::run(&mut state, &rollup::RollupClient::new(&url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("witness-backend: {error}");
            ExitCode::FAILURE
        }
    }
}
