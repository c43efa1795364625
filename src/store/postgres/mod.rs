//! PostgreSQL store: a deadpool connection pool over tokio-postgres. The
//! same operations as the SQLite store, one transaction each; the places
//! where concurrent writers from several processes meet are called out.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::core::error::{Error, Result};
use crate::core::feed_visibilities::StoredGrants;
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

const POOL_SIZE: usize = 16;
/// Serialises schema migrations when several instances start at once.
const MIGRATION_LOCK: i64 = 0x7472_6962_7574_6172;

pub struct PostgresStore {
    pool: Pool,
}

fn to_doc<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

fn from_doc<T: DeserializeOwned>(doc: &str) -> Result<T> {
    serde_json::from_str(doc).map_err(|e| Error::internal(format!("corrupt stored record: {e}")))
}

fn docs<T: DeserializeOwned>(rows: &[Row]) -> Result<Vec<T>> {
    rows.iter().map(|r| from_doc(r.get::<_, &str>(0))).collect()
}

type Param = Box<dyn ToSql + Sync + Send>;

/// Dynamic SQL with numbered parameters (`$1`, `$2`…).
#[derive(Default)]
struct Sql {
    text: String,
    params: Vec<Param>,
}

impl Sql {
    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
    }
}

fn pg_params(params: Vec<Arg>) -> Vec<Param> {
    params
        .into_iter()
        .map(|p| -> Param {
            match p {
                Arg::Null => Box::new(None::<String>),
                Arg::Text(t) => Box::new(t),
                Arg::Int(i) => Box::new(i),
                Arg::Real(r) => Box::new(r),
                Arg::Bool(b) => Box::new(b),
                Arg::Texts(list) => Box::new(list),
            }
        })
        .collect()
}

