//! What a verifier that trusts only L1 reads from the chain, given an RPC URL and its trust
//! anchors (chain id, application address, consensus address): [`L1`].
//!
//! - [`L1::check_anchors`]: `eth_chainId` is the pinned chain id and the application's consensus
//!   (`Application.getOutputsMerkleRootValidator()`) is the pinned consensus;
//! - [`L1::latest_accepted_claim`] / [`L1::accepted_claims_after`]: the consensus's
//!   `ClaimAccepted(address indexed appContract, uint256 lastProcessedBlockNumber,
//!   bytes32 outputsMerkleRoot)` events for the application (Authority and Quorum emit the same
//!   event);
//! - [`L1::input_count_at`]: `InputBox.getNumberOfInputs(app)` at a block, e.g. at a claim's
//!   `lastProcessedBlockNumber`: the number of inputs the claim covers. Historical state needs an
//!   archive node (anvil keeps every state);
//! - [`L1::validate_output`] / [`L1::validate_output_in_claim`]: `Application.validateOutput`.
//!
//! Log scans go in windows of at most [`L1::log_range`] blocks (public RPCs cap `eth_getLogs`
//! ranges), from the application's deployment block (`Application.getDeploymentBlockNumber()`) at
//! the earliest, so every call makes a bounded number of requests.

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, Bytes, TxHash, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::{SolCall, SolEvent};
use serde::{Deserialize, Serialize};

use crate::abi::IApplication::{IApplicationErrors, OutputValidityProof};
use crate::abi::IAuthority::{self, IAuthorityErrors};
use crate::abi::IConsensus::ClaimAccepted;
use crate::abi::IInputBox::{IInputBoxErrors, InputAdded};
use crate::abi::{DataAvailability, IApplication, IInputBox};
use crate::deploy::{Deployment, INPUT_BOX};
use crate::error::{ChainError, Result};
use crate::{AddedInput, InputAddedLog, confirm, decode_revert, parse_rpc_url, signer, to_u64};

/// Largest block range of one `eth_getLogs` request unless [`L1::with_log_range`] says otherwise.
pub const DEFAULT_LOG_RANGE: u64 = 10_000;

/// Height of the outputs Merkle tree (`CanonicalMachine.LOG2_MAX_OUTPUTS`): a proof has this many
/// sibling hashes, and output indexes are below `2^63`.
pub const OUTPUTS_TREE_HEIGHT: usize = 63;

/// A `ClaimAccepted` event of a consensus for one application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedClaim {
    /// `lastProcessedBlockNumber`: the claim covers the inputs added up to this block.
    pub last_processed_block: u64,
    /// `outputsMerkleRoot`: root of the outputs of every input up to that block.
    pub outputs_root: B256,
    /// Block of the event (when the claim was accepted).
    pub block_number: u64,
    /// Timestamp (seconds) of that block.
    pub block_timestamp: u64,
    /// Transaction that emitted the event.
    pub tx_hash: B256,
}

/// What [`L1::validate_output_in_claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputValidity {
    /// `Application.validateOutput` did not revert: the root is one the consensus accepted
    /// (any accepted claim, not necessarily the given one).
    pub valid: bool,
    /// The outputs Merkle root the proof leads to, computed here as the contract does
    /// (`None`: not [`OUTPUTS_TREE_HEIGHT`] siblings, or an index of `2^63` or more).
    pub root: Option<B256>,
    /// `root` is the given claim's `outputs_root`.
    pub is_claim_root: bool,
}

/// The chain client: a provider built once, optionally the account it signs transactions as,
/// the InputBox inputs are sent to, read from and counted in, and the log window.
#[derive(Debug, Clone)]
pub struct L1 {
    provider: DynProvider,
    rpc_url: String,
    signer: Option<Address>,
    input_box: Address,
    log_range: u64,
}

impl L1 {
    /// A read-only client for the node at `rpc_url` (no request is made), using the canonical
    /// v2.2 InputBox ([`INPUT_BOX`]).
    pub fn connect(rpc_url: &str) -> Result<Self> {
        let provider = ProviderBuilder::new()
            .connect_http(parse_rpc_url(rpc_url)?)
            .erased();
        Ok(Self::new(provider, rpc_url, None))
    }

