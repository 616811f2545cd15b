//! The submitter: packs acknowledged messages into rollup inputs and puts them on chain with
//! `InputBox.addInput`, exactly once each, through RPC outages and crashes.
//!
//! # State machine
//!
//! A message is *pending* (in the outbox, `input_id` NULL) until the submitter packs it. An
//! input then moves through states that are each committed before the next side effect:
//!
//! ```text
//!  pending ──(1) batched ──(2) nonce reserved ──(3) sent(tx hash) ──(4) included(index)
//!                 ▲                │  ▲                   │
//!                 └── nonce burnt ─┘  └── re-broadcast ───┘ (same nonce)
//! ```
//!
//! 1. **batched**: in one transaction, the oldest pending messages (up to the size bound,
//!    by default 60 KiB ≤ `MAX_INPUT_LEN`) are assigned to a new `inputs` row that stores the
//!    exact payload and `scan_from_block`, the chain head at that moment (the input cannot
//!    be on chain below it). Nothing has been sent yet.
//! 2. **nonce reserved**: the account's next (pending) nonce is written to the row *before*
//!    the first broadcast. Every broadcast of this payload uses this nonce, so at most one
//!    transaction carrying it can ever be mined: a re-broadcast after a crash or an RPC error
//!    replaces or duplicates the first one, it never adds a second input.
//! 3. **sent**: after a broadcast, its transaction hash is recorded (informational: the
//!    chain, not this field, decides).
//! 4. **included**: the `InputAdded` event is seen (in the receipt, or by scanning logs);
//!    the input index, block and gas are recorded. Receipts report the messages as included.
//!
//! Inputs are driven strictly one at a time, oldest first, so their order on chain is the
//! order the gateway acknowledged the messages in (a device's registration before its
//! readings, counters increasing).
//!
//! # Recovery
//!
//! Whenever the fate of the open input is unknown (at start, after a crash at any point,
//! after any RPC error or a receipt timeout) the submitter *resolves* it before doing
//! anything else:
//!
//! - no nonce reserved → it was never broadcast: reserve one and send;
//! - otherwise read the account's mined nonce `n_mined`, then scan `InputAdded` logs of the
//!   application from `scan_from_block` to the current head for an input whose sender is the
//!   gateway and whose payload equals the stored one:
//!   - found → included (record it; never send again);
//!   - not found and `n_mined > nonce` → the nonce was consumed by some other transaction
//!     (the payload is not on chain and now never can be under that nonce): release it and
//!     reserve a new one;
//!   - not found and `n_mined ≤ nonce` → not mined yet (maybe still in the mempool, maybe
//!     lost): broadcast again with the same nonce and wait.
//!
//! The nonce is read before the scan and the scan's head after it, so a transaction that
//! consumed the nonce is always inside the scanned range.
//!
//! Failures back off exponentially (200 ms to 10 s) and retry the same resolution. Only one
//! process submits per database: an exclusive lock file beside the SQLite database, or a
//! PostgreSQL session advisory lock for replicas sharing a database. The gateway key must
//! not be used by anything else while the gateway runs (a foreign transaction can burn a
//! reserved nonce, which is handled, but wastes a round).
//!
//! The backend itself refuses stale counters and already applied statements, so even a
//! misconfigured second submitter with another key could not make a reading count twice.
//!
//! # Outcomes
//!
//! The [`track_outcomes`] task follows the node: for each included input the node has
//! processed, it reads the backend's reports (`cartesi_listReports`) and marks the input's
//! messages attested, or rejected with the backend's reason.
//!
//! When the backend refused the whole input (`input_refused`, PROTOCOL.md 15.1: nothing of
//! it applied), what happens to its messages depends on whether the refusal can pass later
//! ([`refusal_can_pass`]): after `unauthorized_sender` (the gateway's account was not, or no
//! longer, authorized by the admin when the input was processed) they go back to pending with
//! their outbox ids, so in their acknowledgement order and ahead of everything acknowledged
//! after them, and are sent again in a later input; their receipts say pending, with the
//! number of refusals and the last reason. A message is requeued at most
//! [`MAX_REQUEUES`](crate::store::MAX_REQUEUES) times, then rejected: a gateway the admin
//! never authorizes stops paying for the same messages. Other refusals reject every message
//! of the input with the input's reason.
//!
//! # Authorization
//!
//! Requeued envelopes are only worth sending once the gateway is authorized, and readings
//! sent while it is not are refused and requeued behind later ones. So before packing a batch
//! with envelopes, the submitter asks the node's inspect `config` for the rollup's authorized
//! gateway set (at most once per [`AUTHORIZATION_CHECK`]); when it does not hold the gateway's
//! address, the submitter sends no envelope: it logs it once, sets the
//! `witness_gateway_gateway_authorized` gauge to 0, counts the round in
//! `witness_gateway_envelope_holds_total`, sends only the statements that may go ahead of the
//! held envelopes without changing what the rollup makes of anything
//! ([`Store::next_statements`]), and asks again later. Without a node it cannot ask and sends
//! as before; when the node fails it goes by its last answer (sending if it never had one).
//!
//! The residual race: inputs are driven one at a time, but an input's outcome is only known
//! once the node processed it, while the next inputs go as soon as the previous one is
//! included, and the node's answer is the state as of the inputs it processed. If the
//! authorization changes on chain between two of the gateway's inputs (the admin deauthorizes
//! and authorizes again, or authorizes it while an input sent on a stale answer is on its
//! way), a refused input can be followed by accepted ones carrying later counters of the same
//! devices: its requeued envelopes then arrive after them and the backend refuses them as
//! `stale_counter` (rejected, not lost silently: the receipts say so). With the check, this
//! needs an authorization change inside the window between the node's answer and the
//! processing of the inputs sent on it.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use tokio::sync::{Notify, watch};
use witness_chain::L1;
use witness_chain::abi::IInputBox::{self, InputAdded};
use witness_node_client::NodeClient;
use witness_protocol::api::{InspectAnswer, InspectQuery, Report};
use witness_protocol::codec::{Reader, Writer};
use witness_protocol::{INPUT_VERSION, MAX_MESSAGES, Message};

