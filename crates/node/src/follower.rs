//! Follows `InputAdded` events of the application and stores the inputs.

use std::sync::Arc;

use crate::Shared;
use crate::db::{Db, Input, InputStatus};
use crate::error::{Error, Result};

/// Blocks per `eth_getLogs` query, well under common provider limits (the node's chain client
/// scans in windows of this many blocks: [`witness_chain::L1::input_added_scan`]).
pub(crate) const LOG_RANGE: u64 = 5_000;

pub(crate) async fn run(shared: Arc<Shared>, db: Db) -> Result<()> {
    loop {
        match step(&shared, &db).await {
            Ok(()) => {}
            // A chain that does not match the database cannot be fixed by retrying.
            Err(e @ (Error::Inconsistent(_) | Error::Db(_))) => return Err(e),
            Err(e) => tracing::warn!(error = %e, "following the chain failed; retrying"),
        }
        tokio::time::sleep(shared.config.poll_interval).await;
    }
}

/// Reads every new confirmed block range once.
async fn step(shared: &Shared, db: &Db) -> Result<()> {
    let config = &shared.config;
    let head = shared.l1.block_number().await?;
    shared.metrics.chain_head.set(head);
    let Some(safe) = head.checked_sub(config.confirmations) else {
        return Ok(());
    };
    let from = db
        .next_block()?
        .unwrap_or(config.input_box_deployment_block);
    let mut scan = shared.l1.input_added_scan(config.application, from, safe);
    while let Some(window) = scan.next_window().await? {
        let (from, to) = (window.from_block, window.to_block);
        let inputs = window
            .logs
            .into_iter()
            .map(|log| {
                let advance = witness_chain::decode_evm_advance(&log.input)?;
                if advance.index != log.index || advance.app_contract != config.application {
                    return Err(Error::Inconsistent(format!(
                        "InputAdded {} carries input {} of {}",
                        log.index, advance.index, advance.app_contract
                    )));
                }
                Ok(Input {
                    index: log.index,
                    block_number: log.block_number,
                    msg_sender: advance.msg_sender,
                    raw: log.input.to_vec(),
                    tx_hash: log.tx_hash,
                    status: InputStatus::None,
                    exception: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let found = inputs.len();
        db.add_inputs(&inputs, config.epoch_length, to + 1)?;
        if found > 0 {
            tracing::debug!(from, to, found, "inputs read");
            shared.new_inputs.notify_one();
        }
    }
    Ok(())
}
