//! SQLite store: one writer connection (SQLite serialises writers anyway) and
//! a few reader connections, WAL mode, every call on the blocking pool.

use std::collections::HashMap;
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

use crate::core::comments::VoteScores;
use crate::core::error::{Error, Result};
use crate::core::filter::distance_km;
use crate::core::model::{
    Activity, Collection, Comment, Feed, Fid, Reaction, ReactionGroup, ReactionSummary, User, LATEST_REACTIONS,
};
use crate::core::storage::{CommentStore, ExtraWrites, ListQuery, Reactable, ReactionStore};
use crate::core::time::Timestamp;
use crate::store::sql::COMMENT_SQLITE as COMMENT_SELECT;
use crate::store::sql::{self, Arg, Dialect};

mod driver;

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

/// Recounts a comment's votes and reactions from its reaction rows, inside
/// the transaction that changed them, and stores the scores they give.
fn recount_comment_votes(tx: &Transaction, comment_id: &str) -> Result<()> {
    let (up, down, all): (i64, i64, i64) = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(type = 'upvote'), 0), COALESCE(SUM(type = 'downvote'), 0), COUNT(*)
             FROM comment_reactions WHERE comment_id = ?1",
        )
        .map_err(db_err)?
        .query_row(params![comment_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(db_err)?;
    let scores = VoteScores::of(up, down);
    tx.prepare_cached(
        "UPDATE comments SET upvote_count = ?2, downvote_count = ?3, reaction_count = ?4, score = ?5,
             confidence_score = ?6, controversy_score = ?7 WHERE id = ?1",
    )
    .map_err(db_err)?
    .execute(params![comment_id, up, down, all, scores.score, scores.confidence, scores.controversy])
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl ReactionStore for SqliteStore {
    async fn put_reaction_with(
        &self,
        on: Reactable,
        reaction: &Reaction,
        exclusive: bool,
        extra: &ExtraWrites,
    ) -> Result<Vec<Reaction>> {
        let (reaction, extra) = (reaction.clone(), extra.clone());
        self.write(move |tx| {
            write_extra_tx(tx, &extra)?;
            let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
            let (object, user, kind) = (reaction.object_id(), &reaction.user_id, &reaction.kind);
            let mut gone: Vec<Reaction> = Vec::new();
            if exclusive {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "DELETE FROM {table} WHERE {key} = ?1 AND user_id = ?2 AND type != ?3 RETURNING doc"
                    ))
                    .map_err(db_err)?;
                let rows = stmt.query_map(params![object, user, kind], |r| r.get::<_, String>(0)).map_err(db_err)?;
                for row in rows {
                    gone.push(from_doc(&row.map_err(db_err)?)?);
                }
            }
            let old: Option<String> = tx
                .query_row(
                    &format!("SELECT doc FROM {table} WHERE {key} = ?1 AND user_id = ?2 AND type = ?3"),
                    params![object, user, kind],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if let Some(old) = old {
                gone.push(from_doc(&old)?);
            }
            tx.prepare_cached(&format!(
                "INSERT INTO {table} ({key}, user_id, type, created_at, updated_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT ({key}, user_id, type) DO UPDATE SET updated_at = excluded.updated_at,
                    doc = json_set(excluded.doc, '$.created_at', {table}.created_at)"
            ))
            .map_err(db_err)?
            .execute(params![object, user, kind, reaction.created_at.0, reaction.updated_at.0, to_doc(&reaction)?])
            .map_err(db_err)?;
            if on == Reactable::Comments {
                recount_comment_votes(tx, object)?;
            }
            Ok(gone)
        })
        .await
    }

    async fn delete_reaction_with(
        &self,
        on: Reactable,
        object_id: &str,
        user_id: &str,
        kind: &str,
        extra: &ExtraWrites,
    ) -> Result<Option<Reaction>> {
        let (object_id, user_id, kind) = (object_id.to_string(), user_id.to_string(), kind.to_string());
        let extra = extra.clone();
        self.write(move |tx| {
            write_extra_tx(tx, &extra)?;
            let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
            let gone: Option<Reaction> = returned_doc(
                tx,
                &format!("DELETE FROM {table} WHERE {key} = ?1 AND user_id = ?2 AND type = ?3 RETURNING doc"),
                params![object_id, user_id, kind],
            )?;
            if gone.is_some() && on == Reactable::Comments {
                recount_comment_votes(tx, &object_id)?;
            }
            Ok(gone)
        })
        .await
    }

    async fn reaction_summaries(
        &self,
        on: Reactable,
        object_ids: &[String],
        viewer: Option<&str>,
    ) -> Result<HashMap<String, ReactionSummary>> {
        let (ids, viewer) = (object_ids.to_vec(), viewer.map(str::to_string));
        self.read(move |conn| {
            let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
            let mut out: HashMap<String, ReactionSummary> = HashMap::new();
            if ids.is_empty() {
                return Ok(out);
            }
            let list = placeholders(ids.len());
            let values = || text_values(ids.iter().map(String::as_str));
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {key}, type, COUNT(*), MIN(created_at), MAX(created_at) FROM {table}
                     WHERE {key} IN ({list}) GROUP BY {key}, type"
                ))
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(values()), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(db_err)?;
            for row in rows {
                let (object, kind, count, first, last) = row.map_err(db_err)?;
                out.entry(object).or_default().groups.insert(
                    kind,
                    ReactionGroup { count, first_reaction_at: Timestamp(first), last_reaction_at: Timestamp(last) },
                );
            }
            let latest: Vec<Reaction> = docs(
                conn,
                &format!(
                    "SELECT doc FROM (SELECT doc, created_at, ROW_NUMBER() OVER (PARTITION BY {key}
                                      ORDER BY created_at DESC, user_id, type) AS n
                                      FROM {table} WHERE {key} IN ({list}))
                     WHERE n <= {LATEST_REACTIONS} ORDER BY created_at DESC"
                ),
                values(),
            )?;
            for r in latest {
                out.entry(r.object_id().to_string()).or_default().latest.push(r);
            }
            if let Some(viewer) = viewer {
                let mut v = values();
                v.push(SqlValue::Text(viewer));
                let own: Vec<Reaction> = docs(
                    conn,
                    &format!(
                        "SELECT doc FROM {table} WHERE {key} IN ({list}) AND user_id = ?
                         ORDER BY created_at DESC"
                    ),
                    v,
                )?;
                for r in own {
                    out.entry(r.object_id().to_string()).or_default().own.push(r);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn query_reactions(&self, on: Reactable, q: &ListQuery) -> Result<Vec<Reaction>> {
        self.list(sql::reaction_list_table(on), q).await
    }
}

#[async_trait]
impl CommentStore for SqliteStore {
    async fn insert_comments(
        &self,
        comments: &[Comment],
        notifications: &[Activity],
        new_feeds: &[Feed],
    ) -> Result<()> {
        let (comments, notifications, new_feeds) = (comments.to_vec(), notifications.to_vec(), new_feeds.to_vec());
        self.write(move |tx| {
            for c in &comments {
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO comments (id, object_type, object_id, parent_id, user_id, status, created_at,
                                               updated_at, deleted_at, doc)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING",
                    )
                    .map_err(db_err)?
                    .execute(params![
                        c.id,
                        c.object_type,
                        c.object_id,
                        c.parent_id,
                        c.user_id,
                        c.status,
                        c.created_at.0,
                        c.updated_at.0,
                        c.deleted_at.map(|t| t.0),
                        to_doc(c)?
                    ])
                    .map_err(db_err)?;
                if inserted == 0 {
                    return Err(Error::field("id", format!("comment {} already exists", c.id)));
                }
                if let Some(parent) = &c.parent_id {
                    tx.prepare_cached("UPDATE comments SET reply_count = reply_count + 1 WHERE id = ?1")
                        .map_err(db_err)?
                        .execute(params![parent])
                        .map_err(db_err)?;
                }
            }
            for feed in &new_feeds {
                insert_feed_tx(tx, feed)?;
            }
            for n in &notifications {
                save_activity_tx(tx, n)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_comments(&self, ids: &[String]) -> Result<Vec<Comment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let values = text_values(ids.iter().map(String::as_str));
        self.read(move |conn| {
            let sql = format!("SELECT {COMMENT_SELECT} FROM comments t WHERE t.id IN ({})", placeholders(values.len()));
            docs(conn, &sql, values)
        })
        .await
    }

    async fn put_comment_with(
        &self,
        c: &Comment,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let (c, extra) = (c.clone(), extra.clone());
        self.write(move |tx| {
            if let Some(at) = if_updated_at {
                if !versions_hold(tx, sql::versions::COMMENT, &[(std::slice::from_ref(&c.id), at)])? {
                    return Ok(false);
                }
            }
            write_extra_tx(tx, &extra)?;
            tx.prepare_cached(
                "UPDATE comments SET status = ?2, updated_at = ?3, deleted_at = ?4, doc = ?5 WHERE id = ?1",
            )
            .map_err(db_err)?
            .execute(params![c.id, c.status, c.updated_at.0, c.deleted_at.map(|t| t.0), to_doc(&c)?])
            .map_err(db_err)?;
            Ok(true)
        })
        .await
    }

    async fn purge_comment_with(&self, id: &str, extra: &ExtraWrites) -> Result<Vec<String>> {
        let (id, extra) = (id.to_string(), extra.clone());
        self.write(move |tx| {
            let thread: Vec<String> = {
                let mut stmt = tx
                    .prepare_cached(
                        "WITH RECURSIVE thread(id) AS (SELECT ?1 UNION ALL
                             SELECT c.id FROM comments c JOIN thread ON c.parent_id = thread.id)
                         SELECT id FROM thread",
                    )
                    .map_err(db_err)?;
                let rows = stmt.query_map(params![id], |r| r.get::<_, String>(0)).map_err(db_err)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err)?
            };
            let parent: Option<Option<String>> = tx
                .query_row("SELECT parent_id FROM comments WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let Some(parent) = parent else { return Ok(Vec::new()) };
            write_extra_tx(tx, &extra)?;
            let list = placeholders(thread.len());
            let values = || text_values(thread.iter().map(String::as_str));
            tx.execute(
                &format!("DELETE FROM comment_reactions WHERE comment_id IN ({list})"),
                params_from_iter(values()),
            )
            .map_err(db_err)?;
            tx.execute(&format!("DELETE FROM comments WHERE id IN ({list})"), params_from_iter(values()))
                .map_err(db_err)?;
            if let Some(parent) = parent {
                tx.execute("UPDATE comments SET reply_count = reply_count - 1 WHERE id = ?1", params![parent])
                    .map_err(db_err)?;
            }
            Ok(thread)
        })
        .await
    }

    async fn query_comments(&self, q: &ListQuery) -> Result<Vec<Comment>> {
        self.list(&sql::COMMENTS, q).await
    }

    async fn comment_replies(
        &self,
        parents: &[String],
        sort: &[(&'static str, bool)],
        each: usize,
    ) -> Result<Vec<Comment>> {
        if parents.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, params) = sql::replies_query(Dialect::Sqlite, parents, sort, each)?;
        let values = sqlite_values(params)?;
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    async fn activity_comments(
        &self,
        activity_ids: &[String],
        latest: usize,
    ) -> Result<(HashMap<String, i64>, Vec<Comment>)> {
        if activity_ids.is_empty() {
            return Ok(Default::default());
        }
        let ids = activity_ids.to_vec();
        self.read(move |conn| {
            let list = placeholders(ids.len());
            let values = || text_values(ids.iter().map(String::as_str));
            let mut counts = HashMap::new();
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT object_id, COUNT(*) FROM comments WHERE object_type = 'activity' AND object_id IN ({list})
                     AND deleted_at IS NULL GROUP BY object_id"
                ))
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(values()), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(db_err)?;
            for row in rows {
                let (id, n) = row.map_err(db_err)?;
                counts.insert(id, n);
            }
            let newest = docs(
                conn,
                &format!(
                    "SELECT doc FROM (SELECT {COMMENT_SELECT} AS doc, t.created_at, ROW_NUMBER() OVER (
                                          PARTITION BY t.object_id ORDER BY t.created_at DESC, t.id DESC) AS n
                                      FROM comments t WHERE t.object_type = 'activity' AND t.object_id IN ({list})
                                      AND t.parent_id IS NULL AND t.deleted_at IS NULL)
                     WHERE n <= {latest} ORDER BY created_at DESC"
                ),
                values(),
            )?;
            Ok((counts, newest))
        })
        .await
    }
}
