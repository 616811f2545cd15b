//! The local link: the stand-in for Bluetooth / OBD through which a verifier (browser or CLI)
//! talks to a car. One HTTP server for the whole fleet, CORS open.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/devices` | | `{"devices":[{id, handle, unit, model, model_name, profile, scenario}]}` |
//! | GET | `/devices/{id}` | | `{id, handle, unit, model, model_name, profile, public_key, counter, pairing_sequence, online, buffered, reading}` |
//! | POST | `/devices/{id}/proof` | `{"nonce":"hex32"}` | `{"proof":"hex","reading":{..},"counter":N}` |
//! | GET | `/devices/{id}/history` | | `{"envelopes":[{counter, count, envelope_hash}]}` |
//! | GET | `/devices/{id}/history/{counter}` | | `{"opening":"hex","commitment_key":"hex","reading":{..}}` |
//! | POST | `/devices/{id}/button` | | `{"pressed":true,"window_s":120}`: the person at the car presses the pairing button |
//! | POST | `/devices/{id}/pair` | `{"owner_public_key":"hex", "transfer_code":"witness-transfer-1.…"?}` | `{"statement":"hex","sequence":N}`; 409 `press_button` without a press in the last two minutes |
//!
//! `{id}` is the device id in hex, or `<id>-clone` for the second box of a clone scenario.
//! Errors are `{"error": code, "message": text}` with 400, 404 or 409. `transfer_code` is the
//! seller's release (PROTOCOL.md 8.4.1), for a device that has an owner; without it the device
//! signs a first pairing.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::cors::CorsLayer;
use witness_protocol::{Consent, PublicKey, TransferCode, codec::Writer};

use crate::error::{Error, Result};
use crate::fleet::Fleet;
use crate::json::ReadingJson;

/// Default address of the local link.
pub const DEFAULT_LINK_ADDR: &str = "127.0.0.1:9700";

/// The local link server.
#[derive(Debug)]
pub struct LocalLink;

/// A running local link.
#[derive(Debug)]
pub struct LinkHandle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl LinkHandle {
    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result.map_err(|e| Error::io("local link", e)),
            Err(e) => Err(Error::invalid("local link task", e)),
        }
    }
}

impl LocalLink {
    /// The routes, for embedding in another server.
    pub fn router(fleet: Fleet) -> Router {
        Router::new()
            .route("/devices", get(list))
            .route("/devices/{id}", get(show))
            .route("/devices/{id}/proof", post(proof))
            .route("/devices/{id}/history", get(history_index))
            .route("/devices/{id}/history/{counter}", get(history))
            .route("/devices/{id}/button", post(press_button))
            .route("/devices/{id}/pair", post(pair))
            .layer(CorsLayer::permissive())
            .with_state(fleet)
    }

    /// Serves the fleet on `addr` (port 0 picks a free port).
    pub async fn serve(fleet: Fleet, addr: SocketAddr) -> Result<LinkHandle> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::io(addr.to_string(), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io(addr.to_string(), e))?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = Self::router(fleet);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        tracing::info!(%addr, "local link listening");
        Ok(LinkHandle {
            addr,
            shutdown: Some(tx),
            task,
        })
    }
}

struct ApiError(StatusCode, &'static str, String);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::UnknownDevice(_) | Error::UnknownCounter { .. } => StatusCode::NOT_FOUND,
            Error::Invalid { .. } | Error::Protocol(_) => StatusCode::BAD_REQUEST,
            Error::ButtonNotPressed(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self(status, e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            axum::Json(json!({"error": self.1, "message": self.2})),
        )
            .into_response()
    }
}

type ApiResult = std::result::Result<axum::Json<Value>, ApiError>;

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "bad_request", message.into())
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> std::result::Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

fn hex32(text: &str, what: &str) -> std::result::Result<[u8; 32], ApiError> {
    witness_protocol::codec::parse_hex_array(text)
        .ok_or_else(|| bad_request(format!("{what} must be 64 hex digits")))
}

