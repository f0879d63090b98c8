//! Group commit for SQLite's writes: the writes that are ready together
//! share one `COMMIT` (one flush of the write-ahead log), each is still
//! atomic on its own, and none is answered before its batch is durable.
//!
//! There is one write connection. A batch is one transaction on it
//! (`BEGIN IMMEDIATE ... COMMIT`); each write in it runs inside its own
//! `SAVEPOINT`, taken when the write begins and released when it commits, or
//! rolled back to when it fails or is dropped, so a failing write leaves
//! nothing behind and takes no other write with it. Writes take turns on the
//! connection through a fair (first come, first served) lock, as they queued
//! on the pool of one connection before.
//!
//! A write that has released its savepoint and finds no other write waiting
//! for the connection commits the batch itself, at once (a lone writer pays
//! no hand-off). Otherwise it wakes the committer task and waits for its
//! batch's outcome: the committer queues for the same lock, so it gets it
//! after every write that was already waiting; those join the batch, and the
//! committer then commits it once and tells every member. Under load, the
//! writes queued behind one another share the flush. The `synchronous = FULL`
//! setting still applies to every `COMMIT`, so an acknowledged write
//! survives a crash or a power loss.
//!
//! If the batch's `COMMIT` fails, or a failed write's savepoint cannot be
//! rolled back (SQLite rolled back the whole transaction, on a full disk or
//! an I/O error), the whole batch is rolled back and every member gets the
//! error: nothing that is lost was acknowledged.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use sqlx::pool::PoolConnection;
use sqlx::{Executor, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, watch};

use crate::{StoreError, StoreResult};

/// A batch's outcome: `None` while it is open, then whether it committed
/// (the error's text when not, shared by every member).
type Outcome = Option<Result<(), Arc<str>>>;

/// The write connection and the batch open on it.
#[derive(Default)]
struct Slot {
    /// The connection, held from the pool while a batch is open.
    conn: Option<PoolConnection<Sqlite>>,
    /// Tells the members of the open batch how it ended.
    batch: Option<watch::Sender<Outcome>>,
    /// A write began and neither committed nor rolled back: it was dropped
    /// (an error, or its request cancelled), and its savepoint is still open.
    abandoned: bool,
}

/// Group commit over the pool of one write connection.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    pool: SqlitePool,
    slot: Arc<Mutex<Slot>>,
    wake: Arc<Wake>,
    /// Stops the committer when the last copy of the store is dropped.
    _stop: Arc<StopOnDrop>,
}

#[derive(Debug, Default)]
struct Wake {
    notify: Notify,
    /// Writes waiting for the connection.
    queued: AtomicUsize,
    stopped: AtomicBool,
    /// Batches committed so far.
    commits: AtomicU64,
}

#[derive(Debug)]
struct StopOnDrop(Arc<Wake>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.notify.notify_one();
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("open", &self.conn.is_some())
            .field("abandoned", &self.abandoned)
            .finish()
    }
}

impl GroupCommit {
    /// Starts the committer on the current runtime.
    pub(crate) fn new(pool: SqlitePool) -> Self {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let wake = Arc::new(Wake::default());
        tokio::spawn(committer(Arc::downgrade(&slot), Arc::clone(&wake)));
        Self {
            pool,
            slot,
            _stop: Arc::new(StopOnDrop(Arc::clone(&wake))),
            wake,
        }
    }

    /// How many batches have committed.
    #[cfg(test)]
    fn commits(&self) -> u64 {
        self.wake.commits.load(Ordering::Relaxed)
    }

