//! The enrichment reads of a page, each one statement however many items:
//! what the activities show beside themselves (`activity_extras`), feeds
//! with their counts, and a user's relations to feeds. On PostgreSQL every
//! statement is a round trip, so what a page needs is asked for at once.

use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::model::{Bookmark, Comment, Feed, FeedCounts, FeedMember, Fid, Follow, Reaction, ReactionGroup};
use crate::core::storage::{ActivityExtras, EnrichmentStore, Reactable};
use crate::core::time::Timestamp;
use crate::store::db::{Db, Dialect, Row};
use crate::store::dialect::Keys;
use crate::store::sql;

/// The parts of `activity_extras`' statement, by the `kind` column.
const REACTION_GROUPS: i64 = 0;
const LATEST_REACTIONS: i64 = 1;
const OWN_REACTIONS: i64 = 2;
const COMMENT_COUNTS: i64 = 3;
const NEWEST_COMMENTS: i64 = 4;
const BOOKMARK_COUNTS: i64 = 5;
const OWN_BOOKMARKS: i64 = 6;
const METRICS: i64 = 7;
const SHARE_COUNTS: i64 = 8;
const HIDDEN: i64 = 9;

/// One statement of tagged rows `(kind, k, s, n, b, c, doc)`, each part in
/// the order its own query had (`o`): `$1` the activity ids, `$2` the
/// viewer (NULL: none, and the `own` parts are empty), `$3` and `$4` how
/// many reactions and comments per activity.
///
/// Reactions, comments, bookmarks and shares are looked up only for the
/// `engaged` activities, those whose `popularity` (kept by triggers: one
/// per reaction, two per live comment, three per bookmark and per live
/// share) is above zero: an activity nobody engaged with has none of them,
/// and most of a page, notification feeds above all, is such activities.
/// One primary-key probe per activity then replaces a probe of each of
/// those tables.
fn extras_statement(d: Dialect) -> String {
    let (reactions, key) = (sql::reaction_table(Reactable::Activities), sql::reaction_key(Reactable::Activities));
    let engaged = Keys::Ids("engaged");
    let latest_reactions = sql::latest_reactions(d, engaged, Reactable::Activities, "$3");
    let newest_comments = sql::newest_comments(d, engaged, "$4");
    let none = "CAST(NULL AS TEXT)";
    let no = "CAST(NULL AS BIGINT)";
    format!(
        "WITH engaged AS MATERIALIZED (SELECT id FROM activities WHERE id = ANY($1) AND popularity > 0)
         SELECT kind, k, s, n, b, c, doc FROM (
             SELECT {REACTION_GROUPS} AS kind, {key} AS k, type AS s, COUNT(*) AS n, MIN(created_at) AS b,
                    MAX(created_at) AS c, {none} AS doc, CAST(0 AS BIGINT) AS o
             FROM {reactions} WHERE {key} IN (SELECT id FROM engaged) GROUP BY {key}, type
             UNION ALL
             SELECT {LATEST_REACTIONS}, {none}, {none}, {no}, {no}, {no}, CAST(r.doc AS TEXT),
                    ROW_NUMBER() OVER (ORDER BY r.created_at DESC, r.user_id, r.type)
             FROM {latest_reactions}
             UNION ALL
             SELECT {OWN_REACTIONS}, {none}, {none}, {no}, {no}, {no}, CAST(doc AS TEXT),
                    ROW_NUMBER() OVER (ORDER BY created_at DESC)
             FROM {reactions} WHERE {key} IN (SELECT id FROM engaged) AND user_id = $2
             UNION ALL
             SELECT {COMMENT_COUNTS}, object_id, {none}, COUNT(*), {no}, {no}, {none}, 0
             FROM comments WHERE object_type = 'activity' AND object_id IN (SELECT id FROM engaged)
                 AND deleted_at IS NULL
             GROUP BY object_id
             UNION ALL
             SELECT {NEWEST_COMMENTS}, {none}, {none}, {no}, {no}, {no}, CAST(r.doc AS TEXT),
                    ROW_NUMBER() OVER (ORDER BY r.created_at DESC, r.id DESC)
             FROM {newest_comments}
             UNION ALL
             SELECT {BOOKMARK_COUNTS}, object_id, {none}, COUNT(*), {no}, {no}, {none}, 0
             FROM bookmarks WHERE object_type = 'activity' AND object_id IN (SELECT id FROM engaged)
             GROUP BY object_id
             UNION ALL
             SELECT {OWN_BOOKMARKS}, {none}, {none}, {no}, {no}, {no}, CAST(doc AS TEXT),
                    ROW_NUMBER() OVER (ORDER BY created_at DESC)
             FROM bookmarks WHERE object_type = 'activity' AND object_id IN (SELECT id FROM engaged)
                 AND user_id = $2
             UNION ALL
             SELECT {METRICS}, activity_id, metric, value, {no}, {no}, {none}, 0
             FROM activity_metrics WHERE activity_id = ANY($1)
             UNION ALL
             SELECT {SHARE_COUNTS}, parent_id, {none}, COUNT(*), {no}, {no}, {none}, 0
             FROM activities WHERE parent_id IN (SELECT id FROM engaged) AND deleted_at IS NULL GROUP BY parent_id
             UNION ALL
             SELECT {HIDDEN}, activity_id, {none}, {no}, {no}, {no}, {none}, 0
             FROM activity_feedback WHERE user_id = $2 AND hide = TRUE AND activity_id = ANY($1)
         ) x ORDER BY kind, o"
    )
}

