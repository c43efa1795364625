use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;

use crate::args;
use crate::core::error::{Error, Result};
use crate::core::filter::Filter;
use crate::core::model::{Activity, Feed, Feedback, Fid, MetricEvent, METRIC_EVENTS_PER_WINDOW, METRIC_WINDOW_SECONDS};
use crate::core::storage::{
    ActivityQuery, ActivityScan, ActivityStore, Engagement, ExtraWrites, FeedPosition, FeedSlice, Projection,
    RankColumns, RankFields, Reader, UsageMetric,
};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Dialect, Row, Tx};
use crate::store::{dialect, sql};

use super::{aggregation, fanout};

/// Writes one activity and keeps its feed entries in step with its feed
/// list. Only the difference is applied on update, so entries that exist
/// for other reasons (history kept on unfollow, the copy limit of a follow)
/// are left as they are. Follower feeds get the entry through
/// `fanout::fan_out`, in the background for feeds with many followers.
/// Returns the stored `created_at`: an activity that
/// exists keeps its own.
pub(crate) async fn save_activity(tx: &mut dyn Tx, a: &Activity) -> Result<Timestamp> {
    Ok(write_activity(tx, a).await?.0)
}

/// `save_activity`, also saying whether the activity is new.
async fn write_activity(tx: &mut dyn Tx, a: &Activity) -> Result<(Timestamp, bool)> {
    dialect::lock_activity_id(tx, &a.id).await?;
    let old: Option<Activity> = tx.doc("SELECT doc FROM activities WHERE id = $1", args![&a.id]).await?;
    check_parent(tx, a, old.as_ref()).await?;
    let old_feeds = old.as_ref().map(|o| o.feeds.clone()).unwrap_or_default();
    let added: Vec<String> = a.feeds.iter().filter(|f| !old_feeds.contains(f)).map(Fid::to_string).collect();
    let removed: Vec<String> = old_feeds.iter().filter(|f| !a.feeds.contains(f)).map(Fid::to_string).collect();
    if !removed.is_empty() {
        // Before the activity row is locked (`fanout` lock order).
        fanout::cancel_jobs(tx, std::slice::from_ref(&a.id), Some(&removed)).await?;
    }
    let created_at = old.as_ref().map_or(a.created_at, |o| o.created_at);
    let doc = if created_at == a.created_at { Arg::doc(a)? } else { Arg::doc(&Activity { created_at, ..a.clone() })? };
    let seq = tx
        .int(
            "INSERT INTO activities (id, user_id, created_at, deleted_at, expires_at, doc, parent_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, deleted_at = excluded.deleted_at,
                expires_at = excluded.expires_at, doc = excluded.doc
             RETURNING seq",
            args![&a.id, &a.user_id, a.created_at, a.deleted_at, a.expires_at, doc, &a.parent_id],
        )
        .await?;
    let (visible_until, private_to) = (a.visible_until(), a.private_to());
    if old.as_ref().is_some_and(|o| o.visible_until() != visible_until || o.private_to() != private_to) {
        tx.exec(
            "UPDATE feed_entries SET visible_until = $2, private_to = $3 WHERE activity_seq = $1",
            args![seq, visible_until, private_to],
        )
        .await?;
    }
    if !added.is_empty() {
        tx.exec(
            "INSERT INTO feed_entries (feed_seq, created_at, activity_seq, direct, visible_until, private_to)
             SELECT seq, $2, $3, TRUE, $4, $5 FROM feeds WHERE fid = ANY($1)
             ON CONFLICT (feed_seq, created_at, activity_seq) DO UPDATE SET direct = TRUE",
            args![&added, created_at, seq, visible_until, private_to],
        )
        .await?;
        let groupings = aggregation::groupings(tx).await?;
        aggregation::join_feeds(tx, &groupings, a, created_at, &added).await?;
        fanout::fan_out(tx, a, seq, created_at, &added, &groupings).await?;
    }
    let is_new = old.is_none();
    if !removed.is_empty() {
        // The activity leaves feeds: drop it there and in the follower
        // feeds that received it only through them.
        let remaining: Vec<String> = a.feeds.iter().map(Fid::to_string).collect();
        aggregation::leave(tx, std::slice::from_ref(&a.id), Some(&removed)).await?;
        aggregation::leave_followers(tx, &a.id, &removed, &remaining).await?;
        tx.exec(
            "DELETE FROM feed_entries WHERE activity_seq = $2 AND feed_seq IN (SELECT seq FROM feeds WHERE fid = ANY($1))",
            args![&removed, seq],
        )
        .await?;
        tx.exec(
            "DELETE FROM feed_entries WHERE activity_seq = $1 AND NOT direct
               AND feed_seq IN (SELECT s.seq FROM follows f JOIN feeds s ON s.fid = f.source WHERE f.target = ANY($2))
               AND NOT EXISTS (SELECT 1 FROM follows f JOIN feeds s ON s.fid = f.source
                               WHERE s.seq = feed_entries.feed_seq AND f.status = 'accepted' AND f.target = ANY($3))",
            args![seq, removed, remaining],
        )
        .await?;
    }
    Ok((created_at, is_new))
}

