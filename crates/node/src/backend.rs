//! Starting the backend process.

use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::config::{NodeConfig, Runner};
use crate::error::{Error, Result};

/// Starts the backend with `ROLLUP_HTTP_SERVER_URL` pointing at our Rollup HTTP API. Its output
/// goes to the node's own stdout/stderr; it is killed when the returned [`Child`] is dropped.
pub(crate) fn spawn(config: &NodeConfig, rollup_url: &str) -> Result<Child> {
    let (program, args) = match config.runner {
        Runner::Native => {
            let (program, args) = config
                .app_command
                .split_first()
                .ok_or_else(|| Error::Config("empty backend command".into()))?;
            (program.into(), args)
        }
        Runner::Qemu => (config.qemu.clone(), config.app_command.as_slice()),
    };
    let child = Command::new(&program)
        .args(args)
        .env("ROLLUP_HTTP_SERVER_URL", rollup_url)
        .envs(config.app_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Config(format!("cannot start backend {}: {e}", program.display())))?;
    tracing::info!(program = %program.display(), pid = child.id(), "backend started");
    Ok(child)
}
