//! The library's single error type and its mapping to HTTP statuses and JSON-RPC codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything that can go wrong inside the node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A caller sent something malformed (bad JSON, bad hex, missing field).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A Rollup HTTP API call that is not valid in the current state (e.g. a notice while no
    /// advance request is being processed).
    #[error("{0}")]
    Conflict(String),
    /// The named application, input, output, report or epoch does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A Rollup HTTP API feature this host-mode node does not provide.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The backend is not able to answer right now (restarting, replaying, gone).
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// Replaying stored inputs into a fresh backend produced different results: the backend is
    /// not deterministic, or the database was edited. The node refuses to go on.
    #[error("replay diverged at input {input_index}: {reason}")]
    ReplayDiverged { input_index: u64, reason: String },
    /// The stored state does not fit the chain (gap in input indexes, other application, ...).
    #[error("inconsistent state: {0}")]
    Inconsistent(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("chain: {0}")]
    Chain(String),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<witness_chain::ChainError> for Error {
    fn from(e: witness_chain::ChainError) -> Self {
        Error::Chain(e.to_string())
    }
}

impl Error {
    /// The HTTP status that every HTTP surface of the node (Rollup API, inspect, health) uses.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) | Error::Json(_) => StatusCode::BAD_REQUEST,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON-RPC 2.0 error code for this error.
    pub fn rpc_code(&self) -> i64 {
        match self {
            Error::BadRequest(_) | Error::Json(_) => -32602,
            // Same code the Cartesi node uses for a missing resource.
            Error::NotFound(_) => -32001,
            _ => -32603,
        }
    }
}

/// The Rollup HTTP API spec answers errors as `text/plain`; the other surfaces follow suit.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        (status, self.to_string()).into_response()
    }
}
