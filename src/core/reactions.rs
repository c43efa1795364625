//! Activity reactions: one per (user, activity, type); `enforce_unique`
//! keeps a single reaction per user on the activity.

use serde::Deserialize;
use serde_json::Value;

use super::activities::get_activity;
use super::cursor::{OffsetWindow, Page};
use super::error::{Error, Result};
use super::model::{Activity, Custom, Reaction};
use super::time::Timestamp;
use super::users;
use super::{Actor, Ctx, QueryRequest};
use crate::store::ReactionQuery;

#[derive(Debug, Deserialize)]
pub struct AddReaction {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub enforce_unique: Option<bool>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub create_users: Option<bool>,
    #[serde(default)]
    pub target_feeds: Option<Vec<String>>,
}

pub async fn add_activity_reaction(
    ctx: &Ctx,
    actor: &Actor,
    activity_id: &str,
    cmd: AddReaction,
) -> Result<(Activity, Reaction)> {
    if cmd.kind.is_empty() || cmd.kind.chars().count() > 255 {
        return Err(Error::field("type", "type must be between 1 and 255 characters"));
    }
    if cmd.target_feeds.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(Error::field("target_feeds", "target_feeds is not supported by this server yet"));
    }
    let user_id = actor.acting_user(cmd.user_id.as_deref())?;
    users::ensure_users(ctx, std::slice::from_ref(&user_id), cmd.create_users.unwrap_or(false) && actor.is_server())
        .await?;
    let activity = get_activity(ctx, activity_id).await?;
    let now = Timestamp::now();
    let mut reaction = Reaction {
        activity_id: activity.id.clone(),
        user_id,
        kind: cmd.kind,
        custom: cmd.custom,
        created_at: now,
        updated_at: now,
    };
    let replaced = ctx.store.put_reaction(&reaction, cmd.enforce_unique.unwrap_or(false)).await?;
    // Re-adding a type updates it; it keeps its first created_at.
    if let Some(old) = replaced.iter().find(|r| r.kind == reaction.kind) {
        reaction.created_at = old.created_at;
    }
    Ok((activity, reaction))
}

pub async fn delete_activity_reaction(
    ctx: &Ctx,
    actor: &Actor,
    activity_id: &str,
    kind: &str,
    user_id: Option<&str>,
) -> Result<(Activity, Reaction)> {
    let user_id = actor.acting_user(user_id)?;
    let activity = get_activity(ctx, activity_id).await?;
    let reaction = ctx
        .store
        .delete_reaction(activity_id, &user_id, kind)
        .await?
        .ok_or_else(|| Error::not_found("reaction", &format!("{kind} by {user_id} on {activity_id}")))?;
    Ok((activity, reaction))
}

pub type ReactionPage = Page<Reaction>;

fn string_condition(field: &str, cond: &Value) -> Result<String> {
    match cond {
        Value::String(s) => Ok(s.clone()),
        Value::Object(o) => match o.get("$eq") {
            Some(Value::String(s)) if o.len() == 1 => Ok(s.clone()),
            _ => Err(Error::field(field, format!("{field} supports equality or $eq only"))),
        },
        _ => Err(Error::field(field, format!("invalid {field} filter"))),
    }
}

pub async fn query_activity_reactions(ctx: &Ctx, activity_id: &str, q: QueryRequest) -> Result<ReactionPage> {
    get_activity(ctx, activity_id).await?;
    let window = OffsetWindow::from_request(q.limit, &q.next, &q.prev)?;
    let mut query = ReactionQuery { activity_id: activity_id.to_string(), newest_first: true, ..Default::default() };
    for (key, cond) in q.filter.unwrap_or_default() {
        match key.as_str() {
            // `type` is what one SDK sample sends; the spec names it reaction_type.
            "reaction_type" | "type" => query.kind = Some(string_condition(&key, &cond)?),
            "user_id" => query.user_id = Some(string_condition(&key, &cond)?),
            other => {
                return Err(Error::field(
                    other,
                    format!("cannot filter reactions by {other:?}; use reaction_type or user_id"),
                ))
            }
        }
    }
    for s in q.sort.unwrap_or_default() {
        match s.field.as_deref().unwrap_or("") {
            "created_at" => query.newest_first = s.direction.unwrap_or(-1) < 0,
            other => return Err(Error::field("sort", format!("cannot sort reactions by {other:?}"))),
        }
    }
    query.offset = window.offset;
    query.limit = window.fetch();
    Ok(window.page(ctx.store.query_reactions(&query).await?))
}
