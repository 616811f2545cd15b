//! Intake of sealed envelopes, receipts, public statistics and system status.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use witness_chain::L1;
use witness_protocol::codec::parse_hex_array;

use witness_protocol::api::{InspectAnswer, InspectQuery, StatsAnswer};

use super::{AppState, HexBytes, NodeUnavailable, PathParam, Unauthenticated, unexpected};
use crate::auth::Auth;
use crate::error::{ErrorBody, GatewayError, Result};
use crate::intake::{self, parse_concatenated, parse_hex_list};
use crate::store::{QueueStats, Receipt, ReceiptStatus, Rejection, Role};

/// Envelopes as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvelopesJson {
    /// 1 to 8192 hex-encoded sealed envelopes, each exactly one envelope. More than 8192
    /// answer 413.
    #[schema(min_items = 1, max_items = 8192, value_type = Vec<HexBytes>)]
    pub envelopes: Vec<String>,
}

/// Sealed envelopes concatenated (they are self-delimiting): 1 to 8192 of them.
#[derive(Debug)]
pub struct EnvelopesOctets;

impl utoipa::PartialSchema for EnvelopesOctets {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .content_media_type("application/octet-stream")
            .description(Some(
                "Sealed envelopes (docs/PROTOCOL.md) concatenated: 1 to 8192 of them",
            ))
            .min_length(Some(1))
            .into()
    }
}

impl ToSchema for EnvelopesOctets {}

/// The receipt of one envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeReceipt {
    /// SHA-256 of the envelope, hex: look it up at `/v1/receipts/{envelope_hash}`.
    pub envelope_hash: String,
    /// `pending` for a new envelope; a repeated envelope shows how far it got.
    pub status: ReceiptStatus,
}

/// Receipts of an intake request.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeResponse {
    /// One per envelope, in request order.
    pub receipts: Vec<IntakeReceipt>,
}

/// Accepts sealed envelopes from devices (authenticated by their signatures; no session).
///
/// Body: `application/octet-stream` with envelopes concatenated, or `application/json`
/// `{"envelopes": ["hex", ...]}`. All or nothing: any bad envelope refuses the request with
/// its index and nothing is stored. Accepted envelopes are committed durably before the
/// answer. Sending an envelope again returns its receipt (200) without storing it twice.
#[utoipa::path(post, path = "/v1/readings", tag = "readings",
    request_body(content(
        (EnvelopesOctets = "application/octet-stream"),
        (EnvelopesJson = "application/json"),
    )),
    responses(
        (status = 202, body = IntakeResponse, description = "At least one new envelope stored"),
        (status = 200, body = IntakeResponse, description = "All envelopes were already stored"),
        (status = 400, body = ErrorBody,
         description = "invalid_request (no envelope; JSON: not JSON, a missing or unknown field), \
                        malformed (with index: not hex, does not decode)"),
        (status = 409, body = ErrorBody,
         description = "replay: counter not above the last accepted (by this gateway, or \
                        consumed on the rollup as the node reported it when the device was new \
                        to this gateway); counter_jump: more than 2^24 counters past it (with \
                        index)"),
        (status = 413, body = ErrorBody,
         description = "payload_too_large: more than 8192 envelopes, or the body is too large"),
        (status = 415, body = ErrorBody,
         description = "unsupported_media_type: neither application/octet-stream nor application/json"),
        (status = 422, body = ErrorBody, description = "unknown_device, device_revoked, bad_signature"),
    ))]
pub(super) async fn intake(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let started = Instant::now();
    let result = accept(&state, &headers, body).await;
    state
        .metrics
        .observe_intake(started.elapsed().as_secs_f64());
    match &result {
        Ok(_) => state.metrics.intake_requests_ok.inc(),
        Err(e) if e.status().is_client_error() => state.metrics.intake_requests_refused.inc(),
        Err(_) => 0,
    };
    result
}

async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => GatewayError::PayloadTooLarge(format!(
            "the body exceeds {} bytes",
            state.config.max_body_bytes
        )),
        _ => GatewayError::InvalidRequest(rejection.body_text()),
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let envelopes = match mime.as_str() {
        "application/octet-stream" => parse_concatenated(&body)?,
        "application/json" => {
            let request: EnvelopesJson = serde_json::from_slice(&body)
                .map_err(|e| GatewayError::InvalidRequest(format!("JSON body: {e}")))?;
            parse_hex_list(&request.envelopes)?
        }
        other => {
            return Err(GatewayError::UnsupportedMediaType {
                got: other.to_owned(),
                expected: "application/octet-stream or application/json",
            });
        }
    };
    let domain = state.domain().await?;
    let job = intake::verify(
        &state.store,
        &state.devices,
        &state.metrics,
        &domain,
        envelopes,
    )
    .await?;
    state.seeds.seed(&state.store, &state.devices, &job).await;
    let outcome = state.committer.commit(job).await?;
    let metrics = &state.metrics;
    metrics
        .envelopes_accepted
        .inc_by(outcome.new_envelopes as u64);
    metrics.readings_accepted.inc_by(outcome.new_readings);
    metrics
        .envelopes_duplicate
        .inc_by((outcome.receipts.len() - outcome.new_envelopes) as u64);
    let status = if outcome.new_envelopes > 0 {
        state.wake_submitter.notify_one();
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let receipts = outcome
        .receipts
        .into_iter()
        .map(|r| IntakeReceipt {
            envelope_hash: r.envelope_hash,
            status: r.status,
        })
        .collect();
    Ok((status, Json(IntakeResponse { receipts })).into_response())
}

