//! The SQLite driver under the shared operations: one writer connection
//! (SQLite serialises writers anyway) and a few readers, WAL mode.
//!
//! Writes are group-committed (`group`): concurrent requests run one after
//! another in savepoints of one transaction and share its COMMIT, so a
//! burst of writes pays for one fsync instead of one each.
//!
//! rusqlite is synchronous. A `SqliteTx` runs each statement when it is
//! awaited, on the task's own thread: statements are short and served from
//! the page cache, so a hand-off to the blocking pool would cost more than
//! it saves. The one call that waits on the disk, `COMMIT` (an fsync under
//! `synchronous=FULL`), runs in `block_in_place` so the runtime moves its
//! other tasks to another worker meanwhile.

use std::rc::Rc;
use std::sync::Arc;

use super::db_err;
use super::group::{GroupCommit, Outcome};

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, Statement, ToSql};
use tokio::sync::{watch, OwnedMutexGuard};

use super::SqliteStore;
use crate::core::error::{Error, Result};
use crate::store::db::{sqlite_spelling, Arg, Db, Dialect, Row, Tx};

/// An argument as rusqlite binds it; lists become `rarray` tables.
enum Bound {
    Value(SqlValue),
    List(Rc<Vec<SqlValue>>),
}

impl ToSql for Bound {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Bound::Value(v) => v.to_sql(),
            Bound::List(list) => list.to_sql(),
        }
    }
}

fn bind(args: &[Arg]) -> Vec<Bound> {
    args.iter()
        .map(|a| match a {
            Arg::Null => Bound::Value(SqlValue::Null),
            Arg::Text(t) => Bound::Value(SqlValue::Text(t.clone())),
            Arg::Int(i) => Bound::Value(SqlValue::Integer(*i)),
            Arg::Real(r) => Bound::Value(SqlValue::Real(*r)),
            Arg::Bool(b) => Bound::Value(SqlValue::Integer(i64::from(*b))),
            Arg::Texts(list) => Bound::List(Rc::new(list.iter().cloned().map(SqlValue::Text).collect())),
        })
        .collect()
}

fn value(v: ValueRef<'_>) -> Result<Arg> {
    Ok(match v {
        ValueRef::Null => Arg::Null,
        ValueRef::Integer(i) => Arg::Int(i),
        ValueRef::Real(r) => Arg::Real(r),
        ValueRef::Text(t) => Arg::Text(String::from_utf8(t.to_vec()).map_err(Error::internal)?),
        ValueRef::Blob(_) => return Err(Error::internal("sqlite: unexpected blob column")),
    })
}

/// A bound `LIMIT` would have SQLite prepare the statement again on every
/// run (see `store::sql::limit`): caught in tests.
fn check_limit(sql: &str) {
    debug_assert!(!sql.contains("LIMIT $"), "a bound LIMIT re-prepares on every run; use store::sql::limit: {sql}");
}

fn run_rows(conn: &Connection, sql: &str, args: &[Arg]) -> Result<Vec<Row>> {
    check_limit(sql);
    let mut stmt = conn.prepare_cached(&sqlite_spelling(sql)).map_err(db_err)?;
    collect_rows(&mut stmt, args)
}

fn collect_rows(stmt: &mut Statement<'_>, args: &[Arg]) -> Result<Vec<Row>> {
    let width = stmt.column_count();
    let mut rows = stmt.query(params_from_iter(bind(args))).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(value(row.get_ref(i).map_err(db_err)?)?);
        }
        out.push(Row(values));
    }
    Ok(out)
}

/// A read, or one request's write. A write runs inside a savepoint of the
/// group's transaction (`group`); it is acknowledged only once that
/// transaction has committed.
pub(super) struct SqliteTx {
    conn: Option<OwnedMutexGuard<Connection>>,
    /// The store's group commit, for a write whose savepoint is open.
    write: Option<Arc<GroupCommit>>,
    /// The store's event-write counter, bumped when the group commits if
    /// this write wrote events.
    announced: bool,
}

impl SqliteTx {
    fn conn(&self) -> Result<&Connection> {
        self.conn.as_deref().ok_or_else(|| Error::internal("sqlite: the transaction has ended"))
    }
}

#[async_trait]
impl Tx for SqliteTx {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn exec(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
        check_limit(sql);
        let sql = sqlite_spelling(sql);
        let mut stmt = self.conn()?.prepare_cached(&sql).map_err(db_err)?;
        let n = stmt.execute(params_from_iter(bind(args))).map_err(db_err)?;
        Ok(n as u64)
    }

    async fn rows(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>> {
        run_rows(self.conn()?, sql, args)
    }

    /// Cached too: the cache is an LRU of bounded size, so a one-off
    /// statement costs at most an eviction, while the common shapes (a
    /// feed read's follower and member pages, the same filter again) skip
    /// parsing and planning, a tenth of a feed read's CPU when prepared
    /// every time.
    async fn rows_once(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>> {
        run_rows(self.conn()?, sql, args)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let (Some(group), Some(conn)) = (self.write.take(), self.conn.take()) else {
            return Ok(());
        };
        match group.release(conn, self.announced) {
            Outcome::Committed(result) => result,
            Outcome::Joined(mut outcome) => match outcome.wait_for(Option::is_some).await.as_deref() {
                Ok(Some(Ok(()))) => Ok(()),
                Ok(Some(Err(message))) => Err(Error::internal(message.clone())),
                Ok(None) | Err(_) => Err(Error::internal("sqlite: the group commit ended without an outcome")),
            },
        }
    }

    async fn announce_events(&mut self) -> Result<()> {
        self.announced = true;
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let (Some(group), Some(conn)) = (self.write.take(), self.conn.take()) {
            group.abandon(conn);
        }
    }
}

#[async_trait]
impl Db for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn read(&self) -> Result<Box<dyn Tx + '_>> {
        let conn = self.reader().await;
        Ok(Box::new(SqliteTx { conn: Some(conn), write: None, announced: false }))
    }

    async fn write(&self) -> Result<Box<dyn Tx + '_>> {
        let conn = self.group.join().await;
        let tx = SqliteTx { conn: Some(conn), write: Some(self.group.clone()), announced: false };
        // Dropped on an error, the transaction gives its place in the group up.
        self.group.begin(tx.conn()?)?;
        tx.conn()?.execute_batch("SAVEPOINT request").map_err(db_err)?;
        Ok(Box::new(tx))
    }

    fn event_writes(&self) -> watch::Receiver<u64> {
        self.group.event_writes.subscribe()
    }
}
