//! The server side of the Rollup HTTP API, which the backend process talks to.
//!
//! The [`Dispatcher`] hands requests to the backend one at a time: the engine queues advance
//! requests (one in flight at most, strictly in input order), the inspect endpoint queues inspect
//! requests, and each `POST /finish` completes the request in flight and long-polls for the next.
//! Advances go first; inspects are only handed out while the backend state is current (not
//! during a replay), so an inspect never sees a half-rebuilt state.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{Error, Result};
use crate::hexfmt::{hex0x, parse_hex};
use crate::outputs;

/// Advance-state metadata, as the backend receives it.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub chain_id: u64,
    pub app_contract: Address,
    pub msg_sender: Address,
    pub block_number: u64,
    pub block_timestamp: u64,
    pub prev_randao: B256,
    pub input_index: u64,
}

#[derive(Debug)]
pub(crate) enum Request {
    Advance {
        metadata: Metadata,
        payload: Vec<u8>,
        /// Global index the first output of this input gets (outputs so far of accepted inputs).
        first_output_index: u64,
    },
    Inspect {
        payload: Vec<u8>,
    },
}

impl Request {
    fn to_json(&self) -> Value {
        match self {
            Request::Advance {
                metadata: m,
                payload,
                ..
            } => json!({
                "request_type": "advance_state",
                "data": {
                    "metadata": {
                        "chain_id": m.chain_id,
                        "app_contract": hex0x(m.app_contract),
                        "msg_sender": hex0x(m.msg_sender),
                        "block_number": m.block_number,
                        "block_timestamp": m.block_timestamp,
                        "prev_randao": hex0x(m.prev_randao),
                        "input_index": m.input_index,
                    },
                    "payload": hex0x(payload),
                }
            }),
            Request::Inspect { payload } => json!({
                "request_type": "inspect_state",
                "data": { "payload": hex0x(payload) }
            }),
        }
    }
}

/// How the backend finished a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Completion {
    Accepted,
    Rejected,
    Exception(Vec<u8>),
}

#[derive(Debug)]
pub(crate) struct Outcome {
    pub completion: Completion,
    /// Encoded outputs with their global indexes; empty unless accepted.
    pub outputs: Vec<(u64, Vec<u8>)>,
    pub reports: Vec<Vec<u8>>,
    /// Inputs the backend had processed when it answered (meaningful for inspects).
    pub processed_input_count: u64,
}

struct Job {
    request: Request,
    reply: oneshot::Sender<Outcome>,
}

/// The request the backend is working on.
struct Current {
    request: Request,
    reply: oneshot::Sender<Outcome>,
    outputs: Vec<(u64, Vec<u8>)>,
    reports: Vec<Vec<u8>>,
}

