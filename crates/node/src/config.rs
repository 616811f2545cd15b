//! Node configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use witness_chain::Deployment;

/// How the backend command is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Runner {
    /// Run the command as a native process.
    #[default]
    Native,
    /// Run a riscv64 Linux binary under qemu user-mode emulation.
    Qemu,
}

/// Everything [`crate::Node::start`] needs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub rpc_url: String,
    pub chain_id: u64,
    pub input_box: Address,
    /// The follower starts reading `InputAdded` logs at this block.
    pub input_box_deployment_block: u64,
    pub application: Address,
    /// Name accepted besides the address in `/inspect/<app>` and the JSON-RPC `application`.
    pub app_name: String,
    pub authority: Address,
    pub epoch_length: u64,
    /// The Authority owner's key. `None`: epochs' roots are computed but no claim is sent.
    pub claimer_key: Option<B256>,
    /// Backend program and its arguments (for [`Runner::Qemu`]: the riscv64 binary and arguments).
    pub app_command: Vec<String>,
    /// Extra environment for the backend (it also inherits the node's environment).
    pub app_env: Vec<(String, String)>,
    pub runner: Runner,
    /// The qemu user-mode binary used by [`Runner::Qemu`].
    pub qemu: PathBuf,
    /// SQLite database file (created if missing).
    pub db_path: PathBuf,
    /// Client inspect API (`POST /inspect/<app>`); port 0 picks a free port.
    pub inspect_addr: SocketAddr,
    /// Client JSON-RPC API (`POST /rpc`), `/healthz`, `/metrics`.
    pub rpc_addr: SocketAddr,
    /// Rollup HTTP API for the backend (`ROLLUP_HTTP_SERVER_URL`).
    pub rollup_addr: SocketAddr,
    /// Inputs are read only from blocks at least this many blocks below the head.
    pub confirmations: u64,
    pub poll_interval: Duration,
    /// How long `POST /finish` waits for a request before answering 202.
    pub finish_timeout: Duration,
    /// How long an inspect may wait for the backend (queue + processing).
    pub inspect_timeout: Duration,
}

/// Default ports of the Cartesi node's APIs (see `architecture.md`).
pub const DEFAULT_INSPECT_PORT: u16 = 10012;
pub const DEFAULT_RPC_PORT: u16 = 10011;
pub const DEFAULT_ROLLUP_PORT: u16 = 5004;

impl NodeConfig {
    /// A configuration for `deployment` with default ports and timings. The claimer key is the
    /// dev account of the application owner (who also owns the Authority), when listed.
    pub fn from_deployment(
        deployment: &Deployment,
        app_command: Vec<String>,
        db_path: PathBuf,
    ) -> Self {
        let claimer_key = deployment
            .accounts
            .iter()
            .find(|a| a.address == deployment.application_owner)
            .map(|a| a.private_key);
        let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
        Self {
            rpc_url: deployment.rpc_url.clone(),
            chain_id: deployment.chain_id,
            input_box: deployment.input_box,
            input_box_deployment_block: deployment.input_box_deployment_block,
            application: deployment.application,
            app_name: "witness".into(),
            authority: deployment.authority,
            epoch_length: deployment.epoch_length,
            claimer_key,
            app_command,
            app_env: Vec::new(),
            runner: Runner::Native,
            qemu: PathBuf::from("qemu-riscv64-static"),
            db_path,
            inspect_addr: local(DEFAULT_INSPECT_PORT),
            rpc_addr: local(DEFAULT_RPC_PORT),
            rollup_addr: local(DEFAULT_ROLLUP_PORT),
            confirmations: 0,
            poll_interval: Duration::from_millis(500),
            finish_timeout: Duration::from_secs(10),
            inspect_timeout: Duration::from_secs(30),
        }
    }

    /// Binds every listener to a free loopback port (tests, embedding).
    pub fn with_ephemeral_ports(mut self) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        self.inspect_addr = any;
        self.rpc_addr = any;
        self.rollup_addr = any;
        self
    }
}
