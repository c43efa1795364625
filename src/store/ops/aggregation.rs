//! Aggregated and notification feeds, kept on write. When an activity
//! enters a feed whose group has a grouping (`core::aggregation`: an
//! `aggregation` format, or `notification` tracking with one group per
//! activity), the same transaction renders its group key once per feed
//! group and joins it: a member row, the group row upserted (counts moved
//! by one, `updated_at` forward) and any read/seen mark of that key
//! dropped, so a group that grows is unread again. Each step is one
//! statement for all the feeds the entry reaches — the feeds it was posted
//! to, an inline fan-out's followers, a background fan-out batch — so a
//! join costs O(1) statements, never a regroup.
//!
//! `user_count` counts distinct authors up to `USER_COUNT_CAP`; past it the
//! count stops and `user_count_truncated` is set ("100+ people").
//!
//! An activity leaving feeds (removed from `feeds`, purged) leaves their
//! groups too: those groups are recounted from their members, and a group
//! left empty goes. Soft-deleting or restoring an activity recounts its
//! groups from their live members (a group of soft-deleted members only is
//! not shown). Expired members stay counted and are left out of the
//! activities a read shows.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::args;
use crate::core::aggregation::{Grouping, USER_COUNT_CAP};
use crate::core::error::Result;
use crate::core::events::{Event, EventType};
use crate::core::model::{Activity, FeedGroup, Fid, NotificationState};
use crate::core::notification_feeds::FeedShape;
use crate::core::storage::{ExtraWrites, GroupMembers, GroupSlice, MarkEvents, Marks, NotificationStore, StoredGroup};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Tx};
use crate::store::sql;

/// Marked keys `notification_state` lists (the deprecated
/// `read_activities`/`seen_activities`).
pub const LISTED_MARKS: i64 = 100;

/// How one feed group's feeds group what enters them, and whether an entry
/// announces `feeds.notification_feed.updated` (the group tracks read or
/// seen state).
#[derive(Debug, Clone)]
pub(crate) struct GroupRule {
    pub group: String,
    pub grouping: Grouping,
    pub notifies: bool,
}

/// Feeds an entry announces its new `notification_status` to, at most, in
/// one join: each costs the status's statements in the writer's
/// transaction. A notification group's feeds are written to directly, one
/// recipient at a time; only a notification feed following a large feed
/// reaches more, and its entries beyond these are not announced.
pub const ANNOUNCED_FEEDS: usize = 100;

/// The groupings of the live feed groups that have one. The table is small
/// and only groups whose document mentions a grouping section are parsed.
pub(crate) async fn groupings(tx: &mut dyn Tx) -> Result<Vec<GroupRule>> {
    let groups: Vec<FeedGroup> = tx
        .docs(
            "SELECT doc FROM feed_groups
             WHERE CAST(doc AS TEXT) LIKE '%\"aggregation\"%' OR CAST(doc AS TEXT) LIKE '%\"notification\"%'",
            args![],
        )
        .await?;
    Ok(groups
        .into_iter()
        .filter(|g| g.deleted_at.is_none())
        .filter_map(|g| {
            let notifies = FeedShape::of(&g).notifications();
            Grouping::of(&g.config).map(|grouping| GroupRule { group: g.id, grouping, notifies })
        })
        .collect())
}

/// Joins `a` (stored with `created_at`) to its group in each of `fids`
/// (feeds it was posted to) whose feed group has a grouping.
pub(crate) async fn join_feeds(
    tx: &mut dyn Tx,
    rules: &[GroupRule],
    a: &Activity,
    created_at: Timestamp,
    fids: &[String],
) -> Result<()> {
    for rule in rules {
        let feeds: Vec<String> =
            fids.iter().filter(|f| Fid::parse(f).is_ok_and(|f| f.group == rule.group)).cloned().collect();
        if feeds.is_empty() {
            continue;
        }
        let key = rule.grouping.key(a, created_at);
        let targets = "SELECT fid FROM feeds WHERE fid = ANY($1)";
        join(tx, targets, vec![Arg::from(feeds)], &key, a, created_at, rule.notifies).await?;
    }
    Ok(())
}

