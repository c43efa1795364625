//! SQL of the feed-management reads both stores share: QueryFeeds with its
//! computed fields, a feed's totals and follow suggestions. Every count is
//! exact, computed from the indexed follows, feed entries and comments at
//! read time rather than from counters that could drift.

use super::{doc_select, grants_of, readable_feed, unbuilt, Arg, Dialect, SqlBuilder, FEEDS};
use crate::core::error::Result;
use crate::core::filter::{Condition, Field, Op, Operand};
use crate::core::model::Fid;
use crate::core::storage::Grants;
use crate::core::storage::{ListQuery, Reader};
use crate::core::time::Timestamp;

impl SqlBuilder {
    /// Live activities of the row's feed at the builder's `now`, as
    /// `FeedResponse.activity_count` counts them.
    fn activity_count(&mut self) -> String {
        let now = self.bind(Arg::Int(self.now.0));
        format!(
            "(SELECT COUNT(*) FROM feed_entries e
              WHERE e.feed_seq = t.seq AND (e.visible_until IS NULL OR e.visible_until > {now}))"
        )
    }

    /// Conditions on the computed feed fields (`feeds t`).
    pub(super) fn feed_condition(&mut self, c: &Condition) -> Result<String> {
        Ok(match (&c.field, c.op, &c.value) {
            (Field::Named("activity_count"), op, Operand::Num(n)) => {
                let n = self.real(*n);
                format!("{} {} {n}", self.activity_count(), Self::compare(op))
            }
            // Feeds where any of these users is an active member.
            (Field::Named("members"), Op::In, Operand::Strs(users)) => {
                let list = self.in_list("fm.user_id", users);
                format!(
                    "EXISTS (SELECT 1 FROM feed_members fm WHERE fm.fid = t.fid AND fm.status = 'member' AND {list})"
                )
            }
            // Feeds with an accepted follow of one of these feeds.
            (Field::Named("following_feeds"), Op::In, Operand::Strs(fids)) => {
                let list = self.in_list("fo.target", fids);
                format!(
                    "EXISTS (SELECT 1 FROM follows fo WHERE fo.source = t.fid AND fo.status = 'accepted' AND {list})"
                )
            }
            // Feeds with an accepted follow of a live feed these users own.
            (Field::Named("following_users"), Op::In, Operand::Strs(users)) => {
                let list = self.in_list("tf.created_by", users);
                format!(
                    "EXISTS (SELECT 1 FROM follows fo JOIN feeds tf ON tf.fid = fo.target
                             WHERE fo.source = t.fid AND fo.status = 'accepted' AND tf.deleted_at IS NULL AND {list})"
                )
            }
            _ => return Err(unbuilt(c)),
        })
    }

    /// `ORDER BY` over feed fields, computed ones included, then the fid in
    /// the direction of the first key so offsets page a total order.
    fn feed_order(&mut self, sort: &[(&str, bool)]) -> Result<String> {
        let dir = |descending: bool| if descending { "DESC" } else { "ASC" };
        let mut keys = Vec::new();
        for (field, descending) in sort {
            let expr = if *field == "activity_count" { self.activity_count() } else { self.expr(field)? };
            keys.push(format!("{expr} {}", dir(*descending)));
        }
        let first = sort.first().is_some_and(|(_, d)| *d);
        keys.push(format!("t.fid {}", dir(first)));
        Ok(keys.join(", "))
    }
}

/// One offset page of QueryFeeds: live feeds matching the filter that the
/// reader may see, in the requested order.
pub fn feed_query(dialect: Dialect, q: &ListQuery, reader: &Reader, now: Timestamp) -> Result<(String, Vec<Arg>)> {
    let mut b = SqlBuilder::new(dialect, &FEEDS);
    b.now = now;
    let mut clauses: Vec<String> = FEEDS.scope.iter().map(|s| s.to_string()).collect();
    if reader.restricted {
        let me = b.text(reader.viewer.as_deref().unwrap_or_default());
        let grants = (&*grants_of(reader), reader.everyone_role());
        clauses.push(readable_feed(&mut b, "t", &me, grants, "read-feed"));
    }
    clauses.push(b.filter(&q.filter)?);
    let order = b.feed_order(&q.sort)?;
    let (limit, offset) = (super::limit(q.limit), b.bind(Arg::Int(q.offset as i64)));
    let sql = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
        doc_select(dialect, &FEEDS),
        FEEDS.from,
        clauses.join(" AND ")
    );
    Ok((sql, b.params))
}

