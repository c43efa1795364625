//! Reactions on activities and on comments: one per (user, object, type);
//! re-adding a type updates it, `enforce_unique` keeps a single reaction per
//! user on the object. On comments, `upvote`/`downvote` are the votes that
//! drive the comment's scores.
//!
//! Events, recorded in the reaction's transaction and routed like the
//! activity (its feeds, fanned out): `feeds.activity.reaction.added` for a
//! new reaction, `.updated` when it replaced one of that user — the same
//! type re-added, or with `enforce_unique` another type (one event, with
//! the new reaction; the replaced ones are not announced as deleted) —
//! and `.deleted`; `feeds.comment.reaction.*` alike for comments, with the
//! comment. Counters in the payloads are read when the event is delivered,
//! so they include the reaction.

use serde::Deserialize;
use serde_json::Map;

use super::access;
use super::activities::get_activity;
use super::comments::get_comment;
use super::cursor::Page;
use super::error::{Error, Result};
use super::events::{Event, EventType, Notified};
use super::filter::{self, Filter};
use super::model::{Activity, Comment, Custom, Reaction, User};
use super::notifications::{self, Notice};
use super::time::Timestamp;
use super::users;
use super::{Actor, Ctx, QueryRequest};
use crate::core::storage::{ExtraWrites, Reactable};

#[derive(Debug, Deserialize)]
pub struct AddReaction {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub enforce_unique: Option<bool>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub create_users: Option<bool>,
    #[serde(default)]
    pub create_notification_activity: Option<bool>,
    #[serde(default)]
    pub copy_custom_to_notification: Option<bool>,
    #[serde(default)]
    pub target_feeds: Option<Vec<String>>,
    /// No push notification for this reaction (`core::push`).
    #[serde(default)]
    pub skip_push: Option<bool>,
}

/// What a reaction was added to, with whether a notification was created.
pub struct Reacted<T> {
    pub object: T,
    pub reaction: Reaction,
    pub notification_created: bool,
}

pub async fn add_activity_reaction(
    ctx: &Ctx,
    actor: &Actor,
    activity_id: &str,
    cmd: AddReaction,
) -> Result<Reacted<Activity>> {
    let (user_id, implied) = checked_reactor(ctx, actor, &cmd).await?;
    let activity = get_activity(ctx, activity_id).await?;
    access::require_on_activity(ctx, actor, &activity, access::ADD_REACTION).await?;
    let notice = Notice {
        kind: "reaction",
        actor: &user_id,
        recipient: &activity.user_id,
        object_id: &activity.id,
        text: None,
        comment: None,
        target: notifications::activity_target(&activity),
        custom: notification_custom(&cmd),
    };
    let notify = cmd.create_notification_activity.unwrap_or(false);
    let reaction = new_reaction(activity.id.clone(), None, user_id.clone(), &cmd);
    let each =
        Event::about_activity(EventType::ActivityReactionAdded, Some(&user_id), &activity).skipping_push(cmd.skip_push);
    let (reaction, created) =
        react(ctx, Reactable::Activities, reaction, &cmd, notify.then_some(notice), implied, Some(each)).await?;
    Ok(Reacted { object: activity, reaction, notification_created: created })
}

pub async fn add_comment_reaction(
    ctx: &Ctx,
    actor: &Actor,
    comment_id: &str,
    cmd: AddReaction,
) -> Result<Reacted<Comment>> {
    let (user_id, implied) = checked_reactor(ctx, actor, &cmd).await?;
    let comment = get_comment(ctx, comment_id).await?;
    if comment.object_type == "activity" {
        access::require_on_activity_id(ctx, actor, &comment.object_id, access::ADD_COMMENT_REACTION).await?;
    }
    let target = serde_json::json!({"id": comment.object_id, "type": comment.object_type, "user_id": comment.user_id,
                                    "comment": notifications::notification_comment(&comment)});
    let notice = Notice {
        kind: "comment_reaction",
        actor: &user_id,
        recipient: &comment.user_id,
        object_id: &comment.id,
        text: comment.text.clone(),
        comment: None,
        target,
        custom: notification_custom(&cmd),
    };
    let notify = cmd.create_notification_activity.unwrap_or(false);
    let reaction = new_reaction(comment.object_id.clone(), Some(comment.id.clone()), user_id.clone(), &cmd);
    let activity = comment_activity(ctx, &comment).await?;
    let each = activity.map(|activity| {
        let event = Event::about_activity(EventType::CommentReactionAdded, Some(&user_id), &activity);
        event.with(|s| s.comment = Some(comment.clone())).skipping_push(cmd.skip_push)
    });
    let (reaction, created) =
        react(ctx, Reactable::Comments, reaction, &cmd, notify.then_some(notice), implied, each).await?;
    let comment = get_comment(ctx, comment_id).await?;
    Ok(Reacted { object: comment, reaction, notification_created: created })
}

