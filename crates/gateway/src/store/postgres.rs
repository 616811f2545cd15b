//! PostgreSQL backend (sqlx). Writes lock the device rows they depend on (`FOR UPDATE`, in
//! id order) so several gateway replicas can share one database; bulk inserts use `UNNEST`.

use std::collections::HashMap;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, PgPool, Postgres, Row, Transaction};
use witness_protocol::DeviceId;

use super::logic::{self, DeviceState, Effect, IntakeGroup, NewMessage, RegistrarContext};
use super::{
    Account, Batch, DeviceRow, InputOutcome, InputRow, IntakeJob, JobOutcome, QueueStats, Receipt,
    ReceiptRow, Rejection, Role, SubmissionCounts, array, device_id_from, from_db, kind_name,
    now_ms, to_db,
};
use crate::error::{GatewayError, Result};

const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../migrations/postgres/0001_init.sql"),
)];

/// Advisory lock key of migrations ("witness" in ASCII).
const MIGRATION_LOCK: i64 = 0x0077_6974_6e65_7373;
/// Advisory lock key held by the one active submitter.
pub(crate) const SUBMITTER_LOCK: i64 = 0x0077_6974_7375_626d;

/// A PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

type Tx = Transaction<'static, Postgres>;

fn unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.code().as_deref() == Some("23505"))
}

fn device_from(row: &PgRow) -> Result<DeviceRow> {
    let id: Vec<u8> = row.try_get(0)?;
    let model: i64 = row.try_get(1)?;
    let key: Vec<u8> = row.try_get(2)?;
    let status: String = row.try_get(3)?;
    let owner_key: Option<Vec<u8>> = row.try_get(6)?;
    Ok(DeviceRow {
        id: device_id_from(&id)?,
        model: u32::try_from(model).map_err(|_| GatewayError::Database("model".into()))?,
        public_key: array(&key, "public key")?,
        active: status == "active",
        registered_by: row.try_get(4)?,
        owner_account: row.try_get(5)?,
        owner_key: owner_key.map(|k| array(&k, "owner key")).transpose()?,
        owner_sequence: row.try_get::<Option<i64>, _>(7)?.map(from_db),
        last_counter: row.try_get::<Option<i64>, _>(8)?.map(from_db),
        created_at: row.try_get(9)?,
    })
}

const DEVICE_COLUMNS: &str = "id, model, public_key, status, registered_by, owner_account, \
     owner_key, owner_sequence, last_counter, created_at";

const RECEIPT_SELECT: &str = "SELECT m.hash, m.kind, m.device_id, m.counter, m.received_at, \
     m.position, m.outcome, m.reason, i.state, i.tx_hash, i.input_index, i.block_number \
     FROM messages m LEFT JOIN inputs i ON i.id = m.input_id";

fn receipt_from(row: &PgRow) -> Result<ReceiptRow> {
    Ok(ReceiptRow {
        hash: row.try_get(0)?,
        kind: row.try_get(1)?,
        device_id: row.try_get(2)?,
        counter: row.try_get(3)?,
        received_at: row.try_get(4)?,
        position: row.try_get(5)?,
        outcome: row.try_get(6)?,
        reason: row.try_get(7)?,
        input_state: row.try_get(8)?,
        tx_hash: row.try_get(9)?,
        input_index: row.try_get(10)?,
        block_number: row.try_get(11)?,
    })
}

async fn lookup_receipts(tx: &mut Tx, hashes: Vec<[u8; 32]>) -> Result<HashMap<[u8; 32], Receipt>> {
    let keys: Vec<Vec<u8>> = hashes.iter().map(|h| h.to_vec()).collect();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{RECEIPT_SELECT} WHERE m.hash = ANY($1)"
    )))
    .bind(keys)
    .fetch_all(&mut **tx)
    .await?;
    let mut found = HashMap::new();
    for row in &rows {
        let receipt = receipt_from(row)?;
        let hash = array(&receipt.hash, "hash")?;
        found.insert(hash, receipt.into_receipt());
    }
    Ok(found)
}

async fn lock_device(tx: &mut Tx, id: DeviceId) -> Result<Option<DeviceRow>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1 FOR UPDATE"
    )))
    .bind(id.0.to_vec())
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(device_from)
    .transpose()
}

