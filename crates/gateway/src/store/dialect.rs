//! What differs between SQLite and PostgreSQL, and nothing else: connecting (SQLite's
//! durability settings, its one writer connection and its intake connection), the schema,
//! how a write transaction starts, row locks, the placeholders of generated multi-row
//! statements, and the submitter lock. Every statement lives in
//! [`queries`](super::queries), written once for both.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions as _, Transaction};

use super::{Store, SubmitterLock};
use crate::error::{GatewayError, Result};

static SQLITE_SCHEMA: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_SCHEMA: Migrator = sqlx::migrate!("migrations/postgres");

/// Advisory lock key held by the one active submitter of a PostgreSQL database.
const SUBMITTER_LOCK: i64 = 0x0077_6974_7375_626d;

/// SQLite reader connections (WAL lets them read beside the writer).
const SQLITE_READERS: u32 = 4;
/// PostgreSQL connections (reads and writes).
const POSTGRES_CONNECTIONS: u32 = 16;

/// Durability: `journal_mode=WAL` with `synchronous=FULL`, so every commit fsyncs the WAL
/// before returning. `NORMAL` would survive a process crash (SIGKILL) but could lose the
/// last commits on power loss, and the gateway must never lose an acknowledged reading;
/// group commit (the intake committer) amortizes the one fsync per transaction over all
/// requests in the group.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000;
     PRAGMA journal_mode = WAL;
     PRAGMA synchronous = FULL;
     PRAGMA foreign_keys = ON;";
/// The writer checkpoints every ~40 MiB of WAL instead of ~4 MiB: hot index pages are
/// copied back to the database once per checkpoint, so fewer, larger checkpoints write far
/// less (measured: +50% commit throughput); a 64 MiB page cache keeps the indexes hot.
/// Temporary data in memory: a multi-row statement inside a transaction keeps a statement
/// journal (to undo just that statement), which by default is a temporary file written
/// beside the WAL (measured: twice the writes per group commit).
const SQLITE_WRITER_PRAGMAS: &str = "PRAGMA wal_autocheckpoint = 10000;
     PRAGMA cache_size = -65536;
     PRAGMA temp_store = MEMORY;";
const SQLITE_READER_PRAGMAS: &str = "PRAGMA query_only = ON;";

/// The database behind a [`Store`](super::Store).
#[derive(Debug, Clone)]
pub(super) enum Dialect {
    /// A SQLite file; `lock_path` is the submitter's lock file beside it; `intake` the
    /// rusqlite connection of the group commit (see [`super::exec`]), a second writer beside
    /// the pool's (both start with `BEGIN IMMEDIATE`, so they take turns).
    Sqlite {
        lock_path: PathBuf,
        intake: Arc<Mutex<rusqlite::Connection>>,
    },
    /// A PostgreSQL database.
    Postgres,
}