    /// Begins a write: waits for its turn on the connection, joins the open
    /// batch (or opens one) and takes the write's savepoint.
    pub(crate) async fn begin(&self) -> StoreResult<GroupWrite> {
        let queued = Queued::new(&self.wake);
        let mut slot = Arc::clone(&self.slot).lock_owned().await;
        drop(queued);
        settle_abandoned(&mut slot).await;
        if slot.conn.is_none() {
            let mut conn = self.pool.acquire().await?;
            // `BEGIN IMMEDIATE` takes SQLite's write lock at the start, so a
            // write that reads before it writes never fails halfway because
            // another process wrote in between (it waits its turn instead).
            // With the first savepoint, in one hand-off to the connection's
            // thread: a lone write costs what it did before batches.
            if let Err(error) = sqlx::raw_sql("BEGIN IMMEDIATE; SAVEPOINT treaty_write")
                .execute(&mut *conn)
                .await
            {
                let _ = conn.execute("ROLLBACK").await;
                return Err(error.into());
            }
            slot.conn = Some(conn);
            slot.batch = Some(watch::channel(None).0);
            return Ok(GroupWrite {
                slot: Some(slot),
                wake: Arc::clone(&self.wake),
            });
        }
        let conn = slot.conn.as_mut().expect("a batch is open");
        if let Err(error) = conn.execute("SAVEPOINT treaty_write").await {
            // Nothing of this write exists yet; the batch is untouched, but a
            // connection that cannot take a savepoint is not to be trusted.
            fail_batch(&mut slot, &error.to_string()).await;
            return Err(error.into());
        }
        Ok(GroupWrite {
            slot: Some(slot),
            wake: Arc::clone(&self.wake),
        })
    }
}

/// One write inside a batch, holding the connection until it commits.
/// Dropped without [`GroupWrite::commit`], its changes are rolled back.
pub(crate) struct GroupWrite {
    slot: Option<OwnedMutexGuard<Slot>>,
    wake: Arc<Wake>,
}

impl GroupWrite {
    /// Keeps this write's changes in its batch, lets the next write run, and
    /// returns once the batch has committed: the write is then durable.
    ///
    /// It runs as a task of its own: a request cancelled while its write
    /// commits (the client went away) must not stop a `COMMIT` that other
    /// writes of the batch wait for.
    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        let slot = self.slot.take().expect("a write commits once");
        let wake = Arc::clone(&self.wake);
        tokio::spawn(commit(slot, wake))
            .await
            .unwrap_or_else(|failed| Err(StoreError::NotCommitted(failed.to_string())))
    }
}

/// Commits one write: the batch at once if no other write waits for the
/// connection, else hands the connection on and waits for the committer.
async fn commit(mut slot: OwnedMutexGuard<Slot>, wake: Arc<Wake>) -> StoreResult<()> {
    if wake.queued.load(Ordering::SeqCst) == 0 {
        // Nobody to share the flush with: commit now, without a hand-off
        // (`COMMIT` keeps the savepoint's changes; no `RELEASE` needed).
        let mut outcome = slot
            .batch
            .as_ref()
            .expect("a write runs in a batch")
            .subscribe();
        if commit_batch(&mut slot).await {
            wake.commits.fetch_add(1, Ordering::Relaxed);
        }
        drop(slot);
        let ended = outcome.borrow_and_update().clone();
        return answer(ended);
    }
    let conn = slot.conn.as_mut().expect("a write runs in a batch");
    if let Err(error) = conn.execute("RELEASE treaty_write").await {
        slot.abandoned = true;
        settle_abandoned(&mut slot).await;
        drop(slot);
        wake.notify.notify_one();
        return Err(error.into());
    }
    let mut outcome = slot
        .batch
        .as_ref()
        .expect("a write runs in a batch")
        .subscribe();
    drop(slot);
    wake.notify.notify_one();
    let ended = outcome
        .wait_for(Option::is_some)
        .await
        .map(|o| o.clone())
        .map_err(|_| StoreError::NotCommitted("the store was closed".into()))?;
    answer(ended)
}

/// What a member of a batch is told.
fn answer(outcome: Outcome) -> StoreResult<()> {
    match outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(error)) => Err(StoreError::NotCommitted(error.to_string())),
        None => Err(StoreError::NotCommitted("the batch did not end".into())),
    }
}

/// Counts a write waiting for the connection, until it gets it or is
/// cancelled.
struct Queued<'a>(&'a Wake);

impl<'a> Queued<'a> {
    fn new(wake: &'a Wake) -> Self {
        wake.queued.fetch_add(1, Ordering::SeqCst);
        Self(wake)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for GroupWrite {
    fn drop(&mut self) {
        // Dropped before committing: the committer (or the next write, if it
        // gets the connection first) rolls this write's savepoint back.
        if let Some(mut slot) = self.slot.take() {
            slot.abandoned = true;
            drop(slot);
            self.wake.notify.notify_one();
        }
    }
}

impl Deref for GroupWrite {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.slot
            .as_ref()
            .and_then(|s| s.conn.as_deref())
            .expect("a write runs in a batch")
    }
}

impl DerefMut for GroupWrite {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.slot
            .as_mut()
            .and_then(|s| s.conn.as_deref_mut())
            .expect("a write runs in a batch")
    }
}