/// Joins `a` in the follower feeds of `origins` (the inline fan-out), or,
/// with `range`, in those of the one origin whose feed id lies in
/// `(after, upto]` (a background fan-out batch; `upto` none for the last).
pub(crate) async fn join_followers(
    tx: &mut dyn Tx,
    rules: &[GroupRule],
    a: &Activity,
    created_at: Timestamp,
    origins: &[String],
    range: Option<(&str, Option<&str>)>,
) -> Result<()> {
    for rule in rules {
        let group = &rule.group;
        // The follower feeds of this group, told by their id's prefix: a
        // check on the index entry, where a join to `feeds` would cost a
        // lookup per follower on every post.
        let prefix = format!("{group}:");
        let mut args = vec![Arg::from(origins), Arg::from(prefix.chars().count()), Arg::from(prefix)];
        let mut sql = "SELECT DISTINCT f.source AS fid FROM follows f
                       WHERE f.target = ANY($1) AND f.status = 'accepted' AND substr(f.source, 1, $2) = $3"
            .to_string();
        if let Some((after, upto)) = range {
            sql.push_str(" AND f.source > $4");
            args.push(Arg::from(after));
            if let Some(upto) = upto {
                sql.push_str(" AND f.source <= $5");
                args.push(Arg::from(upto));
            }
        }
        let key = rule.grouping.key(a, created_at);
        join(tx, &sql, args, &key, a, created_at, rule.notifies).await?;
    }
    Ok(())
}

/// Joins `a` to group `key` in the feeds `targets` selects (one column
/// named `fid`, binding `target_args` as `$1…`). Where `notifies`, each
/// feed it joined records `feeds.notification_feed.updated` with its
/// status after the join, in this transaction.
async fn join(
    tx: &mut dyn Tx,
    targets: &str,
    mut target_args: Vec<Arg>,
    key: &str,
    a: &Activity,
    created_at: Timestamp,
    notifies: bool,
) -> Result<()> {
    let n = target_args.len();
    let insert = format!(
        "INSERT INTO aggregation_members (fid, group_key, created_at, activity_id, user_id)
         SELECT t.fid, ${}, ${}, ${}, ${} FROM ({targets}) AS t WHERE TRUE
         ON CONFLICT DO NOTHING RETURNING fid",
        n + 1,
        n + 2,
        n + 3,
        n + 4
    );
    target_args.extend([Arg::from(key), Arg::from(created_at), Arg::from(&a.id), Arg::from(&a.user_id)]);
    let joined = tx.texts(&insert, &target_args).await?;
    if joined.is_empty() {
        return Ok(());
    }
    // The author is new to the group when no other live member is theirs. The
    // group rows are taken in feed order, as every join takes them, so two
    // joins reaching the same feeds cannot deadlock on PostgreSQL.
    let new_author = "NOT EXISTS (SELECT 1 FROM aggregation_members m JOIN activities a ON a.id = m.activity_id
                      WHERE m.fid = g.fid AND m.group_key = g.group_key AND m.user_id = $4
                        AND m.activity_id <> $5 AND a.deleted_at IS NULL)";
    tx.exec(
        &format!(
            "INSERT INTO aggregation_groups AS g
                (fid, group_key, activity_count, user_count, user_count_truncated, created_at, updated_at)
             SELECT fid, $2, 1, 1, FALSE, $3, $3 FROM aggregation_members WHERE activity_id = $5 AND fid = ANY($1)
             ORDER BY fid
             ON CONFLICT (fid, group_key) DO UPDATE SET
                activity_count = g.activity_count + 1,
                user_count = CASE WHEN g.user_count < $6 AND {new_author} THEN g.user_count + 1
                                  ELSE g.user_count END,
                user_count_truncated = g.user_count_truncated OR (g.user_count >= $6 AND {new_author}),
                created_at = CASE WHEN g.created_at > $3 THEN $3 ELSE g.created_at END,
                updated_at = CASE WHEN g.updated_at < $3 THEN $3 ELSE g.updated_at END"
        ),
        args![&joined, key, created_at, &a.user_id, &a.id, USER_COUNT_CAP],
    )
    .await?;
    tx.exec(
        "UPDATE notification_marks SET read_at = NULL, seen_at = NULL WHERE fid = ANY($1) AND item = $2",
        args![&joined, key],
    )
    .await?;
    if notifies {
        announce(tx, &joined, a).await?;
    }
    Ok(())
}

