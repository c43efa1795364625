use crate::args;
use crate::core::error::Result;
use crate::core::follows::DEFAULT_COPY_LIMIT;
use crate::core::model::Follow;
use crate::store::db::Tx;

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
    tx.exec(
        "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
         SELECT $1, created_at, activity_id, FALSE, visible_until, private_to FROM feed_entries
         WHERE fid = $2 AND direct ORDER BY created_at DESC, activity_id DESC LIMIT $3
         ON CONFLICT DO NOTHING",
        args![follow.source.to_string(), follow.target.to_string(), limit as i64],
    )
    .await?;
    Ok(())
}
