//! Follows and the timeline copies they cause. Fan-out is push-based: the
//! store copies entries inside the same transaction as the write (see
//! docs/architecture.md for why).

use serde::Deserialize;
use serde_json::Value;

use super::cursor::{OffsetWindow, Page};
use super::error::{Error, Result};
use super::feeds::{get_live_feed, resolve_feeds, Pager};
use super::model::{Custom, Fid, Follow, FOLLOW_ACCEPTED, FOLLOW_PENDING};
use super::time::Timestamp;
use super::users;
use super::{page_limit, Actor, Ctx, QueryRequest};
use crate::store::{FollowQuery, FollowSortField};

/// Activities copied on a new follow when the request names no limit.
pub const DEFAULT_COPY_LIMIT: usize = 1000;
pub const MAX_COPY_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize)]
pub struct FollowCmd {
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub activity_copy_limit: Option<i64>,
    #[serde(default)]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub push_preference: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub create_users: Option<bool>,
}

pub type FollowPage = Page<Follow>;

/// Follow: creating a follow that exists is an input error.
pub async fn follow(ctx: &Ctx, actor: &Actor, cmd: FollowCmd) -> Result<Follow> {
    match get_or_create_follow(ctx, actor, cmd).await? {
        (follow, true) => Ok(follow),
        (follow, false) => Err(Error::input(format!("{} already follows {}", follow.source, follow.target))),
    }
}

/// GetOrCreateFollow: an existing follow is returned unchanged with `false`.
pub async fn get_or_create_follow(ctx: &Ctx, actor: &Actor, cmd: FollowCmd) -> Result<(Follow, bool)> {
    let source = Fid::parse(&cmd.source).map_err(|e| Error::field("source", e.message))?;
    let target = Fid::parse(&cmd.target).map_err(|e| Error::field("target", e.message))?;
    if source == target {
        return Err(Error::field("target", "a feed cannot follow itself"));
    }
    let copy_limit = match cmd.activity_copy_limit {
        None => DEFAULT_COPY_LIMIT,
        Some(n) if (0..=MAX_COPY_LIMIT).contains(&n) => n as usize,
        Some(n) => {
            return Err(Error::field(
                "activity_copy_limit",
                format!("activity_copy_limit must be between 0 and {MAX_COPY_LIMIT}, got {n}"),
            ))
        }
    };
    let push_preference = cmd.push_preference.unwrap_or_else(|| "all".into());
    if !["all", "none"].contains(&push_preference.as_str()) {
        return Err(Error::field("push_preference", "push_preference must be all or none"));
    }
    if let Some(status) = cmd.status.as_deref() {
        actor.require_server()?;
        if ![FOLLOW_ACCEPTED, FOLLOW_PENDING].contains(&status) {
            return Err(Error::field("status", "status must be accepted or pending"));
        }
    }

    let fids = [source.clone(), target.clone()];
    let (existing, missing) = resolve_feeds(ctx, &fids, None).await?;
    if let Actor::User(me) = actor {
        let source_feed = existing.iter().chain(&missing).find(|f| f.fid == source);
        if source_feed.is_some_and(|f| &f.created_by != me) {
            return Err(Error::not_allowed(format!(
                "user {me} cannot follow from feed {source}, which they do not own"
            )));
        }
    }
    let owners: Vec<String> = missing.iter().map(|f| f.created_by.clone()).collect();
    users::ensure_users(ctx, &owners, cmd.create_users.unwrap_or(false) || actor.is_server()).await?;

    let target_feed = existing.iter().chain(&missing).find(|f| f.fid == target);
    let needs_approval = target_feed.is_some_and(|f| f.visibility == "followers");
    let status = match cmd.status {
        Some(s) => s,
        None if needs_approval => FOLLOW_PENDING.to_string(),
        None => FOLLOW_ACCEPTED.to_string(),
    };
    let now = Timestamp::now();
    let follow = Follow {
        source,
        target,
        status,
        custom: cmd.custom,
        push_preference,
        follower_role: "user".into(),
        created_at: now,
        updated_at: now,
        request_accepted_at: None,
        request_rejected_at: None,
    };
    let inserted = ctx.store.insert_follows(std::slice::from_ref(&follow), copy_limit, &missing).await?;
    if inserted == [true] {
        return Ok((follow, true));
    }
    let existing = ctx.store.get_follow(&follow.source, &follow.target).await?;
    Ok((existing.ok_or_else(|| Error::internal("follow vanished after a conflicting insert"))?, false))
}

