//! Feeds: the records, the implicit creation other operations rely on, a
//! page of a feed's activities, update, delete (async task) and visibility
//! changes. GetOrCreateFeed, which composes feeds with their follows,
//! members and pins, is `feed_read`.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use super::cursor;
use super::enrichment::OwnWanted;
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::feed_groups::{live_group, VISIBILITIES};
use super::model::{Activity, Custom, Feed, Fid, Location, TaskWork};
use super::time::Timestamp;
use super::users;
use super::{access, tasks, Actor, Ctx};
use crate::core::storage::{ExtraWrites, FeedPosition, FeedSlice, Reader};

/// `FeedInput`: what a feed is created with.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct FeedInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub filter_tags: Option<Vec<String>>,
    #[serde(default)]
    pub location: Option<Location>,
    /// Members the feed starts with (applied when it is created).
    #[serde(default)]
    pub members: Option<Vec<MemberInput>>,
}

/// A member a feed is given (`FeedInput::members`, UpdateFeedMembers).
#[derive(Debug, Clone, Deserialize)]
pub struct MemberInput {
    pub user_id: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub invite: Option<bool>,
    #[serde(default)]
    pub membership_level: Option<String>,
}

pub(super) fn validate_input(input: &FeedInput) -> Result<()> {
    if input.name.as_ref().is_some_and(|n| n.chars().count() > 255) {
        return Err(Error::field("name", "name must be at most 255 characters"));
    }
    if input.description.as_ref().is_some_and(|d| d.chars().count() > 1000) {
        return Err(Error::field("description", "description must be at most 1000 characters"));
    }
    if let Some(v) = input.visibility.as_deref() {
        if !VISIBILITIES.contains(&v) {
            return Err(Error::field("visibility", format!("visibility must be one of {}", VISIBILITIES.join(", "))));
        }
    }
    if let Some(l) = &input.location {
        l.validate()?;
    }
    Ok(())
}

