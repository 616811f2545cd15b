//! Every statement of the store, written once for SQLite and PostgreSQL. Placeholders are
//! `$N`, which SQLite reads as numbered parameters too; what truly differs comes from
//! [`Dialect`]. Work on many rows (the outbox rows and device counters of a group commit,
//! device and receipt lookups) is a few statements of [`shaped_chunks`], not one per row; their placeholder lists come from [`Dialect::params`].

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};
use witness_protocol::DeviceId;

use super::dialect::Dialect;
use super::exec::{Bind, Exec, Get};
use super::logic::{self, DeviceState, Effect, IntakeGroup, NewMessage, RegistrarContext};
use super::{
    Account, Batch, DeviceRow, InputOutcome, InputRow, IntakeJob, JobOutcome, QueueStats, Receipt,
    ReceiptRow, Rejection, Role, Store, SubmissionCounts, array, device_id_from, from_db,
    kind_name, now_ms, to_db,
};
use crate::error::{GatewayError, Result};

/// `items` in statements of at most `most` rows (a power of two, from [`Exec::most_rows`]):
/// chunks whose lengths are powers of two, largest first. A statement's text depends only on
/// its row count, so a handful of texts serve every size and each is prepared once per
/// connection and then found in the statement cache, where a chunk of exactly the rows at
/// hand would prepare a new statement of thousands of placeholders for nearly every group
/// size (docs/BENCHMARKS.md, section 9).
fn shaped_chunks<T>(items: &[T], most: usize) -> impl Iterator<Item = (usize, &[T])> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let left = items.len() - start;
        (left > 0).then(|| {
            let rows = most.min(1 << left.ilog2());
            let chunk = (start, &items[start..start + rows]);
            start += rows;
            chunk
        })
    })
}

const DEVICE_COLUMNS: &str = "id, model, public_key, status, registered_by, owner_account, \
     owner_key, owner_sequence, last_counter, created_at, rollup_counter";

const RECEIPT_SELECT: &str = "SELECT m.hash, m.kind, m.device_id, m.counter, m.received_at, \
     m.position, m.outcome, m.reason, i.state, i.tx_hash, i.input_index, i.block_number, \
     m.refusals, m.last_refusal FROM messages m LEFT JOIN inputs i ON i.id = m.input_id";

const INPUT_COLUMNS: &str =
    "id, payload, message_count, state, scan_from_block, nonce, tx_hash, input_index";

/// `conflict()` if `e` is a unique-constraint violation, else the database error.
fn unique_violation(e: sqlx::Error, conflict: impl FnOnce() -> GatewayError) -> GatewayError {
    if e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
    {
        conflict()
    } else {
        e.into()
    }
}

fn device_from(row: &impl Get) -> Result<DeviceRow> {
    let id: Vec<u8> = row.col(0)?;
    let model: i64 = row.col(1)?;
    let key: Vec<u8> = row.col(2)?;
    let status: String = row.col(3)?;
    let owner_key: Option<Vec<u8>> = row.col(6)?;
    Ok(DeviceRow {
        id: device_id_from(&id)?,
        model: u32::try_from(model).map_err(|_| GatewayError::Database("model".into()))?,
        public_key: array(&key, "public key")?,
        active: status == "active",
        registered_by: row.col(4)?,
        owner_account: row.col(5)?,
        owner_key: owner_key.map(|k| array(&k, "owner key")).transpose()?,
        owner_sequence: row.col::<Option<i64>>(7)?.map(from_db),
        last_counter: row.col::<Option<i64>>(8)?.map(from_db),
        created_at: row.col(9)?,
        rollup_counter: row.col::<Option<i64>>(10)?.map(from_db),
    })
}

fn receipt_from(row: &impl Get) -> Result<ReceiptRow> {
    Ok(ReceiptRow {
        hash: row.col(0)?,
        kind: row.col(1)?,
        device_id: row.col(2)?,
        counter: row.col(3)?,
        received_at: row.col(4)?,
        position: row.col(5)?,
        outcome: row.col(6)?,
        reason: row.col(7)?,
        input_state: row.col(8)?,
        tx_hash: row.col(9)?,
        input_index: row.col(10)?,
        block_number: row.col(11)?,
        refusals: row.col(12)?,
        last_refusal: row.col(13)?,
    })
}

fn input_from(row: &AnyRow) -> Result<InputRow> {
    let tx_hash: Option<Vec<u8>> = row.try_get(6)?;
    Ok(InputRow {
        id: row.try_get(0)?,
        payload: row.try_get(1)?,
        message_count: row.try_get(2)?,
        state: row.try_get(3)?,
        scan_from_block: from_db(row.try_get(4)?),
        nonce: row.try_get::<Option<i64>, _>(5)?.map(from_db),
        tx_hash: tx_hash.map(|h| array(&h, "tx hash")).transpose()?,
        input_index: row.try_get::<Option<i64>, _>(7)?.map(from_db),
    })
}

