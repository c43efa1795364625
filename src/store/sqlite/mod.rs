//! SQLite store: one writer connection (SQLite serialises writers anyway) and
//! a few reader connections, WAL mode, every call on the blocking pool.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

use async_trait::async_trait;
use rusqlite::functions::FunctionFlags;
pub use rusqlite::trace::TraceEvent;
use rusqlite::trace::TraceEventCodes;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::core::error::{Error, Result};
use crate::core::feed_visibilities::StoredGrants;
use crate::core::filter::distance_km;
use crate::core::follows::DEFAULT_COPY_LIMIT;
use crate::core::membership_levels::MembershipLevel;
use crate::core::model::{
    Activity, Bookmark, BookmarkFolder, Collection, Feed, FeedCounts, FeedGroup, FeedMember, Feedback, Fid, Follow,
    MetricEvent, Pin, Poll, PollTally, PollVote, User, VoteOutcome, FOLLOW_ACCEPTED, LATEST_VOTES,
    METRIC_EVENTS_PER_WINDOW, METRIC_WINDOW_SECONDS,
};
use crate::core::storage::{
    ActivityQuery, ActivityStore, BookmarkStore, CollectionStore, ConfigStore, ExtraWrites, FeedSlice, FeedStore,
    FollowStore, ListQuery, MemberStore, PinStore, PollStore, Reader,
};
use crate::core::time::Timestamp;
use crate::store::sql::{self, Arg, Dialect};

mod config;
mod driver;
mod feeds;

use driver::db_err;
mod migrations;

const READERS: usize = 4;

pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    readers: Vec<Arc<Mutex<Connection>>>,
    next_reader: AtomicUsize,
}

fn to_doc<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

fn from_doc<T: DeserializeOwned>(doc: &str) -> Result<T> {
    serde_json::from_str(doc).map_err(|e| Error::internal(format!("corrupt stored record: {e}")))
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(db_err)?;
    // synchronous=FULL: an acknowledged write survives power loss, not only
    // a process crash. busy_timeout covers a second process on the file.
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;
         PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;
         PRAGMA temp_store=MEMORY;",
    )
    .map_err(db_err)?;
    // The `near` filter's distance; SQLite has no trigonometry built in.
    conn.create_scalar_function(
        "distance_km",
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let coordinates = (0..4).map(|i| ctx.get::<Option<f64>>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(match coordinates[..] {
                [Some(lat1), Some(lng1), Some(lat2), Some(lng2)] => Some(distance_km(lat1, lng1, lat2, lng2)),
                _ => None,
            })
        },
    )
    .map_err(db_err)?;
    // List parameters (`= ANY($n)` in shared SQL) bind as `rarray` tables.
    rusqlite::vtab::array::load_module(&conn).map_err(db_err)?;
    // Room for every constant statement of the shared operations.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).map_err(db_err)? as usize;
    for (i, step) in migrations::STEPS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(step).map_err(db_err)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1)).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

/// `?,?,?` for an IN list of `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

impl SqliteStore {
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create data dir {}: {e}", dir.display())))?;
        let path = dir.join("tributary.sqlite3");
        let mut writer = open(&path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS).map(|_| open(&path).map(|c| Arc::new(Mutex::new(c)))).collect::<Result<Vec<_>>>()?;
        Ok(SqliteStore { writer: Arc::new(Mutex::new(writer)), readers, next_reader: AtomicUsize::new(0) })
    }

    /// Calls `hook` with the text of every statement any connection runs —
    /// for diagnostics, and for tests that bound how many queries a request
    /// costs.
    pub fn trace_statements(&self, hook: Option<fn(TraceEvent<'_>)>) -> Result<()> {
        // Called between requests, so every connection is free.
        let busy = || Error::internal("sqlite connection busy");
        let events = TraceEventCodes::SQLITE_TRACE_STMT;
        self.writer.try_lock().map_err(|_| busy())?.trace_v2(events, hook);
        for reader in &self.readers {
            reader.try_lock().map_err(|_| busy())?.trace_v2(events, hook);
        }
        Ok(())
    }

    /// A reader connection: a free one if there is one, else the next in turn.
    async fn reader(&self) -> OwnedMutexGuard<Connection> {
        for reader in &self.readers {
            if let Ok(conn) = reader.clone().try_lock_owned() {
                return conn;
            }
        }
        let slot = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[slot].clone().lock_owned().await
    }

    /// One page of a filtered list query over `table`.
    async fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        table: &'static sql::Table,
        q: &ListQuery,
    ) -> Result<Vec<T>> {
        let (sql, params) = sql::list_query(Dialect::Sqlite, table, q)?;
        let values = sqlite_values(params)?;
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    /// The documents of `table` whose `column` is one of `keys`.
    async fn docs_by_key<T: DeserializeOwned + Send + 'static>(
        &self,
        table: &'static str,
        column: &'static str,
        keys: &[String],
    ) -> Result<Vec<T>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values = text_values(keys.iter().map(String::as_str));
        self.read(move |conn| {
            let sql = format!("SELECT doc FROM {table} WHERE {column} IN ({})", placeholders(values.len()));
            docs(conn, &sql, values)
        })
        .await
    }

    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction) -> Result<T> + Send + 'static,
    {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.blocking_lock();
            let tx = conn.transaction().map_err(db_err)?;
            let out = f(&tx)?;
            tx.commit().map_err(db_err)?;
            Ok(out)
        })
        .await
        .map_err(Error::internal)?
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let conn = self.reader().await;
        tokio::task::spawn_blocking(move || f(&conn)).await.map_err(Error::internal)?
    }
}

/// Reads the `doc` column of every row a query returns.
fn docs<T: DeserializeOwned>(conn: &Connection, sql: &str, values: Vec<SqlValue>) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let rows = stmt.query_map(params_from_iter(values), |r| r.get::<_, String>(0)).map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(from_doc(&row.map_err(db_err)?)?);
    }
    Ok(out)
}

/// Shared-SQL parameters as SQLite values (lists never reach SQLite: the
/// builder expands them).
fn sqlite_values(params: Vec<Arg>) -> Result<Vec<SqlValue>> {
    params
        .into_iter()
        .map(|p| match p {
            Arg::Text(t) => Ok(SqlValue::Text(t)),
            Arg::Int(i) => Ok(SqlValue::Integer(i)),
            Arg::Real(r) => Ok(SqlValue::Real(r)),
            Arg::Bool(b) => Ok(SqlValue::Integer(i64::from(b))),
            Arg::Null => Ok(SqlValue::Null),
            Arg::Texts(_) => Err(Error::internal("list parameter in SQLite SQL")),
        })
        .collect()
}

/// Runs a `… RETURNING doc` statement that touches at most one row and
/// decodes the document it returned, if any.
fn returned_doc<T: DeserializeOwned>(tx: &Transaction, sql: &str, params: impl rusqlite::Params) -> Result<Option<T>> {
    let doc: Option<String> = tx.query_row(sql, params, |r| r.get(0)).optional().map_err(db_err)?;
    doc.map(|d| from_doc(&d)).transpose()
}

fn text_values<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<SqlValue> {
    items.into_iter().map(|s| SqlValue::Text(s.to_string())).collect()
}

fn insert_feed_tx(tx: &Transaction, feed: &Feed) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT INTO feeds (fid, group_id, created_by, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (fid) DO NOTHING",
        )
        .map_err(db_err)?
        .execute(params![feed.fid.to_string(), feed.fid.group, feed.created_by, feed.created_at.0, to_doc(feed)?])
        .map_err(db_err)?;
    Ok(n > 0)
}

