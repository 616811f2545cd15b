//! Configuration: command-line flags and environment ([`GatewayArgs`]) and the resolved
//! [`GatewayConfig`] the library runs with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use witness_protocol::codec::parse_hex_array;

use alloy::primitives::{Address, B256};
use witness_chain::{Deployment, GATEWAY_ACCOUNT};
pub use witness_node_client::NodeEndpoints;
use witness_protocol::{BackendPublicKey, Domain, MAX_INPUT_LEN};

use crate::error::{GatewayError, Result};
use crate::store::Role;

/// Default bound on an input's payload: 60 KiB, below the InputBox's 65,216 bytes.
pub const DEFAULT_BATCH_MAX_BYTES: usize = 60 * 1024;
/// Default bound on how long an acknowledged message waits before it is sent.
pub const DEFAULT_BATCH_MAX_DELAY: Duration = Duration::from_secs(1);
/// Default of [`BatchConfig::urgent_interval`].
pub const DEFAULT_URGENT_INTERVAL: Duration = Duration::from_secs(5);
/// Smallest allowed batch bound: one maximal envelope must fit.
pub const MIN_BATCH_MAX_BYTES: usize = 17 * 1024;

/// Command-line flags (each also read from the environment).
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, env = "WITNESS_GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Data directory (default database and deployment.json live here).
    #[arg(long, env = "WITNESS_DATA_DIR", default_value = ".witness")]
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL, or a SQLite path / `sqlite://PATH`
    /// (default: `<data-dir>/gateway.sqlite`).
    #[arg(long, env = "WITNESS_GATEWAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// deployment.json (default: `<data-dir>/deployment.json` when it exists). Without a
    /// deployment nothing is submitted.
    #[arg(long, env = "WITNESS_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// The gateway account's secp256k1 secret key, hex (default: the deployment's dev
    /// account 1).
    #[arg(long, env = "WITNESS_GATEWAY_KEY", hide_env_values = true)]
    pub gateway_key: Option<String>,
    /// Chain JSON-RPC endpoint (default: the deployment's).
    #[arg(long, env = "WITNESS_CHAIN_RPC_URL")]
    pub chain_rpc_url: Option<String>,
    /// The node's inspect base (`http://host:port`, or a full `.../inspect/<app>` URL).
    #[arg(
        long,
        env = "WITNESS_NODE_URL",
        default_value = "http://127.0.0.1:10012"
    )]
    pub node_url: String,
    /// The node's JSON-RPC base (`http://host:port` or `.../rpc`).
    #[arg(
        long,
        env = "WITNESS_RPC_NODE_URL",
        default_value = "http://127.0.0.1:10011"
    )]
    pub rpc_node_url: String,
    /// The backend's X25519 public key, hex (default: fetched from the node's inspect
    /// `{"type":"config"}`).
    #[arg(long, env = "WITNESS_BACKEND_PUBLIC_KEY")]
    pub backend_public_key: Option<String>,
    /// Directory with the web dashboard's build, served at `/` (SPA fallback to index.html).
    #[arg(long, env = "WITNESS_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Size bound of one rollup input's payload, in bytes.
    #[arg(long, env = "WITNESS_BATCH_MAX_BYTES", default_value_t = DEFAULT_BATCH_MAX_BYTES)]
    pub batch_max_bytes: usize,
    /// Latency bound: the oldest pending message waits at most this long, in milliseconds.
    #[arg(long, env = "WITNESS_BATCH_MAX_DELAY_MS", default_value_t = 1000)]
    pub batch_max_delay_ms: u64,
    /// Send a partial batch before its delay bound once it would cost at most this much gas
    /// per reading (`eth_estimateGas` of the real input); batches carrying anything but
    /// readings then go at once. Pair it with a long delay bound for a small fleet.
    #[arg(long, env = "WITNESS_BATCH_GAS_TARGET")]
    pub batch_gas_target: Option<u64>,
    /// With a gas target: at most one early send of a batch carrying statements (not only
    /// readings) per this many milliseconds.
    #[arg(long, env = "WITNESS_BATCH_URGENT_INTERVAL_MS", default_value_t = 5000)]
    pub batch_urgent_interval_ms: u64,
    /// First admin account, `username:password` (created if missing).
    #[arg(long, env = "WITNESS_GATEWAY_ADMIN", hide_env_values = true)]
    pub admin: Option<String>,
    /// First registrar account, `username:password` (created if missing).
    #[arg(long, env = "WITNESS_GATEWAY_REGISTRAR", hide_env_values = true)]
    pub registrar: Option<String>,
    /// Session lifetime in hours.
    #[arg(long, default_value_t = 24 * 7)]
    pub session_ttl_hours: u64,
    /// Mark the session cookie `Secure` (serve over HTTPS).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Accept and store, but do not submit to the chain.
    #[arg(long)]
    pub no_submit: bool,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
}

