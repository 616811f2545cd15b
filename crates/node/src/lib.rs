//! `witness-node`: a host-mode stand-in for the Cartesi Rollups Node (v2).
//!
//! - follows `InputAdded` events of one application on the InputBox ([`follower`]);
//! - runs the backend as a child process and drives it through the Rollup HTTP API, inputs
//!   strictly in order, inspects in between ([`rollup`], [`engine`]);
//! - stores inputs, outputs, reports and epochs in SQLite ([`db`]);
//! - closes epochs and claims the outputs Merkle root on the Authority ([`claimer`]);
//! - serves `POST /inspect/<app>`, JSON-RPC `POST /rpc`, `/healthz` and `/metrics` ([`api`]).
//!
//! Embed it with [`Node::start`]; the `witness-node` binary is a thin CLI over it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use witness_chain::L1;

mod api;
mod backend;
mod claimer;
mod config;
mod db;
mod engine;
mod error;
mod follower;
mod hexfmt;
pub mod merkle;
mod metrics;
mod outputs;
mod rollup;

pub use config::{DEFAULT_INSPECT_PORT, DEFAULT_ROLLUP_PORT, DEFAULT_RPC_PORT, NodeConfig, Runner};
pub use error::{Error, Result};

use db::Db;
use merkle::OutputsTree;

/// State shared by the node's tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: NodeConfig,
    /// The chain client (signing as the claimer when there is one).
    pub l1: L1,
    pub dispatcher: Arc<rollup::Dispatcher>,
    pub metrics: metrics::Metrics,
    /// Signalled by the follower when new inputs are stored.
    pub new_inputs: Notify,
    pub trees: TreeCache,
    failure: Mutex<Option<String>>,
}

impl Shared {
    /// The fatal error that stopped a task, if any (the node is then unhealthy).
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn fail(&self, error: &Error) {
        tracing::error!(%error, "node task failed");
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
    }
}

/// Recently built outputs trees, by leaf count: a claimed tree is needed again for every proof
/// served against it, and rebuilding costs O(outputs).
#[derive(Debug, Default)]
pub(crate) struct TreeCache {
    trees: Mutex<Vec<Arc<OutputsTree>>>,
}

const CACHED_TREES: usize = 4;

impl TreeCache {
    pub(crate) fn get(&self, db: &Db, leaves: u64) -> Result<Arc<OutputsTree>> {
        let lock = || self.trees.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tree) = lock().iter().find(|t| t.len() == leaves) {
            return Ok(tree.clone());
        }
        let tree = Arc::new(OutputsTree::new(db.output_hashes(leaves)?));
        let mut trees = lock();
        if trees.len() == CACHED_TREES {
            trees.remove(0);
        }
        trees.push(tree.clone());
        Ok(tree)
    }
}

/// The node.
#[derive(Debug)]
pub struct Node;

/// A running node. Dropping it (or [`NodeHandle::shutdown`]) stops every task and kills the
/// backend process.
#[derive(Debug)]
pub struct NodeHandle {
    /// Where `POST /inspect/<app>` is served.
    pub inspect_addr: SocketAddr,
    /// Where `POST /rpc`, `/healthz` and `/metrics` are served.
    pub rpc_addr: SocketAddr,
    /// The Rollup HTTP API given to the backend as `ROLLUP_HTTP_SERVER_URL`.
    pub rollup_addr: SocketAddr,
    tasks: JoinSet<Result<()>>,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))
}

async fn serve(listener: TcpListener, router: axum::Router) -> Result<()> {
    Ok(axum::serve(listener, router).await?)
}

/// Runs a task and records its fatal error for `/healthz`.
async fn supervise(shared: Arc<Shared>, task: impl Future<Output = Result<()>>) -> Result<()> {
    let result = task.await;
    if let Err(e) = &result {
        shared.fail(e);
    }
    result
}

impl Node {
    /// Opens the database, binds the listeners and starts every task: the backend is launched
    /// and fed right away.
    pub async fn start(config: NodeConfig) -> Result<NodeHandle> {
        if config.epoch_length == 0 {
            return Err(Error::Config("epoch length must be positive".into()));
        }
        if config.app_command.is_empty() {
            return Err(Error::Config("empty backend command".into()));
        }
        let open = || Db::open(&config.db_path, config.chain_id, config.application);
        let (engine_db, follower_db, claimer_db, api_db) = (open()?, open()?, open()?, open()?);

        let rollup = bind(config.rollup_addr).await?;
        let rpc = bind(config.rpc_addr).await?;
        // One listener serves both client APIs when they are given the same address.
        let inspect = if config.inspect_addr == config.rpc_addr && config.rpc_addr.port() != 0 {
            None
        } else {
            Some(bind(config.inspect_addr).await?)
        };
        let rollup_addr = rollup.local_addr()?;
        let rpc_addr = rpc.local_addr()?;
        let inspect_addr = match &inspect {
            Some(l) => l.local_addr()?,
            None => rpc_addr,
        };

        let l1 = match config.claimer_key {
            Some(key) => L1::connect_signer(&config.rpc_url, key),
            None => L1::connect(&config.rpc_url),
        }
        .map_err(|e| Error::Config(format!("chain client: {e}")))?
        .with_input_box(config.input_box)
        .with_log_range(follower::LOG_RANGE);
        let shared = Arc::new(Shared {
            l1,
            dispatcher: Arc::new(rollup::Dispatcher::new(
                config.finish_timeout,
                config.inspect_timeout,
            )),
            config,
            metrics: metrics::Metrics::default(),
            new_inputs: Notify::new(),
            trees: TreeCache::default(),
            failure: Mutex::new(None),
        });
        let api = Arc::new(api::ApiState {
            shared: shared.clone(),
            db: api_db,
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(serve(rollup, rollup::router(shared.dispatcher.clone())));
        match inspect {
            Some(listener) => {
                tasks.spawn(serve(rpc, api::rpc_router(api.clone())));
                tasks.spawn(serve(listener, api::inspect_router(api)));
            }
            None => {
                let router = api::rpc_router(api.clone()).merge(api::inspect_router(api));
                tasks.spawn(serve(rpc, router));
            }
        }
        let rollup_url = format!("http://{rollup_addr}");
        let engine = engine::Engine::new(shared.clone(), engine_db, rollup_url);
        tasks.spawn(supervise(shared.clone(), engine.run()));
        tasks.spawn(supervise(
            shared.clone(),
            follower::run(shared.clone(), follower_db),
        ));
        tasks.spawn(supervise(
            shared.clone(),
            claimer::run(shared.clone(), claimer_db),
        ));
        tracing::info!(%inspect_addr, %rpc_addr, %rollup_addr, "node started");
        Ok(NodeHandle {
            inspect_addr,
            rpc_addr,
            rollup_addr,
            tasks,
        })
    }
}

impl NodeHandle {
    /// Waits until a task stops with an error, which is returned. The other tasks keep
    /// running (the APIs stay up and `/healthz` reports the failure) until shutdown.
    pub async fn wait(&mut self) -> Result<()> {
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => return Err(Error::Unavailable(format!("node task panicked: {e}"))),
            }
        }
        Ok(())
    }