    /// A client that also signs transactions as the account of the secret key `key`, filling in
    /// gas, chain id and the nonce. The nonce is the account's pending transaction count, read
    /// for every transaction (not cached), so other senders of the same account (another
    /// client, another process) do not make it stale.
    pub fn connect_signer(rpc_url: &str, key: B256) -> Result<Self> {
        let signer = signer(key)?;
        let from = signer.address();
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_blob_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(signer)
            .connect_http(parse_rpc_url(rpc_url)?)
            .erased();
        Ok(Self::new(provider, rpc_url, Some(from)))
    }

    /// A read-only client for a deployment: its RPC URL and its InputBox.
    pub fn for_deployment(deployment: &Deployment) -> Result<Self> {
        Ok(Self::connect(&deployment.rpc_url)?.with_input_box(deployment.input_box))
    }

    fn new(provider: DynProvider, rpc_url: &str, signer: Option<Address>) -> Self {
        Self {
            provider,
            rpc_url: rpc_url.to_owned(),
            signer,
            input_box: INPUT_BOX,
            log_range: DEFAULT_LOG_RANGE,
        }
    }

    /// Counts inputs in another InputBox (see [`L1::application_input_box`]).
    #[must_use]
    pub fn with_input_box(mut self, input_box: Address) -> Self {
        self.input_box = input_box;
        self
    }

    /// At most `blocks` (at least 1) blocks per `eth_getLogs` request.
    #[must_use]
    pub fn with_log_range(mut self, blocks: u64) -> Self {
        self.log_range = blocks.max(1);
        self
    }

    /// The InputBox inputs are sent to, read from and counted in.
    pub fn input_box(&self) -> Address {
        self.input_box
    }

    /// The RPC URL the client was connected to.
    pub fn rpc_url(&self) -> &str {
        &self.rpc_url
    }

    /// The account transactions are signed as (`None`: read-only).
    pub fn signer(&self) -> Option<Address> {
        self.signer
    }

    /// The signing account, or [`ChainError::NoSigner`] for `what`.
    pub(crate) fn require_signer(&self, what: &'static str) -> Result<Address> {
        self.signer.ok_or(ChainError::NoSigner(what))
    }

    /// Largest block range of one `eth_getLogs` request.
    pub fn log_range(&self) -> u64 {
        self.log_range
    }

    /// The underlying provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64> {
        Ok(self.provider.get_chain_id().await?)
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64> {
        Ok(self.provider.get_block_number().await?)
    }