/// `feeds.notification_feed.updated` in each of `fids` (up to
/// `ANNOUNCED_FEEDS`), which `a` just joined, with the feed's status as this
/// transaction leaves it: the bell's count moves as the notification
/// arrives, by whoever caused it.
async fn announce(tx: &mut dyn Tx, fids: &[String], a: &Activity) -> Result<()> {
    let mut events = Vec::new();
    for fid in fids.iter().take(ANNOUNCED_FEEDS) {
        let Ok(parsed) = Fid::parse(fid) else { continue };
        let status = state(tx, fid).await?;
        let mut event = Event::new(EventType::NotificationFeedUpdated, Some(&a.user_id)).in_feeds([parsed]);
        event.subject.notification_status = Some(status);
        events.push(event);
    }
    super::insert_events(tx, &events).await
}

/// Joins the activities a follow's backfill copied into `source` (the
/// newest `limit` of `target`'s own) to their groups, when `source`'s feed
/// group has a grouping: one join per activity, bounded by the copy limit.
pub(crate) async fn join_backfill(tx: &mut dyn Tx, source: &str, target: &str, limit: usize) -> Result<()> {
    let Ok(fid) = Fid::parse(source) else { return Ok(()) };
    let rules = groupings(tx).await?;
    let Some(rule) = rules.iter().find(|r| r.group == fid.group) else { return Ok(()) };
    let copied_sql = format!(
        "SELECT a.doc FROM activities a WHERE a.seq IN
            (SELECT activity_seq FROM feed_entries WHERE feed_seq = (SELECT seq FROM feeds WHERE fid = $1) AND direct
             ORDER BY created_at DESC, activity_seq DESC LIMIT {})
         ORDER BY a.created_at, a.id",
        sql::limit(limit)
    );
    let copied: Vec<Activity> = tx.docs(&copied_sql, args![target]).await?;
    // A backfill is history arriving, not notifications: not announced.
    for a in &copied {
        let key = rule.grouping.key(a, a.created_at);
        let targets = "SELECT fid FROM feeds WHERE fid = $1";
        join(tx, targets, vec![Arg::from(source)], &key, a, a.created_at, false).await?;
    }
    Ok(())
}

/// After an unfollow dropped `source`'s entries that came only through it,
/// the members without an entry leave their groups.
pub(crate) async fn leave_unfollowed(tx: &mut dyn Tx, source: &str) -> Result<()> {
    let rows = tx
        .rows(
            "DELETE FROM aggregation_members WHERE fid = $1
               AND NOT EXISTS (SELECT 1 FROM feed_entries e
                               WHERE e.feed_seq = (SELECT seq FROM feeds WHERE fid = $1)
                                 AND e.created_at = aggregation_members.created_at
                                 AND e.activity_seq = (SELECT seq FROM activities
                                                       WHERE id = aggregation_members.activity_id))
             RETURNING fid, group_key",
            args![source],
        )
        .await?;
    recount(tx, &rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect::<Result<Vec<_>>>()?).await
}