/// A new reply or share needs a live parent, checked where it is written so
/// a parent deleted meanwhile cannot be missed.
async fn check_parent(tx: &mut dyn Tx, a: &Activity, old: Option<&Activity>) -> Result<()> {
    let Some(parent) = a.parent_id.as_ref().filter(|p| old.is_none_or(|o| o.parent_id.as_ref() != Some(*p))) else {
        return Ok(());
    };
    if tx.row(sql::LIVE_ACTIVITY, args![parent]).await?.is_none() {
        return Err(Error::field("parent_id", format!("parent activity {parent} does not exist")));
    }
    Ok(())
}

/// Removes the activities with everything that hangs off them; returns the
/// ids that existed.
pub(crate) async fn purge_activities(tx: &mut dyn Tx, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // First: a fan-out batch running for one of them finishes before its
    // entries are deleted, and no later batch copies them again.
    fanout::cancel_jobs(tx, ids, None).await?;
    aggregation::leave(tx, ids, None).await?;
    for statement in [
        "DELETE FROM feed_entries WHERE activity_seq IN (SELECT seq FROM activities WHERE id = ANY($1))",
        "DELETE FROM reactions WHERE activity_id = ANY($1)",
        "DELETE FROM pins WHERE activity_id = ANY($1)",
        "DELETE FROM activity_feedback WHERE activity_id = ANY($1)",
        "DELETE FROM story_watches WHERE activity_id = ANY($1)",
        "DELETE FROM notification_windows WHERE activity_id = ANY($1)",
        "DELETE FROM activity_metrics WHERE activity_id = ANY($1)",
        "DELETE FROM metric_quota WHERE activity_id = ANY($1)",
        "DELETE FROM comment_reactions WHERE comment_id IN
             (SELECT id FROM comments WHERE object_type = 'activity' AND object_id = ANY($1))",
        "DELETE FROM comments WHERE object_type = 'activity' AND object_id = ANY($1)",
        "DELETE FROM bookmarks WHERE activity_id = ANY($1)",
    ] {
        tx.exec(statement, args![ids]).await?;
    }
    tx.texts("DELETE FROM activities WHERE id = ANY($1) RETURNING id", args![ids]).await
}

/// Sets (or clears) `deleted_at` on the activities of `ids` that exist and
/// hides (shows) their feed entries; returns each changed id once, in the
/// order `ids` first names it. The entries' `visible_until` is the one
/// `Activity::visible_until` gives, bound as a value, as `save_activity`
/// writes it.
async fn set_deleted(tx: &mut dyn Tx, ids: &[String], deleted_at: Option<Timestamp>) -> Result<Vec<String>> {
    let mut keys = ids.to_vec();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // Read-modify-write of the documents: on PostgreSQL the rows stay
    // locked from this read until commit, taken in id order.
    let select = dialect::for_update(tx.dialect(), "SELECT doc FROM activities WHERE id = ANY($1) ORDER BY id");
    let found: Vec<Activity> = tx.docs(&select, args![keys]).await?;
    let mut by_visibility: BTreeMap<Option<i64>, Vec<String>> = BTreeMap::new();
    for mut a in found {
        a.deleted_at = deleted_at;
        tx.exec(
            "UPDATE activities SET deleted_at = $2, doc = $3 WHERE id = $1",
            args![&a.id, deleted_at, Arg::doc(&a)?],
        )
        .await?;
        by_visibility.entry(a.visible_until()).or_default().push(a.id);
    }
    // One statement per distinct visibility: a delete hides all at once.
    for (visible_until, changed) in &by_visibility {
        tx.exec(
            "UPDATE feed_entries SET visible_until = $2
             WHERE activity_seq IN (SELECT seq FROM activities WHERE id = ANY($1))",
            args![changed, *visible_until],
        )
        .await?;
    }
    let recounted: Vec<String> = by_visibility.values().flatten().cloned().collect();
    aggregation::recount_activities(tx, &recounted).await?;
    let changed: HashSet<&str> = by_visibility.values().flatten().map(String::as_str).collect();
    let mut seen = HashSet::new();
    Ok(ids.iter().filter(|id| changed.contains(id.as_str()) && seen.insert(id.as_str())).cloned().collect())
}

