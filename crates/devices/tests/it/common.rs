//! A stand-in for the gateway's intake (`POST /v1/readings`), unit-level only: it parses the
//! concatenated envelopes, checks signatures against the registered keys and counters
//! against the last accepted one, and answers 202 / 409 / 400 like the gateway; a script of
//! forced statuses exercises retries.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::json;
use witness_devices::{Fleet, FleetSpec, GatewayClient, RetryPolicy};
use witness_protocol::codec::Reader;
use witness_protocol::{
    BackendSecretKey, DeviceId, Domain, Envelope, PublicKey, RegistrarAction, SigningKey,
};

/// 2025-06-16 00:00 UTC, a Monday.
pub const START: u64 = 1_750_032_000;
pub const DAY: u64 = 86_400;

pub fn backend_secret() -> BackendSecretKey {
    BackendSecretKey::derive(b"witness-devices tests")
}

/// The tests' deployment: [`backend_secret`]'s key on anvil's chain id and an application.
pub fn domain() -> Domain {
    Domain {
        chain_id: 31_337,
        application: [0xaa; 20],
        backend_key: backend_secret().public_key().clone(),
    }
}

pub fn registrar() -> SigningKey {
    SigningKey::from_seed(&[0x42; 32])
}

pub fn spec(count: usize, seed: u64) -> FleetSpec {
    let mut spec = FleetSpec::new(count, domain());
    spec.seed = Some(seed);
    spec.start_time = Some(START);
    spec.coverage_gaps = false;
    spec
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        timeout: Duration::from_secs(5),
    }
}

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub envelopes: Vec<Envelope>,
    pub status: u16,
}

#[derive(Debug, Default)]
pub struct StubState {
    /// Statuses to answer before behaving normally.
    pub script: VecDeque<u16>,
    /// Always answer this status (gateway down).
    pub down: Option<u16>,
    pub keys: HashMap<DeviceId, PublicKey>,
    pub last_counter: HashMap<DeviceId, u64>,
    pub requests: Vec<Request>,
    /// Envelopes answered 202, in order.
    pub accepted: Vec<Envelope>,
}

#[derive(Debug, Clone)]
pub struct Stub {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<StubState>>,
}

impl Stub {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(StubState::default()));
        let app = Router::new()
            .route("/v1/readings", post(intake))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    /// Registers every device of `fleet` with its registered key.
    pub fn register(&self, fleet: &Fleet) {
        let messages = fleet
            .registration_messages(&registrar(), &domain(), 1)
            .unwrap();
        let mut state = self.state.lock().unwrap();
        for message in messages {
            message.verify(&domain()).unwrap();
            if let RegistrarAction::RegisterDevice {
                device_id,
                public_key,
                ..
            } = message.action
            {
                state.keys.insert(device_id, public_key);
            }
        }
    }

    pub fn client(&self) -> GatewayClient {
        GatewayClient::new(&format!("http://{}", self.addr), fast_retry()).unwrap()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut StubState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// Every envelope received (accepted or not) for `id`, in arrival order.
    pub fn received_for(&self, id: DeviceId) -> Vec<(Envelope, u16)> {
        self.with(|s| {
            s.requests
                .iter()
                .flat_map(|r| r.envelopes.iter().map(move |e| (e.clone(), r.status)))
                .filter(|(e, _)| e.header().device_id == id)
                .collect()
        })
    }

    pub fn accepted_for(&self, id: DeviceId) -> Vec<Envelope> {
        self.with(|s| {
            s.accepted
                .iter()
                .filter(|e| e.header().device_id == id)
                .cloned()
                .collect()
        })
    }
}

fn error(status: StatusCode, code: &str) -> axum::response::Response {
    (status, axum::Json(json!({"error": code, "message": code}))).into_response()
}

async fn intake(
    State(state): State<Arc<Mutex<StubState>>>,
    body: Bytes,
) -> axum::response::Response {
    let mut reader = Reader::new(&body);
    let mut envelopes = Vec::new();
    while reader.remaining() > 0 {
        match Envelope::read(&mut reader) {
            Ok(e) => envelopes.push(e),
            Err(_) => return error(StatusCode::BAD_REQUEST, "malformed_envelope"),
        }
    }
    let mut s = state.lock().unwrap();
    let forced = s.down.or_else(|| s.script.pop_front());
    let status = match forced {
        Some(status) => status,
        None => judge(&s, &envelopes),
    };
    s.requests.push(Request {
        envelopes: envelopes.clone(),
        status,
    });
    match status {
        202 => {
            let receipts: Vec<_> = envelopes
                .iter()
                .map(|e| json!({"envelope_hash": hex::encode(e.hash()), "status": "pending"}))
                .collect();
            for e in envelopes {
                let h = e.header();
                s.last_counter
                    .insert(h.device_id, h.last_counter().unwrap());
                s.accepted.push(e);
            }
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"receipts": receipts})),
            )
                .into_response()
        }
        409 => error(StatusCode::CONFLICT, "replay"),
        400 => error(StatusCode::BAD_REQUEST, "bad_signature"),
        other => error(
            StatusCode::from_u16(other).unwrap(),
            if other >= 500 { "internal" } else { "refused" },
        ),
    }
}

/// The whole request is refused if any envelope is.
fn judge(s: &StubState, envelopes: &[Envelope]) -> u16 {
    let mut last = s.last_counter.clone();
    for e in envelopes {
        let h = e.header();
        if let Some(key) = s.keys.get(&h.device_id)
            && e.verify_signature(key, &domain()).is_err()
        {
            return 400;
        }
        if last.get(&h.device_id).is_some_and(|&l| h.counter <= l) {
            return 409;
        }
        last.insert(h.device_id, h.last_counter().unwrap());
    }
    202
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
