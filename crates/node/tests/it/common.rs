use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use serde_json::{Value, json};
use witness_chain::{AnvilOptions, AnvilProcess, Deployment, L1, dev_accounts};
use witness_node::{Node, NodeConfig, NodeHandle};
use witness_test_support::{Chain, ChainOpts};

/// The sender of the tests' inputs (a dev account that is neither admin nor gateway).
pub const SENDER: usize = 2;

pub fn key(index: usize) -> B256 {
    dev_accounts()[index].private_key
}

pub fn address(index: usize) -> Address {
    dev_accounts()[index].address
}

/// anvil (one block per transaction) with the core contracts and one application.
pub async fn chain(epoch_length: u64) -> Chain {
    let opts = ChainOpts {
        epoch_length,
        template_hash: B256::repeat_byte(0x11),
    };
    Chain::start(AnvilOptions::default(), opts).await.unwrap()
}

/// [`chain`], in parts.
pub async fn deployed(epoch_length: u64) -> (AnvilProcess, Deployment) {
    let Chain { anvil, deployment } = chain(epoch_length).await;
    (anvil, deployment)
}

/// The echo backend (`tests/apps/echo.rs`, an example that `cargo test` builds; built here when
/// only this test target was asked for).
pub fn echo_app() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // <target>/<profile>/deps/it-<hash>  ->  <target>/<profile>/examples/echo-app
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let path = profile_dir.join("examples").join("echo-app");
        if !path.is_file() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args([
                    "build",
                    "-p",
                    "witness-node",
                    "--example",
                    "echo-app",
                    "--target-dir",
                ])
                .arg(profile_dir.parent().unwrap())
                .status()
                .unwrap();
            assert!(status.success(), "building the echo backend failed");
        }
        path
    })
    .clone()
}

/// The echo backend, with [`fast`] timings.
pub fn config(deployment: &Deployment, db: PathBuf) -> NodeConfig {
    fast(NodeConfig::from_deployment(
        deployment,
        vec![echo_app().display().to_string()],
        db,
    ))
}

/// Fast timings for tests, on free ports.
pub fn fast(config: NodeConfig) -> NodeConfig {
    let mut config = config.with_ephemeral_ports();
    config.poll_interval = Duration::from_millis(50);
    config.finish_timeout = Duration::from_secs(1);
    config
}

/// A node running in this process, with its own database directory.
pub struct TestNode {
    pub handle: NodeHandle,
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl TestNode {
    pub async fn start(deployment: &Deployment) -> Self {
        Self::start_with(deployment, |_| {}).await
    }

    pub async fn start_with(deployment: &Deployment, adjust: impl FnOnce(&mut NodeConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(deployment, dir.path().join("node.sqlite"));
        adjust(&mut config);
        let handle = Node::start(config).await.unwrap();
        let client = Client::new(
            format!("http://{}", handle.rpc_addr),
            format!("http://{}", handle.inspect_addr),
            deployment.application,
        );
        Self {
            handle,
            client,
            _dir: dir,
        }
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub rpc_base: String,
    pub inspect_base: String,
    pub app: Address,
}

impl Client {
    pub fn new(rpc_base: String, inspect_base: String, app: Address) -> Self {
        Self {
            http: reqwest::Client::new(),
            rpc_base,
            inspect_base,
            app,
        }
    }

    /// The whole JSON-RPC answer.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let response = self
            .http
            .post(format!("{}/rpc", self.rpc_base))
            .json(&request);
        response.send().await.unwrap().json().await.unwrap()
    }

    /// The result of a call on our application; panics on a JSON-RPC error.
    pub async fn result(&self, method: &str, mut params: Value) -> Value {
        params["application"] = json!(format!("{:#x}", self.app));
        let answer = self.call(method, params).await;
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    pub async fn processed(&self) -> u64 {
        let count = self
            .result("cartesi_getProcessedInputCount", json!({}))
            .await;
        witness_protocol::codec::parse_quantity(count["data"].as_str().unwrap()).unwrap()
    }

    pub async fn inspect(&self, app: &str, payload: &[u8]) -> (reqwest::StatusCode, Value) {
        let url = format!("{}/inspect/{app}", self.inspect_base);
        let response = self
            .http
            .post(url)
            .body(payload.to_vec())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.rpc_base))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Waits until the node has processed `n` inputs.
    pub async fn wait_processed(&self, n: u64) {
        wait_for(&format!("{n} inputs processed"), || async {
            self.processed().await >= n
        })
        .await;
    }
}

/// Polls `check` until it holds; fails the test after 60 s.
pub async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", alloy::hex::encode(bytes))
}

pub fn unhex(s: &Value) -> Vec<u8> {
    witness_protocol::codec::parse_hex(s.as_str().unwrap()).unwrap()
}

pub fn quantity(v: &Value) -> u64 {
    witness_protocol::codec::parse_quantity(v.as_str().unwrap()).unwrap()
}

pub async fn send(deployment: &Deployment, payload: &[u8]) -> witness_chain::AddedInput {
    L1::connect_signer(&deployment.rpc_url, key(SENDER))
        .unwrap()
        .with_input_box(deployment.input_box)
        .add_input(deployment.application, payload.to_vec())
        .await
        .unwrap()
}
