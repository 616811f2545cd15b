//! A typed client of what a Cartesi Rollups Node v2 offers its clients, and nothing more:
//! `POST <inspect>/<app>` and the `cartesi_*` JSON-RPC methods. The same calls work against
//! our host-mode `witness-node` and against the standard node.
//!
//! Nothing a node answers is trusted here: the client only parses. Callers that decide
//! anything (the verifier) prove outputs on L1 and paths against proven roots.

use std::time::Duration;

use alloy::sol_types::SolCall as _;
use serde::Deserialize;
use serde_json::Value;
use witness_node_rpc::Request;
pub use witness_node_rpc::{Call, Filter, MAX_LIMIT, Page};
use witness_protocol::api::{InspectAnswer, InspectQuery, Report};
use witness_protocol::codec::parse_hex;

/// What went wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeClientError {
    /// The node could not be reached or answered with an HTTP error.
    #[error("node {what}: {source}")]
    Http {
        /// The call.
        what: String,
        /// The transport's error.
        #[source]
        source: reqwest::Error,
    },
    /// The node answered a JSON-RPC error.
    #[error("node {method}: JSON-RPC error {error}")]
    Rpc {
        /// The method.
        method: String,
        /// The error object.
        error: Value,
    },
    /// The answer does not have the documented shape.
    #[error("node {what}: unexpected answer: {detail}")]
    Malformed {
        /// The call.
        what: String,
        /// What was wrong.
        detail: String,
    },
}

/// Result with [`NodeClientError`].
pub type Result<T, E = NodeClientError> = std::result::Result<T, E>;

fn malformed(what: &str, detail: impl Into<String>) -> NodeClientError {
    NodeClientError::Malformed {
        what: what.into(),
        detail: detail.into(),
    }
}

/// Where a node serves its client APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEndpoints {
    /// The inspect URL of the application: `<node>/inspect/<app address or name>`.
    pub inspect_url: String,
    /// The JSON-RPC URL: `<node>/rpc`.
    pub rpc_url: String,
}

impl NodeEndpoints {
    /// URLs from bases: `inspect` gets `/inspect/<app>` unless it already names one; `rpc`
    /// gets `/rpc` unless it ends with it.
    pub fn new(inspect: &str, rpc: &str, app: &str) -> Self {
        let inspect = inspect.trim_end_matches('/');
        let rpc = rpc.trim_end_matches('/');
        Self {
            inspect_url: if inspect.contains("/inspect/") {
                inspect.to_owned()
            } else {
                format!("{inspect}/inspect/{app}")
            },
            rpc_url: if rpc.ends_with("/rpc") {
                rpc.to_owned()
            } else {
                format!("{rpc}/rpc")
            },
        }
    }
}

/// An inspect's outcome: the node's status and the backend's one report.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspected {
    /// `Accepted`, `Rejected`, `Exception`, ...
    pub status: String,
    /// The backend's answer.
    pub answer: InspectAnswer,
    /// Inputs the node had processed when it answered.
    pub processed_input_count: u64,
}

/// One output as `cartesi_getOutput` / `cartesi_listOutputs` give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Epoch.
    pub epoch_index: u64,
    /// Input that emitted it.
    pub input_index: u64,
    /// Global output index (the leaf index in the outputs Merkle tree).
    pub index: u64,
    /// The ABI-encoded output (`Notice(bytes)`, a voucher, ...): what `validateOutput` takes.
    pub raw: Vec<u8>,
    /// The 63 sibling hashes, once the output's epoch has a computed root.
    pub siblings: Option<Vec<[u8; 32]>>,
}

impl Output {
    /// The payload of a `Notice(bytes)` output, decoded from `raw` (never from the node's
    /// `decoded_data`, which nothing proves).
    pub fn notice_payload(&self) -> Option<Vec<u8>> {
        witness_chain::abi::Outputs::NoticeCall::abi_decode(&self.raw)
            .ok()
            .map(|notice| notice.payload.to_vec())
    }
}