async fn insert_messages(tx: &mut Tx, rows: &[NewMessage]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let kinds: Vec<i64> = rows.iter().map(|r| r.kind).collect();
    let hashes: Vec<Vec<u8>> = rows.iter().map(|r| r.hash.to_vec()).collect();
    let devices: Vec<Option<Vec<u8>>> = rows
        .iter()
        .map(|r| r.device_id.map(|d| d.0.to_vec()))
        .collect();
    let counters: Vec<Option<i64>> = rows.iter().map(|r| r.counter.map(to_db)).collect();
    let bodies: Vec<Vec<u8>> = rows.iter().map(|r| r.body.clone()).collect();
    let times: Vec<i64> = rows.iter().map(|r| r.received_at).collect();
    sqlx::query(
        "INSERT INTO messages (kind, hash, device_id, counter, body, received_at)
         SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[], $5::bytea[],
                              $6::bigint[])",
    )
    .bind(kinds)
    .bind(hashes)
    .bind(devices)
    .bind(counters)
    .bind(bodies)
    .bind(times)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn apply(tx: &mut Tx, effects: Vec<Effect>) -> Result<()> {
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
                .bind(id.0.to_vec())
                .bind(i64::from(model))
                .bind(key.to_vec())
                .bind(registered_by)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map_err(|e| {
                    if unique_violation(&e) {
                        GatewayError::conflict(
                            "already_registered",
                            format!("device {id} is already registered"),
                        )
                    } else {
                        e.into()
                    }
                })?;
            }
            Effect::SetDeviceActive { id, active } => {
                sqlx::query("UPDATE devices SET status = $1 WHERE id = $2")
                    .bind(if active { "active" } else { "revoked" })
                    .bind(id.0.to_vec())
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::SetDeviceKey { id, key } => {
                sqlx::query("UPDATE devices SET public_key = $1 WHERE id = $2")
                    .bind(key.to_vec())
                    .bind(id.0.to_vec())
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::SetRegistrarSequence { key, sequence } => {
                sqlx::query(
                    "INSERT INTO registrars (key, last_sequence) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET last_sequence = EXCLUDED.last_sequence",
                )
                .bind(key.to_vec())
                .bind(to_db(sequence))
                .execute(&mut **tx)
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
                .bind(key.to_vec())
                .bind(to_db(sequence))
                .bind(id.0.to_vec())
                .execute(&mut **tx)
                .await?;
            }
            Effect::SetLastCounter { id, counter } => {
                sqlx::query("UPDATE devices SET last_counter = $1 WHERE id = $2")
                    .bind(to_db(counter))
                    .bind(id.0.to_vec())
                    .execute(&mut **tx)
                    .await?;
            }
            Effect::InsertMessage(row) => messages.push(row),
        }
    }
    insert_messages(tx, &messages).await
}