/// Commits the open batch whenever a write has finished, once the writes
/// already waiting for the connection have joined it.
async fn committer(slot: Weak<Mutex<Slot>>, wake: Arc<Wake>) {
    loop {
        wake.notify.notified().await;
        let Some(slot) = slot.upgrade() else {
            return;
        };
        {
            let mut slot = slot.lock().await;
            settle_abandoned(&mut slot).await;
            if commit_batch(&mut slot).await {
                wake.commits.fetch_add(1, Ordering::Relaxed);
            }
        }
        if wake.stopped.load(Ordering::SeqCst) && Arc::strong_count(&slot) == 1 {
            return;
        }
    }
}

/// Rolls back the savepoint of a write that was dropped; if that fails, the
/// batch is lost and every member is told.
async fn settle_abandoned(slot: &mut Slot) {
    if !std::mem::take(&mut slot.abandoned) {
        return;
    }
    let Some(conn) = slot.conn.as_mut() else {
        return;
    };
    let rolled_back = match conn.execute("ROLLBACK TO treaty_write").await {
        Ok(_) => conn.execute("RELEASE treaty_write").await.map(|_| ()),
        Err(error) => Err(error),
    };
    if let Err(error) = rolled_back {
        fail_batch(slot, &error.to_string()).await;
    }
}

/// Commits the open batch, if any, and tells its members; whether one committed.
async fn commit_batch(slot: &mut Slot) -> bool {
    let Some(mut conn) = slot.conn.take() else {
        return false;
    };
    let outcome = match conn.execute("COMMIT").await {
        Ok(_) => Ok(()),
        Err(error) => {
            // A failed COMMIT can leave the transaction open (SQLITE_BUSY).
            let _ = conn.execute("ROLLBACK").await;
            Err(Arc::from(error.to_string()))
        }
    };
    let committed = outcome.is_ok();
    if let Some(batch) = slot.batch.take() {
        batch.send_replace(Some(outcome));
    }
    committed
}

