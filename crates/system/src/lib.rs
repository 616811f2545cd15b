//! `witness-system`: The Witness brought up from its parts, the one way every launcher does it
//! (`witness up`, `witness chain up`, `witness bench`, the tests of the node and the gateway).
//!
//! - [`Chain`]: anvil with the Cartesi Rollups v2.2 contracts and one application deployed by
//!   the admin account, inputs from the dev accounts, and the admin's authorization of the
//!   gateway account;
//! - [`node_config`] from [`NodeOpts`]: the node for that deployment running the backend, whose
//!   configuration (its environment) comes from [`witness_backend::Config::to_env`], so no
//!   launcher spells a backend variable; [`RunningNode`]: the started node with its endpoints;
//! - [`gateway_config`]: the gateway over a database, submitting to the deployment as the gateway
//!   account and reading from the node.
//!
//! Parts, not one builder: every user stops between them. `witness up` resets its stored state
//! between deploying and starting the node when anvil's state was lost, and serves its fleet's
//! local link before the gateway, whose dashboard points at it; the benchmarks and the node's
//! test stop and restart the node on its store; the gateway's test drives its gateway through
//! the router. So each part is started from the ones before it, and the caller sets what is its
//! own on the configuration it gets back (ports, timings, batching, accounts) before starting it.
//! `witness chain up` stops after the [`Chain`]. The fleet is not a part: only `witness up` has
//! one (the CLI's system test runs `witness up` itself; the other tests and the benchmarks make
//! their own devices, and `witness fleet run` drives a fleet against any gateway).
//!
//! A crate of its own, not `witness-test-support`: `witness up` is production code and depends
//! on it; `witness-test-support` keeps what only tests need (the binaries of the current build)
//! and re-exports this crate for them.

use std::path::PathBuf;
use std::time::Duration;

use witness_chain::primitives::B256;
use witness_chain::{
    ADMIN_ACCOUNT, AddedInput, AnvilOptions, AnvilProcess, Deployment, GATEWAY_ACCOUNT, L1,
    dev_accounts,
};
use witness_gateway::{AppId, ChainConfig, GatewayConfig};
use witness_node::{Node, NodeConfig, NodeHandle};
use witness_node_client::{NodeClient, NodeEndpoints};
use witness_protocol::{
    BackendPublicKey, BackendSecretKey, Domain, GatewayAuthorization, Message, PublicKey,
    RollupInput,
};

mod error;

pub use error::{Result, SystemError};

/// The epoch length of [`ChainOpts::default`], in blocks.
pub const DEFAULT_EPOCH_LENGTH: u64 = 10;

/// The application to deploy.
#[derive(Debug, Clone)]
pub struct ChainOpts {
    /// Epoch length in blocks.
    pub epoch_length: u64,
    /// The template hash recorded in the application.
    pub template_hash: B256,
}

impl Default for ChainOpts {
    fn default() -> Self {
        Self {
            epoch_length: DEFAULT_EPOCH_LENGTH,
            template_hash: B256::ZERO,
        }
    }
}

/// anvil with the core contracts and one application. anvil stops when this is dropped.
#[derive(Debug)]
pub struct Chain {
    /// The running anvil.
    pub anvil: AnvilProcess,
    /// The application's deployment (written as `deployment.json` by `witness up`).
    pub deployment: Deployment,
}

impl Chain {
    /// Starts anvil and [deploys](Self::deploy).
    pub async fn start(anvil: AnvilOptions, opts: ChainOpts) -> Result<Self> {
        Self::deploy(AnvilProcess::spawn(anvil).await?, opts).await
    }

    /// Deploys the core contracts (unless there already) and one application on a running
    /// anvil, as the admin dev account, which then owns the application and its Authority.
    pub async fn deploy(anvil: AnvilProcess, opts: ChainOpts) -> Result<Self> {
        let admin = L1::connect_signer(anvil.rpc_url(), dev_accounts()[ADMIN_ACCOUNT].private_key)?;
        admin.deploy_core().await?;
        let deployment = admin
            .deploy_application(opts.epoch_length, opts.template_hash, B256::ZERO)
            .await?;
        Ok(Self { anvil, deployment })
    }

    /// anvil's JSON-RPC URL.
    pub fn rpc_url(&self) -> &str {
        self.anvil.rpc_url()
    }

    /// A chain client signing as dev account `account`, on this deployment's InputBox.
    pub fn client(&self, account: usize) -> Result<L1> {
        let key = dev_accounts()[account].private_key;
        Ok(L1::connect_signer(self.rpc_url(), key)?.with_input_box(self.deployment.input_box))
    }