/// The activity a comment is on, whose feeds its events go to (comments
/// are only ever on activities; None if it is gone).
async fn comment_activity(ctx: &Ctx, comment: &Comment) -> Result<Option<Activity>> {
    if comment.object_type != "activity" {
        return Ok(None);
    }
    Ok(ctx.store.get_activities(std::slice::from_ref(&comment.object_id)).await?.pop())
}

fn notification_custom(cmd: &AddReaction) -> Custom {
    match (&cmd.custom, cmd.copy_custom_to_notification.unwrap_or(false)) {
        (Some(custom), true) => custom.clone(),
        _ => Map::new(),
    }
}

/// The reacting user, and that user built for creating when missing
/// (`create_users`).
async fn checked_reactor(ctx: &Ctx, actor: &Actor, cmd: &AddReaction) -> Result<(String, Vec<User>)> {
    if cmd.kind.is_empty() || cmd.kind.chars().count() > 255 {
        return Err(Error::field("type", "type must be between 1 and 255 characters"));
    }
    if cmd.target_feeds.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(Error::field("target_feeds", "target_feeds is not supported by this server yet"));
    }
    let user_id = actor.acting_user(cmd.user_id.as_deref())?;
    let create = cmd.create_users.unwrap_or(false) && actor.is_server();
    let implied = users::implied_users(ctx, std::slice::from_ref(&user_id), create).await?;
    Ok((user_id, implied))
}

fn new_reaction(activity_id: String, comment_id: Option<String>, user_id: String, cmd: &AddReaction) -> Reaction {
    let now = Timestamp::now();
    Reaction {
        activity_id,
        comment_id,
        user_id,
        kind: cmd.kind.clone(),
        custom: cmd.custom.clone(),
        created_at: now,
        updated_at: now,
    }
}

/// Stores the reaction with its notification (deduplicated by id), the
/// implied user and `each`, the event of the reaction stored (its
/// `added` kind becomes `updated` when it replaced one), in one transaction.
async fn react(
    ctx: &Ctx,
    on: Reactable,
    mut reaction: Reaction,
    cmd: &AddReaction,
    notice: Option<Notice<'_>>,
    users: Vec<User>,
    each: Option<Event>,
) -> Result<(Reaction, bool)> {
    let mut extra = ExtraWrites { users, each, ..Default::default() };
    if let Some(notice) = notice {
        let window = notifications::dedup_window(ctx).await?;
        // Made when the reaction was: a withdrawal finds it by that time.
        let notification = notifications::build_windowed(&notice, window, reaction.created_at);
        let fresh = notifications::fresh(ctx, notification.into_iter().collect()).await?;
        if let Some(each) = extra.each.as_mut() {
            each.notified = fresh.notifications.iter().filter_map(Notified::of).collect();
        }
        (extra.notifications, extra.windows, extra.feeds) = (fresh.notifications, fresh.windows, fresh.feeds);
    }
    let exclusive = cmd.enforce_unique.unwrap_or(false);
    let replaced = ctx.store.put_reaction_with(on, &reaction, exclusive, &extra).await?;
    // Re-adding a type updates it; it keeps its first created_at.
    if let Some(old) = replaced.iter().find(|r| r.kind == reaction.kind) {
        reaction.created_at = old.created_at;
    }
    Ok((reaction, !extra.notifications.is_empty()))
}

pub async fn delete_activity_reaction(
    ctx: &Ctx,
    actor: &Actor,
    activity_id: &str,
    kind: &str,
    user_id: Option<&str>,
    withdraw_notification: bool,
) -> Result<(Activity, Reaction)> {
    let user_id = actor.acting_user(user_id)?;
    let activity = get_activity(ctx, activity_id).await?;
    let withdraw = withdraw_notification.then_some(("reaction", activity.user_id.as_str()));
    let each = Event::about_activity(EventType::ActivityReactionDeleted, Some(&user_id), &activity);
    let reaction = unreact(ctx, Reactable::Activities, activity_id, &user_id, kind, withdraw, Some(each)).await?;
    Ok((activity, reaction))
}

pub async fn delete_comment_reaction(
    ctx: &Ctx,
    actor: &Actor,
    comment_id: &str,
    kind: &str,
    user_id: Option<&str>,
    withdraw_notification: bool,
) -> Result<(Comment, Reaction)> {
    let user_id = actor.acting_user(user_id)?;
    let comment = get_comment(ctx, comment_id).await?;
    let withdraw = withdraw_notification.then_some(("comment_reaction", comment.user_id.as_str()));
    let activity = comment_activity(ctx, &comment).await?;
    let each = activity.map(|activity| {
        let event = Event::about_activity(EventType::CommentReactionDeleted, Some(&user_id), &activity);
        event.with(|s| s.comment = Some(comment.clone()))
    });
    let reaction = unreact(ctx, Reactable::Comments, comment_id, &user_id, kind, withdraw, each).await?;
    Ok((get_comment(ctx, comment_id).await?, reaction))
}