/// Parses a JSON-RPC quantity (`"0x1a"`) or a plain number.
pub fn quantity(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

fn hash32(value: &Value) -> Option<[u8; 32]> {
    parse_hex(value.as_str()?)?.try_into().ok()
}

fn output_of(value: &Value) -> Result<Output> {
    let field = |name: &str| {
        quantity(&value[name]).ok_or_else(|| malformed("output", format!("no {name}: {value}")))
    };
    let raw = value["raw_data"]
        .as_str()
        .and_then(parse_hex)
        .ok_or_else(|| malformed("output", "raw_data is not hex"))?;
    let siblings = match &value["output_hashes_siblings"] {
        Value::Array(list) => Some(
            list.iter()
                .map(hash32)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed("output", "a sibling is not 32 bytes of hex"))?,
        ),
        _ => None,
    };
    Ok(Output {
        epoch_index: field("epoch_index")?,
        input_index: field("input_index")?,
        index: field("index")?,
        raw,
        siblings,
    })
}

#[derive(Deserialize)]
struct InspectBody {
    status: String,
    #[serde(default)]
    reports: Vec<ReportBody>,
    #[serde(default)]
    processed_input_count: Value,
}

#[derive(Deserialize)]
struct ReportBody {
    payload: String,
}

/// HTTP client of one node.
#[derive(Debug, Clone)]
pub struct NodeClient {
    http: reqwest::Client,
    endpoints: NodeEndpoints,
}

/// Most outputs one `cartesi_listOutputs` page asks for.
const PAGE: u64 = 1000;

impl NodeClient {
    /// A client for `endpoints` with a 30 s timeout per call.
    pub fn new(endpoints: NodeEndpoints) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self { http, endpoints }
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &NodeEndpoints {
        &self.endpoints
    }

