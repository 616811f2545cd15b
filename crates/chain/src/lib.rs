//! The Witness on the EVM.
//!
//! - a local dev chain: [`AnvilProcess`] runs the anvil binary from the npm package
//!   `@foundry-rs/anvil` (nothing is downloaded at run time);
//! - deterministic deployment of the Cartesi Rollups v2.2 contracts from the npm package
//!   `@cartesi/rollups@2.2.0` ([`L1::deploy_core`]) at their canonical CREATE2 addresses, and of
//!   one application with its own Authority ([`L1::deploy_application`]), described by a
//!   [`Deployment`] (`deployment.json`);
//! - one chain client, [`L1`] (a provider built once, optionally a signer): the calls the rest
//!   of the system makes ([`L1::add_input`], [`L1::input_added_logs`] and, window by window,
//!   [`L1::input_added_scan`], [`L1::submit_claim`], [`L1::validate_output`],
//!   [`L1::block_number`], [`L1::chain_id`], [`L1::anvil_mine`]) and what a verifier that trusts
//!   only L1 reads (the application's consensus, the latest [`AcceptedClaim`], the number of
//!   inputs a claim covers, output validity);
//! - the pure input codec: [`decode_evm_advance`], [`encode_evm_advance`].
//!
//! Keys are raw secp256k1 secret keys ([`B256`]); RPC URLs are plain strings.

use std::fmt::Debug;
use std::time::Duration;

use alloy::network::Ethereum;
use alloy::primitives::{Address, B256, Bytes, TxHash, U256};
use alloy::providers::PendingTransactionBuilder;
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolInterface};
use alloy::transports::http::reqwest::Url;
use serde::{Deserialize, Serialize};

pub mod abi;
mod anvil;
mod artifacts;
mod deploy;
mod error;
mod l1;

pub use alloy::primitives;
pub use anvil::{AnvilOptions, AnvilProcess, DEV_CHAIN_ID};
pub use artifacts::{
    ANVIL_ENV, NODE_MODULES_ENV, anvil_binary, artifact_path, artifacts_dir, creation_bytecode,
    find_node_modules, load_artifact,
};
pub use deploy::{
    ADMIN_ACCOUNT, APPLICATION_FACTORY, AUTHORITY_FACTORY, CREATE2_DEPLOYER, CREATE2_SALT,
    CoreAddresses, Deployment, DevAccount, ETHER_PORTAL, GATEWAY_ACCOUNT, INPUT_BOX,
    QUORUM_FACTORY, SELF_HOSTED_APPLICATION_FACTORY, core_addresses, dev_accounts,
    input_box_data_availability,
};
pub use error::{ChainError, Result};
pub use l1::{
    AcceptedClaim, DEFAULT_LOG_RANGE, InputAddedScan, InputAddedWindow, L1, OUTPUTS_TREE_HEIGHT,
    OutputValidity, outputs_merkle_root,
};

use abi::Inputs;

/// Largest encoded input (`EvmAdvance` call data) the v2.2 InputBox accepts, in bytes.
pub const MAX_INPUT_LENGTH: usize = 1 << 16;
/// Bytes of an encoded `EvmAdvance` besides the padded payload: selector, 8 head words and the
/// payload length word.
const EVM_ADVANCE_OVERHEAD: usize = 4 + 9 * 32;
/// Largest `addInput` payload the InputBox accepts (65,216 bytes): the payload is padded to
/// 32 bytes inside the encoded input.
pub const MAX_PAYLOAD_LENGTH: usize = (MAX_INPUT_LENGTH - EVM_ADVANCE_OVERHEAD) / 32 * 32;

/// How long to wait for a transaction to be mined.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) fn parse_rpc_url(rpc_url: &str) -> Result<Url> {
    rpc_url.parse().map_err(|e| ChainError::InvalidRpcUrl {
        url: rpc_url.to_owned(),
        reason: format!("{e}"),
    })
}

/// The address of a secret key.
pub fn signer_address(key: B256) -> Result<Address> {
    Ok(signer(key)?.address())
}

pub(crate) fn signer(key: B256) -> Result<PrivateKeySigner> {
    PrivateKeySigner::from_bytes(&key).map_err(|e| ChainError::InvalidPrivateKey(e.to_string()))
}

