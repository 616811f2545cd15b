//! The gateway's single error type and its one mapping to HTTP responses.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything that can go wrong in the gateway. Each variant has a stable `code` that
/// clients can match on; [`IntoResponse`] is the only place errors become HTTP answers.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The request is not well formed (bad JSON, bad hex, missing field, ...).
    #[error("{0}")]
    InvalidRequest(String),
    /// An envelope or signed message does not decode.
    #[error("item {index}: does not decode ({reason})")]
    Malformed {
        /// Position of the offending item in the request.
        index: usize,
        /// The protocol's reason code.
        reason: &'static str,
    },
    /// The body or an item is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body has a content type the endpoint does not read.
    #[error("unsupported content type {got:?}: send {expected}")]
    UnsupportedMediaType {
        /// The request's content type (empty when it sent none).
        got: String,
        /// What the endpoint reads.
        expected: &'static str,
    },
    /// No valid session.
    #[error("sign in first (session cookie or bearer token)")]
    Unauthenticated,
    /// Wrong username or password.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (or not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// An envelope names a device the gateway does not know.
    #[error("item {index}: device {device_id} is not registered")]
    UnknownDevice {
        /// Position in the request.
        index: usize,
        /// The device.
        device_id: String,
    },
    /// An envelope comes from a revoked device.
    #[error("item {index}: device {device_id} is revoked")]
    DeviceRevoked {
        /// Position in the request.
        index: usize,
        /// The device.
        device_id: String,
    },
    /// A signature does not verify.
    #[error("item {index}: the signature does not verify under the {signer}'s key")]
    BadSignature {
        /// Position in the request.
        index: usize,
        /// Whose key (`device`, `registrar`, `previous owner`, `owner`).
        signer: &'static str,
    },
    /// A registrar message signed by a key the rollup does not trust (not in the registrar
    /// set the node reports): relaying it would only cost gas and be refused.
    #[error("item {index}: registrar {registrar} is not in the rollup's registrar set")]
    UntrustedRegistrar {
        /// Position in the request.
        index: usize,
        /// The registrar's key, hex.
        registrar: String,
    },
    /// An envelope's counter is not above the last one accepted for its device.
    #[error(
        "item {index}: replay: device {device_id} counter {counter} is not above the last accepted counter {last}"
    )]
    Replay {
        /// Position in the request.
        index: usize,
        /// The device.
        device_id: String,
        /// The envelope's first counter.
        counter: u64,
        /// The last counter the gateway accepted for the device.
        last: u64,
    },
    /// The request conflicts with the current state (name taken, already registered, stale
    /// sequence, ...).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
        /// Position in the request, if an item caused it.
        index: Option<usize>,
    },
    /// The rollup backend refused a relayed query (its own reason code).
    #[error("the rollup backend refused the query: {detail}")]
    BackendRefused {
        /// The backend's code (e.g. `not_owner`, `expired_owner_query`).
        code: String,
        /// The backend's explanation.
        detail: String,
    },
    /// Too many failed logins.
    #[error("too many failed sign-ins; retry in {retry_after_s} s")]
    RateLimited {
        /// Seconds until the next attempt is allowed.
        retry_after_s: u64,
    },
    /// A dependency (node, chain, backend key) is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// Invalid configuration (startup only).
    #[error("configuration: {0}")]
    Config(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
    /// The chain failed.
    #[error("chain: {0}")]
    Chain(String),
    /// Anything else that is our fault.
    #[error("internal: {0}")]
    Internal(String),
}

/// Result with [`GatewayError`].
pub type Result<T, E = GatewayError> = std::result::Result<T, E>;

/// The JSON body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code: `invalid_request`, `malformed`, `payload_too_large`,
    /// `unsupported_media_type`, `unauthenticated`, `invalid_credentials`, `forbidden`,
    /// `not_found`, `unknown_device`, `device_revoked`, `bad_signature`, `replay`, a conflict's
    /// (`username_taken`, `already_registered`, `already_claimed`, `stale_sequence`), the
    /// backend's for a refused query (e.g. `not_owner`), `rate_limited`, `unavailable`,
    /// `internal`.
    #[schema(example = "replay")]
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
    /// Position of the offending item in the request, when one caused it (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub index: Option<usize>,
}

impl GatewayError {
    /// Stable code of the error.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::Malformed { .. } => "malformed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::UnknownDevice { .. } => "unknown_device",
            Self::DeviceRevoked { .. } => "device_revoked",
            Self::BadSignature { .. } => "bad_signature",
            Self::UntrustedRegistrar { .. } => "untrusted_registrar",
            Self::Replay { .. } => "replay",
            Self::Conflict { code, .. } => code,
            Self::BackendRefused { code, .. } => code,
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Config(_) => "configuration",
            Self::Database(_) | Self::Chain(_) | Self::Internal(_) => "internal",
        }
    }

    /// HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::Malformed { .. } => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthenticated | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::UnknownDevice { .. }
            | Self::DeviceRevoked { .. }
            | Self::BadSignature { .. }
            | Self::UntrustedRegistrar { .. }
            | Self::BackendRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Replay { .. } | Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Config(_) | Self::Database(_) | Self::Chain(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Position of the offending item, if any.
    pub fn index(&self) -> Option<usize> {
        match self {
            Self::Malformed { index, .. }
            | Self::UnknownDevice { index, .. }
            | Self::DeviceRevoked { index, .. }
            | Self::BadSignature { index, .. }
            | Self::UntrustedRegistrar { index, .. }
            | Self::Replay { index, .. } => Some(*index),
            Self::Conflict { index, .. } => *index,
            _ => None,
        }
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            index: None,
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Internal details go to the log, not to the client.
        let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %self, "request failed");
            "internal error; see the gateway log".to_owned()
        } else {
            self.to_string()
        };
        let body = ErrorBody {
            error: self.code().to_owned(),
            message,
            index: self.index(),
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited { retry_after_s } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<sqlx::Error> for GatewayError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e.to_string())
    }
}

impl From<rusqlite::Error> for GatewayError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

impl From<witness_chain::ChainError> for GatewayError {
    fn from(e: witness_chain::ChainError) -> Self {
        Self::Chain(e.to_string())
    }
}

/// The one place a node's failure becomes the gateway's: the rollups node is a dependency, so
/// every failure (unreachable, JSON-RPC error, an answer of the wrong shape) is a 503.
impl From<witness_node_client::NodeClientError> for GatewayError {
    fn from(e: witness_node_client::NodeClientError) -> Self {
        Self::Unavailable(format!("rollups {e}"))
    }
}

impl From<tokio::task::JoinError> for GatewayError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(format!("task failed: {e}"))
    }
}