fn account_from(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        role: Role::parse(&row.try_get::<String, _>(2)?)?,
        created_at: row.try_get(3)?,
    })
}

/// `{select} WHERE {column} IN (keys) {tail}`, in [`shaped_chunks`] of keys
/// (in the given order, so that row locks are taken in that order).
async fn select_in<E: Exec>(
    conn: &mut E,
    dialect: &Dialect,
    select: &str,
    column: &str,
    keys: &[Vec<u8>],
    tail: &str,
) -> Result<Vec<E::Row>> {
    let mut rows = Vec::new();
    for (_, chunk) in shaped_chunks(keys, E::most_rows(1)) {
        let sql = format!(
            "{select} WHERE {column} IN ({}){tail}",
            dialect.params(1, chunk.len())
        );
        let binds: Vec<Bind<'_>> = chunk.iter().map(|key| Bind::Blob(Some(key))).collect();
        rows.extend(conn.rows(&sql, &binds).await?);
    }
    Ok(rows)
}

/// The rows of `columns` of the devices among `ids`, locked with `lock` (see
/// [`Dialect::for_update`](super::dialect::Dialect::for_update)) in id order.
async fn select_devices<E: Exec>(
    conn: &mut E,
    dialect: &Dialect,
    columns: &str,
    ids: impl IntoIterator<Item = DeviceId>,
    lock: &str,
) -> Result<Vec<E::Row>> {
    let mut keys: Vec<Vec<u8>> = ids.into_iter().map(|id| id.0.to_vec()).collect();
    keys.sort();
    keys.dedup();
    let select = format!("SELECT {columns} FROM devices");
    select_in(
        conn,
        dialect,
        &select,
        "id",
        &keys,
        &format!(" ORDER BY id{lock}"),
    )
    .await
}

/// The devices among `ids`, locked like [`select_devices`].
async fn load_devices(
    conn: &mut AnyConnection,
    dialect: &Dialect,
    ids: impl IntoIterator<Item = DeviceId>,
    lock: &str,
) -> Result<HashMap<DeviceId, DeviceRow>> {
    let rows = select_devices(conn, dialect, DEVICE_COLUMNS, ids, lock).await?;
    rows.iter()
        .map(|row| device_from(row).map(|device| (device.id, device)))
        .collect()
}

/// What a group commit checks of the devices among `ids` (five columns, not the whole row:
/// a group commit reads hundreds), locked like [`select_devices`]. The replay check's last
/// counter is the higher of the gateway's own and the one seeded from the rollup.
async fn intake_devices<E: Exec>(
    conn: &mut E,
    dialect: &Dialect,
    ids: impl IntoIterator<Item = DeviceId>,
    lock: &str,
) -> Result<HashMap<DeviceId, DeviceState>> {
    let columns = "id, public_key, status, last_counter, rollup_counter";
    let rows = select_devices(conn, dialect, columns, ids, lock).await?;
    rows.iter()
        .map(|row| {
            let id: Vec<u8> = row.col(0)?;
            let key: Vec<u8> = row.col(1)?;
            let status: String = row.col(2)?;
            let state = DeviceState {
                key: array(&key, "public key")?,
                active: status == "active",
                last_counter: row
                    .col::<Option<i64>>(3)?
                    .map(from_db)
                    .max(row.col::<Option<i64>>(4)?.map(from_db)),
            };
            Ok((device_id_from(&id)?, state))
        })
        .collect()
}

/// The last sequence relayed by each of `keys` that relayed any, locked like
/// [`load_devices`].
async fn registrar_sequences(
    conn: &mut AnyConnection,
    dialect: &Dialect,
    keys: impl IntoIterator<Item = [u8; 32]>,
    lock: &str,
) -> Result<HashMap<[u8; 32], u64>> {
    let mut keys: Vec<Vec<u8>> = keys.into_iter().map(|k| k.to_vec()).collect();
    keys.sort();
    keys.dedup();
    let select = "SELECT key, last_sequence FROM registrars";
    let rows = select_in(
        conn,
        dialect,
        select,
        "key",
        &keys,
        &format!(" ORDER BY key{lock}"),
    )
    .await?;
    rows.iter()
        .map(|row| {
            let key: Vec<u8> = row.try_get(0)?;
            Ok((array(&key, "registrar key")?, from_db(row.try_get(1)?)))
        })
        .collect()
}

/// The receipts of those of `hashes` that are stored.
async fn lookup_receipts<E: Exec>(
    conn: &mut E,
    dialect: &Dialect,
    hashes: &[[u8; 32]],
) -> Result<HashMap<[u8; 32], Receipt>> {
    let keys: Vec<Vec<u8>> = hashes.iter().map(|h| h.to_vec()).collect();
    let rows = select_in(conn, dialect, RECEIPT_SELECT, "m.hash", &keys, "").await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let receipt = receipt_from(row)?;
        found.insert(array(&receipt.hash, "hash")?, receipt.into_receipt());
    }
    Ok(found)
}

