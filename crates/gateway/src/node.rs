//! Client of the rollups node's client APIs: inspect (`POST .../inspect/<app>`, raw body)
//! and JSON-RPC (`POST .../rpc`, `cartesi_*` methods).

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::NodeEndpoints;
use crate::error::{GatewayError, Result};

/// The node's answer to an inspect, with its first report parsed as JSON.
#[derive(Debug, Clone)]
pub struct InspectAnswer {
    /// `Accepted`, `Rejected`, `Exception`, ...
    pub status: String,
    /// The backend's JSON report.
    pub report: Value,
    /// Inputs the node had processed when it answered.
    pub processed_input_count: u64,
}

/// HTTP client of one node.
#[derive(Debug, Clone)]
pub struct NodeClient {
    http: reqwest::Client,
    endpoints: NodeEndpoints,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(format!("rollups node {what}: {e}"))
}

/// Parses a JSON-RPC quantity (`"0x1a"`) or a plain number.
pub(crate) fn quantity(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.trim_start_matches("0x")).ok()
}

impl NodeClient {
    /// A client for `endpoints`.
    pub fn new(endpoints: NodeEndpoints) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| GatewayError::Config(format!("HTTP client: {e}")))?;
        Ok(Self { http, endpoints })
    }

    /// Sends an inspect query (a JSON object) and parses the backend's report.
    pub async fn inspect(&self, query: &Value) -> Result<InspectAnswer> {
        let response = self
            .http
            .post(&self.endpoints.inspect_url)
            .body(query.to_string())
            .send()
            .await
            .map_err(|e| unavailable("inspect", e))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| unavailable("inspect answer", e))?;
        if !status.is_success() {
            return Err(unavailable("inspect", format!("HTTP {status}: {body}")));
        }
        let report = body["reports"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(|r| r["payload"].as_str())
            .and_then(decode_hex)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| unavailable("inspect", "the answer carries no JSON report"))?;
        Ok(InspectAnswer {
            status: body["status"].as_str().unwrap_or_default().to_owned(),
            report,
            processed_input_count: quantity(&body["processed_input_count"]).unwrap_or(0),
        })
    }

    /// One JSON-RPC call; the `result`.
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value> {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let answer: Value = self
            .http
            .post(&self.endpoints.rpc_url)
            .json(&request)
            .send()
            .await
            .map_err(|e| unavailable(method, e))?
            .json()
            .await
            .map_err(|e| unavailable(method, e))?;
        if let Some(error) = answer.get("error") {
            return Err(unavailable(method, error));
        }
        Ok(answer["result"].clone())
    }

    /// `cartesi_getProcessedInputCount`.
    pub async fn processed_input_count(&self) -> Result<u64> {
        let result = self
            .rpc("cartesi_getProcessedInputCount", json!({}))
            .await?;
        quantity(&result["data"]).ok_or_else(|| unavailable("processed count", result))
    }

    /// The JSON reports the backend emitted while processing input `index`.
    pub async fn input_reports(&self, index: u64) -> Result<Vec<Value>> {
        let result = self
            .rpc(
                "cartesi_listReports",
                json!({"input_index": format!("0x{index:x}"), "limit": 10_000}),
            )
            .await?;
        Ok(result["data"]
            .as_array()
            .map(|reports| {
                reports
                    .iter()
                    .filter_map(|r| r["raw_data"].as_str())
                    .filter_map(decode_hex)
                    .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
                    .collect()
            })
            .unwrap_or_default())
    }
}
