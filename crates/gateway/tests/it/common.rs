//! Shared fixtures: keys, devices, an in-process gateway, request helpers, a fake node.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::sol_types::SolCall as _;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use witness_chain::abi::Outputs;
use witness_gateway::{AppId, Gateway, GatewayConfig, NodeEndpoints, Role};
use witness_protocol::api::{
    ConfigAnswer, DeviceAnswer, ErrorAnswer, GroupStats, HistoryKeysAnswer, InspectAnswer,
    InspectQuery, LeafView, StatsAnswer,
};
use witness_protocol::fixture::{Car, Leg};
use witness_protocol::notice::{HistoryEntry, HistoryNotice, SealedValues, StateNotice};
use witness_protocol::state::{DeviceLeaf, HistoryAccumulator};
use witness_protocol::{
    BackendSecretKey, Commitment, Consent, DeviceId, Domain, Envelope, ModelId, OwnerQuery,
    OwnershipStatement, RegistrarAction, RegistrarMessage, SigningKey,
};

pub const ADMIN: (&str, &str) = ("admin", "admin-password");
pub const REGISTRAR: (&str, &str) = ("registrar", "registrar-password");

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

static SEED: AtomicU64 = AtomicU64::new(1);

/// A fresh seed per call (deterministic within a run).
pub fn next_seed() -> u64 {
    SEED.fetch_add(1, Ordering::Relaxed)
}

pub fn now_s() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap()
}

/// The deployment's keys: the backend's (the tests play the backend's author) and a root
/// registrar's.
pub struct Keys {
    pub backend: BackendSecretKey,
    /// The deployment of the tests (`witness_protocol::fixture::domain`), which [`config`]
    /// configures.
    pub domain: Domain,
    pub registrar: SigningKey,
    registrar_sequence: AtomicU64,
}

impl Keys {
    pub fn new(seed: u64) -> Self {
        let mut rng = rng(seed);
        let backend = BackendSecretKey::generate(&mut rng);
        Self {
            domain: witness_protocol::fixture::domain(backend.public_key()),
            backend,
            registrar: SigningKey::generate(&mut rng),
            registrar_sequence: AtomicU64::new(1),
        }
    }

    /// The same keys, signing for `chain`'s deployment instead of the fixture's.
    pub fn on(mut self, chain: &Chain) -> Self {
        self.domain = chain.domain(self.backend.public_key());
        self
    }

    /// The chain and application the keys sign for (what a gateway is configured with).
    pub fn app_id(&self) -> AppId {
        AppId {
            chain_id: self.domain.chain_id,
            application: self.domain.application,
        }
    }

    pub fn backend_hex(&self) -> String {
        hex::encode(self.backend.public_key().to_bytes())
    }

    /// A registrar message with the next sequence number, hex.
    pub fn registrar_message(&self, action: RegistrarAction) -> String {
        let sequence = self.registrar_sequence.fetch_add(1, Ordering::Relaxed);
        let message =
            RegistrarMessage::sign(&self.registrar, &self.domain, sequence, action).unwrap();
        hex::encode(message.encode().unwrap())
    }
}

/// A simulated device: the synthetic car (counters from 0) with its own sealing randomness.
/// The car's fields (`id`, `key`, `counter`, `odometer_m`, ...) read and write through it.
pub struct Device {
    car: Car,
    rng: ChaCha20Rng,
}

/// Every reading: a second after the previous one, 1 km on.
const LEG: Leg = Leg {
    seconds: 1,
    metres: 1_000,
    engine_s: 1,
    fuel_ml: 80,
};

impl Device {
    pub fn new(seed: u64) -> Self {
        let mut rng = rng(seed.wrapping_mul(7919).wrapping_add(17));
        let car = Car {
            counter: 0,
            odometer_m: 10_000_000,
            engine_s: 3_600,
            ..Car::generate(&mut rng)
        };
        Self { car, rng }
    }

    pub fn register_hex(&self, keys: &Keys) -> String {
        keys.registrar_message(self.car.enrolment(ModelId(1)))
    }