/// Rolls back the whole batch and tells every member it failed.
async fn fail_batch(slot: &mut Slot, error: &str) {
    if let Some(mut conn) = slot.conn.take() {
        let _ = conn.execute("ROLLBACK").await;
    }
    slot.abandoned = false;
    if let Some(batch) = slot.batch.take() {
        batch.send_replace(Some(Err(Arc::from(error))));
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    use tokio::sync::oneshot;

    use super::*;

    struct Fixture {
        writes: GroupCommit,
        /// Another connection, which sees only what has committed.
        other: SqlitePool,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let connect = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect.clone())
            .await
            .unwrap();
        pool.execute("CREATE TABLE t (name TEXT PRIMARY KEY)")
            .await
            .unwrap();
        let other = SqlitePool::connect_with(connect).await.unwrap();
        Fixture {
            writes: GroupCommit::new(pool),
            other,
            _dir: dir,
        }
    }

    async fn insert(write: &mut GroupWrite, name: &str) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO t (name) VALUES (?)")
            .bind(name)
            .execute(&mut **write)
            .await
            .map(|_| ())
    }

    async fn names(pool: &SqlitePool) -> Vec<String> {
        sqlx::query_scalar("SELECT name FROM t ORDER BY name")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// W1 finishes while W2 holds the connection: W1 is not answered, and
    /// nothing of it is visible, until the batch they share commits once.
    #[tokio::test]
    async fn a_write_is_answered_only_once_its_batch_has_committed() {
        let f = fixture().await;
        let mut first = f.writes.begin().await.unwrap();
        let (holding, held) = oneshot::channel();
        let (go, proceed) = oneshot::channel::<()>();
        let writes = f.writes.clone();
        let second = tokio::spawn(async move {
            let mut second = writes.begin().await.unwrap();
            holding.send(()).unwrap();
            proceed.await.unwrap();
            insert(&mut second, "second").await.unwrap();
            second.commit().await
        });
        insert(&mut first, "first").await.unwrap();
        let first = tokio::spawn(first.commit());
        held.await.unwrap();
        assert!(!first.is_finished(), "answered before its batch committed");
        assert!(names(&f.other).await.is_empty());
        go.send(()).unwrap();
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(names(&f.other).await, ["first", "second"]);
        assert_eq!(f.writes.commits(), 1, "the two writes share one commit");
    }

    /// In one batch, a write that fails (and is dropped) leaves nothing
    /// behind, and the writes before and after it commit.
    #[tokio::test]
    async fn a_failing_write_rolls_back_alone_and_its_batch_commits() {
        let f = fixture().await;
        let mut first = f.writes.begin().await.unwrap();
        let (failing_began, failing_holds) = oneshot::channel();
        let writes = f.writes.clone();
        let failing = tokio::spawn(async move {
            let mut write = writes.begin().await.unwrap();
            failing_began.send(()).unwrap();
            insert(&mut write, "partial").await.unwrap();
            // The same name again: the write fails, and is dropped.
            insert(&mut write, "first").await
        });
        let writes = f.writes.clone();
        let third = tokio::spawn(async move {
            let mut write = writes.begin().await.unwrap();
            insert(&mut write, "third").await.unwrap();
            write.commit().await
        });
        // Let the other two queue for the connection behind the first.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        insert(&mut first, "first").await.unwrap();
        let first = tokio::spawn(first.commit());
        failing_holds.await.unwrap();
        assert!(failing.await.unwrap().is_err());
        first.await.unwrap().unwrap();
        third.await.unwrap().unwrap();
        assert_eq!(names(&f.other).await, ["first", "third"]);
        assert_eq!(f.writes.commits(), 1, "one batch for the three writes");
    }

    /// When the batch's `COMMIT` itself fails (here a real SQLite failure:
    /// a deferred foreign key, checked only at `COMMIT`), every write of the
    /// batch gets the error, none of them is kept, and the next write starts
    /// on a connection that is no longer inside the failed transaction.
    #[tokio::test]
    async fn a_batch_that_cannot_commit_fails_every_write_in_it_and_keeps_nothing() {
        let f = fixture().await;
        let mut setup = f.writes.begin().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
        )
        .execute(&mut *setup)
        .await
        .unwrap();
        setup.commit().await.unwrap();

        let mut first = f.writes.begin().await.unwrap();
        let (holding, held) = oneshot::channel();
        let (go, proceed) = oneshot::channel::<()>();
        let writes = f.writes.clone();
        let second = tokio::spawn(async move {
            let mut second = writes.begin().await.unwrap();
            holding.send(()).unwrap();
            proceed.await.unwrap();
            insert(&mut second, "second").await.unwrap();
            // A child without its parent: accepted now, refused at COMMIT.
            sqlx::query("INSERT INTO child (parent_id) VALUES (42)")
                .execute(&mut *second)
                .await
                .unwrap();
            second.commit().await
        });
        insert(&mut first, "first").await.unwrap();
        let first = tokio::spawn(first.commit());
        held.await.unwrap();
        go.send(()).unwrap();
        let first = first.await.unwrap();
        let second = second.await.unwrap();
        assert!(first.is_err(), "a write of a failed batch was acknowledged");
        assert!(
            second.is_err(),
            "a write of a failed batch was acknowledged"
        );
        assert!(names(&f.other).await.is_empty());
        let children: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM child")
            .fetch_one(&f.other)
            .await
            .unwrap();
        assert_eq!(children, 0);

        let mut next = f.writes.begin().await.unwrap();
        insert(&mut next, "next").await.unwrap();
        next.commit().await.unwrap();
        assert_eq!(names(&f.other).await, ["next"]);
    }

    /// A write dropped with nobody behind it is rolled back, and the next
    /// write starts clean.
    #[tokio::test]
    async fn a_dropped_write_alone_leaves_nothing() {
        let f = fixture().await;
        let mut dropped = f.writes.begin().await.unwrap();
        insert(&mut dropped, "dropped").await.unwrap();
        drop(dropped);
        let mut next = f.writes.begin().await.unwrap();
        insert(&mut next, "next").await.unwrap();
        next.commit().await.unwrap();
        assert_eq!(names(&f.other).await, ["next"]);
    }
}
