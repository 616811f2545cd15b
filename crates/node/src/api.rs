//! Client APIs: `POST /inspect/<app>`, JSON-RPC 2.0 at `POST /rpc`, `/healthz`, `/metrics`.

use std::sync::Arc;

use alloy::primitives::Address;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::cors::CorsLayer;

use crate::Shared;
use crate::db::{Db, EpochRow, Filter, Input, OutputRow, ReportRow};
use crate::error::{Error, Result};
use crate::hexfmt::{hex0x, parse_hex, parse_quantity, quantity};
use crate::rollup::Completion;

#[derive(Debug)]
pub(crate) struct ApiState {
    pub shared: Arc<Shared>,
    /// The API's own (read) connection.
    pub db: Db,
}

type S = State<Arc<ApiState>>;

// The client APIs are public and read-only (inspect cannot change state), and verifiers call
// them straight from the browser rather than trusting the gateway, so any origin may.
pub(crate) fn inspect_router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/inspect/{app}", post(inspect))
        .route("/healthz", get(healthz))
        .layer(CorsLayer::permissive())
        .with_state(state)
}

pub(crate) fn rpc_router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/rpc", post(rpc))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(CorsLayer::permissive())
        .with_state(state)
}

impl ApiState {
    /// Whether `name` designates our application (its address in any case, or its name).
    fn is_app(&self, name: &str) -> bool {
        let config = &self.shared.config;
        name == config.app_name
            || name
                .parse::<Address>()
                .is_ok_and(|a| a == config.application)
    }
}

async fn inspect(State(state): S, Path(app): Path<String>, payload: Bytes) -> Result<Response> {
    if !state.is_app(&app) {
        return Err(Error::NotFound(format!("application {app}")));
    }
    let outcome = state.shared.dispatcher.inspect(payload.to_vec()).await?;
    let (status, exception) = match &outcome.completion {
        Completion::Accepted => ("Accepted", Value::Null),
        Completion::Rejected => ("Rejected", Value::Null),
        Completion::Exception(p) => ("Exception", Value::String(hex0x(p))),
    };
    let reports: Vec<Value> = outcome
        .reports
        .iter()
        .map(|r| json!({ "payload": hex0x(r) }))
        .collect();
    Ok(axum::Json(json!({
        "status": status,
        "exception_payload": exception,
        "reports": reports,
        "processed_input_count": outcome.processed_input_count,
    }))
    .into_response())
}

async fn healthz(State(state): S) -> Response {
    match state.shared.failure() {
        None => (StatusCode::OK, "ok").into_response(),
        Some(failure) => (StatusCode::SERVICE_UNAVAILABLE, failure).into_response(),
    }
}

async fn metrics(State(state): S) -> Result<Response> {
    let text = tokio::task::spawn_blocking(move || -> Result<String> {
        let processed = state.db.processed_count()?;
        let synced = state.db.synced_block()?;
        let head = state.shared.metrics.chain_head.get();
        Ok(state
            .shared
            .metrics
            .render(processed, synced.map_or(head, |b| head.saturating_sub(b))))
    })
    .await
    .map_err(|e| Error::Unavailable(e.to_string()))??;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

// ---- JSON-RPC 2.0 ----

const MAX_LIMIT: u64 = 10_000;
const DEFAULT_LIMIT: u64 = 50;

async fn rpc(State(state): S, body: Bytes) -> Response {
    let answer = match serde_json::from_slice::<Value>(&body) {
        Err(e) => Some(rpc_error(Value::Null, -32700, &format!("parse error: {e}"))),
        Ok(Value::Array(calls)) if calls.is_empty() => {
            Some(rpc_error(Value::Null, -32600, "empty batch"))
        }
        Ok(request) => {
            let state = state.clone();
            tokio::task::spawn_blocking(move || match request {
                Value::Array(calls) => {
                    let answers: Vec<Value> =
                        calls.into_iter().filter_map(|c| call(&state, c)).collect();
                    (!answers.is_empty()).then_some(Value::Array(answers))
                }
                single => call(&state, single),
            })
            .await
            .unwrap_or_else(|e| Some(rpc_error(Value::Null, -32603, &e.to_string())))
        }
    };
    match answer {
        Some(answer) => axum::Json(answer).into_response(),
        None => StatusCode::NO_CONTENT.into_response(), // notifications only
    }
}

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// One call; `None` for a notification (no `id`).
fn call(state: &ApiState, request: Value) -> Option<Value> {
    let id = request.get("id").cloned();
    let method = request.get("method").and_then(Value::as_str);
    let (Some(method), true) = (method, request.get("jsonrpc") == Some(&json!("2.0"))) else {
        return Some(rpc_error(
            id.unwrap_or(Value::Null),
            -32600,
            "invalid request",
        ));
    };
    let params = normalize_params(request.get("params").cloned().unwrap_or(Value::Null));
    let result = dispatch(state, method, params);
    let id = id?;
    Some(match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(RpcError::MethodNotFound) => {
            rpc_error(id, -32601, &format!("method {method} not found"))
        }
        Err(RpcError::Node(e)) => rpc_error(id, e.rpc_code(), &e.to_string()),
    })
}