    /// Adds an input to the application from dev account `account`.
    pub async fn add_input(&self, account: usize, payload: Vec<u8>) -> Result<AddedInput> {
        Ok(self
            .client(account)?
            .add_input(self.deployment.application, payload)
            .await?)
    }

    /// The admin authorizes the gateway account on the application (the input is added, not
    /// waited for).
    pub async fn authorize_gateway(&self) -> Result<AddedInput> {
        self.add_input(ADMIN_ACCOUNT, gateway_authorization()?)
            .await
    }

    /// The deployment every signature for this application is bound to, with `backend_key`.
    pub fn domain(&self, backend_key: &BackendPublicKey) -> Domain {
        AppId::of(&self.deployment).domain(backend_key.clone())
    }

    /// How a gateway submits to this deployment: as the gateway dev account, polling the chain
    /// every 250 ms.
    pub fn gateway_chain(&self) -> ChainConfig {
        ChainConfig {
            rpc_url: self.rpc_url().to_owned(),
            input_box: self.deployment.input_box,
            application: self.deployment.application,
            gateway_key: dev_accounts()[GATEWAY_ACCOUNT].private_key,
            poll_interval: Duration::from_millis(250),
        }
    }
}

/// The input by which the admin authorizes the gateway dev account.
pub fn gateway_authorization() -> Result<Vec<u8>> {
    Ok(RollupInput {
        messages: vec![Message::GatewayAuthorization(GatewayAuthorization {
            gateway: dev_accounts()[GATEWAY_ACCOUNT].address.into_array(),
            authorized: true,
        })],
    }
    .encode()?)
}

/// The node with the backend.
#[derive(Debug)]
pub struct NodeOpts<'a> {
    /// The backend's command line (a wrapper such as a profiler may come first).
    pub command: Vec<String>,
    /// The backend's key.
    pub backend_key: &'a BackendSecretKey,
    /// The root registrar the backend trusts from genesis.
    pub root_registrar: PublicKey,
    /// The node's SQLite database.
    pub db_path: PathBuf,
}

/// The node's configuration for `deployment` (the defaults of
/// [`NodeConfig::from_deployment`]) running the backend with the deployment's owner as its
/// admin and `opts`' registrar and key, as [`witness_backend::Config::to_env`] spells them.
pub fn node_config(deployment: &Deployment, opts: NodeOpts<'_>) -> NodeConfig {
    let backend_key = BackendSecretKey::from_bytes(&opts.backend_key.to_bytes())
        .expect("a backend key's own bytes are a backend key");
    let backend = witness_backend::Config::new(
        deployment.application_owner.into_array(),
        vec![opts.root_registrar],
        backend_key,
    );
    let mut config = NodeConfig::from_deployment(deployment, opts.command, opts.db_path);
    config.app_env = backend.to_env();
    config
}

/// The `witness-backend` binary next to the running program.
pub fn installed_backend() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(SystemError::CurrentExe)?;
    let path = exe.with_file_name("witness-backend");
    if path.exists() {
        Ok(path)
    } else {
        Err(SystemError::BackendNotFound(path))
    }
}

/// A started node and where it serves.
#[derive(Debug)]
pub struct RunningNode {
    handle: NodeHandle,
    endpoints: NodeEndpoints,
}

impl RunningNode {
    /// Starts the node.
    pub async fn start(config: NodeConfig) -> Result<Self> {
        let application = format!("{:#x}", config.application);
        let handle = Node::start(config).await?;
        let endpoints = NodeEndpoints::new(
            &format!("http://{}", handle.inspect_addr),
            &format!("http://{}", handle.rpc_addr),
            &application,
        );
        Ok(Self { handle, endpoints })
    }

    /// The node's listeners.
    pub fn handle(&self) -> &NodeHandle {
        &self.handle
    }

    /// The application's inspect URL and the node's JSON-RPC URL.
    pub fn endpoints(&self) -> &NodeEndpoints {
        &self.endpoints
    }

    /// A client of the node.
    pub fn client(&self) -> NodeClient {
        NodeClient::new(self.endpoints.clone())
    }

    /// Stops the node and its backend.
    pub async fn shutdown(self) {
        self.handle.shutdown().await;
    }
}

/// A gateway over `database` (a SQLite path or URL, or `postgres://…`) submitting to `chain`
/// ([`Chain::gateway_chain`]) and reading from `node`; everything else at the defaults of
/// [`GatewayConfig::new`].
pub fn gateway_config(
    database: impl Into<String>,
    chain: &Chain,
    node: &RunningNode,
) -> GatewayConfig {
    let mut config = GatewayConfig::new(database);
    config.chain = Some(chain.gateway_chain());
    config.app = Some(AppId::of(&chain.deployment));
    config.node = Some(node.endpoints().clone());
    config
}