    /// Mines `blocks` empty blocks at once (anvil only: `anvil_mine`).
    pub async fn anvil_mine(&self, blocks: u64) -> Result<()> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_mine".into(), (U256::from(blocks),))
            .await?;
        Ok(())
    }

    /// Calls `InputBox.addInput(app, payload)` as the signer, waits for the receipt and reads
    /// the `InputAdded` event from it. A payload over [`MAX_PAYLOAD_LENGTH`] fails with
    /// [`ChainError::InputTooLarge`] (the contract's own check, seen at gas estimation).
    ///
    /// [`MAX_PAYLOAD_LENGTH`]: crate::MAX_PAYLOAD_LENGTH
    pub async fn add_input(&self, app: Address, payload: impl Into<Bytes>) -> Result<AddedInput> {
        self.require_signer("addInput")?;
        let pending = IInputBox::new(self.input_box, &self.provider)
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
            .filter(|log| log.address() == self.input_box)
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

    /// `InputAdded` events of `app` in blocks `from_block..=to_block`, in chain order.
    pub async fn input_added_logs(
        &self,
        app: Address,
        from_block: u64,
        to_block: u64,
    ) -> Result<Vec<InputAddedLog>> {
        let filter = Filter::new()
            .address(self.input_box)
            .event_signature(InputAdded::SIGNATURE_HASH)
            .topic1(app.into_word())
            .from_block(from_block)
            .to_block(to_block);
        let logs = self.provider.get_logs(&filter).await?;
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

    /// The `InputAdded` events of `app` in blocks `from_block..=to_block`, read forwards in
    /// windows of at most [`L1::log_range`] blocks, one request each ([`InputAddedScan`]): the
    /// caller handles each window before the next is read, and may stop early.
    pub fn input_added_scan(
        &self,
        app: Address,
        from_block: u64,
        to_block: u64,
    ) -> InputAddedScan<'_> {
        InputAddedScan {
            l1: self,
            app,
            windows: BlockWindows::new(from_block, to_block, self.log_range),
        }
    }

    /// `Authority.submitClaim(app, last_processed_block, outputs_merkle_root)` as the signer (the
    /// authority owner); waits for the receipt. Contract rejections (`NotEpochFinalBlock`,
    /// `NotFirstClaim`, `NotPastBlock`, `OwnableUnauthorizedAccount`) come back as
    /// [`ChainError::Reverted`].
    pub async fn submit_claim(
        &self,
        authority: Address,
        app: Address,
        last_processed_block: u64,
        outputs_merkle_root: B256,
    ) -> Result<TxHash> {
        self.require_signer("submitClaim")?;
        let pending = IAuthority::new(authority, &self.provider)
            .submitClaim(app, U256::from(last_processed_block), outputs_merkle_root)
            .send()
            .await
            .map_err(decode_revert::<IAuthorityErrors>("Authority"))?;
        Ok(confirm(pending).await?.transaction_hash)
    }

    /// Timestamp (seconds) of `block`; [`ChainError::BlockNotFound`] if the node does not have it.
    pub async fn block_timestamp(&self, block: u64) -> Result<u64> {
        let header = self
            .provider
            .get_block_by_number(block.into())
            .await?
            .ok_or(ChainError::BlockNotFound(block))?;
        Ok(header.header.timestamp)
    }

    /// The application's consensus: `Application.getOutputsMerkleRootValidator()` (v2.2's name
    /// for what older releases called `getConsensus()`). [`ChainError::NoCode`] if `app` is not
    /// a contract.
    pub async fn application_consensus(&self, app: Address) -> Result<Address> {
        let result = IApplication::new(app, &self.provider)
            .getOutputsMerkleRootValidator()
            .call()
            .await;
        match result {
            Ok(consensus) => Ok(consensus),
            Err(err) => Err(self.view_error(err, app, None).await),
        }
    }

    /// `Application.getDeploymentBlockNumber()`.
    pub async fn application_deployment_block(&self, app: Address) -> Result<u64> {
        let result = IApplication::new(app, &self.provider)
            .getDeploymentBlockNumber()
            .call()
            .await;
        match result {
            Ok(block) => to_u64(block, "application deployment block"),
            Err(err) => Err(self.view_error(err, app, None).await),
        }
    }

    /// The InputBox named by the application's data availability
    /// (`Application.getDataAvailability()`: `InputBox(address)` or
    /// `InputBoxAndEspresso(address,uint256,uint32)`).
    pub async fn application_input_box(&self, app: Address) -> Result<Address> {
        let result = IApplication::new(app, &self.provider)
            .getDataAvailability()
            .call()
            .await;
        let da = match result {
            Ok(da) => da,
            Err(err) => return Err(self.view_error(err, app, None).await),
        };
        if let Ok(call) = DataAvailability::InputBoxCall::abi_decode(&da) {
            Ok(call.inputBox)
        } else if let Ok(call) = DataAvailability::InputBoxAndEspressoCall::abi_decode(&da) {
            Ok(call.inputBox)
        } else {
            Err(ChainError::Decode(format!(
                "unknown data availability {da} of application {app}"
            )))
        }
    }

    /// Checks the trust anchors: `eth_chainId` is `chain_id` ([`ChainError::ChainIdMismatch`])
    /// and the application's consensus is `consensus` ([`ChainError::ConsensusMismatch`]).
    pub async fn check_anchors(
        &self,
        chain_id: u64,
        app: Address,
        consensus: Address,
    ) -> Result<()> {
        let actual = self.chain_id().await?;
        if actual != chain_id {
            return Err(ChainError::ChainIdMismatch {
                expected: chain_id,
                actual,
            });
        }
        let actual = self.application_consensus(app).await?;
        if actual != consensus {
            return Err(ChainError::ConsensusMismatch {
                application: app,
                expected: consensus,
                actual,
            });
        }
        Ok(())
    }

    /// `InputBox.getNumberOfInputs(app)` at the end of `block` (`None`: latest). At a claim's
    /// `last_processed_block` this is the number of inputs the claim covers. A block before the
    /// InputBox existed gives [`ChainError::NoCode`]; a node that pruned the block's state
    /// answers with an RPC error.
    pub async fn input_count_at(&self, app: Address, block: Option<u64>) -> Result<u64> {
        let result = IInputBox::new(self.input_box, &self.provider)
            .getNumberOfInputs(app)
            .block(block_id(block))
            .call()
            .await;
        match result {
            Ok(n) => to_u64(n, "number of inputs"),
            Err(err) => Err(self.view_error(err, self.input_box, block).await),
        }
    }

    /// The newest `ClaimAccepted` of `consensus` for `app` (by block, then log index), with its
    /// block's timestamp; `None` if there is none since the application was deployed. Scans
    /// backwards from the latest block. [`ChainError::NoCode`] if `app` is not a contract.
    pub async fn latest_accepted_claim(
        &self,
        consensus: Address,
        app: Address,
    ) -> Result<Option<AcceptedClaim>> {
        self.accepted_claim_until(consensus, app, None).await
    }

    /// The newest `ClaimAccepted` of `consensus` for `app` accepted in block `until` or before
    /// (`None`: up to the latest block), as [`Self::latest_accepted_claim`]: what a verifier
    /// saw as final at that block.
    pub async fn accepted_claim_until(
        &self,
        consensus: Address,
        app: Address,
        until: Option<u64>,
    ) -> Result<Option<AcceptedClaim>> {
        let lowest = self.application_deployment_block(app).await?;
        let head = self.block_number().await?;
        let mut to = until.map_or(head, |block| block.min(head));
        if to < lowest {
            return Ok(None);
        }
        loop {
            let from = to.saturating_sub(self.log_range - 1).max(lowest);
            let logs = self.claim_logs(consensus, app, from, to).await?;
            let mut newest: Option<ClaimLog> = None;
            for log in &logs {
                let claim = ClaimLog::decode(log)?;
                if newest.is_none_or(|n| (claim.block_number, claim.log_index) > n.key()) {
                    newest = Some(claim);
                }
            }
            if let Some(claim) = newest {
                // Nodes that put `blockTimestamp` in logs (anvil, recent geth) save a request.
                let block_timestamp = match claim.block_timestamp {
                    Some(t) => t,
                    None => self.block_timestamp(claim.block_number).await?,
                };
                return Ok(Some(AcceptedClaim {
                    last_processed_block: claim.last_processed_block,
                    outputs_root: claim.outputs_root,
                    block_number: claim.block_number,
                    block_timestamp,
                    tx_hash: claim.tx_hash,
                }));
            }
            if from == lowest {
                return Ok(None);
            }
            to = from - 1;
        }
    }

    /// How many `ClaimAccepted` events `consensus` emitted for `app` in the blocks after `block`
    /// up to the latest (e.g. "N claims accepted since" a claim's `block_number`).
    pub async fn accepted_claims_after(
        &self,
        consensus: Address,
        app: Address,
        block: u64,
    ) -> Result<u64> {
        let head = self.block_number().await?;
        let mut count = 0u64;
        for (from, to) in BlockWindows::new(block.saturating_add(1), head, self.log_range) {
            for log in self.claim_logs(consensus, app, from, to).await? {
                ClaimLog::decode(&log)?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// `Application.validateOutput(output, OutputValidityProof{outputIndex, outputHashesSiblings})`.
    /// `Ok(true)`: proven (the root is one the consensus accepted). `Ok(false)`: the proof leads
    /// to a root that was not accepted (`InvalidOutputsMerkleRoot`) or has the wrong number of
    /// siblings (`InvalidOutputHashesSiblingsArrayLength`), or an index of `2^63` or more
    /// (LibMerkle32 reverts with "index out of bounds"; answered without a request). Other
    /// failures are errors.
    pub async fn validate_output(
        &self,
        app: Address,
        output: Bytes,
        output_index: u64,
        siblings: Vec<B256>,
    ) -> Result<bool> {
        if output_index >> OUTPUTS_TREE_HEIGHT != 0 {
            return Ok(false);
        }
        let proof = OutputValidityProof {
            outputIndex: output_index,
            outputHashesSiblings: siblings,
        };
        let result = IApplication::new(app, &self.provider)
            .validateOutput(output, proof)
            .call()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_decoded_interface_error::<IApplicationErrors>() {
                Some(
                    IApplicationErrors::InvalidOutputsMerkleRoot(_)
                    | IApplicationErrors::InvalidOutputHashesSiblingsArrayLength(_),
                ) => Ok(false),
                _ => Err(decode_revert::<IApplicationErrors>("Application")(err)),
            },
        }
    }

    /// [`L1::validate_output`], plus the root the proof leads to (computed here with
    /// [`outputs_merkle_root`], no extra request) and whether it is `claim`'s root.
    pub async fn validate_output_in_claim(
        &self,
        app: Address,
        claim: &AcceptedClaim,
        output: Bytes,
        output_index: u64,
        siblings: Vec<B256>,
    ) -> Result<OutputValidity> {
        let root = outputs_merkle_root(&output, output_index, &siblings);
        let valid = self
            .validate_output(app, output, output_index, siblings)
            .await?;
        Ok(OutputValidity {
            valid,
            root,
            is_claim_root: root == Some(claim.outputs_root),
        })
    }

    async fn claim_logs(
        &self,
        consensus: Address,
        app: Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>> {
        let filter = Filter::new()
            .address(consensus)
            .event_signature(ClaimAccepted::SIGNATURE_HASH)
            .topic1(app.into_word())
            .from_block(from)
            .to_block(to);
        let logs = self.provider.get_logs(&filter).await?;
        Ok(logs
            .into_iter()
            .filter(|log| !log.removed && log.address() == consensus)
            .collect())
    }

    /// A failed view call: [`ChainError::NoCode`] if `address` has no code at `block`, else the
    /// call's own error.
    async fn view_error(
        &self,
        err: alloy::contract::Error,
        address: Address,
        block: Option<u64>,
    ) -> ChainError {
        if let alloy::contract::Error::TransportError(e) = err {
            return e.into();
        }
        match self
            .provider
            .get_code_at(address)
            .block_id(block_id(block))
            .await
        {
            Ok(code) if code.is_empty() => ChainError::NoCode { address, block },
            _ => err.into(),
        }
    }
}

/// The `InputAdded` events of a block range, window by window: [`L1::input_added_scan`].
#[derive(Debug)]
pub struct InputAddedScan<'a> {
    l1: &'a L1,
    app: Address,
    windows: BlockWindows,
}

/// One window of an [`InputAddedScan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputAddedWindow {
    /// First block of the window.
    pub from_block: u64,
    /// Last block of the window (inclusive).
    pub to_block: u64,
    /// The window's `InputAdded` events of the application, in chain order.
    pub logs: Vec<InputAddedLog>,
}

impl InputAddedScan<'_> {
    /// Reads the next window (one `eth_getLogs` request); `None` once the range is done.
    pub async fn next_window(&mut self) -> Result<Option<InputAddedWindow>> {
        let Some((from_block, to_block)) = self.windows.next() else {
            return Ok(None);
        };
        let logs = self
            .l1
            .input_added_logs(self.app, from_block, to_block)
            .await?;
        Ok(Some(InputAddedWindow {
            from_block,
            to_block,
            logs,
        }))
    }
}