pub async fn unfollow(ctx: &Ctx, actor: &Actor, source: &str, target: &str, keep_history: bool) -> Result<Follow> {
    let source = Fid::parse(source)?;
    let target = Fid::parse(target)?;
    if let Actor::User(me) = actor {
        let feed = get_live_feed(ctx, &source).await?;
        if &feed.created_by != me {
            return Err(Error::not_allowed(format!("user {me} does not own feed {source}")));
        }
    }
    ctx.store
        .delete_follow(&source, &target, keep_history)
        .await?
        .ok_or_else(|| Error::not_found("follow", &format!("{source} -> {target}")))
}

/// `"a:b"`, `{"$eq": "a:b"}` or `{"$in": [...]}` → feed ids.
fn fid_condition(field: &str, cond: &Value) -> Result<Vec<Fid>> {
    let parse = |v: &Value| -> Result<Fid> {
        v.as_str()
            .ok_or_else(|| Error::field(field, format!("{field} values must be feed ids")))
            .and_then(|s| Fid::parse(s).map_err(|e| Error::field(field, e.message)))
    };
    match cond {
        Value::String(_) => Ok(vec![parse(cond)?]),
        Value::Object(ops) if ops.len() == 1 => match ops.iter().next() {
            Some((op, v)) if op == "$eq" => Ok(vec![parse(v)?]),
            Some((op, Value::Array(items))) if op == "$in" => items.iter().map(parse).collect(),
            Some((op, _)) => {
                Err(Error::field(field, format!("unsupported operator {op:?} for {field}; use $eq or $in")))
            }
            None => Err(Error::field(field, "empty filter")),
        },
        _ => Err(Error::field(field, format!("invalid {field} filter"))),
    }
}

pub async fn query_follows(ctx: &Ctx, q: QueryRequest) -> Result<FollowPage> {
    let mut query = FollowQuery { limit: page_limit(q.limit)?, ..Default::default() };
    for (key, cond) in q.filter.unwrap_or_default() {
        match key.as_str() {
            "source_feed" => query.sources = Some(fid_condition("source_feed", &cond)?),
            "target_feed" => query.targets = Some(fid_condition("target_feed", &cond)?),
            "status" => {
                let status = match &cond {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => match o.get("$eq") {
                        Some(Value::String(s)) => s.clone(),
                        _ => return Err(Error::field("status", "status filter supports $eq only")),
                    },
                    _ => return Err(Error::field("status", "invalid status filter")),
                };
                query.status = Some(status);
            }
            other => {
                return Err(Error::field(
                    other,
                    format!("cannot filter follows by {other:?}; use source_feed, target_feed or status"),
                ))
            }
        }
    }
    for s in q.sort.unwrap_or_default() {
        let field = match s.field.as_deref().unwrap_or("") {
            "created_at" => FollowSortField::CreatedAt,
            "updated_at" => FollowSortField::UpdatedAt,
            other => return Err(Error::field("sort", format!("cannot sort follows by {other:?}"))),
        };
        query.sort.push((field, s.direction.unwrap_or(-1) < 0));
    }
    if query.sort.is_empty() {
        query.sort.push((FollowSortField::CreatedAt, true));
    }
    offset_page(ctx, query, q.next, q.prev).await
}

pub enum Side {
    Followers,
    Following,
}

/// The accepted followers of a feed, or the feeds it follows, newest first.
pub async fn page_of(ctx: &Ctx, side: Side, fid: &Fid, pager: &Pager) -> Result<FollowPage> {
    let mut query = FollowQuery {
        limit: page_limit(pager.limit)?,
        status: Some(FOLLOW_ACCEPTED.into()),
        sort: vec![(FollowSortField::CreatedAt, true)],
        ..Default::default()
    };
    match side {
        Side::Followers => query.targets = Some(vec![fid.clone()]),
        Side::Following => query.sources = Some(vec![fid.clone()]),
    }
    offset_page(ctx, query, pager.next.clone(), pager.prev.clone()).await
}

async fn offset_page(
    ctx: &Ctx,
    mut query: FollowQuery,
    next: Option<String>,
    prev: Option<String>,
) -> Result<FollowPage> {
    let window = OffsetWindow::from_request(Some(query.limit as i64), &next, &prev)?;
    query.offset = window.offset;
    query.limit = window.fetch();
    Ok(window.page(ctx.store.query_follows(&query).await?))
}