impl Dialect {
    /// Connects to `url` (see [`Store::open`](super::Store::open)) and migrates the schema.
    pub(super) async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url.parse::<PgConnectOptions>()
                .map_err(|e| GatewayError::Config(format!("database URL: {e}")))?;
            let pool = AnyPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .acquire_timeout(Duration::from_secs(30))
                .connect(url)
                .await?;
            migrate(&POSTGRES_SCHEMA, &pool).await?;
            return Ok(Store {
                dialect: Self::Postgres,
                writer: pool.clone(),
                reader: pool,
            });
        }
        let path = PathBuf::from(
            url.strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url),
        );
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                GatewayError::Config(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let url = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .to_url_lossy();
        // One writer connection serializes every write transaction (the intake committer
        // batches many requests into one of them).
        let writer = sqlite_pool(1, SQLITE_WRITER_PRAGMAS)
            .connect(url.as_str())
            .await?;
        migrate(&SQLITE_SCHEMA, &writer).await?;
        let reader = sqlite_pool(SQLITE_READERS, SQLITE_READER_PRAGMAS)
            .connect(url.as_str())
            .await?;
        let intake = rusqlite::Connection::open(&path)?;
        intake.execute_batch(SQLITE_PRAGMAS)?;
        intake.execute_batch(SQLITE_WRITER_PRAGMAS)?;
        let mut lock_path = path.into_os_string();
        lock_path.push(".submitter.lock");
        Ok(Store {
            dialect: Self::Sqlite {
                lock_path: lock_path.into(),
                intake: Arc::new(Mutex::new(intake)),
            },
            writer,
            reader,
        })
    }

    /// `sqlite` or `postgres`.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// SQLite's intake connection; `None` on PostgreSQL, whose group commit is a transaction
    /// of the pool like every other.
    pub(super) fn intake_connection(&self) -> Option<Arc<Mutex<rusqlite::Connection>>> {
        match self {
            Self::Sqlite { intake, .. } => Some(Arc::clone(intake)),
            Self::Postgres => None,
        }
    }

    /// Starts a write transaction. SQLite takes the write lock at once (`IMMEDIATE`), so a
    /// transaction never fails half-way for a lock another process holds.
    pub(super) async fn begin(&self, writer: &AnyPool) -> Result<Transaction<'static, Any>> {
        Ok(match self {
            Self::Sqlite { .. } => writer.begin_with("BEGIN IMMEDIATE").await?,
            Self::Postgres => writer.begin().await?,
        })
    }

    /// The suffix that locks the selected rows until commit: PostgreSQL's `FOR UPDATE` (in
    /// id order, so that several gateway replicas can share one database); nothing on SQLite,
    /// where the single writer already serializes every write transaction.
    pub(super) fn for_update(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "",
            Self::Postgres => " FOR UPDATE",
        }
    }

    /// `n` comma-separated placeholders, numbered from `first`, for a statement whose
    /// placeholders all come from here, in bind order: `$first, ...` on PostgreSQL; plain `?`
    /// on SQLite, which looks every numbered (`$N`, `?N`) parameter up in a list when it
    /// prepares and binds a statement, so that a statement of thousands of them costs the
    /// square (measured: a 512-envelope group commit, 3,072 placeholders: 42 ms with `$N`, 19 ms
    /// with `?`).
    pub(super) fn params(&self, first: usize, n: usize) -> String {
        let each = |i: usize| match self {
            Self::Sqlite { .. } => "?".to_owned(),
            Self::Postgres => format!("${i}"),
        };
        (first..first + n).map(each).collect::<Vec<_>>().join(", ")
    }

    /// `(…), (…)`: `rows` tuples of `width` [`params`](Self::params), numbered from `first`.
    pub(super) fn tuples(&self, first: usize, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|row| format!("({})", self.params(first + row * width, width)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// See [`Store::try_submitter_lock`](super::Store::try_submitter_lock).
    pub(super) async fn try_submitter_lock(&self, pool: &AnyPool) -> Result<Option<SubmitterLock>> {
        match self {
            Self::Sqlite { lock_path, .. } => {
                let path = lock_path.clone();
                tokio::task::spawn_blocking(move || {
                    let file = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&path)
                        .map_err(|e| {
                            GatewayError::Config(format!("cannot open {}: {e}", path.display()))
                        })?;
                    match file.try_lock() {
                        Ok(()) => Ok(Some(SubmitterLock::File(file))),
                        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                        Err(std::fs::TryLockError::Error(e)) => Err(GatewayError::Internal(
                            format!("cannot lock {}: {e}", path.display()),
                        )),
                    }
                })
                .await?
            }
            Self::Postgres => {
                // A session-level lock on a connection taken out of the pool: dropping it
                // closes the session, which releases the lock.
                let mut conn: AnyConnection = pool.acquire().await?.detach();
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(SUBMITTER_LOCK)
                    .fetch_one(&mut conn)
                    .await?;
                Ok(locked.then_some(SubmitterLock::Postgres(conn)))
            }
        }
    }
}

fn sqlite_pool(connections: u32, pragmas: &'static str) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        // A local file does not go away: no ping before each use.
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                sqlx::raw_sql(SQLITE_PRAGMAS).execute(&mut *conn).await?;
                sqlx::raw_sql(pragmas).execute(&mut *conn).await?;
                Ok(())
            })
        })
}

/// Applies the embedded migrations (on PostgreSQL under sqlx's advisory lock, so replicas
/// starting together migrate once).
async fn migrate(schema: &Migrator, pool: &AnyPool) -> Result<()> {
    schema
        .run(pool)
        .await
        .map_err(|e| GatewayError::Database(format!("migration: {e}")))
}
