//! SQLite's readers for units of read work (`read.rs`): each unit runs on
//! one of a fixed set of reader threads, on that thread's read-only
//! connection, inside one read transaction, so all its statements see one
//! snapshot and none of them is a hand-off between threads.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::read::{Query, ReadFuture, Reader, Row, Value};
use crate::{StoreError, StoreResult};

/// Prepared statements each connection keeps: the evidence of a matrix
/// question assembles a few dozen shapes of statement.
const STATEMENT_CACHE: usize = 32;

/// A unit of read work, handed to a reader thread.
type Job = Box<dyn FnOnce(StoreResult<&mut Connection>) + Send>;

/// A fixed set of reader threads, each with its own read-only connection to
/// one SQLite file, taking units of work from one queue.
///
/// Threads of their own rather than Tokio's blocking pool: that pool grows
/// a thread whenever none is idle at the moment of asking, and each thread
/// keeps its allocator's heap; a fixed set keeps memory flat under load.
#[derive(Debug, Clone)]
pub(crate) struct BlockingReads {
    jobs: Sender<Job>,
}

impl BlockingReads {
    /// `threads` readers of `file`; each opens its connection on its first
    /// unit of work (the file may not exist until the writer has migrated
    /// it). They end when the last clone of this is dropped.
    pub(crate) fn new(file: &Path, threads: u32) -> StoreResult<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let file = file.to_owned();
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || serve(&file, &queue))
                .map_err(|e| {
                    StoreError::Unsupported(format!("cannot start a reader thread: {e}"))
                })?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on one snapshot of the database.
    pub(crate) async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'r> FnOnce(&'r mut dyn Reader) -> ReadFuture<'r, T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Handle::current();
        let job: Job = Box::new(move |connection| {
            let found = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let mut snapshot = Snapshot::begin(connection?)?;
                // Every statement of a `Snapshot` completes before its
                // future is first polled, so this never parks the thread.
                runtime.block_on(work(&mut snapshot))
            }));
            // The asker may have gone (its client disconnected): nothing to do.
            let _ = reply.send(found);
        });
        let closed = || StoreError::Corrupt("the SQLite reader threads have stopped".to_owned());
        self.jobs.send(job).map_err(|_| closed())?;
        match answer.await {
            Ok(Ok(found)) => found,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(closed()),
        }
    }
}

/// A reader thread: takes units of work until the queue closes.
fn serve(file: &Path, queue: &Mutex<Receiver<Job>>) {
    let mut connection: Option<Connection> = None;
    loop {
        // The lock is held only while waiting for the next unit, never while running one.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if connection.is_none() {
            match open(file) {
                Ok(opened) => connection = Some(opened),
                // The unit answers with the error; the next one tries again.
                Err(error) => {
                    job(Err(error.into()));
                    continue;
                }
            }
        }
        if let Some(connection) = connection.as_mut() {
            job(Ok(connection));
        }
    }
}

fn open(file: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(connection)
}

/// A connection inside a read transaction, ended when dropped.
struct Snapshot<'c> {
    connection: &'c mut Connection,
}

impl<'c> Snapshot<'c> {
    fn begin(connection: &'c mut Connection) -> StoreResult<Self> {
        connection.execute_batch("BEGIN")?;
        Ok(Self { connection })
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        // A read transaction has nothing to commit; ending it lets the WAL
        // be checkpointed past it. Also after an error or a panic, so the
        // connection serves its next unit clean.
        if !self.connection.is_autocommit() {
            let _ = self.connection.execute_batch("ROLLBACK");
        }
    }
}

#[async_trait]
impl Reader for Snapshot<'_> {
    async fn fetch_all(&mut self, query: Query) -> StoreResult<Vec<Row>> {
        if query.reused {
            rows_of(&mut *self.connection.prepare_cached(&query.text)?, &query)
        } else {
            // Not cached: a one-off text would only push out those that repeat.
            rows_of(&mut self.connection.prepare(&query.text)?, &query)
        }
    }
}