use crate::config::{BatchConfig, ChainConfig};
use crate::error::{GatewayError, Result};
use crate::metrics::Metrics;
use crate::store::{Batch, InputOutcome, InputRow, Store, now_ms};

/// Most blocks one `eth_getLogs` call covers (the window of the submitter's
/// [`L1::input_added_scan`]).
const LOG_CHUNK: u64 = 5_000;
/// How long to wait for a broadcast transaction's receipt before resolving again.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// Backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How long an answer on the gateway's authorization holds before the node is asked again
/// (and how long the submitter waits before looking again while it holds envelopes back).
pub const AUTHORIZATION_CHECK: Duration = Duration::from_secs(1);
/// How long the submitter waits for the node's answer on its authorization.
const AUTHORIZATION_TIMEOUT: Duration = Duration::from_secs(2);

/// What the chain says about an open input.
#[derive(Debug)]
enum Fate {
    /// On chain.
    Included {
        tx_hash: B256,
        index: u64,
        block: u64,
    },
    /// Not on chain, and its nonce was consumed by another transaction.
    NonceBurnt,
    /// Not on chain (yet); its nonce is still free.
    NotMined,
}

/// The chain as the submitter uses it: the gateway's client with the submitter's nonce policy
/// (nonces reserved in the store, transactions sent with an explicit nonce, fates resolved
/// against the mined nonce and the `InputAdded` logs).
#[derive(Debug, Clone)]
struct Chain {
    l1: L1,
    address: Address,
    config: ChainConfig,
}

fn chain_error(what: &str, e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Chain(format!("{what}: {e}"))
}

