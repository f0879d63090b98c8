//! The SQLite store: one file, WAL journal, foreign keys on.
//!
//! Writes go through a pool of exactly one connection, so write transactions
//! are serialised in process and never fail with "database is locked"; the
//! writes that are ready together share one commit (`sqlite_writes.rs`).
//! Reads use their own pool and, thanks to WAL, never wait for a writer.

#[path = "sql/mod.rs"]
mod sql_impl;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

use crate::read::{ReadFuture, Reader};
use crate::sqlite_reads::BlockingReads;
use crate::sqlite_writes::GroupCommit;
use crate::{AdminStore, OpenOptions, StoreError, StoreResult};

// What the shared SQL (`sql/`) is written against.
pub(crate) type Backend = SqliteStore;
pub(crate) type Conn = SqliteConnection;
pub(crate) type DbRow = SqliteRow;
pub(crate) type WriteConn = crate::sqlite_writes::GroupWrite;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    write: SqlitePool,
    /// Every write transaction, in batches that share one commit.
    writes: GroupCommit,
    read: SqlitePool,
    /// Reads of several statements (`read.rs`), on connections of their own.
    blocking_reads: BlockingReads,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `sqlite://PATH`.
    pub async fn open(database_url: &str, options: OpenOptions) -> StoreResult<Self> {
        let mut connect = connect_options(database_url)?;
        if options.bulk_load {
            connect = connect.synchronous(SqliteSynchronous::Normal);
        }
        // One writer: SQLite serialises writes anyway, and this way they queue in
        // process instead of failing with "database is locked".
        // No ping before each acquire (sqlx's default): a connection to a
        // local file cannot go stale, and the ping is one more round trip
        // through the connection's worker thread on every query.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(connect.clone())
            .await?;
        if options.migrate {
            MIGRATOR.run(&write).await?;
        }
        let readers = options.max_connections.unwrap_or_else(default_readers);
        let blocking_reads = BlockingReads::new(connect.get_filename(), readers)?;
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .test_before_acquire(false)
            .connect_with(connect.read_only(true))
            .await?;
        Ok(Self {
            writes: GroupCommit::new(write.clone()),
            write,
            read,
            blocking_reads,
        })
    }

    /// The migrations that have not been applied yet, by version and description.
    pub async fn pending_migrations(database_url: &str) -> StoreResult<Vec<(i64, String)>> {
        let connect = connect_options(database_url)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect)
            .await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
        Ok(MIGRATOR
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| (m.version, m.description.to_string()))
            .collect())
    }

    /// A write transaction: a savepoint in the open batch of writes
    /// (`sqlite_writes.rs`), atomic on its own and durable when its commit
    /// returns. It carries the audit entry of the request being served, if any.
    pub(crate) async fn begin(&self) -> StoreResult<sql_impl::WriteTx> {
        Ok(sql_impl::WriteTx::audited(self.writes.begin().await?))
    }

    /// A write transaction that leaves no audit entry (housekeeping).
    pub(crate) async fn begin_unaudited(&self) -> StoreResult<sql_impl::WriteTx> {
        Ok(sql_impl::WriteTx::unaudited(self.writes.begin().await?))
    }

    /// A read transaction that sees one snapshot for all its queries.
    pub(crate) async fn snapshot(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.read.begin().await?)
    }

    /// SQLite continues AUTOINCREMENT ids after the largest inserted one by itself.
    pub(crate) async fn continue_ids_after_import(_conn: &mut Conn) -> StoreResult<()> {
        Ok(())
    }

    /// SQLite continues AUTOINCREMENT ids after the largest inserted one by itself.
    pub(crate) async fn continue_ids_after_explicit(
        _conn: &mut Conn,
        _table: &'static str,
    ) -> StoreResult<()> {
        Ok(())
    }

    /// Nothing to do: Treaty's SQLite statements are written for its
    /// planner without statistics (`ANALYZE` could only change tested plans).
    pub(crate) async fn analyze_after_import(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Runs a read of several statements on one snapshot, on a blocking
    /// thread (see `read.rs`).
    pub(crate) async fn read_snapshot<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'r> FnOnce(&'r mut dyn Reader) -> ReadFuture<'r, T> + Send + 'static,
    {
        self.blocking_reads.run(work).await
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// The writer and the readers, as they are now.
    pub(crate) fn pools(&self) -> Vec<crate::PoolUse> {
        [("write", &self.write), ("read", &self.read)]
            .into_iter()
            .map(|(pool, p)| crate::PoolUse {
                pool,
                connections: p.size(),
                idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
                max: p.options().get_max_connections(),
            })
            .collect()
    }
}

/// Read connections by default: two per core. Each holds its own page cache
/// and statement cache; more than the cores can run at once only added
/// memory and switching (at M on one core: 8 readers served 1,340
/// can-i-deploys a second in 69 MiB, 4 served 1,840 in 59 MiB).
fn default_readers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    u32::try_from(cores * 2).unwrap_or(u32::MAX).clamp(2, 16)
}

fn connect_options(database_url: &str) -> StoreResult<SqliteConnectOptions> {
    let path = database_url
        .strip_prefix("sqlite://")
        .ok_or_else(|| StoreError::Unsupported("a SQLite URL starts with sqlite://".to_owned()))?;
    let file = path.split('?').next().unwrap_or(path);
    if let Some(parent) = std::path::Path::new(file).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Unsupported(format!(
                "cannot create the folder {} for the database: {e}",
                parent.display()
            ))
        })?;
    }
    Ok(SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a write acknowledged to a client survives power loss, not only a crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10)))
}

pub(crate) fn now() -> DateTime<Utc> {
    // Microseconds are enough and keep text timestamps of equal width, so they sort.
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn check_connection(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn wipe(&self) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Every table hangs off pacticipants, environments or webhooks with
        // ON DELETE CASCADE, except the ledger, whose history outlives them.
        for table in ["deployments", "pacticipants", "environments", "webhooks"] {
            sqlx::query(sql(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        // Restart numbering, so seeded data gets the same ids every time.
        sqlx::query("DELETE FROM sqlite_sequence")
            .execute(&mut *tx)
            .await?;
        // Verification results number from 101, as on a new database.
        sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('verifications', 100)")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String> {
        let mut tx = self.begin_unaudited().await?;
        let stored = sql_impl::settings::setting_or_insert(&mut tx, name, value).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn setting(&self, name: &str) -> StoreResult<Option<String>> {
        let mut conn = self.reader().acquire().await?;
        sql_impl::settings::setting(&mut conn, name).await
    }
}

/// A statement for SQLite, which takes `?` placeholders as written.
/// Treaty assembles SQL only from constants in this crate; every value from
/// outside is a bound parameter, so the text is safe.
pub(crate) fn sql(text: impl Into<String>) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text.into())
}