fn fid_strings(fids: &[Fid]) -> Vec<String> {
    fids.iter().map(Fid::to_string).collect()
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| Error::internal(format!("invalid TRIBUTARY_DATABASE_URL: {e}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build().map_err(db_err)?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await.map_err(db_err)?;
        let tx = client.transaction().await.map_err(db_err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS tributary_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(db_err)?;
        let done: i64 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM tributary_migrations", &[])
            .await
            .map_err(db_err)?
            .get(0);
        for (i, step) in migrations::STEPS.iter().enumerate().skip(done as usize) {
            tx.batch_execute(step).await.map_err(db_err)?;
            tx.execute(
                "INSERT INTO tributary_migrations (version, applied_at) VALUES ($1, $2)",
                &[&(i as i64 + 1), &Timestamp::now().0],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(db_err)
    }

    /// Runs a query whose first column is a JSON document. Statements are
    /// prepared once per pooled connection, saving a round trip per query.
    async fn query_docs<T: DeserializeOwned>(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<T>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(db_err)?;
        let rows = client.query(&stmt, params).await.map_err(db_err)?;
        docs(&rows)
    }

    /// One page of a filtered list query over `table`. Filters vary without
    /// bound, so their statements are not cached.
    async fn list<T: DeserializeOwned>(&self, table: &'static sql::Table, q: &ListQuery) -> Result<Vec<T>> {
        let (text, params) = sql::list_query(Dialect::Postgres, table, q)?;
        let bound = Sql { text, params: pg_params(params) };
        let client = self.client().await?;
        let rows = client.query(&bound.text, &bound.refs()).await.map_err(db_err)?;
        docs(&rows)
    }
}

async fn insert_feed_tx(tx: &impl GenericClient, feed: &Feed) -> Result<bool> {
    let n = tx
        .execute(
            "INSERT INTO feeds (fid, group_id, created_by, created_at, doc) VALUES ($1, $2, $3, $4, $5::text::jsonb)
             ON CONFLICT (fid) DO NOTHING",
            &[&feed.fid.to_string(), &feed.fid.group, &feed.created_by, &feed.created_at.0, &to_doc(feed)?],
        )
        .await
        .map_err(db_err)?;
    Ok(n > 0)
}

/// See the SQLite twin: writes one activity and applies only the difference
/// of its feed list to the feed entries.
/// Upserts `members` of `fid`, deletes those in `remove` (or, when
/// `replace`, everyone not in `members`) and returns the ids removed.
pub(super) async fn write_members_tx(
    tx: &impl GenericClient,
    fid: &str,
    members: &[FeedMember],
    remove: &[String],
    replace: bool,
) -> Result<Vec<String>> {
    // The feed's row lock orders member writes, so each recount below sees
    // the writes before it.
    tx.execute("SELECT 1 FROM feeds WHERE fid = $1 FOR UPDATE", &[&fid]).await.map_err(db_err)?;
    let rows = if replace {
        let keep: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        tx.query(
            "DELETE FROM feed_members WHERE fid = $1 AND NOT (user_id = ANY($2)) RETURNING user_id",
            &[&fid, &keep],
        )
        .await
    } else {
        tx.query("DELETE FROM feed_members WHERE fid = $1 AND user_id = ANY($2) RETURNING user_id", &[&fid, &remove])
            .await
    }
    .map_err(db_err)?;
    let removed: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let upsert = tx
        .prepare_cached(
            "INSERT INTO feed_members (fid, user_id, role, status, created_at, updated_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)
             ON CONFLICT (fid, user_id) DO UPDATE SET role = excluded.role, status = excluded.status,
                 updated_at = excluded.updated_at, doc = excluded.doc",
        )
        .await
        .map_err(db_err)?;
    for m in members {
        tx.execute(&upsert, &[&fid, &m.user_id, &m.role, &m.status, &m.created_at.0, &m.updated_at.0, &to_doc(m)?])
            .await
            .map_err(db_err)?;
    }
    tx.execute(
        "UPDATE feeds SET member_count = (SELECT COUNT(*) FROM feed_members WHERE fid = $1 AND status = 'member')
         WHERE fid = $1",
        &[&fid],
    )
    .await
    .map_err(db_err)?;
    Ok(removed)
}

/// Moves the follower count of `target` and the following count of
/// `source` by `delta` (an accepted follow appearing or going away).
async fn count_follow_tx(tx: &impl GenericClient, source: &str, target: &str, delta: i64) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let following = "UPDATE feeds SET following_count = following_count + $2 WHERE fid = $1";
    let followers = "UPDATE feeds SET follower_count = follower_count + $2 WHERE fid = $1";
    // Rows in fid order, as every transaction locks them (see `lock_feeds_tx`).
    let mut updates = [(source, following), (target, followers)];
    updates.sort();
    for (fid, sql) in updates {
        tx.execute(sql, &[&fid, &delta]).await.map_err(db_err)?;
    }
    Ok(())
}

/// Locks the feed rows of `fids` in fid order: transactions that change the
/// counters of several feeds take their locks in one global order, so two
/// of them (mutual follows, overlapping batches) never wait on each other.
async fn lock_feeds_tx(tx: &impl GenericClient, fids: &[String]) -> Result<()> {
    tx.execute("SELECT 1 FROM feeds WHERE fid = ANY($1) ORDER BY fid FOR UPDATE", &[&fids]).await.map_err(db_err)?;
    Ok(())
}

/// Copies up to the follow's `activity_copy_limit` of the target's newest
/// own activities into the source feed.
async fn backfill_tx(tx: &impl GenericClient, follow: &Follow) -> Result<()> {
    let limit = follow.activity_copy_limit.unwrap_or(DEFAULT_COPY_LIMIT);
    if limit == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
         SELECT $1, created_at, activity_id, FALSE, visible_until, private_to FROM feed_entries
         WHERE fid = $2 AND direct ORDER BY created_at DESC, activity_id DESC LIMIT $3
         ON CONFLICT DO NOTHING",
        &[&follow.source.to_string(), &follow.target.to_string(), &(limit as i64)],
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Whether every row still has the version (`updated_at`) a read-modify-write
/// started from, locking each (in key order, so concurrent batches cannot
/// deadlock) until the transaction ends; `select` is one of `sql::versions`.
async fn versions_hold(tx: &impl GenericClient, select: &str, expected: &[(Vec<String>, Timestamp)]) -> Result<bool> {
    let mut expected = expected.to_vec();
    expected.sort();
    let stmt = tx.prepare_cached(&sql::versions::locked(select)).await.map_err(db_err)?;
    for (key, at) in &expected {
        let params: Vec<&(dyn ToSql + Sync)> = key.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
        let found = tx.query_opt(&stmt, &params).await.map_err(db_err)?.map(|r| r.get::<_, Option<i64>>(0));
        if found != Some(Some(at.0)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether each of `members` still has the version in `expected` (None:
/// it is no member yet). Locks the feed row first, as every member write
/// does, so no member of it changes or appears until commit.
async fn member_versions_hold(
    tx: &impl GenericClient,
    fid: &str,
    members: &[FeedMember],
    expected: &[Option<Timestamp>],
) -> Result<bool> {
    tx.execute("SELECT 1 FROM feeds WHERE fid = $1 FOR UPDATE", &[&fid]).await.map_err(db_err)?;
    let stmt = tx.prepare_cached(sql::versions::FEED_MEMBER).await.map_err(db_err)?;
    for (m, at) in members.iter().zip(expected) {
        let found = tx.query_opt(&stmt, &[&fid, &m.user_id]).await.map_err(db_err)?.map(|r| r.get::<_, i64>(0));
        if found != at.map(|t| t.0) {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn save_activity_tx(tx: &impl GenericClient, a: &Activity) -> Result<Timestamp> {
    // Concurrent upserts of one id serialise here, so each sees the feed
    // list the previous one committed.
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&a.id]).await.map_err(db_err)?;
    let old = tx.query_opt("SELECT doc::text FROM activities WHERE id = $1", &[&a.id]).await.map_err(db_err)?;
    let old: Option<Activity> = old.map(|r| from_doc(r.get::<_, &str>(0))).transpose()?;
    check_parent_tx(tx, a, old.as_ref()).await?;
    let row = tx
        .query_one(
            "INSERT INTO activities (id, user_id, created_at, deleted_at, expires_at, doc, parent_id)
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7)
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, deleted_at = excluded.deleted_at,
                expires_at = excluded.expires_at,
                doc = jsonb_set(excluded.doc, '{created_at}', to_jsonb(activities.created_at))
             RETURNING created_at",
            &[
                &a.id,
                &a.user_id,
                &a.created_at.0,
                &a.deleted_at.map(|t| t.0),
                &a.expires_at.map(|t| t.0),
                &to_doc(a)?,
                &a.parent_id,
            ],
        )
        .await
        .map_err(db_err)?;
    let created_at: i64 = row.get(0);
    let (visible_until, private_to) = (a.visible_until(), a.private_to());
    if old.as_ref().is_some_and(|o| o.visible_until() != visible_until || o.private_to() != private_to) {
        tx.execute(
            "UPDATE feed_entries SET visible_until = $2, private_to = $3 WHERE activity_id = $1",
            &[&a.id, &visible_until, &private_to],
        )
        .await
        .map_err(db_err)?;
    }
    let old_feeds = old.map(|o| o.feeds).unwrap_or_default();
    let added: Vec<String> = a.feeds.iter().filter(|f| !old_feeds.contains(f)).map(Fid::to_string).collect();
    let removed: Vec<String> = old_feeds.iter().filter(|f| !a.feeds.contains(f)).map(Fid::to_string).collect();
    if !added.is_empty() {
        tx.execute(
            "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
             SELECT f, $2, $3, TRUE, $4, $5 FROM unnest($1::text[]) AS f
             ON CONFLICT (fid, created_at, activity_id) DO UPDATE SET direct = TRUE",
            &[&added, &created_at, &a.id, &visible_until, &private_to],
        )
        .await
        .map_err(db_err)?;
        // Fan-out on write, one statement for every origin feed.
        tx.execute(
            "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
             SELECT source, $2, $3, FALSE, $4, $5 FROM follows WHERE target = ANY($1) AND status = 'accepted'
             ON CONFLICT DO NOTHING",
            &[&added, &created_at, &a.id, &visible_until, &private_to],
        )
        .await
        .map_err(db_err)?;
    }
    if !removed.is_empty() {
        let remaining = fid_strings(&a.feeds);
        tx.execute("DELETE FROM feed_entries WHERE fid = ANY($1) AND activity_id = $2", &[&removed, &a.id])
            .await
            .map_err(db_err)?;
        tx.execute(
            "DELETE FROM feed_entries e WHERE e.activity_id = $1 AND NOT e.direct
               AND e.fid IN (SELECT source FROM follows WHERE target = ANY($2))
               AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.source = e.fid
                               AND f.status = 'accepted' AND f.target = ANY($3))",
            &[&a.id, &removed, &remaining],
        )
        .await
        .map_err(db_err)?;
    }
    Ok(Timestamp(created_at))
}

/// A new reply or share needs a live parent, checked where it is written so
/// a parent deleted meanwhile cannot be missed.
async fn check_parent_tx(tx: &impl GenericClient, a: &Activity, old: Option<&Activity>) -> Result<()> {
    let Some(parent) = a.parent_id.as_ref().filter(|p| old.is_none_or(|o| o.parent_id.as_ref() != Some(*p))) else {
        return Ok(());
    };
    if tx.query_opt(sql::LIVE_ACTIVITY, &[parent]).await.map_err(db_err)?.is_none() {
        return Err(Error::field("parent_id", format!("parent activity {parent} does not exist")));
    }
    Ok(())
}

async fn upsert_users_tx(tx: &impl GenericClient, users: &[User]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO users (id, name, role, created_at, updated_at, deleted_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
                updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, doc = excluded.doc",
        )
        .await
        .map_err(db_err)?;
    for u in users {
        tx.execute(
            &stmt,
            &[&u.id, &u.name, &u.role, &u.created_at.0, &u.updated_at.0, &u.deleted_at.map(|t| t.0), &to_doc(u)?],
        )
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

async fn purge_activities_tx(tx: &impl GenericClient, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    tx.execute("DELETE FROM feed_entries WHERE activity_id = ANY($1)", &[&ids]).await.map_err(db_err)?;
    tx.execute("DELETE FROM reactions WHERE activity_id = ANY($1)", &[&ids]).await.map_err(db_err)?;
    tx.execute("DELETE FROM pins WHERE activity_id = ANY($1)", &[&ids]).await.map_err(db_err)?;
    tx.execute("DELETE FROM activity_feedback WHERE activity_id = ANY($1)", &[&ids]).await.map_err(db_err)?;
    tx.execute("DELETE FROM activity_metrics WHERE activity_id = ANY($1)", &[&ids]).await.map_err(db_err)?;
    tx.execute("DELETE FROM metric_quota WHERE activity_id = ANY($1)", &[&ids]).await.map_err(db_err)?;
    tx.execute(
        "DELETE FROM comment_reactions WHERE comment_id IN
             (SELECT id FROM comments WHERE object_type = 'activity' AND object_id = ANY($1))",
        &[&ids],
    )
    .await
    .map_err(db_err)?;
    tx.execute("DELETE FROM comments WHERE object_type = 'activity' AND object_id = ANY($1)", &[&ids])
        .await
        .map_err(db_err)?;
    tx.execute("DELETE FROM bookmarks WHERE activity_id = ANY($1)", &[&ids]).await.map_err(db_err)?;
    let rows = tx.query("DELETE FROM activities WHERE id = ANY($1) RETURNING id", &[&ids]).await.map_err(db_err)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The records a request implies beside its main write (`ExtraWrites`),
/// each kind in key order so concurrent requests lock rows alike.
async fn write_extra_tx(tx: &impl GenericClient, extra: &ExtraWrites) -> Result<()> {
    purge_activities_tx(tx, &extra.withdrawn).await?;
    let mut feeds: Vec<&Feed> = extra.feeds.iter().collect();
    feeds.sort_by(|a, b| a.fid.cmp(&b.fid));
    for feed in feeds {
        insert_feed_tx(tx, feed).await?;
    }
    upsert_users_tx(tx, &extra.user_updates).await?;
    if !extra.users.is_empty() {
        let stmt = tx.prepare_cached(&sql::implied_user_insert(Dialect::Postgres)).await.map_err(db_err)?;
        let mut users: Vec<&User> = extra.users.iter().collect();
        users.sort_by(|a, b| a.id.cmp(&b.id));
        for u in users {
            let times = (u.created_at.0, u.updated_at.0, u.deleted_at.map(|t| t.0));
            tx.execute(&stmt, &[&u.id, &u.name, &u.role, &times.0, &times.1, &times.2, &to_doc(u)?])
                .await
                .map_err(db_err)?;
        }
    }
    upsert_collections_tx(tx, &extra.collections).await?;
    for n in &extra.notifications {
        save_activity_tx(tx, n).await?;
    }
    if !extra.tasks.is_empty() {
        let stmt = tx.prepare_cached(&sql::task_insert(Dialect::Postgres)).await.map_err(db_err)?;
        for t in &extra.tasks {
            let work = to_doc(&t.work)?;
            tx.execute(&stmt, &[&t.id, &t.status.as_str(), &work, &t.created_at.0, &t.updated_at.0])
                .await
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// Inserts the new collections; existing ones only get the new `custom`.
async fn upsert_collections_tx(tx: &impl GenericClient, collections: &[Collection]) -> Result<Vec<Collection>> {
    if collections.is_empty() {
        return Ok(Vec::new());
    }
    let upsert = tx
        .prepare_cached(
            "INSERT INTO collections AS c (name, id, user_id, created_at, updated_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)
             ON CONFLICT (name, id) DO UPDATE SET updated_at = excluded.updated_at,
                doc = jsonb_set(jsonb_set(c.doc, '{custom}', excluded.doc->'custom'),
                                '{updated_at}', to_jsonb(excluded.updated_at))
             RETURNING doc::text",
        )
        .await
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(collections.len());
    for c in collections {
        let row = tx
            .query_one(&upsert, &[&c.name, &c.id, &c.user_id, &c.created_at.0, &c.updated_at.0, &to_doc(c)?])
            .await
            .map_err(db_err)?;
        out.push(from_doc(row.get::<_, &str>(0))?);
    }
    Ok(out)
}

async fn insert_folder_tx(tx: &impl GenericClient, f: &BookmarkFolder) -> Result<()> {
    tx.execute(
        "INSERT INTO bookmark_folders (id, user_id, name, created_at, updated_at, doc)
         VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
        &[&f.id, &f.user_id, &f.name, &f.created_at.0, &f.updated_at.0, &to_doc(f)?],
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

/// False when the placement exists already.
async fn insert_bookmark_tx(tx: &impl GenericClient, b: &Bookmark) -> Result<bool> {
    let n = tx
        .execute(
            "INSERT INTO bookmarks (user_id, object_type, object_id, folder_id, activity_id, created_at, updated_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb) ON CONFLICT DO NOTHING",
            &[
                &b.user_id,
                &b.object_type,
                &b.object_id,
                &b.folder_key(),
                &b.activity_id,
                &b.created_at.0,
                &b.updated_at.0,
                &to_doc(b)?,
            ],
        )
        .await
        .map_err(db_err)?;
    Ok(n > 0)
}

#[async_trait]
impl ConfigStore for PostgresStore {
    async fn setting_or_insert(&self, key: &str, value: &serde_json::Value) -> Result<serde_json::Value> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2::text::jsonb) ON CONFLICT (key) DO NOTHING",
                &[&key, &value.to_string()],
            )
            .await
            .map_err(db_err)?;
        let row = client.query_one("SELECT value::text FROM settings WHERE key = $1", &[&key]).await.map_err(db_err)?;
        from_doc(row.get::<_, &str>(0))
    }

    async fn get_feed_group(&self, id: &str) -> Result<Option<FeedGroup>> {
        Ok(self.query_docs("SELECT doc::text FROM feed_groups WHERE id = $1", &[&id]).await?.pop())
    }

    async fn list_feed_groups(&self) -> Result<Vec<FeedGroup>> {
        self.query_docs("SELECT doc::text FROM feed_groups ORDER BY id", &[]).await
    }

    async fn insert_feed_group(&self, group: &FeedGroup) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO feed_groups (id, doc) VALUES ($1, $2::text::jsonb) ON CONFLICT (id) DO NOTHING",
                &[&group.id, &to_doc(group)?],
            )
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    async fn put_feed_group(&self, group: &FeedGroup) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO feed_groups (id, doc) VALUES ($1, $2::text::jsonb)
                 ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                &[&group.id, &to_doc(group)?],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn purge_feed_group(&self, id: &str) -> Result<bool> {
        let client = self.client().await?;
        Ok(client.execute("DELETE FROM feed_groups WHERE id = $1", &[&id]).await.map_err(db_err)? > 0)
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
impl FeedStore for PostgresStore {
    async fn get_feeds(&self, fids: &[Fid]) -> Result<Vec<Feed>> {
        if fids.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs("SELECT doc::text FROM feeds WHERE fid = ANY($1)", &[&fid_strings(fids)]).await
    }

    async fn put_feed_with(&self, feed: &Feed, if_updated_at: Option<Timestamp>, extra: &ExtraWrites) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let fid = feed.fid.to_string();
        if let Some(at) = if_updated_at {
            if !versions_hold(&tx, sql::versions::FEED, &[(vec![fid.clone()], at)]).await? {
                return Ok(false);
            }
        }
        write_extra_tx(&tx, extra).await?;
        tx.execute(
            "INSERT INTO feeds (fid, group_id, created_by, created_at, doc) VALUES ($1, $2, $3, $4, $5::text::jsonb)
             ON CONFLICT (fid) DO UPDATE SET created_by = excluded.created_by, doc = excluded.doc",
            &[&fid, &feed.fid.group, &feed.created_by, &feed.created_at.0, &to_doc(feed)?],
        )
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn feed_counts(&self, fids: &[Fid], now: Timestamp) -> Result<HashMap<Fid, FeedCounts>> {
        let mut out: HashMap<Fid, FeedCounts> = fids.iter().map(|f| (f.clone(), FeedCounts::default())).collect();
        if fids.is_empty() {
            return Ok(out);
        }
        let by_name: HashMap<String, Fid> = fids.iter().map(|f| (f.to_string(), f.clone())).collect();
        let names: Vec<String> = by_name.keys().cloned().collect();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT 0, fid, COUNT(*) FROM feed_entries
                 WHERE fid = ANY($1) AND (visible_until IS NULL OR visible_until > $2) GROUP BY fid
                 UNION ALL
                 SELECT 1, fid, follower_count FROM feeds WHERE fid = ANY($1)
                 UNION ALL
                 SELECT 2, fid, following_count FROM feeds WHERE fid = ANY($1)
                 UNION ALL
                 SELECT 4, fid, member_count FROM feeds WHERE fid = ANY($1)
                 UNION ALL
                 SELECT 3, fid, COUNT(*) FROM pins WHERE fid = ANY($1) GROUP BY fid
",
            )
            .await
            .map_err(db_err)?;
        let rows = client.query(&stmt, &[&names, &now.0]).await.map_err(db_err)?;
        for row in rows {
            let (which, fid, n): (i32, &str, i64) = (row.get(0), row.get(1), row.get(2));
            if let Some(counts) = by_name.get(fid).and_then(|f| out.get_mut(f)) {
                match which {
                    0 => counts.activity_count = n,
                    1 => counts.follower_count = n,
                    2 => counts.following_count = n,
                    3 => counts.pin_count = n,
                    _ => counts.member_count = n,
                }
            }
        }
        Ok(out)
    }

    async fn purge_feed(&self, fid: &Fid) -> Result<()> {
        let fid = fid.to_string();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        tx.execute("DELETE FROM feed_entries WHERE fid = $1", &[&fid]).await.map_err(db_err)?;
        tx.execute("DELETE FROM pins WHERE fid = $1", &[&fid]).await.map_err(db_err)?;
        // The feeds on the other side of its follows count one fewer.
        tx.execute(
            "UPDATE feeds SET follower_count = follower_count - 1
             WHERE fid IN (SELECT target FROM follows WHERE source = $1 AND status = 'accepted')",
            &[&fid],
        )
        .await
        .map_err(db_err)?;
        tx.execute(
            "UPDATE feeds SET following_count = following_count - 1
             WHERE fid IN (SELECT source FROM follows WHERE target = $1 AND status = 'accepted')",
            &[&fid],
        )
        .await
        .map_err(db_err)?;
        tx.execute("DELETE FROM follows WHERE source = $1 OR target = $1", &[&fid]).await.map_err(db_err)?;
        tx.execute("DELETE FROM feed_members WHERE fid = $1", &[&fid]).await.map_err(db_err)?;
        tx.execute("DELETE FROM feeds WHERE fid = $1", &[&fid]).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)
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
impl ActivityStore for PostgresStore {
    async fn save_activities_with(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<Vec<Timestamp>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        write_extra_tx(&tx, extra).await?;
        for feed in new_feeds {
            insert_feed_tx(&tx, feed).await?;
        }
        let mut created = Vec::with_capacity(activities.len());
        for a in activities {
            created.push(save_activity_tx(&tx, a).await?);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn save_activities_if(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        if_updated_at: &[(String, Timestamp)],
    ) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let expected: Vec<_> = if_updated_at.iter().map(|(id, at)| (vec![id.clone()], *at)).collect();
        if !versions_hold(&tx, sql::versions::ACTIVITY, &expected).await? {
            return Ok(false);
        }
        for feed in new_feeds {
            insert_feed_tx(&tx, feed).await?;
        }
        for a in activities {
            save_activity_tx(&tx, a).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn get_activities(&self, ids: &[String]) -> Result<Vec<Activity>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs("SELECT doc::text FROM activities WHERE id = ANY($1)", &[&ids]).await
    }

    async fn set_activities_deleted_with(
        &self,
        ids: &[String],
        deleted_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<Vec<String>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        write_extra_tx(&tx, extra).await?;
        let deleted = deleted_at.map(|t| t.0);
        let rows = tx
            .query(
                "UPDATE activities SET deleted_at = $2,
                    doc = jsonb_set(doc, '{deleted_at}', COALESCE(to_jsonb($2::bigint), 'null'::jsonb))
                 WHERE id = ANY($1) RETURNING id",
                &[&ids, &deleted],
            )
            .await
            .map_err(db_err)?;
        let changed: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        // Deleted: hidden everywhere; restored: visible until it expires.
        tx.execute(
            "UPDATE feed_entries e SET visible_until = CASE WHEN a.deleted_at IS NOT NULL THEN 0 ELSE a.expires_at END
             FROM activities a WHERE a.id = e.activity_id AND a.id = ANY($1)",
            &[&changed],
        )
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(changed)
    }

    async fn query_activities(&self, query: &ActivityQuery) -> Result<Vec<Activity>> {
        let (sql, params) = super::sql::activity_query(Dialect::Postgres, query)?;
        let bound = Sql { text: sql, params: pg_params(params) };
        // Filters vary without bound, so their statements are not cached.
        let client = self.client().await?;
        let rows = client.query(&bound.text, &bound.refs()).await.map_err(db_err)?;
        docs(&rows)
    }

    async fn purge_activities(&self, ids: &[String]) -> Result<Vec<String>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let purged = purge_activities_tx(&tx, ids).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(purged)
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
        let (sql, params) = super::sql::feed_page(Dialect::Postgres, fid, slice, limit, now, reader, filter)?;
        let bound = Sql { text: sql, params: pg_params(params) };
        // The unfiltered read is the hot path: its few shapes are cached.
        if filter.is_none() {
            return self.query_docs(&bound.text, &bound.refs()).await;
        }
        let client = self.client().await?;
        docs(&client.query(&bound.text, &bound.refs()).await.map_err(db_err)?)
    }

    async fn activity_shares(&self, parent_id: &str, limit: usize, offset: usize) -> Result<Vec<Activity>> {
        self.query_docs(
            "SELECT doc::text FROM activities WHERE parent_id = $1 AND deleted_at IS NULL
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
            &[&parent_id, &(limit as i64), &(offset as i64)],
        )
        .await
    }

    async fn share_counts(&self, activity_ids: &[String]) -> Result<HashMap<String, i64>> {
        if activity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT parent_id, COUNT(*) FROM activities WHERE parent_id = ANY($1) AND deleted_at IS NULL
                 GROUP BY parent_id",
            )
            .await
            .map_err(db_err)?;
        let rows = client.query(&stmt, &[&activity_ids]).await.map_err(db_err)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn set_feedback(&self, user_id: &str, activity_id: &str, feedback: &Feedback, now: Timestamp) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO activity_feedback AS f (user_id, activity_id, hide, show_more, show_less, updated_at)
                 VALUES ($1, $2, COALESCE($3, FALSE), COALESCE($4, FALSE), COALESCE($5, FALSE), $6)
                 ON CONFLICT (user_id, activity_id) DO UPDATE SET
                    hide = COALESCE($3, f.hide), show_more = COALESCE($4, f.show_more),
                    show_less = COALESCE($5, f.show_less), updated_at = $6",
                &[&user_id, &activity_id, &feedback.hide, &feedback.show_more, &feedback.show_less, &now.0],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn hidden_activities(&self, user_id: &str, activity_ids: &[String]) -> Result<HashSet<String>> {
        if activity_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT activity_id FROM activity_feedback WHERE user_id = $1 AND hide AND activity_id = ANY($2)",
            )
            .await
            .map_err(db_err)?;
        let rows = client.query(&stmt, &[&user_id, &activity_ids]).await.map_err(db_err)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn add_metrics(&self, events: &[MetricEvent], now: Timestamp) -> Result<Vec<bool>> {
        let window_start = now.0 - now.0.rem_euclid(METRIC_WINDOW_SECONDS * 1_000_000_000);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // The quota row is the lock: concurrent events of one user on one
        // (activity, metric) count one after the other; every right-hand side
        // reads the old row, so check and increment are one statement.
        let quota_sql = format!(
            "INSERT INTO metric_quota AS q (user_id, activity_id, metric, window_start, used, last_allowed)
                     VALUES ($1, $2, $3, $4, CASE WHEN $5::bigint <= {limit} THEN $5::bigint ELSE 0 END, $5::bigint <= {limit})
                     ON CONFLICT (user_id, activity_id, metric) DO UPDATE SET
                        last_allowed = (CASE WHEN q.window_start = $4 THEN q.used ELSE 0 END) + $5::bigint <= {limit},
                        used = (CASE WHEN q.window_start = $4 THEN q.used ELSE 0 END)
                            + (CASE WHEN (CASE WHEN q.window_start = $4 THEN q.used ELSE 0 END) + $5::bigint <= {limit}
                                    THEN $5::bigint ELSE 0 END),
                        window_start = $4
                     RETURNING last_allowed",
            limit = METRIC_EVENTS_PER_WINDOW
        );
        let quota = tx.prepare(&quota_sql).await.map_err(db_err)?;
        let bump = tx
            .prepare(
                "INSERT INTO activity_metrics AS m (activity_id, metric, value) VALUES ($1, $2, $3)
                 ON CONFLICT (activity_id, metric) DO UPDATE SET value = m.value + $3",
            )
            .await
            .map_err(db_err)?;
        let mut allowed = Vec::with_capacity(events.len());
        for e in events {
            let ok: bool = tx
                .query_one(&quota, &[&e.user_id, &e.activity_id, &e.metric, &window_start, &e.delta.saturating_abs()])
                .await
                .map_err(db_err)?
                .get(0);
            if ok {
                tx.execute(&bump, &[&e.activity_id, &e.metric, &e.delta]).await.map_err(db_err)?;
            }
            allowed.push(ok);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(allowed)
    }

    async fn activity_metrics(&self, activity_ids: &[String]) -> Result<HashMap<String, BTreeMap<String, i64>>> {
        if activity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT activity_id, metric, value FROM activity_metrics WHERE activity_id = ANY($1)")
            .await
            .map_err(db_err)?;
        let mut out: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
        for row in client.query(&stmt, &[&activity_ids]).await.map_err(db_err)? {
            out.entry(row.get(0)).or_default().insert(row.get(1), row.get(2));
        }
        Ok(out)
    }
}

#[async_trait]
impl FollowStore for PostgresStore {
    async fn insert_follows_with(
        &self,
        follows: &[(Follow, Option<Activity>)],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<Vec<bool>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        write_extra_tx(&tx, extra).await?;
        let mut new_feeds: Vec<&Feed> = new_feeds.iter().collect();
        new_feeds.sort_by(|a, b| a.fid.cmp(&b.fid));
        for feed in new_feeds {
            insert_feed_tx(&tx, feed).await?;
        }
        let counted: Vec<String> = follows
            .iter()
            .filter(|(f, _)| f.status == FOLLOW_ACCEPTED)
            .flat_map(|(f, _)| [f.source.to_string(), f.target.to_string()])
            .collect();
        lock_feeds_tx(&tx, &counted).await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO follows (source, target, status, created_at, updated_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb) ON CONFLICT (source, target) DO NOTHING",
            )
            .await
            .map_err(db_err)?;
        let mut inserted = Vec::with_capacity(follows.len());
        for (follow, notification) in follows {
            let (source, target) = (follow.source.to_string(), follow.target.to_string());
            let n = tx
                .execute(
                    &insert,
                    &[&source, &target, &follow.status, &follow.created_at.0, &follow.updated_at.0, &to_doc(follow)?],
                )
                .await
                .map_err(db_err)?;
            if n > 0 {
                if follow.status == FOLLOW_ACCEPTED {
                    count_follow_tx(&tx, &source, &target, 1).await?;
                    backfill_tx(&tx, follow).await?;
                }
                if let Some(notification) = notification {
                    save_activity_tx(&tx, notification).await?;
                }
            }
            inserted.push(n > 0);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(inserted)
    }

    async fn update_follow(&self, follow: &Follow, backfill: bool, if_updated_at: Option<Timestamp>) -> Result<bool> {
        let (source, target) = (follow.source.to_string(), follow.target.to_string());
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        if let Some(at) = if_updated_at {
            if !versions_hold(&tx, sql::versions::FOLLOW, &[(vec![source.clone(), target.clone()], at)]).await? {
                return Ok(false);
            }
        }
        // The row lock orders concurrent changes of one follow, so each
        // moves the counts from the status the previous one left.
        let Some(before) = tx
            .query_opt("SELECT status FROM follows WHERE source = $1 AND target = $2 FOR UPDATE", &[&source, &target])
            .await
            .map_err(db_err)?
        else {
            return Ok(false);
        };
        let before: String = before.get(0);
        tx.execute(
            "UPDATE follows SET status = $3, updated_at = $4, doc = $5::text::jsonb WHERE source = $1 AND target = $2",
            &[&source, &target, &follow.status, &follow.updated_at.0, &to_doc(follow)?],
        )
        .await
        .map_err(db_err)?;
        let delta = i64::from(follow.status == FOLLOW_ACCEPTED) - i64::from(before == FOLLOW_ACCEPTED);
        count_follow_tx(&tx, &source, &target, delta).await?;
        if backfill {
            backfill_tx(&tx, follow).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn delete_follows_with(
        &self,
        pairs: &[(Fid, Fid, bool)],
        require_all: bool,
        extra: &ExtraWrites,
    ) -> Result<Vec<Follow>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        write_extra_tx(&tx, extra).await?;
        if pairs.len() > 1 {
            let fids: Vec<String> = pairs.iter().flat_map(|(s, t, _)| [s.to_string(), t.to_string()]).collect();
            lock_feeds_tx(&tx, &fids).await?;
        }
        let mut deleted = Vec::with_capacity(pairs.len());
        for (source, target, keep_history) in pairs {
            let (source, target) = (source.to_string(), target.to_string());
            let row = tx
                .query_opt(
                    "DELETE FROM follows WHERE source = $1 AND target = $2 RETURNING doc::text",
                    &[&source, &target],
                )
                .await
                .map_err(db_err)?;
            let Some(row) = row else {
                if require_all {
                    return Err(Error::not_found("follow", &format!("{source} -> {target}")));
                }
                continue;
            };
            let follow: Follow = from_doc(row.get::<_, &str>(0))?;
            if follow.status == FOLLOW_ACCEPTED {
                count_follow_tx(&tx, &source, &target, -1).await?;
            }
            if !keep_history {
                tx.execute(
                    "DELETE FROM feed_entries x WHERE x.fid = $1 AND NOT x.direct
                       AND x.activity_id IN (SELECT activity_id FROM feed_entries WHERE fid = $2 AND direct)
                       AND NOT EXISTS (
                           SELECT 1 FROM feed_entries e JOIN follows f ON f.target = e.fid
                           WHERE e.activity_id = x.activity_id AND e.direct
                             AND f.source = $1 AND f.status = 'accepted')",
                    &[&source, &target],
                )
                .await
                .map_err(db_err)?;
            }
            deleted.push(follow);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(deleted)
    }

    async fn get_follow(&self, source: &Fid, target: &Fid) -> Result<Option<Follow>> {
        Ok(self
            .query_docs(
                "SELECT doc::text FROM follows WHERE source = $1 AND target = $2",
                &[&source.to_string(), &target.to_string()],
            )
            .await?
            .pop())
    }

    async fn query_follows(&self, q: &ListQuery, reader: &Reader) -> Result<Vec<Follow>> {
        let (text, params) = sql::follow_query(Dialect::Postgres, q, reader)?;
        let bound = Sql { text, params: pg_params(params) };
        let client = self.client().await?;
        docs(&client.query(&bound.text, &bound.refs()).await.map_err(db_err)?)
    }

    async fn follows_from_owner(&self, owner: &str, targets: &[Fid]) -> Result<Vec<Follow>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs(
            "SELECT f.doc::text FROM follows f JOIN feeds s ON s.fid = f.source
             WHERE s.created_by = $1 AND f.target = ANY($2) ORDER BY f.created_at DESC",
            &[&owner, &fid_strings(targets)],
        )
        .await
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
        self.query_docs(
            "SELECT doc FROM (
                 SELECT f.doc::text AS doc, ROW_NUMBER() OVER (PARTITION BY s.created_by ORDER BY f.created_at DESC) AS n
                 FROM follows f JOIN feeds s ON s.fid = f.source JOIN feeds t ON t.fid = f.target
                 WHERE s.created_by = ANY($1) AND t.created_by = $2 AND f.status = 'accepted') x
             WHERE n <= $3",
            &[&source_owners, &target_owner, &(per_owner as i64)],
        )
        .await
    }
}

#[async_trait]
impl MemberStore for PostgresStore {
    async fn write_members(
        &self,
        fid: &Fid,
        members: &[FeedMember],
        remove: &[String],
        replace: bool,
        if_updated_at: Option<&[Option<Timestamp>]>,
    ) -> Result<Option<Vec<String>>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let fid = fid.to_string();
        if let Some(versions) = if_updated_at {
            if !member_versions_hold(&tx, &fid, members, versions).await? {
                return Ok(None);
            }
        }
        let removed = write_members_tx(&tx, &fid, members, remove, replace).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(removed))
    }

    async fn get_members(&self, fid: &Fid, user_ids: &[String]) -> Result<Vec<FeedMember>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs(
            "SELECT doc::text FROM feed_members WHERE fid = $1 AND user_id = ANY($2)",
            &[&fid.to_string(), &user_ids],
        )
        .await
    }

    async fn memberships(&self, user_id: &str, fids: &[Fid]) -> Result<Vec<FeedMember>> {
        if fids.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs(
            "SELECT doc::text FROM feed_members WHERE user_id = $1 AND fid = ANY($2)",
            &[&user_id, &fid_strings(fids)],
        )
        .await
    }

    async fn query_members(&self, q: &ListQuery) -> Result<Vec<FeedMember>> {
        self.list(&sql::FEED_MEMBERS, q).await
    }
}

#[async_trait]
impl BookmarkStore for PostgresStore {
    async fn insert_bookmark(&self, bookmark: &Bookmark, new_folder: Option<&BookmarkFolder>) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        if let Some(f) = new_folder {
            insert_folder_tx(&tx, f).await?;
        }
        let inserted = insert_bookmark_tx(&tx, bookmark).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(inserted)
    }

    async fn move_bookmark(
        &self,
        from_folder: &str,
        b: &Bookmark,
        new_folder: Option<&BookmarkFolder>,
        if_updated_at: Option<Timestamp>,
    ) -> Result<Option<Bookmark>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        if let Some(at) = if_updated_at {
            let key = vec![b.user_id.clone(), b.object_type.clone(), b.object_id.clone(), from_folder.to_string()];
            if !versions_hold(&tx, sql::versions::BOOKMARK, &[(key, at)]).await? {
                return Ok(None);
            }
        }
        let rows = tx
            .query(
                "DELETE FROM bookmarks WHERE user_id = $1 AND object_type = $2 AND object_id = $3 AND folder_id = $4
                 RETURNING doc::text",
                &[&b.user_id, &b.object_type, &b.object_id, &from_folder],
            )
            .await
            .map_err(db_err)?;
        let Some(old) = docs::<Bookmark>(&rows)?.pop() else { return Ok(None) };
        if let Some(f) = new_folder {
            insert_folder_tx(&tx, f).await?;
        }
        let moved = Bookmark { created_at: old.created_at, ..b.clone() };
        // Moving onto a placement that exists merges into it.
        tx.execute(
            "DELETE FROM bookmarks WHERE user_id = $1 AND object_type = $2 AND object_id = $3 AND folder_id = $4",
            &[&moved.user_id, &moved.object_type, &moved.object_id, &moved.folder_key()],
        )
        .await
        .map_err(db_err)?;
        insert_bookmark_tx(&tx, &moved).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(moved))
    }

    async fn delete_bookmark(
        &self,
        user_id: &str,
        object_type: &str,
        object_id: &str,
        folder: &str,
    ) -> Result<Option<Bookmark>> {
        Ok(self
            .query_docs(
                "DELETE FROM bookmarks WHERE user_id = $1 AND object_type = $2 AND object_id = $3 AND folder_id = $4
                 RETURNING doc::text",
                &[&user_id, &object_type, &object_id, &folder],
            )
            .await?
            .pop())
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
        let ids = object_ids.to_vec();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT object_id, COUNT(*) FROM bookmarks WHERE object_type = $1 AND object_id = ANY($2)
                 GROUP BY object_id",
            )
            .await
            .map_err(db_err)?;
        let counts = client
            .query(&stmt, &[&object_type, &ids])
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        // On the same connection: taking a second one from the pool while
        // holding this one could starve the pool under load.
        let own = match viewer {
            Some(viewer) => {
                let stmt = client
                    .prepare_cached(
                        "SELECT doc::text FROM bookmarks WHERE object_type = $1 AND object_id = ANY($2) AND user_id = $3
                         ORDER BY created_at DESC",
                    )
                    .await
                    .map_err(db_err)?;
                docs(&client.query(&stmt, &[&object_type, &ids, &viewer]).await.map_err(db_err)?)?
            }
            None => Vec::new(),
        };
        Ok((counts, own))
    }

    async fn get_bookmark_folders(&self, ids: &[String]) -> Result<Vec<BookmarkFolder>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs("SELECT doc::text FROM bookmark_folders WHERE id = ANY($1)", &[&ids]).await
    }

    async fn put_bookmark_folder(&self, f: &BookmarkFolder, if_updated_at: Option<Timestamp>) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        if let Some(at) = if_updated_at {
            if !versions_hold(&tx, sql::versions::BOOKMARK_FOLDER, &[(vec![f.id.clone()], at)]).await? {
                return Ok(false);
            }
        }
        tx.execute(
            "UPDATE bookmark_folders SET name = $2, updated_at = $3, doc = $4::text::jsonb WHERE id = $1",
            &[&f.id, &f.name, &f.updated_at.0, &to_doc(f)?],
        )
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn delete_bookmark_folder(&self, id: &str) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        tx.execute("DELETE FROM bookmarks WHERE folder_id = $1", &[&id]).await.map_err(db_err)?;
        let n = tx.execute("DELETE FROM bookmark_folders WHERE id = $1", &[&id]).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(n > 0)
    }

    async fn query_bookmark_folders(&self, q: &ListQuery) -> Result<Vec<BookmarkFolder>> {
        self.list(&sql::BOOKMARK_FOLDERS, q).await
    }
}

#[async_trait]
impl CollectionStore for PostgresStore {
    async fn insert_collections(&self, collections: &[Collection]) -> Result<Option<String>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let insert = tx
            .prepare(
                "INSERT INTO collections (name, id, user_id, created_at, updated_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb) ON CONFLICT (name, id) DO NOTHING",
            )
            .await
            .map_err(db_err)?;
        for c in collections {
            let n = tx
                .execute(&insert, &[&c.name, &c.id, &c.user_id, &c.created_at.0, &c.updated_at.0, &to_doc(c)?])
                .await
                .map_err(db_err)?;
            if n == 0 {
                // Dropping the transaction rolls back the ones inserted so far.
                return Ok(Some(c.reference()));
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(None)
    }

    async fn upsert_collections(&self, collections: &[Collection]) -> Result<Vec<Collection>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let out = upsert_collections_tx(&tx, collections).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn get_collections(&self, refs: &[(String, String)]) -> Result<Vec<Collection>> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let (names, ids): (Vec<String>, Vec<String>) = refs.iter().cloned().unzip();
        self.query_docs(
            "SELECT c.doc::text FROM collections c JOIN unnest($1::text[], $2::text[]) AS r(name, id)
             ON c.name = r.name AND c.id = r.id",
            &[&names, &ids],
        )
        .await
    }

    async fn delete_collections(&self, refs: &[(String, String)]) -> Result<Vec<Collection>> {
        let (names, ids): (Vec<String>, Vec<String>) = refs.iter().cloned().unzip();
        self.query_docs(
            "DELETE FROM collections c USING unnest($1::text[], $2::text[]) AS r(name, id)
             WHERE c.name = r.name AND c.id = r.id RETURNING c.doc::text",
            &[&names, &ids],
        )
        .await
    }

    async fn query_collections(&self, q: &ListQuery) -> Result<Vec<Collection>> {
        self.list(&sql::COLLECTIONS, q).await
    }
}

#[async_trait]
impl PollStore for PostgresStore {
    async fn insert_poll(&self, poll: &Poll) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO polls (id, created_at, doc) VALUES ($1, $2, $3::text::jsonb) ON CONFLICT (id) DO NOTHING",
                &[&poll.id, &poll.created_at.0, &to_doc(poll)?],
            )
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    async fn put_poll(
        &self,
        poll: &Poll,
        removed_options: &[String],
        if_updated_at: Option<Timestamp>,
    ) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        if let Some(at) = if_updated_at {
            if !versions_hold(&tx, sql::versions::POLL, &[(vec![poll.id.clone()], at)]).await? {
                return Ok(false);
            }
        }
        tx.execute("UPDATE polls SET doc = $2::text::jsonb WHERE id = $1", &[&poll.id, &to_doc(poll)?])
            .await
            .map_err(db_err)?;
        tx.execute("DELETE FROM poll_votes WHERE poll_id = $1 AND option_id = ANY($2)", &[&poll.id, &removed_options])
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn get_polls(&self, ids: &[String]) -> Result<Vec<Poll>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs("SELECT doc::text FROM polls WHERE id = ANY($1)", &[&ids]).await
    }

    async fn delete_poll(&self, id: &str) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        tx.execute("DELETE FROM poll_votes WHERE poll_id = $1", &[&id]).await.map_err(db_err)?;
        let n = tx.execute("DELETE FROM polls WHERE id = $1", &[&id]).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(n > 0)
    }

    async fn query_polls(&self, q: &ListQuery) -> Result<Vec<Poll>> {
        self.list(&sql::POLLS, q).await
    }

    async fn cast_vote(&self, vote: &PollVote, exclusive: bool, max_votes: Option<i64>) -> Result<VoteOutcome> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // One (poll, user) at a time, so limits and replacements hold under
        // concurrent votes.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 2))",
            &[&vote.poll_id, &vote.user_id],
        )
        .await
        .map_err(db_err)?;
        let rows = tx
            .query(
                "SELECT doc::text FROM poll_votes WHERE poll_id = $1 AND user_id = $2 AND is_answer = $3
                 ORDER BY created_at",
                &[&vote.poll_id, &vote.user_id, &vote.is_answer],
            )
            .await
            .map_err(db_err)?;
        let existing: Vec<PollVote> = docs(&rows)?;
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
        let gone: Vec<String> = replaced.iter().map(|v| v.id.clone()).collect();
        tx.execute("DELETE FROM poll_votes WHERE id = ANY($1)", &[&gone]).await.map_err(db_err)?;
        tx.execute(
            "INSERT INTO poll_votes (id, poll_id, user_id, option_id, is_answer, created_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)",
            &[
                &vote.id,
                &vote.poll_id,
                &vote.user_id,
                &vote.option_id,
                &vote.is_answer,
                &vote.created_at.0,
                &to_doc(vote)?,
            ],
        )
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(VoteOutcome::Cast { vote: vote.clone(), replaced })
    }

    async fn delete_vote(&self, poll_id: &str, vote_id: &str, voter: Option<&str>) -> Result<Option<PollVote>> {
        Ok(self
            .query_docs(
                "DELETE FROM poll_votes WHERE poll_id = $1 AND id = $2 AND ($3::text IS NULL OR user_id = $3)
                 RETURNING doc::text",
                &[&poll_id, &vote_id, &voter],
            )
            .await?
            .pop())
    }

    async fn poll_tallies(&self, poll_ids: &[String], viewer: Option<&str>) -> Result<HashMap<String, PollTally>> {
        let mut out: HashMap<String, PollTally> = HashMap::new();
        if poll_ids.is_empty() {
            return Ok(out);
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT poll_id, option_id, is_answer, COUNT(*) FROM poll_votes WHERE poll_id = ANY($1)
                 GROUP BY poll_id, option_id, is_answer",
            )
            .await
            .map_err(db_err)?;
        for row in client.query(&stmt, &[&poll_ids]).await.map_err(db_err)? {
            let tally = out.entry(row.get(0)).or_default();
            let n: i64 = row.get(3);
            if row.get::<_, bool>(2) {
                tally.answers_count += n;
            } else {
                tally.vote_count += n;
                tally.counts_by_option.insert(row.get(1), n);
            }
        }
        let stmt = client
            .prepare_cached(
                "SELECT doc::text FROM (
                     SELECT doc, created_at, ROW_NUMBER() OVER (PARTITION BY poll_id, option_id, is_answer
                                                                ORDER BY created_at DESC, id) AS n
                     FROM poll_votes WHERE poll_id = ANY($1)) v
                 WHERE n <= $2 ORDER BY created_at DESC",
            )
            .await
            .map_err(db_err)?;
        let latest = client.query(&stmt, &[&poll_ids, &(LATEST_VOTES as i64)]).await.map_err(db_err)?;
        for v in docs::<PollVote>(&latest)? {
            let tally = out.entry(v.poll_id.clone()).or_default();
            if v.is_answer {
                tally.latest_answers.push(v);
            } else {
                tally.latest_by_option.entry(v.option_id.clone()).or_default().push(v);
            }
        }
        if let Some(viewer) = viewer {
            let stmt = client
                .prepare_cached(
                    "SELECT doc::text FROM poll_votes WHERE poll_id = ANY($1) AND user_id = $2 ORDER BY created_at DESC",
                )
                .await
                .map_err(db_err)?;
            for vote in docs::<PollVote>(&client.query(&stmt, &[&poll_ids, &viewer]).await.map_err(db_err)?)? {
                out.entry(vote.poll_id.clone()).or_default().own.push(vote);
            }
        }
        Ok(out)
    }

    async fn query_votes(&self, q: &ListQuery) -> Result<Vec<PollVote>> {
        self.list(&sql::POLL_VOTES, q).await
    }
}

