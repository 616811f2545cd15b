//! The Witness on the EVM.
//!
//! - a local dev chain: [`AnvilProcess`] runs the anvil binary from the npm package
//!   `@foundry-rs/anvil` (nothing is downloaded at run time);
//! - deterministic deployment of the Cartesi Rollups v2.2 contracts from the npm package
//!   `@cartesi/rollups@2.2.0` ([`deploy_core`]) at their canonical CREATE2 addresses, and of one
//!   application with its own Authority ([`deploy_application`]), described by a [`Deployment`]
//!   (`deployment.json`);
//! - the calls the rest of the system makes: [`add_input`], [`input_added_logs`],
//!   [`decode_evm_advance`], [`submit_claim`], [`validate_output`], [`block_number`];
//! - what a verifier that trusts only L1 reads ([`L1`]): chain id, the application's consensus,
//!   the latest [`AcceptedClaim`], the number of inputs a claim covers, output validity.
//!
//! Keys are raw secp256k1 secret keys ([`B256`]); RPC URLs are plain strings.

use std::fmt::Debug;
use std::time::Duration;

use alloy::network::Ethereum;
use alloy::primitives::{Address, B256, Bytes, TxHash, U256};
use alloy::providers::{PendingTransactionBuilder, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent, SolInterface};
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
    QUORUM_FACTORY, SELF_HOSTED_APPLICATION_FACTORY, core_addresses, deploy_application,
    deploy_core, dev_accounts, input_box_data_availability,
};
pub use error::{ChainError, Result};
pub use l1::{
    AcceptedClaim, DEFAULT_LOG_RANGE, L1, OUTPUTS_TREE_HEIGHT, OutputValidity, outputs_merkle_root,
};

use abi::IAuthority::IAuthorityErrors;
use abi::IInputBox::{IInputBoxErrors, InputAdded};
use abi::{IAuthority, IInputBox, Inputs};

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

fn signer(key: B256) -> Result<PrivateKeySigner> {
    PrivateKeySigner::from_bytes(&key).map_err(|e| ChainError::InvalidPrivateKey(e.to_string()))
}

pub(crate) fn read_provider(rpc_url: &str) -> Result<impl Provider + Clone> {
    Ok(ProviderBuilder::new().connect_http(parse_rpc_url(rpc_url)?))
}