/// Named parameters are the norm; `["app"]` and `[{...}]` are accepted too.
fn normalize_params(params: Value) -> Value {
    match params {
        Value::Array(mut items) if items.len() == 1 => match items.remove(0) {
            Value::String(app) => json!({ "application": app }),
            other => other,
        },
        Value::Null => json!({}),
        other => other,
    }
}

enum RpcError {
    MethodNotFound,
    Node(Error),
}

impl From<Error> for RpcError {
    fn from(e: Error) -> Self {
        RpcError::Node(e)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    application: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
    epoch_index: Option<String>,
    input_index: Option<String>,
    output_index: Option<String>,
    report_index: Option<String>,
    sender: Option<String>,
    output_type: Option<String>,
    voucher_address: Option<String>,
    status: Option<String>,
    /// Accepted for compatibility; data is always returned decoded where it can be.
    #[serde(rename = "decode")]
    _decode: Option<bool>,
}

impl Params {
    fn page(&self) -> Result<(u64, u64)> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::BadRequest(format!(
                "limit must be within 1..={MAX_LIMIT}"
            )));
        }
        Ok((limit, self.offset.unwrap_or(0)))
    }

    fn index(value: &Option<String>, name: &str) -> Result<Option<u64>> {
        value
            .as_deref()
            .map(|v| parse_quantity(name, v))
            .transpose()
    }

    fn required(value: &Option<String>, name: &str) -> Result<u64> {
        Self::index(value, name)?.ok_or_else(|| Error::BadRequest(format!("{name} is required")))
    }

    fn address(value: &Option<String>, name: &str) -> Result<Option<Address>> {
        value
            .as_deref()
            .map(|v| {
                v.parse()
                    .map_err(|_| Error::BadRequest(format!("{name}: bad address")))
            })
            .transpose()
    }

    fn filter(&self) -> Result<Filter> {
        let output_type = self
            .output_type
            .as_deref()
            .map(|t| {
                <[u8; 4]>::try_from(parse_hex("output_type", t)?.as_slice())
                    .map_err(|_| Error::BadRequest("output_type: expected 4 bytes".into()))
            })
            .transpose()?;
        Ok(Filter {
            epoch_index: Self::index(&self.epoch_index, "epoch_index")?,
            input_index: Self::index(&self.input_index, "input_index")?,
            sender: Self::address(&self.sender, "sender")?,
            output_type,
            voucher_address: Self::address(&self.voucher_address, "voucher_address")?,
            status: self.status.clone(),
        })
    }
}

fn page(data: Vec<Value>, total: u64, limit: u64, offset: u64) -> Value {
    json!({
        "data": data,
        "pagination": { "total_count": total, "limit": limit, "offset": offset },
    })
}

fn dispatch(state: &ApiState, method: &str, params: Value) -> Result<Value, RpcError> {
    let p: Params = serde_json::from_value(params)
        .map_err(|e| Error::BadRequest(format!("invalid params: {e}")))?;
    if let Some(app) = &p.application
        && !state.is_app(app)
    {
        return Err(Error::NotFound(format!("application {app}")).into());
    }
    let db = &state.db;
    let config = &state.shared.config;
    let data = |v: Value| Ok(json!({ "data": v }));
    match method {
        "cartesi_getChainId" => data(json!(quantity(config.chain_id))),
        "cartesi_getNodeVersion" => data(json!(env!("CARGO_PKG_VERSION"))),
        "cartesi_getProcessedInputCount" => data(json!(quantity(db.processed_count()?))),
        "cartesi_getApplication" => data(application_json(state)?),
        "cartesi_listApplications" => Ok(page(vec![application_json(state)?], 1, 1, 0)),
        "cartesi_listInputs" => {
            let (limit, offset) = p.page()?;
            let (rows, total) = db.list_inputs(&p.filter()?, limit, offset)?;
            let data = rows
                .iter()
                .map(|i| input_json(state, i))
                .collect::<Result<_>>()?;
            Ok(page(data, total, limit, offset))
        }
        "cartesi_getInput" => {
            let index = Params::required(&p.input_index, "input_index")?;
            let input = db
                .input(index)?
                .ok_or_else(|| Error::NotFound(format!("input {index}")))?;
            data(input_json(state, &input)?)
        }
        "cartesi_listOutputs" => {
            let (limit, offset) = p.page()?;
            let (rows, total) = db.list_outputs(&p.filter()?, limit, offset)?;
            let data = rows
                .iter()
                .map(|o| output_json(state, o))
                .collect::<Result<_>>()?;
            Ok(page(data, total, limit, offset))
        }
        "cartesi_getOutput" => {
            let index = Params::required(&p.output_index, "output_index")?;
            let output = db
                .output(index)?
                .ok_or_else(|| Error::NotFound(format!("output {index}")))?;
            data(output_json(state, &output)?)
        }
        "cartesi_listReports" => {
            let (limit, offset) = p.page()?;
            let (rows, total) = db.list_reports(&p.filter()?, limit, offset)?;
            Ok(page(
                rows.iter().map(report_json).collect(),
                total,
                limit,
                offset,
            ))
        }
        "cartesi_getReport" => {
            let index = Params::required(&p.report_index, "report_index")?;
            let report = db
                .report(index)?
                .ok_or_else(|| Error::NotFound(format!("report {index}")))?;
            data(report_json(&report))
        }
        "cartesi_listEpochs" => {
            let (limit, offset) = p.page()?;
            let (rows, total) = db.list_epochs(&p.filter()?, limit, offset)?;
            let data = rows.iter().map(|e| epoch_json(state, e)).collect();
            Ok(page(data, total, limit, offset))
        }
        "cartesi_getEpoch" => {
            let index = Params::required(&p.epoch_index, "epoch_index")?;
            let epoch = db
                .epoch(index)?
                .ok_or_else(|| Error::NotFound(format!("epoch {index}")))?;
            data(epoch_json(state, &epoch))
        }
        "rpc.discover" => Ok(OPENRPC.clone()),
        _ => Err(RpcError::MethodNotFound),
    }
}