struct Queues {
    advance: mpsc::Receiver<Job>,
    inspect: mpsc::Receiver<Job>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FinishStatus {
    Accept,
    Reject,
}

pub(crate) struct Dispatcher {
    advance_tx: mpsc::Sender<Job>,
    inspect_tx: mpsc::Sender<Job>,
    queues: tokio::sync::Mutex<Queues>,
    current: Mutex<Option<Current>>,
    /// Whether inspects may be handed out (false while a fresh backend is being replayed).
    inspect_open: watch::Sender<bool>,
    /// Bumped when the backend process is replaced, so a `/finish` still parked for a process
    /// that is gone gives up instead of taking a request nobody will answer.
    generation: watch::Sender<u64>,
    processed: AtomicU64,
    finish_timeout: Duration,
    inspect_timeout: Duration,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

/// Inspects waiting for the backend beyond this are refused (503) rather than piled up.
const INSPECT_QUEUE: usize = 256;

impl Dispatcher {
    pub(crate) fn new(finish_timeout: Duration, inspect_timeout: Duration) -> Self {
        let (advance_tx, advance) = mpsc::channel(1);
        let (inspect_tx, inspect) = mpsc::channel(INSPECT_QUEUE);
        Self {
            advance_tx,
            inspect_tx,
            queues: tokio::sync::Mutex::new(Queues { advance, inspect }),
            current: Mutex::new(None),
            inspect_open: watch::Sender::new(false),
            generation: watch::Sender::new(0),
            processed: AtomicU64::new(0),
            finish_timeout,
            inspect_timeout,
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<Current>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an advance request; the answer arrives on the returned channel.
    pub(crate) async fn advance(&self, request: Request) -> Result<oneshot::Receiver<Outcome>> {
        let (reply, rx) = oneshot::channel();
        self.advance_tx
            .send(Job { request, reply })
            .await
            .map_err(|_| Error::Unavailable("dispatcher closed".into()))?;
        Ok(rx)
    }

    /// Runs an inspect request through the backend and waits for its answer.
    pub(crate) async fn inspect(&self, payload: Vec<u8>) -> Result<Outcome> {
        let (reply, rx) = oneshot::channel();
        self.inspect_tx
            .try_send(Job {
                request: Request::Inspect { payload },
                reply,
            })
            .map_err(|_| Error::Unavailable("too many inspect requests pending".into()))?;
        match tokio::time::timeout(self.inspect_timeout, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(Error::Unavailable(
                "the backend stopped during the inspect".into(),
            )),
            Err(_) => Err(Error::Unavailable(
                "the backend did not answer in time".into(),
            )),
        }
    }

    /// Opens inspects once the backend state reflects the first `processed` inputs (exception
    /// inputs count as processed although a replay skips them).
    pub(crate) fn open_inspects(&self, processed: u64) {
        self.processed.store(processed, Ordering::SeqCst);
        self.inspect_open.send_replace(true);
    }

    pub(crate) fn close_inspects(&self) {
        self.inspect_open.send_replace(false);
    }

    /// Forgets everything about a backend process that is gone: its parked `/finish`, queued
    /// advance requests and the request in flight, which is returned (the process had it when
    /// it died). Queued inspects stay for the next process.
    pub(crate) async fn reset(&self) -> Option<Request> {
        self.generation.send_modify(|g| *g += 1);
        self.processed.store(0, Ordering::SeqCst);
        // A parked /finish holds the queues; the generation change makes it let go.
        let mut queues = self.queues.lock().await;
        while queues.advance.try_recv().is_ok() {}
        self.current().take().map(|c| c.request)
    }

    /// Completes the request in flight, if any, with what `/finish` or `/exception` said.
    fn complete(&self, status: std::result::Result<FinishStatus, Vec<u8>>) {
        let Some(current) = self.current().take() else {
            return; // first /finish of a process: nothing in flight, status ignored
        };
        let completion = match status {
            Ok(FinishStatus::Accept) => Completion::Accepted,
            Ok(FinishStatus::Reject) => Completion::Rejected,
            Err(payload) => Completion::Exception(payload),
        };
        if let Request::Advance { metadata, .. } = &current.request {
            self.processed
                .store(metadata.input_index + 1, Ordering::SeqCst);
        }
        // A rejected or failed input's notices and vouchers are discarded; reports are kept.
        let outputs = if completion == Completion::Accepted {
            current.outputs
        } else {
            Vec::new()
        };
        // The receiver may be gone (inspect client disconnected): nothing to do then.
        let _ = current.reply.send(Outcome {
            completion,
            outputs,
            reports: current.reports,
            processed_input_count: self.processed.load(Ordering::SeqCst),
        });
    }

    /// Waits for the next request for the backend; `None` means "answer 202, call again".
    async fn next(&self) -> Option<Value> {
        let mut generation = self.generation.subscribe();
        generation.mark_unchanged();
        let mut queues = tokio::select! {
            q = self.queues.lock() => q,
            _ = generation.changed() => return None,
            _ = tokio::time::sleep(self.finish_timeout) => return None,
        };
        let Queues { advance, inspect } = &mut *queues;
        let mut open = self.inspect_open.subscribe();
        let deadline = tokio::time::sleep(self.finish_timeout);
        tokio::pin!(deadline);
        loop {
            let job = tokio::select! {
                biased;
                _ = generation.changed() => return None,
                Some(job) = advance.recv() => job,
                Some(job) = async {
                    // Only look at inspects while the state is current.
                    if open.wait_for(|o| *o).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                    inspect.recv().await
                } => job,
                _ = &mut deadline => return None,
            };
            if job.reply.is_closed() {
                continue; // its client gave up while it waited in the queue
            }
            let body = job.request.to_json();
            *self.current() = Some(Current {
                request: job.request,
                reply: job.reply,
                outputs: Vec::new(),
                reports: Vec::new(),
            });
            return Some(body);
        }
    }

    /// Adds an output to the advance request in flight and returns its global index.
    fn add_output(&self, output: Vec<u8>) -> Result<u64> {
        let mut current = self.current();
        match current.as_mut() {
            Some(Current {
                request:
                    Request::Advance {
                        first_output_index, ..
                    },
                outputs,
                ..
            }) => {
                let index = *first_output_index + outputs.len() as u64;
                outputs.push((index, output));
                Ok(index)
            }
            Some(_) => Err(Error::Conflict(
                "outputs cannot be emitted while inspecting".into(),
            )),
            None => Err(Error::Conflict("no request is being processed".into())),
        }
    }

    fn add_report(&self, payload: Vec<u8>) -> Result<()> {
        match self.current().as_mut() {
            Some(current) => {
                current.reports.push(payload);
                Ok(())
            }
            None => Err(Error::Conflict("no request is being processed".into())),
        }
    }
}

// ---- HTTP handlers ----

pub(crate) fn router(dispatcher: Arc<Dispatcher>) -> Router {
    Router::new()
        .route("/finish", post(finish))
        .route("/notice", post(notice))
        .route("/voucher", post(voucher))
        .route("/delegate-call-voucher", post(delegate_call_voucher))
        .route("/report", post(report))
        .route("/exception", post(exception))
        .route("/gio", post(gio))
        .with_state(dispatcher)
}

type D = State<Arc<Dispatcher>>;

/// Parses a JSON body ourselves so malformed bodies get the API's plain-text 400.
fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::BadRequest(e.to_string()))
}

#[derive(Deserialize)]
struct Finish {
    status: FinishStatusBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum FinishStatusBody {
    Accept,
    Reject,
}

#[derive(Deserialize)]
struct PayloadBody {
    payload: String,
}

#[derive(Deserialize)]
struct VoucherBody {
    destination: String,
    value: String,
    payload: String,
}

#[derive(Deserialize)]
struct DelegateCallVoucherBody {
    destination: String,
    payload: String,
}

fn parse_address(field: &str, s: &str) -> Result<Address> {
    let bytes = parse_hex(field, s)?;
    Address::try_from(bytes.as_slice())
        .map_err(|_| Error::BadRequest(format!("{field}: expected 20 bytes")))
}

async fn finish(State(d): D, bytes: Bytes) -> Result<Response> {
    let status = match body::<Finish>(&bytes)?.status {
        FinishStatusBody::Accept => FinishStatus::Accept,
        FinishStatusBody::Reject => FinishStatus::Reject,
    };
    d.complete(Ok(status));
    Ok(match d.next().await {
        Some(request) => (StatusCode::OK, axum::Json(request)).into_response(),
        None => (StatusCode::ACCEPTED, "no rollup request available").into_response(),
    })
}

fn created(index: u64) -> Response {
    (StatusCode::CREATED, axum::Json(json!({ "index": index }))).into_response()
}

async fn notice(State(d): D, bytes: Bytes) -> Result<Response> {
    let payload = parse_hex("payload", &body::<PayloadBody>(&bytes)?.payload)?;
    Ok(created(d.add_output(outputs::notice(payload))?))
}

async fn voucher(State(d): D, bytes: Bytes) -> Result<Response> {
    let v: VoucherBody = body(&bytes)?;
    let destination = parse_address("destination", &v.destination)?;
    let value = parse_hex("value", &v.value)?;
    if value.len() > 32 {
        return Err(Error::BadRequest("value: more than 32 bytes".into()));
    }
    let value = U256::from_be_slice(&value);
    let payload = parse_hex("payload", &v.payload)?;
    Ok(created(d.add_output(outputs::voucher(
        destination,
        value,
        payload,
    ))?))
}

async fn delegate_call_voucher(State(d): D, bytes: Bytes) -> Result<Response> {
    let v: DelegateCallVoucherBody = body(&bytes)?;
    let destination = parse_address("destination", &v.destination)?;
    let payload = parse_hex("payload", &v.payload)?;
    Ok(created(d.add_output(outputs::delegate_call_voucher(
        destination,
        payload,
    ))?))
}

async fn report(State(d): D, bytes: Bytes) -> Result<StatusCode> {
    d.add_report(parse_hex("payload", &body::<PayloadBody>(&bytes)?.payload)?)?;
    Ok(StatusCode::ACCEPTED)
}

async fn exception(State(d): D, bytes: Bytes) -> Result<StatusCode> {
    let payload = parse_hex("payload", &body::<PayloadBody>(&bytes)?.payload)?;
    if d.current().is_none() {
        return Err(Error::Conflict("no request is being processed".into()));
    }
    d.complete(Err(payload));
    Ok(StatusCode::ACCEPTED)
}

async fn gio() -> Error {
    Error::Unsupported("the host-mode node has no generic I/O (/gio) domains".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(input_index: u64) -> Metadata {
        Metadata {
            chain_id: 31337,
            app_contract: Address::repeat_byte(0xAA),
            msg_sender: Address::repeat_byte(0xBB),
            block_number: 7,
            block_timestamp: 1_700_000_000,
            prev_randao: B256::repeat_byte(1),
            input_index,
        }
    }

    #[test]
    fn advance_json_shape() {
        let r = Request::Advance {
            metadata: meta(3),
            payload: vec![0xde, 0xad],
            first_output_index: 0,
        };
        let j = r.to_json();
        assert_eq!(j["request_type"], "advance_state");
        let m = &j["data"]["metadata"];
        assert_eq!(m["chain_id"], 31337);
        assert_eq!(m["input_index"], 3);
        assert_eq!(m["block_number"], 7);
        assert_eq!(
            m["app_contract"],
            "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert_eq!(m["prev_randao"], hex0x(B256::repeat_byte(1)));
        assert_eq!(j["data"]["payload"], "0xdead");
    }

    #[tokio::test]
    async fn rejected_outputs_are_dropped_reports_kept() -> Result<()> {
        let d = Dispatcher::new(Duration::from_millis(50), Duration::from_secs(1));
        let rx = d
            .advance(Request::Advance {
                metadata: meta(0),
                payload: vec![],
                first_output_index: 5,
            })
            .await?;
        assert!(d.next().await.is_some());
        assert_eq!(d.add_output(outputs::notice(vec![1]))?, 5);
        assert_eq!(d.add_output(outputs::notice(vec![2]))?, 6);
        d.add_report(vec![9])?;
        d.complete(Ok(FinishStatus::Reject));
        let outcome = rx.await.map_err(|_| Error::Unavailable("dropped".into()))?;
        assert_eq!(outcome.completion, Completion::Rejected);
        assert!(outcome.outputs.is_empty());
        assert_eq!(outcome.reports, vec![vec![9]]);
        assert_eq!(outcome.processed_input_count, 1);
        // Nothing pending: the long poll ends empty.
        assert!(d.next().await.is_none());
        assert!(d.add_report(vec![]).is_err());
        Ok(())
    }

    #[tokio::test]
    async fn inspects_wait_while_closed() {
        let d = Arc::new(Dispatcher::new(
            Duration::from_millis(50),
            Duration::from_millis(200),
        ));
        let d2 = d.clone();
        let inspect = tokio::spawn(async move { d2.inspect(vec![1]).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            d.next().await.is_none(),
            "closed: inspect must not be handed out"
        );
        d.open_inspects(0);
        assert!(d.next().await.is_some());
        assert!(d.add_output(outputs::notice(vec![])).is_err());
        d.complete(Ok(FinishStatus::Accept));
        let outcome = inspect.await.ok().and_then(|r| r.ok());
        assert_eq!(outcome.map(|o| o.completion), Some(Completion::Accepted));
    }
}