/// Counts one event against its user's quota for the (activity, metric) in
/// the window starting at `$4`, binding `user_id, activity_id, metric,
/// window_start, |delta|`; returns whether it was within the quota. Every
/// right-hand side reads the old row, so check and increment are one atomic
/// statement; on PostgreSQL the quota row is the lock, so concurrent events
/// of one user on one (activity, metric) count one after the other.
fn metric_quota_sql() -> String {
    format!(
        "INSERT INTO metric_quota AS q (user_id, activity_id, metric, window_start, used, last_allowed)
         VALUES ($1, $2, $3, $4, CASE WHEN CAST($5 AS BIGINT) <= {limit} THEN CAST($5 AS BIGINT) ELSE 0 END,
                 CAST($5 AS BIGINT) <= {limit})
         ON CONFLICT (user_id, activity_id, metric) DO UPDATE SET
            last_allowed = (CASE WHEN q.window_start = $4 THEN q.used ELSE 0 END) + CAST($5 AS BIGINT) <= {limit},
            used = (CASE WHEN q.window_start = $4 THEN q.used ELSE 0 END)
                + (CASE WHEN (CASE WHEN q.window_start = $4 THEN q.used ELSE 0 END) + CAST($5 AS BIGINT) <= {limit}
                        THEN CAST($5 AS BIGINT) ELSE 0 END),
            window_start = $4
         RETURNING last_allowed",
        limit = METRIC_EVENTS_PER_WINDOW
    )
}