/// Waits for the receipt and fails on a reverted transaction.
pub(crate) async fn confirm(
    pending: PendingTransactionBuilder<Ethereum>,
) -> Result<TransactionReceipt> {
    let receipt = pending
        .with_timeout(Some(RECEIPT_TIMEOUT))
        .get_receipt()
        .await?;
    if receipt.status() {
        Ok(receipt)
    } else {
        Err(ChainError::TransactionReverted(receipt.transaction_hash))
    }
}

pub(crate) fn to_u64(v: U256, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| ChainError::Decode(format!("{what} {v} does not fit in u64")))
}

/// Maps a contract error to [`ChainError::Reverted`] when it carries one of `E`'s custom errors.
pub(crate) fn decode_revert<E: SolInterface + Debug>(
    contract: &'static str,
) -> impl FnOnce(alloy::contract::Error) -> ChainError {
    move |err| match err.as_decoded_interface_error::<E>() {
        Some(decoded) => {
            let detail = format!("{decoded:?}");
            let error = detail.split('(').next().unwrap_or_default().to_owned();
            ChainError::Reverted {
                contract,
                error,
                detail,
            }
        }
        None => err.into(),
    }
}

/// What [`L1::add_input`] reports about a mined input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedInput {
    /// The `addInput` transaction.
    pub tx_hash: TxHash,
    /// Block it was mined in.
    pub block_number: u64,
    /// The input's index in the application's input list.
    pub input_index: u64,
    /// Gas used by the transaction.
    pub gas_used: u64,
}

/// An `InputAdded` event as read from the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputAddedLog {
    /// Input index in the application's list.
    pub index: u64,
    /// Block of the `addInput` transaction.
    pub block_number: u64,
    /// The `addInput` transaction.
    pub tx_hash: TxHash,
    /// The ABI-encoded `EvmAdvance` (decode with [`decode_evm_advance`]).
    pub input: Bytes,
}

/// A decoded input: `EvmAdvance(chainId, appContract, msgSender, blockNumber, blockTimestamp,
/// prevRandao, index, payload)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvmAdvance {
    /// Chain id.
    pub chain_id: u64,
    /// The application.
    pub app_contract: Address,
    /// Who called `addInput` (authenticated by the chain).
    pub msg_sender: Address,
    /// Block of the `addInput` call.
    pub block_number: u64,
    /// Timestamp (seconds) of that block.
    pub block_timestamp: u64,
    /// `block.prevrandao`.
    pub prev_randao: B256,
    /// Input index.
    pub index: u64,
    /// The payload given to `addInput`.
    pub payload: Bytes,
}

/// Decodes an `InputAdded.input` (selector `0x415bf363`).
pub fn decode_evm_advance(input: &[u8]) -> Result<EvmAdvance> {
    let call = Inputs::EvmAdvanceCall::abi_decode_validate(input)
        .map_err(|e| ChainError::Decode(format!("EvmAdvance: {e}")))?;
    Ok(EvmAdvance {
        chain_id: to_u64(call.chainId, "chain id")?,
        app_contract: call.appContract,
        msg_sender: call.msgSender,
        block_number: to_u64(call.blockNumber, "block number")?,
        block_timestamp: to_u64(call.blockTimestamp, "block timestamp")?,
        prev_randao: B256::from(call.prevRandao),
        index: to_u64(call.index, "input index")?,
        payload: call.payload,
    })
}

/// Encodes an [`EvmAdvance`] exactly as the InputBox does (inverse of [`decode_evm_advance`]).
pub fn encode_evm_advance(advance: &EvmAdvance) -> Bytes {
    Inputs::EvmAdvanceCall {
        chainId: U256::from(advance.chain_id),
        appContract: advance.app_contract,
        msgSender: advance.msg_sender,
        blockNumber: U256::from(advance.block_number),
        blockTimestamp: U256::from(advance.block_timestamp),
        prevRandao: advance.prev_randao.into(),
        index: U256::from(advance.index),
        payload: advance.payload.clone(),
    }
    .abi_encode()
    .into()
}