/// Writes one activity and keeps its feed entries in step with its feed
/// list. Only the difference is applied on update, so entries that exist for
/// other reasons (history kept on unfollow, the copy limit of a follow) are
/// left as they are.
/// Upserts `members` of `fid`, deletes those in `remove` (or, when
/// `replace`, everyone not in `members`) and returns the ids removed.
pub(super) fn write_members_tx(
    tx: &Transaction,
    fid: &str,
    members: &[FeedMember],
    remove: &[String],
    replace: bool,
) -> Result<Vec<String>> {
    let doomed: Vec<String> = if replace {
        let keep: HashSet<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
        let mut stmt = tx.prepare_cached("SELECT user_id FROM feed_members WHERE fid = ?1").map_err(db_err)?;
        let rows = stmt.query_map(params![fid], |r| r.get::<_, String>(0)).map_err(db_err)?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
            .map_err(db_err)?
            .into_iter()
            .filter(|u| !keep.contains(u.as_str()))
            .collect()
    } else {
        remove.to_vec()
    };
    let mut removed = Vec::new();
    for user in doomed {
        let n = tx
            .prepare_cached("DELETE FROM feed_members WHERE fid = ?1 AND user_id = ?2")
            .map_err(db_err)?
            .execute(params![fid, user])
            .map_err(db_err)?;
        if n > 0 {
            removed.push(user);
        }
    }
    for m in members {
        tx.prepare_cached(
            "INSERT INTO feed_members (fid, user_id, role, status, created_at, updated_at, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (fid, user_id) DO UPDATE SET role = excluded.role, status = excluded.status,
                 updated_at = excluded.updated_at, doc = excluded.doc",
        )
        .map_err(db_err)?
        .execute(params![fid, m.user_id, m.role, m.status, m.created_at.0, m.updated_at.0, to_doc(m)?])
        .map_err(db_err)?;
    }
    tx.prepare_cached(
        "UPDATE feeds SET member_count = (SELECT COUNT(*) FROM feed_members WHERE fid = ?1 AND status = 'member')
         WHERE fid = ?1",
    )
    .map_err(db_err)?
    .execute(params![fid])
    .map_err(db_err)?;
    Ok(removed)
}

/// Moves the follower count of `target` and the following count of
/// `source` by `delta` (an accepted follow appearing or going away).
fn count_follow_tx(tx: &Transaction, source: &str, target: &str, delta: i64) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    tx.prepare_cached("UPDATE feeds SET following_count = following_count + ?2 WHERE fid = ?1")
        .map_err(db_err)?
        .execute(params![source, delta])
        .map_err(db_err)?;
    tx.prepare_cached("UPDATE feeds SET follower_count = follower_count + ?2 WHERE fid = ?1")
        .map_err(db_err)?
        .execute(params![target, delta])
        .map_err(db_err)?;
    Ok(())
}

/// Copies up to the follow's `activity_copy_limit` of the target's newest
/// own activities into the source feed.
fn backfill_tx(tx: &Transaction, follow: &Follow) -> Result<()> {
    let limit = follow.activity_copy_limit.unwrap_or(DEFAULT_COPY_LIMIT);
    if limit == 0 {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
         SELECT ?1, created_at, activity_id, 0, visible_until, private_to FROM feed_entries
         WHERE fid = ?2 AND direct = 1 ORDER BY created_at DESC, activity_id DESC LIMIT ?3
         ON CONFLICT DO NOTHING",
    )
    .map_err(db_err)?
    .execute(params![follow.source.to_string(), follow.target.to_string(), limit as i64])
    .map_err(db_err)?;
    Ok(())
}

