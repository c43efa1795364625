use std::collections::HashMap;

use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::events::Item;
use crate::core::model::{Feed, FeedCounts, FeedMember, Fid};
use crate::core::storage::{EnrichmentStore, ExtraWrites, FeedStore, Grants, ListQuery, Reader, SuggestedFeed};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Tx};
use crate::store::sql;

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

#[async_trait]
impl<D: Db> FeedStore for D {
    async fn get_feeds(&self, fids: &[Fid]) -> Result<Vec<Feed>> {
        super::docs_by_key(self, "feeds", "fid", &fids.iter().map(Fid::to_string).collect::<Vec<_>>()).await
    }

    async fn put_feed_with(&self, feed: &Feed, if_updated_at: Option<Timestamp>, extra: &ExtraWrites) -> Result<bool> {
        let fid = feed.fid.to_string();
        let mut tx = self.write().await?;
        if let Some(at) = if_updated_at {
            if !super::versions_hold(&mut *tx, sql::versions::FEED, &[(vec![fid.clone()], at)]).await? {
                return Ok(false);
            }
        }
        super::write_extra(&mut *tx, extra).await?;
        tx.exec(
            "INSERT INTO feeds (fid, group_id, created_by, created_at, doc) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (fid) DO UPDATE SET created_by = excluded.created_by, doc = excluded.doc",
            args![&fid, &feed.fid.group, &feed.created_by, feed.created_at, Arg::doc(feed)?],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn feed_counts(&self, fids: &[Fid], now: Timestamp) -> Result<HashMap<Fid, FeedCounts>> {
        // The counts feed responses show, read as the enrichment reads them;
        // a feed without a row counts zero everywhere.
        let mut out: HashMap<Fid, FeedCounts> = fids.iter().map(|f| (f.clone(), FeedCounts::default())).collect();
        for (feed, counts) in EnrichmentStore::feeds_with_counts(self, fids, now).await? {
            out.insert(feed.fid, counts);
        }
        Ok(out)
    }

    async fn purge_feed(&self, fid: &Fid) -> Result<()> {
        let fid = fid.to_string();
        let mut tx = self.write().await?;
        tx.exec("DELETE FROM feed_entries WHERE feed_seq = (SELECT seq FROM feeds WHERE fid = $1)", args![&fid])
            .await?;
        tx.exec("DELETE FROM pins WHERE fid = $1", args![&fid]).await?;
        super::aggregation::purge_feed(&mut *tx, &fid).await?;
        // The feeds on the other side of its follows count one fewer.
        tx.exec(
            "UPDATE feeds SET follower_count = follower_count - 1
             WHERE fid IN (SELECT target FROM follows WHERE source = $1 AND status = 'accepted')",
            args![&fid],
        )
        .await?;
        tx.exec(
            "UPDATE feeds SET following_count = following_count - 1
             WHERE fid IN (SELECT source FROM follows WHERE target = $1 AND status = 'accepted')",
            args![&fid],
        )
        .await?;
        tx.exec("DELETE FROM follows WHERE source = $1 OR target = $1", args![&fid]).await?;
        tx.exec("DELETE FROM feed_members WHERE fid = $1", args![&fid]).await?;
        tx.exec("DELETE FROM feeds WHERE fid = $1", args![&fid]).await?;
        tx.commit().await
    }

    async fn query_feeds(&self, q: &ListQuery, reader: &Reader, now: Timestamp) -> Result<Vec<Feed>> {
        let (sql, args) = sql::feed_query(self.dialect(), q, reader, now)?;
        self.read().await?.rows_once(&sql, &args).await?.iter().map(|r| r.doc(0)).collect()
    }

    async fn insert_feeds_with(&self, feeds: &[(Feed, Vec<FeedMember>)], extra: &ExtraWrites) -> Result<Vec<bool>> {
        let mut tx = self.write().await?;
        super::write_extra_but_each(&mut *tx, extra).await?;
        let mut written = Vec::with_capacity(feeds.len());
        for (f, members) in feeds {
            let fid = f.fid.to_string();
            let n = tx
                .exec(
                    "INSERT INTO feeds (fid, group_id, created_by, created_at, doc) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (fid) DO UPDATE SET created_by = excluded.created_by,
                        created_at = excluded.created_at, doc = excluded.doc
                     WHERE feeds.deleted_at IS NOT NULL",
                    args![&fid, &f.fid.group, &f.created_by, f.created_at, Arg::doc(f)?],
                )
                .await?;
            // A feed's first members arrive with it.
            if n > 0 && !members.is_empty() {
                super::write_members(&mut *tx, &fid, members, &[], false).await?;
            }
            if n > 0 {
                super::record_each(&mut *tx, extra, Item::Feed(f, members)).await?;
            }
            written.push(n > 0);
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn put_feeds_with(&self, feeds: &[Feed], if_updated_at: &[Timestamp], extra: &ExtraWrites) -> Result<bool> {
        let expected: Vec<(Vec<String>, Timestamp)> =
            feeds.iter().map(|f| vec![f.fid.to_string()]).zip(if_updated_at.iter().copied()).collect();
        if expected.len() != feeds.len() {
            return Ok(false);
        }
        let mut tx = self.write().await?;
        if !super::versions_hold(&mut *tx, sql::versions::FEED, &expected).await? {
            return Ok(false);
        }
        super::write_extra(&mut *tx, extra).await?;
        for f in feeds {
            tx.exec(
                "UPDATE feeds SET created_by = $2, doc = $3 WHERE fid = $1",
                args![f.fid.to_string(), &f.created_by, Arg::doc(f)?],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn feed_totals(&self, fid: &Fid, now: Timestamp) -> Result<(i64, i64)> {
        let (sql, args) = sql::feed_totals_query(self.dialect(), fid, now);
        match self.read().await?.row(&sql, &args).await? {
            Some(r) => Ok((r.int(0)?, r.int(1)?)),
            None => Ok((0, 0)),
        }
    }

    async fn follow_suggestions(
        &self,
        user: &str,
        group: &str,
        limit: usize,
        grants: &Grants,
    ) -> Result<Vec<SuggestedFeed>> {
        let (sql, args) = sql::follow_suggestions_query(self.dialect(), user, group, limit, grants);
        self.read()
            .await?
            .rows(&sql, &args)
            .await?
            .iter()
            .map(|r| Ok(SuggestedFeed { feed: r.doc(0)?, friends: r.int(1)?, followers: r.int(2)? }))
            .collect()
    }
}
