//! Group commit for SQLite's one writer connection.
//!
//! Under `synchronous=FULL` a COMMIT waits for an fsync, which costs far
//! more than the statements of a typical write. So writes that queue for the
//! writer while one runs share a transaction: each runs in a savepoint of
//! it, one after another, and the last in the queue (or the one that fills
//! the group) commits for all. A write that fails rolls back to its own
//! savepoint and fails alone (and commits the group's earlier writes at
//! once, see `abandon`); a write is acknowledged only once the group's
//! COMMIT has returned, so an acknowledged write is on disk.
//!
//! Invariant: whenever a group transaction is open and no write is queued
//! for (or holding) the writer, someone commits it. `state.queued` counts
//! those writes, and every change to it and every hand-over of the writer
//! happen under the `state` lock, so the last write out — by release,
//! failure or cancellation — sees the count reach zero and commits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;
use tokio::sync::{watch, Mutex as AsyncMutex, OwnedMutexGuard};

use super::{blocking, db_err};
use crate::core::error::{Error, Result};

/// How many writes share one transaction at most: bounds how long the first
/// of them waits for its acknowledgement.
const MAX_MEMBERS: usize = 64;

/// What the members of a group learn when it ends: `Ok`, or the commit's error.
type GroupResult = Option<std::result::Result<(), String>>;

pub(super) struct GroupCommit {
    writer: Arc<AsyncMutex<Connection>>,
    state: Mutex<State>,
    /// Counts committed groups that wrote events (`Db::event_writes`).
    pub(super) event_writes: watch::Sender<u64>,
    /// Counts COMMITs, to compare with the writes they carried.
    commits: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Writes waiting for the writer connection or holding it.
    queued: usize,
    /// The open group transaction, if any.
    open: Option<OpenGroup>,
}

struct OpenGroup {
    /// Writes whose savepoint was released into this transaction.
    members: usize,
    announced: bool,
    outcome: watch::Sender<GroupResult>,
}

/// What releasing a write's savepoint led to.
pub(super) enum Outcome {
    /// This write committed the group.
    Committed(Result<()>),
    /// Another write will commit the group; the receiver hears how it went.
    Joined(watch::Receiver<GroupResult>),
}

/// A place in the writer's queue, given up if the waiting write is
/// cancelled before it gets the writer.
struct Waiting<'a>(&'a GroupCommit);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.queued -= 1;
        if state.queued == 0 && state.open.is_some() {
            // Nobody holds the writer: every holder is counted in `queued`.
            if let Ok(conn) = self.0.writer.clone().try_lock_owned() {
                let group = state.open.take();
                drop(state);
                let _ = self.0.commit(&conn, group);
            }
        }
    }
}

