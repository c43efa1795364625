//! PostgreSQL store: a deadpool connection pool over tokio-postgres. The
//! same operations as the SQLite store, one transaction each; the places
//! where concurrent writers from several processes meet are called out.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::core::comments::VoteScores;
use crate::core::error::{Error, Result};
use crate::core::model::{
    Activity, Collection, Comment, Feed, Fid, Reaction, ReactionGroup, ReactionSummary, User, LATEST_REACTIONS,
};
use crate::core::storage::{CommentStore, ExtraWrites, ListQuery, Reactable, ReactionStore};
use crate::core::time::Timestamp;
use crate::store::sql::{self, Arg, Dialect, COMMENT_POSTGRES as COMMENT_SELECT};

mod driver;

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

/// Serialises vote changes on one comment, so each recount sees the
/// reactions committed before it.
async fn lock_comment(tx: &impl GenericClient, comment_id: &str) -> Result<()> {
    let found =
        tx.query_opt("SELECT 1 FROM comments WHERE id = $1 FOR UPDATE", &[&comment_id]).await.map_err(db_err)?;
    found.map(|_| ()).ok_or_else(|| Error::not_found("comment", comment_id))
}

/// Recounts a comment's votes and reactions from its reaction rows, inside
/// the transaction that changed them, and stores the scores they give.
async fn recount_comment_votes(tx: &impl GenericClient, comment_id: &str) -> Result<()> {
    let row = tx
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE type = 'upvote'), COUNT(*) FILTER (WHERE type = 'downvote'), COUNT(*)
             FROM comment_reactions WHERE comment_id = $1",
            &[&comment_id],
        )
        .await
        .map_err(db_err)?;
    let (up, down, all): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let scores = VoteScores::of(up, down);
    tx.execute(
        "UPDATE comments SET upvote_count = $2, downvote_count = $3, reaction_count = $4, score = $5,
             confidence_score = $6, controversy_score = $7 WHERE id = $1",
        &[&comment_id, &up, &down, &all, &scores.score, &scores.confidence, &scores.controversy],
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl ReactionStore for PostgresStore {
    async fn put_reaction_with(
        &self,
        on: Reactable,
        reaction: &Reaction,
        exclusive: bool,
        extra: &ExtraWrites,
    ) -> Result<Vec<Reaction>> {
        let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
        let (object, user, kind) = (&reaction.object_id().to_string(), &reaction.user_id, &reaction.kind);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        write_extra_tx(&tx, extra).await?;
        // One (object, user) at a time: two concurrent exclusive reactions
        // must not both survive.
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 1))", &[object, user])
            .await
            .map_err(db_err)?;
        if on == Reactable::Comments {
            lock_comment(&tx, object).await?;
        }
        let mut gone: Vec<Reaction> = Vec::new();
        if exclusive {
            let rows = tx
                .query(
                    &format!(
                        "DELETE FROM {table} WHERE {key} = $1 AND user_id = $2 AND type <> $3 RETURNING doc::text"
                    ),
                    &[object, user, kind],
                )
                .await
                .map_err(db_err)?;
            gone.extend(docs::<Reaction>(&rows)?);
        }
        let old = tx
            .query(
                &format!("SELECT doc::text FROM {table} WHERE {key} = $1 AND user_id = $2 AND type = $3"),
                &[object, user, kind],
            )
            .await
            .map_err(db_err)?;
        gone.extend(docs::<Reaction>(&old)?);
        tx.execute(
            &format!(
                "INSERT INTO {table} ({key}, user_id, type, created_at, updated_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)
                 ON CONFLICT ({key}, user_id, type) DO UPDATE SET updated_at = excluded.updated_at,
                    doc = jsonb_set(excluded.doc, '{{created_at}}', to_jsonb({table}.created_at))"
            ),
            &[object, user, kind, &reaction.created_at.0, &reaction.updated_at.0, &to_doc(reaction)?],
        )
        .await
        .map_err(db_err)?;
        if on == Reactable::Comments {
            recount_comment_votes(&tx, object).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(gone)
    }

    async fn delete_reaction_with(
        &self,
        on: Reactable,
        object_id: &str,
        user_id: &str,
        kind: &str,
        extra: &ExtraWrites,
    ) -> Result<Option<Reaction>> {
        let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        write_extra_tx(&tx, extra).await?;
        if on == Reactable::Comments {
            lock_comment(&tx, object_id).await?;
        }
        let rows = tx
            .query(
                &format!("DELETE FROM {table} WHERE {key} = $1 AND user_id = $2 AND type = $3 RETURNING doc::text"),
                &[&object_id, &user_id, &kind],
            )
            .await
            .map_err(db_err)?;
        let gone = docs::<Reaction>(&rows)?.pop();
        if gone.is_some() && on == Reactable::Comments {
            recount_comment_votes(&tx, object_id).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(gone)
    }

    async fn reaction_summaries(
        &self,
        on: Reactable,
        object_ids: &[String],
        viewer: Option<&str>,
    ) -> Result<HashMap<String, ReactionSummary>> {
        let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
        let mut out: HashMap<String, ReactionSummary> = HashMap::new();
        if object_ids.is_empty() {
            return Ok(out);
        }
        let ids = object_ids.to_vec();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {key}, type, COUNT(*), MIN(created_at), MAX(created_at) FROM {table}
                 WHERE {key} = ANY($1) GROUP BY {key}, type"
            ))
            .await
            .map_err(db_err)?;
        let groups = client.query(&stmt, &[&ids]).await.map_err(db_err)?;
        for row in groups {
            out.entry(row.get(0)).or_default().groups.insert(
                row.get(1),
                ReactionGroup {
                    count: row.get(2),
                    first_reaction_at: Timestamp(row.get(3)),
                    last_reaction_at: Timestamp(row.get(4)),
                },
            );
        }
        // LATERAL: an index range per object, however many reactions it has.
        let stmt = client
            .prepare_cached(&format!(
                "SELECT r.doc::text FROM unnest($1::text[]) AS a(id) CROSS JOIN LATERAL (
                     SELECT doc FROM {table} WHERE {key} = a.id
                     ORDER BY created_at DESC, user_id, type LIMIT $2) r
                 ORDER BY r.doc->'created_at' DESC"
            ))
            .await
            .map_err(db_err)?;
        let latest = client.query(&stmt, &[&ids, &(LATEST_REACTIONS as i64)]).await.map_err(db_err)?;
        for r in docs::<Reaction>(&latest)? {
            out.entry(r.object_id().to_string()).or_default().latest.push(r);
        }
        if let Some(viewer) = viewer {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT doc::text FROM {table} WHERE {key} = ANY($1) AND user_id = $2 ORDER BY created_at DESC"
                ))
                .await
                .map_err(db_err)?;
            let own = client.query(&stmt, &[&ids, &viewer]).await.map_err(db_err)?;
            for r in docs::<Reaction>(&own)? {
                out.entry(r.object_id().to_string()).or_default().own.push(r);
            }
        }
        Ok(out)
    }

    async fn query_reactions(&self, on: Reactable, q: &ListQuery) -> Result<Vec<Reaction>> {
        self.list(sql::reaction_list_table(on), q).await
    }
}

