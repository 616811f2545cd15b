//! Prometheus metrics (text exposition format 0.0.4), kept in atomics.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::QueueStats;

/// Upper bounds (seconds) of the intake latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];

/// Counters and gauges the gateway updates as it works.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Intake requests answered 200/202.
    pub intake_requests_ok: AtomicU64,
    /// Intake requests refused (4xx).
    pub intake_requests_refused: AtomicU64,
    /// Envelopes newly stored.
    pub envelopes_accepted: AtomicU64,
    /// Readings in newly stored envelopes.
    pub readings_accepted: AtomicU64,
    /// Envelopes that were already stored (idempotent repeats).
    pub envelopes_duplicate: AtomicU64,
    /// Group commits and the requests they carried.
    pub group_commits: AtomicU64,
    /// Requests committed in groups.
    pub group_commit_jobs: AtomicU64,
    /// Time spent in intake group commits, in microseconds.
    pub commit_us: AtomicU64,
    /// Time spent verifying envelope signatures, in microseconds.
    pub verify_us: AtomicU64,
    /// Inputs sent (broadcast transactions).
    pub transactions_sent: AtomicU64,
    /// Inputs seen mined.
    pub inputs_included: AtomicU64,
    /// Gas used by mined inputs (this process's lifetime).
    pub gas_used: AtomicU64,
    /// Failed chain interactions (retried).
    pub submit_errors: AtomicU64,
    /// Last chain head seen by the submitter.
    pub chain_head: AtomicU64,
    /// Processed input count last reported by the node.
    pub node_processed: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

impl Metrics {
    /// Records one intake request's latency.
    pub fn observe_intake(&self, seconds: f64) {
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The exposition text; `queue` comes from the database, `now_ms` is the current time.
    pub fn render(&self, queue: &QueueStats, now_ms: i64) -> String {
        let mut out = String::with_capacity(4096);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "witness_gateway_intake_requests_total",
            "counter",
            "Intake requests acknowledged (200/202).",
            get(&self.intake_requests_ok).to_string(),
        );
        metric(
            "witness_gateway_intake_refused_total",
            "counter",
            "Intake requests refused with a 4xx answer.",
            get(&self.intake_requests_refused).to_string(),
        );
        metric(
            "witness_gateway_envelopes_accepted_total",
            "counter",
            "Envelopes durably stored (rate() gives the intake rate).",
            get(&self.envelopes_accepted).to_string(),
        );
        metric(
            "witness_gateway_readings_accepted_total",
            "counter",
            "Readings in durably stored envelopes.",
            get(&self.readings_accepted).to_string(),
        );
        metric(
            "witness_gateway_envelopes_duplicate_total",
            "counter",
            "Envelopes received again after being stored (answered with the same receipt).",
            get(&self.envelopes_duplicate).to_string(),
        );
        metric(
            "witness_gateway_group_commits_total",
            "counter",
            "Intake transactions committed.",
            get(&self.group_commits).to_string(),
        );
        metric(
            "witness_gateway_group_commit_requests_total",
            "counter",
            "Intake requests carried by those transactions.",
            get(&self.group_commit_jobs).to_string(),
        );
        metric(
            "witness_gateway_commit_seconds_total",
            "counter",
            "Time spent in intake group commits (database transaction and fsync).",
            format!("{:.6}", get(&self.commit_us) as f64 / 1e6),
        );
        metric(
            "witness_gateway_verify_seconds_total",
            "counter",
            "CPU time spent verifying envelope signatures.",
            format!("{:.6}", get(&self.verify_us) as f64 / 1e6),
        );
        metric(
            "witness_gateway_queue_depth",
            "gauge",
            "Acknowledged messages not yet in a sent transaction.",
            queue.pending_messages.to_string(),
        );
        metric(
            "witness_gateway_submitted_messages",
            "gauge",
            "Messages in sent transactions not yet seen mined.",
            queue.submitted_messages.to_string(),
        );
        let lag = queue
            .oldest_unincluded_at
            .map_or(0.0, |t| (now_ms.saturating_sub(t)) as f64 / 1000.0);
        metric(
            "witness_gateway_submission_lag_seconds",
            "gauge",
            "Age of the oldest acknowledged message not yet mined on chain.",
            format!("{lag:.3}"),
        );
        metric(
            "witness_gateway_inputs_included",
            "gauge",
            "Rollup inputs of this gateway mined on chain (all time).",
            queue.inputs_included.to_string(),
        );
        metric(
            "witness_gateway_gas_used_total",
            "counter",
            "Gas spent by mined inputs (all time).",
            queue.gas_used_total.to_string(),
        );
        metric(
            "witness_gateway_transactions_sent_total",
            "counter",
            "addInput transactions broadcast by this process.",
            get(&self.transactions_sent).to_string(),
        );
        metric(
            "witness_gateway_submit_errors_total",
            "counter",
            "Chain interactions that failed and were retried.",
            get(&self.submit_errors).to_string(),
        );
        metric(
            "witness_gateway_chain_head",
            "gauge",
            "Latest block number seen.",
            get(&self.chain_head).to_string(),
        );
        metric(
            "witness_gateway_node_processed_inputs",
            "gauge",
            "Inputs the rollups node has processed.",
            get(&self.node_processed).to_string(),
        );
        let name = "witness_gateway_intake_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Intake request latency up to the durable commit.\n# TYPE {name} histogram"
        );
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", get(bucket));
        }
        let count = get(&self.latency_count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {:.6}",
            get(&self.latency_sum_us) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}