fn input_from(row: &PgRow) -> Result<InputRow> {
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

const INPUT_COLUMNS: &str =
    "id, payload, message_count, state, scan_from_block, nonce, tx_hash, input_index";

fn account_from(row: &PgRow) -> Result<Account> {
    Ok(Account {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        role: Role::parse(&row.try_get::<String, _>(2)?)?,
        created_at: row.try_get(3)?,
    })
}

impl PgStore {
    pub(super) async fn open(url: &str) -> Result<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| GatewayError::Config(format!("database URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS gateway_migrations (
                 version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        for (version, name, sql) in MIGRATIONS {
            let applied = sqlx::query("SELECT version FROM gateway_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
            if applied.is_none() {
                sqlx::raw_sql(*sql).execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO gateway_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                )
                .bind(version)
                .bind(name)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes the submitter's session-level advisory lock on a connection taken out of the
    /// pool (so dropping it closes the session, which releases the lock); `None` if another
    /// replica holds it.
    pub(crate) async fn try_submitter_lock(&self) -> Result<Option<sqlx::PgConnection>> {
        let mut conn = self.pool.acquire().await?.detach();
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(SUBMITTER_LOCK)
            .fetch_one(&mut conn)
            .await?;
        Ok(locked.then_some(conn))
    }

    pub(super) async fn create_account(
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
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                GatewayError::conflict(
                    "username_taken",
                    format!("the username {username:?} is taken"),
                )
            } else {
                e.into()
            }
        })?;
        Ok(Account {
            id,
            username: username.to_owned(),
            role,
            created_at: now,
        })
    }

    pub(super) async fn account_by_username(
        &self,
        username: &str,
    ) -> Result<Option<(Account, String)>> {
        let row = sqlx::query(
            "SELECT id, username, role, created_at, password_hash FROM accounts
             WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((account_from(&r)?, r.try_get(4)?)))
            .transpose()
    }

    pub(super) async fn accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT id, username, role, created_at FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account_from).collect()
    }

    pub(super) async fn create_session(
        &self,
        token_hash: [u8; 32],
        account_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.to_vec())
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn session_account(
        &self,
        token_hash: [u8; 32],
        now: i64,
    ) -> Result<Option<Account>> {
        sqlx::query(
            "SELECT a.id, a.username, a.role, a.created_at FROM sessions s
             JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash.to_vec())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(account_from)
        .transpose()
    }

    pub(super) async fn delete_session(&self, token_hash: [u8; 32]) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn device(&self, id: DeviceId) -> Result<Option<DeviceRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"
        )))
        .bind(id.0.to_vec())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(device_from)
        .transpose()
    }

    pub(super) async fn devices(
        &self,
        account: Option<i64>,
        owner: bool,
    ) -> Result<Vec<DeviceRow>> {
        let filter = match (account, owner) {
            (None, _) => "$1::bigint IS NULL",
            (Some(_), true) => "owner_account = $1",
            (Some(_), false) => "registered_by = $1",
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE {filter} ORDER BY created_at, id"
        )))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(device_from).collect()
    }

    pub(super) async fn submission_counts(&self, id: DeviceId) -> Result<SubmissionCounts> {
        let last: Option<Option<i64>> =
            sqlx::query_scalar("SELECT last_counter FROM devices WHERE id = $1")
                .bind(id.0.to_vec())
                .fetch_optional(&self.pool)
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
        .bind(id.0.to_vec())
        .fetch_one(&self.pool)
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

    pub(super) async fn commit_registrar(
        &self,
        account_id: i64,
        items: Vec<logic::RegistrarItem>,
    ) -> Result<Vec<Receipt>> {
        let mut tx = self.pool.begin().await?;
        let mut context = RegistrarContext {
            existing: lookup_receipts(&mut tx, items.iter().map(|i| i.hash).collect()).await?,
            ..RegistrarContext::default()
        };
        let mut ids: Vec<DeviceId> = items.iter().filter_map(|i| i.device_id()).collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            if let Some(device) = lock_device(&mut tx, id).await? {
                context.devices.insert(id, device);
            }
        }
        let mut keys: Vec<[u8; 32]> = items.iter().map(|i| i.registrar_key()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let last: Option<i64> = sqlx::query_scalar(
                "SELECT last_sequence FROM registrars WHERE key = $1 FOR UPDATE",
            )
            .bind(key.to_vec())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(last) = last {
                context.sequences.insert(key, from_db(last));
            }
        }
        let (effects, receipts) = logic::decide_registrar(account_id, &items, &context, now_ms())?;
        apply(&mut tx, effects).await?;
        tx.commit().await?;
        Ok(receipts)
    }

    pub(super) async fn commit_claim(
        &self,
        account_id: i64,
        item: logic::ClaimItem,
    ) -> Result<Receipt> {
        let mut tx = self.pool.begin().await?;
        let device = lock_device(&mut tx, item.statement.device_id).await?;
        let existing = lookup_receipts(&mut tx, vec![item.hash])
            .await?
            .remove(&item.hash);
        let (effects, receipt) =
            logic::decide_claim(account_id, &item, device.as_ref(), existing, now_ms())?;
        apply(&mut tx, effects).await?;
        tx.commit().await?;
        Ok(receipt)
    }

    pub(super) async fn commit_intake(
        &self,
        jobs: Vec<IntakeJob>,
    ) -> Result<Vec<Result<JobOutcome>>> {
        let mut tx = self.pool.begin().await?;
        let mut ids: Vec<Vec<u8>> = jobs
            .iter()
            .flat_map(IntakeJob::device_ids)
            .map(|d| d.0.to_vec())
            .collect();
        ids.sort();
        ids.dedup();
        let rows = sqlx::query(
            "SELECT id, public_key, status, last_counter FROM devices
             WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut devices = HashMap::new();
        for row in &rows {
            let id: Vec<u8> = row.try_get(0)?;
            let key: Vec<u8> = row.try_get(1)?;
            let status: String = row.try_get(2)?;
            devices.insert(
                device_id_from(&id)?,
                DeviceState {
                    key: array(&key, "public key")?,
                    active: status == "active",
                    last_counter: row.try_get::<Option<i64>, _>(3)?.map(from_db),
                },
            );
        }
        let mut group = IntakeGroup::new(devices, now_ms());
        let mut results = Vec::with_capacity(jobs.len());
        for job in &jobs {
            let lookups = group.lookups(job);
            let existing = if lookups.is_empty() {
                HashMap::new()
            } else {
                lookup_receipts(&mut tx, lookups).await?
            };
            results.push(group.finish(job, &existing));
        }
        let (rows, counters) = group.into_effects();
        insert_messages(&mut tx, &rows).await?;
        if !counters.is_empty() {
            let ids: Vec<Vec<u8>> = counters.iter().map(|(id, _)| id.0.to_vec()).collect();
            let values: Vec<i64> = counters.iter().map(|(_, c)| to_db(*c)).collect();
            sqlx::query(
                "UPDATE devices d SET last_counter = v.c
                 FROM UNNEST($1::bytea[], $2::bigint[]) AS v(id, c) WHERE d.id = v.id",
            )
            .bind(ids)
            .bind(values)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(results)
    }

    pub(super) async fn receipt(&self, hash: [u8; 32]) -> Result<Option<Receipt>> {
        sqlx::query(AssertSqlSafe(format!("{RECEIPT_SELECT} WHERE m.hash = $1")))
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| Ok(receipt_from(r)?.into_receipt()))
            .transpose()
    }

    pub(super) async fn open_inputs(&self) -> Result<Vec<InputRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {INPUT_COLUMNS} FROM inputs WHERE state <> 'included' ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(input_from).collect()
    }

    pub(super) async fn inputs(&self) -> Result<Vec<InputRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {INPUT_COLUMNS} FROM inputs ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(input_from).collect()
    }

    pub(super) async fn next_batch(&self, max_bytes: usize, max_messages: usize) -> Result<Batch> {
        let mut batch = Batch::default();
        let mut bytes = 0usize;
        let mut after = i64::MIN;
        loop {
            let rows = sqlx::query(
                "SELECT id, body, received_at FROM messages
                 WHERE input_id IS NULL AND id > $1 ORDER BY id LIMIT 256",
            )
            .bind(after)
            .fetch_all(&self.pool)
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

    pub(super) async fn create_input(
        &self,
        message_ids: Vec<i64>,
        payload: Vec<u8>,
        scan_from_block: u64,
    ) -> Result<InputRow> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inputs (payload, message_count, state, scan_from_block, created_at)
             VALUES ($1, $2, 'batched', $3, $4) RETURNING id",
        )
        .bind(&payload)
        .bind(message_ids.len() as i64)
        .bind(to_db(scan_from_block))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        let positions: Vec<i64> = (0..message_ids.len() as i64).collect();
        let updated = sqlx::query(
            "UPDATE messages m SET input_id = $1, position = v.p
             FROM UNNEST($2::bigint[], $3::bigint[]) AS v(id, p)
             WHERE m.id = v.id AND m.input_id IS NULL",
        )
        .bind(id)
        .bind(&message_ids)
        .bind(positions)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != message_ids.len() as u64 {
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

    pub(super) async fn set_input_nonce(&self, id: i64, nonce: Option<u64>) -> Result<()> {
        sqlx::query(
            "UPDATE inputs SET nonce = $1,
                 state = CASE WHEN $1::bigint IS NULL THEN 'batched' ELSE state END
             WHERE id = $2",
        )
        .bind(nonce.map(to_db))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn mark_sent(&self, id: i64, tx_hash: [u8; 32]) -> Result<()> {
        sqlx::query(
            "UPDATE inputs SET state = 'sent', tx_hash = $1, sent_at = $2, attempts = attempts + 1
             WHERE id = $3 AND state <> 'included'",
        )
        .bind(tx_hash.to_vec())
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn mark_included(
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
        .bind(tx_hash.to_vec())
        .bind(to_db(input_index))
        .bind(to_db(block_number))
        .bind(gas_used.map(to_db))
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn record_input_error(&self, id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE inputs SET last_error = $1 WHERE id = $2")
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn unchecked_inputs(&self, below: u64, limit: i64) -> Result<Vec<(i64, u64)>> {
        let rows = sqlx::query(
            "SELECT id, input_index FROM inputs
             WHERE state = 'included' AND outcome_checked = 0 AND input_index < $1
             ORDER BY input_index LIMIT $2",
        )
        .bind(to_db(below))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, from_db(r.try_get(1)?))))
            .collect()
    }

    pub(super) async fn record_outcome(&self, input_id: i64, outcome: InputOutcome) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        match &outcome.input_refused {
            Some(reason) => {
                sqlx::query(
                    "UPDATE messages SET outcome = 'rejected', reason = $1 WHERE input_id = $2",
                )
                .bind(reason)
                .bind(input_id)
                .execute(&mut *tx)
                .await?;
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
        Ok(())
    }

    pub(super) async fn queue_stats(&self) -> Result<QueueStats> {
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
                (SELECT COALESCE(SUM(message_count), 0)::bigint FROM inputs WHERE state = 'included'),
                (SELECT COALESCE(SUM(gas_used), 0)::bigint FROM inputs WHERE state = 'included'),
                (SELECT MAX(input_index) FROM inputs WHERE state = 'included')",
        )
        .fetch_one(&self.pool)
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

    pub(super) async fn recent_rejections(&self, limit: i64) -> Result<Vec<Rejection>> {
        let rows = sqlx::query(
            "SELECT m.hash, m.kind, m.device_id, m.counter, i.input_index, m.reason
             FROM messages m LEFT JOIN inputs i ON i.id = m.input_id
             WHERE m.outcome = 'rejected' ORDER BY m.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
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
