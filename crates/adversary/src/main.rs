//! `witness-adversary`: a rollups node (or gateway) that lies, for tests.
//!
//! It proxies a real node's `POST /rpc` and `POST /inspect/<app>` (or, with
//! `--upstream-gateway`, a gateway's whole API) and changes the answers in one named way:
//!
//! | mode | lie |
//! |---|---|
//! | `honest` | none (a control) |
//! | `stale` | it stopped following the chain after `--stale-inputs` inputs (default: what the upstream had processed when the adversary started): later inputs and their outputs do not exist, paths are as of its last input |
//! | `older` | answers for input *i* come from input *i − older-by*, relabelled as input *i* |
//! | `forge-leaf` | the leaf in every map proof is altered (flag and tamper count cleared, higher attested count) |
//! | `forge-path` | a sibling hash in every map proof is altered |
//! | `withhold` | the last output of every input (the state notice) is left out |
//! | `lie-config` | (gateway) `/v1/config` advertises another application and chain id |
//!
//! Everything is on loopback; it is a test tool, not part of the system.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use tower_http::cors::CorsLayer;
use witness_protocol::api::{InspectAnswer, InspectQuery};
use witness_protocol::codec::parse_hex;
use witness_protocol::state::{MapProof, Terminal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Honest,
    Stale,
    Older,
    ForgeLeaf,
    ForgePath,
    Withhold,
    LieConfig,
}

#[derive(Debug, Parser)]
#[command(about = "A lying rollups node (or gateway) for tests")]
struct Args {
    /// Address to listen on (port 0: any; the chosen address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The real node's JSON-RPC URL.
    #[arg(long)]
    upstream_rpc: Option<String>,
    /// The real node's inspect URL (`…/inspect/<app>`).
    #[arg(long)]
    upstream_inspect: Option<String>,
    /// A real gateway's base URL (for `lie-config`).
    #[arg(long)]
    upstream_gateway: Option<String>,
    /// How it lies.
    #[arg(long, value_enum)]
    mode: Mode,
    /// `stale`: inputs it has processed.
    #[arg(long)]
    stale_inputs: Option<u64>,
    /// `older`: how many inputs back its answers come from.
    #[arg(long, default_value_t = 1)]
    older_by: u64,
}

#[derive(Debug)]
struct Adversary {
    args: Args,
    http: reqwest::Client,
    /// `stale`: inputs it pretends to have processed.
    frozen: u64,
}

type Shared = State<Arc<Adversary>>;

fn quantity(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => u64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
        _ => None,
    }
}

fn bad_gateway(e: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_GATEWAY, e.to_string()).into_response()
}