/// This interface's OpenRPC document (`crates/node/openrpc.json`), answered by `rpc.discover`
/// and checked against the server by `tests/it/openrpc.rs`.
static OPENRPC: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    serde_json::from_str(include_str!("../openrpc.json")).unwrap_or_else(
        |e| json!({ "error": format!("crates/node/openrpc.json is not JSON: {e}") }),
    )
});

fn application_json(state: &ApiState) -> Result<Value> {
    let c = &state.shared.config;
    Ok(json!({
        "name": c.app_name,
        "iapplication_address": hex0x(c.application),
        "iconsensus_address": hex0x(c.authority),
        "iinputbox_address": hex0x(c.input_box),
        "iinputbox_block": quantity(c.input_box_deployment_block),
        "epoch_length": quantity(c.epoch_length),
        "consensus_type": "AUTHORITY",
        "state": if state.shared.failure().is_some() { "INOPERABLE" } else { "ENABLED" },
        "reason": state.shared.failure(),
        "processed_inputs": quantity(state.db.processed_count()?),
    }))
}

fn input_json(state: &ApiState, input: &Input) -> Result<Value> {
    let a = witness_chain::decode_evm_advance(&input.raw)?;
    Ok(json!({
        "epoch_index": quantity(input.block_number / state.shared.config.epoch_length),
        "index": quantity(input.index),
        "block_number": quantity(input.block_number),
        "raw_data": hex0x(&input.raw),
        "decoded_data": {
            "chain_id": quantity(a.chain_id),
            "application_contract": hex0x(a.app_contract),
            "sender": hex0x(a.msg_sender),
            "block_number": quantity(a.block_number),
            "block_timestamp": quantity(a.block_timestamp),
            "prev_randao": hex0x(a.prev_randao),
            "index": quantity(a.index),
            "payload": hex0x(&a.payload),
        },
        "status": input.status.as_str(),
        "exception_payload": input.exception.as_ref().map(hex0x),
        "machine_hash": null,
        "outputs_hash": null,
        "transaction_reference": hex0x(input.tx_hash),
    }))
}

fn output_json(state: &ApiState, output: &OutputRow) -> Result<Value> {
    // Siblings exist once the output's epoch has a computed root: they prove the output
    // against that (claimed) root.
    let siblings = match state
        .db
        .epoch(output.epoch_index)?
        .and_then(|e| e.output_count)
    {
        Some(count) => state
            .shared
            .trees
            .get(&state.db, count)?
            .siblings(output.index)
            .map(|s| s.iter().map(hex0x).collect::<Vec<_>>()),
        None => None,
    };
    Ok(json!({
        "epoch_index": quantity(output.epoch_index),
        "input_index": quantity(output.input_index),
        "index": quantity(output.index),
        "raw_data": hex0x(&output.raw),
        "decoded_data": crate::outputs::decode(&output.raw),
        "hash": hex0x(output.hash),
        "output_hashes_siblings": siblings,
        "execution_transaction_hash": null,
    }))
}

fn report_json(report: &ReportRow) -> Value {
    json!({
        "epoch_index": quantity(report.epoch_index),
        "input_index": quantity(report.input_index),
        "index": quantity(report.index),
        "raw_data": hex0x(&report.payload),
    })
}

fn epoch_json(state: &ApiState, epoch: &EpochRow) -> Value {
    let length = state.shared.config.epoch_length;
    json!({
        "index": quantity(epoch.index),
        "first_block": quantity(epoch.index * length),
        "last_block": quantity((epoch.index + 1) * length - 1),
        "input_index_lower_bound": quantity(epoch.input_lower),
        "input_index_upper_bound": quantity(epoch.input_upper),
        "machine_hash": null,
        "outputs_merkle_root": epoch.root.map(hex0x),
        "claim_transaction_hash": epoch.claim_tx.map(hex0x),
        "status": epoch.status.as_str(),
    })
}