async fn list(State(fleet): State<Fleet>) -> ApiResult {
    let devices: Vec<Value> = fleet
        .devices()
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id.to_hex(),
                "handle": d.handle,
                "unit": d.unit,
                "model": d.model,
                "model_name": d.model_name,
                "profile": d.profile,
                "scenario": d.scenario.map(|s| s.name()),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "devices": devices })))
}

async fn show(State(fleet): State<Fleet>, Path(id): Path<String>) -> ApiResult {
    let now = fleet.clock().now();
    let value = fleet.with_device(&id, |d| {
        json!({
            "id": d.id().to_hex(),
            "handle": d.handle(),
            "unit": d.unit(),
            "model": d.model().id.0,
            "model_name": d.model().name,
            "profile": d.profile(),
            "public_key": hex::encode(d.public_key().to_bytes()),
            "counter": d.counter(),
            "pairing_sequence": d.pairing_sequence(),
            "online": d.is_online(now),
            "buffered": d.buffered(),
            "reading": ReadingJson::from(&d.current_reading(now)),
        })
    })?;
    Ok(axum::Json(value))
}

#[derive(Deserialize)]
struct ProofRequest {
    nonce: String,
}

async fn proof(State(fleet): State<Fleet>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let request: ProofRequest = parse_body(&body)?;
    let nonce = hex32(&request.nonce, "nonce")?;
    let now = fleet.clock().now();
    let proof = fleet.with_device(&id, |d| d.possession_proof(nonce, now))??;
    Ok(axum::Json(json!({
        "proof": hex::encode(proof.encode().map_err(Error::from)?),
        "reading": ReadingJson::from(&proof.reading),
        "counter": proof.counter,
    })))
}

async fn history_index(State(fleet): State<Fleet>, Path(id): Path<String>) -> ApiResult {
    let envelopes = fleet.with_device(&id, |d| {
        d.log()
            .iter()
            .map(|r| {
                json!({
                    "counter": r.counter,
                    "count": r.readings.len(),
                    "envelope_hash": hex::encode(r.envelope_hash),
                })
            })
            .collect::<Vec<_>>()
    })?;
    Ok(axum::Json(json!({ "envelopes": envelopes })))
}

async fn history(
    State(fleet): State<Fleet>,
    Path((id, counter)): Path<(String, String)>,
) -> ApiResult {
    let counter: u64 = counter
        .parse()
        .map_err(|_| bad_request("counter must be a decimal number"))?;
    let (opening, key) = fleet.with_device(&id, |d| d.opening(counter))??;
    Ok(axum::Json(json!({
        "opening": hex::encode(opening.encode().map_err(Error::from)?),
        "commitment_key": hex::encode(key.as_bytes()),
        "reading": ReadingJson::from(&opening.reading),
    })))
}

async fn press_button(State(fleet): State<Fleet>, Path(id): Path<String>) -> ApiResult {
    fleet.with_device(&id, |d| d.press_button())?;
    Ok(axum::Json(json!({
        "pressed": true,
        "window_s": crate::device::PAIRING_WINDOW.as_secs(),
    })))
}

#[derive(Deserialize)]
struct PairRequest {
    owner_public_key: String,
    #[serde(default)]
    transfer_code: Option<String>,
}

async fn pair(State(fleet): State<Fleet>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let request: PairRequest = parse_body(&body)?;
    let owner = PublicKey::from_bytes(&hex32(&request.owner_public_key, "owner_public_key")?)
        .map_err(|_| bad_request("owner_public_key is not a valid Ed25519 key"))?;
    let consent = match &request.transfer_code {
        None => Consent::FirstPairing,
        Some(text) => {
            let code = TransferCode::from_text(text)
                .map_err(|e| bad_request(format!("transfer_code: {e}")))?;
            let device = fleet.with_device(&id, |d| d.id())?;
            if code.device_id != device {
                return Err(bad_request(format!(
                    "transfer_code is for device {}, not this one",
                    code.device_id
                )));
            }
            Consent::Release(code.release)
        }
    };
    let statement = fleet.with_device(&id, |d| d.pair(owner, consent))??;
    let mut w = Writer::with_capacity(189);
    statement.encode(&mut w);
    Ok(axum::Json(json!({
        "statement": hex::encode(w.finish()),
        "sequence": statement.sequence,
    })))
}
