//! Notification activities: what a reaction, comment, reply or mention puts
//! into the `notification` feed of the user it concerns. Their ids derive
//! from what caused them, so a repeat inside the notification group's
//! `deduplication_window` lands on the same id (not created twice), and a
//! delete can find them again to withdraw them.

use serde_json::{json, Value};

use super::error::Result;
use super::feed_groups::parse_window;
use super::feeds::resolve_feeds;
use super::model::{Activity, Comment, Custom, Feed, Fid};
use super::time::Timestamp;
use super::Ctx;

/// One notification to create: `kind` is the trigger type (`comment`,
/// `comment_reply`, `reaction`, `comment_reaction`, `mention`).
pub struct Notice<'a> {
    pub kind: &'a str,
    /// Who acted, and who is told.
    pub actor: &'a str,
    pub recipient: &'a str,
    /// What was acted on (activity or comment id), for the dedupe key.
    pub object_id: &'a str,
    pub text: Option<String>,
    /// The comment that triggered it, as `notification_comment` shows it.
    pub comment: Option<Value>,
    pub target: Value,
    pub custom: Custom,
}

/// The id of the notification `notice` creates now: the same for a repeat
/// inside the deduplication window.
pub fn notification_id(kind: &str, object_id: &str, actor: &str, recipient: &str, bucket: i64) -> String {
    let key = format!("{kind}\u{1f}{object_id}\u{1f}{actor}\u{1f}{recipient}\u{1f}{bucket}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes()).to_string()
}

/// The deduplication window of the `notification` group in nanoseconds;
/// 0 (the default, `""` or `"0"`) deduplicates forever.
pub async fn dedup_window(ctx: &Ctx) -> Result<i64> {
    let group = ctx.store.get_feed_group("notification").await?;
    let window = group
        .and_then(|g| g.config.notification)
        .and_then(|n| n.get("deduplication_window").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    Ok(parse_window(&window).unwrap_or(0))
}

/// Which window `now` falls in (0 for "forever").
pub fn bucket(window: i64, now: Timestamp) -> i64 {
    if window > 0 {
        now.0 / window
    } else {
        0
    }
}

/// The notification activity for `notice`, or `None` when the actor would
/// notify themselves.
pub fn build(notice: &Notice, window: i64, now: Timestamp) -> Option<Activity> {
    if notice.actor == notice.recipient {
        return None;
    }
    let fid = Fid::new("notification", notice.recipient).ok()?;
    let mut trigger = json!({"type": notice.kind, "text": trigger_text(notice.kind, notice.actor)});
    if let (Some(comment), Some(map)) = (&notice.comment, trigger.as_object_mut()) {
        map.insert("comment".into(), comment.clone());
    }
    Some(Activity {
        id: notification_id(notice.kind, notice.object_id, notice.actor, notice.recipient, bucket(window, now)),
        kind: notice.kind.to_string(),
        user_id: notice.actor.to_string(),
        feeds: vec![fid],
        text: notice.text.clone(),
        custom: notice.custom.clone(),
        notification_context: Some(json!({"trigger": trigger, "target": notice.target})),
        created_at: now,
        updated_at: now,
        ..Activity::blank()
    })
}

fn trigger_text(kind: &str, actor: &str) -> String {
    match kind {
        "comment" => format!("{actor} commented on your activity"),
        "comment_reply" => format!("{actor} replied to your comment"),
        "reaction" => format!("{actor} reacted to your activity"),
        "comment_reaction" => format!("{actor} reacted to your comment"),
        "mention" => format!("{actor} mentioned you"),
        "follow" => format!("{actor} started following you"),
        other => format!("{actor}: {other}"),
    }
}

/// A comment as notification contexts show it.
pub fn notification_comment(c: &Comment) -> Value {
    json!({"id": c.id, "user_id": c.user_id, "comment": c.text.clone().unwrap_or_default(),
           "attachments": c.attachments})
}

/// What a notification about `activity` points at.
pub fn activity_target(activity: &Activity) -> Value {
    let mut target = json!({
        "id": activity.id,
        "type": activity.kind,
        "user_id": activity.user_id,
        "attachments": activity.attachments,
    });
    if let (Some(text), Some(map)) = (&activity.text, target.as_object_mut()) {
        map.insert("text".into(), Value::String(text.clone()));
    }
    target
}

/// Drops notifications that exist already (a repeat inside the window) and
/// returns the rest with the notification feeds that must be created.
pub async fn fresh(ctx: &Ctx, notifications: Vec<Activity>) -> Result<(Vec<Activity>, Vec<Feed>)> {
    if notifications.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let ids: Vec<String> = notifications.iter().map(|n| n.id.clone()).collect();
    let existing: Vec<String> = ctx.store.get_activities(&ids).await?.into_iter().map(|a| a.id).collect();
    let fresh: Vec<Activity> = notifications.into_iter().filter(|n| !existing.contains(&n.id)).collect();
    let fids: Vec<Fid> = fresh.iter().flat_map(|n| n.feeds.clone()).collect();
    // Notification feeds belong to the notified user, whoever writes.
    let new_feeds = resolve_feeds(ctx, &fids, None).await?.1;
    Ok((fresh, new_feeds))
}

/// The id of the notification `kind` of `object_id` by `actor` for
/// `recipient` that was made at `made_at` (its window names it), for the
/// request that withdraws it to purge in its transaction.
pub async fn made_id(
    ctx: &Ctx,
    kind: &str,
    object_id: &str,
    actor: &str,
    recipient: &str,
    made_at: Timestamp,
) -> Result<String> {
    Ok(notification_id(kind, object_id, actor, recipient, bucket(dedup_window(ctx).await?, made_at)))
}
