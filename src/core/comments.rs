//! Threaded comments on activities: add (root or reply), update, soft and
//! hard delete, restore, threaded reads with sort modes, and QueryComments.
//!
//! Every write emits its event in its own transaction, routed like the
//! activity commented on (its feeds, fanned out to their followers):
//! `feeds.comment.added` / `.updated` / `.deleted` (soft or hard) /
//! `.restored`, carrying the comment and the activity; a partial update
//! (UpdateCommentPartial) also sends `feeds.activity.updated`. Comments
//! exist only on activities, so every comment has feeds to go to.
//!
//! Sort modes and the scores behind them (kept per comment by the store, in
//! the transaction that changes a vote):
//! - `first` oldest first, `last` newest first;
//! - `top`: `score` = upvotes − downvotes, then newest;
//! - `best`: `confidence_score`, the lower bound of the Wilson score interval
//!   of the upvote share at z = 1.281551565545 (80 %, Reddit's "best"), then
//!   newest;
//! - `controversial`: `controversy_score` = (up + down)^(min/max) when both
//!   are positive, else 0 (Reddit's formula), then newest.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::access;
use super::activities::{get_activity, read_activity};
use super::cursor::{self, OffsetWindow, Page};
use super::error::{Error, Result};
use super::events::{Event, EventType, Notified};
use super::filter::{self, Filter};
use super::model::{Activity, Comment, CommentCounts, Custom, Fid};
use super::notifications::{self, Notice};
use super::time::Timestamp;
use super::{new_id, patch, users, versions, Actor, Ctx};
use crate::core::storage::{ExtraWrites, ListQuery};

pub const MAX_MENTIONS: usize = 25;
pub const MAX_BATCH: usize = 100;
pub const MAX_DEPTH: i64 = 5;
pub const DEFAULT_REPLIES_LIMIT: usize = 3;

/// A comment's vote-derived scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoteScores {
    pub score: i64,
    pub confidence: f64,
    pub controversy: f64,
}

impl VoteScores {
    pub fn of(up: i64, down: i64) -> VoteScores {
        let n = (up + down) as f64;
        // No upvotes: the lower bound is exactly 0 (not a rounding crumb).
        let confidence = if up <= 0 {
            0.0
        } else {
            let z = 1.281_551_565_545_f64;
            let p = up as f64 / n;
            (p + z * z / (2.0 * n) - z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt()) / (1.0 + z * z / n)
        };
        let controversy = if up <= 0 || down <= 0 {
            0.0
        } else {
            let balance = up.min(down) as f64 / up.max(down) as f64;
            n.powf(balance)
        };
        VoteScores { score: up - down, confidence, controversy }
    }
}

/// The store order of a sort mode, as `(field, descending)`.
pub fn sort_keys(mode: &str) -> Result<Vec<(&'static str, bool)>> {
    Ok(match mode {
        "first" => vec![("created_at", false)],
        "last" => vec![("created_at", true)],
        "top" => vec![("score", true), ("created_at", true)],
        "best" => vec![("confidence_score", true), ("created_at", true)],
        "controversial" => vec![("controversy_score", true), ("created_at", true)],
        other => {
            return Err(Error::field(
                "sort",
                format!("unknown sort {other:?}: use first, last, top, best or controversial"),
            ))
        }
    })
}

#[derive(Debug, Deserialize, Default)]
pub struct NewComment {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub object_id: Option<String>,
    #[serde(default)]
    pub object_type: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub attachments: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub mentioned_user_ids: Option<Vec<String>>,
    #[serde(default)]
    pub create_notification_activity: Option<bool>,
    #[serde(default)]
    pub copy_custom_to_notification: Option<bool>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// No push notification for this comment (`core::push`).
    #[serde(default)]
    pub skip_push: Option<bool>,
}

pub struct Added {
    pub comments: Vec<Comment>,
    pub notification_created: bool,
    pub mention_notifications_created: i64,
}

pub async fn add_comment(ctx: &Ctx, actor: &Actor, req: NewComment) -> Result<Added> {
    add_comments(ctx, actor, vec![req]).await
}

