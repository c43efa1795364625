use async_trait::async_trait;

use crate::args;
use crate::core::error::{Error, Result};
use crate::core::events::Item;
use crate::core::follows::DEFAULT_COPY_LIMIT;
use crate::core::model::{Activity, Feed, Fid, Follow, FOLLOW_ACCEPTED};
use crate::core::storage::{ExtraWrites, FollowStore, ListQuery, Reader, UsageMetric};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Tx};
use crate::store::{dialect, sql};

/// Moves the follower count of `target` and the following count of
/// `source` by `delta` (an accepted follow appearing or going away).
pub(crate) async fn count_follow(tx: &mut dyn Tx, source: &str, target: &str, delta: i64) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let following = "UPDATE feeds SET following_count = following_count + $2 WHERE fid = $1";
    let followers = "UPDATE feeds SET follower_count = follower_count + $2 WHERE fid = $1";
    // Rows in fid order, as every transaction locks them (`dialect::lock_feeds`).
    let mut updates = [(source, following), (target, followers)];
    updates.sort();
    for (fid, sql) in updates {
        tx.exec(sql, args![fid, delta]).await?;
    }
    Ok(())
}

/// Copies up to the follow's `activity_copy_limit` of the target's newest
/// own activities into the source feed.
pub(crate) async fn backfill(tx: &mut dyn Tx, follow: &Follow) -> Result<()> {
    let limit = follow.activity_copy_limit.unwrap_or(DEFAULT_COPY_LIMIT);
    if limit == 0 {
        return Ok(());
    }
    let copy = format!(
        "INSERT INTO feed_entries (feed_seq, created_at, activity_seq, direct, visible_until, private_to)
         SELECT (SELECT seq FROM feeds WHERE fid = $1), created_at, activity_seq, FALSE, visible_until, private_to
         FROM feed_entries WHERE feed_seq = (SELECT seq FROM feeds WHERE fid = $2) AND direct
         ORDER BY created_at DESC, activity_seq DESC LIMIT {}
         ON CONFLICT DO NOTHING",
        sql::limit(limit)
    );
    let started = std::time::Instant::now();
    let copied = tx.exec(&copy, args![follow.source.to_string(), follow.target.to_string()]).await?;
    crate::metrics::fanout("backfill", copied, started);
    super::aggregation::join_backfill(tx, &follow.source.to_string(), &follow.target.to_string(), limit).await
}

/// Removes from `source` the activities that reached it only through its
/// follow of `target`: what still reaches it directly or through another
/// accepted follow stays.
const UNFOLLOW_HISTORY: &str = "DELETE FROM feed_entries WHERE feed_seq = (SELECT seq FROM feeds WHERE fid = $1)
       AND NOT direct
       AND activity_seq IN (SELECT activity_seq FROM feed_entries
                            WHERE feed_seq = (SELECT seq FROM feeds WHERE fid = $2) AND direct)
       AND NOT EXISTS (
           SELECT 1 FROM feed_entries e JOIN feeds t ON t.seq = e.feed_seq JOIN follows f ON f.target = t.fid
           WHERE e.activity_seq = feed_entries.activity_seq AND e.direct
             AND f.source = $1 AND f.status = 'accepted')";

#[async_trait]
impl<D: Db> FollowStore for D {
    async fn followers_among(&self, targets: &[Fid], sources: &[Fid]) -> Result<Vec<(Fid, Fid)>> {
        if targets.is_empty() || sources.is_empty() {
            return Ok(Vec::new());
        }
        let targets: Vec<String> = targets.iter().map(Fid::to_string).collect();
        let sources: Vec<String> = sources.iter().map(Fid::to_string).collect();
        let rows = self
            .read()
            .await?
            .rows(
                "SELECT target, source FROM follows WHERE source = ANY($1) AND target = ANY($2) AND status = 'accepted'",
                args![sources, targets],
            )
            .await?;
        rows.iter().map(|r| Ok((Fid::parse(r.str(0)?)?, Fid::parse(r.str(1)?)?))).collect()
    }