    /// Stops every task and kills the backend. Nothing is lost: each stored result is
    /// committed in one transaction, and an input in flight is processed again after a restart.
    pub async fn shutdown(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use alloy::primitives::{Address, B256};
    use witness_chain::{EvmAdvance, encode_evm_advance};

    use super::*;
    use crate::db::{Input, InputResult, InputStatus};

    /// Replay speed of a fresh backend over stored inputs: the time from start until the
    /// first inspect is answered (inspects wait for the replay). Needs the echo example built:
    /// `cargo build -p witness-node --release --example echo-app &&
    /// cargo test -p witness-node --release --lib -- --ignored replay_throughput --nocapture`.
    #[tokio::test]
    #[ignore = "benchmark"]
    async fn replay_throughput() -> Result<()> {
        const N: u64 = 5_000;
        let exe = std::env::current_exe()?;
        let echo = exe
            .parent()
            .and_then(|d| d.parent())
            .map(|d| d.join("examples/echo-app"));
        let echo = echo
            .filter(|p| p.is_file())
            .ok_or(Error::Config("build the echo example".into()))?;
        let dir = std::env::temp_dir().join(format!("witness-node-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let app = Address::repeat_byte(0x42);
        let db_path = dir.join("node.sqlite");
        let db = Db::open(&db_path, 31337, app)?;
        let payload = |i: u64| [vec![0x01; 120], i.to_be_bytes().to_vec()].concat();
        let inputs: Vec<Input> = (0..N)
            .map(|i| Input {
                index: i,
                block_number: 100 + i,
                msg_sender: Address::repeat_byte(7),
                raw: encode_evm_advance(&EvmAdvance {
                    chain_id: 31337,
                    app_contract: app,
                    msg_sender: Address::repeat_byte(7),
                    block_number: 100 + i,
                    block_timestamp: 1_700_000_000 + i,
                    prev_randao: B256::repeat_byte(9),
                    index: i,
                    payload: payload(i).into(),
                })
                .to_vec(),
                tx_hash: B256::repeat_byte(1),
                status: InputStatus::None,
                exception: None,
            })
            .collect();
        db.add_inputs(&inputs, 1_000_000, 100 + N)?;
        for i in 0..N {
            db.record(&InputResult {
                input_index: i,
                epoch_index: 0,
                status: InputStatus::Accepted,
                exception: None,
                outputs: &[(i, outputs::notice(payload(i)))],
                reports: &[payload(i)],
            })?;
        }
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let config = NodeConfig {
            rpc_url: "http://127.0.0.1:9".into(), // nothing there: the follower just retries
            chain_id: 31337,
            input_box: Address::repeat_byte(1),
            input_box_deployment_block: 0,
            application: app,
            app_name: "bench".into(),
            authority: Address::repeat_byte(2),
            epoch_length: 1_000_000,
            claimer_key: None,
            app_command: vec![echo.display().to_string()],
            app_env: Vec::new(),
            runner: Runner::Native,
            qemu: "qemu-riscv64-static".into(),
            db_path,
            inspect_addr: any,
            rpc_addr: any,
            rollup_addr: any,
            confirmations: 0,
            poll_interval: Duration::from_secs(1),
            finish_timeout: Duration::from_secs(1),
            inspect_timeout: Duration::from_secs(600),
        };
        let started = Instant::now();
        let node = Node::start(config).await?;
        let url = format!("http://{}/inspect/bench", node.inspect_addr);
        let answer: serde_json::Value = reqwest::Client::new()
            .post(url)
            .body("x")
            .send()
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?
            .json()
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let elapsed = started.elapsed();
        assert_eq!(answer["processed_input_count"], N, "{answer}");
        println!(
            "replayed {N} inputs in {elapsed:?}: {:.0} inputs/s",
            N as f64 / elapsed.as_secs_f64()
        );
        node.shutdown().await;
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
