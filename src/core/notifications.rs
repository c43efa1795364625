//! Notification activities: what a reaction, comment, reply or mention puts
//! into the `notification` feed of the user it concerns.
//!
//! Deduplication: a notification's dedup key is (trigger, object, actor,
//! recipient). Without a `deduplication_window` (`""`/`"0"`: forever) its id
//! derives from the key alone, so a repeat lands on the same id and is not
//! created twice. With a window, the window slides: a repeat is a duplicate
//! when the key's last notification was recorded less than the window before
//! it — decided in the write transaction (`storage::NotificationWindow`), so
//! concurrent repeats notify once — and each notification gets an id of its
//! own (the key and the time it was made). A delete finds the notification
//! a trigger made (or joined) again to withdraw it.

use serde_json::{json, Value};

use super::error::Result;
use super::feed_groups::parse_window;
use super::feeds::resolve_feeds;
use super::model::{Activity, Comment, Custom, Feed, Fid};
use super::storage::NotificationWindow;
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

/// Which epoch-aligned window `now` fell in (0 for "forever"): how ids of
/// windowed notifications were made before windows slid, for withdrawing
/// those.
pub fn bucket(window: i64, now: Timestamp) -> i64 {
    if window > 0 {
        now.0 / window
    } else {
        0
    }
}

/// The deduplication key of a notification: what its repeats share.
pub fn dedup_key(kind: &str, object_id: &str, actor: &str, recipient: &str) -> String {
    let key = format!("dedup\u{1f}{kind}\u{1f}{object_id}\u{1f}{actor}\u{1f}{recipient}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes()).to_string()
}

/// The notification activity for `notice`, or `None` when the actor would
/// notify themselves. Its id derives from the notice alone: a repeat lands
/// on it (deduplication forever).
pub fn build(notice: &Notice, now: Timestamp) -> Option<Activity> {
    made(notice, now, 0)
}

/// `build` under the `window` (ns, 0 forever) of the notification group: a
/// notification made with a window has an id of its own and comes with the
/// `NotificationWindow` that decides, in the write, whether it is a repeat.
pub fn build_windowed(notice: &Notice, window: i64, now: Timestamp) -> Option<(Activity, Option<NotificationWindow>)> {
    if window <= 0 {
        return build(notice, now).map(|n| (n, None));
    }
    let n = made(notice, now, now.0)?;
    let key = dedup_key(notice.kind, notice.object_id, notice.actor, notice.recipient);
    let w = NotificationWindow { activity_id: n.id.clone(), key, window };
    Some((n, Some(w)))
}

fn made(notice: &Notice, now: Timestamp, bucket: i64) -> Option<Activity> {
    if notice.actor == notice.recipient {
        return None;
    }
    let fid = Fid::new("notification", notice.recipient).ok()?;
    let mut trigger = json!({"type": notice.kind, "text": trigger_text(notice.kind, notice.actor)});
    if let (Some(comment), Some(map)) = (&notice.comment, trigger.as_object_mut()) {
        map.insert("comment".into(), comment.clone());
    }
    Some(Activity {
        id: notification_id(notice.kind, notice.object_id, notice.actor, notice.recipient, bucket),
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

/// Notifications to write, with the sliding windows that decide in the
/// write whether each is a repeat, and the notification feeds to create.
#[derive(Default)]
pub struct Fresh {
    pub notifications: Vec<Activity>,
    pub windows: Vec<NotificationWindow>,
    pub feeds: Vec<Feed>,
}

/// Drops notifications that are repeats as things stand (the same id
/// exists, or the key's last notification is younger than its window) and
/// returns the rest with the notification feeds that must be created. The
/// write decides again for the windowed ones (a concurrent repeat may land
/// in between); this answer is what the request reports as created.
pub async fn fresh(ctx: &Ctx, made: Vec<(Activity, Option<NotificationWindow>)>) -> Result<Fresh> {
    if made.is_empty() {
        return Ok(Fresh::default());
    }
    let ids: Vec<String> = made.iter().map(|(n, _)| n.id.clone()).collect();
    let existing: Vec<String> = ctx.store.get_activities(&ids).await?.into_iter().map(|a| a.id).collect();
    let mut out = Fresh::default();
    for (n, w) in made {
        if existing.contains(&n.id) {
            continue;
        }
        if let Some(w) = &w {
            let last = ctx.store.windowed_notification(&w.key, n.created_at).await?;
            if last.is_some_and(|(_, at)| n.created_at.0 - at.0 < w.window) {
                continue;
            }
        }
        out.windows.extend(w);
        out.notifications.push(n);
    }
    let fids: Vec<Fid> = out.notifications.iter().flat_map(|n| n.feeds.clone()).collect();
    // Notification feeds belong to the notified user, whoever writes.
    out.feeds = resolve_feeds(ctx, &fids, None).await?.1;
    Ok(out)
}

/// The ids the notification `kind` of `object_id` by `actor` for
/// `recipient`, triggered at `made_at`, may have, for the request that
/// withdraws it to purge in its transaction: the windowed notification the
/// trigger made or joined (the key's last one at or before it), else the
/// id of a notification deduplicated forever, and the id an epoch-aligned
/// window gave it before windows slid. Ids that do not exist purge nothing.
pub async fn made_ids(
    ctx: &Ctx,
    kind: &str,
    object_id: &str,
    actor: &str,
    recipient: &str,
    made_at: Timestamp,
) -> Result<Vec<String>> {
    let key = dedup_key(kind, object_id, actor, recipient);
    if let Some((id, _)) = ctx.store.windowed_notification(&key, made_at).await? {
        return Ok(vec![id]);
    }
    let mut ids = vec![notification_id(kind, object_id, actor, recipient, 0)];
    let window = dedup_window(ctx).await?;
    if window > 0 {
        ids.push(notification_id(kind, object_id, actor, recipient, bucket(window, made_at)));
    }
    Ok(ids)
}
