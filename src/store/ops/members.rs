use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::events::Item;
use crate::core::model::{FeedMember, Fid};
use crate::core::storage::{ExtraWrites, ListQuery, MemberStore};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Tx};
use crate::store::{dialect, sql};

/// Upserts `members` of `fid`, deletes those in `remove` (or, when
/// `replace`, everyone not in `members`) and returns the ids removed.
pub(crate) async fn write_members(
    tx: &mut dyn Tx,
    fid: &str,
    members: &[FeedMember],
    remove: &[String],
    replace: bool,
) -> Result<Vec<String>> {
    // The feed's row lock orders member writes, so each recount below sees
    // the writes before it.
    dialect::lock_feeds(tx, &[fid.to_string()]).await?;
    let removed = if replace {
        let keep: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        tx.texts(
            "DELETE FROM feed_members WHERE fid = $1 AND NOT (user_id = ANY($2)) RETURNING user_id",
            args![fid, keep],
        )
        .await?
    } else if remove.is_empty() {
        Vec::new()
    } else {
        tx.texts("DELETE FROM feed_members WHERE fid = $1 AND user_id = ANY($2) RETURNING user_id", args![fid, remove])
            .await?
    };
    for m in members {
        tx.exec(
            "INSERT INTO feed_members (fid, user_id, role, status, created_at, updated_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (fid, user_id) DO UPDATE SET role = excluded.role, status = excluded.status,
                 updated_at = excluded.updated_at, doc = excluded.doc",
            args![fid, &m.user_id, &m.role, &m.status, m.created_at, m.updated_at, Arg::doc(m)?],
        )
        .await?;
    }
    tx.exec(
        "UPDATE feeds SET member_count = (SELECT COUNT(*) FROM feed_members WHERE fid = $1 AND status = 'member')
         WHERE fid = $1",
        args![fid],
    )
    .await?;
    Ok(removed)
}

/// Whether each of `members` still has the version in `expected` (None:
/// it is no member yet). Locks the feed row first, as every member write
/// does, so no member of it changes or appears until commit.
pub(crate) async fn member_versions_hold(
    tx: &mut dyn Tx,
    fid: &str,
    members: &[FeedMember],
    expected: &[Option<Timestamp>],
) -> Result<bool> {
    dialect::lock_feeds(tx, &[fid.to_string()]).await?;
    for (m, at) in members.iter().zip(expected) {
        let found = tx.row(sql::versions::FEED_MEMBER, args![fid, &m.user_id]).await?;
        if found.map(|r| r.int(0)).transpose()? != at.map(|t| t.0) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[async_trait]
impl<D: Db> MemberStore for D {
    async fn write_members_with(
        &self,
        fid: &Fid,
        members: &[FeedMember],
        remove: &[String],
        replace: bool,
        if_updated_at: Option<&[Option<Timestamp>]>,
        extra: &ExtraWrites,
    ) -> Result<Option<Vec<String>>> {
        let mut tx = self.write().await?;
        let fid = fid.to_string();
        if let Some(expected) = if_updated_at {
            if !member_versions_hold(&mut *tx, &fid, members, expected).await? {
                return Ok(None);
            }
        }
        super::write_extra_but_each(&mut *tx, extra).await?;
        let removed = write_members(&mut *tx, &fid, members, remove, replace).await?;
        for user_id in &removed {
            super::record_each(&mut *tx, extra, Item::Member(user_id)).await?;
        }
        tx.commit().await?;
        Ok(Some(removed))
    }

    async fn get_members(&self, fid: &Fid, user_ids: &[String]) -> Result<Vec<FeedMember>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = "SELECT doc FROM feed_members WHERE fid = $1 AND user_id = ANY($2)";
        self.read().await?.docs(sql, args![fid.to_string(), user_ids]).await
    }

    async fn memberships(&self, user_id: &str, fids: &[Fid]) -> Result<Vec<FeedMember>> {
        if fids.is_empty() {
            return Ok(Vec::new());
        }
        let fids: Vec<String> = fids.iter().map(Fid::to_string).collect();
        let sql = "SELECT doc FROM feed_members WHERE user_id = $1 AND fid = ANY($2)";
        self.read().await?.docs(sql, args![user_id, fids]).await
    }

    async fn query_members(&self, q: &ListQuery) -> Result<Vec<FeedMember>> {
        super::list(self, &sql::FEED_MEMBERS, q).await
    }
}