/// Deletes the reaction and, with `withdraw` (notification kind,
/// recipient), the notification it made, with `each`, the event of the
/// reaction deleted — in one transaction.
async fn unreact(
    ctx: &Ctx,
    on: Reactable,
    object_id: &str,
    user_id: &str,
    kind: &str,
    withdraw: Option<(&str, &str)>,
    each: Option<Event>,
) -> Result<Reaction> {
    let missing = || Error::not_found("reaction", &format!("{kind} by {user_id} on {object_id}"));
    let mut extra = ExtraWrites { each, ..Default::default() };
    if let Some((notification, recipient)) = withdraw {
        // The notification's id names the window the reaction was made in.
        let query = crate::core::storage::ListQuery {
            filter: Filter::eq(on.object_field(), object_id)
                .and(Filter::eq("user_id", user_id))
                .and(Filter::eq("reaction_type", kind)),
            sort: vec![("created_at", true)],
            limit: 1,
            offset: 0,
        };
        let made = ctx.store.query_reactions(on, &query).await?.pop().ok_or_else(missing)?;
        extra.withdrawn =
            notifications::made_ids(ctx, notification, object_id, user_id, recipient, made.created_at).await?;
    }
    ctx.store.delete_reaction_with(on, object_id, user_id, kind, &extra).await?.ok_or_else(missing)
}

pub type ReactionPage = Page<Reaction>;

pub async fn query_activity_reactions(ctx: &Ctx, activity_id: &str, q: QueryRequest) -> Result<ReactionPage> {
    get_activity(ctx, activity_id).await?;
    let q = with_type_alias(q);
    let cursors = ctx.cursor_scope("QueryActivityReactions").bind(activity_id);
    let (mut query, window) =
        q.list(cursors, filter::ACTIVITY_REACTION_FIELDS, filter::REACTION_SORT, ("created_at", true))?;
    query.filter = query.filter.and(Filter::eq("activity_id", activity_id));
    Ok(window.page(ctx.store.query_reactions(Reactable::Activities, &query).await?))
}

pub async fn query_comment_reactions(ctx: &Ctx, comment_id: &str, q: QueryRequest) -> Result<ReactionPage> {
    get_comment(ctx, comment_id).await?;
    let q = with_type_alias(q);
    let cursors = ctx.cursor_scope("QueryCommentReactions").bind(comment_id);
    let (mut query, window) =
        q.list(cursors, filter::COMMENT_REACTION_FIELDS, filter::REACTION_SORT, ("created_at", true))?;
    query.filter = query.filter.and(Filter::eq("comment_id", comment_id));
    Ok(window.page(ctx.store.query_reactions(Reactable::Comments, &query).await?))
}

/// `type` is what one SDK sample sends; the spec names it `reaction_type`.
fn with_type_alias(mut q: QueryRequest) -> QueryRequest {
    if let Some(filter) = q.filter.as_mut() {
        if let Some(v) = filter.remove("type") {
            filter.entry("reaction_type").or_insert(v);
        }
    }
    q
}

/// BatchQueryActivityReactions / BatchQueryCommentReactions: reactions on up
/// to 100 objects at once — the caller's own for a user token, the named
/// user's (or everyone's) server-side.
#[derive(Debug, Deserialize, Default)]
pub struct BatchQuery {
    #[serde(default)]
    pub activity_ids: Option<Vec<String>>,
    #[serde(default)]
    pub comment_ids: Option<Vec<String>>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(flatten)]
    pub query: QueryRequest,
}

pub async fn batch_query_reactions(ctx: &Ctx, actor: &Actor, on: Reactable, req: BatchQuery) -> Result<ReactionPage> {
    let (ids, name, fields) = match on {
        Reactable::Activities => (req.activity_ids, "activity_ids", filter::ACTIVITY_REACTION_FIELDS),
        Reactable::Comments => (req.comment_ids, "comment_ids", filter::COMMENT_REACTION_FIELDS),
    };
    let ids = ids.unwrap_or_default();
    if ids.is_empty() || ids.len() > 100 {
        return Err(Error::field(name, format!("{name} must contain between 1 and 100 ids")));
    }
    let q = with_type_alias(req.query);
    let cursors = ctx.cursor_scope("BatchQueryReactions").bind(on.object_field()).bind(&ids).bind(&req.user_id);
    let (mut query, window) = q.list(cursors, fields, filter::REACTION_SORT, ("created_at", true))?;
    let scope = Filter::Cond(filter::Condition {
        field: filter::Field::Named(on.object_field()),
        kind: filter::Kind::Str,
        op: filter::Op::In,
        value: filter::Operand::Strs(ids),
    });
    query.filter = query.filter.and(scope);
    actor.may_name(req.user_id.as_deref())?;
    if let Some(user) = actor.viewer(req.user_id.as_deref()) {
        query.filter = query.filter.and(Filter::eq("user_id", user));
    }
    Ok(window.page(ctx.store.query_reactions(on, &query).await?))
}
