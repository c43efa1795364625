//! A user's records, read in keyset pages for export and deletion
//! (`core::user_data`), and the exports' stored chunks.

use async_trait::async_trait;
use serde_json::Value;

use crate::args;
use crate::core::error::Result;
use crate::core::storage::{UserDataKey, UserDataKind, UserDataStore};
use crate::core::time::Timestamp;
use crate::store::db::Db;
use crate::store::sql;

/// How one kind of record is found by its user: the tables, the column
/// naming the user, and the key columns the pages walk — `created_at`, then
/// two columns that make the position unique within the user. Each walk
/// starts from an index on (user column, created_at).
struct Source {
    from: &'static str,
    owner: &'static str,
    created_at: &'static str,
    key: &'static str,
    subkey: &'static str,
    doc: &'static str,
}

/// The plain kinds; follows are walked feed by feed (`follows_page`).
fn source(kind: UserDataKind) -> Source {
    let plain =
        |from, key, subkey| Source { from, owner: "user_id", created_at: "created_at", key, subkey, doc: "doc" };
    match kind {
        UserDataKind::Feeds => Source { owner: "created_by", ..plain("feeds", "fid", "CAST('' AS TEXT)") },
        UserDataKind::Activities => plain("activities", "id", "CAST('' AS TEXT)"),
        UserDataKind::ActivityReactions => plain("reactions", "activity_id", "type"),
        UserDataKind::CommentReactions => plain("comment_reactions", "comment_id", "type"),
        UserDataKind::Comments => plain("comments", "id", "CAST('' AS TEXT)"),
        UserDataKind::Bookmarks => plain("bookmarks", "object_type || ':' || object_id", "folder_id"),
        UserDataKind::BookmarkFolders => plain("bookmark_folders", "id", "CAST('' AS TEXT)"),
        UserDataKind::Memberships => plain("feed_members", "fid", "CAST('' AS TEXT)"),
        UserDataKind::Collections => plain("collections", "name", "id"),
        UserDataKind::PollVotes => plain("poll_votes", "id", "CAST('' AS TEXT)"),
        UserDataKind::Follows | UserDataKind::Followers | UserDataKind::StoryWatches | UserDataKind::Uploads => {
            unreachable!("follows, story watches and uploads are walked by their own pages")
        }
    }
}

/// Follows from (`side` = `source`) or into (`target`) the user's feeds, a
/// feed at a time in fid order, each feed's in `(created_at, other end)`
/// order from its index: a page reads only its own rows, even for a feed
/// with a million followers. The key is the user's feed, the subkey the
/// other end.
async fn follows_page(
    db: &(impl Db + ?Sized),
    user_id: &str,
    side: &'static str,
    after: Option<&UserDataKey>,
    limit: usize,
) -> Result<Vec<(UserDataKey, Value)>> {
    let other = if side == "source" { "target" } else { "source" };
    let mut tx = db.read().await?;
    let from_feed = after.map_or("", |a| a.key.as_str());
    let feeds = tx
        .texts("SELECT fid FROM feeds WHERE created_by = $1 AND fid >= $2 ORDER BY fid", args![user_id, from_feed])
        .await?;
    let sql = format!(
        "SELECT created_at, {other}, doc FROM follows WHERE {side} = $1 AND (created_at, {other}) > ($2, $3)
         ORDER BY created_at, {other} LIMIT {}",
        sql::limit(limit)
    );
    let mut page = Vec::new();
    for fid in feeds {
        let (created_at, subkey) = match after.filter(|a| a.key == fid) {
            Some(a) => (a.created_at, a.subkey.clone()),
            None => (i64::MIN, String::new()),
        };
        let rows = tx.rows(&sql, args![&fid, created_at, subkey]).await?;
        // The statement reads up to a whole page; the rest of one is kept.
        for r in rows.iter().take(limit - page.len()) {
            let key = UserDataKey { created_at: r.int(0)?, key: fid.clone(), subkey: r.text(1)? };
            page.push((key, r.doc(2)?));
        }
        if page.len() >= limit {
            break;
        }
    }
    Ok(page)
}

/// The stories the user marked watched, in activity id order along the
/// table's primary key (`created_at` is 0 throughout; the key is the id).
async fn watches_page(
    db: &(impl Db + ?Sized),
    user_id: &str,
    after: Option<&UserDataKey>,
    limit: usize,
) -> Result<Vec<(UserDataKey, Value)>> {
    let sql = format!(
        "SELECT activity_id, watched_at FROM story_watches WHERE user_id = $1 AND activity_id > $2
         ORDER BY activity_id LIMIT {}",
        sql::limit(limit)
    );
    let from = after.map_or("", |a| a.key.as_str());
    let rows = db.read().await?.rows(&sql, args![user_id, from]).await?;
    rows.iter()
        .map(|r| {
            let (id, at) = (r.text(0)?, r.int(1)?);
            let doc = serde_json::json!({"activity_id": id, "watched_at": at});
            Ok((UserDataKey { created_at: 0, key: id, subkey: String::new() }, doc))
        })
        .collect()
}