#[async_trait]
impl<D: Db> ActivityStore for D {
    async fn save_activities_with(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<Vec<Timestamp>> {
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, extra).await?;
        for feed in new_feeds {
            super::insert_feed(&mut *tx, feed).await?;
        }
        let mut created = Vec::with_capacity(activities.len());
        let mut new = 0;
        for a in activities {
            let (created_at, is_new) = write_activity(&mut *tx, a).await?;
            created.push(created_at);
            new += i64::from(is_new);
        }
        super::usage::count(&mut *tx, UsageMetric::Activities, new).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn save_activities_if_with(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        if_updated_at: &[(String, Timestamp)],
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let expected: Vec<_> = if_updated_at.iter().map(|(id, at)| (vec![id.clone()], *at)).collect();
        if !super::versions_hold(&mut *tx, sql::versions::ACTIVITY, &expected).await? {
            return Ok(false);
        }
        super::write_extra(&mut *tx, extra).await?;
        for feed in new_feeds {
            super::insert_feed(&mut *tx, feed).await?;
        }
        let mut new = 0;
        for a in activities {
            new += i64::from(write_activity(&mut *tx, a).await?.1);
        }
        super::usage::count(&mut *tx, UsageMetric::Activities, new).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn get_activities(&self, ids: &[String]) -> Result<Vec<Activity>> {
        super::docs_by_key(self, "activities", "id", ids).await
    }

    async fn set_activities_deleted_with(
        &self,
        ids: &[String],
        deleted_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<Vec<String>> {
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, extra).await?;
        let changed = set_deleted(&mut *tx, ids, deleted_at).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn query_activities(&self, query: &ActivityQuery) -> Result<ActivityScan> {
        let (rows, scanned_to) = query_rows(self, query, Projection::Documents).await?;
        let activities = rows.iter().map(|r| r.doc(0)).collect::<Result<_>>()?;
        Ok(ActivityScan { activities, scanned_to })
    }

    async fn query_rank_fields(&self, query: &ActivityQuery, columns: RankColumns) -> Result<Vec<RankFields>> {
        let (rows, _) = query_rows(self, query, Projection::RankFields(columns)).await?;
        rows.iter().map(|r| sql::rank_fields(r, 0)).collect()
    }

    async fn purge_activities_with(&self, ids: &[String], extra: &ExtraWrites) -> Result<Vec<String>> {
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, extra).await?;
        let purged = purge_activities(&mut *tx, ids).await?;
        tx.commit().await?;
        Ok(purged)
    }

    async fn feed_activities(
        &self,
        fid: &Fid,
        slice: &FeedSlice,
        limit: usize,
        now: Timestamp,
        reader: &Reader,
        filter: Option<&Filter>,
    ) -> Result<Vec<Activity>> {
        let page = feed_rows(self, (fid, slice, limit, now), reader, filter, Projection::Documents).await?;
        page.iter().map(|r| r.doc(2)).collect()
    }

    async fn feed_rank_fields(
        &self,
        fid: &Fid,
        limit: usize,
        now: Timestamp,
        reader: &Reader,
        filter: Option<&Filter>,
        columns: RankColumns,
    ) -> Result<Vec<RankFields>> {
        let start = (fid, &FeedSlice::Start, limit, now);
        let page = feed_rows(self, start, reader, filter, Projection::RankFields(columns)).await?;
        page.iter().map(|r| sql::rank_fields(r, 2)).collect()
    }

    async fn activity_shares(&self, parent_id: &str, limit: usize, offset: usize) -> Result<Vec<Activity>> {
        let shares = format!(
            "SELECT doc FROM activities WHERE parent_id = $1 AND deleted_at IS NULL
             ORDER BY created_at DESC, id DESC LIMIT {} OFFSET $2",
            sql::limit(limit)
        );
        self.read().await?.docs(&shares, args![parent_id, offset]).await
    }

    async fn share_counts(&self, activity_ids: &[String]) -> Result<HashMap<String, i64>> {
        if activity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .read()
            .await?
            .rows(
                "SELECT parent_id, COUNT(*) FROM activities WHERE parent_id = ANY($1) AND deleted_at IS NULL
                 GROUP BY parent_id",
                args![activity_ids],
            )
            .await?;
        rows.iter().map(|r| Ok((r.text(0)?, r.int(1)?))).collect()
    }

    async fn popularity(&self, activity_ids: &[String]) -> Result<HashMap<String, i64>> {
        if activity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .read()
            .await?
            .rows("SELECT id, popularity FROM activities WHERE id = ANY($1)", args![activity_ids])
            .await?;
        rows.iter().map(|r| Ok((r.text(0)?, r.int(1)?))).collect()
    }

    async fn engagements(&self, user_id: &str, limit: usize) -> Result<Vec<Engagement>> {
        // The user's latest reactions and comments through their
        // `(user_id, created_at)` indexes, each joined to its activity.
        let rows = self
            .read()
            .await?
            .rows(
                &format!(
                    "SELECT e.activity_id, e.at, a.doc FROM (
                        SELECT activity_id, at FROM (
                            SELECT activity_id, created_at AS at FROM reactions WHERE user_id = $1
                            ORDER BY created_at DESC LIMIT {limit}) r
                        UNION ALL
                        SELECT activity_id, at FROM (
                            SELECT object_id AS activity_id, created_at AS at FROM comments
                            WHERE user_id = $1 AND object_type = 'activity' AND deleted_at IS NULL
                            ORDER BY created_at DESC LIMIT {limit}) c
                     ) e JOIN activities a ON a.id = e.activity_id
                     WHERE a.deleted_at IS NULL",
                    limit = sql::limit(limit)
                ),
                args![user_id],
            )
            .await?;
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            interest_tags: Vec<String>,
        }
        rows.iter()
            .map(|r| {
                let tags: Tags = r.doc(2)?;
                Ok(Engagement { activity_id: r.text(0)?, at: Timestamp(r.int(1)?), interest_tags: tags.interest_tags })
            })
            .collect()
    }