/// `from..=to` split into consecutive `(first, last)` windows of at most `size` blocks, in
/// order; none if `from > to`.
#[derive(Debug, Clone)]
struct BlockWindows {
    next: Option<u64>,
    to: u64,
    size: u64,
}

impl BlockWindows {
    fn new(from: u64, to: u64, size: u64) -> Self {
        Self {
            next: Some(from),
            to,
            size: size.max(1),
        }
    }
}

impl Iterator for BlockWindows {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        let from = self.next.filter(|from| *from <= self.to)?;
        let to = from.saturating_add(self.size - 1).min(self.to);
        self.next = to.checked_add(1);
        Some((from, to))
    }
}

fn block_id(block: Option<u64>) -> BlockId {
    block.map_or(BlockId::latest(), BlockId::number)
}

/// A decoded `ClaimAccepted` log.
#[derive(Debug, Clone, Copy)]
struct ClaimLog {
    last_processed_block: u64,
    outputs_root: B256,
    block_number: u64,
    block_timestamp: Option<u64>,
    log_index: u64,
    tx_hash: B256,
}

impl ClaimLog {
    fn decode(log: &Log) -> Result<Self> {
        let decoded = log
            .log_decode::<ClaimAccepted>()
            .map_err(|e| ChainError::Decode(format!("ClaimAccepted: {e}")))?;
        let missing = |what: &str| ChainError::Decode(format!("ClaimAccepted log without {what}"));
        Ok(Self {
            last_processed_block: to_u64(
                decoded.inner.data.lastProcessedBlockNumber,
                "lastProcessedBlockNumber",
            )?,
            outputs_root: decoded.inner.data.outputsMerkleRoot,
            block_number: log.block_number.ok_or_else(|| missing("block number"))?,
            block_timestamp: log.block_timestamp,
            log_index: log.log_index.ok_or_else(|| missing("log index"))?,
            tx_hash: log
                .transaction_hash
                .ok_or_else(|| missing("transaction hash"))?,
        })
    }

