use crate::args;
use crate::core::error::Result;
use crate::core::model::Feed;
use crate::store::db::{Arg, Tx};

/// Inserts the feed unless its fid exists; returns whether it did.
pub(crate) async fn insert_feed(tx: &mut dyn Tx, feed: &Feed) -> Result<bool> {
    let n = tx
        .exec(
            "INSERT INTO feeds (fid, group_id, created_by, created_at, doc) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (fid) DO NOTHING",
            args![feed.fid.to_string(), &feed.fid.group, &feed.created_by, feed.created_at, Arg::doc(feed)?],
        )
        .await?;
    Ok(n > 0)
}
