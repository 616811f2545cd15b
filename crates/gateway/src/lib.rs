//! The Witness gateway: the REST service between devices and the rollup.
//!
//! - **Intake** (`POST /v1/readings`): devices post sealed envelopes; the gateway checks
//!   their signatures (it cannot read them), refuses replays, commits them durably with
//!   group commit and answers 202 with receipts ([`intake`]).
//! - **Registry**: registrars relay registrar-signed messages; owners claim devices with
//!   device-signed ownership statements ([`api`]).
//! - **Submitter**: packs acknowledged messages into rollup inputs and submits them to the
//!   InputBox exactly once, surviving crashes and RPC outages ([`submitter`]).
//! - **Reads**: device status, a device's history notices (public, sealed values) and its
//!   relayed history-key queries (sealed to the owner), public statistics, receipts, system
//!   status; OpenAPI at `/openapi.json`, Swagger UI at `/docs`, metrics at
//!   `/metrics`, the web dashboard at `/`.
//!
//! Embed it with [`Gateway::start`]; the `witness-gateway` binary is a thin CLI over it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, OnceCell, watch};
use tokio::task::JoinSet;
use witness_chain::L1;

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod intake;
pub mod metrics;
pub mod store;
pub mod submitter;

pub use config::{
    AppId, BatchConfig, ChainConfig, ClientConfig, GatewayArgs, GatewayConfig, NodeEndpoints,
};
pub use error::{GatewayError, Result};
pub use store::{Role, Store};
pub use witness_node_client::NodeClient;

use api::AppState;

/// A gateway: database open and migrated, intake committer running, not yet listening.
#[derive(Debug, Clone)]
pub struct Gateway {
    state: Arc<AppState>,
}

/// A running gateway. [`GatewayHandle::shutdown`] stops it gracefully; everything it
/// acknowledged is already durable, so dropping it (or killing the process) loses nothing.
#[derive(Debug)]
pub struct GatewayHandle {
    /// Where the API is served.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Gateway {
    /// Opens the database (migrating it), creates the bootstrap accounts and starts the
    /// intake committer.
    pub async fn new(config: GatewayConfig) -> Result<Self> {
        config.validate()?;
        let store = Store::open(&config.database_url).await?;
        let passwords = auth::Passwords::new(config.argon2_memory_kib)?;
        for (username, password, role) in &config.bootstrap_accounts {
            match store.account_by_username(username).await? {
                Some((account, _)) if account.role != *role => tracing::warn!(
                    username,
                    role = account.role.as_str(),
                    "bootstrap account exists with another role; left unchanged"
                ),
                Some(_) => {}
                None => {
                    auth::check_username(username)?;
                    auth::check_password(password)?;
                    let hash = passwords.hash(password.clone()).await?;
                    store.create_account(username, &hash, *role).await?;
                    tracing::info!(username, role = role.as_str(), "bootstrap account created");
                }
            }
        }
        let metrics = Arc::new(metrics::Metrics::default());
        let devices = Arc::new(intake::DeviceCache::default());
        let committer = intake::Committer::spawn(store.clone(), devices.clone(), metrics.clone());
        let node = config.node.clone().map(NodeClient::new);
        let chain = config.chain.as_ref().and_then(|chain| {
            L1::connect_signer(&chain.rpc_url, chain.gateway_key)
                .map(|l1| l1.with_input_box(chain.input_box))
                .inspect_err(|error| tracing::error!(%error, "no chain client"))
                .ok()
        });
        let limiter =
            auth::LoginLimiter::new(config.login_failures_per_minute, Duration::from_secs(60));
        let backend_key = OnceCell::new_with(config.backend_public_key.clone());
        Ok(Self {
            state: Arc::new(AppState {
                config,
                store,
                committer,
                devices,
                seeds: intake::CounterSeeds::new(node.clone()),
                node,
                chain,
                backend_key,
                passwords,
                limiter,
                metrics,
                wake_submitter: Arc::new(Notify::new()),
            }),
        })
    }

    /// The HTTP router (for in-process use, e.g. tests with `tower::ServiceExt::oneshot`).
    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone())
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Opens everything, binds the listener and starts serving, submitting and tracking.
    pub async fn start(config: GatewayConfig) -> Result<GatewayHandle> {
        Self::new(config).await?.serve().await
    }

    /// Binds the configured address and starts the server and the background tasks.
    pub async fn serve(self) -> Result<GatewayHandle> {
        let config = &self.state.config;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| {
                GatewayError::Config(format!("cannot listen on {}: {e}", config.listen))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| GatewayError::Config(format!("listener address: {e}")))?;
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();

        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let mut server_stop = stopped.clone();
        tasks.spawn(async move {
            let shutdown = async move {
                let _ = server_stop.wait_for(|s| *s).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "HTTP server failed");
            }
        });

        let included = Arc::new(Notify::new());
        match (&config.chain, config.submit) {
            (Some(chain), true) => {
                let submitter = submitter::Submitter {
                    store: self.state.store.clone(),
                    chain: chain.clone(),
                    l1: self.state.chain.clone(),
                    batch: config.batch,
                    metrics: self.state.metrics.clone(),
                    node: self.state.node.clone(),
                    wake: self.state.wake_submitter.clone(),
                    included: included.clone(),
                    urgent: submitter::UrgentLimiter::default(),
                };
                tasks.spawn(submitter.run(stopped.clone()));
            }
            (None, true) => {
                tracing::warn!("no deployment configured: envelopes are stored but not submitted");
            }
            _ => tracing::info!("submission disabled"),
        }
        if let Some(node) = &self.state.node {
            tasks.spawn(submitter::track_outcomes(
                self.state.store.clone(),
                node.clone(),
                self.state.metrics.clone(),
                included,
                self.state.wake_submitter.clone(),
                stopped,
            ));
        }
        tracing::info!(%addr, database = self.state.store.backend(), "gateway listening");
        Ok(GatewayHandle { addr, stop, tasks })
    }
}

impl GatewayHandle {
    /// Waits until one of the gateway's tasks stops: the server failed, or nothing runs.
    pub async fn wait(&mut self) {
        let _ = self.tasks.join_next().await;
    }

    /// Stops accepting requests, lets requests in flight finish, stops the background tasks.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::sleep(Duration::from_secs(10));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = self.tasks.join_next() => if next.is_none() { break },
                () = &mut deadline => {
                    self.tasks.abort_all();
                    while self.tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
    }
}
