//! Feed management on SQLite: the statements come from `sql::feeds`.

use rusqlite::{params, params_from_iter};

use super::{db_err, docs, from_doc, sqlite_values, to_doc, SqliteStore};
use crate::core::error::Result;
use crate::core::model::{Feed, FeedMember, Fid};
use crate::core::storage::{ExtraWrites, Grants, ListQuery, Reader, SuggestedFeed};
use crate::core::time::Timestamp;
use crate::store::sql::{self, Dialect};

impl SqliteStore {
    pub(super) async fn feeds_matching(&self, q: &ListQuery, reader: &Reader, now: Timestamp) -> Result<Vec<Feed>> {
        let (sql, params) = sql::feed_query(Dialect::Sqlite, q, reader, now)?;
        let values = sqlite_values(params)?;
        self.read(move |conn| docs(conn, &sql, values)).await
    }

    pub(super) async fn insert_feed_batch(
        &self,
        feeds: &[(Feed, Vec<FeedMember>)],
        extra: &ExtraWrites,
    ) -> Result<Vec<bool>> {
        let (feeds, extra) = (feeds.to_vec(), extra.clone());
        self.write(move |tx| {
            super::write_extra_tx(tx, &extra)?;
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO feeds (fid, group_id, created_by, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (fid) DO UPDATE SET created_by = excluded.created_by,
                        created_at = excluded.created_at, doc = excluded.doc
                     WHERE feeds.deleted_at IS NOT NULL",
                )
                .map_err(db_err)?;
            let mut written = Vec::with_capacity(feeds.len());
            for (f, members) in &feeds {
                let fid = f.fid.to_string();
                let row = params![fid, f.fid.group, f.created_by, f.created_at.0, to_doc(f)?];
                let new = stmt.execute(row).map_err(db_err)? > 0;
                // A feed's first members arrive with it.
                if new && !members.is_empty() {
                    super::write_members_tx(tx, &fid, members, &[], false)?;
                }
                written.push(new);
            }
            Ok(written)
        })
        .await
    }

    pub(super) async fn put_feed_batch(
        &self,
        feeds: &[Feed],
        if_updated_at: &[Timestamp],
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let (feeds, extra) = (feeds.to_vec(), extra.clone());
        let keys: Vec<[String; 1]> = feeds.iter().map(|f| [f.fid.to_string()]).collect();
        let expected: Vec<([String; 1], Timestamp)> = keys.into_iter().zip(if_updated_at.iter().copied()).collect();
        self.write(move |tx| {
            let expected: Vec<(&[String], Timestamp)> = expected.iter().map(|(k, at)| (&k[..], *at)).collect();
            if expected.len() != feeds.len() || !super::versions_hold(tx, sql::versions::FEED, &expected)? {
                return Ok(false);
            }
            super::write_extra_tx(tx, &extra)?;
            let mut stmt =
                tx.prepare_cached("UPDATE feeds SET created_by = ?2, doc = ?3 WHERE fid = ?1").map_err(db_err)?;
            for f in &feeds {
                stmt.execute(params![f.fid.to_string(), f.created_by, to_doc(f)?]).map_err(db_err)?;
            }
            Ok(true)
        })
        .await
    }

    pub(super) async fn totals_of_feed(&self, fid: &Fid, now: Timestamp) -> Result<(i64, i64)> {
        let (sql, params) = sql::feed_totals_query(Dialect::Sqlite, fid, now);
        let values = sqlite_values(params)?;
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            stmt.query_row(params_from_iter(values), |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)
        })
        .await
    }

    pub(super) async fn suggest_feeds(
        &self,
        user: &str,
        group: &str,
        limit: usize,
        grants: &Grants,
    ) -> Result<Vec<SuggestedFeed>> {
        let (sql, params) = sql::follow_suggestions_query(Dialect::Sqlite, user, group, limit, grants);
        let values = sqlite_values(params)?;
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(values), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                })
                .map_err(db_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (doc, friends, followers) = row.map_err(db_err)?;
                out.push(SuggestedFeed { feed: from_doc(&doc)?, friends, followers });
            }
            Ok(out)
        })
        .await
    }
}