impl Chain {
    /// Wraps the gateway's client (which signs as the gateway account), scanning logs in
    /// windows of [`LOG_CHUNK`] blocks.
    fn new(l1: Option<L1>, config: &ChainConfig) -> Result<Self> {
        let l1 = l1
            .ok_or_else(|| GatewayError::Config("no chain client".into()))?
            .with_log_range(LOG_CHUNK);
        let address = l1
            .signer()
            .ok_or_else(|| GatewayError::Config("the chain client has no signer".into()))?;
        Ok(Self {
            l1,
            address,
            config: config.clone(),
        })
    }

    async fn head(&self) -> Result<u64> {
        self.l1
            .block_number()
            .await
            .map_err(|e| chain_error("eth_blockNumber", e))
    }

    async fn nonce(&self, pending: bool) -> Result<u64> {
        let call = self.l1.provider().get_transaction_count(self.address);
        let call = if pending {
            call.pending()
        } else {
            call.latest()
        };
        call.await
            .map_err(|e| chain_error("eth_getTransactionCount", e))
    }

    /// Scans `InputAdded` logs for `payload` sent by the gateway.
    async fn find(&self, input: &InputRow) -> Result<Option<(B256, u64, u64)>> {
        let head = self.head().await?;
        let mut scan =
            self.l1
                .input_added_scan(self.config.application, input.scan_from_block, head);
        while let Some(window) = scan.next_window().await? {
            for log in window.logs {
                let advance = witness_chain::decode_evm_advance(&log.input)?;
                if advance.msg_sender == self.address && advance.payload[..] == input.payload[..] {
                    return Ok(Some((log.tx_hash, log.index, log.block_number)));
                }
            }
        }
        Ok(None)
    }

    /// Decides the fate of an input whose nonce was reserved.
    async fn resolve(&self, input: &InputRow, nonce: u64) -> Result<Fate> {
        // Nonce first, then the scan (whose head is read after it): a transaction that
        // consumed the nonce is inside the scanned range.
        let mined_nonce = self.nonce(false).await?;
        if let Some((tx_hash, index, block)) = self.find(input).await? {
            return Ok(Fate::Included {
                tx_hash,
                index,
                block,
            });
        }
        Ok(if mined_nonce > nonce {
            Fate::NonceBurnt
        } else {
            Fate::NotMined
        })
    }

    /// Broadcasts `addInput(app, payload)` with `nonce`; the transaction hash.
    async fn broadcast(&self, payload: &[u8], nonce: u64) -> Result<B256> {
        let contract = IInputBox::new(self.l1.input_box(), self.l1.provider());
        let pending = contract
            .addInput(self.config.application, payload.to_vec().into())
            .nonce(nonce)
            .send()
            .await
            .map_err(|e| chain_error("addInput", e))?;
        Ok(*pending.tx_hash())
    }

    /// `eth_estimateGas` of sending `payload` as an input.
    async fn estimate(&self, payload: &[u8]) -> Result<u64> {
        IInputBox::new(self.l1.input_box(), self.l1.provider())
            .addInput(self.config.application, payload.to_vec().into())
            .from(self.address)
            .estimate_gas()
            .await
            .map_err(|e| chain_error("eth_estimateGas", e))
    }