impl Adversary {
    async fn rpc_upstream(&self, request: &Value) -> Result<Value, Response> {
        let url = self
            .args
            .upstream_rpc
            .as_deref()
            .ok_or_else(|| bad_gateway("no --upstream-rpc"))?;
        let response = self
            .http
            .post(url)
            .json(request)
            .send()
            .await
            .map_err(bad_gateway)?;
        response.json().await.map_err(bad_gateway)
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, Response> {
        let answer = self
            .rpc_upstream(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .await?;
        Ok(answer["result"].clone())
    }

    async fn inspect_upstream(&self, query: &InspectQuery) -> Result<Value, Response> {
        let url = self
            .args
            .upstream_inspect
            .as_deref()
            .ok_or_else(|| bad_gateway("no --upstream-inspect"))?;
        let body = serde_json::to_vec(query).map_err(bad_gateway)?;
        let response = self
            .http
            .post(url)
            .body(body)
            .send()
            .await
            .map_err(bad_gateway)?;
        response.json().await.map_err(bad_gateway)
    }

    /// The input a lie answers from, for a request about `input`.
    fn source_input(&self, input: u64) -> Option<u64> {
        match self.args.mode {
            Mode::Older => input.checked_sub(self.args.older_by),
            Mode::Stale => (input < self.frozen).then_some(input),
            _ => Some(input),
        }
    }

    async fn rpc(&self, mut request: Value) -> Result<Value, Response> {
        let method = request["method"].as_str().unwrap_or_default().to_owned();
        let params = request["params"].clone();
        let id = request["id"].clone();
        let reply = |result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
        match (self.args.mode, method.as_str()) {
            (Mode::Stale, "cartesi_getProcessedInputCount") => {
                let real = quantity(&self.call(&method, params).await?["data"]).unwrap_or(0);
                Ok(reply(
                    json!({"data": format!("{:#x}", real.min(self.frozen))}),
                ))
            }
            (Mode::Stale | Mode::Older | Mode::Withhold, "cartesi_listOutputs")
                if params.get("input_index").is_some() =>
            {
                let asked = quantity(&params["input_index"]).unwrap_or(0);
                let Some(source) = self.source_input(asked) else {
                    return Ok(reply(
                        json!({"data": [], "pagination": {"total_count": "0x0", "limit": params["limit"], "offset": params["offset"]}}),
                    ));
                };
                request["params"]["input_index"] = json!(format!("{source:#x}"));
                let mut answer = self.rpc_upstream(&request).await?;
                if let Some(outputs) = answer["result"]["data"].as_array_mut() {
                    for output in outputs.iter_mut() {
                        output["input_index"] = json!(format!("{asked:#x}"));
                    }
                    if self.args.mode == Mode::Withhold {
                        outputs.pop();
                    }
                    let count = outputs.len();
                    answer["result"]["pagination"]["total_count"] = json!(format!("{count:#x}"));
                }
                Ok(answer)
            }
            (Mode::Stale | Mode::Withhold, "cartesi_getOutput") => {
                let answer = self.rpc_upstream(&request).await?;
                let output = &answer["result"]["data"];
                let input = quantity(&output["input_index"]).unwrap_or(0);
                let hide = match self.args.mode {
                    Mode::Stale => input >= self.frozen,
                    // The state notice is the last output of its input.
                    _ => {
                        let all = self
                            .call(
                                "cartesi_listOutputs",
                                json!({"input_index": format!("{input:#x}"), "limit": 1000}),
                            )
                            .await?;
                        all["data"]
                            .as_array()
                            .and_then(|o| o.last())
                            .map(|o| &o["index"])
                            == Some(&output["index"])
                    }
                };
                if hide {
                    return Ok(
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": "output not found"}}),
                    );
                }
                Ok(answer)
            }
            _ => self.rpc_upstream(&request).await,
        }
    }

    async fn inspect(&self, payload: &[u8]) -> Result<Value, Response> {
        let Ok(mut query) = serde_json::from_slice::<InspectQuery>(payload) else {
            return self.inspect_raw(payload).await;
        };
        let asked = match &mut query {
            InspectQuery::DeviceProof { input_index, .. } => {
                let asked = match *input_index {
                    Some(index) => index,
                    None => quantity(
                        &self
                            .call("cartesi_getProcessedInputCount", json!({}))
                            .await?["data"],
                    )
                    .unwrap_or(1)
                    .saturating_sub(1),
                };
                match self.source_input(asked) {
                    Some(source) => *input_index = Some(source),
                    None if self.args.mode == Mode::Stale => {
                        *input_index = Some(self.frozen.saturating_sub(1));
                    }
                    None => {}
                }
                Some(asked)
            }
            _ => None,
        };
        let mut answer = self.inspect_upstream(&query).await?;
        let Some(report) = answer["reports"][0]["payload"].as_str().and_then(parse_hex) else {
            return Ok(answer);
        };
        let Ok(InspectAnswer::DeviceProof(mut proof)) = serde_json::from_slice(&report) else {
            return Ok(answer);
        };
        if let Some(asked) = asked {
            proof.input_index = asked;
        }
        if let Some(mut map_proof) = parse_hex(&proof.proof).and_then(|b| MapProof::decode(&b).ok())
        {
            match (self.args.mode, &mut map_proof.terminal) {
                (Mode::ForgeLeaf, Terminal::Leaf(leaf)) => {
                    leaf.open_tampers = 0;
                    leaf.tamper_events = 0;
                    leaf.latest_tamper = None;
                    leaf.attested += 1;
                }
                (Mode::ForgePath, _) => match map_proof.siblings.first_mut() {
                    Some(sibling) => sibling[0] ^= 1,
                    None => map_proof.siblings.push([1; 32]),
                },
                _ => {}
            }
            proof.proof = hex::encode(map_proof.encode());
        }
        let bytes = serde_json::to_vec(&InspectAnswer::DeviceProof(proof)).unwrap_or_default();
        answer["reports"][0]["payload"] = json!(format!("0x{}", hex::encode(bytes)));
        if self.args.mode == Mode::Stale {
            answer["processed_input_count"] = json!(self.frozen);
        }
        Ok(answer)
    }

    async fn inspect_raw(&self, payload: &[u8]) -> Result<Value, Response> {
        let url = self
            .args
            .upstream_inspect
            .as_deref()
            .ok_or_else(|| bad_gateway("no --upstream-inspect"))?;
        let response = self
            .http
            .post(url)
            .body(payload.to_vec())
            .send()
            .await
            .map_err(bad_gateway)?;
        response.json().await.map_err(bad_gateway)
    }
}

async fn rpc(State(adversary): Shared, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    match adversary.rpc(request).await {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(response) => response,
    }
}

async fn inspect(State(adversary): Shared, Path(_app): Path<String>, body: Bytes) -> Response {
    match adversary.inspect(&body).await {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(response) => response,
    }
}

/// `lie-config`: everything goes to the gateway; `/v1/config` is rewritten.
async fn gateway(
    State(adversary): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(base) = adversary.args.upstream_gateway.as_deref() else {
        return bad_gateway("no --upstream-gateway");
    };
    let url = format!(
        "{}{}",
        base.trim_end_matches('/'),
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = adversary.http.request(method, &url).body(body.to_vec());
    for (name, value) in &headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return bad_gateway(e),
    };
    let status = response.status();
    let response_headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap_or_default();
    if uri.path() == "/v1/config"
        && let Ok(mut config) = serde_json::from_slice::<Value>(&bytes)
    {
        config["application"] = json!("0x00000000000000000000000000000000deadbeef");
        config["chain_id"] = json!(config["chain_id"].as_u64().unwrap_or(31337) + 1);
        return (status, axum::Json(config)).into_response();
    }
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    for (name, value) in &response_headers {
        if name != "content-length" && name != "transfer-encoding" {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let http = reqwest::Client::new();
    let mut adversary = Adversary {
        args,
        http,
        frozen: 0,
    };
    if adversary.args.mode == Mode::Stale {
        adversary.frozen = match adversary.args.stale_inputs {
            Some(inputs) => inputs,
            None => quantity(
                &adversary
                    .call("cartesi_getProcessedInputCount", json!({}))
                    .await
                    .map_err(|_| "upstream node unreachable")?["data"],
            )
            .unwrap_or(0),
        };
    }
    let listen = adversary.args.listen;
    let mode = adversary.args.mode;
    let state = Arc::new(adversary);
    let router = if mode == Mode::LieConfig {
        Router::new().fallback(gateway).with_state(state)
    } else {
        Router::new()
            .route("/rpc", post(rpc))
            .route("/inspect/{app}", post(inspect))
            .route("/healthz", get(|| async { "ok" }))
            .layer(CorsLayer::permissive())
            .with_state(state)
    };
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