    async fn push_followers(
        &self,
        target: &Fid,
        among: &[Fid],
        after: Option<&Fid>,
        limit: usize,
    ) -> Result<Vec<(Fid, String)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let among: Vec<String> = among.iter().chain([target]).map(Fid::to_string).collect();
        let after = after.map(Fid::to_string).unwrap_or_default();
        let mut read = self.read().await?;
        let dialect = read.dialect();
        let (all_f, all_g) = (dialect::follow_pushes_all(dialect, "f"), dialect::follow_pushes_all(dialect, "g"));
        let follows = dialect::follows_pushing_all(dialect, "f");
        // One target, so the partial index hands the rows over in source
        // order. An owner of several such follows is pushed at the least
        // (source, target) of them only, found from the owner's own feeds,
        // so no page remembers earlier ones.
        let sql = format!(
            "SELECT f.source, o.created_by FROM {follows} JOIN feeds o ON o.fid = f.source
             WHERE f.target = $1 AND f.status = 'accepted' AND {all_f} AND f.source > $2
               AND NOT EXISTS (SELECT 1 FROM feeds e WHERE e.created_by = o.created_by AND e.fid <= f.source
                   AND EXISTS (SELECT 1 FROM follows g WHERE g.source = e.fid AND g.target = ANY($3)
                                 AND (e.fid < f.source OR g.target < f.target)
                                 AND g.status = 'accepted' AND {all_g}))
             ORDER BY f.source LIMIT {}",
            sql::limit(limit)
        );
        let rows = read.rows(&sql, args![target.to_string(), after, &among]).await?;
        rows.iter().map(|r| Ok((Fid::parse(r.str(0)?)?, r.text(1)?))).collect()
    }

    async fn insert_follows_with(
        &self,
        follows: &[(Follow, Option<Activity>)],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<Vec<bool>> {
        let mut tx = self.write().await?;
        super::write_extra_but_each(&mut *tx, extra).await?;
        let mut new_feeds: Vec<&Feed> = new_feeds.iter().collect();
        new_feeds.sort_by(|a, b| a.fid.cmp(&b.fid));
        for feed in new_feeds {
            super::insert_feed(&mut *tx, feed).await?;
        }
        // Every feed whose counters move, locked in fid order up front:
        // mutual follows inserted concurrently never wait on each other.
        let counted: Vec<String> = follows
            .iter()
            .filter(|(f, _)| f.status == FOLLOW_ACCEPTED)
            .flat_map(|(f, _)| [f.source.to_string(), f.target.to_string()])
            .collect();
        dialect::lock_feeds(&mut *tx, &counted).await?;
        let mut inserted = Vec::with_capacity(follows.len());
        for (follow, notification) in follows {
            let (source, target) = (follow.source.to_string(), follow.target.to_string());
            let n = tx
                .exec(
                    "INSERT INTO follows (source, target, status, created_at, updated_at, doc)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, target) DO NOTHING",
                    args![&source, &target, &follow.status, follow.created_at, follow.updated_at, Arg::doc(follow)?],
                )
                .await?;
            if n > 0 {
                if follow.status == FOLLOW_ACCEPTED {
                    count_follow(&mut *tx, &source, &target, 1).await?;
                    backfill(&mut *tx, follow).await?;
                }
                if let Some(notification) = notification {
                    super::save_notification(&mut *tx, notification, extra).await?;
                }
                super::record_each(&mut *tx, extra, Item::Follow(follow)).await?;
            }
            inserted.push(n > 0);
        }
        let new = inserted.iter().filter(|i| **i).count() as i64;
        super::usage::count(&mut *tx, UsageMetric::Follows, new).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn update_follow_with(
        &self,
        follow: &Follow,
        backfill: bool,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let (source, target) = (follow.source.to_string(), follow.target.to_string());
        let mut tx = self.write().await?;
        if let Some(at) = if_updated_at {
            let expected = [(vec![source.clone(), target.clone()], at)];
            if !super::versions_hold(&mut *tx, sql::versions::FOLLOW, &expected).await? {
                return Ok(false);
            }
        }
        // The row lock orders concurrent changes of one follow, so each
        // moves the counts from the status the previous one left.
        let select = dialect::for_update(tx.dialect(), "SELECT status FROM follows WHERE source = $1 AND target = $2");
        let Some(before) = tx.row(&select, args![&source, &target]).await? else {
            return Ok(false);
        };
        let before = before.text(0)?;
        super::write_extra(&mut *tx, extra).await?;
        tx.exec(
            "UPDATE follows SET status = $3, updated_at = $4, doc = $5 WHERE source = $1 AND target = $2",
            args![&source, &target, &follow.status, follow.updated_at, Arg::doc(follow)?],
        )
        .await?;
        let delta = i64::from(follow.status == FOLLOW_ACCEPTED) - i64::from(before == FOLLOW_ACCEPTED);
        count_follow(&mut *tx, &source, &target, delta).await?;
        if backfill {
            self::backfill(&mut *tx, follow).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_follows_with(
        &self,
        pairs: &[(Fid, Fid, bool)],
        require_all: bool,
        extra: &ExtraWrites,
    ) -> Result<Vec<Follow>> {
        let mut tx = self.write().await?;
        super::write_extra_but_each(&mut *tx, extra).await?;
        // Several follows: their feeds locked in fid order up front (one
        // follow's two counters already change in fid order).
        if pairs.len() > 1 {
            let fids: Vec<String> = pairs.iter().flat_map(|(s, t, _)| [s.to_string(), t.to_string()]).collect();
            dialect::lock_feeds(&mut *tx, &fids).await?;
        }
        let mut deleted = Vec::with_capacity(pairs.len());
        for (source, target, keep_history) in pairs {
            let (source, target) = (source.to_string(), target.to_string());
            let follow: Option<Follow> = tx
                .doc("DELETE FROM follows WHERE source = $1 AND target = $2 RETURNING doc", args![&source, &target])
                .await?;
            let Some(follow) = follow else {
                if require_all {
                    return Err(Error::not_found("follow", &format!("{source} -> {target}")));
                }
                continue;
            };
            if follow.status == FOLLOW_ACCEPTED {
                count_follow(&mut *tx, &source, &target, -1).await?;
            }
            if !keep_history {
                tx.exec(UNFOLLOW_HISTORY, args![&source, &target]).await?;
                super::aggregation::leave_unfollowed(&mut *tx, &source).await?;
            }
            super::record_each(&mut *tx, extra, Item::Follow(&follow)).await?;
            deleted.push(follow);
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn get_follow(&self, source: &Fid, target: &Fid) -> Result<Option<Follow>> {
        self.read()
            .await?
            .doc(
                "SELECT doc FROM follows WHERE source = $1 AND target = $2",
                args![source.to_string(), target.to_string()],
            )
            .await
    }

    async fn query_follows(&self, q: &ListQuery, reader: &Reader) -> Result<Vec<Follow>> {
        let (sql, args) = sql::follow_query(self.dialect(), q, reader)?;
        self.read().await?.rows_once(&sql, &args).await?.iter().map(|r| r.doc(0)).collect()
    }

    async fn follows_from_owner(&self, owner: &str, targets: &[Fid]) -> Result<Vec<Follow>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let targets: Vec<String> = targets.iter().map(Fid::to_string).collect();
        self.read()
            .await?
            .docs(
                "SELECT f.doc FROM follows f JOIN feeds s ON s.fid = f.source
                 WHERE s.created_by = $1 AND f.target = ANY($2) ORDER BY f.created_at DESC",
                args![owner, targets],
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
        self.read()
            .await?
            .docs(
                "SELECT doc FROM (
                     SELECT f.doc AS doc, ROW_NUMBER() OVER (PARTITION BY s.created_by ORDER BY f.created_at DESC) AS n
                     FROM follows f JOIN feeds s ON s.fid = f.source JOIN feeds t ON t.fid = f.target
                     WHERE s.created_by = ANY($1) AND t.created_by = $2 AND f.status = 'accepted') x
                 WHERE n <= $3",
                args![source_owners, target_owner, per_owner],
            )
            .await
    }
}
