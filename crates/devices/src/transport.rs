//! Posting envelopes to the gateway: `POST /v1/readings` with the envelopes concatenated,
//! retries with exponential backoff on transient failures, and per-envelope answers.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use witness_protocol::Envelope;

use crate::error::{Error, Result};

/// Most envelopes in one request.
pub const MAX_ENVELOPES_PER_POST: usize = 32;

/// Error codes that mean "not yet": the device is kept buffering instead of dropping (the
/// registration may still be on its way to the gateway's registry).
const DEFER_CODES: &[&str] = &[
    "unknown_device",
    "device_unknown",
    "unregistered_device",
    "device_not_registered",
    "not_registered",
    "device_revoked_pending",
];

/// How hard to try before giving up for this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled each time.
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What became of one envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// 202: the gateway took it.
    Accepted,
    /// 409 replay: its counter is not above the device's last accepted one (it was delivered
    /// before, or is stale). The device drops it.
    Replay,
    /// Refused for good (malformed, bad signature, ...). The device drops it.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The gateway's error code.
        code: String,
    },
    /// Not delivered this time (gateway down, 5xx, 429, timeouts, device not yet known).
    /// The device keeps it.
    Deferred {
        /// Why.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
struct Receipts {
    #[serde(default)]
    receipts: Vec<Receipt>,
}

#[derive(Debug, Deserialize)]
struct Receipt {
    #[serde(default)]
    envelope_hash: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
}

enum Answer {
    Accepted(Vec<Receipt>),
    Refused { status: u16, code: String },
    Unavailable(String),
}

/// A client of the gateway's intake.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    url: String,
    retry: RetryPolicy,
}

impl GatewayClient {
    /// A client posting to `base_url` (`http://host:port`, with or without `/v1/readings`).
    /// Plain HTTP only: this build carries no TLS stack (production devices would use HTTPS
    /// or MQTT through a broker).
    pub fn new(base_url: &str, retry: RetryPolicy) -> Result<Self> {
        let base = base_url.trim().trim_end_matches('/');
        if !base.starts_with("http://") {
            return Err(Error::invalid(
                "gateway url",
                format!("{base_url:?} (expected http://host:port; TLS is not built in)"),
            ));
        }
        let url = if base.ends_with("/v1/readings") {
            base.to_string()
        } else {
            format!("{base}/v1/readings")
        };
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .build()
            .map_err(|e| Error::Http(e.to_string()))?;
        Ok(Self { http, url, retry })
    }

    /// The intake URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Posts `envelopes` together; when the gateway refuses the batch, posts them one by one
    /// to learn which ones it refuses. Returns one answer per envelope, in order.
    pub async fn deliver(&self, envelopes: &[Envelope]) -> Vec<Delivery> {
        if envelopes.is_empty() {
            return Vec::new();
        }
        match self.post(envelopes).await {
            Answer::Accepted(receipts) => {
                check_receipts(envelopes, &receipts);
                vec![Delivery::Accepted; envelopes.len()]
            }
            Answer::Unavailable(reason) => vec![Delivery::Deferred { reason }; envelopes.len()],
            Answer::Refused { status, code } if envelopes.len() == 1 => {
                vec![classify(status, code)]
            }
            Answer::Refused { .. } => {
                let mut out = Vec::with_capacity(envelopes.len());
                for envelope in envelopes {
                    out.push(match self.post(std::slice::from_ref(envelope)).await {
                        Answer::Accepted(receipts) => {
                            check_receipts(std::slice::from_ref(envelope), &receipts);
                            Delivery::Accepted
                        }
                        Answer::Refused { status, code } => classify(status, code),
                        Answer::Unavailable(reason) => Delivery::Deferred { reason },
                    });
                }
                out
            }
        }
    }

    async fn post(&self, envelopes: &[Envelope]) -> Answer {
        let body: Vec<u8> = envelopes
            .iter()
            .flat_map(|e| e.as_bytes().iter().copied())
            .collect();
        let mut backoff = self.retry.initial_backoff;
        let mut last = String::from("no attempt made");
        for attempt in 0..self.retry.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(self.retry.max_backoff);
            }
            let response = self
                .http
                .post(&self.url)
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(body.clone())
                .send()
                .await;
            let response = match response {
                Ok(response) => response,
                Err(e) => {
                    last = format!("request failed: {e}");
                    tracing::debug!(url = %self.url, attempt, error = %e, "gateway unreachable");
                    continue;
                }
            };
            let status = response.status();
            let bytes = response.bytes().await.unwrap_or_default();
            if status.is_success() {
                let receipts = serde_json::from_slice::<Receipts>(&bytes)
                    .map(|r| r.receipts)
                    .unwrap_or_default();
                return Answer::Accepted(receipts);
            }
            let code = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|b| b.error)
                .unwrap_or_default();
            if is_transient(status) {
                last = format!("gateway answered {status} {code}");
                tracing::debug!(url = %self.url, attempt, %status, "transient gateway error");
                continue;
            }
            return Answer::Refused {
                status: status.as_u16(),
                code,
            };
        }
        Answer::Unavailable(last)
    }
}

fn is_transient(status: StatusCode) -> bool {
    status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY | StatusCode::TOO_MANY_REQUESTS
        )
}

fn classify(status: u16, code: String) -> Delivery {
    if status == 409 || code == "replay" {
        Delivery::Replay
    } else if DEFER_CODES.contains(&code.as_str()) {
        Delivery::Deferred {
            reason: format!("gateway answered {status} {code}"),
        }
    } else {
        Delivery::Rejected { status, code }
    }
}

fn check_receipts(envelopes: &[Envelope], receipts: &[Receipt]) {
    for (envelope, receipt) in envelopes.iter().zip(receipts) {
        let expected = hex::encode(envelope.hash());
        if !receipt.envelope_hash.is_empty()
            && witness_protocol::codec::strip_hex_prefix(&receipt.envelope_hash)
                .to_ascii_lowercase()
                != expected
        {
            tracing::warn!(expected, got = %receipt.envelope_hash, "receipt names another envelope");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(409, "replay".into()), Delivery::Replay);
        assert_eq!(classify(400, "replay".into()), Delivery::Replay);
        assert!(matches!(
            classify(404, "unknown_device".into()),
            Delivery::Deferred { .. }
        ));
        assert_eq!(
            classify(400, "bad_signature".into()),
            Delivery::Rejected {
                status: 400,
                code: "bad_signature".into()
            }
        );
        for status in [500, 502, 503, 408, 425, 429] {
            assert!(is_transient(StatusCode::from_u16(status).unwrap()));
        }
        assert!(!is_transient(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn urls() {
        let retry = RetryPolicy::default();
        let c = GatewayClient::new("http://127.0.0.1:8080/", retry).unwrap();
        assert_eq!(c.url(), "http://127.0.0.1:8080/v1/readings");
        let c = GatewayClient::new("http://gw/v1/readings", retry).unwrap();
        assert_eq!(c.url(), "http://gw/v1/readings");
        assert!(GatewayClient::new("https://gw", retry).is_err());
        assert!(GatewayClient::new("gw:8080", retry).is_err());
    }
}
