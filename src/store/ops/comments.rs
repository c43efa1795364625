use std::collections::HashMap;

use async_trait::async_trait;

use crate::args;
use crate::core::comments::VoteScores;
use crate::core::error::{Error, Result};
use crate::core::model::{Activity, Comment, Feed};
use crate::core::storage::{CommentStore, ExtraWrites, ListQuery};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Tx};
use crate::store::{dialect, sql};

/// Serialises vote changes on one comment, so each recount sees the
/// reactions committed before it; fails when the comment is gone.
pub(crate) async fn lock_comment(tx: &mut dyn Tx, comment_id: &str) -> Result<()> {
    let select = dialect::for_update(tx.dialect(), "SELECT 1 FROM comments WHERE id = $1");
    match tx.row(&select, args![comment_id]).await? {
        Some(_) => Ok(()),
        None => Err(Error::not_found("comment", comment_id)),
    }
}

/// Recounts a comment's votes and reactions from its reaction rows, inside
/// the transaction that changed them, and stores the scores they give.
pub(crate) async fn recount_comment_votes(tx: &mut dyn Tx, comment_id: &str) -> Result<()> {
    let counts = tx
        .row(
            "SELECT COUNT(*) FILTER (WHERE type = 'upvote'), COUNT(*) FILTER (WHERE type = 'downvote'), COUNT(*)
             FROM comment_reactions WHERE comment_id = $1",
            args![comment_id],
        )
        .await?
        .ok_or_else(|| Error::internal("no vote counts"))?;
    let (up, down, all) = (counts.int(0)?, counts.int(1)?, counts.int(2)?);
    let scores = VoteScores::of(up, down);
    tx.exec(
        "UPDATE comments SET upvote_count = $2, downvote_count = $3, reaction_count = $4, score = $5,
             confidence_score = $6, controversy_score = $7 WHERE id = $1",
        args![comment_id, up, down, all, scores.score, scores.confidence, scores.controversy],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl<D: Db> CommentStore for D {
    async fn insert_comments_with(
        &self,
        comments: &[Comment],
        notifications: &[Activity],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, extra).await?;
        for c in comments {
            let inserted = tx
                .exec(
                    "INSERT INTO comments (id, object_type, object_id, parent_id, user_id, status, created_at,
                                           updated_at, deleted_at, doc)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
                    args![
                        &c.id,
                        &c.object_type,
                        &c.object_id,
                        &c.parent_id,
                        &c.user_id,
                        &c.status,
                        c.created_at,
                        c.updated_at,
                        c.deleted_at,
                        Arg::doc(c)?
                    ],
                )
                .await?;
            if inserted == 0 {
                return Err(Error::field("id", format!("comment {} already exists", c.id)));
            }
            if let Some(parent) = &c.parent_id {
                tx.exec("UPDATE comments SET reply_count = reply_count + 1 WHERE id = $1", args![parent]).await?;
            }
        }
        for feed in new_feeds {
            super::insert_feed(&mut *tx, feed).await?;
        }
        for n in notifications {
            super::save_notification(&mut *tx, n, extra).await?;
        }
        tx.commit().await
    }

    async fn get_comments(&self, ids: &[String]) -> Result<Vec<Comment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql =
            format!("SELECT {} FROM comments t WHERE t.id = ANY($1)", sql::doc_select(self.dialect(), &sql::COMMENTS));
        self.read().await?.docs(&sql, args![ids]).await
    }

    async fn put_comment_with(
        &self,
        c: &Comment,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        if let Some(at) = if_updated_at {
            if !super::versions_hold(&mut *tx, sql::versions::COMMENT, &[(vec![c.id.clone()], at)]).await? {
                return Ok(false);
            }
        }
        super::write_extra(&mut *tx, extra).await?;
        tx.exec(
            "UPDATE comments SET status = $2, updated_at = $3, deleted_at = $4, doc = $5 WHERE id = $1",
            args![&c.id, &c.status, c.updated_at, c.deleted_at, Arg::doc(c)?],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn purge_comment_with(&self, id: &str, extra: &ExtraWrites) -> Result<Vec<String>> {
        let mut tx = self.write().await?;
        let select = dialect::for_update(self.dialect(), "SELECT parent_id FROM comments WHERE id = $1");
        let Some(row) = tx.row(&select, args![id]).await? else {
            return Ok(Vec::new());
        };
        let parent = row.opt_str(0)?.map(str::to_string);
        super::write_extra(&mut *tx, extra).await?;
        let thread = tx
            .texts(
                "WITH RECURSIVE thread(id) AS (SELECT CAST($1 AS TEXT) UNION ALL
                     SELECT c.id FROM comments c JOIN thread ON c.parent_id = thread.id)
                 SELECT id FROM thread",
                args![id],
            )
            .await?;
        tx.exec("DELETE FROM comment_reactions WHERE comment_id = ANY($1)", args![&thread]).await?;
        tx.exec("DELETE FROM comments WHERE id = ANY($1)", args![&thread]).await?;
        if let Some(parent) = parent {
            tx.exec("UPDATE comments SET reply_count = reply_count - 1 WHERE id = $1", args![parent]).await?;
        }
        tx.commit().await?;
        Ok(thread)
    }

    async fn query_comments(&self, q: &ListQuery) -> Result<Vec<Comment>> {
        super::list(self, &sql::COMMENTS, q).await
    }

    async fn comment_replies(
        &self,
        parents: &[String],
        sort: &[(&'static str, bool)],
        each: usize,
    ) -> Result<Vec<Comment>> {
        if parents.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, args) = sql::replies_query(self.dialect(), parents, sort, each)?;
        self.read().await?.rows_once(&sql, &args).await?.iter().map(|r| r.doc(0)).collect()
    }

    async fn activity_comments(
        &self,
        activity_ids: &[String],
        latest: usize,
    ) -> Result<(HashMap<String, i64>, Vec<Comment>)> {
        if activity_ids.is_empty() {
            return Ok(Default::default());
        }
        let mut db = self.read().await?;
        let mut counts = HashMap::new();
        for r in db
            .rows(
                "SELECT object_id, COUNT(*) FROM comments WHERE object_type = 'activity' AND object_id = ANY($1)
                 AND deleted_at IS NULL GROUP BY object_id",
                args![activity_ids],
            )
            .await?
        {
            counts.insert(r.text(0)?, r.int(1)?);
        }
        let d = self.dialect();
        let newest = sql::newest_comments(d, dialect::Keys::List, "$2");
        let newest = format!("SELECT r.doc FROM {newest} ORDER BY r.created_at DESC, r.id DESC");
        let newest = db.docs(&newest, args![activity_ids, latest]).await?;
        Ok((counts, newest))
    }
}