fn rows_of(statement: &mut rusqlite::Statement<'_>, query: &Query) -> StoreResult<Vec<Row>> {
    let started = std::time::Instant::now();
    let found = read_rows(statement, query)?;
    // As sqlx logs its statements (`RUST_LOG=sqlx::query=debug`).
    tracing::debug!(
        target: "treaty_store::read",
        statement = %query.text.split_whitespace().collect::<Vec<_>>().join(" "),
        rows = found.len(),
        elapsed_us = started.elapsed().as_micros(),
        "read"
    );
    Ok(found)
}

fn read_rows(statement: &mut rusqlite::Statement<'_>, query: &Query) -> StoreResult<Vec<Row>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn database() -> (tempfile::TempDir, PathBuf) {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("t.db");
        let connection = Connection::open(&file).unwrap();
        connection
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER, s TEXT); INSERT INTO t VALUES (1, 'a'), (2, NULL);")
            .unwrap();
        (folder, file)
    }

    async fn rows(reads: &BlockingReads, text: &'static str) -> StoreResult<Vec<Row>> {
        reads
            .run(move |reader| Box::pin(async move { reader.fetch_all(Query::new(text)).await }))
            .await
    }

    /// `.cargo/config.toml` builds SQLite without the shared page-cache LRU
    /// and memory statistics (a global mutex on every page fetch and every
    /// allocation) and without the 20-page bulk allocation of each new page
    /// cache (every temporary B-tree of an `IN` list made one).
    #[test]
    fn sqlite_is_built_without_global_mutexes_on_the_read_path() {
        let connection = Connection::open_in_memory().unwrap();
        let mut statement = connection.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_PCACHE_INITSZ=0"),
            "{options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
    }

    #[tokio::test]
    async fn a_unit_reads_rows_with_bound_arguments() {
        let (_folder, file) = database();
        let reads = BlockingReads::new(&file, 2).unwrap();
        let found = reads
            .run(|reader| {
                Box::pin(async move {
                    let query =
                        Query::new("SELECT n, s FROM t WHERE n >= ? ORDER BY n").bind(1_i64);
                    reader.fetch_all(query).await
                })
            })
            .await
            .unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].try_get::<String>("s").unwrap(), "a");
        assert_eq!(found[1].try_get::<Option<String>>("s").unwrap(), None);
    }

    #[tokio::test]
    async fn a_failing_or_panicking_unit_leaves_the_readers_serving() {
        let (_folder, file) = database();
        // One thread: the unit after each failure runs on the same connection.
        let reads = BlockingReads::new(&file, 1).unwrap();
        assert!(rows(&reads, "SELECT nothing FROM nowhere").await.is_err());
        let panicked = tokio::spawn({
            let reads = reads.clone();
            async move {
                reads
                    .run(|_reader| -> ReadFuture<'_, ()> { panic!("a bug in a unit of work") })
                    .await
            }
        })
        .await;
        assert!(panicked.unwrap_err().is_panic());
        assert_eq!(rows(&reads, "SELECT n FROM t").await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_opened_is_an_error_not_a_hang() {
        let folder = tempfile::tempdir().unwrap();
        let reads = BlockingReads::new(&folder.path().join("missing.db"), 1).unwrap();
        let error = rows(&reads, "SELECT 1").await.unwrap_err();
        assert!(matches!(error, StoreError::SqliteRead(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_unit_sees_one_snapshot_while_a_writer_commits() {
        let (_folder, file) = database();
        let reads = BlockingReads::new(&file, 1).unwrap();
        let writer_file = file.clone();
        let counts = reads
            .run(move |reader| {
                Box::pin(async move {
                    let before = reader.fetch_all(Query::new("SELECT n FROM t")).await?.len();
                    Connection::open(&writer_file)
                        .unwrap()
                        .execute("INSERT INTO t VALUES (3, 'c')", [])
                        .unwrap();
                    let after = reader.fetch_all(Query::new("SELECT n FROM t")).await?.len();
                    Ok((before, after))
                })
            })
            .await
            .unwrap();
        assert_eq!(counts, (2, 2));
        assert_eq!(rows(&reads, "SELECT n FROM t").await.unwrap().len(), 3);
    }
}
