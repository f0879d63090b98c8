//! The PostgreSQL store, for several Treaty replicas on one database.
//!
//! Write transactions take one transaction-level advisory lock first, so
//! writes are serialised across every replica exactly as SQLite serialises
//! them in one process: the shared SQL in `sql/` then keeps its invariants
//! unchanged. The lock is released when the transaction ends, also when a
//! replica dies mid-way (its connection closes). Reads take no lock.

#[path = "sql/mod.rs"]
mod sql_impl;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Column, PgConnection, PgPool, Row as _, TypeInfo, ValueRef as _};

use crate::read::{Query, ReadFuture, Reader, Row, Value};
use crate::{AdminStore, OpenOptions, StoreError, StoreResult};

// What the shared SQL (`sql/`) is written against.
pub(crate) type Backend = PostgresStore;
pub(crate) type Conn = PgConnection;
pub(crate) type DbRow = PgRow;
pub(crate) type WriteConn = sqlx::Transaction<'static, sqlx::Postgres>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The advisory lock every write transaction holds ("Treaty" in ASCII,
/// 0x5472_6561_7479), taken as the transaction begins.
const BEGIN_LOCKED: &str = "BEGIN; SELECT pg_advisory_xact_lock(92850303890553)";

/// How long a connection may sit idle in the pool and still be lent
/// without a ping first. The pool pings every connection as it takes it
/// back (which also flushes a dropped transaction's `ROLLBACK`), so one
/// lent again within this window was answering a moment ago; pinging it
/// again on lending cost every request a round trip (HikariCP skips the
/// same check within 500 ms). One idle for longer is pinged, and replaced
/// when the server has gone away meanwhile.
const LENT_WITHOUT_PING: Duration = Duration::from_millis(500);

/// How Treaty's sessions connect: the URL's settings, then Treaty's own.
fn connect_options(database_url: &str, options: &OpenOptions) -> StoreResult<PgConnectOptions> {
    let mut connect = PgConnectOptions::from_str(database_url)?
        .application_name("treaty")
        // PostgreSQL JIT-compiles any statement whose estimated cost passes
        // `jit_above_cost`, and a correlated subquery per row estimates high:
        // pending status for a provider's thousand WIP pacts spent 160 ms
        // compiling to run for 10. Treaty's statements are all short; JIT
        // never pays for itself here.
        .options([("jit", "off")]);
    if let Some(timeout) = options.statement_timeout {
        connect = connect.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
    }
    Ok(connect)
}

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn open(database_url: &str, options: OpenOptions) -> StoreResult<Self> {
        let connect = connect_options(database_url, &options)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(16))
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > LENT_WITHOUT_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(connect)
            .await?;
        if options.migrate {
            MIGRATOR.run(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// The migrations that have not been applied yet, by version and description.
    pub async fn pending_migrations(database_url: &str) -> StoreResult<Vec<(i64, String)>> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(PgConnectOptions::from_str(database_url)?)
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

    /// A write transaction, holding the write lock. It carries the audit
    /// entry of the request being served, if any.
    pub(crate) async fn begin(&self) -> StoreResult<sql_impl::WriteTx> {
        Ok(sql_impl::WriteTx::audited(self.locked_transaction().await?))
    }

    /// A write transaction that leaves no audit entry (housekeeping).
    pub(crate) async fn begin_unaudited(&self) -> StoreResult<sql_impl::WriteTx> {
        Ok(sql_impl::WriteTx::unaudited(
            self.locked_transaction().await?,
        ))
    }

    /// `BEGIN` and the lock in one round trip (one simple query of two
    /// statements): sent apart, the lock was a second wait on every write.
    async fn locked_transaction(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin_on_a_live_connection(BEGIN_LOCKED).await
    }

    /// A read-only transaction that sees one snapshot for all its queries.
    pub(crate) async fn snapshot(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin_on_a_live_connection("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
    }

    /// Begins a transaction, on another connection while the pool lends
    /// ones the server has dropped (it restarted, or an administrator ended
    /// the sessions): a connection lent within [`LENT_WITHOUT_PING`] of its
    /// last use is not pinged first, so `BEGIN` is what finds it gone.
    /// Nothing has been done on it then, so beginning again is safe; the
    /// pool discards each dead connection as it takes it back.
    async fn begin_on_a_live_connection(
        &self,
        statement: &'static str,
    ) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut attempts = self.pool.options().get_max_connections() + 1;
        loop {
            match self.pool.begin_with(statement).await {
                Err(error) if connection_lost(&error) && attempts > 1 => {
                    attempts -= 1;
                    tracing::info!(%error, "a pooled connection was gone; beginning on another");
                }
                begun => return Ok(begun?),
            }
        }
    }

    /// Moves each identity sequence past the largest imported id.
    pub(crate) async fn continue_ids_after_import(conn: &mut Conn) -> StoreResult<()> {
        for table in sql_impl::dump::TABLES_WITH_IDS {
            // Verification results number from 101, as on a new database.
            let first = if *table == "verifications" { 101 } else { 1 };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), greatest(coalesce((SELECT max(id) FROM {table}), 0) + 1, {first}), false)"
            )))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Moves a table's identity sequence past ids inserted explicitly (the
    /// numbers of verification results moved in), never back.
    pub(crate) async fn continue_ids_after_explicit(
        conn: &mut Conn,
        table: &'static str,
    ) -> StoreResult<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), newest) FROM (SELECT max(id) AS newest FROM {table}) AS ids
             WHERE newest > coalesce(pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id')::regclass), 0)"
        )))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Gathers the planner's statistics once an import has committed: until
    /// autovacuum gets to the new rows, PostgreSQL would plan on empty tables.
    pub(crate) async fn analyze_after_import(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    /// Runs a read of several statements on one read-only snapshot.
    pub(crate) async fn read_snapshot<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'r> FnOnce(&'r mut dyn Reader) -> ReadFuture<'r, T> + Send + 'static,
    {
        let mut snapshot = SnapshotReader(self.snapshot().await?);
        let found = work(&mut snapshot).await?;
        // A read-only transaction has nothing to commit. Dropped, it queues
        // its `ROLLBACK`, which the pool sends and waits for as it takes the
        // connection back, after this answer has gone: one round trip fewer
        // on every read's path. No one is lent the connection before that.
        drop(snapshot);
        Ok(found)
    }

    pub(crate) fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// The one pool, as it is now.
    pub(crate) fn pools(&self) -> Vec<crate::PoolUse> {
        vec![crate::PoolUse {
            pool: "main",
            connections: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }]
    }
}