pub(crate) fn wallet_provider(
    rpc_url: &str,
    key: B256,
) -> Result<(impl Provider + Clone, Address)> {
    let signer = signer(key)?;
    let from = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(parse_rpc_url(rpc_url)?);
    Ok((provider, from))
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

/// The latest block number.
pub async fn block_number(rpc_url: &str) -> Result<u64> {
    Ok(read_provider(rpc_url)?.get_block_number().await?)
}

/// The chain id.
pub async fn chain_id(rpc_url: &str) -> Result<u64> {
    Ok(read_provider(rpc_url)?.get_chain_id().await?)
}

/// Mines `blocks` empty blocks at once (anvil only: `anvil_mine`).
pub async fn anvil_mine(rpc_url: &str, blocks: u64) -> Result<()> {
    let provider = read_provider(rpc_url)?;
    provider
        .raw_request::<_, serde_json::Value>("anvil_mine".into(), (U256::from(blocks),))
        .await?;
    Ok(())
}

/// What [`add_input`] reports about a mined input.
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

/// Calls `InputBox.addInput(app, payload)` as the key's account, waits for the receipt and reads
/// the `InputAdded` event from it. A payload over [`MAX_PAYLOAD_LENGTH`] fails with
/// [`ChainError::InputTooLarge`] (the contract's own check, seen at gas estimation).
pub async fn add_input(
    rpc_url: &str,
    signer_key: B256,
    input_box: Address,
    app: Address,
    payload: impl Into<Bytes>,
) -> Result<AddedInput> {
    let (provider, _) = wallet_provider(rpc_url, signer_key)?;
    let pending = IInputBox::new(input_box, &provider)
        .addInput(app, payload.into())
        .send()
        .await
        .map_err(
            |err| match err.as_decoded_interface_error::<IInputBoxErrors>() {
                Some(IInputBoxErrors::InputTooLarge(e)) => ChainError::InputTooLarge {
                    input_length: u64::try_from(e.inputLength).unwrap_or(u64::MAX),
                    max_input_length: u64::try_from(e.maxInputLength).unwrap_or(u64::MAX),
                },
                None => err.into(),
            },
        )?;
    let receipt = confirm(pending).await?;
    let tx_hash = receipt.transaction_hash;
    let event = receipt
        .logs()
        .iter()
        .filter(|log| log.address() == input_box)
        .find_map(|log| log.log_decode::<InputAdded>().ok())
        .ok_or(ChainError::MissingEvent {
            event: "InputAdded",
            tx_hash,
        })?;
    Ok(AddedInput {
        tx_hash,
        block_number: receipt.block_number.ok_or(ChainError::MissingEvent {
            event: "block number",
            tx_hash,
        })?,
        input_index: to_u64(event.inner.data.index, "input index")?,
        gas_used: receipt.gas_used,
    })
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

/// `InputAdded` events of `app` in blocks `from_block..=to_block`, in chain order.
pub async fn input_added_logs(
    rpc_url: &str,
    input_box: Address,
    app: Address,
    from_block: u64,
    to_block: u64,
) -> Result<Vec<InputAddedLog>> {
    let provider = read_provider(rpc_url)?;
    let filter = Filter::new()
        .address(input_box)
        .event_signature(InputAdded::SIGNATURE_HASH)
        .topic1(app.into_word())
        .from_block(from_block)
        .to_block(to_block);
    let logs = provider.get_logs(&filter).await?;
    logs.iter()
        .map(|log| {
            let decoded = log
                .log_decode::<InputAdded>()
                .map_err(|e| ChainError::Decode(format!("InputAdded: {e}")))?;
            Ok(InputAddedLog {
                index: to_u64(decoded.inner.data.index, "input index")?,
                block_number: log
                    .block_number
                    .ok_or_else(|| ChainError::Decode("log without block number".into()))?,
                tx_hash: log
                    .transaction_hash
                    .ok_or_else(|| ChainError::Decode("log without transaction hash".into()))?,
                input: decoded.inner.data.input,
            })
        })
        .collect()
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

/// `Authority.submitClaim(app, last_processed_block, outputs_merkle_root)` as the key's account
/// (the authority owner); waits for the receipt. Contract rejections (`NotEpochFinalBlock`,
/// `NotFirstClaim`, `NotPastBlock`, `OwnableUnauthorizedAccount`) come back as
/// [`ChainError::Reverted`].
pub async fn submit_claim(
    rpc_url: &str,
    owner_key: B256,
    authority: Address,
    app: Address,
    last_processed_block: u64,
    outputs_merkle_root: B256,
) -> Result<TxHash> {
    let (provider, _) = wallet_provider(rpc_url, owner_key)?;
    let pending = IAuthority::new(authority, &provider)
        .submitClaim(app, U256::from(last_processed_block), outputs_merkle_root)
        .send()
        .await
        .map_err(decode_revert::<IAuthorityErrors>("Authority"))?;
    Ok(confirm(pending).await?.transaction_hash)
}

/// Checks an output against the application's accepted claims with the view
/// `Application.validateOutput(output, OutputValidityProof{outputIndex, outputHashesSiblings})`.
/// `Ok(true)`: proven. `Ok(false)`: the proof does not lead to an accepted outputs Merkle root
/// (`InvalidOutputsMerkleRoot`) or has the wrong number of siblings
/// (`InvalidOutputHashesSiblingsArrayLength`), or an index of `2^63` or more. Other failures are
/// errors. Same as [`L1::validate_output`].
pub async fn validate_output(
    rpc_url: &str,
    app: Address,
    output: Bytes,
    output_index: u64,
    siblings: Vec<B256>,
) -> Result<bool> {
    L1::connect(rpc_url)?
        .validate_output(app, output, output_index, siblings)
        .await
}
