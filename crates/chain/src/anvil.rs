//! A local anvil dev chain, run from the npm package `@foundry-rs/anvil`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::artifacts::anvil_binary;
use crate::error::{ChainError, Result};
use crate::l1::L1;

/// anvil's (and our) dev chain id.
pub const DEV_CHAIN_ID: u64 = 31337;

/// How long to wait for anvil to listen and answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// How to start anvil.
#[derive(Debug, Clone)]
pub struct AnvilOptions {
    /// TCP port on 127.0.0.1; 0 lets the OS pick a free one.
    pub port: u16,
    /// Interval mining in seconds (fractions allowed); `None` mines a block per transaction.
    pub block_time: Option<f64>,
    /// Chain id, [`DEV_CHAIN_ID`] by default.
    pub chain_id: u64,
    /// The binary; `None` uses `$WITNESS_ANVIL` or the npm one (see [`anvil_binary`]).
    pub binary: Option<PathBuf>,
    /// Append anvil's stdout and stderr to this file; `None` discards them.
    pub log_file: Option<PathBuf>,
    /// More command-line arguments for anvil.
    pub extra_args: Vec<String>,
}

impl Default for AnvilOptions {
    fn default() -> Self {
        Self {
            port: 0,
            block_time: None,
            chain_id: DEV_CHAIN_ID,
            binary: None,
            log_file: None,
            extra_args: Vec::new(),
        }
    }
}

/// A running anvil process on 127.0.0.1; killed when dropped.
#[derive(Debug)]
pub struct AnvilProcess {
    child: Child,
    port: u16,
    chain_id: u64,
    rpc_url: String,
}

impl AnvilProcess {
    /// Starts anvil on `127.0.0.1:port` (0 = a free port) with an optional block time.
    pub async fn start(port: u16, block_time: Option<f64>) -> Result<Self> {
        Self::spawn(AnvilOptions {
            port,
            block_time,
            ..AnvilOptions::default()
        })
        .await
    }

    /// Starts anvil and waits until it answers `eth_chainId` with the expected chain id.
    pub async fn spawn(options: AnvilOptions) -> Result<Self> {
        let binary = match &options.binary {
            Some(b) => b.clone(),
            None => anvil_binary()?,
        };
        let mut cmd = Command::new(&binary);
        cmd.arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(options.port.to_string())
            .arg("--chain-id")
            .arg(options.chain_id.to_string());
        if let Some(bt) = options.block_time {
            if !(bt.is_finite() && bt > 0.0) {
                return Err(ChainError::Anvil(format!(
                    "block time must be a positive number of seconds, got {bt}"
                )));
            }
            cmd.arg("--block-time").arg(bt.to_string());
        }
        cmd.args(&options.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| ChainError::Anvil(format!("cannot run {}: {e}", binary.display())))?;

        let log = match &options.log_file {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| ChainError::Io {
                        path: path.clone(),
                        source,
                    })?,
            ),
            None => None,
        };
        let (listen_tx, listen_rx) = mpsc::channel::<String>();
        let (stderr_tx, stderr_rx) = mpsc::channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            let log = log.as_ref().and_then(|f| f.try_clone().ok());
            std::thread::spawn(move || pump(stdout, log, Some(listen_tx)));
        }
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                // Lines go to the log; the first few also to the startup error report.
                pump_stderr(stderr, log, stderr_tx);
            });
        }

        let mut process = Self {
            child,
            port: 0,
            chain_id: options.chain_id,
            rpc_url: String::new(),
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let port = loop {
            if let Ok(addr) = listen_rx.try_recv() {
                let port = addr
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.trim().parse::<u16>().ok())
                    .ok_or_else(|| {
                        ChainError::Anvil(format!("cannot parse listening address {addr:?}"))
                    })?;
                break port;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                // The stderr thread ends when the pipe closes; give it a moment to deliver.
                let mut stderr = Vec::new();
                while let Ok(line) = stderr_rx.recv_timeout(Duration::from_millis(500)) {
                    stderr.push(line);
                }
                return Err(ChainError::Anvil(format!(
                    "exited during startup ({status}): {}",
                    stderr.join("\n")
                )));
            }
            if Instant::now() > deadline {
                return Err(ChainError::Anvil(
                    "did not print its listening address in time".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        process.port = port;
        process.rpc_url = format!("http://127.0.0.1:{port}");

        let l1 = L1::connect(&process.rpc_url)?;
        loop {
            match l1.chain_id().await {
                Ok(id) if id == options.chain_id => break,
                Ok(id) => {
                    return Err(ChainError::Anvil(format!(
                        "answers chain id {id}, expected {}",
                        options.chain_id
                    )));
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(ChainError::Anvil(format!(
                        "does not answer eth_chainId: {e}"
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        Ok(process)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn rpc_url(&self) -> &str {
        &self.rpc_url
    }

    /// The port anvil listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process and reaps it (also done on drop).
    pub fn kill(&mut self) {
        // Already exited is fine.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AnvilProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Drains anvil's stdout (so it never blocks on a full pipe), copies it to the log and reports
/// the `Listening on <addr>` line once.
fn pump(
    out: impl Read,
    mut log: Option<std::fs::File>,
    mut listening: Option<mpsc::Sender<String>>,
) {
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        if let Some(f) = log.as_mut() {
            let _ = writeln!(f, "{line}");
        }
        if let Some(addr) = line.trim().strip_prefix("Listening on ")
            && let Some(tx) = listening.take()
        {
            let _ = tx.send(addr.to_owned());
        }
    }
}

fn pump_stderr(err: impl Read, mut log: Option<std::fs::File>, report: mpsc::Sender<String>) {
    for (i, line) in BufReader::new(err).lines().enumerate() {
        let Ok(line) = line else { break };
        if let Some(f) = log.as_mut() {
            let _ = writeln!(f, "{line}");
        }
        if i < 50 {
            let _ = report.send(line);
        }
    }
}