/// Where an acknowledged envelope (or other message) is: pending, submitted in a
/// transaction, included in input N, attested, or rejected with the backend's reason. The
/// hash works as a capability: anyone holding it may ask.
#[utoipa::path(get, path = "/v1/receipts/{hash}", tag = "readings",
    params(("hash" = String, Path, pattern = "^(0x)?[0-9a-fA-F]{64}$",
        description = "SHA-256 of the envelope (of other messages: of their encoding): 64 hex \
                       digits, with or without one `0x` prefix",
        example = "8d7ea1f06bd3c9e0e3ac4c52f9bde84b0c1b4a6f3c2ddf0f3d1bd3f0a7a5e0f1")),
    responses(
        (status = 200, body = Receipt),
        (status = 400, body = ErrorBody, description = "invalid_request: not 64 hex digits"),
        (status = 404, body = ErrorBody, description = "not_found: no message with this hash"),
    ))]
pub(super) async fn receipt(
    State(state): State<Arc<AppState>>,
    PathParam(hash): PathParam<String>,
) -> Result<Json<Receipt>> {
    let bytes = parse_hex_array::<32>(&hash)
        .ok_or_else(|| GatewayError::InvalidRequest("the hash must be 64 hex digits".into()))?;
    state
        .store
        .receipt(bytes)
        .await?
        .map(Json)
        .ok_or_else(|| GatewayError::NotFound(format!("no message with hash {hash}")))
}

/// Public, k-anonymous statistics from the rollup (inspect `{"type":"stats"}`): the
/// backend's `StatsAnswer` (`{k_anonymity, km_per_year_buckets, models, fleet}`,
/// docs/PROTOCOL.md 16.7). Unproven, as every inspect answer.
#[utoipa::path(get, path = "/v1/stats", tag = "public",
    responses(
        (status = 200, body = Object, description = "witness_protocol::api::StatsAnswer"),
        (status = 422, body = ErrorBody, description = "The backend refused the query"),
        NodeUnavailable,
    ))]
pub(super) async fn stats(State(state): State<Arc<AppState>>) -> Result<Json<StatsAnswer>> {
    match state.ask(&InspectQuery::Stats).await? {
        InspectAnswer::Stats(stats) => Ok(Json(stats)),
        other => Err(unexpected(&other, "stats")),
    }
}

/// System status for operators.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemStatus {
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// Whether this process submits to the chain.
    pub submitter_enabled: bool,
    /// The gateway account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_address: Option<String>,
    /// Latest block number (null if the chain is unreachable).
    pub chain_head: Option<u64>,
    /// Inputs the node has processed (null if unreachable).
    pub node_processed_inputs: Option<u64>,
    /// Whether the rollup's authorized gateway set holds the gateway account, as the
    /// submitter last asked the node (null: not known: no node, no submitter, or no batch
    /// with envelopes yet). While false, the submitter holds envelopes back.
    pub gateway_authorized: Option<bool>,
    /// Queue figures.
    pub queue: QueueStats,
    /// When the submitter sends a batch.
    pub batching: BatchingPolicy,
    /// The most recent messages the backend refused.
    pub recent_rejections: Vec<Rejection>,
}

/// When a batch of pending messages becomes an input: when full, when its oldest message has
/// waited `max_delay_ms`, or (with a gas target) once it costs at most `gas_target` gas per
/// reading or carries anything but readings.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchingPolicy {
    /// Largest input payload, in bytes.
    pub max_bytes: usize,
    /// Longest wait of a pending message, in milliseconds.
    pub max_delay_ms: u64,
    /// Gas per reading at which a partial batch goes early (null: none).
    pub gas_target: Option<u64>,
}

/// Chain head, node progress, queue depth and recent rejections (registrars and admins).
#[utoipa::path(get, path = "/v1/system", tag = "public",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = SystemStatus),
        Unauthenticated,
        (status = 403, body = ErrorBody, description = "forbidden: an owner"),
    ))]
pub(super) async fn system(
    State(state): State<Arc<AppState>>,
    auth: Auth,
) -> Result<Json<SystemStatus>> {
    if auth.0.role == Role::Owner {
        return Err(GatewayError::Forbidden(
            "system status is for registrars and admins".into(),
        ));
    }
    let limit = Duration::from_secs(3);
    let chain_head = match &state.chain {
        Some(chain) => tokio::time::timeout(limit, chain.block_number())
            .await
            .ok()
            .and_then(std::result::Result::ok),
        None => None,
    };
    let node_processed_inputs = match &state.node {
        Some(node) => tokio::time::timeout(limit, node.processed_input_count())
            .await
            .ok()
            .and_then(std::result::Result::ok),
        None => None,
    };
    let gateway_address = state
        .chain
        .as_ref()
        .and_then(L1::signer)
        .map(|a| format!("{a:#x}"));
    Ok(Json(SystemStatus {
        database: state.store.backend(),
        submitter_enabled: state.config.submit && state.config.chain.is_some(),
        gateway_address,
        chain_head,
        node_processed_inputs,
        gateway_authorized: match state.metrics.gateway_authorized.get() {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
        queue: state.store.queue_stats().await?,
        batching: BatchingPolicy {
            max_bytes: state.config.batch.max_bytes,
            max_delay_ms: u64::try_from(state.config.batch.max_delay.as_millis())
                .unwrap_or(u64::MAX),
            gas_target: state.config.batch.gas_target,
        },
        recent_rejections: state.store.recent_rejections(20).await?,
    }))
}