/// Adds comments (one or a batch) with the notifications they ask for, in
/// one transaction.
pub async fn add_comments(ctx: &Ctx, actor: &Actor, reqs: Vec<NewComment>) -> Result<Added> {
    if reqs.is_empty() || reqs.len() > MAX_BATCH {
        return Err(Error::field("comments", format!("comments must contain between 1 and {MAX_BATCH} items")));
    }
    let now = Timestamp::now();
    // A comment's notifications are about that comment (their object), so
    // they derive from it and are made once: no window applies.
    let mut comments: Vec<Comment> = Vec::with_capacity(reqs.len());
    let mut notices = Vec::new();
    let mut mentions = 0;
    let mut authors = Vec::new();
    let mut events = Vec::new();
    // Which event (index) each notification made is about.
    let mut origins: Vec<(String, usize)> = Vec::new();
    // What the batch refers to, read once: parents from earlier requests,
    // and the activities commented on.
    let parent_ids: Vec<String> = reqs.iter().filter_map(|r| r.parent_id.clone()).filter(|p| !p.is_empty()).collect();
    let stored_parents: HashMap<String, Comment> =
        ctx.store.get_comments(&parent_ids).await?.into_iter().map(|c| (c.id.clone(), c)).collect();
    let object_ids: Vec<String> = reqs
        .iter()
        .filter_map(|r| r.object_id.clone())
        .chain(stored_parents.values().map(|c| c.object_id.clone()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let activities: HashMap<String, Activity> = ctx
        .store
        .get_activities(&object_ids)
        .await?
        .into_iter()
        .filter(|a| a.deleted_at.is_none())
        .map(|a| (a.id.clone(), a))
        .collect();
    for req in reqs {
        let skip_push = req.skip_push;
        let author = actor.acting_user(req.user_id.as_deref())?;
        let notify = req.create_notification_activity.unwrap_or(false);
        let copy_custom = req.copy_custom_to_notification.unwrap_or(false);
        // A reply inherits its parent's object; a parent may be earlier in
        // the same batch.
        let parent = match req.parent_id.as_deref().filter(|p| !p.is_empty()) {
            Some(pid) => Some(
                comments
                    .iter()
                    .find(|c| c.id == pid)
                    .or_else(|| stored_parents.get(pid))
                    .cloned()
                    .ok_or_else(|| Error::not_found("comment", pid))?,
            ),
            None => None,
        };
        let (object_type, object_id) = match &parent {
            Some(p) => {
                if req.object_id.as_deref().is_some_and(|o| !o.is_empty() && o != p.object_id) {
                    return Err(Error::field("object_id", "a reply is on its parent's object"));
                }
                (p.object_type.clone(), p.object_id.clone())
            }
            None => {
                let object_id = req.object_id.clone().filter(|o| !o.is_empty());
                let object_id = object_id.ok_or_else(|| Error::field("object_id", "object_id is a required field"))?;
                (req.object_type.clone().unwrap_or_else(|| "activity".into()), object_id)
            }
        };
        if object_type != "activity" {
            return Err(Error::field("object_type", format!("unsupported object_type {object_type:?}: use activity")));
        }
        let activity = activities.get(&object_id).ok_or_else(|| Error::not_found("activity", &object_id))?;
        access::require_on_activity(ctx, actor, activity, access::ADD_COMMENT).await?;
        check_may_reply(ctx, actor, activity, &author).await?;
        let comment = Comment {
            id: req.id.filter(|i| !i.is_empty()).unwrap_or_else(new_id),
            object_type,
            object_id,
            parent_id: parent.as_ref().map(|p| p.id.clone()),
            user_id: author.clone(),
            text: req.comment,
            attachments: req.attachments.unwrap_or_default(),
            custom: req.custom.unwrap_or_default(),
            mentioned_user_ids: req.mentioned_user_ids.unwrap_or_default(),
            status: "active".into(),
            created_at: now,
            updated_at: now,
            edited_at: None,
            deleted_at: None,
            i18n: None,
            counts: CommentCounts::default(),
        };
        validate(&comment)?;
        let made_before = notices.len();
        if notify {
            let custom = if copy_custom { comment.custom.clone() } else { Custom::new() };
            let (kind, recipient) = match &parent {
                Some(p) => ("comment_reply", p.user_id.as_str()),
                None => ("comment", activity.user_id.as_str()),
            };
            let target = notifications::activity_target(activity);
            notices.extend(notifications::build(
                &Notice {
                    kind,
                    actor: &author,
                    recipient,
                    object_id: &comment.id,
                    text: comment.text.clone(),
                    comment: Some(notifications::notification_comment(&comment)),
                    target: target.clone(),
                    custom: custom.clone(),
                },
                now,
            ));
            for m in comment.mentioned_user_ids.iter().collect::<HashSet<_>>() {
                let notice = Notice {
                    kind: "mention",
                    actor: &author,
                    recipient: m,
                    object_id: &comment.id,
                    text: comment.text.clone(),
                    comment: Some(notifications::notification_comment(&comment)),
                    target: target.clone(),
                    custom: custom.clone(),
                };
                if let Some(n) = notifications::build(&notice, now) {
                    mentions += 1;
                    notices.push(n);
                }
            }
        }
        origins.extend(notices[made_before..].iter().map(|n| (n.id.clone(), events.len())));
        events.push(comment_event(EventType::CommentAdded, &author, activity, &comment).skipping_push(skip_push));
        authors.push(author);
        authors.extend(comment.mentioned_user_ids.iter().cloned());
        comments.push(comment);
    }
    users::ensure_users(ctx, &authors).await?;
    let created = notices.iter().any(|n| n.kind != "mention");
    let fresh = notifications::fresh(ctx, notices.into_iter().map(|n| (n, None)).collect()).await?;
    for n in &fresh.notifications {
        let event = origins.iter().find(|(id, _)| id == &n.id).and_then(|(_, at)| events.get_mut(*at));
        if let (Some(event), Some(notified)) = (event, Notified::of(n)) {
            event.notified.push(notified);
        }
    }
    let extra = ExtraWrites { events, ..Default::default() };
    ctx.store.insert_comments_with(&comments, &fresh.notifications, &fresh.feeds, &extra).await?;
    Ok(Added { comments, notification_created: created, mention_notifications_created: mentions })
}

/// An event about `comment` on `activity`, routed to the activity's feeds.
pub(super) fn comment_event(kind: EventType, actor: &str, activity: &Activity, comment: &Comment) -> Event {
    Event::about_activity(kind, Some(actor), activity).with(|s| s.comment = Some(comment.clone()))
}

/// Who a comment write is attributed to: the token's user, or server-side
/// the comment's author.
pub(super) fn acting<'a>(actor: &'a Actor, comment: &'a Comment) -> &'a str {
    match actor {
        Actor::User(me) => me,
        // An anonymous caller was refused before any write (`owned_comment`).
        Actor::Server | Actor::Anonymous => &comment.user_id,
    }
}

/// The activity a comment is on, soft-deleted or not.
pub(super) async fn commented_activity(ctx: &Ctx, comment: &Comment) -> Result<Activity> {
    ctx.store
        .get_activities(std::slice::from_ref(&comment.object_id))
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("activity", &comment.object_id))
}

/// `restrict_replies` of the activity, for user-token callers: `nobody`, or
/// `people_i_follow` (the author's timeline follows the commenter's user
/// feed). The author may always reply.
async fn check_may_reply(ctx: &Ctx, actor: &Actor, activity: &Activity, author: &str) -> Result<()> {
    if actor.is_server() || activity.user_id == author {
        return Ok(());
    }
    match activity.restrict_replies.as_str() {
        "nobody" => Err(Error::not_allowed(format!("activity {} does not take replies", activity.id))),
        "people_i_follow" => {
            let (timeline, user) = (Fid::new("timeline", &activity.user_id)?, Fid::new("user", author)?);
            if !super::follows::is_following(ctx, &timeline, &user).await? {
                return Err(Error::not_allowed(format!(
                    "only people {} follows may reply to activity {}",
                    activity.user_id, activity.id
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn validate(c: &Comment) -> Result<()> {
    if c.text.as_deref().unwrap_or("").trim().is_empty() && c.attachments.is_empty() {
        return Err(Error::field("comment", "comment is a required field (or attachments)"));
    }
    if c.id.chars().count() > 255 {
        return Err(Error::field("id", "id is at most 255 characters"));
    }
    if c.mentioned_user_ids.len() > MAX_MENTIONS {
        return Err(Error::field("mentioned_user_ids", format!("at most {MAX_MENTIONS} mentioned users")));
    }
    if !["active", "deleted"].contains(&c.status.as_str()) {
        return Err(Error::field("status", "status is active or deleted"));
    }
    Ok(())
}

/// A comment that exists (soft-deleted ones too: they keep their thread).
pub async fn get_comment(ctx: &Ctx, id: &str) -> Result<Comment> {
    ctx.store.get_comments(&[id.to_string()]).await?.pop().ok_or_else(|| Error::not_found("comment", id))
}

/// The comment, if the caller may change it: its author or the server.
async fn owned_comment(ctx: &Ctx, actor: &Actor, id: &str) -> Result<Comment> {
    let comment = get_comment(ctx, id).await?;
    if actor.is_anonymous() {
        return Err(Actor::anonymous_refused());
    }
    if let Actor::User(me) = actor {
        if me != &comment.user_id {
            return Err(Error::not_allowed(format!("comment {id} belongs to another user")));
        }
    }
    Ok(comment)
}

#[derive(Debug, Deserialize, Default)]
pub struct UpdateComment {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub attachments: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub mentioned_user_ids: Option<Vec<String>>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(flatten)]
    pub mentions: MentionHandling,
}

/// `handle_mention_notifications` on comment edits: notify users the edit
/// mentions newly (with the comment's `custom` if `copy_custom_to_notification`)
/// and withdraw the notifications of users no longer mentioned.
#[derive(Debug, Deserialize, Default)]
pub struct MentionHandling {
    #[serde(default)]
    pub handle_mention_notifications: Option<bool>,
    #[serde(default)]
    pub copy_custom_to_notification: Option<bool>,
}

/// UpdateComment: the fields given replace the stored ones, on the current
/// row (see `versions`).
pub async fn update_comment(ctx: &Ctx, actor: &Actor, id: &str, req: UpdateComment) -> Result<Comment> {
    for _ in 0..versions::WRITE_ATTEMPTS {
        let mut comment = owned_comment(ctx, actor, id).await?;
        let version = comment.updated_at;
        let before = comment.mentioned_user_ids.clone();
        if let Some(text) = &req.comment {
            comment.text = Some(text.clone());
        }
        if let Some(attachments) = &req.attachments {
            comment.attachments = attachments.clone();
        }
        if let Some(custom) = &req.custom {
            comment.custom = custom.clone();
        }
        if let Some(m) = &req.mentioned_user_ids {
            users::ensure_users(ctx, m).await?;
            comment.mentioned_user_ids = m.clone();
        }
        if let Some(saved) = save_edit(ctx, actor, comment, version, &req.mentions, &before, false).await? {
            return Ok(saved);
        }
    }
    Err(versions::contended("comment", id))
}

/// The mention notifications an edit from mentioning `before` makes and
/// withdraws, for the edit's transaction.
async fn mention_writes(ctx: &Ctx, how: &MentionHandling, before: &[String], comment: &Comment) -> Result<ExtraWrites> {
    if !how.handle_mention_notifications.unwrap_or(false) {
        return Ok(ExtraWrites::default());
    }
    // Ids derive from the comment, as `made_notifications` expects.
    let id_for = |m: &str| notifications::notification_id("mention", &comment.id, &comment.user_id, m, 0);
    let legacy = legacy_bucket(ctx, comment).await?;
    let withdrawn: Vec<String> = before
        .iter()
        .filter(|m| !comment.mentioned_user_ids.contains(m))
        .flat_map(|m| {
            let old = legacy.map(|b| notifications::notification_id("mention", &comment.id, &comment.user_id, m, b));
            std::iter::once(id_for(m)).chain(old)
        })
        .collect();
    let activity = get_activity(ctx, &comment.object_id).await?;
    let target = notifications::activity_target(&activity);
    let custom = if how.copy_custom_to_notification.unwrap_or(false) { comment.custom.clone() } else { Custom::new() };
    let now = Timestamp::now();
    let added: Vec<_> = comment
        .mentioned_user_ids
        .iter()
        .filter(|m| !before.contains(m))
        .collect::<HashSet<_>>()
        .into_iter()
        .filter_map(|m| {
            let notice = Notice {
                kind: "mention",
                actor: &comment.user_id,
                recipient: m,
                object_id: &comment.id,
                text: comment.text.clone(),
                comment: Some(notifications::notification_comment(comment)),
                target: target.clone(),
                custom: custom.clone(),
            };
            notifications::build(&notice, now).map(|n| (Activity { id: id_for(m), ..n }, None))
        })
        .collect();
    let fresh = notifications::fresh(ctx, added).await?;
    Ok(ExtraWrites { notifications: fresh.notifications, feeds: fresh.feeds, withdrawn, ..Default::default() })
}

#[derive(Debug, Deserialize, Default)]
pub struct PartialComment {
    #[serde(default)]
    pub set: Option<Map<String, Value>>,
    #[serde(default)]
    pub unset: Option<Vec<String>>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(flatten)]
    pub mentions: MentionHandling,
}

const SETTABLE: &[&str] = &["text", "attachments", "custom", "mentioned_user_ids", "status"];
const UNSETTABLE: &[&str] = &["custom", "attachments", "mentioned_user_ids", "status"];

pub async fn update_comment_partial(ctx: &Ctx, actor: &Actor, id: &str, req: PartialComment) -> Result<Comment> {
    // The request names the text `comment`, as AddComment does.
    let mut set = req.set.unwrap_or_default();
    if let Some(text) = set.remove("comment") {
        set.insert("text".into(), text);
    }
    let unset = req.unset.unwrap_or_default();
    for _ in 0..versions::WRITE_ATTEMPTS {
        let comment = owned_comment(ctx, actor, id).await?;
        let updated = patched(&comment, &set, &unset)?;
        users::ensure_users(ctx, &updated.mentioned_user_ids).await?;
        let before = &comment.mentioned_user_ids;
        if let Some(saved) = save_edit(ctx, actor, updated, comment.updated_at, &req.mentions, before, true).await? {
            return Ok(saved);
        }
    }
    Err(versions::contended("comment", id))
}

/// `comment` with the patch applied.
fn patched(comment: &Comment, set: &Map<String, Value>, unset: &[String]) -> Result<Comment> {
    let Value::Object(mut doc) = serde_json::to_value(comment).map_err(Error::internal)? else {
        return Err(Error::internal("comment did not serialize to an object"));
    };
    patch::apply(&mut doc, set, unset, SETTABLE, UNSETTABLE)?;
    // Unset lists are empty lists; an unset status is active again.
    for key in ["attachments", "mentioned_user_ids"] {
        if doc.get(key).is_none_or(Value::is_null) {
            doc.insert(key.into(), Value::Array(Vec::new()));
        }
    }
    if doc.get("status").is_none_or(Value::is_null) {
        doc.insert("status".into(), Value::String("active".into()));
    }
    let mut updated: Comment =
        serde_json::from_value(Value::Object(doc)).map_err(|e| Error::input(format!("invalid value in set: {e}")))?;
    updated.counts = comment.counts;
    Ok(updated)
}

/// Saves an edited comment, with the mention notifications it makes and
/// withdraws (it mentioned `before`) and its `feeds.comment.updated` event
/// (and, for a `partial` update, `feeds.activity.updated`), if it is still
/// at `version` (its `updated_at` when read); None, writing nothing, when
/// another write came first.
async fn save_edit(
    ctx: &Ctx,
    actor: &Actor,
    mut comment: Comment,
    version: Timestamp,
    mentions: &MentionHandling,
    before: &[String],
    partial: bool,
) -> Result<Option<Comment>> {
    let now = versions::next_version(version);
    comment.updated_at = now;
    comment.edited_at = Some(now);
    if comment.status == "deleted" {
        comment.deleted_at.get_or_insert(now);
    } else {
        comment.deleted_at = None;
    }
    validate(&comment)?;
    let mut extra = mention_writes(ctx, mentions, before, &comment).await?;
    let activity = commented_activity(ctx, &comment).await?;
    let by = acting(actor, &comment);
    extra.events.push(comment_event(EventType::CommentUpdated, by, &activity, &comment));
    if partial {
        extra.events.push(Event::about_activity(EventType::ActivityUpdated, Some(by), &activity));
    }
    Ok(ctx.store.put_comment_with(&comment, Some(version), &extra).await?.then_some(comment))
}

/// Soft delete keeps the comment in its thread with status `deleted`; hard
/// delete removes it with its replies (the replies' own notifications stay).
/// Returns the comment and its activity.
pub async fn delete_comment(
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    hard: bool,
    withdraw_notifications: bool,
) -> Result<(Comment, Activity)> {
    // A soft delete changes the current row (see `versions`).
    for _ in 0..versions::WRITE_ATTEMPTS {
        let mut comment = owned_comment(ctx, actor, id).await?;
        let activity = commented_activity(ctx, &comment).await?;
        let withdrawn =
            if withdraw_notifications { made_notifications(ctx, &comment, &activity).await? } else { vec![] };
        let mut extra = ExtraWrites { withdrawn, ..Default::default() };
        let by = acting(actor, &comment).to_string();
        if hard {
            // The comment as it was; its replies go with it unannounced.
            extra.events.push(comment_event(EventType::CommentDeleted, &by, &activity, &comment));
            ctx.store.purge_comment_with(id, &extra).await?;
            return Ok((comment, activity));
        }
        let version = comment.updated_at;
        let now = versions::next_version(version);
        comment.status = "deleted".into();
        comment.deleted_at = Some(now);
        comment.updated_at = now;
        extra.events.push(comment_event(EventType::CommentDeleted, &by, &activity, &comment));
        if ctx.store.put_comment_with(&comment, Some(version), &extra).await? {
            return Ok((comment, activity));
        }
    }
    Err(versions::contended("comment", id))
}

/// The epoch-aligned window a comment made with a `deduplication_window`
/// named its notifications by before windows slid, for withdrawing those.
async fn legacy_bucket(ctx: &Ctx, comment: &Comment) -> Result<Option<i64>> {
    let window = notifications::dedup_window(ctx).await?;
    Ok((window > 0).then(|| notifications::bucket(window, comment.created_at)))
}

/// The ids of the notifications `comment` created, for its deletion to
/// withdraw: they derive from the comment, its author and each recipient
/// (and, made before windows slid, the window it was made in).
async fn made_notifications(ctx: &Ctx, comment: &Comment, activity: &Activity) -> Result<Vec<String>> {
    let buckets: Vec<i64> = std::iter::once(0).chain(legacy_bucket(ctx, comment).await?).collect();
    let mut told: Vec<(&str, String)> = vec![("comment", activity.user_id.clone())];
    if let Some(parent) = &comment.parent_id {
        if let Some(p) = ctx.store.get_comments(std::slice::from_ref(parent)).await?.pop() {
            told.push(("comment_reply", p.user_id));
        }
    }
    told.extend(comment.mentioned_user_ids.iter().map(|m| ("mention", m.clone())));
    Ok(told
        .iter()
        .flat_map(|(kind, recipient)| {
            buckets.iter().map(|b| notifications::notification_id(kind, &comment.id, &comment.user_id, recipient, *b))
        })
        .collect())
}

pub async fn restore_comment(ctx: &Ctx, actor: &Actor, id: &str) -> Result<(Comment, Activity)> {
    for _ in 0..versions::WRITE_ATTEMPTS {
        let mut comment = owned_comment(ctx, actor, id).await?;
        let activity = get_activity(ctx, &comment.object_id).await?;
        if comment.status != "deleted" {
            return Err(Error::field("id", format!("comment {id} is not deleted")));
        }
        let version = comment.updated_at;
        comment.status = "active".into();
        comment.deleted_at = None;
        comment.updated_at = versions::next_version(version);
        let event = comment_event(EventType::CommentRestored, acting(actor, &comment), &activity, &comment);
        let extra = ExtraWrites { events: vec![event], ..Default::default() };
        if ctx.store.put_comment_with(&comment, Some(version), &extra).await? {
            return Ok((comment, activity));
        }
    }
    Err(versions::contended("comment", id))
}

/// A threaded read: the page of comments and, for each, its first replies
/// down to `depth`, with what was left out.
pub struct Thread {
    pub comments: Vec<ThreadNode>,
    pub sort: String,
    pub next: Option<String>,
    pub prev: Option<String>,
}

pub struct ThreadNode {
    pub comment: Comment,
    pub replies: Vec<ThreadNode>,
    pub meta: RepliesMeta,
}

#[derive(Debug, Clone, Default)]
pub struct RepliesMeta {
    pub has_more: bool,
    pub remaining: i64,
    pub depth_truncated: bool,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ThreadRequest {
    #[serde(default)]
    pub object_id: Option<String>,
    #[serde(default)]
    pub object_type: Option<String>,
    #[serde(default)]
    pub depth: Option<i64>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub replies_limit: Option<i64>,
    #[serde(default)]
    pub id_around: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub prev: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// GetComments: the comments on an object, threaded.
/// GetComments: the thread of an activity the caller may read
/// (`read_activity`'s rule), or of another object.
pub async fn get_comments(ctx: &Ctx, actor: &Actor, req: ThreadRequest) -> Result<Thread> {
    let object_id = req.object_id.clone().filter(|o| !o.is_empty());
    let object_id = object_id.ok_or_else(|| Error::field("object_id", "object_id is a required field"))?;
    let object_type = req.object_type.clone().filter(|o| !o.is_empty());
    let object_type = object_type.ok_or_else(|| Error::field("object_type", "object_type is a required field"))?;
    if object_type == "activity" {
        read_activity(ctx, actor, &object_id).await?;
    }
    let cursors = ctx.cursor_scope("GetComments").bind(&object_type).bind(&object_id);
    let scope = Filter::eq("object_type", object_type).and(Filter::eq("object_id", object_id)).and(top_level());
    thread(ctx, scope, cursors, req, 20, 0).await
}

/// GetCommentReplies: the replies below one comment, threaded.
pub async fn get_comment_replies(ctx: &Ctx, actor: &Actor, id: &str, req: ThreadRequest) -> Result<Thread> {
    read_comment(ctx, actor, id).await?;
    // Here the spec makes `depth` 0 (or absent) mean "unlimited": the
    // deepest this server reads.
    thread(ctx, Filter::eq("parent_id", id), replies_cursors(ctx, id), req, 100, MAX_DEPTH).await
}

/// A comment, for a caller who may read the activity it is on
/// (`read_activity`'s rule).
pub async fn read_comment(ctx: &Ctx, actor: &Actor, id: &str) -> Result<Comment> {
    let comment = get_comment(ctx, id).await?;
    if comment.object_type == "activity" && !actor.is_server() {
        read_activity(ctx, actor, &comment.object_id).await?;
    }
    Ok(comment)
}

/// Where the cursors of GetCommentReplies for comment `id` are valid (its
/// sort is bound by `list_page`), also those of `RepliesMeta.next_cursor`.
fn replies_cursors(ctx: &Ctx, id: &str) -> cursor::Scope {
    ctx.cursor_scope("GetCommentReplies").bind(id)
}

/// The top-level comments an activity response embeds when `get_activity`
/// asks for an order (`first`, `last`, `popular` = `top`) or a count (0–20);
/// the default is the newest `LATEST_COMMENTS`.
pub async fn embedded_comments(
    ctx: &Ctx,
    activity_id: &str,
    sort: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<Comment>> {
    let limit = limit.unwrap_or(super::enrichment::LATEST_COMMENTS as i64);
    if !(0..=20).contains(&limit) {
        return Err(Error::field("comment_limit", "comment_limit must be between 0 and 20"));
    }
    let keys = match sort.filter(|s| !s.is_empty()).unwrap_or("last") {
        "first" => sort_keys("first")?,
        "last" => sort_keys("last")?,
        "popular" => sort_keys("top")?,
        other => {
            return Err(Error::field(
                "comment_sort",
                format!("unknown comment_sort {other:?}: use first, last or popular"),
            ))
        }
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let scope = Filter::eq("object_type", "activity")
        .and(Filter::eq("object_id", activity_id))
        .and(top_level())
        .and(Filter::eq("status", "active"));
    let cursors = ctx.cursor_scope("GetActivity.comments");
    Ok(list_page(ctx, (scope, cursors), &keys, Some(limit), &None, &None, None).await?.items)
}

fn top_level() -> Filter {
    Filter::Cond(filter::Condition {
        field: filter::Field::Named("parent_id"),
        kind: filter::Kind::Str,
        op: filter::Op::Exists,
        value: filter::Operand::Bool(false),
    })
}

/// A page of `scope` with `depth` levels of replies below each comment
/// (0 = none, or `depth_zero` where the endpoint defines 0 otherwise).
async fn thread(
    ctx: &Ctx,
    scope: Filter,
    cursors: cursor::Scope,
    req: ThreadRequest,
    max_replies: i64,
    depth_zero: i64,
) -> Result<Thread> {
    let depth = req.depth.unwrap_or(0);
    if !(0..=MAX_DEPTH).contains(&depth) {
        return Err(Error::field("depth", format!("depth must be between 0 and {MAX_DEPTH}")));
    }
    let depth = if depth == 0 { depth_zero } else { depth };
    let replies_limit = req.replies_limit.unwrap_or(DEFAULT_REPLIES_LIMIT as i64);
    if !(0..=max_replies).contains(&replies_limit) {
        return Err(Error::field("replies_limit", format!("replies_limit must be between 0 and {max_replies}")));
    }
    let mode = req.sort.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "last".into());
    let sort = sort_keys(&mode)?;
    let page =
        list_page(ctx, (scope, cursors), &sort, req.limit, &req.next, &req.prev, req.id_around.as_deref()).await?;
    let comments = expand(ctx, page.items, &sort, depth as usize, replies_limit as usize).await?;
    Ok(Thread { comments, sort: mode, next: page.next, prev: page.prev })
}

/// One offset page of comments in `scope`; `id_around` moves the page so
/// that it holds that comment (or its ancestor in scope) in its middle.
/// Cursors are bound to `cursors` and the sort.
async fn list_page(
    ctx: &Ctx,
    (scope, cursors): (Filter, cursor::Scope),
    sort: &[(&'static str, bool)],
    limit: Option<i64>,
    next: &Option<String>,
    prev: &Option<String>,
    id_around: Option<&str>,
) -> Result<Page<Comment>> {
    let mut window = OffsetWindow::from_request(cursors.bind(sort), limit, next, prev)?;
    if let Some(around) = id_around.filter(|a| !a.is_empty()) {
        let position = position_of(ctx, &scope, sort, around).await?;
        window.offset = position.saturating_sub(window.limit / 2);
    }
    let query = ListQuery { filter: scope, sort: sort.to_vec(), limit: window.fetch(), offset: window.offset };
    Ok(window.page(ctx.store.query_comments(&query).await?))
}

/// Where `id` (or its ancestor among the scoped comments) sits in order.
/// Deep links are rare: this walks the scope in pages of 1,000, at most ten.
async fn position_of(ctx: &Ctx, scope: &Filter, sort: &[(&'static str, bool)], id: &str) -> Result<usize> {
    let mut chain = HashSet::new();
    let mut current = get_comment(ctx, id).await?;
    chain.insert(current.id.clone());
    while let Some(parent) = current.parent_id.clone() {
        current = get_comment(ctx, &parent).await?;
        chain.insert(current.id.clone());
    }
    const STEP: usize = 1000;
    for page in 0..10 {
        let query = ListQuery { filter: scope.clone(), sort: sort.to_vec(), limit: STEP, offset: page * STEP };
        let rows = ctx.store.query_comments(&query).await?;
        if let Some(i) = rows.iter().position(|c| chain.contains(&c.id)) {
            return Ok(page * STEP + i);
        }
        if rows.len() < STEP {
            break;
        }
    }
    Err(Error::field("id_around", format!("comment {id} is not in this thread")))
}

/// Loads `levels` levels of replies below `comments`, a level per query.
async fn expand(
    ctx: &Ctx,
    comments: Vec<Comment>,
    sort: &[(&'static str, bool)],
    levels: usize,
    replies_limit: usize,
) -> Result<Vec<ThreadNode>> {
    let mut levels_loaded: Vec<HashMap<String, Vec<Comment>>> = Vec::new();
    let mut frontier: Vec<String> =
        comments.iter().filter(|c| c.counts.reply_count > 0).map(|c| c.id.clone()).collect();
    for _ in 0..levels {
        if frontier.is_empty() || replies_limit == 0 {
            break;
        }
        let replies = ctx.store.comment_replies(&frontier, sort, replies_limit).await?;
        frontier = replies.iter().filter(|c| c.counts.reply_count > 0).map(|c| c.id.clone()).collect();
        let mut by_parent: HashMap<String, Vec<Comment>> = HashMap::new();
        for r in replies {
            by_parent.entry(r.parent_id.clone().unwrap_or_default()).or_default().push(r);
        }
        levels_loaded.push(by_parent);
    }
    let more_replies = |id: &str| replies_cursors(ctx, id).bind(sort).encode_offset(replies_limit);
    Ok(comments.into_iter().map(|c| node(c, &mut levels_loaded, 0, levels, &more_replies)).collect())
}

fn node(
    comment: Comment,
    levels: &mut [HashMap<String, Vec<Comment>>],
    level: usize,
    max_levels: usize,
    more_replies: &dyn Fn(&str) -> String,
) -> ThreadNode {
    let replies: Vec<Comment> = levels.get_mut(level).and_then(|l| l.remove(&comment.id)).unwrap_or_default();
    let shown = replies.len() as i64;
    let total = comment.counts.reply_count;
    let truncated = level >= max_levels && total > 0;
    let meta = RepliesMeta {
        has_more: total > shown,
        remaining: (total - shown).max(0),
        depth_truncated: truncated,
        next_cursor: (total > shown && !truncated && shown > 0).then(|| more_replies(&comment.id)),
    };
    let replies = replies.into_iter().map(|r| node(r, levels, level + 1, max_levels, more_replies)).collect();
    ThreadNode { comment, replies, meta }
}

#[derive(Debug, Deserialize, Default)]
pub struct QueryComments {
    #[serde(default)]
    pub filter: Option<Map<String, Value>>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub id_around: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub prev: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

pub async fn query_comments(ctx: &Ctx, q: QueryComments) -> Result<Page<Comment>> {
    let raw = q.filter.ok_or_else(|| Error::field("filter", "filter is a required field"))?;
    let filter = filter::parse(&raw, filter::COMMENT_FIELDS)?;
    let sort = sort_keys(q.sort.as_deref().filter(|s| !s.is_empty()).unwrap_or("last"))?;
    let cursors = ctx.cursor_scope("QueryComments").bind(&raw);
    list_page(ctx, (filter, cursors), &sort, q.limit, &q.next, &q.prev, q.id_around.as_deref()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_documented_formulas() {
        assert_eq!(VoteScores::of(0, 0), VoteScores { score: 0, confidence: 0.0, controversy: 0.0 });
        let liked = VoteScores::of(10, 0);
        assert_eq!(liked.score, 10);
        assert!(liked.confidence > 0.85 && liked.confidence < 1.0, "{liked:?}");
        assert_eq!(liked.controversy, 0.0);
        // More evidence of the same share ranks higher under `best`.
        assert!(VoteScores::of(100, 10).confidence > VoteScores::of(10, 1).confidence);
        // Evenly split and busy is the most controversial.
        let split = VoteScores::of(50, 50);
        assert_eq!(split.controversy, 100.0);
        assert!(split.controversy > VoteScores::of(90, 10).controversy);
        assert_eq!(VoteScores::of(1, 3).score, -2);
    }

    #[test]
    fn sort_modes_map_to_store_keys() {
        assert_eq!(sort_keys("first").unwrap(), vec![("created_at", false)]);
        assert_eq!(sort_keys("top").unwrap()[0], ("score", true));
        assert!(sort_keys("random").is_err());
    }
}
