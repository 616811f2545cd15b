//! Closes epochs and claims their outputs Merkle roots.
//!
//! Epoch `k` covers blocks `[k·L, (k+1)·L − 1]`. Once the followed head is past its last block
//! and all its inputs are processed, the root of the tree over *all* outputs of the application
//! so far (v2 output indexes are global) is computed and sent as
//! `Authority.submitClaim(app, (k+1)·L − 1, root)`. Only epochs with inputs exist (as in the
//! Cartesi node); they are claimed in order, each once.

use std::sync::Arc;

use alloy::primitives::B256;
use witness_chain::abi::IAuthority;

use crate::Shared;
use crate::db::{Db, EpochStatus};
use crate::error::{Error, Result};

pub(crate) async fn run(shared: Arc<Shared>, db: Db) -> Result<()> {
    loop {
        match step(&shared, &db).await {
            Ok(()) => {}
            Err(e @ (Error::Inconsistent(_) | Error::Db(_))) => return Err(e),
            Err(e) => tracing::warn!(error = %e, "claiming failed; retrying"),
        }
        tokio::time::sleep(shared.config.poll_interval).await;
    }
}

async fn step(shared: &Shared, db: &Db) -> Result<()> {
    let config = &shared.config;
    let head = shared.metrics.chain_head.get();
    let Some(scanned) = db.next_block()?.and_then(|b| b.checked_sub(1)) else {
        return Ok(());
    };
    for epoch in db.unclaimed_epochs()? {
        let last_block = (epoch.index + 1) * config.epoch_length - 1;
        // Every input of the epoch must be known and processed, and the claim's block must be
        // in the past for the Authority (`NotPastBlock`).
        if scanned < last_block || head <= last_block || db.processed_count()? < epoch.input_upper {
            return Ok(());
        }
        let root = match (epoch.status, epoch.root) {
            (EpochStatus::ClaimComputed, Some(root)) => root,
            _ => {
                let count = db.output_count_before_input(epoch.input_upper)?;
                let tree = shared.trees.get(db, count)?;
                db.set_epoch_root(epoch.index, count, tree.root())?;
                tracing::info!(epoch = epoch.index, outputs = count, root = %tree.root(), "epoch closed");
                tree.root()
            }
        };
        if config.claimer_key.is_none() {
            continue; // reader mode: roots only
        }
        let tx = claim(shared, last_block, root).await?;
        db.set_epoch_claimed(epoch.index, tx)?;
        shared.metrics.claims_submitted.inc();
        tracing::info!(epoch = epoch.index, last_block, tx = ?tx, "claim accepted");
    }
    Ok(())
}

/// Sends the claim; returns its transaction, or `None` when this epoch was already claimed with
/// the same root (a claim sent before a crash whose recording was lost).
async fn claim(shared: &Shared, last_block: u64, root: B256) -> Result<Option<B256>> {
    let config = &shared.config;
    let sent = shared
        .l1
        .submit_claim(config.authority, config.application, last_block, root)
        .await;
    match sent {
        Ok(tx) => Ok(Some(tx)),
        Err(e) if e.revert_name() == Some("NotFirstClaim") => {
            let ours = IAuthority::new(config.authority, shared.l1.provider())
                .isOutputsMerkleRootValid(config.application, root)
                .call()
                .await
                .map_err(|e| Error::Chain(e.to_string()))?;
            if ours {
                Ok(None)
            } else {
                Err(Error::Inconsistent(format!(
                    "the epoch ending at block {last_block} was claimed with another root than {root}"
                )))
            }
        }
        Err(e) => Err(e.into()),
    }
}
