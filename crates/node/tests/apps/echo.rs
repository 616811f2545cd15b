//! Scripted backend for the node's tests (an example target), speaking the real Rollup HTTP API
//! (`ROLLUP_HTTP_SERVER_URL`).
//!
//! Advance, by the payload's first byte:
//! - `0xFF`: notice + report, then reject;
//! - `0xEE`: report, then `/exception` with the payload, then exit (like the reference backend);
//! - `0xDD`: exit mid-input (a crash);
//! - `0x77`: voucher to the sender (value 7) + notice + report, accept;
//! - otherwise: notice + report echoing the payload, accept.
//!
//! Inspect: a report echoing the payload, then a report with the number of advance requests this
//! process has seen (8 bytes, big-endian), accept. Exits when the server cannot be reached.

use serde_json::{Value, json};

type Error = Box<dyn std::error::Error>;

struct Rollup {
    url: String,
    http: reqwest::Client,
}

impl Rollup {
    async fn post(&self, path: &str, body: Value) -> Result<reqwest::Response, Error> {
        let response = self
            .http
            .post(format!("{}/{path}", self.url))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(format!("/{path}: {status}: {text}").into());
        }
        Ok(response)
    }
}

fn hex0x(bytes: &[u8]) -> String {
    let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{digits}")
}

fn unhex(s: &str) -> Result<Vec<u8>, Error> {
    let s = s.strip_prefix("0x").ok_or("missing 0x")?;
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or("odd hex")?, 16).map_err(Into::into))
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let rollup = Rollup {
        url: std::env::var("ROLLUP_HTTP_SERVER_URL")?,
        http: reqwest::Client::new(),
    };
    let mut status = "accept";
    let mut advances: u64 = 0;
    loop {
        let response = rollup.post("finish", json!({ "status": status })).await?;
        if response.status() == reqwest::StatusCode::ACCEPTED {
            continue;
        }
        let request: Value = response.json().await?;
        let data = &request["data"];
        let payload = unhex(data["payload"].as_str().ok_or("no payload")?)?;
        let p = json!({ "payload": hex0x(&payload) });
        match request["request_type"].as_str() {
            Some("advance_state") => {
                advances += 1;
                match payload.first() {
                    Some(0xFF) => {
                        rollup.post("notice", p.clone()).await?;
                        rollup.post("report", p).await?;
                        status = "reject";
                    }
                    Some(0xEE) => {
                        rollup.post("report", p.clone()).await?;
                        rollup.post("exception", p).await?;
                        return Ok(());
                    }
                    Some(0xDD) => std::process::exit(3),
                    first => {
                        if first == Some(&0x77) {
                            let value = format!("0x{:064x}", 7);
                            let sender = &data["metadata"]["msg_sender"];
                            let voucher = json!({
                                "destination": sender, "value": value, "payload": hex0x(&payload)
                            });
                            rollup.post("voucher", voucher).await?;
                        }
                        rollup.post("notice", p.clone()).await?;
                        rollup.post("report", p).await?;
                        status = "accept";
                    }
                }
            }
            Some("inspect_state") => {
                rollup.post("report", p).await?;
                let count = json!({ "payload": hex0x(&advances.to_be_bytes()) });
                rollup.post("report", count).await?;
                status = "accept";
            }
            other => return Err(format!("unknown request type {other:?}").into()),
        }
    }
}
