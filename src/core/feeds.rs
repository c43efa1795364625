//! Feeds: get-or-create with a first page of activities and follows, update,
//! delete (async task), and the implicit creation other operations rely on.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use super::cursor;
use super::enrichment::OwnWanted;
use super::error::{Error, Result};
use super::feed_groups::{live_group, VISIBILITIES};
use super::follows::{self, FollowPage};
use super::members::{self, MemberInput, MemberPage};
use super::model::{Activity, Custom, Feed, FeedMember, Fid, Location, TaskWork};
use super::pins::{feed_pins, PinnedPage};
use super::time::Timestamp;
use super::users::{self, UserInput};
use super::{access, page_limit, tasks, Actor, Ctx};
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

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Pager {
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub prev: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct EnrichmentOptions {
    #[serde(default)]
    pub skip_followers: Option<bool>,
    #[serde(default)]
    pub skip_following: Option<bool>,
    #[serde(default)]
    pub skip_activity: Option<bool>,
    #[serde(default)]
    pub skip_all: Option<bool>,
    #[serde(default)]
    pub skip_pins: Option<bool>,
    #[serde(default)]
    pub skip_own_capabilities: Option<bool>,
    #[serde(default)]
    pub skip_own_follows: Option<bool>,
    #[serde(default)]
    pub enrich_own_followings: Option<bool>,
    #[serde(default)]
    pub skip_activity_comments: Option<bool>,
    #[serde(default)]
    pub skip_activity_parents: Option<bool>,
    #[serde(default)]
    pub skip_activity_poll: Option<bool>,
    #[serde(default)]
    pub skip_activity_own_bookmarks: Option<bool>,
}

impl EnrichmentOptions {
    /// Drops the activity enrichments these options skip from `lookup`, so
    /// the activities render without them (`skip_activity_refresh_image_urls`
    /// needs nothing: image URLs are never refreshed).
    pub fn strip(&self, lookup: &mut super::enrichment::Lookup) {
        let on = |flag: Option<bool>| flag.unwrap_or(false);
        if on(self.skip_activity_comments) {
            lookup.latest_comments.clear();
        }
        if on(self.skip_activity_parents) {
            lookup.parents.clear();
        }
        if on(self.skip_activity_poll) {
            lookup.polls.clear();
        }
        if on(self.skip_activity_own_bookmarks) {
            lookup.own_bookmarks.clear();
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct GetOrCreateFeed {
    #[serde(default)]
    pub data: Option<FeedInput>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub prev: Option<String>,
    #[serde(default)]
    pub filter: Option<Value>,
    #[serde(default)]
    pub id_around: Option<String>,
    #[serde(default)]
    pub view: Option<String>,
    #[serde(default)]
    pub followers_pagination: Option<Pager>,
    #[serde(default)]
    pub following_pagination: Option<Pager>,
    #[serde(default)]
    pub member_pagination: Option<Pager>,
    #[serde(default)]
    pub enrichment_options: Option<EnrichmentOptions>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user: Option<UserInput>,
}

pub struct FeedRead {
    pub feed: Feed,
    pub created: bool,
    pub activities: Vec<Activity>,
    pub pinned: Option<PinnedPage>,
    pub next: Option<String>,
    pub prev: Option<String>,
    pub followers: FollowPage,
    pub following: FollowPage,
    pub members: MemberPage,
    /// Which `own_*` fields the response shows, for whom.
    pub own: Option<(String, OwnWanted)>,
    /// The user-token reader's relations to the feed, when loaded already.
    pub relations: Option<access::Relations>,
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

pub async fn get_or_create_feed(ctx: &Ctx, actor: &Actor, fid: Fid, req: GetOrCreateFeed) -> Result<FeedRead> {
    let filter = match &req.filter {
        Some(Value::Object(f)) if !f.is_empty() => Some(super::filter::parse(f, super::filter::ACTIVITY_FIELDS)?),
        Some(Value::Object(_)) | Some(Value::Null) | None => None,
        Some(_) => return Err(Error::field("filter", "filter must be an object")),
    };
    // Refuse rather than ignore: either would change which activities come back.
    if req.id_around.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(Error::field("id_around", "id_around is not supported by this server yet"));
    }
    if req.view.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(Error::field("view", "feed views are not supported by this server yet"));
    }
    let limit = page_limit(req.limit)?;
    let (next, prev) = super::one_direction(&req.next, &req.prev)?;
    if let Some(data) = &req.data {
        validate_input(data)?;
    }
    // The body's `user` is written with the feed when the feed is created.
    let mut replaced = match (actor, req.user.clone()) {
        (Actor::Server, Some(user)) => users::replacements(ctx, vec![user]).await?,
        _ => Vec::new(),
    };
    let body_user = req.user_id.clone().or_else(|| req.user.as_ref().map(|u| u.id.clone()));

    let existing = ctx.store.get_feeds(std::slice::from_ref(&fid)).await?.pop().filter(|f| f.deleted_at.is_none());
    // A user-token reader's relations to the feed decide access and are
    // kept for its `own_*` fields.
    let mut relations = None;
    let (feed, created) = match existing {
        Some(feed) => {
            if let Actor::User(me) = actor {
                let loaded = access::Relations::load(ctx, me, std::slice::from_ref(&fid)).await?;
                access::require_related(ctx, me, &feed, access::READ_FEED, &loaded).await?;
                relations = Some(loaded);
            }
            if !replaced.is_empty() {
                ctx.store.upsert_users(&replaced).await?;
            }
            (feed, false)
        }
        None => {
            let group = super::feed_groups::get_feed_group(ctx, &fid.group, false).await?;
            let owner = actor.acting_user(body_user.as_deref())?;
            // Stream's quick start relies on this call creating its user.
            let mut implied = Vec::new();
            if !replaced.iter().any(|u| u.id == owner) {
                implied = users::implied_users(ctx, std::slice::from_ref(&owner), true).await?;
            }
            let visibility = group.config.default_visibility.unwrap_or_else(|| "visible".into());
            let mut data = req.data.unwrap_or_default();
            let initial = data.members.take().unwrap_or_default();
            members::check_new_members(ctx, &[&initial]).await?;
            let now = Timestamp::now();
            let feed = new_feed(&fid, &visibility, &owner, data, now);
            let initial: Vec<FeedMember> = initial.into_iter().map(|m| members::new_member(&fid, m, now)).collect();
            // The feed and its first members in one transaction (a
            // soft-deleted feed is replaced); a concurrent creator may win,
            // and then we read theirs.
            let extra =
                ExtraWrites { users: implied, user_updates: std::mem::take(&mut replaced), ..Default::default() };
            let written = ctx.store.insert_feeds_with(&[(feed.clone(), initial)], &extra).await?;
            if written == [true] {
                (feed, true)
            } else {
                (get_live_feed(ctx, &fid).await?, false)
            }
        }
    };

    let options = req.enrichment_options.unwrap_or_default();
    let skip_all = options.skip_all.unwrap_or(false);
    let (activities, next, prev) = if skip_all || options.skip_activity.unwrap_or(false) {
        (Vec::new(), None, None)
    } else {
        // The page's cursors hold for this feed and filter only.
        let applied_filter = filter.as_ref().and(req.filter.as_ref());
        let cursors = ctx.cursor_scope("GetOrCreateFeed.activities").bind(&fid.to_string()).bind(&applied_filter);
        read_page(ctx, &fid, limit, (next, prev), &cursors, &actor.reader(body_user.as_deref()), filter.as_ref())
            .await?
    };
    let pinned = if skip_all || options.skip_pins.unwrap_or(false) { None } else { Some(feed_pins(ctx, &fid).await?) };
    let followers = match req.followers_pagination {
        Some(p) => follows::page_of(ctx, follows::Side::Followers, &fid, &p).await?,
        None if skip_all || options.skip_followers.unwrap_or(false) => FollowPage::default(),
        None => follows::page_of(ctx, follows::Side::Followers, &fid, &Pager::default()).await?,
    };
    let following = match req.following_pagination {
        Some(p) => follows::page_of(ctx, follows::Side::Following, &fid, &p).await?,
        None if skip_all || options.skip_following.unwrap_or(false) => FollowPage::default(),
        None => follows::page_of(ctx, follows::Side::Following, &fid, &Pager::default()).await?,
    };
    let members = match req.member_pagination {
        Some(p) => members::page_of(ctx, &fid, &p).await?,
        None if skip_all => MemberPage::default(),
        None => members::page_of(ctx, &fid, &Pager::default()).await?,
    };
    let own = actor.viewer(body_user.as_deref()).filter(|_| !skip_all).map(|viewer| {
        let wanted = OwnWanted {
            follows: !options.skip_own_follows.unwrap_or(false),
            followings: options.enrich_own_followings.unwrap_or(false),
            membership: true,
            capabilities: !options.skip_own_capabilities.unwrap_or(false),
        };
        (viewer.to_string(), wanted)
    });
    Ok(FeedRead { feed, created, activities, pinned, next, prev, followers, following, members, own, relations })
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
        if ctx.store.put_feed(&feed, Some(version)).await? {
            return Ok(feed);
        }
    }
    Err(super::versions::contended("feed", &fid.to_string()))
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
    let queued = ExtraWrites { tasks: vec![task.clone()], ..Default::default() };
    let change = |mut feed: Feed| async {
        access::require(ctx, actor, &feed, access::DELETE_FEED).await?;
        let now = super::versions::next_version(feed.updated_at);
        feed.deleted_at = Some(now);
        feed.updated_at = now;
        Ok(feed)
    };
    put_current(ctx, fid, change, |_, _| queued.clone()).await?;
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
        };
        let ids: Vec<String> = ctx.store.query_activities(&query).await?.into_iter().map(|a| a.id).collect();
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

/// The reconciliation task: brings the feed's follows in line with the
/// visibility it has when the task runs (a later change may have moved
/// it). Idempotent: settled and dropped follows are not found again.
pub async fn run_reconcile_visibility(ctx: &Ctx, fid: &Fid, approve: bool) -> Result<Value> {
    let feed = ctx.store.get_feeds(std::slice::from_ref(fid)).await?.pop().filter(|f| f.deleted_at.is_none());
    let Some(feed) = feed else {
        return Ok(serde_json::json!({ "feed": fid.to_string(), "visibility": null }));
    };
    if feed.visibility != "followers" {
        follows::settle_pending(ctx, fid, approve).await?;
    }
    if ["members", "private"].contains(&feed.visibility.as_str()) {
        follows::drop_disallowed(ctx, &feed).await?;
    }
    Ok(serde_json::json!({ "feed": fid.to_string(), "visibility": feed.visibility }))
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
