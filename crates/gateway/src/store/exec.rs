//! The one seam between the statements of a group commit and the driver that runs them.
//!
//! Every statement is written once (in [`queries`](super::queries)) and runs through sqlx's
//! `Any` driver, except SQLite's group commit, which runs the same statement texts through
//! rusqlite on the store's intake connection. That is for a measured cost: sqlx-sqlite runs
//! each connection on a worker thread, every statement is a round trip to it and every
//! argument an owned copy, which made a 512-row commit 25-35 % slower and the intake of
//! 8-reading envelopes 17 % slower (docs/BENCHMARKS.md, section 9). [`Exec`] is what those
//! statements need of a connection; [`Get`] is what their row mappers need of a row.

use std::future::Future;

use rusqlite::types::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use crate::error::{GatewayError, Result};

/// One argument of a statement.
#[derive(Debug, Clone, Copy)]
pub(super) enum Bind<'a> {
    /// An integer, or `NULL`.
    Int(Option<i64>),
    /// Bytes, or `NULL`.
    Blob(Option<&'a [u8]>),
}

/// Most placeholders one multi-row statement carries (below SQLite's 32,766 and PostgreSQL's
/// 65,535): a group commit of 512 envelopes is one insert.
pub(super) const PARAMS_PER_STATEMENT: usize = 4096;

/// A connection (or transaction) that runs statements with positional arguments.
pub(super) trait Exec {
    /// The rows it answers.
    type Row: Get;
    /// Most rows of `width` placeholders one statement of a bulk write or lookup carries (a
    /// power of two).
    fn most_rows(width: usize) -> usize;
    /// The rows of a query.
    fn rows(
        &mut self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> impl Future<Output = Result<Vec<Self::Row>>>;
    /// Runs a statement that answers no rows.
    fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> impl Future<Output = Result<()>>;
}

/// A row whose columns can be read by index.
pub(super) trait Get {
    /// Column `i`.
    fn col<T: Column>(&self, i: usize) -> Result<T>;
}

/// A column type both drivers read.
pub(super) trait Column:
    Sized + for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>
{
    /// From a rusqlite value.
    fn from_value(value: &Value) -> Option<Self>;
}

impl Column for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }
}

impl Column for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl Column for Vec<u8> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl Get for AnyRow {
    fn col<T: Column>(&self, i: usize) -> Result<T> {
        Ok(self.try_get(i)?)
    }
}

impl Get for Vec<Value> {
    fn col<T: Column>(&self, i: usize) -> Result<T> {
        self.get(i).and_then(T::from_value).ok_or_else(|| {
            GatewayError::Database(format!(
                "column {i}: expected {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl Exec for AnyConnection {
    type Row = AnyRow;

    /// As many as fit [`PARAMS_PER_STATEMENT`]: each statement is a round trip (to the
    /// server, or to sqlx-sqlite's worker thread).
    fn most_rows(width: usize) -> usize {
        1 << (PARAMS_PER_STATEMENT / width).ilog2()
    }

    async fn rows(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<AnyRow>> {
        Ok(any_query(sql, binds).fetch_all(self).await?)
    }

    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<()> {
        any_query(sql, binds).execute(self).await?;
        Ok(())
    }
}

fn any_query<'q>(
    sql: &str,
    binds: &[Bind<'q>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
    for bind in binds {
        query = match *bind {
            Bind::Int(v) => query.bind(v),
            Bind::Blob(v) => query.bind(v),
        };
    }
    query
}

/// Runs synchronously: the futures are ready when first polled (see
/// [`Store::commit_intake`](super::Store::commit_intake), which drives them on a blocking
/// thread).
impl Exec for rusqlite::Transaction<'_> {
    type Row = Vec<Value>;

    /// One: a statement costs no round trip here, and SQLite keeps a statement journal (a
    /// copy of every page before the statement changes it, to undo just that statement) only
    /// for a statement that writes many rows.
    fn most_rows(_width: usize) -> usize {
        1
    }

    async fn rows(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<Vec<Value>>> {
        let mut statement = self.prepare_cached(sql)?;
        let width = statement.column_count();
        let rows = statement.query_map(rusqlite::params_from_iter(binds), |row| {
            (0..width).map(|i| row.get::<_, Value>(i)).collect()
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<()> {
        self.prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(binds))?;
        Ok(())
    }
}

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Self::Int(v) => v.to_sql(),
            Self::Blob(v) => v.to_sql(),
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection as _;

    use super::*;

    const SCHEMA: &str = "CREATE TABLE t (n INTEGER, b BLOB, s TEXT)";
    const INSERT: &str = "INSERT INTO t (n, b, s) VALUES (?, ?, 'x'), (?, ?, NULL)";
    const SELECT: &str = "SELECT n, b, s FROM t WHERE n IS NULL OR n > ? ORDER BY n";

    type Columns = (Option<i64>, Option<Vec<u8>>, Option<String>);

    fn read(rows: &[impl Get]) -> Vec<Columns> {
        rows.iter()
            .map(|row| {
                (
                    row.col(0).unwrap(),
                    row.col(1).unwrap(),
                    row.col(2).unwrap(),
                )
            })
            .collect()
    }

    /// Both drivers run the same statement texts with the same arguments and read back the
    /// same columns; a column of another type is an error, not a panic.
    #[tokio::test]
    async fn both_drivers_answer_the_same_rows() {
        let binds = [
            Bind::Int(Some(7)),
            Bind::Blob(Some(b"ab")),
            Bind::Int(None),
            Bind::Blob(None),
        ];
        sqlx::any::install_default_drivers();
        let mut any = AnyConnection::connect("sqlite::memory:").await.unwrap();
        any.execute(SCHEMA, &[]).await.unwrap();
        any.execute(INSERT, &binds).await.unwrap();
        let any_rows = any.rows(SELECT, &[Bind::Int(Some(1))]).await.unwrap();

        let mut lite = rusqlite::Connection::open_in_memory().unwrap();
        let mut tx = lite.transaction().unwrap();
        tx.execute(SCHEMA, &[]).await.unwrap();
        tx.execute(INSERT, &binds).await.unwrap();
        let lite_rows = tx.rows(SELECT, &[Bind::Int(Some(1))]).await.unwrap();

        let expected = vec![
            (None, None, None),
            (Some(7), Some(b"ab".to_vec()), Some("x".to_owned())),
        ];
        assert_eq!(read(&any_rows), expected);
        assert_eq!(read(&lite_rows), expected);
        assert!(any_rows[1].col::<String>(0).is_err());
        assert!(lite_rows[1].col::<String>(0).is_err());
        assert!(lite_rows[1].col::<i64>(3).is_err());
    }
}