    fn key(&self) -> (u64, u64) {
        (self.block_number, self.log_index)
    }
}

/// The outputs Merkle root a proof leads to, as `Application.validateOutput` computes it:
/// `keccak256(output)` folded with the siblings bottom-up, bit `i` of `output_index` saying
/// whether the node is a right child at level `i`. `None` unless there are
/// [`OUTPUTS_TREE_HEIGHT`] siblings (the contract's `InvalidOutputHashesSiblingsArrayLength`) and
/// the index is below `2^63` (the contract reverts with "LibMerkle32: index out of bounds").
pub fn outputs_merkle_root(output: &[u8], output_index: u64, siblings: &[B256]) -> Option<B256> {
    if siblings.len() != OUTPUTS_TREE_HEIGHT || output_index >> OUTPUTS_TREE_HEIGHT != 0 {
        return None;
    }
    let mut node = keccak256(output);
    let mut buf = [0u8; 64];
    for (level, sibling) in siblings.iter().enumerate() {
        let (left, right) = if (output_index >> level) & 1 == 0 {
            (&node, sibling)
        } else {
            (sibling, &node)
        };
        buf[..32].copy_from_slice(left.as_slice());
        buf[32..].copy_from_slice(right.as_slice());
        node = keccak256(buf);
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::BlockWindows;

    fn windows(from: u64, to: u64, size: u64) -> Vec<(u64, u64)> {
        BlockWindows::new(from, to, size).collect()
    }

    #[test]
    fn block_windows_cover_the_range_in_bounded_windows() {
        assert_eq!(windows(0, 9, 5), [(0, 4), (5, 9)]);
        assert_eq!(windows(3, 12, 5), [(3, 7), (8, 12)]);
        assert_eq!(windows(3, 13, 5), [(3, 7), (8, 12), (13, 13)]);
        assert_eq!(windows(7, 7, 5_000), [(7, 7)]);
        assert_eq!(windows(2, 4, 1), [(2, 2), (3, 3), (4, 4)]);
        assert_eq!(windows(2, 4, 0), [(2, 2), (3, 3), (4, 4)]);
        assert!(windows(8, 7, 5).is_empty());
        assert_eq!(
            windows(u64::MAX - 6, u64::MAX, 5),
            [(u64::MAX - 6, u64::MAX - 2), (u64::MAX - 1, u64::MAX)]
        );
    }
}
