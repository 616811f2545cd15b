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
//! messages attested, or rejected with the backend's reason (all of them, with the input's
//! reason, when the backend refused the whole input: `input_refused`).

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use tokio::sync::{Notify, watch};
use witness_chain::L1;
use witness_chain::abi::IInputBox::{self, InputAdded};
use witness_node_client::NodeClient;
use witness_protocol::api::Report;
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
        loop {
            if *stop.borrow() {
                return;
            }
            match self.step(&chain, &mut verdict).await {
                Ok(Step::Worked) => backoff = BACKOFF_MIN,
                Ok(Step::Empty(wait)) => {
                    backoff = BACKOFF_MIN;
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return,
                    }
                }
                Ok(Step::Filling(wait)) => {
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

    async fn step(&self, chain: &Chain, verdict: &mut Option<BatchVerdict>) -> Result<Step> {
        if let Some(input) = self.store.open_inputs().await?.into_iter().next() {
            self.drive(chain, input).await?;
            return Ok(Step::Worked);
        }
        let batch = self
            .store
            .next_batch(self.batch.max_bytes, MAX_MESSAGES)
            .await?;
        let Some(oldest) = batch.oldest_received_at else {
            return Ok(Step::Empty(Duration::from_secs(1)));
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

/// Reads the backend's verdict on a processed input from its reports.
pub(crate) fn outcome_from_reports(reports: &[Report]) -> InputOutcome {
    let mut outcome = InputOutcome::default();
    for report in reports {
        match report {
            Report::InputRefused { reason, .. } => outcome.input_refused = Some(reason.clone()),
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

/// Follows the node and records the outcome of every included input it has processed.
pub(crate) async fn track_outcomes(
    store: Store,
    node: NodeClient,
    metrics: Arc<Metrics>,
    included: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let idle = match track_once(&store, &node, &metrics).await {
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

async fn track_once(store: &Store, node: &NodeClient, metrics: &Metrics) -> Result<usize> {
    let processed = node.processed_input_count().await?;
    metrics.node_processed.set(processed);
    let inputs = store.unchecked_inputs(processed, 64).await?;
    for (id, index) in &inputs {
        let reports = node.reports_of_input(*index).await?;
        store
            .record_outcome(*id, outcome_from_reports(&reports))
            .await?;
    }
    Ok(inputs.len())
}
