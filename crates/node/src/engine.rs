//! Feeds stored inputs to the backend, strictly in order and one at a time, and stores results.
//!
//! Backend lifecycle: every process (at start, or after the previous one exited) first gets all
//! stored ACCEPTED and REJECTED inputs replayed, in order, with inspects held back; their results
//! are compared with what is stored (nothing is written), then live processing resumes with the
//! first unprocessed input.
//!
//! Exceptions: an input whose processing ends in `/exception` is marked EXCEPTION with the
//! exception payload; its notices and vouchers are discarded, its reports kept, and the node
//! skips it and goes on with the next input. If the backend process exits (as the reference
//! backend does after `/exception`, or by crashing mid-input, which is recorded as an exception
//! too), a fresh process is started and replayed. Exception inputs are not replayed, so the new
//! process holds the state from before the failing input, like the Cartesi machine, which
//! reverts to its pre-input snapshot.

use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::Child;
use tokio::sync::oneshot;

use crate::Shared;
use crate::backend;
use crate::db::{Db, Input, InputResult, InputStatus};
use crate::error::{Error, Result};
use crate::rollup::{Completion, Metadata, Outcome, Request};

/// Inputs read from the database per replay query.
const REPLAY_BATCH: u64 = 1024;
/// A backend that keeps dying during replay (where it once succeeded) is a fatal divergence.
const MAX_REPLAY_FAILURES: u32 = 3;

pub(crate) struct Engine {
    shared: Arc<Shared>,
    db: Db,
    rollup_url: String,
}

/// Builds the advance request of a stored input.
fn request(shared: &Shared, input: &Input, first_output_index: u64) -> Result<Request> {
    let advance = witness_chain::decode_evm_advance(&input.raw)?;
    if advance.index != input.index || advance.app_contract != shared.config.application {
        return Err(Error::Inconsistent(format!(
            "stored input {} decodes as input {} of {}",
            input.index, advance.index, advance.app_contract
        )));
    }
    Ok(Request::Advance {
        metadata: Metadata {
            chain_id: advance.chain_id,
            app_contract: advance.app_contract,
            msg_sender: advance.msg_sender,
            block_number: advance.block_number,
            block_timestamp: advance.block_timestamp,
            prev_randao: advance.prev_randao,
            input_index: advance.index,
        },
        payload: advance.payload.to_vec(),
        first_output_index,
    })
}

impl Engine {
    pub(crate) fn new(shared: Arc<Shared>, db: Db, rollup_url: String) -> Self {
        Self {
            shared,
            db,
            rollup_url,
        }
    }