/// One row: the feed's live activities, and the live comments (replies at
/// any depth included) on those activities.
pub fn feed_totals_query(dialect: Dialect, fid: &Fid, now: Timestamp) -> (String, Vec<Arg>) {
    let mut b = SqlBuilder::new(dialect, &FEEDS);
    let (fid, now) = (b.text(&fid.to_string()), b.bind(Arg::Int(now.0)));
    let live = format!(
        "e.feed_seq = (SELECT seq FROM feeds WHERE fid = {fid}) AND (e.visible_until IS NULL OR e.visible_until > {now})"
    );
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM feed_entries e WHERE {live}),
                (SELECT COUNT(*) FROM feed_entries e JOIN activities a ON a.seq = e.activity_seq
                   JOIN comments c ON c.object_type = 'activity' AND c.object_id = a.id
                 WHERE {live} AND c.deleted_at IS NULL)"
    );
    (sql, b.params)
}

/// Up to `limit` suggestions for `user` in `group`, ranked in SQL; each row
/// is `(doc, friends, followers)`. See `core::suggestions` for the signal.
///
/// "Friends" are the other owners of live feeds the user's feeds follow
/// (accepted). A candidate is a live, non-private feed of the group that the
/// user neither owns nor follows from any feed (in any follow status);
/// `friends` counts the distinct friends owning a feed that follows it
/// (accepted), `followers` its accepted followers.
pub fn follow_suggestions_query(
    dialect: Dialect,
    user: &str,
    group: &str,
    limit: usize,
    grants: &Grants,
) -> (String, Vec<Arg>) {
    let mut b = SqlBuilder::new(dialect, &FEEDS);
    let (me, group, limit) = (b.text(user), b.text(group), super::limit(limit));
    let doc = match dialect {
        Dialect::Sqlite => "c.doc",
        Dialect::Postgres => "c.doc::text",
    };
    // Only feeds the user may follow (a request counts) are suggested.
    let followable = readable_feed(&mut b, "c", &me, (grants, crate::core::feed_visibilities::USER), "follow");
    let eligible = format!(
        "c.group_id = {group} AND c.deleted_at IS NULL AND c.visibility <> 'private' AND c.created_by <> {me}
         AND {followable}
         AND NOT EXISTS (SELECT 1 FROM follows y WHERE y.target = c.fid AND y.source IN (SELECT fid FROM mine))"
    );
    // Candidates: the feeds friends follow, and the group's most followed
    // feeds (an index walk on (group_id, follower_count)), never the whole
    // group. The top `limit` by (friends, followers) is always among them.
    let sql = format!(
        "WITH mine AS (SELECT fid FROM feeds WHERE created_by = {me} AND deleted_at IS NULL),
         friends AS (
             SELECT DISTINCT f.created_by AS id FROM follows fo JOIN feeds f ON f.fid = fo.target
             WHERE fo.source IN (SELECT fid FROM mine) AND fo.status = 'accepted'
               AND f.created_by <> {me} AND f.deleted_at IS NULL),
         fof AS (
             SELECT fo.target AS fid, COUNT(DISTINCT ff.created_by) AS n
             FROM friends fr JOIN feeds ff ON ff.created_by = fr.id AND ff.deleted_at IS NULL
             JOIN follows fo ON fo.source = ff.fid AND fo.status = 'accepted'
             GROUP BY fo.target),
         popular AS (
             SELECT c.fid FROM feeds c WHERE {eligible}
             ORDER BY c.follower_count DESC, c.fid ASC LIMIT {limit}),
         candidates AS (
             SELECT c.fid FROM fof JOIN feeds c ON c.fid = fof.fid WHERE {eligible}
             UNION SELECT fid FROM popular)
         SELECT {doc}, COALESCE(fof.n, 0) AS friends, c.follower_count AS followers
         FROM candidates k JOIN feeds c ON c.fid = k.fid LEFT JOIN fof ON fof.fid = k.fid
         ORDER BY friends DESC, followers DESC, c.fid ASC
         LIMIT {limit}"
    );
    (sql, b.params)
}
