//! Client APIs: `POST /inspect/<app>`, JSON-RPC 2.0 at `POST /rpc`, `/healthz`, `/metrics`.

use std::sync::Arc;

use alloy::primitives::Address;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower_http::cors::CorsLayer;

use crate::Shared;
use witness_node_rpc::{Body, Call, Page, Rejected, Request};

use crate::db::{Db, EpochRow, Input, OutputRow, ReportRow};
use crate::error::{Error, Result};
use crate::hexfmt::{hex0x, quantity};
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

async fn rpc(State(state): S, body: Bytes) -> Response {
    // Parsing (witness_node_rpc) answers every refusal; what is left only executes.
    let answer = match Body::parse(&body, |app| state.is_app(app)) {
        Err(e) => Some(rpc_error(Value::Null, e.code(), &e.to_string())),
        Ok(body) => {
            let state = state.clone();
            tokio::task::spawn_blocking(move || match body {
                Body::Batch(calls) => {
                    let answers: Vec<Value> = calls
                        .into_iter()
                        .filter_map(|c| answer(&state, c))
                        .collect();
                    (!answers.is_empty()).then_some(Value::Array(answers))
                }
                Body::Single(single) => answer(&state, single),
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

/// The answer to one call; `None` for a notification (no `id`), which is not executed.
fn answer(state: &ApiState, call: Result<Request, Rejected>) -> Option<Value> {
    match call {
        Err(rejected) => {
            let id = rejected.answer_id()?;
            let e = rejected.error;
            Some(rpc_error(id, e.code(), &e.to_string()))
        }
        Ok(request) => {
            let id = request.id?;
            Some(match dispatch(state, request.call) {
                Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
                Err(e) => rpc_error(id, e.rpc_code(), &e.to_string()),
            })
        }
    }
}

fn page(data: Vec<Value>, total: u64, page: Page) -> Value {
    json!({
        "data": data,
        "pagination": { "total_count": total, "limit": page.limit, "offset": page.offset },
    })
}

fn dispatch(state: &ApiState, call: Call) -> Result<Value> {
    let db = &state.db;
    let config = &state.shared.config;
    let data = |v: Value| Ok(json!({ "data": v }));
    match call {
        Call::GetChainId => data(json!(quantity(config.chain_id))),
        Call::GetNodeVersion => data(json!(env!("CARGO_PKG_VERSION"))),
        Call::GetProcessedInputCount => data(json!(quantity(db.processed_count()?))),
        Call::GetApplication => data(application_json(state)?),
        Call::ListApplications => Ok(page(
            vec![application_json(state)?],
            1,
            Page {
                limit: 1,
                offset: 0,
            },
        )),
        Call::ListInputs { page: p, filter } => {
            let (rows, total) = db.list_inputs(&filter, p.limit, p.offset)?;
            let data = rows
                .iter()
                .map(|i| input_json(state, i))
                .collect::<Result<_>>()?;
            Ok(page(data, total, p))
        }
        Call::GetInput { input_index } => {
            let input = db
                .input(input_index)?
                .ok_or_else(|| Error::NotFound(format!("input {input_index}")))?;
            data(input_json(state, &input)?)
        }
        Call::ListOutputs { page: p, filter } => {
            let (rows, total) = db.list_outputs(&filter, p.limit, p.offset)?;
            let data = rows
                .iter()
                .map(|o| output_json(state, o))
                .collect::<Result<_>>()?;
            Ok(page(data, total, p))
        }
        Call::GetOutput { output_index } => {
            let output = db
                .output(output_index)?
                .ok_or_else(|| Error::NotFound(format!("output {output_index}")))?;
            data(output_json(state, &output)?)
        }
        Call::ListReports { page: p, filter } => {
            let (rows, total) = db.list_reports(&filter, p.limit, p.offset)?;
            Ok(page(rows.iter().map(report_json).collect(), total, p))
        }
        Call::GetReport { report_index } => {
            let report = db
                .report(report_index)?
                .ok_or_else(|| Error::NotFound(format!("report {report_index}")))?;
            data(report_json(&report))
        }
        Call::ListEpochs { page: p, filter } => {
            let (rows, total) = db.list_epochs(&filter, p.limit, p.offset)?;
            let data = rows.iter().map(|e| epoch_json(state, e)).collect();
            Ok(page(data, total, p))
        }
        Call::GetEpoch { epoch_index } => {
            let epoch = db
                .epoch(epoch_index)?
                .ok_or_else(|| Error::NotFound(format!("epoch {epoch_index}")))?;
            data(epoch_json(state, &epoch))
        }
        Call::Discover => Ok(OPENRPC.clone()),
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
