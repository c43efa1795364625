use crate::args;
use crate::core::error::{Error, Result};
use crate::core::model::{Activity, Fid};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Tx};
use crate::store::{dialect, sql};

/// Writes one activity and keeps its feed entries in step with its feed
/// list. Only the difference is applied on update, so entries that exist
/// for other reasons (history kept on unfollow, the copy limit of a follow)
/// are left as they are. Returns the stored `created_at`: an activity that
/// exists keeps its own.
pub(crate) async fn save_activity(tx: &mut dyn Tx, a: &Activity) -> Result<Timestamp> {
    dialect::lock_activity_id(tx, &a.id).await?;
    let old: Option<Activity> = tx.doc("SELECT doc FROM activities WHERE id = $1", args![&a.id]).await?;
    check_parent(tx, a, old.as_ref()).await?;
    let created_at = old.as_ref().map_or(a.created_at, |o| o.created_at);
    let doc = if created_at == a.created_at { Arg::doc(a)? } else { Arg::doc(&Activity { created_at, ..a.clone() })? };
    tx.exec(
        "INSERT INTO activities (id, user_id, created_at, deleted_at, expires_at, doc, parent_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, deleted_at = excluded.deleted_at,
            expires_at = excluded.expires_at, doc = excluded.doc",
        args![&a.id, &a.user_id, a.created_at, a.deleted_at, a.expires_at, doc, &a.parent_id],
    )
    .await?;
    let (visible_until, private_to) = (a.visible_until(), a.private_to());
    if old.as_ref().is_some_and(|o| o.visible_until() != visible_until || o.private_to() != private_to) {
        tx.exec(
            "UPDATE feed_entries SET visible_until = $2, private_to = $3 WHERE activity_id = $1",
            args![&a.id, visible_until, private_to],
        )
        .await?;
    }
    let old_feeds = old.map(|o| o.feeds).unwrap_or_default();
    let added: Vec<String> = a.feeds.iter().filter(|f| !old_feeds.contains(f)).map(Fid::to_string).collect();
    let removed: Vec<String> = old_feeds.iter().filter(|f| !a.feeds.contains(f)).map(Fid::to_string).collect();
    for fid in &added {
        tx.exec(
            "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
             VALUES ($1, $2, $3, TRUE, $4, $5)
             ON CONFLICT (fid, created_at, activity_id) DO UPDATE SET direct = TRUE",
            args![fid, created_at, &a.id, visible_until, private_to],
        )
        .await?;
    }
    if !added.is_empty() {
        // Fan-out on write: one statement copies the entry into every
        // accepted follower feed of every origin feed.
        tx.exec(
            "INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
             SELECT source, $2, $3, FALSE, $4, $5 FROM follows WHERE target = ANY($1) AND status = 'accepted'
             ON CONFLICT DO NOTHING",
            args![added, created_at, &a.id, visible_until, private_to],
        )
        .await?;
    }
    if !removed.is_empty() {
        // The activity leaves feeds: drop it there and in the follower
        // feeds that received it only through them.
        let remaining: Vec<String> = a.feeds.iter().map(Fid::to_string).collect();
        tx.exec("DELETE FROM feed_entries WHERE fid = ANY($1) AND activity_id = $2", args![&removed, &a.id]).await?;
        tx.exec(
            "DELETE FROM feed_entries WHERE activity_id = $1 AND NOT direct
               AND fid IN (SELECT source FROM follows WHERE target = ANY($2))
               AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.source = feed_entries.fid
                               AND f.status = 'accepted' AND f.target = ANY($3))",
            args![&a.id, removed, remaining],
        )
        .await?;
    }
    Ok(created_at)
}

/// A new reply or share needs a live parent, checked where it is written so
/// a parent deleted meanwhile cannot be missed.
async fn check_parent(tx: &mut dyn Tx, a: &Activity, old: Option<&Activity>) -> Result<()> {
    let Some(parent) = a.parent_id.as_ref().filter(|p| old.is_none_or(|o| o.parent_id.as_ref() != Some(*p))) else {
        return Ok(());
    };
    if tx.row(sql::LIVE_ACTIVITY, args![parent]).await?.is_none() {
        return Err(Error::field("parent_id", format!("parent activity {parent} does not exist")));
    }
    Ok(())
}

/// Removes the activities with everything that hangs off them; returns the
/// ids that existed.
pub(crate) async fn purge_activities(tx: &mut dyn Tx, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    for statement in [
        "DELETE FROM feed_entries WHERE activity_id = ANY($1)",
        "DELETE FROM reactions WHERE activity_id = ANY($1)",
        "DELETE FROM pins WHERE activity_id = ANY($1)",
        "DELETE FROM activity_feedback WHERE activity_id = ANY($1)",
        "DELETE FROM activity_metrics WHERE activity_id = ANY($1)",
        "DELETE FROM metric_quota WHERE activity_id = ANY($1)",
        "DELETE FROM comment_reactions WHERE comment_id IN
             (SELECT id FROM comments WHERE object_type = 'activity' AND object_id = ANY($1))",
        "DELETE FROM comments WHERE object_type = 'activity' AND object_id = ANY($1)",
        "DELETE FROM bookmarks WHERE activity_id = ANY($1)",
    ] {
        tx.exec(statement, args![ids]).await?;
    }
    tx.texts("DELETE FROM activities WHERE id = ANY($1) RETURNING id", args![ids]).await
}