    /// Seals the next `count` readings, the last one a second ago.
    pub fn seal(&mut self, keys: &Keys, count: usize) -> Envelope {
        let readings = self.car.drive_until(now_s(), count, LEG);
        self.car
            .seal_next(&keys.domain, &readings, &mut self.rng)
            .unwrap()
    }

    /// A first pairing binding `owner`.
    pub fn ownership(&self, keys: &Keys, owner: &SigningKey, sequence: u64) -> OwnershipStatement {
        self.transfer(keys, owner, sequence, Consent::FirstPairing)
    }

    /// An ownership statement binding `owner` on `consent`.
    pub fn transfer(
        &self,
        keys: &Keys,
        owner: &SigningKey,
        sequence: u64,
        consent: Consent,
    ) -> OwnershipStatement {
        OwnershipStatement::sign(
            &self.key,
            &keys.domain,
            self.id,
            owner.public_key(),
            sequence,
            consent,
        )
    }
}

impl std::ops::Deref for Device {
    type Target = Car;

    fn deref(&self) -> &Car {
        &self.car
    }
}

impl std::ops::DerefMut for Device {
    fn deref_mut(&mut self) -> &mut Car {
        &mut self.car
    }
}

pub fn statement_hex(statement: &OwnershipStatement) -> String {
    let mut w = witness_protocol::codec::Writer::default();
    statement.encode(&mut w);
    hex::encode(w.finish())
}

pub fn owner_query_hex(
    keys: &Keys,
    owner: &SigningKey,
    device: DeviceId,
) -> (String, BackendSecretKey) {
    let response = BackendSecretKey::generate(&mut rng(next_seed() + 1_000_000));
    let query = OwnerQuery::sign(
        owner,
        &keys.domain,
        device,
        response.public_key().to_bytes(),
        now_s() + 3600,
    );
    (hex::encode(query.encode()), response)
}

pub fn concat(envelopes: &[Envelope]) -> Vec<u8> {
    envelopes
        .iter()
        .flat_map(|e| e.as_bytes().to_vec())
        .collect()
}

/// Database URLs to run a scenario against: SQLite always, PostgreSQL when
/// `WITNESS_TEST_POSTGRES_URL` is set (each call gets a fresh schema).
pub async fn database_urls(dir: &std::path::Path) -> Vec<String> {
    let mut urls = vec![dir.join("gateway.sqlite").display().to_string()];
    if let Some(url) = postgres_url().await {
        urls.push(url);
    }
    urls
}

/// A fresh PostgreSQL schema, as a URL, when `WITNESS_TEST_POSTGRES_URL` is set. The test
/// command sets `WITNESS_REQUIRE_POSTGRES=1` (scripts/test.sh): then a missing URL fails the
/// test instead of skipping PostgreSQL.
pub async fn postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("WITNESS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("WITNESS_REQUIRE_POSTGRES").is_none(),
            "WITNESS_REQUIRE_POSTGRES is set but WITNESS_TEST_POSTGRES_URL is not: start \
             PostgreSQL with `eval \"$(scripts/postgres.sh start)\"`"
        );
        return None;
    };
    let schema = format!(
        "witness_test_{}_{}",
        std::process::id(),
        SEED.fetch_add(1, Ordering::Relaxed)
    );
    let pool = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// A gateway config for tests: fast password hashing, the test accounts, the backend key.
pub fn config(url: &str, keys: &Keys) -> GatewayConfig {
    let mut config = GatewayConfig::new(url);
    config.argon2_memory_kib = 64;
    config.bootstrap_accounts = vec![
        (ADMIN.0.into(), ADMIN.1.into(), Role::Admin),
        (REGISTRAR.0.into(), REGISTRAR.1.into(), Role::Registrar),
    ];
    config.backend_public_key = Some(keys.backend.public_key().clone());
    config.app = Some(keys.app_id());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config
}

/// An in-process gateway driven through its router.
pub struct App {
    pub gateway: Gateway,
    pub router: axum::Router,
    pub keys: Keys,
    pub admin: String,
    pub registrar: String,
}