#[async_trait]
impl PinStore for PostgresStore {
    async fn insert_pin(&self, pin: &Pin) -> Result<Pin> {
        let client = self.client().await?;
        let fid = pin.fid.to_string();
        client
            .execute(
                "INSERT INTO pins (fid, activity_id, created_at, doc) VALUES ($1, $2, $3, $4::text::jsonb)
                 ON CONFLICT (fid, activity_id) DO NOTHING",
                &[&fid, &pin.activity_id, &pin.created_at.0, &to_doc(pin)?],
            )
            .await
            .map_err(db_err)?;
        let row = client
            .query_one("SELECT doc::text FROM pins WHERE fid = $1 AND activity_id = $2", &[&fid, &pin.activity_id])
            .await
            .map_err(db_err)?;
        from_doc(row.get::<_, &str>(0))
    }

    async fn delete_pin(&self, fid: &Fid, activity_id: &str) -> Result<Option<Pin>> {
        Ok(self
            .query_docs(
                "DELETE FROM pins WHERE fid = $1 AND activity_id = $2 RETURNING doc::text",
                &[&fid.to_string(), &activity_id],
            )
            .await?
            .pop())
    }

    async fn query_pins(&self, q: &ListQuery) -> Result<Vec<Pin>> {
        self.list(&sql::PINS, q).await
    }
}