    /// Sends an inspect query and parses the backend's one report.
    pub async fn inspect(&self, query: &InspectQuery) -> Result<Inspected> {
        let what = "inspect";
        let http = |source| NodeClientError::Http {
            what: what.into(),
            source,
        };
        let body = serde_json::to_vec(query).map_err(|e| malformed(what, e.to_string()))?;
        let response = self
            .http
            .post(&self.endpoints.inspect_url)
            .body(body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(http)?;
        let body: InspectBody = response.json().await.map_err(http)?;
        let report = body
            .reports
            .first()
            .and_then(|r| parse_hex(&r.payload))
            .ok_or_else(|| malformed(what, "the answer carries no report"))?;
        let answer = serde_json::from_slice(&report)
            .map_err(|e| malformed(what, format!("the report is not an answer: {e}")))?;
        Ok(Inspected {
            status: body.status,
            answer,
            processed_input_count: quantity(&body.processed_input_count).unwrap_or(0),
        })
    }

    /// One JSON-RPC call; its `result`.
    pub async fn rpc(&self, call: Call) -> Result<Value> {
        let method = call.method();
        let http = |source| NodeClientError::Http {
            what: method.into(),
            source,
        };
        let request = Request::new(1, call).to_value();
        let answer: Value = self
            .http
            .post(&self.endpoints.rpc_url)
            .json(&request)
            .send()
            .await
            .map_err(http)?
            .json()
            .await
            .map_err(http)?;
        if let Some(error) = answer.get("error") {
            return Err(NodeClientError::Rpc {
                method: method.into(),
                error: error.clone(),
            });
        }
        Ok(answer["result"].clone())
    }

    /// `cartesi_getProcessedInputCount`.
    pub async fn processed_input_count(&self) -> Result<u64> {
        let result = self.rpc(Call::GetProcessedInputCount).await?;
        quantity(&result["data"])
            .ok_or_else(|| malformed("processed input count", result.to_string()))
    }

    /// `cartesi_getOutput`.
    pub async fn output(&self, index: u64) -> Result<Output> {
        let result = self
            .rpc(Call::GetOutput {
                output_index: index,
            })
            .await?;
        output_of(&result["data"])
    }

    /// Every output of input `input_index` (`cartesi_listOutputs` with `input_index`), in
    /// output order.
    pub async fn outputs_of_input(&self, input_index: u64) -> Result<Vec<Output>> {
        let mut outputs = Vec::new();
        loop {
            let result = self
                .rpc(Call::ListOutputs {
                    page: Page {
                        limit: PAGE,
                        offset: outputs.len() as u64,
                    },
                    filter: Filter {
                        input_index: Some(input_index),
                        ..Filter::default()
                    },
                })
                .await?;
            let page = result["data"]
                .as_array()
                .ok_or_else(|| malformed("cartesi_listOutputs", "no data"))?;
            for output in page {
                outputs.push(output_of(output)?);
            }
            let total = quantity(&result["pagination"]["total_count"]).unwrap_or(0);
            if page.is_empty() || outputs.len() as u64 >= total {
                return Ok(outputs);
            }
        }
    }

    /// The JSON reports the backend emitted while processing input `input_index`.
    pub async fn input_reports(&self, input_index: u64) -> Result<Vec<Value>> {
        let result = self
            .rpc(Call::ListReports {
                page: Page {
                    limit: MAX_LIMIT,
                    offset: 0,
                },
                filter: Filter {
                    input_index: Some(input_index),
                    ..Filter::default()
                },
            })
            .await?;
        Ok(result["data"]
            .as_array()
            .map(|reports| {
                reports
                    .iter()
                    .filter_map(|r| r["raw_data"].as_str())
                    .filter_map(parse_hex)
                    .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The backend's reports on input `input_index`, typed ([`Report`]); JSON that is not a
    /// report of this protocol is skipped.
    pub async fn reports_of_input(&self, input_index: u64) -> Result<Vec<Report>> {
        Ok(self
            .input_reports(input_index)
            .await?
            .into_iter()
            .filter_map(|value| serde_json::from_value(value).ok())
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn endpoints_from_bases_or_full_urls() {
        let e = NodeEndpoints::new("http://n:1/", "http://n:2", "0xabc");
        assert_eq!(e.inspect_url, "http://n:1/inspect/0xabc");
        assert_eq!(e.rpc_url, "http://n:2/rpc");
        let e = NodeEndpoints::new("http://n:1/inspect/witness", "http://n:2/rpc/", "0xabc");
        assert_eq!(e.inspect_url, "http://n:1/inspect/witness");
        assert_eq!(e.rpc_url, "http://n:2/rpc");
    }

    #[test]
    fn quantities_in_hex_or_decimal() {
        assert_eq!(quantity(&json!("0x1a")), Some(26));
        assert_eq!(quantity(&json!("26")), Some(26));
        assert_eq!(quantity(&json!(26)), Some(26));
        assert_eq!(quantity(&json!(null)), None);
    }

    #[test]
    fn outputs_parse_with_and_without_siblings() {
        let raw = witness_chain::abi::Outputs::NoticeCall {
            payload: vec![2, 5, 7].into(),
        }
        .abi_encode();
        let value = json!({
            "epoch_index": "0x0", "input_index": "0x3", "index": "0x9",
            "raw_data": format!("0x{}", hex::encode(&raw)),
            "output_hashes_siblings": null,
        });
        let output = output_of(&value).unwrap();
        assert_eq!((output.input_index, output.index), (3, 9));
        assert_eq!(output.notice_payload(), Some(vec![2, 5, 7]));
        assert!(output.siblings.is_none());
        let mut proven = value.clone();
        proven["output_hashes_siblings"] = json!([format!("0x{}", hex::encode([7u8; 32]))]);
        assert_eq!(output_of(&proven).unwrap().siblings, Some(vec![[7u8; 32]]));
        proven["output_hashes_siblings"] = json!(["0x00"]);
        assert!(output_of(&proven).is_err());
    }
}