/// Whether every row still has the version (`updated_at`) a read-modify-write
/// started from; `select` is one of `sql::versions`, keyed as each entry.
fn versions_hold<K: AsRef<str>>(tx: &Transaction, select: &str, expected: &[(&[K], Timestamp)]) -> Result<bool> {
    let mut stmt = tx.prepare_cached(select).map_err(db_err)?;
    for (key, at) in expected {
        let found: Option<Option<i64>> =
            stmt.query_row(params_from_iter(key.iter().map(AsRef::as_ref)), |r| r.get(0)).optional().map_err(db_err)?;
        if found != Some(Some(at.0)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether each of `members` still has the version in `expected` (None:
/// it is no member yet).
fn member_versions_hold(
    tx: &Transaction,
    fid: &str,
    members: &[FeedMember],
    expected: &[Option<Timestamp>],
) -> Result<bool> {
    let mut stmt = tx.prepare_cached(sql::versions::FEED_MEMBER).map_err(db_err)?;
    for (m, at) in members.iter().zip(expected) {
        let found: Option<i64> = stmt.query_row(params![fid, m.user_id], |r| r.get(0)).optional().map_err(db_err)?;
        if found != at.map(|t| t.0) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn save_activity_tx(tx: &Transaction, a: &Activity) -> Result<Timestamp> {
    let old: Option<Activity> = tx
        .prepare_cached("SELECT doc FROM activities WHERE id = ?1")
        .map_err(db_err)?
        .query_row(params![a.id], |r| r.get::<_, String>(0))
        .optional()
        .map_err(db_err)?
        .map(|doc| from_doc(&doc))
        .transpose()?;
    check_parent_tx(tx, a, old.as_ref())?;
    tx.prepare_cached(
        "INSERT INTO activities (id, user_id, created_at, deleted_at, expires_at, doc, parent_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, deleted_at = excluded.deleted_at,
            expires_at = excluded.expires_at, doc = json_set(excluded.doc, '$.created_at', activities.created_at)",
    )
    .map_err(db_err)?
    .execute(params![
        a.id,
        a.user_id,
        a.created_at.0,
        a.deleted_at.map(|t| t.0),
        a.expires_at.map(|t| t.0),
        to_doc(a)?,
        a.parent_id
    ])
    .map_err(db_err)?;
    let created_at = old.as_ref().map_or(a.created_at, |o| o.created_at);
    let (visible_until, private_to) = (a.visible_until(), a.private_to());
    if old.as_ref().is_some_and(|o| o.visible_until() != visible_until || o.private_to() != private_to) {
        tx.prepare_cached("UPDATE feed_entries SET visible_until = ?2, private_to = ?3 WHERE activity_id = ?1")
            .map_err(db_err)?
            .execute(params![a.id, visible_until, private_to])
            .map_err(db_err)?;
    }
    let old_feeds = old.map(|o| o.feeds).unwrap_or_default();
    let added = a.feeds.iter().filter(|f| !old_feeds.contains(f));
    let removed: Vec<&Fid> = old_feeds.iter().filter(|f| !a.feeds.contains(f)).collect();

    let mut direct = tx
        .prepare_cached(
            "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
             VALUES (?1, ?2, ?3, 1, ?4, ?5)
             ON CONFLICT DO UPDATE SET direct = 1",
        )
        .map_err(db_err)?;
    // Fan-out on write: one statement per origin feed copies the entry into
    // every accepted follower feed.
    let mut fan_out = tx
        .prepare_cached(
            "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
             SELECT source, ?2, ?3, 0, ?4, ?5 FROM follows WHERE target = ?1 AND status = 'accepted'
             ON CONFLICT DO NOTHING",
        )
        .map_err(db_err)?;
    for fid in added {
        let fid = fid.to_string();
        direct.execute(params![fid, created_at.0, a.id, visible_until, private_to]).map_err(db_err)?;
        fan_out.execute(params![fid, created_at.0, a.id, visible_until, private_to]).map_err(db_err)?;
    }
    if removed.is_empty() {
        return Ok(created_at);
    }
    // The activity leaves a feed: drop it there and in the follower feeds that
    // received it only through that feed.
    let remaining: Vec<String> = a.feeds.iter().map(Fid::to_string).collect();
    let keep = placeholders(remaining.len());
    for fid in removed {
        let fid = fid.to_string();
        tx.execute("DELETE FROM feed_entries WHERE fid = ?1 AND activity_id = ?2", params![fid, a.id])
            .map_err(db_err)?;
        let sql = format!(
            "DELETE FROM feed_entries WHERE activity_id = ? AND direct = 0
               AND fid IN (SELECT source FROM follows WHERE target = ?)
               AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.source = feed_entries.fid
                               AND f.status = 'accepted' AND f.target IN ({keep}))"
        );
        let mut values = text_values([a.id.as_str(), fid.as_str()]);
        values.extend(text_values(remaining.iter().map(String::as_str)));
        tx.execute(&sql, params_from_iter(values)).map_err(db_err)?;
    }
    Ok(created_at)
}

/// A new reply or share needs a live parent, checked where it is written so
/// a parent deleted meanwhile cannot be missed.
fn check_parent_tx(tx: &Transaction, a: &Activity, old: Option<&Activity>) -> Result<()> {
    let Some(parent) = a.parent_id.as_ref().filter(|p| old.is_none_or(|o| o.parent_id.as_ref() != Some(*p))) else {
        return Ok(());
    };
    if !tx.prepare_cached(sql::LIVE_ACTIVITY).map_err(db_err)?.exists(params![parent]).map_err(db_err)? {
        return Err(Error::field("parent_id", format!("parent activity {parent} does not exist")));
    }
    Ok(())
}

fn upsert_users_tx(tx: &Transaction, users: &[User]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO users (id, name, role, created_at, updated_at, deleted_at, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
                updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, doc = excluded.doc",
        )
        .map_err(db_err)?;
    for u in users {
        stmt.execute(params![
            u.id,
            u.name,
            u.role,
            u.created_at.0,
            u.updated_at.0,
            u.deleted_at.map(|t| t.0),
            to_doc(u)?
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

fn purge_activities_tx(tx: &Transaction, ids: &[String]) -> Result<Vec<String>> {
    let mut purged = Vec::new();
    for id in ids {
        tx.execute("DELETE FROM feed_entries WHERE activity_id = ?1", params![id]).map_err(db_err)?;
        tx.execute("DELETE FROM reactions WHERE activity_id = ?1", params![id]).map_err(db_err)?;
        tx.execute("DELETE FROM pins WHERE activity_id = ?1", params![id]).map_err(db_err)?;
        tx.execute("DELETE FROM activity_feedback WHERE activity_id = ?1", params![id]).map_err(db_err)?;
        tx.execute("DELETE FROM activity_metrics WHERE activity_id = ?1", params![id]).map_err(db_err)?;
        tx.execute("DELETE FROM metric_quota WHERE activity_id = ?1", params![id]).map_err(db_err)?;
        tx.execute(
            "DELETE FROM comment_reactions WHERE comment_id IN
                 (SELECT id FROM comments WHERE object_type = 'activity' AND object_id = ?1)",
            params![id],
        )
        .map_err(db_err)?;
        tx.execute("DELETE FROM comments WHERE object_type = 'activity' AND object_id = ?1", params![id])
            .map_err(db_err)?;
        tx.execute("DELETE FROM bookmarks WHERE activity_id = ?1", params![id]).map_err(db_err)?;
        if tx.execute("DELETE FROM activities WHERE id = ?1", params![id]).map_err(db_err)? > 0 {
            purged.push(id.clone());
        }
    }
    Ok(purged)
}

/// The records a request implies beside its main write (`ExtraWrites`).
fn write_extra_tx(tx: &Transaction, extra: &ExtraWrites) -> Result<()> {
    purge_activities_tx(tx, &extra.withdrawn)?;
    for feed in &extra.feeds {
        insert_feed_tx(tx, feed)?;
    }
    upsert_users_tx(tx, &extra.user_updates)?;
    if !extra.users.is_empty() {
        let mut stmt = tx.prepare_cached(&sql::implied_user_insert(Dialect::Sqlite)).map_err(db_err)?;
        for u in &extra.users {
            let times = (u.created_at.0, u.updated_at.0, u.deleted_at.map(|t| t.0));
            stmt.execute(params![u.id, u.name, u.role, times.0, times.1, times.2, to_doc(u)?]).map_err(db_err)?;
        }
    }
    upsert_collections_tx(tx, &extra.collections)?;
    for n in &extra.notifications {
        save_activity_tx(tx, n)?;
    }
    let mut insert_task = tx.prepare_cached(&sql::task_insert(Dialect::Sqlite)).map_err(db_err)?;
    for t in &extra.tasks {
        let times = (t.created_at.0, t.updated_at.0);
        insert_task.execute(params![t.id, t.status.as_str(), to_doc(&t.work)?, times.0, times.1]).map_err(db_err)?;
    }
    Ok(())
}

/// Inserts the new collections; existing ones only get the new `custom`.
fn upsert_collections_tx(tx: &Transaction, collections: &[Collection]) -> Result<Vec<Collection>> {
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO collections (name, id, user_id, created_at, updated_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (name, id) DO UPDATE SET updated_at = excluded.updated_at,
                doc = json_set(collections.doc, '$.custom', json(json_extract(excluded.doc, '$.custom')),
                               '$.updated_at', excluded.updated_at)
             RETURNING doc",
        )
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(collections.len());
    for c in collections {
        let doc: String = upsert
            .query_row(params![c.name, c.id, c.user_id, c.created_at.0, c.updated_at.0, to_doc(c)?], |r| r.get(0))
            .map_err(db_err)?;
        out.push(from_doc(&doc)?);
    }
    Ok(out)
}

fn insert_folder_tx(tx: &Transaction, f: &BookmarkFolder) -> Result<()> {
    tx.execute(
        "INSERT INTO bookmark_folders (id, user_id, name, created_at, updated_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![f.id, f.user_id, f.name, f.created_at.0, f.updated_at.0, to_doc(f)?],
    )
    .map_err(db_err)?;
    Ok(())
}

/// False when the placement exists already.
fn insert_bookmark_tx(tx: &Transaction, b: &Bookmark) -> Result<bool> {
    let n = tx
        .execute(
            "INSERT INTO bookmarks (user_id, object_type, object_id, folder_id, activity_id, created_at, updated_at, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            params![b.user_id, b.object_type, b.object_id, b.folder_key(), b.activity_id, b.created_at.0, b.updated_at.0,
                    to_doc(b)?],
        )
        .map_err(db_err)?;
    Ok(n > 0)
}

#[async_trait]
impl ConfigStore for SqliteStore {
    async fn setting_or_insert(&self, key: &str, value: &serde_json::Value) -> Result<serde_json::Value> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, value],
            )
            .map_err(db_err)?;
            let stored: String = tx
                .query_row("SELECT value FROM settings WHERE key = ?1", params![key], |r| r.get(0))
                .map_err(db_err)?;
            from_doc(&stored)
        })
        .await
    }

    async fn get_feed_group(&self, id: &str) -> Result<Option<FeedGroup>> {
        let id = id.to_string();
        self.read(move |conn| {
            Ok(docs(conn, "SELECT doc FROM feed_groups WHERE id = ?", vec![SqlValue::Text(id)])?.pop())
        })
        .await
    }

    async fn list_feed_groups(&self) -> Result<Vec<FeedGroup>> {
        self.read(move |conn| docs(conn, "SELECT doc FROM feed_groups ORDER BY id", vec![])).await
    }

    async fn insert_feed_group(&self, group: &FeedGroup) -> Result<bool> {
        let (id, doc) = (group.id.clone(), to_doc(group)?);
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO feed_groups (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                    params![id, doc],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn put_feed_group(&self, group: &FeedGroup) -> Result<()> {
        let (id, doc) = (group.id.clone(), to_doc(group)?);
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO feed_groups (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                params![id, doc],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn purge_feed_group(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| Ok(tx.execute("DELETE FROM feed_groups WHERE id = ?1", params![id]).map_err(db_err)? > 0))
            .await
    }

    async fn insert_membership_level(&self, level: &MembershipLevel) -> Result<bool> {
        self.insert_level(level).await
    }

    async fn get_membership_levels(&self, ids: &[String]) -> Result<Vec<MembershipLevel>> {
        self.get_levels(ids).await
    }

    async fn replace_membership_level(&self, level: &MembershipLevel, if_updated_at: Timestamp) -> Result<bool> {
        self.replace_level(level, if_updated_at).await
    }

    async fn delete_membership_level(&self, id: &str) -> Result<bool> {
        self.delete_level(id).await
    }

    async fn query_membership_levels(&self, q: &ListQuery) -> Result<Vec<MembershipLevel>> {
        self.query_levels(q).await
    }

    async fn feed_visibility_grants(&self) -> Result<StoredGrants> {
        self.visibility_grants().await
    }

    async fn merge_feed_visibility_grants(
        &self,
        visibility: &str,
        grants: &BTreeMap<String, Vec<String>>,
    ) -> Result<()> {
        self.merge_visibility_grants(visibility, grants).await
    }
}

#[async_trait]
impl FeedStore for SqliteStore {
    async fn get_feeds(&self, fids: &[Fid]) -> Result<Vec<Feed>> {
        self.docs_by_key("feeds", "fid", &fids.iter().map(Fid::to_string).collect::<Vec<_>>()).await
    }

    async fn put_feed_with(&self, feed: &Feed, if_updated_at: Option<Timestamp>, extra: &ExtraWrites) -> Result<bool> {
        let (feed, extra) = (feed.clone(), extra.clone());
        self.write(move |tx| {
            let key = [feed.fid.to_string()];
            if let Some(at) = if_updated_at {
                if !versions_hold(tx, sql::versions::FEED, &[(&key[..], at)])? {
                    return Ok(false);
                }
            }
            write_extra_tx(tx, &extra)?;
            tx.execute(
                "INSERT INTO feeds (fid, group_id, created_by, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (fid) DO UPDATE SET created_by = excluded.created_by, doc = excluded.doc",
                params![key[0], feed.fid.group, feed.created_by, feed.created_at.0, to_doc(&feed)?],
            )
            .map_err(db_err)?;
            Ok(true)
        })
        .await
    }

    async fn feed_counts(&self, fids: &[Fid], now: Timestamp) -> Result<HashMap<Fid, FeedCounts>> {
        let fids = fids.to_vec();
        self.read(move |conn| {
            let mut out: HashMap<Fid, FeedCounts> = fids.iter().map(|f| (f.clone(), FeedCounts::default())).collect();
            if fids.is_empty() {
                return Ok(out);
            }
            let by_name: HashMap<String, Fid> = fids.iter().map(|f| (f.to_string(), f.clone())).collect();
            let list = placeholders(fids.len());
            let queries = [
                (
                    format!(
                        "SELECT fid, COUNT(*) FROM feed_entries
                         WHERE fid IN ({list}) AND (visible_until IS NULL OR visible_until > ?) GROUP BY fid"
                    ),
                    0,
                ),
                (format!("SELECT fid, COUNT(*) FROM pins WHERE fid IN ({list}) GROUP BY fid"), 3),
            ];
            for (sql, which) in queries {
                let mut values = text_values(by_name.keys().map(String::as_str));
                if which == 0 {
                    values.push(SqlValue::Integer(now.0));
                }
                let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
                let rows = stmt
                    .query_map(params_from_iter(values), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(db_err)?;
                for row in rows {
                    let (fid, n) = row.map_err(db_err)?;
                    if let Some(counts) = by_name.get(&fid).and_then(|f| out.get_mut(f)) {
                        match which {
                            0 => counts.activity_count = n,
                            _ => counts.pin_count = n,
                        }
                    }
                }
            }
            // The counters, one row per feed.
            let sql =
                format!("SELECT fid, follower_count, following_count, member_count FROM feeds WHERE fid IN ({list})");
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(text_values(by_name.keys().map(String::as_str))), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
                })
                .map_err(db_err)?;
            for row in rows {
                let (fid, followers, following, members) = row.map_err(db_err)?;
                if let Some(counts) = by_name.get(&fid).and_then(|f| out.get_mut(f)) {
                    (counts.follower_count, counts.following_count, counts.member_count) =
                        (followers, following, members);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn purge_feed(&self, fid: &Fid) -> Result<()> {
        let fid = fid.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM feed_entries WHERE fid = ?1", params![fid]).map_err(db_err)?;
            tx.execute("DELETE FROM pins WHERE fid = ?1", params![fid]).map_err(db_err)?;
            // The feeds on the other side of its follows count one fewer.
            tx.execute(
                "UPDATE feeds SET follower_count = follower_count - 1
                 WHERE fid IN (SELECT target FROM follows WHERE source = ?1 AND status = 'accepted')",
                params![fid],
            )
            .map_err(db_err)?;
            tx.execute(
                "UPDATE feeds SET following_count = following_count - 1
                 WHERE fid IN (SELECT source FROM follows WHERE target = ?1 AND status = 'accepted')",
                params![fid],
            )
            .map_err(db_err)?;
            tx.execute("DELETE FROM follows WHERE source = ?1 OR target = ?1", params![fid]).map_err(db_err)?;
            tx.execute("DELETE FROM feed_members WHERE fid = ?1", params![fid]).map_err(db_err)?;
            tx.execute("DELETE FROM feeds WHERE fid = ?1", params![fid]).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn query_feeds(&self, q: &ListQuery, reader: &Reader, now: Timestamp) -> Result<Vec<Feed>> {
        self.feeds_matching(q, reader, now).await
    }

    async fn insert_feeds_with(&self, feeds: &[(Feed, Vec<FeedMember>)], extra: &ExtraWrites) -> Result<Vec<bool>> {
        self.insert_feed_batch(feeds, extra).await
    }

    async fn put_feeds_with(&self, feeds: &[Feed], if_updated_at: &[Timestamp], extra: &ExtraWrites) -> Result<bool> {
        self.put_feed_batch(feeds, if_updated_at, extra).await
    }

    async fn feed_totals(&self, fid: &Fid, now: Timestamp) -> Result<(i64, i64)> {
        self.totals_of_feed(fid, now).await
    }

    async fn follow_suggestions(
        &self,
        user: &str,
        group: &str,
        limit: usize,
        grants: &crate::core::storage::Grants,
    ) -> Result<Vec<crate::core::storage::SuggestedFeed>> {
        self.suggest_feeds(user, group, limit, grants).await
    }
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn save_activities_with(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<Vec<Timestamp>> {
        let (activities, new_feeds, extra) = (activities.to_vec(), new_feeds.to_vec(), extra.clone());
        self.write(move |tx| {
            write_extra_tx(tx, &extra)?;
            for feed in &new_feeds {
                insert_feed_tx(tx, feed)?;
            }
            activities.iter().map(|a| save_activity_tx(tx, a)).collect()
        })
        .await
    }

    async fn save_activities_if(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        if_updated_at: &[(String, Timestamp)],
    ) -> Result<bool> {
        let (activities, new_feeds, versions) = (activities.to_vec(), new_feeds.to_vec(), if_updated_at.to_vec());
        self.write(move |tx| {
            let expected: Vec<_> = versions.iter().map(|(id, at)| (std::slice::from_ref(id), *at)).collect();
            if !versions_hold(tx, sql::versions::ACTIVITY, &expected)? {
                return Ok(false);
            }
            for feed in &new_feeds {
                insert_feed_tx(tx, feed)?;
            }
            for a in &activities {
                save_activity_tx(tx, a)?;
            }
            Ok(true)
        })
        .await
    }

    async fn get_activities(&self, ids: &[String]) -> Result<Vec<Activity>> {
        self.docs_by_key("activities", "id", ids).await
    }

    async fn set_activities_deleted_with(
        &self,
        ids: &[String],
        deleted_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<Vec<String>> {
        let (ids, extra) = (ids.to_vec(), extra.clone());
        self.write(move |tx| {
            write_extra_tx(tx, &extra)?;
            let mut changed = Vec::new();
            for id in &ids {
                let doc: Option<String> = tx
                    .prepare_cached("SELECT doc FROM activities WHERE id = ?1")
                    .map_err(db_err)?
                    .query_row(params![id], |r| r.get(0))
                    .optional()
                    .map_err(db_err)?;
                let Some(doc) = doc else { continue };
                let mut activity: Activity = from_doc(&doc)?;
                activity.deleted_at = deleted_at;
                tx.prepare_cached("UPDATE activities SET deleted_at = ?2, doc = ?3 WHERE id = ?1")
                    .map_err(db_err)?
                    .execute(params![id, deleted_at.map(|t| t.0), to_doc(&activity)?])
                    .map_err(db_err)?;
                tx.prepare_cached("UPDATE feed_entries SET visible_until = ?2 WHERE activity_id = ?1")
                    .map_err(db_err)?
                    .execute(params![id, activity.visible_until()])
                    .map_err(db_err)?;
                changed.push(id.clone());
            }
            Ok(changed)
        })
        .await
    }

    async fn query_activities(&self, query: &ActivityQuery) -> Result<Vec<Activity>> {
        let (sql, params) = super::sql::activity_query(Dialect::Sqlite, query)?;
        let values = sqlite_values(params)?;
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    async fn purge_activities(&self, ids: &[String]) -> Result<Vec<String>> {
        let ids = ids.to_vec();
        self.write(move |tx| purge_activities_tx(tx, &ids)).await
    }

    async fn feed_activities(
        &self,
        fid: &Fid,
        slice: &FeedSlice,
        limit: usize,
        now: Timestamp,
        reader: &Reader,
        filter: Option<&crate::core::filter::Filter>,
    ) -> Result<Vec<Activity>> {
        let (sql, params) = super::sql::feed_page(Dialect::Sqlite, fid, slice, limit, now, reader, filter)?;
        let values = sqlite_values(params)?;
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    async fn activity_shares(&self, parent_id: &str, limit: usize, offset: usize) -> Result<Vec<Activity>> {
        let values = vec![
            SqlValue::Text(parent_id.to_string()),
            SqlValue::Integer(limit as i64),
            SqlValue::Integer(offset as i64),
        ];
        self.read(move |conn| {
            docs(
                conn,
                "SELECT doc FROM activities WHERE parent_id = ? AND deleted_at IS NULL
                 ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                values,
            )
        })
        .await
    }

    async fn share_counts(&self, activity_ids: &[String]) -> Result<HashMap<String, i64>> {
        if activity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let values = text_values(activity_ids.iter().map(String::as_str));
        self.read(move |conn| {
            let sql = format!(
                "SELECT parent_id, COUNT(*) FROM activities WHERE parent_id IN ({}) AND deleted_at IS NULL
                 GROUP BY parent_id",
                placeholders(values.len())
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(values), |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<HashMap<_, _>>>().map_err(db_err)
        })
        .await
    }

    async fn set_feedback(&self, user_id: &str, activity_id: &str, feedback: &Feedback, now: Timestamp) -> Result<()> {
        let (user_id, activity_id, f) = (user_id.to_string(), activity_id.to_string(), feedback.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO activity_feedback (user_id, activity_id, hide, show_more, show_less, updated_at)
                 VALUES (?1, ?2, COALESCE(?3, 0), COALESCE(?4, 0), COALESCE(?5, 0), ?6)
                 ON CONFLICT (user_id, activity_id) DO UPDATE SET
                    hide = COALESCE(?3, hide), show_more = COALESCE(?4, show_more),
                    show_less = COALESCE(?5, show_less), updated_at = ?6",
                params![user_id, activity_id, f.hide, f.show_more, f.show_less, now.0],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn hidden_activities(&self, user_id: &str, activity_ids: &[String]) -> Result<HashSet<String>> {
        if activity_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut values = vec![SqlValue::Text(user_id.to_string())];
        values.extend(text_values(activity_ids.iter().map(String::as_str)));
        self.read(move |conn| {
            let sql = format!(
                "SELECT activity_id FROM activity_feedback WHERE user_id = ? AND hide = 1 AND activity_id IN ({})",
                placeholders(values.len() - 1)
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt.query_map(params_from_iter(values), |r| r.get::<_, String>(0)).map_err(db_err)?;
            rows.collect::<rusqlite::Result<HashSet<_>>>().map_err(db_err)
        })
        .await
    }

    async fn add_metrics(&self, events: &[MetricEvent], now: Timestamp) -> Result<Vec<bool>> {
        let events = events.to_vec();
        self.write(move |tx| {
            let window_start = now.0 - now.0.rem_euclid(METRIC_WINDOW_SECONDS * 1_000_000_000);
            // Every right-hand side reads the old row, so the quota check and
            // the increment are one atomic statement. |delta| is what counts.
            let quota_sql = format!(
                "INSERT INTO metric_quota AS q (user_id, activity_id, metric, window_start, used, last_allowed)
                     VALUES (?1, ?2, ?3, ?4, CASE WHEN ?5 <= {limit} THEN ?5 ELSE 0 END, ?5 <= {limit})
                     ON CONFLICT (user_id, activity_id, metric) DO UPDATE SET
                        last_allowed = (CASE WHEN q.window_start = ?4 THEN q.used ELSE 0 END) + ?5 <= {limit},
                        used = (CASE WHEN q.window_start = ?4 THEN q.used ELSE 0 END)
                            + (CASE WHEN (CASE WHEN q.window_start = ?4 THEN q.used ELSE 0 END) + ?5 <= {limit}
                                    THEN ?5 ELSE 0 END),
                        window_start = ?4
                     RETURNING last_allowed",
                limit = METRIC_EVENTS_PER_WINDOW
            );
            let mut quota = tx.prepare_cached(&quota_sql).map_err(db_err)?;
            let mut bump = tx
                .prepare_cached(
                    "INSERT INTO activity_metrics (activity_id, metric, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (activity_id, metric) DO UPDATE SET value = value + ?3",
                )
                .map_err(db_err)?;
            let mut allowed = Vec::with_capacity(events.len());
            for e in &events {
                let ok: bool = quota
                    .query_row(
                        params![e.user_id, e.activity_id, e.metric, window_start, e.delta.saturating_abs()],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                if ok {
                    bump.execute(params![e.activity_id, e.metric, e.delta]).map_err(db_err)?;
                }
                allowed.push(ok);
            }
            Ok(allowed)
        })
        .await
    }

    async fn activity_metrics(&self, activity_ids: &[String]) -> Result<HashMap<String, BTreeMap<String, i64>>> {
        if activity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let values = text_values(activity_ids.iter().map(String::as_str));
        self.read(move |conn| {
            let sql = format!(
                "SELECT activity_id, metric, value FROM activity_metrics WHERE activity_id IN ({})",
                placeholders(values.len())
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(values), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
                })
                .map_err(db_err)?;
            let mut out: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
            for row in rows {
                let (activity, metric, value) = row.map_err(db_err)?;
                out.entry(activity).or_default().insert(metric, value);
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl FollowStore for SqliteStore {
    async fn insert_follows_with(
        &self,
        follows: &[(Follow, Option<Activity>)],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<Vec<bool>> {
        let (follows, new_feeds, extra) = (follows.to_vec(), new_feeds.to_vec(), extra.clone());
        self.write(move |tx| {
            write_extra_tx(tx, &extra)?;
            for feed in &new_feeds {
                insert_feed_tx(tx, feed)?;
            }
            let mut inserted = Vec::with_capacity(follows.len());
            for (follow, notification) in &follows {
                let n = tx
                    .prepare_cached(
                        "INSERT INTO follows (source, target, status, created_at, updated_at, doc)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (source, target) DO NOTHING",
                    )
                    .map_err(db_err)?
                    .execute(params![
                        follow.source.to_string(),
                        follow.target.to_string(),
                        follow.status,
                        follow.created_at.0,
                        follow.updated_at.0,
                        to_doc(follow)?
                    ])
                    .map_err(db_err)?;
                if n > 0 {
                    if follow.status == FOLLOW_ACCEPTED {
                        count_follow_tx(tx, &follow.source.to_string(), &follow.target.to_string(), 1)?;
                        backfill_tx(tx, follow)?;
                    }
                    if let Some(notification) = notification {
                        save_activity_tx(tx, notification)?;
                    }
                }
                inserted.push(n > 0);
            }
            Ok(inserted)
        })
        .await
    }

    async fn update_follow(&self, follow: &Follow, backfill: bool, if_updated_at: Option<Timestamp>) -> Result<bool> {
        let follow = follow.clone();
        self.write(move |tx| {
            let (source, target) = (follow.source.to_string(), follow.target.to_string());
            if let Some(at) = if_updated_at {
                if !versions_hold(tx, sql::versions::FOLLOW, &[(&[&source, &target][..], at)])? {
                    return Ok(false);
                }
            }
            let before: Option<String> = tx
                .query_row(
                    "SELECT status FROM follows WHERE source = ?1 AND target = ?2",
                    params![source, target],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            let Some(before) = before else { return Ok(false) };
            tx.execute(
                "UPDATE follows SET status = ?3, updated_at = ?4, doc = ?5 WHERE source = ?1 AND target = ?2",
                params![source, target, follow.status, follow.updated_at.0, to_doc(&follow)?],
            )
            .map_err(db_err)?;
            let delta = i64::from(follow.status == FOLLOW_ACCEPTED) - i64::from(before == FOLLOW_ACCEPTED);
            count_follow_tx(tx, &source, &target, delta)?;
            if backfill {
                backfill_tx(tx, &follow)?;
            }
            Ok(true)
        })
        .await
    }

    async fn delete_follows_with(
        &self,
        pairs: &[(Fid, Fid, bool)],
        require_all: bool,
        extra: &ExtraWrites,
    ) -> Result<Vec<Follow>> {
        let (pairs, extra) = (pairs.to_vec(), extra.clone());
        self.write(move |tx| {
            write_extra_tx(tx, &extra)?;
            let mut deleted = Vec::with_capacity(pairs.len());
            for (source, target, keep_history) in &pairs {
                let (source, target) = (source.to_string(), target.to_string());
                let doc: Option<String> = tx
                    .prepare_cached("DELETE FROM follows WHERE source = ?1 AND target = ?2 RETURNING doc")
                    .map_err(db_err)?
                    .query_row(params![source, target], |r| r.get(0))
                    .optional()
                    .map_err(db_err)?;
                let Some(doc) = doc else {
                    if require_all {
                        return Err(Error::not_found("follow", &format!("{source} -> {target}")));
                    }
                    continue;
                };
                let follow: Follow = from_doc(&doc)?;
                if follow.status == FOLLOW_ACCEPTED {
                    count_follow_tx(tx, &source, &target, -1)?;
                }
                if !keep_history {
                    // Keep what still reaches the source directly or through
                    // another follow.
                    tx.prepare_cached(
                        "DELETE FROM feed_entries WHERE fid = ?1 AND direct = 0
                           AND activity_id IN (SELECT activity_id FROM feed_entries WHERE fid = ?2 AND direct = 1)
                           AND NOT EXISTS (
                               SELECT 1 FROM feed_entries e JOIN follows f ON f.target = e.fid
                               WHERE e.activity_id = feed_entries.activity_id AND e.direct = 1
                                 AND f.source = ?1 AND f.status = 'accepted')",
                    )
                    .map_err(db_err)?
                    .execute(params![source, target])
                    .map_err(db_err)?;
                }
                deleted.push(follow);
            }
            Ok(deleted)
        })
        .await
    }

    async fn get_follow(&self, source: &Fid, target: &Fid) -> Result<Option<Follow>> {
        let values = vec![SqlValue::Text(source.to_string()), SqlValue::Text(target.to_string())];
        self.read(move |conn| Ok(docs(conn, "SELECT doc FROM follows WHERE source = ? AND target = ?", values)?.pop()))
            .await
    }

    async fn query_follows(&self, q: &ListQuery, reader: &Reader) -> Result<Vec<Follow>> {
        let (sql, params) = sql::follow_query(Dialect::Sqlite, q, reader)?;
        let values = sqlite_values(params)?;
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    async fn follows_from_owner(&self, owner: &str, targets: &[Fid]) -> Result<Vec<Follow>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let mut values = vec![SqlValue::Text(owner.to_string())];
        values.extend(targets.iter().map(|t| SqlValue::Text(t.to_string())));
        let sql = format!(
            "SELECT f.doc FROM follows f JOIN feeds s ON s.fid = f.source
             WHERE s.created_by = ? AND f.target IN ({}) ORDER BY f.created_at DESC",
            placeholders(targets.len())
        );
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    async fn follows_between(
        &self,
        source_owners: &[String],
        target_owner: &str,
        per_owner: usize,
    ) -> Result<Vec<Follow>> {
        if source_owners.is_empty() {
            return Ok(Vec::new());
        }
        let mut values = text_values(source_owners.iter().map(String::as_str));
        values.push(SqlValue::Text(target_owner.to_string()));
        values.push(SqlValue::Integer(per_owner as i64));
        let sql = format!(
            "SELECT doc FROM (
                 SELECT f.doc, ROW_NUMBER() OVER (PARTITION BY s.created_by ORDER BY f.created_at DESC) AS n
                 FROM follows f JOIN feeds s ON s.fid = f.source JOIN feeds t ON t.fid = f.target
                 WHERE s.created_by IN ({}) AND t.created_by = ? AND f.status = 'accepted')
             WHERE n <= ?",
            placeholders(source_owners.len())
        );
        self.read(move |conn| docs(conn, &sql, values)).await
    }
}

#[async_trait]
impl MemberStore for SqliteStore {
    async fn write_members(
        &self,
        fid: &Fid,
        members: &[FeedMember],
        remove: &[String],
        replace: bool,
        if_updated_at: Option<&[Option<Timestamp>]>,
    ) -> Result<Option<Vec<String>>> {
        let (fid, members, remove) = (fid.to_string(), members.to_vec(), remove.to_vec());
        let versions = if_updated_at.map(<[_]>::to_vec);
        self.write(move |tx| {
            if let Some(versions) = &versions {
                if !member_versions_hold(tx, &fid, &members, versions)? {
                    return Ok(None);
                }
            }
            write_members_tx(tx, &fid, &members, &remove, replace).map(Some)
        })
        .await
    }

    async fn get_members(&self, fid: &Fid, user_ids: &[String]) -> Result<Vec<FeedMember>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut values = vec![SqlValue::Text(fid.to_string())];
        values.extend(text_values(user_ids.iter().map(String::as_str)));
        let sql =
            format!("SELECT doc FROM feed_members WHERE fid = ? AND user_id IN ({})", placeholders(user_ids.len()));
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    async fn memberships(&self, user_id: &str, fids: &[Fid]) -> Result<Vec<FeedMember>> {
        if fids.is_empty() {
            return Ok(Vec::new());
        }
        let mut values = vec![SqlValue::Text(user_id.to_string())];
        values.extend(fids.iter().map(|f| SqlValue::Text(f.to_string())));
        let sql = format!("SELECT doc FROM feed_members WHERE user_id = ? AND fid IN ({})", placeholders(fids.len()));
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    async fn query_members(&self, q: &ListQuery) -> Result<Vec<FeedMember>> {
        self.list(&sql::FEED_MEMBERS, q).await
    }
}

#[async_trait]
impl BookmarkStore for SqliteStore {
    async fn insert_bookmark(&self, bookmark: &Bookmark, new_folder: Option<&BookmarkFolder>) -> Result<bool> {
        let (b, folder) = (bookmark.clone(), new_folder.cloned());
        self.write(move |tx| {
            if let Some(f) = &folder {
                insert_folder_tx(tx, f)?;
            }
            insert_bookmark_tx(tx, &b)
        })
        .await
    }

    async fn move_bookmark(
        &self,
        from_folder: &str,
        bookmark: &Bookmark,
        new_folder: Option<&BookmarkFolder>,
        if_updated_at: Option<Timestamp>,
    ) -> Result<Option<Bookmark>> {
        let (from, b, folder) = (from_folder.to_string(), bookmark.clone(), new_folder.cloned());
        self.write(move |tx| {
            if let Some(at) = if_updated_at {
                let key = [&b.user_id, &b.object_type, &b.object_id, &from];
                if !versions_hold(tx, sql::versions::BOOKMARK, &[(&key[..], at)])? {
                    return Ok(None);
                }
            }
            let old: Option<Bookmark> = returned_doc(
                tx,
                "DELETE FROM bookmarks WHERE user_id = ?1 AND object_type = ?2 AND object_id = ?3 AND folder_id = ?4
                 RETURNING doc",
                params![b.user_id, b.object_type, b.object_id, from],
            )?;
            let Some(old) = old else { return Ok(None) };
            if let Some(f) = &folder {
                insert_folder_tx(tx, f)?;
            }
            let moved = Bookmark { created_at: old.created_at, ..b.clone() };
            // Moving onto a placement that exists merges into it.
            tx.execute(
                "DELETE FROM bookmarks WHERE user_id = ?1 AND object_type = ?2 AND object_id = ?3 AND folder_id = ?4",
                params![moved.user_id, moved.object_type, moved.object_id, moved.folder_key()],
            )
            .map_err(db_err)?;
            insert_bookmark_tx(tx, &moved)?;
            Ok(Some(moved))
        })
        .await
    }

    async fn delete_bookmark(
        &self,
        user_id: &str,
        object_type: &str,
        object_id: &str,
        folder: &str,
    ) -> Result<Option<Bookmark>> {
        let key = [user_id, object_type, object_id, folder].map(str::to_string);
        self.write(move |tx| {
            returned_doc(
                tx,
                "DELETE FROM bookmarks WHERE user_id = ?1 AND object_type = ?2 AND object_id = ?3 AND folder_id = ?4
                 RETURNING doc",
                params![key[0], key[1], key[2], key[3]],
            )
        })
        .await
    }

    async fn query_bookmarks(&self, q: &ListQuery) -> Result<Vec<Bookmark>> {
        self.list(&sql::BOOKMARKS, q).await
    }

    async fn bookmark_summaries(
        &self,
        object_type: &str,
        object_ids: &[String],
        viewer: Option<&str>,
    ) -> Result<(HashMap<String, i64>, Vec<Bookmark>)> {
        if object_ids.is_empty() {
            return Ok(Default::default());
        }
        let (kind, ids, viewer) = (object_type.to_string(), object_ids.to_vec(), viewer.map(str::to_string));
        self.read(move |conn| {
            let list = placeholders(ids.len());
            let mut values = vec![SqlValue::Text(kind.clone())];
            values.extend(text_values(ids.iter().map(String::as_str)));
            let mut counts = HashMap::new();
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT object_id, COUNT(*) FROM bookmarks WHERE object_type = ? AND object_id IN ({list})
                     GROUP BY object_id"
                ))
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(values.clone()), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(db_err)?;
            for row in rows {
                let (id, n) = row.map_err(db_err)?;
                counts.insert(id, n);
            }
            let own = match viewer {
                Some(viewer) => {
                    values.push(SqlValue::Text(viewer));
                    docs(
                        conn,
                        &format!(
                            "SELECT doc FROM bookmarks WHERE object_type = ? AND object_id IN ({list}) AND user_id = ?
                             ORDER BY created_at DESC"
                        ),
                        values,
                    )?
                }
                None => Vec::new(),
            };
            Ok((counts, own))
        })
        .await
    }

    async fn get_bookmark_folders(&self, ids: &[String]) -> Result<Vec<BookmarkFolder>> {
        self.docs_by_key("bookmark_folders", "id", ids).await
    }

    async fn put_bookmark_folder(&self, folder: &BookmarkFolder, if_updated_at: Option<Timestamp>) -> Result<bool> {
        let f = folder.clone();
        self.write(move |tx| {
            if let Some(at) = if_updated_at {
                if !versions_hold(tx, sql::versions::BOOKMARK_FOLDER, &[(std::slice::from_ref(&f.id), at)])? {
                    return Ok(false);
                }
            }
            tx.execute(
                "UPDATE bookmark_folders SET name = ?2, updated_at = ?3, doc = ?4 WHERE id = ?1",
                params![f.id, f.name, f.updated_at.0, to_doc(&f)?],
            )
            .map_err(db_err)?;
            Ok(true)
        })
        .await
    }

    async fn delete_bookmark_folder(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM bookmarks WHERE folder_id = ?1", params![id]).map_err(db_err)?;
            Ok(tx.execute("DELETE FROM bookmark_folders WHERE id = ?1", params![id]).map_err(db_err)? > 0)
        })
        .await
    }

    async fn query_bookmark_folders(&self, q: &ListQuery) -> Result<Vec<BookmarkFolder>> {
        self.list(&sql::BOOKMARK_FOLDERS, q).await
    }
}

#[async_trait]
impl CollectionStore for SqliteStore {
    async fn insert_collections(&self, collections: &[Collection]) -> Result<Option<String>> {
        let collections = collections.to_vec();
        self.write(move |tx| {
            let mut exists = tx.prepare_cached("SELECT 1 FROM collections WHERE name = ?1 AND id = ?2").map_err(db_err)?;
            for c in &collections {
                if exists.exists(params![c.name, c.id]).map_err(db_err)? {
                    return Ok(Some(c.reference()));
                }
            }
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO collections (name, id, user_id, created_at, updated_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db_err)?;
            for c in &collections {
                insert
                    .execute(params![c.name, c.id, c.user_id, c.created_at.0, c.updated_at.0, to_doc(c)?])
                    .map_err(db_err)?;
            }
            Ok(None)
        })
        .await
    }

    async fn upsert_collections(&self, collections: &[Collection]) -> Result<Vec<Collection>> {
        let collections = collections.to_vec();
        self.write(move |tx| upsert_collections_tx(tx, &collections)).await
    }

    async fn get_collections(&self, refs: &[(String, String)]) -> Result<Vec<Collection>> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<SqlValue> =
            refs.iter().flat_map(|(n, i)| [SqlValue::Text(n.clone()), SqlValue::Text(i.clone())]).collect();
        self.read(move |conn| {
            let pairs = vec!["(?, ?)"; values.len() / 2].join(", ");
            docs(conn, &format!("SELECT doc FROM collections WHERE (name, id) IN (VALUES {pairs})"), values)
        })
        .await
    }

    async fn delete_collections(&self, refs: &[(String, String)]) -> Result<Vec<Collection>> {
        let refs = refs.to_vec();
        self.write(move |tx| {
            let mut delete = tx
                .prepare_cached("DELETE FROM collections WHERE name = ?1 AND id = ?2 RETURNING doc")
                .map_err(db_err)?;
            let mut out = Vec::new();
            for (name, id) in &refs {
                if let Some(doc) =
                    delete.query_row(params![name, id], |r| r.get::<_, String>(0)).optional().map_err(db_err)?
                {
                    out.push(from_doc(&doc)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn query_collections(&self, q: &ListQuery) -> Result<Vec<Collection>> {
        self.list(&sql::COLLECTIONS, q).await
    }
}

#[async_trait]
impl PollStore for SqliteStore {
    async fn insert_poll(&self, poll: &Poll) -> Result<bool> {
        let (id, created_at, doc) = (poll.id.clone(), poll.created_at.0, to_doc(poll)?);
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO polls (id, created_at, doc) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
                    params![id, created_at, doc],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn put_poll(
        &self,
        poll: &Poll,
        removed_options: &[String],
        if_updated_at: Option<Timestamp>,
    ) -> Result<bool> {
        let (id, doc, removed) = (poll.id.clone(), to_doc(poll)?, removed_options.to_vec());
        self.write(move |tx| {
            if let Some(at) = if_updated_at {
                if !versions_hold(tx, sql::versions::POLL, &[(std::slice::from_ref(&id), at)])? {
                    return Ok(false);
                }
            }
            tx.execute("UPDATE polls SET doc = ?2 WHERE id = ?1", params![id, doc]).map_err(db_err)?;
            for option in &removed {
                tx.execute("DELETE FROM poll_votes WHERE poll_id = ?1 AND option_id = ?2", params![id, option])
                    .map_err(db_err)?;
            }
            Ok(true)
        })
        .await
    }

    async fn get_polls(&self, ids: &[String]) -> Result<Vec<Poll>> {
        self.docs_by_key("polls", "id", ids).await
    }

    async fn delete_poll(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM poll_votes WHERE poll_id = ?1", params![id]).map_err(db_err)?;
            Ok(tx.execute("DELETE FROM polls WHERE id = ?1", params![id]).map_err(db_err)? > 0)
        })
        .await
    }

    async fn query_polls(&self, q: &ListQuery) -> Result<Vec<Poll>> {
        self.list(&sql::POLLS, q).await
    }

    async fn cast_vote(&self, vote: &PollVote, exclusive: bool, max_votes: Option<i64>) -> Result<VoteOutcome> {
        let vote = vote.clone();
        self.write(move |tx| {
            let mine = |tx: &Transaction, answers: bool| -> Result<Vec<PollVote>> {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT doc FROM poll_votes WHERE poll_id = ?1 AND user_id = ?2 AND is_answer = ?3
                         ORDER BY created_at",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map(params![vote.poll_id, vote.user_id, answers], |r| r.get::<_, String>(0))
                    .map_err(db_err)?;
                rows.map(|r| from_doc(&r.map_err(db_err)?)).collect()
            };
            let existing = mine(tx, vote.is_answer)?;
            let replaced: Vec<PollVote> = if vote.is_answer || exclusive {
                existing
            } else {
                if let Some(same) = existing.iter().find(|v| v.option_id == vote.option_id) {
                    return Ok(VoteOutcome::Cast { vote: same.clone(), replaced: Vec::new() });
                }
                if max_votes.is_some_and(|max| existing.len() as i64 >= max) {
                    return Ok(VoteOutcome::TooManyVotes);
                }
                Vec::new()
            };
            for old in &replaced {
                tx.execute("DELETE FROM poll_votes WHERE id = ?1", params![old.id]).map_err(db_err)?;
            }
            tx.execute(
                "INSERT INTO poll_votes (id, poll_id, user_id, option_id, is_answer, created_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    vote.id,
                    vote.poll_id,
                    vote.user_id,
                    vote.option_id,
                    vote.is_answer,
                    vote.created_at.0,
                    to_doc(&vote)?
                ],
            )
            .map_err(db_err)?;
            Ok(VoteOutcome::Cast { vote, replaced })
        })
        .await
    }

    async fn delete_vote(&self, poll_id: &str, vote_id: &str, voter: Option<&str>) -> Result<Option<PollVote>> {
        let (poll_id, vote_id, voter) = (poll_id.to_string(), vote_id.to_string(), voter.map(str::to_string));
        self.write(move |tx| {
            returned_doc(
                tx,
                "DELETE FROM poll_votes WHERE poll_id = ?1 AND id = ?2 AND (?3 IS NULL OR user_id = ?3) RETURNING doc",
                params![poll_id, vote_id, voter],
            )
        })
        .await
    }

    async fn poll_tallies(&self, poll_ids: &[String], viewer: Option<&str>) -> Result<HashMap<String, PollTally>> {
        let (ids, viewer) = (poll_ids.to_vec(), viewer.map(str::to_string));
        self.read(move |conn| {
            let mut out: HashMap<String, PollTally> = HashMap::new();
            if ids.is_empty() {
                return Ok(out);
            }
            let list = placeholders(ids.len());
            let values = || text_values(ids.iter().map(String::as_str));
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT poll_id, option_id, is_answer, COUNT(*) FROM poll_votes WHERE poll_id IN ({list})
                     GROUP BY poll_id, option_id, is_answer"
                ))
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(values()), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?, r.get::<_, i64>(3)?))
                })
                .map_err(db_err)?;
            for row in rows {
                let (poll, option, is_answer, n) = row.map_err(db_err)?;
                let tally = out.entry(poll).or_default();
                if is_answer {
                    tally.answers_count += n;
                } else {
                    tally.vote_count += n;
                    tally.counts_by_option.insert(option, n);
                }
            }
            let latest: Vec<PollVote> = docs(
                conn,
                &format!(
                    "SELECT doc FROM (SELECT doc, created_at, ROW_NUMBER() OVER (PARTITION BY poll_id, option_id, is_answer
                                      ORDER BY created_at DESC, id) AS n
                                      FROM poll_votes WHERE poll_id IN ({list}))
                     WHERE n <= {LATEST_VOTES} ORDER BY created_at DESC"
                ),
                values(),
            )?;
            for v in latest {
                let tally = out.entry(v.poll_id.clone()).or_default();
                if v.is_answer {
                    tally.latest_answers.push(v);
                } else {
                    tally.latest_by_option.entry(v.option_id.clone()).or_default().push(v);
                }
            }
            if let Some(viewer) = viewer {
                let mut v = values();
                v.push(SqlValue::Text(viewer));
                let own: Vec<PollVote> = docs(
                    conn,
                    &format!("SELECT doc FROM poll_votes WHERE poll_id IN ({list}) AND user_id = ? ORDER BY created_at DESC"),
                    v,
                )?;
                for vote in own {
                    out.entry(vote.poll_id.clone()).or_default().own.push(vote);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn query_votes(&self, q: &ListQuery) -> Result<Vec<PollVote>> {
        self.list(&sql::POLL_VOTES, q).await
    }
}

#[async_trait]
impl PinStore for SqliteStore {
    async fn insert_pin(&self, pin: &Pin) -> Result<Pin> {
        let pin = pin.clone();
        self.write(move |tx| {
            let fid = pin.fid.to_string();
            tx.execute(
                "INSERT INTO pins (fid, activity_id, created_at, doc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (fid, activity_id) DO NOTHING",
                params![fid, pin.activity_id, pin.created_at.0, to_doc(&pin)?],
            )
            .map_err(db_err)?;
            let doc: String = tx
                .query_row(
                    "SELECT doc FROM pins WHERE fid = ?1 AND activity_id = ?2",
                    params![fid, pin.activity_id],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            from_doc(&doc)
        })
        .await
    }

    async fn delete_pin(&self, fid: &Fid, activity_id: &str) -> Result<Option<Pin>> {
        let (fid, activity_id) = (fid.to_string(), activity_id.to_string());
        self.write(move |tx| {
            returned_doc(
                tx,
                "DELETE FROM pins WHERE fid = ?1 AND activity_id = ?2 RETURNING doc",
                params![fid, activity_id],
            )
        })
        .await
    }

    async fn query_pins(&self, q: &ListQuery) -> Result<Vec<Pin>> {
        self.list(&sql::PINS, q).await
    }
}