/// `ids` leave their groups in `fids` (all their feeds when `None`); the
/// groups they leave are recounted, and dropped when left empty.
pub(crate) async fn leave(tx: &mut dyn Tx, ids: &[String], fids: Option<&[String]>) -> Result<()> {
    let rows = match fids {
        None => {
            tx.rows("DELETE FROM aggregation_members WHERE activity_id = ANY($1) RETURNING fid, group_key", args![ids])
                .await?
        }
        Some(fids) => {
            tx.rows(
                "DELETE FROM aggregation_members WHERE activity_id = ANY($1) AND fid = ANY($2)
                 RETURNING fid, group_key",
                args![ids, fids],
            )
            .await?
        }
    };
    recount(tx, &rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect::<Result<Vec<_>>>()?).await
}

/// `id` leaves the follower feeds of `removed` that no longer receive it
/// through a follow of one of `remaining` (nor have it directly): the
/// groups' side of `save_activity` dropping those entries.
pub(crate) async fn leave_followers(tx: &mut dyn Tx, id: &str, removed: &[String], remaining: &[String]) -> Result<()> {
    let rows = tx
        .rows(
            "DELETE FROM aggregation_members WHERE activity_id = $1
               AND fid IN (SELECT source FROM follows WHERE target = ANY($2))
               AND NOT (fid = ANY($3))
               AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.source = aggregation_members.fid
                               AND f.status = 'accepted' AND f.target = ANY($3))
             RETURNING fid, group_key",
            args![id, removed, remaining],
        )
        .await?;
    recount(tx, &rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect::<Result<Vec<_>>>()?).await
}

/// The groups of the activities `ids` are recounted: they were soft-deleted
/// or restored.
pub(crate) async fn recount_activities(tx: &mut dyn Tx, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows =
        tx.rows("SELECT fid, group_key FROM aggregation_members WHERE activity_id = ANY($1)", args![ids]).await?;
    recount(tx, &rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect::<Result<Vec<_>>>()?).await
}

