//! One group commit's multi-row statements on SQLite through three drivers: rusqlite, sqlx's
//! typed `SqlitePool`, and sqlx's `Any` (why the store's SQLite group commit runs through
//! rusqlite, `src/store/exec.rs`). Same pragmas as the
//! store's writer (WAL, `synchronous=FULL`, statement journal in memory), same statement texts:
//! a 256-key device select, a 512-row outbox insert of 400-byte bodies, a 512-row counter
//! update, in one `BEGIN IMMEDIATE` transaction. It measures what the driver adds (docs/
//! BENCHMARKS.md section 9).
//!
//! `cargo bench -p witness-gateway --bench sqlite_drivers` (`WITNESS_BENCH_SCALE` scales the
//! number of commits, default 1.0 = 200).
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::time::Instant;

use sqlx::{AssertSqlSafe, Row as _};

const SCHEMA: &str = "CREATE TABLE devices (id INTEGER PRIMARY KEY, last_counter INTEGER NOT NULL);
     CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB NOT NULL UNIQUE,
         device INTEGER NOT NULL, counter INTEGER NOT NULL, body BLOB NOT NULL,
         received_at INTEGER NOT NULL);";
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
     PRAGMA wal_autocheckpoint = 10000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;";
const DEVICES: usize = 256;
const ROWS: usize = 512;

fn list(n: usize, item: &str) -> String {
    vec![item; n].join(", ")
}

struct Statements {
    select: String,
    insert: String,
    update: String,
}

impl Statements {
    fn new() -> Self {
        Self {
            select: format!(
                "SELECT id, last_counter FROM devices WHERE id IN ({}) ORDER BY id",
                list(DEVICES, "?")
            ),
            insert: format!(
                "INSERT INTO messages (hash, device, counter, body, received_at) VALUES {}",
                list(ROWS, "(?, ?, ?, ?, ?)")
            ),
            update: format!(
                "WITH v(d, c) AS (VALUES {}) UPDATE devices SET last_counter = v.c FROM v \
                 WHERE devices.id = v.d",
                list(ROWS, "(?, ?)")
            ),
        }
    }
}

/// Row `n` of the outbox: a unique hash, a device, a 400-byte body.
fn row(n: usize) -> (Vec<u8>, i64, Vec<u8>) {
    let mut hash = vec![7u8; 32];
    hash[..8].copy_from_slice(&(n as u64).to_le_bytes());
    let mut body = vec![0u8; 400];
    body[..8].copy_from_slice(&(n as u64).to_le_bytes());
    (hash, (n % DEVICES) as i64, body)
}

fn rusqlite_commits(path: &std::path::Path, commits: usize) -> f64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(PRAGMAS).unwrap();
    c.execute_batch(SCHEMA).unwrap();
    for d in 0..DEVICES as i64 {
        c.execute("INSERT INTO devices VALUES (?1, 0)", [d])
            .unwrap();
    }
    let sql = Statements::new();
    let started = Instant::now();
    for k in 0..commits {
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        let ids: Vec<i64> = (0..DEVICES as i64).collect();
        let mut select = c.prepare_cached(&sql.select).unwrap();
        let found = select
            .query_map(rusqlite::params_from_iter(&ids), |r| {
                Ok(r.get::<_, i64>(0)? + r.get::<_, i64>(1)?)
            })
            .unwrap()
            .count();
        assert_eq!(found, DEVICES);
        let mut params: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        for n in k * ROWS..(k + 1) * ROWS {
            let (hash, device, body) = row(n);
            params.push(Box::new(hash));
            params.push(Box::new(device));
            params.push(Box::new(k as i64));
            params.push(Box::new(body));
            params.push(Box::new(1_i64));
        }
        let mut insert = c.prepare_cached(&sql.insert).unwrap();
        insert.execute(rusqlite::params_from_iter(&params)).unwrap();
        let counters: Vec<i64> = (k * ROWS..(k + 1) * ROWS)
            .flat_map(|n| [row(n).1, k as i64])
            .collect();
        let mut update = c.prepare_cached(&sql.update).unwrap();
        update
            .execute(rusqlite::params_from_iter(&counters))
            .unwrap();
        c.execute_batch("COMMIT").unwrap();
    }
    started.elapsed().as_secs_f64()
}

/// The same commits through a sqlx pool of one connection (typed or `Any`).
macro_rules! sqlx_commits {
    ($options:expr, $url:expr, $commits:expr) => {{
        let pool = $options
            .max_connections(1)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(PRAGMAS).execute(conn).await?;
                    Ok(())
                })
            })
            .connect($url)
            .await
            .unwrap();
        sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
        for d in 0..DEVICES as i64 {
            sqlx::query("INSERT INTO devices VALUES (?, 0)")
                .bind(d)
                .execute(&pool)
                .await
                .unwrap();
        }
        let sql = Statements::new();
        let started = Instant::now();
        for k in 0..$commits {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            let mut select = sqlx::query(AssertSqlSafe(sql.select.as_str()));
            for d in 0..DEVICES as i64 {
                select = select.bind(d);
            }
            let rows = select.fetch_all(&mut *tx).await.unwrap();
            let found = rows
                .iter()
                .map(|r| r.get::<i64, _>(0) + r.get::<i64, _>(1))
                .count();
            assert_eq!(found, DEVICES);
            let mut insert = sqlx::query(AssertSqlSafe(sql.insert.as_str()));
            for n in k * ROWS..(k + 1) * ROWS {
                let (hash, device, body) = row(n);
                insert = insert
                    .bind(hash)
                    .bind(device)
                    .bind(k as i64)
                    .bind(body)
                    .bind(1_i64);
            }
            insert.execute(&mut *tx).await.unwrap();
            let mut update = sqlx::query(AssertSqlSafe(sql.update.as_str()));
            for n in k * ROWS..(k + 1) * ROWS {
                update = update.bind(row(n).1).bind(k as i64);
            }
            update.execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
        started.elapsed().as_secs_f64()
    }};
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let scale: f64 = std::env::var("WITNESS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let commits = ((200.0 * scale) as usize).max(1);
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    println!("{commits} commits of {DEVICES} selected, {ROWS} inserted, {ROWS} updated rows");
    println!("{:>10} {:>10}", "driver", "ms/commit");
    for round in 0..2 {
        let rusqlite_s = rusqlite_commits(&dir.path().join(format!("r{round}.db")), commits);
        let typed_s = sqlx_commits!(
            sqlx::sqlite::SqlitePoolOptions::new(),
            &url(&format!("t{round}.db")),
            commits
        );
        let any_s = sqlx_commits!(
            sqlx::any::AnyPoolOptions::new(),
            &url(&format!("a{round}.db")),
            commits
        );
        for (driver, seconds) in [("rusqlite", rusqlite_s), ("typed", typed_s), ("any", any_s)] {
            println!("{driver:>10} {:>10.2}", seconds * 1e3 / commits as f64);
        }
    }
}