/// An answer: status, JSON (or the text as a JSON string), headers.
pub struct Answer {
    pub status: StatusCode,
    pub json: Value,
    pub headers: axum::http::HeaderMap,
}

impl App {
    pub async fn new(url: &str) -> Self {
        Self::with(url, |_| {}).await
    }

    pub async fn with(url: &str, tweak: impl FnOnce(&mut GatewayConfig)) -> Self {
        let keys = Keys::new(next_seed());
        let mut config = config(url, &keys);
        tweak(&mut config);
        let gateway = Gateway::new(config).await.unwrap();
        let router = gateway.router();
        let mut app = Self {
            gateway,
            router,
            keys,
            admin: String::new(),
            registrar: String::new(),
        };
        app.admin = app.login(ADMIN.0, ADMIN.1).await;
        app.registrar = app.login(REGISTRAR.0, REGISTRAR.1).await;
        app
    }

    pub async fn request(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            json,
            headers,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .unwrap();
        self.request(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call("POST", path, token, Some(body)).await
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let answer = self
            .post(
                "/v1/auth/login",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
        answer.json["token"].as_str().unwrap().to_owned()
    }

    pub async fn signup(&self, username: &str) -> String {
        let answer = self
            .post(
                "/v1/auth/signup",
                None,
                json!({"username": username, "password": "owner-password"}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
        answer.json["token"].as_str().unwrap().to_owned()
    }

    /// Registers devices through the registrar endpoint.
    pub async fn register(&self, devices: &[&Device]) {
        let messages: Vec<String> = devices.iter().map(|d| d.register_hex(&self.keys)).collect();
        let answer = self
            .post(
                "/v1/registrar/messages",
                Some(&self.registrar),
                json!({ "messages": messages }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
    }

    pub async fn post_octets(&self, body: Vec<u8>) -> Answer {
        let request = Request::builder()
            .method("POST")
            .uri("/v1/readings")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(body))
            .unwrap();
        self.request(request).await
    }

    pub async fn post_envelopes_json(&self, envelopes: &[Envelope]) -> Answer {
        let hexes: Vec<String> = envelopes
            .iter()
            .map(|e| hex::encode(e.as_bytes()))
            .collect();
        self.post("/v1/readings", None, json!({ "envelopes": hexes }))
            .await
    }

    /// Claims `device` for the account of `token` with a fresh owner key.
    pub async fn claim(&self, token: &str, device: &Device, sequence: u64) -> (Answer, SigningKey) {
        let owner = SigningKey::generate(&mut rng(next_seed() + 5_000_000));
        let statement = device.ownership(&self.keys, &owner, sequence);
        let answer = self
            .post(
                &format!("/v1/devices/{}/claim", device.id),
                Some(token),
                json!({"statement": statement_hex(&statement)}),
            )
            .await;
        (answer, owner)
    }

    pub async fn queue_depth(&self) -> u64 {
        self.gateway
            .store()
            .queue_stats()
            .await
            .unwrap()
            .pending_messages
    }
}

/// What the fake node's backend knows: leaves by device, and the notices each input emitted.
#[derive(Debug, Default)]
pub struct FakeRollup {
    /// Current leaves, by device id (hex).
    pub leaves: HashMap<String, LeafView>,
    /// Notice payloads per input, in emission order (outputs get global indexes in input
    /// order).
    pub outputs: BTreeMap<u64, Vec<Vec<u8>>>,
    /// The trusted registrars its config answer lists (hex keys).
    pub registrars: Vec<String>,
    /// The authorized gateways its config answer lists (`0x…`).
    pub gateways: Vec<String>,
    /// Device queries get no answer (a node that hangs).
    pub silent_devices: bool,
}

impl FakeRollup {
    /// Emits `payloads` for input `input`, followed by its state notice.
    pub fn emit(&mut self, input: u64, mut payloads: Vec<Vec<u8>>) {
        payloads.push(state_notice(input));
        self.outputs.insert(input, payloads);
    }

    /// `(global output index, payload)` of input `input`'s outputs.
    pub fn outputs_of(&self, input: u64) -> Vec<(u64, Vec<u8>)> {
        let first: usize = self.outputs.range(..input).map(|(_, o)| o.len()).sum();
        self.outputs
            .get(&input)
            .map(|o| {
                o.iter()
                    .enumerate()
                    .map(|(i, p)| ((first + i) as u64, p.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A state notice for `input` (content irrelevant to the gateway).
pub fn state_notice(input: u64) -> Vec<u8> {
    StateNotice {
        input_index: input,
        block_number: input + 10,
        block_timestamp: 1_700_000_000 + input,
        devices: 1,
        map_root: [input as u8; 32],
        globals: [0; 32],
    }
    .encode()
}

/// A history notice of `device` at `input`, with one envelope of one reading.
pub fn history_notice(
    device: DeviceId,
    input: u64,
    position: u64,
    previous_input: Option<u64>,
    era: u32,
) -> Vec<u8> {
    HistoryNotice {
        device_id: device,
        input_index: input,
        block_timestamp: 1_700_000_000 + input,
        era,
        position,
        previous_input,
        entries: vec![
            HistoryEntry::Envelope {
                first_counter: position,
                count: 1,
            },
            HistoryEntry::Reading {
                counter: position,
                commitment: Commitment([position as u8; 32]),
                rollback_of: None,
            },
        ],
        sealed: SealedValues {
            odometer: vec![1; 28],
            detail: vec![2; 80],
        },
    }
    .encode()
}

/// A leaf for `device` bound to `owner`, whose latest of `count` notices is at `last_input`.
pub fn leaf(
    device: &Device,
    owner: Option<&SigningKey>,
    count: u64,
    last_input: Option<u64>,
) -> LeafView {
    let mut leaf = DeviceLeaf::new(device.id, ModelId(1), device.key.public_key().to_bytes());
    leaf.owner = owner.map(|o| o.public_key().to_bytes());
    leaf.ownership_sequence = owner.map(|_| 1);
    leaf.era = u32::from(owner.is_some());
    leaf.history = HistoryAccumulator {
        count,
        root: [9; 32],
        last_input,
    };
    LeafView::from(&leaf)
}

fn config_answer(key: String, rollup: &FakeRollup) -> ConfigAnswer {
    ConfigAnswer {
        protocol_version: 2,
        backend_public_key: key,
        admin: format!("{:#x}", Address::ZERO),
        root_registrars: vec![],
        registrars: rollup.registrars.clone(),
        gateways: rollup.gateways.clone(),
        max_future_skew_s: 300,
        max_age_s: 30 * 86_400,
        proof_freshness_s: 600,
        k_anonymity: 5,
        proof_retention_blocks: 7_200,
        models: vec![],
    }
}

fn stats_answer() -> StatsAnswer {
    let group = GroupStats {
        model: None,
        name: "fleet".into(),
        published: false,
        devices: None,
        readings: None,
        total_km: None,
        km_per_year_histogram: None,
        km_per_year_median: None,
        faults_per_10000_km: None,
        consumption_l_per_100km: None,
        co2_g_per_km: None,
    };
    StatsAnswer {
        k_anonymity: 5,
        km_per_year_buckets: vec![5_000, 10_000],
        models: vec![],
        fleet: group,
    }
}

fn refused(code: &str) -> InspectAnswer {
    InspectAnswer::Error(ErrorAnswer {
        error: code.into(),
        detail: "refused by the fake backend".into(),
    })
}

fn answer(rollup: &FakeRollup, key: &str, query: InspectQuery) -> InspectAnswer {
    match query {
        InspectQuery::Config => InspectAnswer::Config(config_answer(key.to_owned(), rollup)),
        InspectQuery::Stats => InspectAnswer::Stats(stats_answer()),
        InspectQuery::Device { device_id } => {
            let leaf = rollup.leaves.get(&device_id).cloned();
            InspectAnswer::Device(DeviceAnswer {
                device_id,
                exists: leaf.is_some(),
                input_index: Some(6),
                leaf,
            })
        }
        InspectQuery::HistoryKeys {
            owner_query: Some(query),
            ..
        } => {
            let Some(query) = hex::decode(&query)
                .ok()
                .and_then(|q| OwnerQuery::decode(&q).ok())
            else {
                return refused("bad_owner_query");
            };
            let owner = hex::encode(query.owner.to_bytes());
            match rollup.leaves.get(&query.device_id.to_hex()) {
                Some(leaf) if leaf.owner.as_deref() == Some(owner.as_str()) => {
                    InspectAnswer::HistoryKeys(HistoryKeysAnswer {
                        device_id: query.device_id.to_hex(),
                        era: leaf.era,
                        sealed: "00ff".into(),
                    })
                }
                Some(_) => refused("not_owner"),
                None => refused("unknown_device"),
            }
        }
        _ => refused("bad_query"),
    }
}

/// A stand-in for the node's client APIs: inspect answers from a [`FakeRollup`], and
/// `cartesi_getProcessedInputCount` / `cartesi_listOutputs` / `cartesi_listReports`.
pub struct FakeNode {
    pub endpoints: NodeEndpoints,
    /// Its base URL (inspect and JSON-RPC both), for a gateway binary's `--node-url`.
    pub url: String,
    pub rollup: Arc<Mutex<FakeRollup>>,
    /// `cartesi_listOutputs` calls answered.
    pub output_calls: Arc<AtomicU64>,
    pub task: tokio::task::JoinHandle<()>,
}

impl FakeNode {
    /// The rollup trusts `keys`' registrar from now on.
    pub fn trust(&self, keys: &Keys) {
        let key = hex::encode(keys.registrar.public_key().to_bytes());
        self.rollup.lock().unwrap().registrars.push(key);
    }

    /// The rollup authorizes the gateway account from now on.
    pub fn authorize_gateway(&self) {
        let address = format!("{:#x}", gateway_address());
        self.rollup.lock().unwrap().gateways.push(address);
    }

    pub async fn start(backend_key_hex: String) -> Self {
        use axum::routing::post;
        let rollup = Arc::new(Mutex::new(FakeRollup::default()));
        let output_calls = Arc::new(AtomicU64::new(0));
        let inspect_rollup = rollup.clone();
        let rpc_rollup = rollup.clone();
        let calls = output_calls.clone();
        let router = axum::Router::new()
            .route(
                "/inspect/{app}",
                post(move |body: axum::body::Bytes| {
                    let key = backend_key_hex.clone();
                    let rollup = inspect_rollup.clone();
                    async move {
                        let query = serde_json::from_slice::<InspectQuery>(&body);
                        let silent = rollup.lock().unwrap().silent_devices;
                        if silent && matches!(query, Ok(InspectQuery::Device { .. })) {
                            tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                        }
                        let answer = match query {
                            Ok(query) => answer(&rollup.lock().unwrap(), &key, query),
                            Err(_) => refused("bad_query"),
                        };
                        let status = if matches!(answer, InspectAnswer::Error(_)) {
                            "Rejected"
                        } else {
                            "Accepted"
                        };
                        let payload = serde_json::to_vec(&answer).unwrap();
                        axum::Json(json!({
                            "status": status,
                            "exception_payload": null,
                            "reports": [{"payload": format!("0x{}", hex::encode(payload))}],
                            "processed_input_count": 7,
                        }))
                    }
                }),
            )
            .route(
                "/rpc",
                post(move |body: axum::Json<Value>| {
                    let rollup = rpc_rollup.clone();
                    let calls = calls.clone();
                    async move {
                        let params = &body["params"];
                        let result = match body["method"].as_str() {
                            Some("cartesi_getProcessedInputCount") => json!({"data": "0x7"}),
                            Some("cartesi_listOutputs") => {
                                calls.fetch_add(1, Ordering::Relaxed);
                                let input = params["input_index"]
                                    .as_str()
                                    .and_then(|i| u64::from_str_radix(&i[2..], 16).ok())
                                    .unwrap();
                                let data: Vec<Value> = rollup
                                    .lock()
                                    .unwrap()
                                    .outputs_of(input)
                                    .into_iter()
                                    .map(|(index, payload)| {
                                        let raw = Outputs::NoticeCall {
                                            payload: payload.into(),
                                        }
                                        .abi_encode();
                                        json!({
                                            "epoch_index": "0x0",
                                            "input_index": format!("{input:#x}"),
                                            "index": format!("{index:#x}"),
                                            "raw_data": format!("0x{}", hex::encode(raw)),
                                            "output_hashes_siblings": null,
                                        })
                                    })
                                    .collect();
                                let total = data.len();
                                json!({"data": data, "pagination": {"total_count": total, "limit": 1000, "offset": 0}})
                            }
                            _ => {
                                json!({"data": [], "pagination": {"total_count": 0, "limit": 50, "offset": 0}})
                            }
                        };
                        axum::Json(json!({"jsonrpc": "2.0", "id": body["id"], "result": result}))
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let url = format!("http://{addr}");
        Self {
            endpoints: NodeEndpoints::new(&url, &url, "witness"),
            url,
            rollup,
            output_calls,
            task,
        }
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---- chain ----

use alloy::primitives::{Address, B256};
use witness_chain::{AnvilOptions, GATEWAY_ACCOUNT, L1, dev_accounts};
use witness_gateway::ChainConfig;
use witness_protocol::{Message, RollupInput};
use witness_test_support::{Chain, ChainOpts};

pub fn gateway_address() -> Address {
    dev_accounts()[GATEWAY_ACCOUNT].address
}

/// anvil (`block_time` None: a block per transaction) with a deployed application.
pub async fn deployed(block_time: Option<f64>) -> Chain {
    let anvil = AnvilOptions {
        block_time,
        ..AnvilOptions::default()
    };
    let opts = ChainOpts {
        template_hash: B256::repeat_byte(0x11),
        ..ChainOpts::default()
    };
    Chain::start(anvil, opts).await.unwrap()
}

/// How the gateway submits to `chain` through `rpc_url` (anvil's, or a proxy's), polling every
/// 50 ms.
pub fn chain_config(chain: &Chain, rpc_url: &str) -> ChainConfig {
    ChainConfig {
        rpc_url: rpc_url.to_owned(),
        poll_interval: std::time::Duration::from_millis(50),
        ..chain.gateway_chain()
    }
}

/// Every input on chain for the application: `(index, sender, payload)`.
pub async fn chain_inputs(chain: &Chain) -> Vec<(u64, Address, Vec<u8>)> {
    let l1 = L1::for_deployment(&chain.deployment).unwrap();
    let head = l1.block_number().await.unwrap();
    l1.input_added_logs(chain.deployment.application, 0, head)
        .await
        .unwrap()
        .into_iter()
        .map(|log| {
            let advance = witness_chain::decode_evm_advance(&log.input).unwrap();
            assert_eq!(advance.index, log.index);
            (log.index, advance.msg_sender, advance.payload.to_vec())
        })
        .collect()
}

/// Envelope hashes (and other message hashes) carried by the gateway's inputs on chain, in
/// chain order, with how often each appears.
pub async fn submitted_messages(chain: &Chain) -> Vec<Message> {
    let mut messages = Vec::new();
    for (_, sender, payload) in chain_inputs(chain).await {
        if sender != gateway_address() {
            continue;
        }
        assert!(payload.len() <= witness_protocol::MAX_INPUT_LEN);
        messages.extend(RollupInput::decode(&payload).unwrap().messages);
    }
    messages
}

pub fn envelope_hashes(messages: &[Message]) -> Vec<[u8; 32]> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Envelope(e) => Some(e.hash()),
            _ => None,
        })
        .collect()
}

/// Polls `check` every 100 ms until it holds; panics after `seconds`.
pub async fn wait_until<F, Fut>(what: &str, seconds: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A TCP forwarder to `target` that can be cut (dropping every connection) and restored:
/// an RPC outage on demand.
pub struct Proxy {
    pub url: String,
    cut: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (cut, watch) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mut watch = watch.clone();
                if *watch.borrow() {
                    continue; // dropped: connection refused-ish
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { url, cut, task }
    }

    pub fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