/// A feed as an operation would create it; the caller decides whether to store it.
pub fn new_feed(fid: &Fid, default_visibility: &str, owner: &str, input: FeedInput, now: Timestamp) -> Feed {
    Feed {
        fid: fid.clone(),
        name: input.name.unwrap_or_default(),
        description: input.description.unwrap_or_default(),
        custom: input.custom,
        visibility: input.visibility.unwrap_or_else(|| default_visibility.to_string()),
        filter_tags: input.filter_tags.unwrap_or_default(),
        location: input.location,
        created_by: owner.to_string(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

/// Loads the live feeds among `fids` and builds (unsaved) the missing ones,
/// owned by `owner` or, when `None`, by the user the feed id names.
pub async fn resolve_feeds(ctx: &Ctx, fids: &[Fid], owner: Option<&str>) -> Result<(Vec<Feed>, Vec<Feed>)> {
    let mut groups = HashMap::new();
    for group in fids.iter().map(|f| f.group.as_str()).collect::<HashSet<_>>() {
        groups.insert(group.to_string(), live_group(ctx, group).await?);
    }
    let found = ctx.store.get_feeds(fids).await?;
    let now = Timestamp::now();
    let (mut existing, mut missing) = (Vec::new(), Vec::new());
    for fid in fids {
        match found.iter().find(|f| &f.fid == fid && f.deleted_at.is_none()) {
            Some(feed) => existing.push(feed.clone()),
            None => {
                let visibility = groups
                    .get(&fid.group)
                    .and_then(|g| g.config.default_visibility.clone())
                    .unwrap_or_else(|| "visible".into());
                missing.push(new_feed(fid, &visibility, owner.unwrap_or(&fid.id), FeedInput::default(), now));
            }
        }
    }
    Ok((existing, missing))
}

pub async fn get_live_feed(ctx: &Ctx, fid: &Fid) -> Result<Feed> {
    match ctx.store.get_feeds(std::slice::from_ref(fid)).await?.pop() {
        Some(f) if f.deleted_at.is_none() => Ok(f),
        _ => Err(Error::not_found("feed", &fid.to_string())),
    }
}

/// One keyset page of a feed, newest first. `next` walks to older items,
/// `prev` back to newer ones; each is returned only when that side has more.
pub async fn read_page(
    ctx: &Ctx,
    fid: &Fid,
    limit: usize,
    (next, prev): (Option<&str>, Option<&str>),
    cursors: &cursor::Scope,
    reader: &Reader,
    filter: Option<&super::filter::Filter>,
) -> Result<(Vec<Activity>, Option<String>, Option<String>)> {
    let position = |c: &str, field: &str| -> Result<FeedPosition> {
        let (created_at, activity_id) = cursors.decode_position(c, field)?;
        Ok(FeedPosition { created_at, activity_id })
    };
    let slice = match (next, prev) {
        (Some(c), _) => FeedSlice::Older(position(c, "next")?),
        (_, Some(c)) => FeedSlice::Newer(position(c, "prev")?),
        _ => FeedSlice::Start,
    };
    let mut items = ctx.store.feed_activities(fid, &slice, limit + 1, Timestamp::now(), reader, filter).await?;
    let more = items.len() > limit;
    items.truncate(limit);
    let (more_older, more_newer) = match slice {
        FeedSlice::Start => (more, false),
        FeedSlice::Older(_) => (more, true),
        FeedSlice::Newer(_) => {
            items.reverse();
            (true, more)
        }
    };
    let next = match items.last() {
        Some(a) if more_older => Some(cursors.encode_position(a.created_at, &a.id)),
        _ => None,
    };
    let prev = match items.first() {
        Some(a) if more_newer => Some(cursors.encode_position(a.created_at, &a.id)),
        _ => None,
    };
    Ok((items, next, prev))
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct UpdateFeed {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub filter_tags: Option<Vec<String>>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub clear_location: Option<bool>,
    #[serde(default)]
    pub created_by_id: Option<String>,
}

/// Changes only the fields given, on the current row (see `versions`);
/// ownership moves only server-side.
pub async fn update_feed(ctx: &Ctx, actor: &Actor, fid: &Fid, req: UpdateFeed) -> Result<Feed> {
    for _ in 0..super::versions::WRITE_ATTEMPTS {
        let feed = get_live_feed(ctx, fid).await?;
        let version = feed.updated_at;
        let feed = changed_feed(ctx, actor, feed, req.clone()).await?;
        let extra =
            ExtraWrites { events: vec![feed_event(EventType::FeedUpdated, actor, &feed)], ..Default::default() };
        if ctx.store.put_feed_with(&feed, Some(version), &extra).await? {
            return Ok(feed);
        }
    }
    Err(super::versions::contended("feed", &fid.to_string()))
}

/// An event about `feed`, in that feed, by the token's user (none for a
/// server token); `feeds.feed.deleted` carries nothing else.
pub(super) fn feed_event(kind: EventType, actor: &Actor, feed: &Feed) -> Event {
    let event = Event::new(kind, actor.viewer(None)).in_feeds([feed.fid.clone()]);
    match kind {
        EventType::FeedDeleted => event,
        _ => event.with(|s| s.feed = Some(feed.clone())),
    }
}

async fn changed_feed(ctx: &Ctx, actor: &Actor, mut feed: Feed, req: UpdateFeed) -> Result<Feed> {
    access::require(ctx, actor, &feed, access::UPDATE_FEED).await?;
    validate_input(&FeedInput {
        name: req.name.clone(),
        description: req.description.clone(),
        location: req.location.clone(),
        ..Default::default()
    })?;
    if let Some(owner) = req.created_by_id.filter(|o| !o.is_empty()) {
        actor.require_server()?;
        users::ensure_users(ctx, std::slice::from_ref(&owner)).await?;
        feed.created_by = owner;
    }
    if let Some(v) = req.name {
        feed.name = v;
    }
    if let Some(v) = req.description {
        feed.description = v;
    }
    if let Some(v) = req.custom {
        feed.custom = Some(v);
    }
    if let Some(v) = req.filter_tags {
        feed.filter_tags = v;
    }
    if let Some(v) = req.location {
        feed.location = Some(v);
    }
    if req.clear_location.unwrap_or(false) {
        feed.location = None;
    }
    feed.updated_at = super::versions::next_version(feed.updated_at);
    Ok(feed)
}

/// Marks the feed deleted at once (reads stop seeing it) and queues the task
/// that purges it when `hard` (and, with `purge_user_activities`, the
/// owner's activities posted to it, from every feed they reached).
pub async fn delete_feed(
    ctx: &Ctx,
    actor: &Actor,
    fid: &Fid,
    hard: bool,
    purge_user_activities: bool,
) -> Result<String> {
    check_purge(hard, purge_user_activities)?;
    // The task is written with the deletion, so it exists exactly when the
    // feed is marked deleted.
    let task = tasks::pending(TaskWork::DeleteFeed { fid: fid.clone(), hard, purge_user_activities });
    let queued = |_: &Feed, after: &Feed| ExtraWrites {
        tasks: vec![task.clone()],
        events: vec![feed_event(EventType::FeedDeleted, actor, after)],
        ..Default::default()
    };
    let change = |mut feed: Feed| async {
        access::require(ctx, actor, &feed, access::DELETE_FEED).await?;
        let now = super::versions::next_version(feed.updated_at);
        feed.deleted_at = Some(now);
        feed.updated_at = now;
        Ok(feed)
    };
    put_current(ctx, fid, change, queued).await?;
    tasks::wake(ctx);
    Ok(task.id)
}

/// Writes `change` of the live feed, on the current row (see `versions`),
/// with the records `extra` derives from the feed before and after it, in
/// one transaction.
async fn put_current<F, Fut, X>(ctx: &Ctx, fid: &Fid, change: F, extra: X) -> Result<(Feed, Feed)>
where
    F: Fn(Feed) -> Fut,
    Fut: std::future::Future<Output = Result<Feed>>,
    X: Fn(&Feed, &Feed) -> ExtraWrites,
{
    for _ in 0..super::versions::WRITE_ATTEMPTS {
        let before = get_live_feed(ctx, fid).await?;
        let feed = change(before.clone()).await?;
        if ctx.store.put_feed_with(&feed, Some(before.updated_at), &extra(&before, &feed)).await? {
            return Ok((before, feed));
        }
    }
    Err(super::versions::contended("feed", &fid.to_string()))
}

pub fn check_purge(hard: bool, purge_user_activities: bool) -> Result<()> {
    if purge_user_activities && !hard {
        return Err(Error::field("purge_user_activities", "purge_user_activities requires hard_delete"));
    }
    Ok(())
}

/// The deletion task: purges the feeds still deleted when it runs (a feed
/// recreated meanwhile is left alone), first removing, if asked, the
/// activities each feed's owner posted to it. Feeds without an owner skip
/// that step.
pub async fn run_delete_feeds(ctx: &Ctx, fids: &[Fid], hard: bool, purge_user_activities: bool) -> Result<Value> {
    let mut purged_activities = 0;
    if hard {
        for feed in ctx.store.get_feeds(fids).await?.into_iter().filter(|f| f.deleted_at.is_some()) {
            if purge_user_activities && !feed.created_by.is_empty() {
                purged_activities += purge_owner_activities(ctx, &feed).await?;
            }
            ctx.store.purge_feed(&feed.fid).await?;
        }
    }
    let names: Vec<String> = fids.iter().map(Fid::to_string).collect();
    Ok(serde_json::json!({ "deleted_feeds": names, "hard_delete": hard, "purged_activities": purged_activities }))
}

/// Purges, in batches, the activities `feed`'s owner posted to it.
async fn purge_owner_activities(ctx: &Ctx, feed: &Feed) -> Result<usize> {
    use super::filter::Filter;
    use crate::core::storage::{ActivityOrder, ActivityQuery};
    let mut purged = 0;
    loop {
        let query = ActivityQuery {
            filter: Filter::eq("feed", feed.fid.to_string()).and(Filter::eq("user_id", feed.created_by.clone())),
            order: ActivityOrder::Created { newest_first: true, position: None, backwards: false },
            limit: 500,
            now: Timestamp::now(),
            include_expired: true,
            include_deleted: true,
            include_private: true,
            reader: Reader::default(),
            scan_budget: None,
        };
        let found = ctx.store.query_activities(&query).await?.activities;
        let ids: Vec<String> = found.into_iter().map(|a| a.id).collect();
        if ids.is_empty() {
            return Ok(purged);
        }
        purged += ctx.store.purge_activities(&ids).await?.len();
    }
}

/// ChangeFeedVisibility: the feed takes the new level at once. Leaving
/// `followers` settles its pending follow requests (`auto_approve`, the
/// default, accepts them with their backfill; `reject` refuses them);
/// tightening to `members` or `private` removes the follows the new level
/// no longer allows. Both happen in a task written with the feed
/// (`run_reconcile_visibility`), as Stream reconciles asynchronously.
pub async fn change_visibility(
    ctx: &Ctx,
    actor: &Actor,
    fid: &Fid,
    visibility: &str,
    pending_follows_action: Option<&str>,
) -> Result<Feed> {
    if !VISIBILITIES.contains(&visibility) {
        return Err(Error::field("visibility", format!("visibility must be one of {}", VISIBILITIES.join(", "))));
    }
    let approve = match pending_follows_action.filter(|a| !a.is_empty()) {
        None | Some("auto_approve") => true,
        Some("reject") => false,
        Some(other) => {
            return Err(Error::field(
                "pending_follows_action",
                format!("pending_follows_action must be auto_approve or reject, got {other:?}"),
            ))
        }
    };
    let task = tasks::pending(TaskWork::ReconcileVisibility { fid: fid.clone(), approve });
    let change = |mut feed: Feed| async {
        access::require(ctx, actor, &feed, access::UPDATE_FEED).await?;
        feed.visibility = visibility.to_string();
        feed.updated_at = super::versions::next_version(feed.updated_at);
        Ok(feed)
    };
    let queued = |before: &Feed, after: &Feed| ExtraWrites {
        tasks: needs_reconciling(before, after).then(|| task.clone()).into_iter().collect(),
        events: vec![feed_event(EventType::FeedUpdated, actor, after)],
        ..Default::default()
    };
    let (before, feed) = put_current(ctx, fid, change, queued).await?;
    if needs_reconciling(&before, &feed) {
        tasks::wake(ctx);
    }
    Ok(feed)
}

/// Whether a visibility change leaves follows to settle or drop: pending
/// requests when leaving `followers`, disallowed follows when tightening.
fn needs_reconciling(before: &Feed, after: &Feed) -> bool {
    let leaves_followers = before.visibility == "followers" && after.visibility != "followers";
    leaves_followers || ["members", "private"].contains(&after.visibility.as_str())
}

/// The `own_*` fields of many feeds for one user (OwnBatch).
pub const MAX_OWN_BATCH: usize = 100;

pub fn own_wanted(fields: Option<&[String]>) -> Result<OwnWanted> {
    let Some(fields) = fields.filter(|f| !f.is_empty()) else { return Ok(OwnWanted::ALL) };
    let mut wanted = OwnWanted { follows: false, followings: false, membership: false, capabilities: false };
    for f in fields {
        match f.as_str() {
            "own_follows" => wanted.follows = true,
            "own_followings" => wanted.followings = true,
            "own_membership" => wanted.membership = true,
            "own_capabilities" => wanted.capabilities = true,
            other => {
                return Err(Error::field(
                    "fields",
                    format!(
                        "unknown field {other:?}: use own_follows, own_followings, own_membership, own_capabilities"
                    ),
                ))
            }
        }
    }
    Ok(wanted)
}

pub fn parse_fids(field: &str, fids: &[String], max: usize) -> Result<Vec<Fid>> {
    if fids.is_empty() || fids.len() > max {
        return Err(Error::field(field, format!("{field} must contain 1 to {max} feed ids")));
    }
    fids.iter().map(|f| Fid::parse(f).map_err(|e| Error::field(field, e.message))).collect()
}