/// Where and as whom inputs are submitted.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Chain JSON-RPC endpoint.
    pub rpc_url: String,
    /// The InputBox.
    pub input_box: Address,
    /// The application.
    pub application: Address,
    /// The gateway account's secret key.
    pub gateway_key: B256,
    /// How often to poll the chain while waiting.
    pub poll_interval: Duration,
}

/// One application on one chain: with the backend key, the deployment a signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppId {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The application contract.
    pub application: [u8; 20],
}

impl AppId {
    /// The deployment's chain and application.
    pub fn of(deployment: &Deployment) -> Self {
        Self {
            chain_id: deployment.chain_id,
            application: deployment.application.into_array(),
        }
    }

    /// With the backend key: the domain signatures are bound to (PROTOCOL.md 3.5).
    pub fn domain(self, backend_key: BackendPublicKey) -> Domain {
        Domain {
            chain_id: self.chain_id,
            application: self.application,
            backend_key,
        }
    }
}

/// Batching bounds of the submitter.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Largest payload of one input.
    pub max_bytes: usize,
    /// Longest wait of a pending message.
    pub max_delay: Duration,
    /// Gas per reading at which a partial batch is worth sending before `max_delay`; `None`:
    /// only size and delay decide.
    pub gas_target: Option<u64>,
    /// With a gas target, a batch carrying anything but readings (a registration, an
    /// ownership statement: someone waits for it) goes before `max_delay`, but at most one
    /// such early send per this interval: whoever may post statements cannot make the gateway
    /// pay for a transaction per message.
    pub urgent_interval: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_BATCH_MAX_BYTES,
            max_delay: DEFAULT_BATCH_MAX_DELAY,
            gas_target: None,
            urgent_interval: DEFAULT_URGENT_INTERVAL,
        }
    }
}

/// Where the dashboard finds the other parts (`GET /v1/config`). A verifier's browser asks the
/// node and the chain directly, so these are hints it may override, not trusted answers.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ClientConfig {
    /// The node's inspect URL (`.../inspect/<app>`).
    pub node_inspect_url: Option<String>,
    /// The node's JSON-RPC URL (`.../rpc`).
    pub node_rpc_url: Option<String>,
    /// The chain's JSON-RPC URL.
    pub chain_rpc_url: Option<String>,
    /// The application contract.
    pub application: Option<String>,
    /// The chain id.
    pub chain_id: Option<u64>,
    /// The devices' local link (the simulator's stand-in for Bluetooth).
    pub local_link_url: Option<String>,
    /// The backend's X25519 key, as the node reports it (filled in when served).
    #[serde(default)]
    pub backend_public_key: Option<String>,
}

/// Everything [`crate::Gateway`] runs with.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Database URL (see [`crate::store::Store::open`]).
    pub database_url: String,
    /// Chain settings; `None` disables the submitter.
    pub chain: Option<ChainConfig>,
    /// Node endpoints; `None` disables node-backed reads and outcome tracking.
    pub node: Option<NodeEndpoints>,
    /// The backend key, if known up front.
    pub backend_public_key: Option<BackendPublicKey>,
    /// The chain and application every signature this gateway checks is bound to (protocol
    /// version 2); `None`: no deployment, so requests carrying signatures get 503.
    pub app: Option<AppId>,
    /// Web dashboard directory.
    pub web_dir: Option<PathBuf>,
    /// What `GET /v1/config` tells the dashboard.
    pub client: ClientConfig,
    /// Batching bounds.
    pub batch: BatchConfig,
    /// Accounts created at start if missing: `(username, password, role)`.
    pub bootstrap_accounts: Vec<(String, String, Role)>,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// `Secure` session cookies.
    pub secure_cookies: bool,
    /// Whether to run the submitter (needs `chain`).
    pub submit: bool,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Argon2id memory cost in KiB (OWASP's 19 MiB by default; tests lower it).
    pub argon2_memory_kib: u32,
    /// Failed logins per account and IP address per minute before 429.
    pub login_failures_per_minute: usize,
}

