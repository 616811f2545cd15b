//! The `/finish` loop of the Cartesi Rollup HTTP API (blocking; no async runtime needed).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::BackendError;
use crate::inspect::inspect;
use crate::state::{Metadata, State};

#[derive(Debug, Deserialize)]
struct AdvanceData {
    metadata: Metadata,
    payload: String,
}

#[derive(Debug, Deserialize)]
struct InspectData {
    payload: String,
}

/// A client of the Rollup HTTP server.
#[derive(Debug)]
pub struct RollupClient {
    base: String,
    agent: ureq::Agent,
}

impl RollupClient {
    /// A client for `base` (e.g. `http://127.0.0.1:5004`).
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_string(),
            agent,
        }
    }

    fn post(&self, path: &str, body: &Value) -> Result<(u16, String), BackendError> {
        self.post_json_text(path, body.to_string())
    }

    fn post_json_text(&self, path: &str, body: String) -> Result<(u16, String), BackendError> {
        let mut response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| BackendError::RollupApi(format!("POST {path}: {e}")))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok((status, text))
    }

    fn output(&self, path: &str, payload: &[u8]) -> Result<(), BackendError> {
        // Written by hand: hex is plain ASCII, and serde's escaping scan of the string was
        // 6 % of the backend's instructions per reading (docs/BENCHMARKS.md section 5).
        let mut body = String::with_capacity(16 + 2 * payload.len());
        body.push_str(r#"{"payload":"0x"#);
        body.push_str(&hex::encode(payload));
        body.push_str(r#""}"#);
        let (status, text) = self.post_json_text(path, body)?;
        if !(200..300).contains(&status) {
            return Err(BackendError::RollupApi(format!(
                "POST {path} answered {status}: {text}"
            )));
        }
        Ok(())
    }
}

/// Runs the application until the server goes away: finish, handle the request, repeat.
pub fn run(state: &mut State, client: &RollupClient) -> Result<(), BackendError> {
    let mut status = "accept";
    loop {
        let (code, text) = client.post("/finish", &json!({ "status": status }))?;
        match code {
            202 => {
                status = "accept";
                continue;
            }
            200 => {}
            other => {
                return Err(BackendError::RollupApi(format!(
                    "/finish answered {other}: {text}"
                )));
            }
        }
        let request: Value = serde_json::from_str(&text)
            .map_err(|e| BackendError::RollupApi(format!("/finish body is not JSON: {e}")))?;
        status = match request["request_type"].as_str() {
            Some("advance_state") => handle_advance(state, client, request["data"].clone())?,
            Some("inspect_state") => handle_inspect(state, client, request["data"].clone())?,
            other => {
                eprintln!("witness-backend: unknown request type {other:?}; rejecting");
                "reject"
            }
        };
    }
}

fn decode_payload(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).ok()
}

fn handle_advance(
    state: &mut State,
    client: &RollupClient,
    data: Value,
) -> Result<&'static str, BackendError> {
    let data: AdvanceData = match serde_json::from_value(data) {
        Ok(data) => data,
        Err(error) => {
            client.output("/report", json!({"type": "input_refused", "reason": "bad_request", "detail": error.to_string()}).to_string().as_bytes())?;
            return Ok("reject");
        }
    };
    let Some(payload) = decode_payload(&data.payload) else {
        client.output(
            "/report",
            br#"{"type":"input_refused","reason":"bad_request","detail":"payload is not hex"}"#,
        )?;
        return Ok("reject");
    };
    let outcome = state.advance(&data.metadata, &payload);
    for notice in &outcome.notices {
        client.output("/notice", notice)?;
    }
    for report in &outcome.reports {
        client.output("/report", report)?;
    }
    Ok("accept")
}

fn handle_inspect(
    state: &State,
    client: &RollupClient,
    data: Value,
) -> Result<&'static str, BackendError> {
    let payload = serde_json::from_value::<InspectData>(data)
        .ok()
        .and_then(|d| decode_payload(&d.payload))
        .unwrap_or_default();
    let (accepted, answer) = inspect(state, &payload);
    client.output("/report", &serde_json::to_vec(&answer).unwrap_or_default())?;
    Ok(if accepted { "accept" } else { "reject" })
}