/// Recounts the groups `left` names from their live (not soft-deleted)
/// members, and drops those left without any member. A group whose members
/// are all soft-deleted stays, counted 0 and not shown, for a restore.
async fn recount(tx: &mut dyn Tx, left: &[(String, String)]) -> Result<()> {
    if left.is_empty() {
        return Ok(());
    }
    let fids: Vec<String> = left.iter().map(|(f, _)| f.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let keys: Vec<String> = left.iter().map(|(_, k)| k.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let members = "FROM aggregation_members m WHERE m.fid = aggregation_groups.fid
                   AND m.group_key = aggregation_groups.group_key";
    let live = "FROM aggregation_members m JOIN activities a ON a.id = m.activity_id
                WHERE m.fid = aggregation_groups.fid AND m.group_key = aggregation_groups.group_key
                  AND a.deleted_at IS NULL";
    tx.exec(
        &format!(
            "DELETE FROM aggregation_groups WHERE fid = ANY($1) AND group_key = ANY($2)
               AND NOT EXISTS (SELECT 1 {members})"
        ),
        args![&fids, &keys],
    )
    .await?;
    tx.exec(
        &format!(
            "UPDATE aggregation_groups SET
                activity_count = (SELECT COUNT(*) {live}),
                user_count = (SELECT COUNT(*) FROM (SELECT DISTINCT m.user_id {live} LIMIT {cap}) AS authors),
                created_at = COALESCE((SELECT MIN(m.created_at) {live}), created_at),
                updated_at = COALESCE((SELECT MAX(m.created_at) {live}), updated_at)
             WHERE fid = ANY($1) AND group_key = ANY($2)",
            cap = sql::limit(USER_COUNT_CAP as usize)
        ),
        args![&fids, &keys],
    )
    .await?;
    Ok(())
}

/// Everything of `fid`'s groups and marks (the feed is purged).
pub(crate) async fn purge_feed(tx: &mut dyn Tx, fid: &str) -> Result<()> {
    for table in ["aggregation_members", "aggregation_groups", "notification_state", "notification_marks"] {
        tx.exec(&format!("DELETE FROM {table} WHERE fid = $1"), args![fid]).await?;
    }
    Ok(())
}

/// A feed's notification state in three statements: its `mark_all_*`
/// times; the groups not read since the last `mark_all_read` nor marked
/// read by key, and likewise not seen, counted in one pass over the feed's
/// groups; and the keys marked read and seen, newest first.
async fn state(tx: &mut dyn Tx, fid: &str) -> Result<NotificationState> {
    let (last_read_at, last_seen_at) =
        match tx.row("SELECT last_read_at, last_seen_at FROM notification_state WHERE fid = $1", args![fid]).await? {
            Some(r) => (r.opt_int(0)?.map(Timestamp), r.opt_int(1)?.map(Timestamp)),
            None => (None, None),
        };
    let since = |at: Option<Timestamp>| at.map_or(i64::MIN, |t| t.0);
    let (read_since, seen_since) = (since(last_read_at), since(last_seen_at));
    let counts = tx
        .row(
            "SELECT COALESCE(SUM(CASE WHEN g.updated_at >= $2 AND m.read_at IS NULL THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN g.updated_at >= $3 AND m.seen_at IS NULL THEN 1 ELSE 0 END), 0)
             FROM aggregation_groups g
             LEFT JOIN notification_marks m ON m.fid = g.fid AND m.item = g.group_key
             WHERE g.fid = $1 AND g.activity_count > 0 AND g.updated_at >= $4",
            args![fid, read_since, seen_since, read_since.min(seen_since)],
        )
        .await?;
    let (unread, unseen) = match counts {
        Some(r) => (r.int(0)?, r.int(1)?),
        None => (0, 0),
    };
    let listed = |column: &str| {
        format!(
            "SELECT item, {column} AS at FROM notification_marks WHERE fid = $1 AND {column} IS NOT NULL
             ORDER BY {column} DESC, item LIMIT {}",
            sql::limit(LISTED_MARKS as usize)
        )
    };
    let marks = tx
        .rows(
            &format!(
                "SELECT 0 AS kind, item, at FROM ({}) r UNION ALL SELECT 1, item, at FROM ({}) s
                 ORDER BY kind, at DESC, item",
                listed("read_at"),
                listed("seen_at")
            ),
            args![fid],
        )
        .await?;
    let (mut read_keys, mut seen_keys) = (Vec::new(), Vec::new());
    for r in &marks {
        if r.int(0)? == 0 {
            read_keys.push(r.text(1)?)
        } else {
            seen_keys.push(r.text(1)?)
        }
    }
    Ok(NotificationState { last_read_at, last_seen_at, unread, unseen, read_keys, seen_keys })
}

/// Marks `keys` of `fid` (only groups that exist) in `column` at `at`.
async fn mark_keys(tx: &mut dyn Tx, fid: &str, keys: &[String], column: &str, at: Timestamp) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    tx.exec(
        &format!(
            "INSERT INTO notification_marks (fid, item, {column})
             SELECT fid, group_key, $3 FROM aggregation_groups WHERE fid = $1 AND group_key = ANY($2)
             ON CONFLICT (fid, item) DO UPDATE SET {column} = $3"
        ),
        args![fid, keys, at],
    )
    .await?;
    Ok(())
}

/// `mark_all_*`: the time moves, and the keys marked before it are
/// covered by it (their groups were all updated earlier, or grew since
/// and lost the mark), so their marks go.
async fn mark_all(tx: &mut dyn Tx, fid: &str, column: &str, mark_column: &str, at: Timestamp) -> Result<()> {
    tx.exec(
        &format!(
            "INSERT INTO notification_state (fid, {column}) VALUES ($1, $2)
             ON CONFLICT (fid) DO UPDATE SET {column} = $2"
        ),
        args![fid, at],
    )
    .await?;
    tx.exec(&format!("UPDATE notification_marks SET {mark_column} = NULL WHERE fid = $1"), args![fid]).await?;
    tx.exec(
        "DELETE FROM notification_marks
         WHERE fid = $1 AND read_at IS NULL AND seen_at IS NULL AND watched_at IS NULL",
        args![fid],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl<D: Db> NotificationStore for D {
    async fn group_page(
        &self,
        fid: &Fid,
        slice: &GroupSlice,
        limit: usize,
        members: &GroupMembers,
        now: Timestamp,
    ) -> Result<Vec<StoredGroup>> {
        let GroupMembers { per_group, oldest_first, stories } = members;
        let (per_group, stories) = (*per_group, stories.as_ref());
        let fid = fid.to_string();
        let mut args = vec![Arg::from(&fid)];
        let (range, order) = match slice {
            GroupSlice::Start => ("", "DESC"),
            GroupSlice::Older(p) => {
                args.extend([Arg::from(p.updated_at), Arg::from(&p.key)]);
                ("AND (g.updated_at < $2 OR (g.updated_at = $2 AND g.group_key < $3))", "DESC")
            }
            GroupSlice::Newer(p) => {
                args.extend([Arg::from(p.updated_at), Arg::from(&p.key)]);
                ("AND (g.updated_at > $2 OR (g.updated_at = $2 AND g.group_key > $3))", "ASC")
            }
            GroupSlice::Holding(ids) => {
                args.push(Arg::from(ids));
                (
                    "AND g.group_key IN (SELECT o.group_key FROM aggregation_members o
                                         WHERE o.fid = $1 AND o.activity_id = ANY($2))",
                    "DESC",
                )
            }
        };
        // Stories count and show what is live for this viewer: expired
        // stories (and watched ones, with `skip_watched`) leave the group,
        // and a group left without any leaves the page. Stories feeds are
        // small (one group per followed author), so this is counted here
        // rather than kept on write, where expiry would need a sweeper.
        let (count, all_watched, shown) = match stories {
            None => ("g.activity_count".to_string(), "0".to_string(), String::new()),
            Some(view) => {
                let (at, viewer) = (args.len() + 1, args.len() + 2);
                args.extend([Arg::from(now), Arg::from(&view.viewer)]);
                let live = format!(
                    "FROM aggregation_members x JOIN activities xa ON xa.id = x.activity_id
                     WHERE x.fid = g.fid AND x.group_key = g.group_key AND xa.deleted_at IS NULL
                       AND (xa.expires_at IS NULL OR xa.expires_at > ${at})"
                );
                let watched = format!(
                    "SELECT 1 FROM story_watches w WHERE w.user_id = ${viewer} AND w.activity_id = x.activity_id"
                );
                let shown = if view.skip_watched { format!("{live} AND NOT EXISTS ({watched})") } else { live.clone() };
                (
                    format!("(SELECT COUNT(*) {shown})"),
                    format!("CASE WHEN EXISTS (SELECT 1 {live} AND NOT EXISTS ({watched})) THEN 0 ELSE 1 END"),
                    format!("AND EXISTS (SELECT 1 {shown})"),
                )
            }
        };
        let mut read = self.read().await?;
        let rows = read
            .rows(
                &format!(
                    "SELECT g.group_key, {count}, g.user_count, g.user_count_truncated, g.created_at,
                            g.updated_at, m.read_at, m.seen_at, {all_watched}
                     FROM aggregation_groups g
                     LEFT JOIN notification_marks m ON m.fid = g.fid AND m.item = g.group_key
                     WHERE g.fid = $1 AND g.activity_count > 0 {range} {shown}
                     ORDER BY g.updated_at {order}, g.group_key {order} LIMIT {}",
                    sql::limit(limit)
                ),
                &args,
            )
            .await?;
        let mut groups = rows
            .iter()
            .map(|r| {
                Ok(StoredGroup {
                    key: r.text(0)?,
                    activity_count: r.int(1)?,
                    user_count: r.int(2)?,
                    user_count_truncated: r.bool(3)?,
                    created_at: Timestamp(r.int(4)?),
                    updated_at: Timestamp(r.int(5)?),
                    activities: Vec::new(),
                    marked_read: r.opt_int(6)?.is_some(),
                    marked_seen: r.opt_int(7)?.is_some(),
                    all_watched: r.int(8)? == 1,
                    watched: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if groups.is_empty() || per_group == 0 {
            return Ok(groups);
        }
        // Each group's first members by the primary key, in one statement:
        // an index range per group, however large the group.
        let order = if *oldest_first { "ASC" } else { "DESC" };
        let mut member_args = vec![Arg::from(&fid), Arg::from(now)];
        let (watched, unwatched) = match stories {
            None => ("0".to_string(), String::new()),
            Some(view) => {
                member_args.push(Arg::from(&view.viewer));
                let watched = "SELECT 1 FROM story_watches w WHERE w.user_id = $3 AND w.activity_id = m.activity_id";
                let unwatched = if view.skip_watched { format!("AND NOT EXISTS ({watched})") } else { String::new() };
                (format!("CASE WHEN EXISTS ({watched}) THEN 1 ELSE 0 END"), unwatched)
            }
        };
        let first_key = member_args.len() + 1;
        let parts: Vec<String> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                member_args.push(Arg::from(&g.key));
                format!(
                    "SELECT * FROM (SELECT m.group_key, a.doc, {watched} AS watched FROM aggregation_members m
                       JOIN activities a ON a.id = m.activity_id
                       WHERE m.fid = $1 AND m.group_key = ${} AND a.deleted_at IS NULL
                         AND (a.expires_at IS NULL OR a.expires_at > $2) {unwatched}
                       ORDER BY m.created_at {order}, m.activity_id {order} LIMIT {}) AS g{i}",
                    i + first_key,
                    sql::limit(per_group)
                )
            })
            .collect();
        let rows = read.rows(&parts.join(" UNION ALL "), &member_args).await?;
        for r in &rows {
            let key = r.str(0)?;
            if let Some(g) = groups.iter_mut().find(|g| g.key == key) {
                let activity: Activity = r.doc(1)?;
                if r.int(2)? == 1 {
                    g.watched.push(activity.id.clone());
                }
                g.activities.push(activity);
            }
        }
        Ok(groups)
    }

    async fn notification_state(&self, fid: &Fid) -> Result<NotificationState> {
        state(&mut *self.read().await?, &fid.to_string()).await
    }

    async fn watched(&self, user: &str, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read()
            .await?
            .texts(
                "SELECT activity_id FROM story_watches WHERE user_id = $1 AND activity_id = ANY($2)",
                args![user, ids],
            )
            .await
    }

    async fn mark_with(
        &self,
        fid: &Fid,
        marks: &Marks,
        extra: &ExtraWrites,
        events: &MarkEvents,
    ) -> Result<NotificationState> {
        let fid = fid.to_string();
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, extra).await?;
        if marks.all_read {
            mark_all(&mut *tx, &fid, "last_read_at", "read_at", marks.at).await?;
        }
        if marks.all_seen {
            mark_all(&mut *tx, &fid, "last_seen_at", "seen_at", marks.at).await?;
        }
        mark_keys(&mut *tx, &fid, &marks.read, "read_at", marks.at).await?;
        mark_keys(&mut *tx, &fid, &marks.seen, "seen_at", marks.at).await?;
        if !marks.watched.is_empty() {
            tx.exec(
                "INSERT INTO story_watches (user_id, activity_id, watched_at)
                 SELECT $1, id, $3 FROM activities WHERE id = ANY($2)
                 ON CONFLICT (user_id, activity_id) DO UPDATE SET watched_at = $3",
                args![&marks.watcher, &marks.watched, marks.at],
            )
            .await?;
        }
        let after = state(&mut *tx, &fid).await?;
        super::insert_events(&mut *tx, &events(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }
}