/// Appends rows to the outbox, in order.
async fn insert_messages<E: Exec>(
    conn: &mut E,
    dialect: &Dialect,
    rows: &[NewMessage],
) -> Result<()> {
    for (_, chunk) in shaped_chunks(rows, E::most_rows(6)) {
        let sql = format!(
            "INSERT INTO messages (kind, hash, device_id, counter, body, received_at) VALUES {}",
            dialect.tuples(1, chunk.len(), 6)
        );
        let binds: Vec<Bind<'_>> = chunk
            .iter()
            .flat_map(|row| {
                [
                    Bind::Int(Some(row.kind)),
                    Bind::Blob(Some(&row.hash)),
                    Bind::Blob(row.device_id.as_ref().map(|d| &d.0[..])),
                    Bind::Int(row.counter.map(to_db)),
                    Bind::Blob(Some(&row.body)),
                    Bind::Int(Some(row.received_at)),
                ]
            })
            .collect();
        conn.execute(&sql, &binds).await?;
    }
    Ok(())
}

/// Sets the devices' last accepted counters.
async fn set_last_counters<E: Exec>(
    conn: &mut E,
    dialect: &Dialect,
    counters: &[(DeviceId, u64)],
) -> Result<()> {
    for (_, chunk) in shaped_chunks(counters, E::most_rows(2)) {
        let sql = format!(
            "UPDATE devices SET last_counter = v.column2 FROM (VALUES {}) AS v
             WHERE devices.id = v.column1",
            dialect.tuples(1, chunk.len(), 2)
        );
        let binds: Vec<Bind<'_>> = chunk
            .iter()
            .flat_map(|(id, counter)| [Bind::Blob(Some(&id.0)), Bind::Int(Some(to_db(*counter)))])
            .collect();
        conn.execute(&sql, &binds).await?;
    }
    Ok(())
}

/// Applies what [`logic`] decided (outbox rows last, in bulk).
async fn apply(conn: &mut AnyConnection, dialect: &Dialect, effects: Vec<Effect>) -> Result<()> {
    let mut messages = Vec::new();
    for effect in effects {
        match effect {
            Effect::InsertDevice {
                id,
                model,
                key,
                registered_by,
                now,
            } => {
                sqlx::query(
                    "INSERT INTO devices (id, model, public_key, status, registered_by, created_at)
                     VALUES ($1, $2, $3, 'active', $4, $5)",
                )
                .bind(&id.0[..])
                .bind(i64::from(model))
                .bind(&key[..])
                .bind(registered_by)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(|e| {
                    // Another replica registered it since this transaction read the devices.
                    unique_violation(e, || {
                        GatewayError::conflict(
                            "already_registered",
                            format!("device {id} is already registered"),
                        )
                    })
                })?;
            }
            Effect::SetDeviceActive { id, active } => {
                sqlx::query("UPDATE devices SET status = $1 WHERE id = $2")
                    .bind(if active { "active" } else { "revoked" })
                    .bind(&id.0[..])
                    .execute(&mut *conn)
                    .await?;
            }
            Effect::SetDeviceKey { id, key } => {
                sqlx::query("UPDATE devices SET public_key = $1 WHERE id = $2")
                    .bind(&key[..])
                    .bind(&id.0[..])
                    .execute(&mut *conn)
                    .await?;
            }
            Effect::SetRegistrarSequence { key, sequence } => {
                sqlx::query(
                    "INSERT INTO registrars (key, last_sequence) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET last_sequence = excluded.last_sequence",
                )
                .bind(&key[..])
                .bind(to_db(sequence))
                .execute(&mut *conn)
                .await?;
            }
            Effect::SetOwner {
                id,
                account,
                key,
                sequence,
            } => {
                sqlx::query(
                    "UPDATE devices SET owner_account = $1, owner_key = $2, owner_sequence = $3
                     WHERE id = $4",
                )
                .bind(account)
                .bind(&key[..])
                .bind(to_db(sequence))
                .bind(&id.0[..])
                .execute(&mut *conn)
                .await?;
            }
            Effect::InsertMessage(row) => messages.push(row),
        }
    }
    insert_messages(conn, dialect, &messages).await
}

/// The statements of a group commit, inside the caller's transaction: read the devices,
/// let [`IntakeGroup`] decide each job, write its outbox rows and counters.
async fn group_commit<E: Exec>(
    conn: &mut E,
    dialect: &Dialect,
    jobs: &[IntakeJob],
) -> Result<Vec<Result<JobOutcome>>> {
    let ids = jobs.iter().flat_map(IntakeJob::device_ids);
    let devices = intake_devices(conn, dialect, ids, dialect.for_update()).await?;
    let mut group = IntakeGroup::new(devices, now_ms());
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let lookups = group.lookups(job);
        let existing = if lookups.is_empty() {
            HashMap::new()
        } else {
            lookup_receipts(conn, dialect, &lookups).await?
        };
        results.push(group.finish(job, &existing));
    }
    let (rows, counters) = group.into_effects();
    insert_messages(conn, dialect, &rows).await?;
    set_last_counters(conn, dialect, &counters).await?;
    Ok(results)
}

