//! Prometheus metrics of the gateway, through `prometheus-client` (OpenMetrics text). The
//! queue's figures come from the database at scrape time ([`Metrics::render`]).

use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::store::QueueStats;

/// Upper bounds (seconds) of the intake latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];

/// A gauge of whole numbers.
type UGauge = Gauge<u64, AtomicU64>;

/// The series the gateway updates as it works, and the ones read from its database.
#[derive(Debug)]
pub struct Metrics {
    /// Intake requests answered 200/202.
    pub intake_requests_ok: Counter,
    /// Intake requests refused (4xx).
    pub intake_requests_refused: Counter,
    /// Envelopes newly stored.
    pub envelopes_accepted: Counter,
    /// Readings in newly stored envelopes.
    pub readings_accepted: Counter,
    /// Envelopes that were already stored (idempotent repeats).
    pub envelopes_duplicate: Counter,
    /// Intake transactions committed.
    pub group_commits: Counter,
    /// Requests committed in those transactions.
    pub group_commit_jobs: Counter,
    /// Time spent in intake group commits.
    pub commit_seconds: Counter<f64, AtomicU64>,
    /// Time spent verifying envelope signatures.
    pub verify_seconds: Counter<f64, AtomicU64>,
    /// Inputs sent (broadcast transactions).
    pub transactions_sent: Counter,
    /// Failed chain interactions (retried).
    pub submit_errors: Counter,
    /// Last chain head seen by the submitter.
    pub chain_head: UGauge,
    /// Processed input count last reported by the node.
    pub node_processed: UGauge,
    /// Whether the rollup's authorized gateway set holds this gateway, as the submitter last
    /// asked the node: 1 yes, 0 no, -1 not known (no node, not asked yet).
    pub gateway_authorized: Gauge<i64, AtomicI64>,
    /// Submitter rounds that held pending envelopes back because the rollup does not
    /// authorize this gateway (one per check, about one per second while it lasts).
    pub envelope_holds: Counter,
    /// Messages put back in the outbox after the backend refused their input as a whole.
    pub messages_requeued: Counter,
    intake_duration: Histogram,
    queue_depth: UGauge,
    submitted_messages: UGauge,
    submission_lag: Gauge<f64, AtomicU64>,
    inputs_included: UGauge,
    /// All-time gas of mined inputs: the database's figure, which only grows; the counter is
    /// advanced to it at scrape time.
    gas_used: Counter,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Self {
            intake_requests_ok: Counter::default(),
            intake_requests_refused: Counter::default(),
            envelopes_accepted: Counter::default(),
            readings_accepted: Counter::default(),
            envelopes_duplicate: Counter::default(),
            group_commits: Counter::default(),
            group_commit_jobs: Counter::default(),
            commit_seconds: Counter::default(),
            verify_seconds: Counter::default(),
            transactions_sent: Counter::default(),
            submit_errors: Counter::default(),
            chain_head: Gauge::default(),
            node_processed: Gauge::default(),
            gateway_authorized: Gauge::default(),
            envelope_holds: Counter::default(),
            messages_requeued: Counter::default(),
            intake_duration: Histogram::new(LATENCY_BUCKETS),
            queue_depth: Gauge::default(),
            submitted_messages: Gauge::default(),
            submission_lag: Gauge::default(),
            inputs_included: Gauge::default(),
            gas_used: Counter::default(),
            registry: Registry::with_prefix("witness_gateway"),
        };
        let r = &mut m.registry;
        r.register(
            "intake_requests",
            "Intake requests acknowledged (200/202)",
            m.intake_requests_ok.clone(),
        );
        r.register(
            "intake_refused",
            "Intake requests refused with a 4xx answer",
            m.intake_requests_refused.clone(),
        );
        r.register(
            "envelopes_accepted",
            "Envelopes durably stored (rate() gives the intake rate)",
            m.envelopes_accepted.clone(),
        );
        r.register(
            "readings_accepted",
            "Readings in durably stored envelopes",
            m.readings_accepted.clone(),
        );
        r.register(
            "envelopes_duplicate",
            "Envelopes received again after being stored (answered with the same receipt)",
            m.envelopes_duplicate.clone(),
        );
        r.register(
            "group_commits",
            "Intake transactions committed",
            m.group_commits.clone(),
        );
        r.register(
            "group_commit_requests",
            "Intake requests carried by those transactions",
            m.group_commit_jobs.clone(),
        );
        r.register(
            "commit_seconds",
            "Time spent in intake group commits (database transaction and fsync)",
            m.commit_seconds.clone(),
        );
        r.register(
            "verify_seconds",
            "CPU time spent verifying envelope signatures",
            m.verify_seconds.clone(),
        );
        r.register(
            "queue_depth",
            "Acknowledged messages not yet in a sent transaction",
            m.queue_depth.clone(),
        );
        r.register(
            "submitted_messages",
            "Messages in sent transactions not yet seen mined",
            m.submitted_messages.clone(),
        );
        r.register(
            "submission_lag_seconds",
            "Age of the oldest acknowledged message not yet mined on chain",
            m.submission_lag.clone(),
        );
        r.register(
            "inputs_included",
            "Rollup inputs of this gateway mined on chain (all time)",
            m.inputs_included.clone(),
        );
        r.register(
            "gas_used",
            "Gas spent by mined inputs (all time)",
            m.gas_used.clone(),
        );
        r.register(
            "transactions_sent",
            "addInput transactions broadcast by this process",
            m.transactions_sent.clone(),
        );
        r.register(
            "submit_errors",
            "Chain interactions that failed and were retried",
            m.submit_errors.clone(),
        );
        r.register(
            "chain_head",
            "Latest block number seen",
            m.chain_head.clone(),
        );
        r.register(
            "node_processed_inputs",
            "Inputs the rollups node has processed",
            m.node_processed.clone(),
        );
        m.gateway_authorized.set(-1);
        r.register(
            "gateway_authorized",
            "1 if the rollup's authorized gateway set holds this gateway, 0 if not (the \
             submitter then holds envelopes back), -1 if not known, as last asked of the node",
            m.gateway_authorized.clone(),
        );
        r.register(
            "envelope_holds",
            "Submitter rounds that held envelopes back because the rollup does not authorize \
             this gateway",
            m.envelope_holds.clone(),
        );
        r.register(
            "messages_requeued",
            "Messages pending again after the backend refused their input as a whole for a \
             reason that can pass (unauthorized_sender)",
            m.messages_requeued.clone(),
        );
        r.register(
            "intake_duration_seconds",
            "Intake request latency up to the durable commit",
            m.intake_duration.clone(),
        );
        m
    }
}

impl Metrics {
    /// Records one intake request's latency.
    pub fn observe_intake(&self, seconds: f64) {
        self.intake_duration.observe(seconds);
    }

    /// The exposition text; `queue` comes from the database, `now_ms` is the current time.
    pub fn render(&self, queue: &QueueStats, now_ms: i64) -> String {
        self.queue_depth.set(queue.pending_messages);
        self.submitted_messages.set(queue.submitted_messages);
        self.submission_lag.set(
            queue
                .oldest_unincluded_at
                .map_or(0.0, |t| now_ms.saturating_sub(t) as f64 / 1000.0),
        );
        self.inputs_included.set(queue.inputs_included);
        self.gas_used
            .inc_by(queue.gas_used_total.saturating_sub(self.gas_used.get()));
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
