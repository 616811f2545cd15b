//! Errors of the backend library and binary.

/// What can go wrong outside the state machine (which never fails: it rejects with reports).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Bad or missing configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// The Rollup HTTP server could not be reached or answered unexpectedly.
    #[error("rollup HTTP API: {0}")]
    RollupApi(String),
}