    async fn set_feedback_with(
        &self,
        user_id: &str,
        activity_id: &str,
        feedback: &Feedback,
        now: Timestamp,
        extra: &ExtraWrites,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, extra).await?;
        tx.exec(
            "INSERT INTO activity_feedback AS f (user_id, activity_id, hide, show_more, show_less, updated_at)
             VALUES ($1, $2, COALESCE($3, FALSE), COALESCE($4, FALSE), COALESCE($5, FALSE), $6)
             ON CONFLICT (user_id, activity_id) DO UPDATE SET
                hide = COALESCE($3, f.hide), show_more = COALESCE($4, f.show_more),
                show_less = COALESCE($5, f.show_less), updated_at = $6",
            args![user_id, activity_id, feedback.hide, feedback.show_more, feedback.show_less, now],
        )
        .await?;
        tx.commit().await
    }

    async fn hidden_activities(&self, user_id: &str, activity_ids: &[String]) -> Result<HashSet<String>> {
        if activity_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let hidden = self
            .read()
            .await?
            .texts(
                "SELECT activity_id FROM activity_feedback WHERE user_id = $1 AND hide = TRUE AND activity_id = ANY($2)",
                args![user_id, activity_ids],
            )
            .await?;
        Ok(hidden.into_iter().collect())
    }

    async fn add_metrics(&self, events: &[MetricEvent], now: Timestamp) -> Result<Vec<bool>> {
        let window_start = now.0 - now.0.rem_euclid(METRIC_WINDOW_SECONDS * 1_000_000_000);
        let mut tx = self.write().await?;
        let quota = &metric_quota_sql();
        let mut allowed = Vec::with_capacity(events.len());
        for e in events {
            let args = args![&e.user_id, &e.activity_id, &e.metric, window_start, e.delta.saturating_abs()];
            let row = tx.row(quota, args).await?.ok_or_else(|| Error::internal("metric quota: no row returned"))?;
            let ok = row.bool(0)?;
            if ok {
                tx.exec(
                    "INSERT INTO activity_metrics AS m (activity_id, metric, value) VALUES ($1, $2, $3)
                     ON CONFLICT (activity_id, metric) DO UPDATE SET value = m.value + $3",
                    args![&e.activity_id, &e.metric, e.delta],
                )
                .await?;
            }
            allowed.push(ok);
        }
        tx.commit().await?;
        Ok(allowed)
    }

    async fn activity_metrics(&self, activity_ids: &[String]) -> Result<HashMap<String, BTreeMap<String, i64>>> {
        if activity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .read()
            .await?
            .rows(
                "SELECT activity_id, metric, value FROM activity_metrics WHERE activity_id = ANY($1)",
                args![activity_ids],
            )
            .await?;
        let mut out: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
        for r in &rows {
            out.entry(r.text(0)?).or_default().insert(r.text(1)?, r.int(2)?);
        }
        Ok(out)
    }

    async fn windowed_notification(&self, key: &str, at: Timestamp) -> Result<Option<(String, Timestamp)>> {
        let rows = self
            .read()
            .await?
            .rows(
                "SELECT activity_id, recorded_at FROM notification_windows
                 WHERE dedup_key = $1 AND recorded_at <= $2 ORDER BY recorded_at DESC LIMIT 1",
                args![key, at],
            )
            .await?;
        rows.first().map(|r| Ok((r.text(0)?, Timestamp(r.int(1)?)))).transpose()
    }
}

/// The keys of the only activities a filter's top-level `near` or
/// `within_bounds` condition can match, when the location index narrows it
/// to at most `sql::LOCATION_CANDIDATES`; `None` when the filter has no
/// such condition or the box holds more located activities.
async fn location_candidates(read: &mut dyn Tx, dialect: Dialect, filter: &Filter) -> Result<Option<Vec<i64>>> {
    let Some(geo) = sql::GeoBox::of(filter) else { return Ok(None) };
    let (statement, args) = sql::location_candidates(dialect, &geo);
    let keys = read.rows(&statement, &args).await?.iter().map(|r| r.int(0)).collect::<Result<Vec<_>>>()?;
    Ok((keys.len() <= sql::LOCATION_CANDIDATES).then_some(keys))
}

