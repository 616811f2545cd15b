//! The crate's single error type.

use std::path::PathBuf;

/// What can go wrong bringing the system up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SystemError {
    /// anvil, a deployment or an input.
    #[error(transparent)]
    Chain(#[from] witness_chain::ChainError),
    /// The node did not start.
    #[error("node: {0}")]
    Node(#[from] witness_node::Error),
    /// An input could not be encoded.
    #[error("encoding an input: {0}")]
    Protocol(#[from] witness_protocol::Error),
    /// The backend binary is not where it was looked for.
    #[error(
        "{} not found: build it with `cargo build -p witness-backend` (`--release` for benchmarks)",
        .0.display()
    )]
    BackendNotFound(PathBuf),
    /// The running program's own path is unknown.
    #[error("the running program's path: {0}")]
    CurrentExe(#[source] std::io::Error),
}

/// `Result` with [`SystemError`].
pub type Result<T, E = SystemError> = std::result::Result<T, E>;