impl GroupCommit {
    pub(super) fn new(writer: Connection) -> Self {
        GroupCommit {
            writer: Arc::new(AsyncMutex::new(writer)),
            state: Mutex::new(State::default()),
            event_writes: watch::Sender::new(0),
            commits: AtomicU64::new(0),
        }
    }

    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a counter and a channel: consistent after any panic.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The writer connection, without a place in the queue (between requests).
    pub(super) fn try_writer(&self) -> Option<tokio::sync::MutexGuard<'_, Connection>> {
        self.writer.try_lock().ok()
    }

    /// Queues for the writer. The caller then `begin`s and must end with
    /// `release` or `abandon`.
    pub(super) async fn join(&self) -> OwnedMutexGuard<Connection> {
        self.lock().queued += 1;
        let waiting = Waiting(self);
        let conn = self.writer.clone().lock_owned().await;
        std::mem::forget(waiting);
        conn
    }

    /// Opens the group transaction if none is open.
    pub(super) fn begin(&self, conn: &Connection) -> Result<()> {
        let mut state = self.lock();
        if state.open.is_none() {
            conn.execute_batch("BEGIN").map_err(db_err)?;
            state.open = Some(OpenGroup { members: 0, announced: false, outcome: watch::Sender::new(None) });
        }
        Ok(())
    }

    /// Ends a write that succeeded: its savepoint joins the group, which
    /// commits now if no other write is queued or the group is full.
    pub(super) fn release(&self, conn: OwnedMutexGuard<Connection>, announced: bool) -> Outcome {
        if let Err(e) = conn.execute_batch("RELEASE request") {
            self.abandon(conn);
            return Outcome::Committed(Err(db_err(e)));
        }
        let mut state = self.lock();
        state.queued -= 1;
        let queued = state.queued;
        let Some(group) = state.open.as_mut() else {
            drop(state);
            return Outcome::Committed(Err(Error::internal("sqlite: no group transaction is open")));
        };
        group.members += 1;
        group.announced |= announced;
        let outcome = group.outcome.subscribe();
        if queued == 0 || group.members >= MAX_MEMBERS {
            let group = state.open.take();
            drop(state);
            Outcome::Committed(self.commit(&conn, group))
        } else {
            // Handed over under the state lock: the next write is counted.
            drop(conn);
            drop(state);
            Outcome::Joined(outcome)
        }
    }

    /// Ends a write that failed or was dropped: its savepoint is rolled
    /// back, and the group commits if this was the last write queued.
    pub(super) fn abandon(&self, conn: OwnedMutexGuard<Connection>) {
        let rolled_back = conn.execute_batch("ROLLBACK TO request; RELEASE request").is_ok();
        let mut state = self.lock();
        state.queued -= 1;
        if !rolled_back || conn.is_autocommit() {
            // SQLite rolled the whole transaction back (some errors do), or
            // it never began: the group's earlier writes are gone with it.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            if let Some(group) = state.open.take() {
                let _ = group.outcome.send(Some(Err("sqlite: the group transaction was rolled back".into())));
            }
            return;
        }
        // The group's earlier writes commit now if there are any: a write
        // that lost a version check (`core::versions`) retries from a fresh
        // read on another connection, which must see the write that won.
        let members = state.open.as_ref().map_or(0, |g| g.members);
        if state.queued == 0 || members > 0 {
            let group = state.open.take();
            drop(state);
            let _ = self.commit(&conn, group);
        }
    }

    /// Commits the open transaction on `conn` and tells the group's members.
    fn commit(&self, conn: &Connection, group: Option<OpenGroup>) -> Result<()> {
        let result = blocking(|| conn.execute_batch("COMMIT")).map_err(db_err);
        self.commits.fetch_add(1, Ordering::Relaxed);
        if result.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if let Some(group) = group {
            if result.is_ok() && group.announced {
                self.event_writes.send_modify(|n| *n += 1);
            }
            let _ = group.outcome.send(Some(result.as_ref().map(|_| ()).map_err(|e| e.message.clone())));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::args;
    use crate::store::db::Db;
    use crate::store::sqlite::SqliteStore;

    /// 200 concurrent writes: those that fail (a duplicate key) or are
    /// dropped without commit leave nothing behind, every other one is
    /// committed, and they shared far fewer COMMITs than writes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits_and_each_failure_stays_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(SqliteStore::open(dir.path()).expect("open"));
        let mut tx = store.write().await.expect("write");
        tx.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)", &[]).await.expect("create");
        tx.commit().await.expect("commit");
        let before = store.group_commits();

        let mut tasks = Vec::new();
        for i in 0..200_i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.write().await.expect("write");
                // Ids 150..200 repeat 0..50: one of each pair fails.
                tx.exec("INSERT INTO t (id) VALUES ($1)", args![i % 150]).await?;
                tokio::task::yield_now().await;
                if i % 7 == 0 {
                    tx.exec("INSERT INTO t (id) VALUES ($1)", args![1000 + i]).await?;
                    return Ok(false); // dropped: rolled back
                }
                tx.commit().await.map(|()| true)
            }));
        }
        let mut committed = 0;
        for task in tasks {
            if let Ok(true) = task.await.expect("task") {
                committed += 1;
            }
        }
        let commits = store.group_commits() - before;
        let mut read = store.read().await.expect("read");
        let rows = read.int("SELECT COUNT(*) FROM t", &[]).await.expect("count");
        let dropped = read.int("SELECT COUNT(*) FROM t WHERE id >= 1000", &[]).await.expect("count");
        assert_eq!(dropped, 0, "writes dropped without commit left rows");
        assert_eq!(rows, committed, "every acknowledged write is there, and nothing else");
        assert!(committed > 100, "most writes committed: {committed}");
        assert!(commits < committed as u64 / 2, "{committed} writes took {commits} commits");
    }
}