    /// Waits for the receipt: `Some((index, block, gas))` once mined with the event,
    /// `None` on timeout.
    async fn wait_mined(&self, tx_hash: B256) -> Result<Option<(u64, u64, u64)>> {
        let deadline = tokio::time::Instant::now() + RECEIPT_TIMEOUT;
        loop {
            let receipt = self
                .l1
                .provider()
                .get_transaction_receipt(tx_hash)
                .await
                .map_err(|e| chain_error("eth_getTransactionReceipt", e))?;
            if let Some(receipt) = receipt {
                if !receipt.status() {
                    return Err(GatewayError::Chain(format!(
                        "transaction {tx_hash} reverted"
                    )));
                }
                let event = receipt
                    .logs()
                    .iter()
                    .filter(|log| log.address() == self.l1.input_box())
                    .find_map(|log| log.log_decode::<InputAdded>().ok())
                    .ok_or_else(|| {
                        GatewayError::Chain(format!("no InputAdded event in {tx_hash}"))
                    })?;
                let index = u64::try_from(event.inner.data.index)
                    .map_err(|_| GatewayError::Chain("input index overflows u64".into()))?;
                let block = receipt.block_number.unwrap_or_default();
                return Ok(Some((index, block, receipt.gas_used)));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }
}

/// Encodes an input from encoded messages (kind byte + body each).
pub fn build_payload(messages: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut w = Writer::with_capacity(messages.iter().map(|(_, m)| m.len()).sum::<usize>() + 4);
    w.u8(INPUT_VERSION).varint(messages.len() as u64);
    for (_, message) in messages {
        w.bytes(message);
    }
    w.finish()
}

/// Whether a batch carries an envelope.
fn has_envelopes(batch: &Batch) -> bool {
    batch
        .messages
        .iter()
        .any(|(_, bytes)| bytes.first() == Some(&witness_protocol::kind::ENVELOPE))
}

/// The readings in a batch of envelopes only; `None` if it holds any other message.
fn readings_only(batch: &Batch) -> Option<u64> {
    batch
        .messages
        .iter()
        .try_fold(0u64, |readings, (_, bytes)| {
            match Message::read(&mut Reader::new(bytes)) {
                Ok(Message::Envelope(envelope)) => {
                    Some(readings + u64::from(envelope.header().reading_count))
                }
                _ => None,
            }
        })
}

/// What one step did.
enum Step {
    /// Something was submitted; go on at once.
    Worked,
    /// Nothing pending: wait this long, or until a message is acknowledged.
    Empty(Duration),
    /// A partial batch is waiting for its latency bound: look again after this long
    /// (acknowledgements do not wake the submitter then, so that heavy intake does not make
    /// it re-read the queue on every request).
    Filling(Duration),
    /// Envelopes are held back (the gateway is not authorized) and nothing else is pending:
    /// look again after this long (acknowledgements do not wake the submitter either).
    Held(Duration),
}

/// The gateway's authorization as last asked of the node: when, and the answer.
#[derive(Debug, Default)]
struct Authorization {
    last: Option<(tokio::time::Instant, bool)>,
}

/// The gas-target decision on a partial batch, by (first message id, message count).
#[derive(Debug)]
struct BatchVerdict {
    key: (Option<i64>, usize),
    send: bool,
    /// It carries something other than readings.
    urgent: bool,
}

/// How often a partial batch is re-checked for having become full.
const FILL_CHECK: Duration = Duration::from_millis(50);

/// At most one early send per interval ([`BatchConfig::urgent_interval`]).
#[derive(Debug, Default)]
pub(crate) struct UrgentLimiter {
    last: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl UrgentLimiter {
    /// Takes the early send at `now` if the last one was at least `interval` before.
    fn take(&self, now: tokio::time::Instant, interval: Duration) -> bool {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| now.duration_since(at) < interval) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// The submitter task.
#[derive(Debug)]
pub(crate) struct Submitter {
    pub store: Store,
    pub chain: ChainConfig,
    /// The gateway's chain client (built from `chain`).
    pub l1: Option<L1>,
    pub batch: BatchConfig,
    pub metrics: Arc<Metrics>,
    /// The node, asked whether the rollup authorizes the gateway (`None`: never asked).
    pub node: Option<NodeClient>,
    /// Woken when messages are acknowledged.
    pub wake: Arc<Notify>,
    /// Woken when an input is included (for the outcome tracker).
    pub included: Arc<Notify>,
    /// Bounds the early sends of statements.
    pub urgent: UrgentLimiter,
}

async fn sleep_or_stop(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        _ = stop.changed() => true,
    }
}

impl Submitter {
    /// Runs until `stop` turns true.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let chain = match Chain::new(self.l1.clone(), &self.chain) {
            Ok(chain) => chain,
            Err(error) => {
                tracing::error!(%error, "submitter disabled");
                return;
            }
        };
        // Only one submitter per database.
        let _lock = loop {
            match self.store.try_submitter_lock().await {
                Ok(Some(lock)) => break lock,
                Ok(None) => tracing::info!("another process is submitting; waiting"),
                Err(error) => tracing::warn!(%error, "cannot take the submitter lock"),
            }
            if sleep_or_stop(Duration::from_secs(1), &mut stop).await {
                return;
            }
        };
        tracing::info!(gateway = %chain.address, "submitter started");
        let mut backoff = BACKOFF_MIN;
        let mut verdict = None;
        let mut authorization = Authorization::default();
        loop {
            if *stop.borrow() {
                return;
            }
            match self.step(&chain, &mut verdict, &mut authorization).await {
                Ok(Step::Worked) => backoff = BACKOFF_MIN,
                Ok(Step::Empty(wait)) => {
                    backoff = BACKOFF_MIN;
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return,
                    }
                }
                Ok(Step::Filling(wait) | Step::Held(wait)) => {
                    backoff = BACKOFF_MIN;
                    if sleep_or_stop(wait, &mut stop).await {
                        return;
                    }
                }
                Err(error) => {
                    self.metrics.submit_errors.inc();
                    tracing::warn!(%error, retry_in = ?backoff, "submission failed; retrying");
                    if sleep_or_stop(backoff, &mut stop).await {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    async fn step(
        &self,
        chain: &Chain,
        verdict: &mut Option<BatchVerdict>,
        authorization: &mut Authorization,
    ) -> Result<Step> {
        if let Some(input) = self.store.open_inputs().await?.into_iter().next() {
            self.drive(chain, input).await?;
            return Ok(Step::Worked);
        }
        let mut batch = self
            .store
            .next_batch(self.batch.max_bytes, MAX_MESSAGES)
            .await?;
        let mut holding = false;
        if has_envelopes(&batch) && !self.authorized(chain, authorization).await {
            holding = true;
            self.metrics.envelope_holds.inc();
            batch = self
                .store
                .next_statements(self.batch.max_bytes, MAX_MESSAGES)
                .await?;
        }
        let Some(oldest) = batch.oldest_received_at else {
            return Ok(if holding {
                Step::Held(AUTHORIZATION_CHECK)
            } else {
                Step::Empty(Duration::from_secs(1))
            });
        };
        let age =
            Duration::from_millis(u64::try_from(now_ms().saturating_sub(oldest)).unwrap_or(0));
        if !batch.full
            && age < self.batch.max_delay
            && !self.worth_sending_now(chain, &batch, verdict).await?
        {
            return Ok(Step::Filling((self.batch.max_delay - age).min(FILL_CHECK)));
        }
        let head = chain.head().await?;
        self.metrics.chain_head.set(head);
        let payload = build_payload(&batch.messages);
        let ids = batch.messages.iter().map(|(id, _)| *id).collect();
        let input = self.store.create_input(ids, payload, head).await?;
        tracing::debug!(
            input = input.id,
            messages = input.message_count,
            bytes = input.payload.len(),
            "input batched"
        );
        self.drive(chain, input).await?;
        Ok(Step::Worked)
    }

    /// Whether the rollup's authorized gateway set holds this gateway, as the node's inspect
    /// `config` says (asked at most once per [`AUTHORIZATION_CHECK`]). Without a node: yes
    /// (nothing to ask; the backend decides). When the node fails: the last answer, or yes if
    /// there was none. A node that lies can only delay envelopes or make the gateway pay for
    /// an input the backend refuses (and the gateway then requeues).
    async fn authorized(&self, chain: &Chain, authorization: &mut Authorization) -> bool {
        let Some(node) = &self.node else {
            return true;
        };
        let now = tokio::time::Instant::now();
        let last = authorization.last.map(|(_, answer)| answer);
        if let Some((at, answer)) = authorization.last
            && now.duration_since(at) < AUTHORIZATION_CHECK
        {
            return answer;
        }
        let asked =
            tokio::time::timeout(AUTHORIZATION_TIMEOUT, node.inspect(&InspectQuery::Config));
        let answer = match asked.await {
            Ok(Ok(inspected)) => match inspected.answer {
                InspectAnswer::Config(config) => Some(
                    config
                        .gateways
                        .iter()
                        .any(|g| g.parse::<Address>().is_ok_and(|g| g == chain.address)),
                ),
                other => {
                    tracing::debug!(answer = ?other, "the node answered a config query with something else");
                    None
                }
            },
            Ok(Err(error)) => {
                tracing::debug!(%error, "cannot ask the node whether the gateway is authorized");
                None
            }
            Err(_) => {
                tracing::debug!("the node did not say in time whether the gateway is authorized");
                None
            }
        };
        let Some(answer) = answer else {
            let answer = last.unwrap_or(true);
            authorization.last = Some((now, answer));
            return answer;
        };
        match (last, answer) {
            (Some(false), true) => {
                tracing::info!(gateway = %chain.address, "the rollup authorizes the gateway again: sending envelopes")
            }
            (None | Some(true), false) => tracing::warn!(
                gateway = %chain.address,
                "the rollup does not authorize this gateway (not in the admin's gateway set): \
                 holding envelopes back until it does"
            ),
            _ => {}
        }
        self.metrics.gateway_authorized.set(i64::from(answer));
        authorization.last = Some((now, answer));
        answer
    }

    /// Whether a partial batch goes before its delay bound (only with a gas target): at once
    /// if it carries anything but readings (registrations, ownership, authorizations: someone
    /// is waiting for them) and no such early send happened within the urgent interval, else
    /// once its estimated gas per reading is within the target. Decided again only when the
    /// batch has changed (the urgent interval is checked every time).
    async fn worth_sending_now(
        &self,
        chain: &Chain,
        batch: &Batch,
        verdict: &mut Option<BatchVerdict>,
    ) -> Result<bool> {
        let Some(target) = self.batch.gas_target else {
            return Ok(false);
        };
        let key = (
            batch.messages.first().map(|(id, _)| *id),
            batch.messages.len(),
        );
        if let Some(known) = verdict.as_ref().filter(|v| v.key == key) {
            return Ok(known.send && self.urgent_allowed(known.urgent));
        }
        let readings = readings_only(batch);
        let urgent = readings.is_none();
        let send = match readings {
            None => true,
            Some(readings) => {
                let gas = chain.estimate(&build_payload(&batch.messages)).await?;
                tracing::debug!(gas, readings, "partial batch estimated");
                gas <= target.saturating_mul(readings)
            }
        };
        *verdict = Some(BatchVerdict { key, send, urgent });
        Ok(send && self.urgent_allowed(urgent))
    }

    /// Readings-only batches are never limited; others take the limiter's slot.
    fn urgent_allowed(&self, urgent: bool) -> bool {
        !urgent
            || self
                .urgent
                .take(tokio::time::Instant::now(), self.batch.urgent_interval)
    }

    /// Takes one open input to `included` (or fails, to be resolved again after a backoff).
    async fn drive(&self, chain: &Chain, mut input: InputRow) -> Result<()> {
        loop {
            let Some(nonce) = input.nonce else {
                let nonce = chain.nonce(true).await?;
                self.store.set_input_nonce(input.id, Some(nonce)).await?;
                input.nonce = Some(nonce);
                continue;
            };
            match chain.resolve(&input, nonce).await? {
                Fate::Included {
                    tx_hash,
                    index,
                    block,
                } => {
                    self.store
                        .mark_included(input.id, tx_hash.0, index, block, None)
                        .await?;
                    self.on_included(index, None);
                    return Ok(());
                }
                Fate::NonceBurnt => {
                    tracing::warn!(
                        input = input.id,
                        nonce,
                        "nonce consumed by another transaction; reserving a new one"
                    );
                    self.store.set_input_nonce(input.id, None).await?;
                    input.nonce = None;
                }
                Fate::NotMined => {
                    let tx_hash = match chain.broadcast(&input.payload, nonce).await {
                        Ok(tx_hash) => tx_hash,
                        Err(error) => {
                            // Maybe already in the mempool or mined meanwhile: wait, resolve.
                            tracing::debug!(%error, "broadcast failed");
                            return Err(error);
                        }
                    };
                    self.metrics.transactions_sent.inc();
                    self.store.mark_sent(input.id, tx_hash.0).await?;
                    tracing::debug!(input = input.id, %tx_hash, nonce, "input sent");
                    if let Some((index, block, gas)) = chain.wait_mined(tx_hash).await? {
                        self.store
                            .mark_included(input.id, tx_hash.0, index, block, Some(gas))
                            .await?;
                        self.on_included(index, Some(gas));
                        return Ok(());
                    }
                    // Timed out: resolve again (the loop re-reads the chain).
                }
            }
        }
    }

    fn on_included(&self, index: u64, gas: Option<u64>) {
        tracing::info!(input_index = index, gas, "input included");
        self.included.notify_one();
    }
}

/// Whether a refusal of a whole input (PROTOCOL.md 15.1) can pass if its messages are sent
/// again later, from the same account, in another input:
///
/// - `unauthorized_sender` (I3): yes. Gateways are authorized and deauthorized by the admin's
///   own inputs; the gateway may not have been authorized yet when the input was processed,
///   or was deauthorized for a while.
/// - `not_admin` (I4): no. The gateway never relays gateway authorizations, and the admin is
///   fixed in the backend's configuration: the same account is refused again.
/// - `bad_metadata` (I2): no. The metadata is the InputBox's, the same for every input of
///   this account; it would say the backend and the chain disagree, which resending cannot fix.
/// - a decoder's code (I1: `truncated`, `oversize`, `unsupported_version`, ...): no. Decoding
///   depends on the bytes alone, and messages are self-delimiting, so a message that made the
///   input fail fails again in any batch; the gateway checked each message's structure before
///   acknowledging it, so this is a format disagreement between gateway and backend (another
///   protocol version), and resending would pay again for the same refusal. (The other
///   messages of such an input are rejected with it: the report does not say which failed.)
pub fn refusal_can_pass(reason: &str) -> bool {
    reason == "unauthorized_sender"
}

/// Reads the backend's verdict on a processed input from its reports.
pub(crate) fn outcome_from_reports(reports: &[Report]) -> InputOutcome {
    let mut outcome = InputOutcome::default();
    for report in reports {
        match report {
            Report::InputRefused { reason, .. } => {
                outcome.input_refused = Some(reason.clone());
                outcome.requeue = refusal_can_pass(reason);
            }
            Report::MessageRejected {
                message_index,
                reason,
                ..
            } => outcome.rejected.push((*message_index, reason.clone())),
            Report::Tamper { .. } | Report::InputAccepted { .. } => {}
        }
    }
    outcome
}

/// Follows the node and records the outcome of every included input it has processed; wakes
/// the submitter when messages went back to pending.
pub(crate) async fn track_outcomes(
    store: Store,
    node: NodeClient,
    metrics: Arc<Metrics>,
    included: Arc<Notify>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let idle = match track_once(&store, &node, &metrics, &wake).await {
            Ok(0) => Duration::from_millis(500),
            Ok(_) => Duration::ZERO,
            Err(error) => {
                tracing::debug!(%error, "outcome tracking paused");
                Duration::from_secs(2)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(idle) => {}
            () = included.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn track_once(
    store: &Store,
    node: &NodeClient,
    metrics: &Metrics,
    wake: &Notify,
) -> Result<usize> {
    let processed = node.processed_input_count().await?;
    metrics.node_processed.set(processed);
    let inputs = store.unchecked_inputs(processed, 64).await?;
    for (id, index) in &inputs {
        let reports = node.reports_of_input(*index).await?;
        let outcome = outcome_from_reports(&reports);
        let refused = outcome.input_refused.clone();
        let requeued = store.record_outcome(*id, outcome).await?;
        if let Some(reason) = refused {
            tracing::warn!(
                input_index = index,
                reason,
                requeued,
                "the rollup refused an input as a whole"
            );
        }
        if requeued > 0 {
            metrics.messages_requeued.inc_by(requeued);
            wake.notify_one();
        }
    }
    Ok(inputs.len())
}
