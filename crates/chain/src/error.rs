//! The crate's single error type.

use std::path::PathBuf;

use alloy::primitives::{Address, TxHash};

/// Everything that can go wrong talking to the chain, locating tools or deploying contracts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No `node_modules` with the npm packages was found (run `npm ci` at the repo root).
    #[error(
        "node_modules with @cartesi/rollups not found (searched: {searched:?}); run `npm ci` at the repository root or set WITNESS_NODE_MODULES"
    )]
    NodeModulesNotFound {
        /// Directories that were searched.
        searched: Vec<PathBuf>,
    },
    /// The anvil binary is missing.
    #[error(
        "anvil binary not found at {0}; run `npm ci` at the repository root or set WITNESS_ANVIL"
    )]
    AnvilNotFound(PathBuf),
    /// anvil could not be started or did not come up.
    #[error("anvil: {0}")]
    Anvil(String),
    /// A contract artifact is missing or malformed.
    #[error("artifact {path}: {reason}")]
    Artifact {
        /// Artifact file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file could not be parsed or written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The RPC URL does not parse.
    #[error("invalid RPC URL {url:?}: {reason}")]
    InvalidRpcUrl {
        /// The URL as given.
        url: String,
        /// Parser message.
        reason: String,
    },
    /// The private key is not a valid secp256k1 secret key.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    /// A transaction was asked of an [`L1`](crate::L1) built without a signer.
    #[error("{0} needs a signer: connect with L1::connect_signer")]
    NoSigner(&'static str),
    /// Transport or JSON-RPC failure (connection refused, node error without revert data, ...).
    #[error("rpc: {0}")]
    Rpc(Box<alloy::transports::TransportError>),
    /// A contract call or transaction failed in a way that is not a decoded revert.
    #[error("contract: {0}")]
    Contract(Box<alloy::contract::Error>),
    /// Waiting for a transaction receipt failed.
    #[error("pending transaction: {0}")]
    PendingTransaction(Box<alloy::providers::PendingTransactionError>),
    /// `InputBox.addInput` rejected the input: the ABI-encoded `EvmAdvance` is over the limit.
    #[error(
        "input too large: the encoded input is {input_length} bytes, the InputBox accepts at most {max_input_length}"
    )]
    InputTooLarge {
        /// Length of the encoded `EvmAdvance` input.
        input_length: u64,
        /// The InputBox's limit.
        max_input_length: u64,
    },
    /// A contract reverted with one of its declared custom errors.
    #[error("{contract} reverted with {error}: {detail}")]
    Reverted {
        /// Which contract (e.g. `Authority`).
        contract: &'static str,
        /// Solidity error name (e.g. `NotEpochFinalBlock`).
        error: String,
        /// Decoded error with its arguments.
        detail: String,
    },
    /// A mined transaction has status 0.
    #[error("transaction {0} was mined but reverted")]
    TransactionReverted(TxHash),
    /// A deployment left no code at the expected address.
    #[error("deployment of {name} left no code at {address}")]
    NotDeployed {
        /// Contract name.
        name: String,
        /// Expected address.
        address: Address,
    },
    /// An expected event is missing from a receipt.
    #[error("event {event} missing from the receipt of {tx_hash}")]
    MissingEvent {
        /// Event name.
        event: &'static str,
        /// Transaction.
        tx_hash: TxHash,
    },
    /// An address the caller named has no contract code (at the given block, or at the latest).
    #[error("no contract code at {address} ({})", at_block(*.block))]
    NoCode {
        /// The address.
        address: Address,
        /// The block the call was evaluated at (`None`: latest).
        block: Option<u64>,
    },
    /// The node does not know the block.
    #[error("block {0} not found")]
    BlockNotFound(u64),
    /// `eth_chainId` is not the pinned chain id.
    #[error("the RPC serves chain {actual}, the pinned chain id is {expected}")]
    ChainIdMismatch {
        /// Pinned chain id.
        expected: u64,
        /// What the RPC answered.
        actual: u64,
    },
    /// The application's consensus (`getOutputsMerkleRootValidator()`) is not the pinned one.
    #[error(
        "application {application} is validated by {actual}, the pinned consensus is {expected}"
    )]
    ConsensusMismatch {
        /// The application.
        application: Address,
        /// Pinned consensus.
        expected: Address,
        /// What the application answered.
        actual: Address,
    },
    /// Data from the chain does not decode as expected.
    #[error("decode: {0}")]
    Decode(String),
}

fn at_block(block: Option<u64>) -> String {
    match block {
        Some(b) => format!("at block {b}"),
        None => "at the latest block".to_owned(),
    }
}

/// `Result` with [`ChainError`].
pub type Result<T, E = ChainError> = std::result::Result<T, E>;

impl From<alloy::transports::TransportError> for ChainError {
    fn from(e: alloy::transports::TransportError) -> Self {
        Self::Rpc(Box::new(e))
    }
}

impl From<alloy::contract::Error> for ChainError {
    fn from(e: alloy::contract::Error) -> Self {
        Self::Contract(Box::new(e))
    }
}

impl From<alloy::providers::PendingTransactionError> for ChainError {
    fn from(e: alloy::providers::PendingTransactionError) -> Self {
        Self::PendingTransaction(Box::new(e))
    }
}

impl ChainError {
    /// The Solidity custom error name if this is a decoded revert.
    pub fn revert_name(&self) -> Option<&str> {
        match self {
            Self::Reverted { error, .. } => Some(error),
            Self::InputTooLarge { .. } => Some("InputTooLarge"),
            _ => None,
        }
    }
}