/// Whether an error says the connection itself is gone, so that another
/// may well succeed: the socket failed, or the server ended the session
/// (class 57P: an administrator's `pg_terminate_backend`, a shutdown).
fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| code.starts_with("57P")),
        _ => false,
    }
}

/// A read-only transaction as a [`Reader`].
struct SnapshotReader(sqlx::Transaction<'static, sqlx::Postgres>);

#[async_trait]
impl Reader for SnapshotReader {
    async fn fetch_all(&mut self, query: Query) -> StoreResult<Vec<Row>> {
        let mut statement = sqlx::query(sql(query.text)).persistent(query.reused);
        for argument in query.arguments {
            statement = match argument {
                Value::Null => statement.bind(None::<String>),
                Value::Int(i) => statement.bind(i),
                Value::Real(f) => statement.bind(f),
                Value::Text(text) => statement.bind(text),
                Value::Bool(b) => statement.bind(b),
                Value::Time(time) => statement.bind(time),
            };
        }
        let rows = statement.fetch_all(&mut *self.0).await?;
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let columns: Arc<[String]> = first
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        rows.iter()
            .map(|row| {
                let values = (0..columns.len())
                    .map(|i| value_of(row, i))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok(Row::new(Arc::clone(&columns), values))
            })
            .collect()
    }
}

/// A column's value, by its PostgreSQL type: the types Treaty's tables use.
fn value_of(row: &PgRow, i: usize) -> StoreResult<Value> {
    if row.try_get_raw(i)?.is_null() {
        return Ok(Value::Null);
    }
    Ok(match row.column(i).type_info().name() {
        "INT8" => Value::Int(row.try_get(i)?),
        "INT4" => Value::Int(row.try_get::<i32, _>(i)?.into()),
        "INT2" => Value::Int(row.try_get::<i16, _>(i)?.into()),
        "BOOL" => Value::Bool(row.try_get(i)?),
        "TIMESTAMPTZ" => Value::Time(row.try_get(i)?),
        "FLOAT8" => Value::Real(row.try_get(i)?),
        "TEXT" | "VARCHAR" | "NAME" | "BPCHAR" => Value::Text(row.try_get(i)?),
        other => {
            return Err(StoreError::Corrupt(format!(
                "a column of type {other}, which Treaty does not read"
            )));
        }
    })
}

pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// A statement for PostgreSQL: the shared SQL's `?` placeholders become
/// `$1, $2, ...` (and `?N` becomes `$N`); question marks inside string
/// literals are left alone. The text is assembled only from constants in this
/// crate, so it is safe.
pub(crate) fn sql(text: impl Into<String>) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(numbered_placeholders(&text.into()))
}

fn numbered_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut next = 0;
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                out.push('$');
                if chars.peek().is_some_and(char::is_ascii_digit) {
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        out.push(d);
                        chars.next();
                    }
                } else {
                    next += 1;
                    out.push_str(&next.to_string());
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[async_trait]
impl AdminStore for PostgresStore {
    async fn check_connection(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn wipe(&self) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("TRUNCATE pacticipants, environments, webhooks RESTART IDENTITY CASCADE")
            .execute(&mut *tx)
            .await?;
        // Verification results number from 101, as on a new database.
        sqlx::query("SELECT setval(pg_get_serial_sequence('verifications', 'id'), 100)")
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

#[cfg(test)]
mod tests {
    use super::{OpenOptions, connect_options, numbered_placeholders};
    use std::time::Duration;

    #[test]
    fn numbers_placeholders_outside_string_literals() {
        assert_eq!(
            numbered_placeholders("SELECT ? , '?' FROM t WHERE a = ? AND b LIKE ?1"),
            "SELECT $1 , '?' FROM t WHERE a = $2 AND b LIKE $1"
        );
    }

    #[test]
    fn sessions_run_without_jit_and_with_the_statement_timeout() {
        let options = OpenOptions {
            statement_timeout: Some(Duration::from_secs(15)),
            ..OpenOptions::default()
        };
        let connect = connect_options(
            "postgres://treaty@127.0.0.1:5432/treaty?options=-c%20work_mem%3D8MB",
            &options,
        )
        .unwrap();
        assert_eq!(
            connect.get_options(),
            Some("-c work_mem=8MB -c jit=off -c statement_timeout=15000ms")
        );
    }
}
