//! SQLite persistence (WAL): inputs, outputs, reports, epochs and the follower's position.
//!
//! Each task of the node opens its own [`Db`] (its own connection); WAL lets the API read while
//! the engine and the follower write. `synchronous=NORMAL` makes a commit a WAL append without
//! fsync: after a power cut the last few commits may be lost, never half-applied, and whatever is
//! lost is read again from the chain and processed again.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use alloy::primitives::{Address, B256, keccak256};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use crate::error::{Error, Result};

/// Filters of the list queries; `None` means no filter (the JSON-RPC parameters, parsed).
pub(crate) use witness_node_rpc::Filter;

/// How an input ended, as the Cartesi node names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputStatus {
    /// Not processed yet.
    None,
    Accepted,
    Rejected,
    Exception,
}

impl InputStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            InputStatus::None => "NONE",
            InputStatus::Accepted => "ACCEPTED",
            InputStatus::Rejected => "REJECTED",
            InputStatus::Exception => "EXCEPTION",
        }
    }
}

impl FromSql for InputStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(match value.as_str()? {
            "NONE" => InputStatus::None,
            "ACCEPTED" => InputStatus::Accepted,
            "REJECTED" => InputStatus::Rejected,
            "EXCEPTION" => InputStatus::Exception,
            _ => return Err(FromSqlError::InvalidType),
        })
    }
}

/// An input as read from the InputBox.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) index: u64,
    pub(crate) block_number: u64,
    pub(crate) msg_sender: Address,
    /// The `EvmAdvance` calldata exactly as emitted by `InputAdded`.
    pub(crate) raw: Vec<u8>,
    pub(crate) tx_hash: B256,
    pub(crate) status: InputStatus,
    pub(crate) exception: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(crate) struct OutputRow {
    pub(crate) index: u64,
    pub(crate) input_index: u64,
    pub(crate) epoch_index: u64,
    pub(crate) raw: Vec<u8>,
    pub(crate) hash: B256,
}

#[derive(Debug, Clone)]
pub(crate) struct ReportRow {
    pub(crate) index: u64,
    pub(crate) input_index: u64,
    pub(crate) epoch_index: u64,
    pub(crate) payload: Vec<u8>,
}

/// Epoch lifecycle, named as in the Cartesi node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EpochStatus {
    /// Has inputs; its last block is not yet behind the followed head, or inputs are pending.
    Open,
    /// Outputs root computed, no claim sent (no claimer key, or sending failed so far).
    ClaimComputed,
    /// `submitClaim` mined (an Authority accepts a claim in the same transaction).
    ClaimAccepted,
}

impl EpochStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EpochStatus::Open => "OPEN",
            EpochStatus::ClaimComputed => "CLAIM_COMPUTED",
            EpochStatus::ClaimAccepted => "CLAIM_ACCEPTED",
        }
    }
}

