//! SQLite's readers for units of read work (`read.rs`): each unit runs on a
//! blocking thread, on a read-only connection of its own, inside one read
//! transaction, so all its statements see one snapshot and none of them is
//! a hand-off between threads.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use r2d2::PooledConnection;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::OpenFlags;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use tokio::sync::Semaphore;

use crate::read::{Query, ReadFuture, Reader, Row, Value};
use crate::{StoreError, StoreResult};

/// Prepared statements each connection keeps: the evidence of a matrix
/// question assembles a few dozen shapes of statement.
const STATEMENT_CACHE: usize = 128;

/// Read-only connections to one SQLite file and the right to use one.
#[derive(Clone)]
pub(crate) struct BlockingReads {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// As many as the pool has connections: a unit of work waits here, on
    /// the async side, instead of holding a blocking thread while it waits.
    permits: Arc<Semaphore>,
}

impl fmt::Debug for BlockingReads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingReads")
            .field("connections", &self.pool.max_size())
            .finish_non_exhaustive()
    }
}

impl BlockingReads {
    /// Readers of `file`, at most `connections` at once, each opened when
    /// first needed (the file may not exist until the writer has migrated it).
    pub(crate) fn new(file: &Path, connections: u32) -> Self {
        let manager = SqliteConnectionManager::file(file)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|connection| {
                connection.busy_timeout(Duration::from_secs(10))?;
                connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(())
            });
        let pool = r2d2::Pool::builder()
            .max_size(connections)
            .min_idle(Some(0))
            .build_unchecked(manager);
        Self {
            pool,
            permits: Arc::new(Semaphore::new(connections as usize)),
        }
    }

    /// Runs `work` on one snapshot of the database.
    pub(crate) async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'r> FnOnce(&'r mut dyn Reader) -> ReadFuture<'r, T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Corrupt("the SQLite readers were closed".to_owned()))?;
        let pool = self.pool.clone();
        let runtime = tokio::runtime::Handle::current();
        let unit = tokio::task::spawn_blocking(move || {
            let mut snapshot = Snapshot::begin(pool.get()?)?;
            // Every statement of a `Snapshot` completes before its future is
            // first polled, so this never parks the thread.
            runtime.block_on(work(&mut snapshot))
        });
        match unit.await {
            Ok(found) => found,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => Err(StoreError::Corrupt(format!(
                "a read was cancelled: {error}"
            ))),
        }
    }
}

/// A connection inside a read transaction, ended when dropped.
struct Snapshot {
    connection: PooledConnection<SqliteConnectionManager>,
}

impl Snapshot {
    fn begin(connection: PooledConnection<SqliteConnectionManager>) -> StoreResult<Self> {
        connection.execute_batch("BEGIN")?;
        Ok(Self { connection })
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // A read transaction has nothing to commit; ending it lets the WAL
        // be checkpointed past it. Also after an error or a panic, so the
        // connection goes back to the pool clean.
        if !self.connection.is_autocommit() {
            let _ = self.connection.execute_batch("ROLLBACK");
        }
    }
}

#[async_trait]
impl Reader for Snapshot {
    async fn fetch_all(&mut self, query: Query) -> StoreResult<Vec<Row>> {
        let mut statement = self.connection.prepare_cached(&query.text)?;
        let columns: Arc<[String]> = statement
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut rows = statement.query(rusqlite::params_from_iter(&query.arguments))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let values = (0..columns.len())
                .map(|i| value_of(row.get_ref(i)?))
                .collect::<StoreResult<Vec<_>>>()?;
            found.push(Row::new(Arc::clone(&columns), values));
        }
        Ok(found)
    }
}

fn value_of(value: ValueRef<'_>) -> StoreResult<Value> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(bytes) => Value::Text(
            std::str::from_utf8(bytes)
                .map_err(|e| StoreError::Corrupt(format!("stored text is not UTF-8: {e}")))?
                .to_owned(),
        ),
        ValueRef::Blob(_) => {
            return Err(StoreError::Corrupt(
                "a blob where Treaty stores none".to_owned(),
            ));
        }
    })
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Self::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Self::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Self::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Self::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            // As sqlx writes them, so they compare as text with what is stored.
            Self::Time(time) => ToSqlOutput::Owned(rusqlite::types::Value::Text(
                time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            )),
        })
    }
}