/// The keys of the only activities a filter's text search can match, when
/// the trigram index narrows it to at most `sql::TEXT_CANDIDATES`; `None`
/// when the filter has no indexable search, the search is too common to
/// narrow, or (PostgreSQL) the index is missing.
async fn text_candidates(read: &mut dyn Tx, dialect: Dialect, filter: &Filter) -> Result<Option<Vec<i64>>> {
    let words = sql::indexed_search_words(filter);
    if words.is_empty() {
        return Ok(None);
    }
    let (statement, args) = dialect::text_candidates(dialect, &words, sql::TEXT_CANDIDATES + 1);
    // PostgreSQL's statement has one parameter per word, so it is not cached.
    let rows = match dialect {
        Dialect::Sqlite => read.rows(&statement, &args).await?,
        Dialect::Postgres => read.rows_once(&statement, &args).await?,
    };
    let keys = rows.iter().map(|r| r.int(0)).collect::<Result<Vec<_>>>()?;
    Ok((keys.len() <= sql::TEXT_CANDIDATES && !keys.contains(&-1)).then_some(keys))
}

/// The rows of an activity query in `projection`, and where a budgeted scan
/// stopped.
async fn query_rows<D: Db>(
    db: &D,
    query: &ActivityQuery,
    projection: Projection,
) -> Result<(Vec<Row>, Option<FeedPosition>)> {
    let mut read = db.read().await?;
    // A budgeted scan first finds, from the index alone, the last
    // activity it may examine and whether any lie beyond it.
    let candidates = text_candidates(&mut *read, db.dialect(), &query.filter).await?;
    let candidates = match location_candidates(&mut *read, db.dialect(), &query.filter).await? {
        // Both narrow: only keys both lists hold can match.
        Some(located) => Some(match candidates {
            Some(text) => {
                let located: HashSet<i64> = located.into_iter().collect();
                text.into_iter().filter(|k| located.contains(k)).collect()
            }
            None => located,
        }),
        None => candidates,
    };
    let candidates = candidates.as_deref();
    let (mut end, mut scanned_to) = (None, None);
    if let Some((sql, args)) = sql::activity_scan_end(db.dialect(), query, candidates)? {
        let rows = read.rows(&sql, &args).await?;
        let at = |r: &Row| -> Result<FeedPosition> {
            Ok(FeedPosition { created_at: Timestamp(r.int(0)?), activity_id: r.text(1)? })
        };
        end = rows.first().map(at).transpose()?;
        scanned_to = end.clone().filter(|_| rows.len() > 1);
    }
    let (sql, args) = sql::activity_query(db.dialect(), query, end.as_ref(), candidates, projection)?;
    // Filters vary without bound, so their statements are not cached.
    Ok((read.rows_once(&sql, &args).await?, scanned_to))
}

/// The rows of one feed page in `projection` (`sql::feed_page`), in page
/// order: `created_at, activity_seq`, then the projection's columns.
async fn feed_rows<D: Db>(
    db: &D,
    (fid, slice, limit, now): (&Fid, &FeedSlice, usize, Timestamp),
    reader: &Reader,
    filter: Option<&Filter>,
    projection: Projection,
) -> Result<Vec<Row>> {
    let (sql, args) = sql::feed_page(db.dialect(), fid, slice, limit, now, reader, filter, projection)?;
    let mut read = db.read().await?;
    // The unfiltered read is the hot path: its few shapes are cached.
    let mut rows = if filter.is_none() { read.rows(&sql, &args).await? } else { read.rows_once(&sql, &args).await? };
    // The statement returns its rows in no order.
    let mut keyed = rows.drain(..).map(|r| Ok(((r.int(0)?, r.int(1)?), r))).collect::<Result<Vec<_>>>()?;
    match slice {
        FeedSlice::Newer(_) => keyed.sort_unstable_by_key(|(key, _)| *key),
        FeedSlice::Start | FeedSlice::Older(_) => keyed.sort_unstable_by_key(|(key, _)| std::cmp::Reverse(*key)),
    }
    Ok(keyed.into_iter().map(|(_, row)| row).collect())
}