impl FromSql for EpochStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(match value.as_str()? {
            "OPEN" => EpochStatus::Open,
            "CLAIM_COMPUTED" => EpochStatus::ClaimComputed,
            "CLAIM_ACCEPTED" => EpochStatus::ClaimAccepted,
            _ => return Err(FromSqlError::InvalidType),
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct EpochRow {
    pub(crate) index: u64,
    pub(crate) status: EpochStatus,
    /// Input indexes `[lower, upper)` of the epoch.
    pub(crate) input_lower: u64,
    pub(crate) input_upper: u64,
    /// Outputs of the application after this epoch (the claimed tree's leaf count).
    pub(crate) output_count: Option<u64>,
    pub(crate) root: Option<B256>,
    pub(crate) claim_tx: Option<B256>,
}

/// What one processed input produced, ready to store.
#[derive(Debug)]
pub(crate) struct InputResult<'a> {
    pub(crate) input_index: u64,
    pub(crate) epoch_index: u64,
    pub(crate) status: InputStatus,
    pub(crate) exception: Option<&'a [u8]>,
    /// Outputs with their global indexes (empty unless accepted).
    pub(crate) outputs: &'a [(u64, Vec<u8>)],
    pub(crate) reports: &'a [Vec<u8>],
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (
    idx INTEGER PRIMARY KEY,
    block_number INTEGER NOT NULL,
    epoch_index INTEGER NOT NULL,
    msg_sender BLOB NOT NULL,
    raw BLOB NOT NULL,
    tx_hash BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'NONE',
    exception BLOB
);
CREATE INDEX IF NOT EXISTS inputs_epoch ON inputs(epoch_index);
CREATE INDEX IF NOT EXISTS inputs_status ON inputs(status, idx);
CREATE TABLE IF NOT EXISTS outputs (
    idx INTEGER PRIMARY KEY,
    input_index INTEGER NOT NULL,
    epoch_index INTEGER NOT NULL,
    raw BLOB NOT NULL,
    hash BLOB NOT NULL,
    destination BLOB
);
CREATE INDEX IF NOT EXISTS outputs_input ON outputs(input_index);
CREATE INDEX IF NOT EXISTS outputs_epoch ON outputs(epoch_index);
CREATE TABLE IF NOT EXISTS reports (
    idx INTEGER PRIMARY KEY,
    input_index INTEGER NOT NULL,
    epoch_index INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_input ON reports(input_index);
CREATE INDEX IF NOT EXISTS reports_epoch ON reports(epoch_index);
CREATE TABLE IF NOT EXISTS epochs (
    idx INTEGER PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'OPEN',
    output_count INTEGER,
    root BLOB,
    claim_tx BLOB
);
";

/// One SQLite connection. Cheap to lock: every method is a short synchronous query.
#[derive(Debug)]
pub(crate) struct Db {
    conn: Mutex<Connection>,
}

fn u(v: i64) -> u64 {
    // Every integer column is written from a u64 below 2^63, so the cast is lossless.
    v as u64
}

fn i(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::BadRequest(format!("{v} is out of range")))
}

impl Db {
    /// Opens (creating if needed) the database and binds it to one application: a database
    /// made for another application or chain is refused rather than mixed.
    pub(crate) fn open(path: &Path, chain_id: u64, app: Address) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        let db = Self {
            conn: Mutex::new(conn),
        };
        let identity = format!("{chain_id}:{app:#x}");
        match db.meta("application")? {
            None => db.set_meta("application", &identity)?,
            Some(stored) if stored == identity => {}
            Some(stored) => {
                return Err(Error::Config(format!(
                    "database {} belongs to {stored}, not {identity}",
                    path.display()
                )));
            }
        }
        Ok(db)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent; keep going.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// First block the follower has not read yet.
    pub(crate) fn next_block(&self) -> Result<Option<u64>> {
        self.meta("next_block")?
            .map(|v| {
                v.parse()
                    .map_err(|_| Error::Inconsistent("meta next_block".into()))
            })
            .transpose()
    }

    /// Stores inputs read from blocks up to `next_block - 1`, atomically with the new position.
    /// Input indexes must continue exactly where the stored ones end.
    pub(crate) fn add_inputs(
        &self,
        inputs: &[Input],
        epoch_length: u64,
        next_block: u64,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let first = u(
            tx.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM inputs", [], |r| {
                r.get(0)
            })?,
        );
        for (expected, input) in (first..).zip(inputs) {
            if input.index != expected {
                return Err(Error::Inconsistent(format!(
                    "input index {} read from the chain, {expected} expected",
                    input.index
                )));
            }
            let epoch = input.block_number / epoch_length;
            tx.execute(
                "INSERT INTO inputs(idx, block_number, epoch_index, msg_sender, raw, tx_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    i(input.index)?,
                    i(input.block_number)?,
                    i(epoch)?,
                    input.msg_sender.as_slice(),
                    input.raw,
                    input.tx_hash.as_slice()
                ],
            )?;
            tx.execute("INSERT OR IGNORE INTO epochs(idx) VALUES (?1)", [i(epoch)?])?;
        }
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('next_block', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [next_block.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn input_count(&self) -> Result<u64> {
        self.count("SELECT COALESCE(MAX(idx) + 1, 0) FROM inputs", &[])
    }

    /// Inputs are processed strictly in order, so this is also the index of the next one.
    pub(crate) fn processed_count(&self) -> Result<u64> {
        let next: Option<i64> = self.conn().query_row(
            "SELECT MIN(idx) FROM inputs WHERE status = 'NONE'",
            [],
            |r| r.get(0),
        )?;
        match next {
            Some(n) => Ok(u(n)),
            None => self.input_count(),
        }
    }

    /// The last block whose inputs are all processed (`None` before the first scan).
    pub(crate) fn synced_block(&self) -> Result<Option<u64>> {
        let pending: Option<i64> = self
            .conn()
            .query_row(
                "SELECT block_number FROM inputs WHERE status = 'NONE' ORDER BY idx LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match pending {
            Some(block) => u(block).checked_sub(1),
            None => self.next_block()?.and_then(|b| b.checked_sub(1)),
        })
    }

    pub(crate) fn output_count(&self) -> Result<u64> {
        self.count("SELECT COALESCE(MAX(idx) + 1, 0) FROM outputs", &[])
    }

    fn inputs_where(&self, clause: &str, args: &[&dyn ToSql]) -> Result<Vec<Input>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT idx, block_number, msg_sender, raw, tx_hash, status, exception
             FROM inputs {clause}"
        ))?;
        let rows = stmt.query_map(args, |r| {
            Ok(Input {
                index: u(r.get(0)?),
                block_number: u(r.get(1)?),
                msg_sender: Address::from(r.get::<_, [u8; 20]>(2)?),
                raw: r.get(3)?,
                tx_hash: B256::from(r.get::<_, [u8; 32]>(4)?),
                status: r.get(5)?,
                exception: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn input(&self, index: u64) -> Result<Option<Input>> {
        Ok(self.inputs_where("WHERE idx = ?1", &[&i(index)?])?.pop())
    }

    /// Processed inputs a fresh backend must see again, in order, from `from` on.
    pub(crate) fn replay_batch(&self, from: u64, limit: u64) -> Result<Vec<(Input, Vec<Vec<u8>>)>> {
        let inputs = self.inputs_where(
            "WHERE idx >= ?1 AND status IN ('ACCEPTED', 'REJECTED') ORDER BY idx LIMIT ?2",
            &[&i(from)?, &i(limit)?],
        )?;
        let (Some(first), Some(last)) = (inputs.first(), inputs.last()) else {
            return Ok(Vec::new());
        };
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT input_index, raw FROM outputs
             WHERE input_index BETWEEN ?1 AND ?2 ORDER BY idx",
        )?;
        let mut outputs = stmt
            .query_map([i(first.index)?, i(last.index)?], |r| {
                Ok((u(r.get(0)?), r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<(u64, Vec<u8>)>>>()?
            .into_iter()
            .peekable();
        Ok(inputs
            .into_iter()
            .map(|input| {
                let mut own = Vec::new();
                while let Some((_, raw)) = outputs.next_if(|(idx, _)| *idx == input.index) {
                    own.push(raw);
                }
                (input, own)
            })
            .collect())
    }

    /// Stores the result of one processed input in one transaction.
    pub(crate) fn record(&self, result: &InputResult<'_>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let input = i(result.input_index)?;
        let epoch = i(result.epoch_index)?;
        let updated = tx.execute(
            "UPDATE inputs SET status = ?2, exception = ?3 WHERE idx = ?1 AND status = 'NONE'",
            params![input, result.status.as_str(), result.exception],
        )?;
        if updated != 1 {
            return Err(Error::Inconsistent(format!(
                "input {} is missing or already processed",
                result.input_index
            )));
        }
        {
            let mut out = tx.prepare_cached(
                "INSERT INTO outputs(idx, input_index, epoch_index, raw, hash, destination)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (index, raw) in result.outputs {
                let destination = crate::outputs::destination(raw);
                out.execute(params![
                    i(*index)?,
                    input,
                    epoch,
                    raw,
                    keccak256(raw).as_slice(),
                    destination.as_ref().map(|a| a.as_slice())
                ])?;
            }
            let mut rep = tx.prepare_cached(
                "INSERT INTO reports(idx, input_index, epoch_index, payload)
                 VALUES ((SELECT COALESCE(MAX(idx) + 1, 0) FROM reports), ?1, ?2, ?3)",
            )?;
            for payload in result.reports {
                rep.execute(params![input, epoch, payload])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Output hashes `[0, count)` in index order: the leaves of a claimed tree.
    pub(crate) fn output_hashes(&self, count: u64) -> Result<Vec<B256>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT hash FROM outputs WHERE idx < ?1 ORDER BY idx")?;
        let hashes = stmt
            .query_map([i(count)?], |r| r.get::<_, [u8; 32]>(0).map(B256::from))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if hashes.len() as u64 != count {
            return Err(Error::Inconsistent(format!(
                "{} of {count} outputs stored",
                hashes.len()
            )));
        }
        Ok(hashes)
    }

    /// Number of outputs produced by inputs below `input_upper`.
    pub(crate) fn output_count_before_input(&self, input_upper: u64) -> Result<u64> {
        // Output indexes grow with input indexes: the last output before the bound tells.
        let last: Option<i64> = self
            .conn()
            .query_row(
                "SELECT idx FROM outputs WHERE input_index < ?1
                 ORDER BY input_index DESC, idx DESC LIMIT 1",
                [i(input_upper)?],
                |r| r.get(0),
            )
            .optional()?;
        Ok(last.map_or(0, |idx| u(idx) + 1))
    }

    fn epoch_where(&self, clause: &str, args: &[&dyn ToSql]) -> Result<Vec<EpochRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT e.idx, e.status, e.output_count, e.root, e.claim_tx,
                    (SELECT MIN(idx) FROM inputs WHERE epoch_index = e.idx),
                    (SELECT MAX(idx) FROM inputs WHERE epoch_index = e.idx)
             FROM epochs e {clause}"
        ))?;
        let rows = stmt.query_map(args, |r| {
            Ok(EpochRow {
                index: u(r.get(0)?),
                status: r.get(1)?,
                output_count: r.get::<_, Option<i64>>(2)?.map(u),
                root: r.get::<_, Option<[u8; 32]>>(3)?.map(B256::from),
                claim_tx: r.get::<_, Option<[u8; 32]>>(4)?.map(B256::from),
                input_lower: u(r.get(5)?),
                input_upper: u(r.get(6)?) + 1,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Epochs whose claim is not accepted yet, oldest first.
    pub(crate) fn unclaimed_epochs(&self) -> Result<Vec<EpochRow>> {
        self.epoch_where("WHERE e.status != 'CLAIM_ACCEPTED' ORDER BY e.idx", &[])
    }

    pub(crate) fn epoch(&self, index: u64) -> Result<Option<EpochRow>> {
        Ok(self.epoch_where("WHERE e.idx = ?1", &[&i(index)?])?.pop())
    }

    pub(crate) fn set_epoch_root(&self, index: u64, output_count: u64, root: B256) -> Result<()> {
        self.conn().execute(
            "UPDATE epochs SET status = 'CLAIM_COMPUTED', output_count = ?2, root = ?3
             WHERE idx = ?1",
            params![i(index)?, i(output_count)?, root.as_slice()],
        )?;
        Ok(())
    }

    pub(crate) fn set_epoch_claimed(&self, index: u64, claim_tx: Option<B256>) -> Result<()> {
        self.conn().execute(
            "UPDATE epochs SET status = 'CLAIM_ACCEPTED', claim_tx = ?2 WHERE idx = ?1",
            params![i(index)?, claim_tx.as_ref().map(|h| h.as_slice())],
        )?;
        Ok(())
    }

    // ---- paginated reads for the JSON-RPC API ----

    fn count(&self, sql: &str, args: &[&dyn ToSql]) -> Result<u64> {
        Ok(u(self.conn().query_row(sql, args, |r| r.get(0))?))
    }

    pub(crate) fn list_inputs(
        &self,
        f: &Filter,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<Input>, u64)> {
        let epoch = f.epoch_index.map(i).transpose()?;
        let sender = f.sender.map(|a| a.to_vec());
        let clause = "WHERE (?1 IS NULL OR epoch_index = ?1) AND (?2 IS NULL OR msg_sender = ?2)";
        let total = self.count(
            &format!("SELECT COUNT(*) FROM inputs {clause}"),
            &[&epoch, &sender],
        )?;
        let rows = self.inputs_where(
            &format!("{clause} ORDER BY idx LIMIT ?3 OFFSET ?4"),
            &[&epoch, &sender, &i(limit)?, &i(offset)?],
        )?;
        Ok((rows, total))
    }

    pub(crate) fn list_outputs(
        &self,
        f: &Filter,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<OutputRow>, u64)> {
        let epoch = f.epoch_index.map(i).transpose()?;
        let input = f.input_index.map(i).transpose()?;
        let kind = f.output_type.map(|s| s.to_vec());
        let dest = f.voucher_address.map(|a| a.to_vec());
        let clause = "WHERE (?1 IS NULL OR epoch_index = ?1) AND (?2 IS NULL OR input_index = ?2)
                      AND (?3 IS NULL OR substr(raw, 1, 4) = ?3)
                      AND (?4 IS NULL OR destination = ?4)";
        let args: [&dyn ToSql; 4] = [&epoch, &input, &kind, &dest];
        let total = self.count(&format!("SELECT COUNT(*) FROM outputs {clause}"), &args)?;
        let rows = self.outputs_where(
            &format!("{clause} ORDER BY idx LIMIT ?5 OFFSET ?6"),
            &[&epoch, &input, &kind, &dest, &i(limit)?, &i(offset)?],
        )?;
        Ok((rows, total))
    }

    fn outputs_where(&self, clause: &str, args: &[&dyn ToSql]) -> Result<Vec<OutputRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT idx, input_index, epoch_index, raw, hash FROM outputs {clause}"
        ))?;
        let rows = stmt.query_map(args, |r| {
            Ok(OutputRow {
                index: u(r.get(0)?),
                input_index: u(r.get(1)?),
                epoch_index: u(r.get(2)?),
                raw: r.get(3)?,
                hash: B256::from(r.get::<_, [u8; 32]>(4)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn output(&self, index: u64) -> Result<Option<OutputRow>> {
        Ok(self.outputs_where("WHERE idx = ?1", &[&i(index)?])?.pop())
    }

    pub(crate) fn list_reports(
        &self,
        f: &Filter,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<ReportRow>, u64)> {
        let epoch = f.epoch_index.map(i).transpose()?;
        let input = f.input_index.map(i).transpose()?;
        let clause = "WHERE (?1 IS NULL OR epoch_index = ?1) AND (?2 IS NULL OR input_index = ?2)";
        let total = self.count(
            &format!("SELECT COUNT(*) FROM reports {clause}"),
            &[&epoch, &input],
        )?;
        let rows = self.reports_where(
            &format!("{clause} ORDER BY idx LIMIT ?3 OFFSET ?4"),
            &[&epoch, &input, &i(limit)?, &i(offset)?],
        )?;
        Ok((rows, total))
    }

    fn reports_where(&self, clause: &str, args: &[&dyn ToSql]) -> Result<Vec<ReportRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT idx, input_index, epoch_index, payload FROM reports {clause}"
        ))?;
        let rows = stmt.query_map(args, |r| {
            Ok(ReportRow {
                index: u(r.get(0)?),
                input_index: u(r.get(1)?),
                epoch_index: u(r.get(2)?),
                payload: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub(crate) fn report(&self, index: u64) -> Result<Option<ReportRow>> {
        Ok(self.reports_where("WHERE idx = ?1", &[&i(index)?])?.pop())
    }

    pub(crate) fn list_epochs(
        &self,
        f: &Filter,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<EpochRow>, u64)> {
        let status = f.status.clone();
        let total = self.count(
            "SELECT COUNT(*) FROM epochs WHERE (?1 IS NULL OR status = ?1)",
            &[&status],
        )?;
        let rows = self.epoch_where(
            "WHERE (?1 IS NULL OR e.status = ?1) ORDER BY e.idx LIMIT ?2 OFFSET ?3",
            &[&status, &i(limit)?, &i(offset)?],
        )?;
        Ok((rows, total))
    }
}
