//! Feed management on PostgreSQL: the statements come from `sql::feeds`.

use super::{db_err, docs, from_doc, pg_params, to_doc, PostgresStore, Sql};
use crate::core::error::Result;
use crate::core::model::{Feed, FeedMember, Fid};
use crate::core::storage::{ExtraWrites, Grants, ListQuery, Reader, SuggestedFeed};
use crate::core::time::Timestamp;
use crate::store::sql::{self, Dialect};

impl PostgresStore {
    pub(super) async fn feeds_matching(&self, q: &ListQuery, reader: &Reader, now: Timestamp) -> Result<Vec<Feed>> {
        let (text, params) = sql::feed_query(Dialect::Postgres, q, reader, now)?;
        let bound = Sql { text, params: pg_params(params) };
        let client = self.client().await?;
        let rows = client.query(&bound.text, &bound.refs()).await.map_err(db_err)?;
        docs(&rows)
    }

    pub(super) async fn insert_feed_batch(
        &self,
        feeds: &[(Feed, Vec<FeedMember>)],
        extra: &ExtraWrites,
    ) -> Result<Vec<bool>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        super::write_extra_tx(&tx, extra).await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO feeds (fid, group_id, created_by, created_at, doc)
                 VALUES ($1, $2, $3, $4, $5::text::jsonb)
                 ON CONFLICT (fid) DO UPDATE SET created_by = excluded.created_by,
                    created_at = excluded.created_at, doc = excluded.doc
                 WHERE feeds.deleted_at IS NOT NULL",
            )
            .await
            .map_err(db_err)?;
        let mut written = Vec::with_capacity(feeds.len());
        for (f, members) in feeds {
            let fid = f.fid.to_string();
            let n = tx
                .execute(&stmt, &[&fid, &f.fid.group, &f.created_by, &f.created_at.0, &to_doc(f)?])
                .await
                .map_err(db_err)?;
            // A feed's first members arrive with it.
            if n > 0 && !members.is_empty() {
                super::write_members_tx(&tx, &fid, members, &[], false).await?;
            }
            written.push(n > 0);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(written)
    }

    pub(super) async fn put_feed_batch(
        &self,
        feeds: &[Feed],
        if_updated_at: &[Timestamp],
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let expected: Vec<(Vec<String>, Timestamp)> =
            feeds.iter().map(|f| vec![f.fid.to_string()]).zip(if_updated_at.iter().copied()).collect();
        if expected.len() != feeds.len() || !super::versions_hold(&tx, sql::versions::FEED, &expected).await? {
            return Ok(false);
        }
        super::write_extra_tx(&tx, extra).await?;
        let stmt = tx
            .prepare_cached("UPDATE feeds SET created_by = $2, doc = $3::text::jsonb WHERE fid = $1")
            .await
            .map_err(db_err)?;
        for f in feeds {
            tx.execute(&stmt, &[&f.fid.to_string(), &f.created_by, &to_doc(f)?]).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    pub(super) async fn totals_of_feed(&self, fid: &Fid, now: Timestamp) -> Result<(i64, i64)> {
        let (text, params) = sql::feed_totals_query(Dialect::Postgres, fid, now);
        let bound = Sql { text, params: pg_params(params) };
        let client = self.client().await?;
        let stmt = client.prepare_cached(&bound.text).await.map_err(db_err)?;
        let row = client.query_one(&stmt, &bound.refs()).await.map_err(db_err)?;
        Ok((row.get(0), row.get(1)))
    }

    pub(super) async fn suggest_feeds(
        &self,
        user: &str,
        group: &str,
        limit: usize,
        grants: &Grants,
    ) -> Result<Vec<SuggestedFeed>> {
        let (text, params) = sql::follow_suggestions_query(Dialect::Postgres, user, group, limit, grants);
        let bound = Sql { text, params: pg_params(params) };
        let client = self.client().await?;
        let stmt = client.prepare_cached(&bound.text).await.map_err(db_err)?;
        let rows = client.query(&stmt, &bound.refs()).await.map_err(db_err)?;
        rows.iter()
            .map(|r| Ok(SuggestedFeed { feed: from_doc(r.get::<_, &str>(0))?, friends: r.get(1), followers: r.get(2) }))
            .collect()
    }
}