impl Store {
    // ---- accounts ----

    /// Creates an account; `username_taken` if the name exists.
    pub async fn create_account(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<Account> {
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (username, password_hash, role, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(&self.writer)
        .await
        .map_err(|e| {
            unique_violation(e, || {
                GatewayError::conflict(
                    "username_taken",
                    format!("the username {username:?} is taken"),
                )
            })
        })?;
        Ok(Account {
            id,
            username: username.to_owned(),
            role,
            created_at: now,
        })
    }

    /// The account and its password hash.
    pub async fn account_by_username(&self, username: &str) -> Result<Option<(Account, String)>> {
        let row = sqlx::query(
            "SELECT id, username, role, created_at, password_hash FROM accounts
             WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| Ok((account_from(&r)?, r.try_get(4)?)))
            .transpose()
    }

    /// All accounts, by id.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT id, username, role, created_at FROM accounts ORDER BY id")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(account_from).collect()
    }

    /// Stores a session (by the SHA-256 of its token).
    pub async fn create_session(
        &self,
        token_hash: [u8; 32],
        account_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.writer)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&token_hash[..])
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The account of a live session.
    pub async fn session_account(&self, token_hash: [u8; 32]) -> Result<Option<Account>> {
        sqlx::query(
            "SELECT a.id, a.username, a.role, a.created_at FROM sessions s
             JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(&token_hash[..])
        .bind(now_ms())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(account_from)
        .transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: [u8; 32]) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&token_hash[..])
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // ---- devices ----

    /// One device.
    pub async fn device(&self, id: DeviceId) -> Result<Option<DeviceRow>> {
        let mut conn = self.reader.acquire().await?;
        Ok(load_devices(&mut conn, &self.dialect, [id], "")
            .await?
            .remove(&id))
    }

