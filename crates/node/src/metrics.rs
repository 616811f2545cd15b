//! Prometheus metrics of the node, through `prometheus-client` (OpenMetrics text).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the backend-time histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0];

/// The node's series; the registry holds handles to the same values.
#[derive(Debug)]
pub(crate) struct Metrics {
    pub(crate) inputs_processed: Counter,
    pub(crate) inputs_replayed: Counter,
    pub(crate) claims_submitted: Counter,
    pub(crate) backend_restarts: Counter,
    /// Latest block number seen on the chain.
    pub(crate) chain_head: Gauge<u64, AtomicU64>,
    processed: Gauge<u64, AtomicU64>,
    lag_blocks: Gauge<u64, AtomicU64>,
    backend_seconds: Histogram,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Self {
            inputs_processed: Counter::default(),
            inputs_replayed: Counter::default(),
            claims_submitted: Counter::default(),
            backend_restarts: Counter::default(),
            chain_head: Gauge::default(),
            processed: Gauge::default(),
            lag_blocks: Gauge::default(),
            backend_seconds: Histogram::new(BUCKETS),
            registry: Registry::with_prefix("witness_node"),
        };
        let r = &mut m.registry;
        r.register(
            "inputs_processed",
            "Inputs processed by the backend since the node started (replays excluded)",
            m.inputs_processed.clone(),
        );
        r.register(
            "inputs_replayed",
            "Stored inputs replayed into fresh backend processes",
            m.inputs_replayed.clone(),
        );
        r.register(
            "processed_inputs",
            "Inputs of the application processed so far",
            m.processed.clone(),
        );
        r.register(
            "lag_blocks",
            "Blocks between the chain head and the last block whose inputs are all processed",
            m.lag_blocks.clone(),
        );
        r.register(
            "chain_head",
            "Latest block number seen",
            m.chain_head.clone(),
        );
        r.register(
            "claims_submitted",
            "Epoch claims submitted to the Authority",
            m.claims_submitted.clone(),
        );
        r.register(
            "backend_restarts",
            "Backend processes started after the first",
            m.backend_restarts.clone(),
        );
        r.register(
            "backend_seconds",
            "Backend time per advance request",
            m.backend_seconds.clone(),
        );
        m
    }
}

impl Metrics {
    /// Records how long the backend took for one advance request.
    pub(crate) fn observe_backend_time(&self, elapsed: Duration) {
        self.backend_seconds.observe(elapsed.as_secs_f64());
    }

    /// Renders every series; `lag_blocks` and `processed` come from the database at scrape time.
    pub(crate) fn render(&self, processed: u64, lag_blocks: u64) -> String {
        self.processed.set(processed);
        self.lag_blocks.set(lag_blocks);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counters_are_totals() {
        let m = Metrics::default();
        m.observe_backend_time(Duration::from_millis(3));
        m.observe_backend_time(Duration::from_secs(10));
        m.inputs_processed.inc_by(4);
        let text = m.render(2, 1);
        assert!(
            text.contains("witness_node_backend_seconds_bucket{le=\"0.001\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("witness_node_backend_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("witness_node_backend_seconds_bucket{le=\"5.0\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("witness_node_backend_seconds_bucket{le=\"+Inf\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("witness_node_backend_seconds_count 2"),
            "{text}"
        );
        assert!(text.contains("witness_node_lag_blocks 1"), "{text}");
        assert!(
            text.contains("witness_node_inputs_processed_total 4"),
            "{text}"
        );
    }
}