impl GatewayConfig {
    /// A configuration with defaults: SQLite at `database_url`, no chain, no node.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: database_url.into(),
            chain: None,
            node: None,
            backend_public_key: None,
            app: None,
            web_dir: None,
            client: ClientConfig::default(),
            batch: BatchConfig::default(),
            bootstrap_accounts: Vec::new(),
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            secure_cookies: false,
            submit: true,
            max_body_bytes: 8 * 1024 * 1024,
            argon2_memory_kib: 19 * 1024,
            login_failures_per_minute: 5,
        }
    }

    /// Resolves flags: loads the deployment, picks the gateway key, builds node URLs.
    pub fn from_args(args: &GatewayArgs) -> Result<Self> {
        let mut config = Self::new(args.database_url.clone().unwrap_or_else(|| {
            args.data_dir
                .join("gateway.sqlite")
                .to_string_lossy()
                .into_owned()
        }));
        config.listen = args.listen;
        let deployment_path = args.deployment.clone().or_else(|| {
            let default = args.data_dir.join("deployment.json");
            default.is_file().then_some(default)
        });
        let deployment = deployment_path
            .map(|path| {
                Deployment::load(&path)
                    .map_err(|e| GatewayError::Config(format!("deployment: {e}")))
            })
            .transpose()?;
        if let Some(deployment) = &deployment {
            config.app = Some(AppId::of(deployment));
            let gateway_key = match &args.gateway_key {
                Some(text) => parse_b256(text, "gateway key")?,
                None => {
                    deployment
                        .account(GATEWAY_ACCOUNT)
                        .ok_or_else(|| {
                            GatewayError::Config(
                                "no --gateway-key and the deployment lists no dev accounts".into(),
                            )
                        })?
                        .private_key
                }
            };
            config.chain = Some(ChainConfig {
                rpc_url: args
                    .chain_rpc_url
                    .clone()
                    .unwrap_or_else(|| deployment.rpc_url.clone()),
                input_box: deployment.input_box,
                application: deployment.application,
                gateway_key,
                poll_interval: Duration::from_millis(200),
            });
        }
        let app = deployment
            .as_ref()
            .map_or_else(|| "witness".to_owned(), |d| format!("{:#x}", d.application));
        config.node = Some(NodeEndpoints::new(&args.node_url, &args.rpc_node_url, &app));
        config.backend_public_key = args
            .backend_public_key
            .as_deref()
            .map(parse_backend_key)
            .transpose()?;
        config.web_dir = args.web_dir.clone();
        config.batch = BatchConfig {
            max_bytes: args.batch_max_bytes,
            max_delay: Duration::from_millis(args.batch_max_delay_ms),
            gas_target: args.batch_gas_target,
            urgent_interval: Duration::from_millis(args.batch_urgent_interval_ms),
        };
        for (flag, role) in [
            (&args.admin, Role::Admin),
            (&args.registrar, Role::Registrar),
        ] {
            if let Some(text) = flag {
                let (user, password) = text.split_once(':').ok_or_else(|| {
                    GatewayError::Config(format!("--{} expects username:password", role.as_str()))
                })?;
                config
                    .bootstrap_accounts
                    .push((user.to_owned(), password.to_owned(), role));
            }
        }
        config.session_ttl = Duration::from_secs(args.session_ttl_hours.saturating_mul(3600));
        config.secure_cookies = args.secure_cookies;
        config.submit = !args.no_submit;
        config.max_body_bytes = args.max_body_bytes;
        config.validate()?;
        Ok(config)
    }

    /// Checks bounds.
    pub fn validate(&self) -> Result<()> {
        if !(MIN_BATCH_MAX_BYTES..=MAX_INPUT_LEN).contains(&self.batch.max_bytes) {
            return Err(GatewayError::Config(format!(
                "batch max bytes must be within {MIN_BATCH_MAX_BYTES}..={MAX_INPUT_LEN}"
            )));
        }
        if self.batch.max_delay.is_zero() {
            return Err(GatewayError::Config(
                "batch max delay must be positive".into(),
            ));
        }
        if self.batch.gas_target == Some(0) {
            return Err(GatewayError::Config(
                "batch gas target must be positive".into(),
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(GatewayError::Config("max body bytes must be ≥ 1024".into()));
        }
        Ok(())
    }
}

fn parse_b256(text: &str, what: &str) -> Result<B256> {
    parse_hex_array(text)
        .map(B256::from)
        .ok_or_else(|| GatewayError::Config(format!("{what}: expected 32 bytes of hex")))
}

/// Parses a hex X25519 public key.
pub fn parse_backend_key(text: &str) -> Result<BackendPublicKey> {
    let out = parse_hex_array(text).ok_or_else(|| {
        GatewayError::Config("backend public key: expected 32 bytes of hex".into())
    })?;
    BackendPublicKey::from_bytes(&out)
        .map_err(|e| GatewayError::Config(format!("backend public key: {e}")))
}