#[async_trait]
impl CommentStore for PostgresStore {
    async fn insert_comments(
        &self,
        comments: &[Comment],
        notifications: &[Activity],
        new_feeds: &[Feed],
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        for c in comments {
            let inserted = tx
                .execute(
                    "INSERT INTO comments (id, object_type, object_id, parent_id, user_id, status, created_at,
                                           updated_at, deleted_at, doc)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb) ON CONFLICT (id) DO NOTHING",
                    &[
                        &c.id,
                        &c.object_type,
                        &c.object_id,
                        &c.parent_id,
                        &c.user_id,
                        &c.status,
                        &c.created_at.0,
                        &c.updated_at.0,
                        &c.deleted_at.map(|t| t.0),
                        &to_doc(c)?,
                    ],
                )
                .await
                .map_err(db_err)?;
            if inserted == 0 {
                return Err(Error::field("id", format!("comment {} already exists", c.id)));
            }
            if let Some(parent) = &c.parent_id {
                tx.execute("UPDATE comments SET reply_count = reply_count + 1 WHERE id = $1", &[parent])
                    .await
                    .map_err(db_err)?;
            }
        }
        for feed in new_feeds {
            insert_feed_tx(&tx, feed).await?;
        }
        for n in notifications {
            save_activity_tx(&tx, n).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_comments(&self, ids: &[String]) -> Result<Vec<Comment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs(&format!("SELECT {COMMENT_SELECT} FROM comments t WHERE t.id = ANY($1)"), &[&ids]).await
    }

    async fn put_comment_with(
        &self,
        c: &Comment,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        if let Some(at) = if_updated_at {
            if !versions_hold(&tx, sql::versions::COMMENT, &[(vec![c.id.clone()], at)]).await? {
                return Ok(false);
            }
        }
        write_extra_tx(&tx, extra).await?;
        tx.execute(
            "UPDATE comments SET status = $2, updated_at = $3, deleted_at = $4, doc = $5::text::jsonb WHERE id = $1",
            &[&c.id, &c.status, &c.updated_at.0, &c.deleted_at.map(|t| t.0), &to_doc(c)?],
        )
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn purge_comment_with(&self, id: &str, extra: &ExtraWrites) -> Result<Vec<String>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let Some(row) =
            tx.query_opt("SELECT parent_id FROM comments WHERE id = $1 FOR UPDATE", &[&id]).await.map_err(db_err)?
        else {
            return Ok(Vec::new());
        };
        write_extra_tx(&tx, extra).await?;
        let parent: Option<String> = row.get(0);
        let thread: Vec<String> = tx
            .query(
                "WITH RECURSIVE thread(id) AS (SELECT $1::text UNION ALL
                     SELECT c.id FROM comments c JOIN thread ON c.parent_id = thread.id)
                 SELECT id FROM thread",
                &[&id],
            )
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.execute("DELETE FROM comment_reactions WHERE comment_id = ANY($1)", &[&thread]).await.map_err(db_err)?;
        tx.execute("DELETE FROM comments WHERE id = ANY($1)", &[&thread]).await.map_err(db_err)?;
        if let Some(parent) = parent {
            tx.execute("UPDATE comments SET reply_count = reply_count - 1 WHERE id = $1", &[&parent])
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(thread)
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
        let (text, params) = sql::replies_query(Dialect::Postgres, parents, sort, each)?;
        let bound = Sql { text, params: pg_params(params) };
        let client = self.client().await?;
        let rows = client.query(&bound.text, &bound.refs()).await.map_err(db_err)?;
        docs(&rows)
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
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT object_id, COUNT(*) FROM comments WHERE object_type = 'activity' AND object_id = ANY($1)
                 AND deleted_at IS NULL GROUP BY object_id",
            )
            .await
            .map_err(db_err)?;
        let counts = client.query(&stmt, &[&ids]).await.map_err(db_err)?.iter().map(|r| (r.get(0), r.get(1))).collect();
        let stmt = client
            .prepare_cached(&format!(
                "SELECT c.doc FROM unnest($1::text[]) AS a(id) CROSS JOIN LATERAL (
                     SELECT {COMMENT_SELECT} AS doc, t.created_at FROM comments t
                     WHERE t.object_type = 'activity' AND t.object_id = a.id AND t.parent_id IS NULL
                       AND t.deleted_at IS NULL
                     ORDER BY t.created_at DESC, t.id DESC LIMIT $2) c
                 ORDER BY c.created_at DESC"
            ))
            .await
            .map_err(db_err)?;
        let newest = client.query(&stmt, &[&ids, &(latest as i64)]).await.map_err(db_err)?;
        Ok((counts, docs(&newest)?))
    }
}