    /// Raises the device's rollup counter (the last counter the rollup consumed, as the node
    /// reported it) to `counter`; the replay check refuses counters up to the higher of it and
    /// the gateway's own. Never lowers it. Whether the device exists.
    pub async fn seed_rollup_counter(&self, id: DeviceId, counter: u64) -> Result<bool> {
        let mut tx = self.dialect.begin(&self.writer).await?;
        let current: Option<Option<i64>> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT rollup_counter FROM devices WHERE id = $1{}",
            self.dialect.for_update()
        )))
        .bind(&id.0[..])
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current else {
            return Ok(false);
        };
        // Compared here: the database holds u64 counters bit for bit in signed columns.
        if current.map(from_db).is_none_or(|c| c < counter) {
            sqlx::query("UPDATE devices SET rollup_counter = $1 WHERE id = $2")
                .bind(to_db(counter))
                .bind(&id.0[..])
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// `account` holds the device's owner key `key`, which the rollup bound by a recovery
    /// (PROTOCOL.md 8.4.2): it becomes the owner this gateway knows, as a claim would make
    /// it; the ownership sequence stays (a recovery does not move it).
    pub async fn adopt_owner(&self, account: i64, id: DeviceId, key: [u8; 32]) -> Result<()> {
        sqlx::query("UPDATE devices SET owner_account = $1, owner_key = $2 WHERE id = $3")
            .bind(account)
            .bind(&key[..])
            .bind(&id.0[..])
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Devices owned by (`owner = true`) or registered by an account; all devices for `None`.
    pub async fn devices(&self, account: Option<i64>, owner: bool) -> Result<Vec<DeviceRow>> {
        let filter = match (account, owner) {
            (None, _) => "CAST($1 AS BIGINT) IS NULL",
            (Some(_), true) => "owner_account = $1",
            (Some(_), false) => "registered_by = $1",
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE {filter} ORDER BY created_at, id"
        )))
        .bind(account)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(device_from).collect()
    }

    /// Submission state of a device's envelopes.
    pub async fn submission_counts(&self, id: DeviceId) -> Result<SubmissionCounts> {
        let last: Option<Option<i64>> =
            sqlx::query_scalar("SELECT last_counter FROM devices WHERE id = $1")
                .bind(&id.0[..])
                .fetch_optional(&self.reader)
                .await?;
        let row = sqlx::query(
            "SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN i.state IS NULL OR i.state = 'batched' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN i.state = 'sent' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN i.state = 'included' AND m.outcome IS NULL THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN m.outcome = 'attested' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN m.outcome = 'rejected' THEN 1 ELSE 0 END), 0),
                MAX(m.received_at)
             FROM messages m LEFT JOIN inputs i ON i.id = m.input_id
             WHERE m.device_id = $1 AND m.kind = 1",
        )
        .bind(&id.0[..])
        .fetch_one(&self.reader)
        .await?;
        let n = |i: usize| -> Result<u64> { Ok(from_db(row.try_get::<i64, _>(i)?)) };
        Ok(SubmissionCounts {
            accepted: n(0)?,
            pending: n(1)?,
            submitted: n(2)?,
            included: n(3)?,
            attested: n(4)?,
            rejected: n(5)?,
            last_counter: last.flatten().map(from_db),
            last_received_at: row.try_get(6)?,
        })
    }

    /// The receipts of a device's latest envelopes, newest first (the `messages_device` index
    /// read backwards: as cheap for a device with a long history as for a new one).
    pub async fn recent_receipts(&self, id: DeviceId, limit: i64) -> Result<Vec<Receipt>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{RECEIPT_SELECT} WHERE m.device_id = $1 AND m.kind = 1 ORDER BY m.id DESC LIMIT $2"
        )))
        .bind(&id.0[..])
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| Ok(receipt_from(row)?.into_receipt()))
            .collect()
    }

    // ---- writes ----

    /// Records registrar messages (all or nothing) and queues them.
    pub async fn commit_registrar(
        &self,
        account_id: i64,
        items: Vec<logic::RegistrarItem>,
    ) -> Result<Vec<Receipt>> {
        let d = &self.dialect;
        let lock = d.for_update();
        let mut tx = d.begin(&self.writer).await?;
        let hashes: Vec<[u8; 32]> = items.iter().map(|i| i.hash).collect();
        let context = RegistrarContext {
            existing: lookup_receipts(&mut *tx, d, &hashes).await?,
            devices: load_devices(
                &mut tx,
                d,
                items.iter().flat_map(|i| i.message.action.devices()),
                lock,
            )
            .await?,
            sequences: registrar_sequences(
                &mut tx,
                d,
                items.iter().map(|i| i.registrar_key()),
                lock,
            )
            .await?,
        };
        let (effects, receipts) = logic::decide_registrar(account_id, &items, &context, now_ms())?;
        apply(&mut tx, &self.dialect, effects).await?;
        tx.commit().await?;
        Ok(receipts)
    }

    /// Records a claim and queues the ownership statement.
    pub async fn commit_claim(&self, account_id: i64, item: logic::ClaimItem) -> Result<Receipt> {
        self.commit_one(item.statement.device_id, item.hash, |device, existing| {
            logic::decide_claim(account_id, &item, device, existing, now_ms())
        })
        .await
    }

    /// Queues an owner's objection.
    pub async fn commit_objection(&self, item: logic::ObjectionItem) -> Result<Receipt> {
        self.commit_one(item.objection.device_id, item.hash, |device, existing| {
            logic::decide_objection(&item, device, existing, now_ms())
        })
        .await
    }

    /// One message about one device: `decide` sees the device's row, locked, and the
    /// message's receipt if it was queued before; its effects commit together.
    async fn commit_one(
        &self,
        id: DeviceId,
        hash: [u8; 32],
        decide: impl FnOnce(Option<&DeviceRow>, Option<Receipt>) -> Result<(Vec<Effect>, Receipt)>,
    ) -> Result<Receipt> {
        let mut tx = self.dialect.begin(&self.writer).await?;
        let device = load_devices(&mut tx, &self.dialect, [id], self.dialect.for_update())
            .await?
            .remove(&id);
        let existing = lookup_receipts(&mut *tx, &self.dialect, &[hash])
            .await?
            .remove(&hash);
        let (effects, receipt) = decide(device.as_ref(), existing)?;
        apply(&mut tx, &self.dialect, effects).await?;
        tx.commit().await?;
        Ok(receipt)
    }

    /// Group commit of intake jobs: one transaction for all, each job all or nothing. On
    /// SQLite it runs on the intake connection, through rusqlite (see [`super::exec`]).
    pub async fn commit_intake(&self, jobs: Vec<IntakeJob>) -> Result<Vec<Result<JobOutcome>>> {
        let dialect = self.dialect.clone();
        match self.dialect.intake_connection() {
            Some(intake) => {
                let runtime = tokio::runtime::Handle::current();
                tokio::task::spawn_blocking(move || {
                    let mut conn = intake
                        .lock()
                        .map_err(|_| GatewayError::Internal("intake connection poisoned".into()))?;
                    let mut tx =
                        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    // Every future of a rusqlite `Exec` is ready when polled: this does not wait.
                    let results = runtime.block_on(group_commit(&mut tx, &dialect, &jobs))?;
                    tx.commit()?;
                    Ok(results)
                })
                .await?
            }
            None => {
                let mut tx = dialect.begin(&self.writer).await?;
                let results = group_commit(&mut *tx, &dialect, &jobs).await?;
                tx.commit().await?;
                Ok(results)
            }
        }
    }

    /// A message's receipt by hash.
    pub async fn receipt(&self, hash: [u8; 32]) -> Result<Option<Receipt>> {
        let mut conn = self.reader.acquire().await?;
        Ok(lookup_receipts(&mut *conn, &self.dialect, &[hash])
            .await?
            .remove(&hash))
    }

    // ---- submitter ----

    /// Inputs not yet known to be included, oldest first.
    pub async fn open_inputs(&self) -> Result<Vec<InputRow>> {
        self.inputs_where("WHERE state <> 'included'").await
    }

    /// Payloads of all inputs ever built, with their states (tests and diagnostics).
    pub async fn inputs(&self) -> Result<Vec<InputRow>> {
        self.inputs_where("").await
    }

    async fn inputs_where(&self, filter: &str) -> Result<Vec<InputRow>> {
        let sql = format!("SELECT {INPUT_COLUMNS} FROM inputs {filter} ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(input_from).collect()
    }

    /// The oldest pending messages, up to `max_bytes` of encoded messages and
    /// `max_messages` messages.
    pub async fn next_batch(&self, max_bytes: usize, max_messages: usize) -> Result<Batch> {
        let mut batch = Batch::default();
        let mut bytes = 0usize;
        let mut after = i64::MIN;
        loop {
            let rows = sqlx::query(
                "SELECT id, body, received_at FROM messages
                 WHERE input_id IS NULL AND id > $1 ORDER BY id LIMIT 256",
            )
            .bind(after)
            .fetch_all(&self.reader)
            .await?;
            if rows.is_empty() {
                return Ok(batch);
            }
            for row in &rows {
                let id: i64 = row.try_get(0)?;
                let body: Vec<u8> = row.try_get(1)?;
                let count = batch.messages.len() + 1;
                if count > max_messages
                    || witness_protocol::RollupInput::header_len(count) + bytes + body.len()
                        > max_bytes
                {
                    batch.full = true;
                    return Ok(batch);
                }
                if batch.oldest_received_at.is_none() {
                    batch.oldest_received_at = Some(row.try_get(2)?);
                }
                bytes += body.len();
                batch.messages.push((id, body));
                after = id;
            }
        }
    }

    /// Like [`Self::next_batch`] without envelopes: the oldest pending statements (registrar
    /// messages, ownership statements) that may go ahead of the pending envelopes, which the
    /// submitter holds back while the rollup does not authorize the gateway to send them
    /// ([`logic::Overtaking`] decides which).
    pub async fn next_statements(&self, max_bytes: usize, max_messages: usize) -> Result<Batch> {
        let envelope = super::kind::ENVELOPE;
        // The kind is a literal, not a parameter, so that SQLite can use the partial index
        // `messages_pending_statements`.
        let sql = format!(
            "SELECT m.id, m.body, m.received_at, m.device_id,
                 CAST(CASE WHEN m.device_id IS NOT NULL AND EXISTS (
                     SELECT 1 FROM messages e
                     WHERE e.device_id = m.device_id AND e.id < m.id
                         AND e.input_id IS NULL AND e.kind = {envelope}
                 ) THEN 1 ELSE 0 END AS BIGINT)
             FROM messages m
             WHERE m.input_id IS NULL AND m.kind <> {envelope} AND m.id > $1
             ORDER BY m.id LIMIT 256"
        );
        let mut batch = Batch::default();
        let mut overtaking = logic::Overtaking::default();
        let mut bytes = 0usize;
        let mut after = i64::MIN;
        loop {
            let rows = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(after)
                .fetch_all(&self.reader)
                .await?;
            if rows.is_empty() {
                return Ok(batch);
            }
            for row in &rows {
                let device_id: Option<Vec<u8>> = row.try_get(3)?;
                let statement = logic::PendingStatement {
                    id: row.try_get(0)?,
                    body: row.try_get(1)?,
                    received_at: row.try_get(2)?,
                    device_id: device_id.as_deref().map(device_id_from).transpose()?,
                    behind_envelope: row.try_get::<i64, _>(4)? != 0,
                };
                after = statement.id;
                if !overtaking.may_pass(&statement) {
                    continue;
                }
                let count = batch.messages.len() + 1;
                if count > max_messages
                    || witness_protocol::RollupInput::header_len(count)
                        + bytes
                        + statement.body.len()
                        > max_bytes
                {
                    batch.full = true;
                    return Ok(batch);
                }
                batch
                    .oldest_received_at
                    .get_or_insert(statement.received_at);
                bytes += statement.body.len();
                batch.messages.push((statement.id, statement.body));
            }
        }
    }

    /// Persists an input built from `message_ids` (in order) before anything is sent.
    pub async fn create_input(
        &self,
        message_ids: Vec<i64>,
        payload: Vec<u8>,
        scan_from_block: u64,
    ) -> Result<InputRow> {
        let mut tx = self.dialect.begin(&self.writer).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inputs (payload, message_count, state, scan_from_block, created_at)
             VALUES ($1, $2, 'batched', $3, $4) RETURNING id",
        )
        .bind(&payload[..])
        .bind(message_ids.len() as i64)
        .bind(to_db(scan_from_block))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        let mut updated = 0;
        for (first, chunk) in shaped_chunks(&message_ids, AnyConnection::most_rows(2)) {
            let sql = format!(
                "UPDATE messages SET input_id = {}, position = v.column2 FROM (VALUES {}) AS v
                 WHERE messages.id = v.column1 AND messages.input_id IS NULL",
                self.dialect.params(1, 1),
                self.dialect.tuples(2, chunk.len(), 2)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(id);
            for (i, message) in chunk.iter().enumerate() {
                query = query.bind(*message).bind((first + i) as i64);
            }
            updated += query.execute(&mut *tx).await?.rows_affected();
        }
        if updated != message_ids.len() as u64 {
            return Err(GatewayError::Internal(
                "some batched messages are no longer pending".into(),
            ));
        }
        tx.commit().await?;
        Ok(InputRow {
            id,
            message_count: message_ids.len() as i64,
            payload,
            state: "batched".into(),
            scan_from_block,
            nonce: None,
            tx_hash: None,
            input_index: None,
        })
    }

    /// Reserves (or, with `None`, releases a burnt) nonce for an input.
    pub async fn set_input_nonce(&self, id: i64, nonce: Option<u64>) -> Result<()> {
        sqlx::query(
            "UPDATE inputs SET nonce = $1,
                 state = CASE WHEN CAST($1 AS BIGINT) IS NULL THEN 'batched' ELSE state END
             WHERE id = $2",
        )
        .bind(nonce.map(to_db))
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Records a broadcast transaction.
    pub async fn mark_sent(&self, id: i64, tx_hash: [u8; 32]) -> Result<()> {
        sqlx::query(
            "UPDATE inputs SET state = 'sent', tx_hash = $1, sent_at = $2, attempts = attempts + 1
             WHERE id = $3 AND state <> 'included'",
        )
        .bind(&tx_hash[..])
        .bind(now_ms())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Records inclusion.
    pub async fn mark_included(
        &self,
        id: i64,
        tx_hash: [u8; 32],
        input_index: u64,
        block_number: u64,
        gas_used: Option<u64>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE inputs SET state = 'included', tx_hash = $1, input_index = $2,
                 block_number = $3, gas_used = $4, included_at = $5, last_error = NULL
             WHERE id = $6",
        )
        .bind(&tx_hash[..])
        .bind(to_db(input_index))
        .bind(to_db(block_number))
        .bind(gas_used.map(to_db))
        .bind(now_ms())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Records a failed attempt.
    pub async fn record_input_error(&self, id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE inputs SET last_error = $1 WHERE id = $2")
            .bind(error)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Included inputs whose outcome was not fetched yet, with index below `below`.
    pub async fn unchecked_inputs(&self, below: u64, limit: i64) -> Result<Vec<(i64, u64)>> {
        let rows = sqlx::query(
            "SELECT id, input_index FROM inputs
             WHERE state = 'included' AND outcome_checked = 0 AND input_index < $1
             ORDER BY input_index LIMIT $2",
        )
        .bind(to_db(below))
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, from_db(r.try_get(1)?))))
            .collect()
    }

    /// Records the backend's verdict on an input's messages; how many went back to pending.
    ///
    /// An input refused as a whole changed nothing on the rollup. With `requeue` (a refusal
    /// that can pass later), its messages become pending again, keeping their outbox ids and
    /// so their acknowledgement order, ahead of everything acknowledged after them; a message
    /// already requeued [`MAX_REQUEUES`](super::MAX_REQUEUES) times is rejected instead.
    /// Without `requeue` they are all rejected with the input's reason. Either way the refusal
    /// is counted on each message and its reason kept (the receipt shows both).
    pub async fn record_outcome(&self, input_id: i64, outcome: InputOutcome) -> Result<u64> {
        let mut tx = self.dialect.begin(&self.writer).await?;
        let mut requeued = 0;
        match &outcome.input_refused {
            Some(reason) => {
                let limit = if outcome.requeue {
                    to_db(super::MAX_REQUEUES)
                } else {
                    0
                };
                sqlx::query(
                    "UPDATE messages SET outcome = 'rejected', reason = $1,
                         refusals = refusals + 1, last_refusal = $1
                     WHERE input_id = $2 AND refusals >= $3",
                )
                .bind(reason)
                .bind(input_id)
                .bind(limit)
                .execute(&mut *tx)
                .await?;
                requeued = sqlx::query(
                    "UPDATE messages SET input_id = NULL, position = NULL,
                         refusals = refusals + 1, last_refusal = $1
                     WHERE input_id = $2 AND outcome IS NULL",
                )
                .bind(reason)
                .bind(input_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            None => {
                sqlx::query("UPDATE messages SET outcome = 'attested' WHERE input_id = $1")
                    .bind(input_id)
                    .execute(&mut *tx)
                    .await?;
                for (position, reason) in &outcome.rejected {
                    sqlx::query(
                        "UPDATE messages SET outcome = 'rejected', reason = $1
                         WHERE input_id = $2 AND position = $3",
                    )
                    .bind(reason)
                    .bind(input_id)
                    .bind(to_db(*position))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        sqlx::query("UPDATE inputs SET outcome_checked = 1 WHERE id = $1")
            .bind(input_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(requeued)
    }

    /// Queue figures.
    pub async fn queue_stats(&self) -> Result<QueueStats> {
        let row = sqlx::query(
            "SELECT
                (SELECT COUNT(*) FROM messages WHERE input_id IS NULL),
                (SELECT COUNT(*) FROM messages WHERE input_id IN
                    (SELECT id FROM inputs WHERE state = 'batched')),
                (SELECT COUNT(*) FROM messages WHERE input_id IN
                    (SELECT id FROM inputs WHERE state = 'sent')),
                (SELECT COUNT(*) FROM messages WHERE outcome = 'rejected'),
                (SELECT received_at FROM messages WHERE id =
                    (SELECT MIN(id) FROM messages WHERE input_id IS NULL)),
                (SELECT MIN(received_at) FROM messages WHERE input_id IN
                    (SELECT id FROM inputs WHERE state <> 'included')),
                (SELECT COUNT(*) FROM inputs WHERE state = 'included'),
                (SELECT CAST(COALESCE(SUM(message_count), 0) AS BIGINT) FROM inputs
                    WHERE state = 'included'),
                (SELECT CAST(COALESCE(SUM(gas_used), 0) AS BIGINT) FROM inputs
                    WHERE state = 'included'),
                (SELECT MAX(input_index) FROM inputs WHERE state = 'included')",
        )
        .fetch_one(&self.reader)
        .await?;
        let n = |i: usize| -> Result<u64> { Ok(from_db(row.try_get::<i64, _>(i)?)) };
        let oldest_pending: Option<i64> = row.try_get(4)?;
        let oldest_open: Option<i64> = row.try_get(5)?;
        Ok(QueueStats {
            pending_messages: n(0)? + n(1)?,
            submitted_messages: n(2)?,
            included_messages: n(7)?,
            rejected_messages: n(3)?,
            oldest_unincluded_at: match (oldest_pending, oldest_open) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            inputs_included: n(6)?,
            gas_used_total: n(8)?,
            last_input_index: row.try_get::<Option<i64>, _>(9)?.map(from_db),
        })
    }

    /// The most recent refusals.
    pub async fn recent_rejections(&self, limit: i64) -> Result<Vec<Rejection>> {
        let rows = sqlx::query(
            "SELECT m.hash, m.kind, m.device_id, m.counter, i.input_index, m.reason
             FROM messages m LEFT JOIN inputs i ON i.id = m.input_id
             WHERE m.outcome = 'rejected' ORDER BY m.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Rejection {
                    hash: hex::encode(r.try_get::<Vec<u8>, _>(0)?),
                    kind: kind_name(r.try_get(1)?),
                    device_id: r.try_get::<Option<Vec<u8>>, _>(2)?.map(hex::encode),
                    counter: r.try_get::<Option<i64>, _>(3)?.map(from_db),
                    input_index: r.try_get::<Option<i64>, _>(4)?.map(from_db),
                    reason: r.try_get::<Option<String>, _>(5)?.unwrap_or_default(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::exec::PARAMS_PER_STATEMENT;

    #[test]
    fn shaped_chunks_cover_in_order_with_few_statement_texts() {
        let mut texts = std::collections::BTreeSet::new();
        for width in [1, 2, 6] {
            for len in 0..3000 {
                let items: Vec<usize> = (0..len).collect();
                let mut next = 0;
                for (first, chunk) in shaped_chunks(&items, AnyConnection::most_rows(width)) {
                    assert_eq!(first, next);
                    assert_eq!(chunk.first(), Some(&first));
                    assert!(chunk.len().is_power_of_two());
                    assert!(chunk.len() * width <= PARAMS_PER_STATEMENT);
                    texts.insert((width, chunk.len()));
                    next += chunk.len();
                }
                assert_eq!(next, len);
            }
        }
        // Rows of 1..=2048 (width 1 below 3,000 items, width 2), 1..=512 (width 6): 34 texts,
        // which all fit a connection's statement cache (100).
        assert_eq!(texts.len(), 12 + 12 + 10);
    }
}