    /// Runs until a fatal error; the node stops it by aborting the task, which kills the backend.
    pub(crate) async fn run(mut self) -> Result<()> {
        let mut replay_failures = 0;
        let mut first = true;
        loop {
            if !first {
                self.shared.metrics.backend_restarts.inc();
                // Do not spin if the backend dies right away.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            first = false;
            self.shared.dispatcher.close_inspects();
            self.shared.dispatcher.reset().await;
            let mut child = backend::spawn(&self.shared.config, &self.rollup_url)?;
            match self.replay(&mut child).await? {
                Some(status) => {
                    replay_failures += 1;
                    tracing::warn!(%status, "backend exited during replay");
                    if replay_failures >= MAX_REPLAY_FAILURES {
                        return Err(Error::ReplayDiverged {
                            input_index: self.db.processed_count()?,
                            reason: format!("backend keeps exiting during replay ({status})"),
                        });
                    }
                    continue;
                }
                None => replay_failures = 0,
            }
            self.shared
                .dispatcher
                .open_inspects(self.db.processed_count()?);
            let status = self.process(&mut child).await?;
            tracing::warn!(%status, "backend exited");
        }
    }

    /// Waits for the answer to an advance request; `Err(status)` if the process exits first.
    async fn answer(
        &self,
        child: &mut Child,
        mut rx: oneshot::Receiver<Outcome>,
    ) -> Result<Result<Outcome, ExitStatus>> {
        tokio::select! {
            // The answer first: a backend that calls /exception and exits must be seen as such.
            biased;
            outcome = &mut rx => outcome
                .map(Ok)
                .map_err(|_| Error::Unavailable("advance request dropped".into())),
            status = child.wait() => {
                let status = status?;
                Ok(rx.try_recv().map_err(|_| status))
            }
        }
    }

    /// Replays processed inputs into a fresh backend; `Some(status)` if the process exited.
    async fn replay(&mut self, child: &mut Child) -> Result<Option<ExitStatus>> {
        let started = Instant::now();
        let (mut from, mut next_output, mut count) = (0, 0u64, 0u64);
        loop {
            let batch = self.db.replay_batch(from, REPLAY_BATCH)?;
            if batch.is_empty() {
                break;
            }
            for (input, stored) in batch {
                let req = request(&self.shared, &input, next_output)?;
                let rx = self.shared.dispatcher.advance(req).await?;
                let outcome = match self.answer(child, rx).await? {
                    Ok(outcome) => outcome,
                    Err(status) => return Ok(Some(status)),
                };
                check_replay(&input, &stored, next_output, &outcome)?;
                next_output += stored.len() as u64;
                from = input.index + 1;
                count += 1;
            }
        }
        self.shared.metrics.inputs_replayed.inc_by(count);
        if count > 0 {
            tracing::info!(inputs = count, elapsed = ?started.elapsed(), "replay done");
        }
        Ok(None)
    }

    /// Processes new inputs as they arrive until the backend exits.
    async fn process(&mut self, child: &mut Child) -> Result<ExitStatus> {
        let mut next_output = self.db.output_count()?;
        loop {
            let next = self.db.processed_count()?;
            let Some(input) = self.db.input(next)? else {
                tokio::select! {
                    _ = self.shared.new_inputs.notified() => {}
                    status = child.wait() => return Ok(status?),
                    // Belt and braces: never depend on a single wake-up.
                    _ = tokio::time::sleep(self.shared.config.poll_interval) => {}
                }
                continue;
            };
            let epoch_index = input.block_number / self.shared.config.epoch_length;
            let req = request(&self.shared, &input, next_output)?;
            let started = Instant::now();
            let rx = self.shared.dispatcher.advance(req).await?;
            let answer = self.answer(child, rx).await?;
            let outcome = match answer {
                Ok(outcome) => outcome,
                Err(status) => {
                    let abandoned = self.shared.dispatcher.reset().await;
                    let had_it = matches!(abandoned,
                        Some(Request::Advance { metadata, .. }) if metadata.input_index == input.index);
                    if !had_it {
                        // It died between inputs (e.g. exited after an exception): this input
                        // goes to the next process.
                        return Ok(status);
                    }
                    // The input made the backend die: record it as an exception so the node
                    // does not feed it again forever.
                    let payload = format!("backend exited while processing the input: {status}");
                    tracing::warn!(input = input.index, "{payload}");
                    self.db.record(&InputResult {
                        input_index: input.index,
                        epoch_index,
                        status: InputStatus::Exception,
                        exception: Some(payload.as_bytes()),
                        outputs: &[],
                        reports: &[],
                    })?;
                    self.shared.metrics.inputs_processed.inc();
                    return Ok(status);
                }
            };
            self.shared.metrics.observe_backend_time(started.elapsed());
            let (status, exception) = match &outcome.completion {
                Completion::Accepted => (InputStatus::Accepted, None),
                Completion::Rejected => (InputStatus::Rejected, None),
                Completion::Exception(p) => (InputStatus::Exception, Some(p.as_slice())),
            };
            self.db.record(&InputResult {
                input_index: input.index,
                epoch_index,
                status,
                exception,
                outputs: &outcome.outputs,
                reports: &outcome.reports,
            })?;
            next_output += outcome.outputs.len() as u64;
            self.shared.metrics.inputs_processed.inc();
            tracing::debug!(
                input = input.index,
                status = status.as_str(),
                "input processed"
            );
        }
    }
}

/// A replayed input must end as it did the first time, with the same outputs.
fn check_replay(
    input: &Input,
    stored: &[Vec<u8>],
    first_output: u64,
    outcome: &Outcome,
) -> Result<()> {
    let diverged = |reason: String| Error::ReplayDiverged {
        input_index: input.index,
        reason,
    };
    let status = match outcome.completion {
        Completion::Accepted => InputStatus::Accepted,
        Completion::Rejected => InputStatus::Rejected,
        Completion::Exception(_) => InputStatus::Exception,
    };
    if status != input.status {
        return Err(diverged(format!(
            "ended {} instead of {}",
            status.as_str(),
            input.status.as_str()
        )));
    }
    let same = outcome.outputs.len() == stored.len()
        && outcome
            .outputs
            .iter()
            .zip(stored)
            .enumerate()
            .all(|(k, ((index, raw), want))| *index == first_output + k as u64 && raw == want);
    if !same {
        return Err(diverged(format!(
            "{} outputs produced, {} stored, or different contents",
            outcome.outputs.len(),
            stored.len()
        )));
    }
    Ok(())
}