fn extras_of(rows: Vec<Row>) -> Result<ActivityExtras> {
    let mut out = ActivityExtras::default();
    for r in &rows {
        match r.int(0)? {
            REACTION_GROUPS => {
                let group = ReactionGroup {
                    count: r.int(3)?,
                    first_reaction_at: Timestamp(r.int(4)?),
                    last_reaction_at: Timestamp(r.int(5)?),
                };
                out.reactions.entry(r.text(1)?).or_default().groups.insert(r.text(2)?, group);
            }
            LATEST_REACTIONS => {
                let reaction: Reaction = r.doc(6)?;
                out.reactions.entry(reaction.object_id().to_string()).or_default().latest.push(reaction);
            }
            OWN_REACTIONS => {
                let reaction: Reaction = r.doc(6)?;
                out.reactions.entry(reaction.object_id().to_string()).or_default().own.push(reaction);
            }
            COMMENT_COUNTS => {
                out.comment_counts.insert(r.text(1)?, r.int(3)?);
            }
            NEWEST_COMMENTS => out.newest_comments.push(r.doc::<Comment>(6)?),
            BOOKMARK_COUNTS => {
                out.bookmark_counts.insert(r.text(1)?, r.int(3)?);
            }
            OWN_BOOKMARKS => out.own_bookmarks.push(r.doc::<Bookmark>(6)?),
            METRICS => {
                out.metrics.entry(r.text(1)?).or_default().insert(r.text(2)?, r.int(3)?);
            }
            SHARE_COUNTS => {
                out.share_counts.insert(r.text(1)?, r.int(3)?);
            }
            _ => {
                out.hidden.insert(r.text(1)?);
            }
        }
    }
    Ok(out)
}

#[async_trait]
impl<D: Db> EnrichmentStore for D {
    async fn activity_extras(
        &self,
        activity_ids: &[String],
        viewer: Option<&str>,
        latest_reactions: usize,
        latest_comments: usize,
    ) -> Result<ActivityExtras> {
        if activity_ids.is_empty() {
            return Ok(ActivityExtras::default());
        }
        let statement = extras_statement(self.dialect());
        let args = args![activity_ids, viewer, latest_reactions, latest_comments];
        extras_of(self.read().await?.rows(&statement, args).await?)
    }

    async fn feeds_with_counts(&self, fids: &[Fid], now: Timestamp) -> Result<Vec<(Feed, FeedCounts)>> {
        if fids.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = fids.iter().map(Fid::to_string).collect();
        let rows = self
            .read()
            .await?
            .rows(
                "SELECT f.doc, f.follower_count, f.following_count, f.member_count,
                        (SELECT COUNT(*) FROM feed_entries e
                         WHERE e.feed_seq = f.seq AND (e.visible_until IS NULL OR e.visible_until > $2)),
                        (SELECT COUNT(*) FROM pins p WHERE p.fid = f.fid)
                 FROM feeds f WHERE f.fid = ANY($1)",
                args![names, now],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let counts = FeedCounts {
                    follower_count: r.int(1)?,
                    following_count: r.int(2)?,
                    member_count: r.int(3)?,
                    activity_count: r.int(4)?,
                    pin_count: r.int(5)?,
                };
                Ok((r.doc(0)?, counts))
            })
            .collect()
    }

    async fn relations(&self, user: &str, fids: &[Fid]) -> Result<(Vec<FeedMember>, Vec<Follow>)> {
        if fids.is_empty() {
            return Ok(Default::default());
        }
        let names: Vec<String> = fids.iter().map(Fid::to_string).collect();
        let rows = self
            .read()
            .await?
            .rows(
                "SELECT kind, doc FROM (
                     SELECT 0 AS kind, CAST(doc AS TEXT) AS doc, CAST(0 AS BIGINT) AS o
                     FROM feed_members WHERE user_id = $1 AND fid = ANY($2)
                     UNION ALL
                     SELECT 1, CAST(f.doc AS TEXT), ROW_NUMBER() OVER (ORDER BY f.created_at DESC)
                     FROM follows f JOIN feeds s ON s.fid = f.source
                     WHERE s.created_by = $1 AND f.target = ANY($2)
                 ) x ORDER BY kind, o",
                args![user, names],
            )
            .await?;
        let (mut memberships, mut follows) = (Vec::new(), Vec::new());
        for r in &rows {
            if r.int(0)? == 0 {
                memberships.push(r.doc(1)?);
            } else {
                follows.push(r.doc(1)?);
            }
        }
        Ok((memberships, follows))
    }
}
