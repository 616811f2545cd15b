//! Prometheus metrics in the text exposition format, kept in atomics (no registry needed for a
//! handful of series).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the backend-time histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) inputs_processed: AtomicU64,
    pub(crate) inputs_replayed: AtomicU64,
    pub(crate) claims_submitted: AtomicU64,
    pub(crate) backend_restarts: AtomicU64,
    /// Latest block number seen on the chain.
    pub(crate) chain_head: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Records how long the backend took for one advance request.
    pub(crate) fn observe_backend_time(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Renders every series; `lag_blocks` and `processed` come from the database at scrape time.
    pub(crate) fn render(&self, processed: u64, lag_blocks: u64) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut series = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        series(
            "witness_node_inputs_processed_total",
            "counter",
            "Inputs processed by the backend since the node started (replays excluded).",
            get(&self.inputs_processed),
        );
        series(
            "witness_node_inputs_replayed_total",
            "counter",
            "Stored inputs replayed into fresh backend processes.",
            get(&self.inputs_replayed),
        );
        series(
            "witness_node_processed_inputs",
            "gauge",
            "Inputs of the application processed so far.",
            processed,
        );
        series(
            "witness_node_lag_blocks",
            "gauge",
            "Blocks between the chain head and the last block whose inputs are all processed.",
            lag_blocks,
        );
        series(
            "witness_node_chain_head",
            "gauge",
            "Latest block number seen.",
            get(&self.chain_head),
        );
        series(
            "witness_node_claims_submitted_total",
            "counter",
            "Epoch claims submitted to the Authority.",
            get(&self.claims_submitted),
        );
        series(
            "witness_node_backend_restarts_total",
            "counter",
            "Backend processes started after the first.",
            get(&self.backend_restarts),
        );
        let name = "witness_node_backend_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Backend time per advance request.\n# TYPE {name} histogram"
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", get(bucket));
        }
        let count = get(&self.count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", get(&self.sum_micros) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.observe_backend_time(Duration::from_millis(3));
        m.observe_backend_time(Duration::from_secs(10));
        let text = m.render(2, 1);
        assert!(text.contains("witness_node_backend_seconds_bucket{le=\"0.001\"} 0"));
        assert!(text.contains("witness_node_backend_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("witness_node_backend_seconds_bucket{le=\"5\"} 1"));
        assert!(text.contains("witness_node_backend_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("witness_node_backend_seconds_count 2"));
        assert!(text.contains("witness_node_lag_blocks 1"));
    }
}