/// The user's uploads along their index (`user_id`, `created_at`), the key
/// making the position unique.
async fn uploads_page(
    db: &(impl Db + ?Sized),
    user_id: &str,
    after: Option<&UserDataKey>,
    limit: usize,
) -> Result<Vec<(UserDataKey, Value)>> {
    let sql = format!(
        "SELECT created_at, key, kind, content_type, size FROM uploads
         WHERE user_id = $1 AND (created_at, key) > ($2, $3) ORDER BY created_at, key LIMIT {}",
        sql::limit(limit)
    );
    let (created_at, key) = after.map_or((i64::MIN, ""), |a| (a.created_at, a.key.as_str()));
    let rows = db.read().await?.rows(&sql, args![user_id, created_at, key]).await?;
    rows.iter()
        .map(|r| {
            let (created_at, key) = (r.int(0)?, r.text(1)?);
            let doc = serde_json::json!({
                "key": key, "kind": r.text(2)?, "content_type": r.text(3)?, "size": r.int(4)?, "created_at": created_at,
            });
            Ok((UserDataKey { created_at, key, subkey: String::new() }, doc))
        })
        .collect()
}

#[async_trait]
impl<D: Db> UserDataStore for D {
    async fn user_data_page(
        &self,
        user_id: &str,
        kind: UserDataKind,
        after: Option<&UserDataKey>,
        limit: usize,
    ) -> Result<Vec<(UserDataKey, Value)>> {
        match kind {
            UserDataKind::Follows => return follows_page(self, user_id, "source", after, limit).await,
            UserDataKind::Followers => return follows_page(self, user_id, "target", after, limit).await,
            UserDataKind::StoryWatches => return watches_page(self, user_id, after, limit).await,
            UserDataKind::Uploads => return uploads_page(self, user_id, after, limit).await,
            _ => {}
        }
        let Source { from, owner, created_at, key, subkey, doc } = source(kind);
        let after =
            after.cloned().unwrap_or(UserDataKey { created_at: i64::MIN, key: String::new(), subkey: String::new() });
        let sql = format!(
            "SELECT {created_at}, {key}, {subkey}, {doc} FROM {from}
             WHERE {owner} = $1 AND ({created_at}, {key}, {subkey}) > ($2, $3, $4)
             ORDER BY {created_at}, {key}, {subkey} LIMIT {}",
            sql::limit(limit)
        );
        let args = args![user_id, after.created_at, &after.key, &after.subkey];
        let rows = self.read().await?.rows(&sql, args).await?;
        rows.iter()
            .map(|r| Ok((UserDataKey { created_at: r.int(0)?, key: r.text(1)?, subkey: r.text(2)? }, r.doc(3)?)))
            .collect()
    }

    async fn delete_story_watches(&self, user_id: &str, activity_ids: &[String]) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec("DELETE FROM story_watches WHERE user_id = $1 AND activity_id = ANY($2)", args![user_id, activity_ids])
            .await?;
        tx.commit().await
    }

    async fn begin_export(&self, id: &str, user_id: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec("DELETE FROM user_export_chunks WHERE export_id = $1", args![id]).await?;
        tx.exec(
            "INSERT INTO user_exports (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, NULL)
             ON CONFLICT (id) DO UPDATE SET expires_at = NULL",
            args![id, user_id, now],
        )
        .await?;
        tx.commit().await
    }

    async fn put_export_chunk(&self, id: &str, seq: i64, body: &str) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec("INSERT INTO user_export_chunks (export_id, seq, body) VALUES ($1, $2, $3)", args![id, seq, body])
            .await?;
        tx.commit().await
    }

    async fn finish_export(&self, id: &str, expires_at: Timestamp, now: Timestamp) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec("UPDATE user_exports SET expires_at = $2 WHERE id = $1", args![id, expires_at]).await?;
        let expired = tx.texts("DELETE FROM user_exports WHERE expires_at < $1 RETURNING id", args![now]).await?;
        if !expired.is_empty() {
            tx.exec("DELETE FROM user_export_chunks WHERE export_id = ANY($1)", args![expired]).await?;
        }
        tx.commit().await
    }

    async fn get_export(&self, id: &str) -> Result<Option<(String, Timestamp)>> {
        let row = self
            .read()
            .await?
            .row("SELECT user_id, expires_at FROM user_exports WHERE id = $1 AND expires_at IS NOT NULL", args![id])
            .await?;
        row.map(|r| Ok((r.text(0)?, Timestamp(r.int(1)?)))).transpose()
    }

    async fn export_chunks(&self, id: &str, after_seq: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        let rows = self
            .read()
            .await?
            .rows(
                &format!(
                    "SELECT seq, body FROM user_export_chunks WHERE export_id = $1 AND seq > $2 ORDER BY seq LIMIT {}",
                    sql::limit(limit)
                ),
                args![id, after_seq],
            )
            .await?;
        rows.iter().map(|r| Ok((r.int(0)?, r.text(1)?))).collect()
    }
}
