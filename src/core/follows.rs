//! Follows, follow requests and the timeline copies they cause. Fan-out is
//! push-based: the store copies entries inside the same transaction as the
//! write (see docs/architecture.md for why). A follow of a `followers`
//! feed starts `pending` and copies nothing until its owner accepts it.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::json;

use super::access;
use super::cursor::Page;
use super::cursor::Pager;
use super::error::{Error, Result};
use super::events::{Event, EventType, Notified};
use super::feeds::{get_live_feed, resolve_feeds};
use super::filter::{self, Filter};
use super::model::{Activity, Custom, Feed, Fid, Follow, FOLLOW_ACCEPTED, FOLLOW_PENDING, FOLLOW_REJECTED};
use super::notifications::{self, Notice};
use super::time::Timestamp;
use super::users;
use super::{Actor, Ctx, QueryRequest};
use crate::core::storage::{NotificationWindow, Reader};

/// Activities copied on a new follow when the request names no limit.
pub const DEFAULT_COPY_LIMIT: usize = 1000;
pub const MAX_COPY_LIMIT: i64 = 1000;
pub const MAX_FOLLOW_BATCH: usize = 1000;
pub const MAX_UNFOLLOW_BATCH: usize = 100;
const FOLLOW_SORT: &[&str] = &["created_at", "updated_at"];

#[derive(Debug, Deserialize, Clone, Default)]
pub struct FollowCmd {
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub activity_copy_limit: Option<i64>,
    /// Checked in `checked_pair`: the follow request flattens this struct,
    /// so the parser could not name the field.
    #[serde(default)]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub push_preference: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub create_users: Option<bool>,
    #[serde(default)]
    pub create_notification_activity: Option<bool>,
    #[serde(default)]
    pub copy_custom_to_notification: Option<bool>,
    #[serde(default)]
    pub follower_role: Option<String>,
    /// No push notification for this follow (`core::push`).
    #[serde(default)]
    pub skip_push: Option<bool>,
}

pub type FollowPage = Page<Follow>;

/// The outcome of a follow request: the follow, whether it is new, and
/// whether a notification went out for it.
pub struct Followed {
    pub follow: Follow,
    pub created: bool,
    pub notified: bool,
}

/// Follow: creating a follow that exists is an input error.
pub async fn follow(ctx: &Ctx, actor: &Actor, cmd: FollowCmd) -> Result<Followed> {
    let create_users = cmd.create_users.unwrap_or(false);
    let followed = follow_many(ctx, actor, vec![cmd], create_users).await?.pop();
    match followed {
        Some(f) if f.created => Ok(f),
        Some(f) => Err(Error::input(format!("{} already follows {}", f.follow.source, f.follow.target))),
        None => Err(Error::internal("follow produced no result")),
    }
}

/// GetOrCreateFollow: an existing follow is returned unchanged.
pub async fn get_or_create_follow(ctx: &Ctx, actor: &Actor, cmd: FollowCmd) -> Result<Followed> {
    let create_users = cmd.create_users.unwrap_or(false);
    follow_many(ctx, actor, vec![cmd], create_users)
        .await?
        .pop()
        .ok_or_else(|| Error::internal("follow produced no result"))
}

/// FollowBatch / GetOrCreateFollows: up to 1,000 follows in one
/// transaction; existing ones come back unchanged, in request order.
pub async fn follow_batch(ctx: &Ctx, actor: &Actor, cmds: Vec<FollowCmd>, create_users: bool) -> Result<Vec<Followed>> {
    if cmds.is_empty() || cmds.len() > MAX_FOLLOW_BATCH {
        return Err(Error::field("follows", format!("follows must contain 1 to {MAX_FOLLOW_BATCH} items")));
    }
    if cmds.iter().any(|c| c.create_users.is_some()) {
        return Err(Error::field("create_users", "create_users is accepted only at the top level of a batch"));
    }
    follow_many(ctx, actor, cmds, create_users).await
}

fn copy_limit(n: Option<i64>) -> Result<usize> {
    match n {
        None => Ok(DEFAULT_COPY_LIMIT),
        Some(n) if (0..=MAX_COPY_LIMIT).contains(&n) => Ok(n as usize),
        Some(n) => Err(Error::field(
            "activity_copy_limit",
            format!("activity_copy_limit must be between 0 and {MAX_COPY_LIMIT}, got {n}"),
        )),
    }
}

/// A follow's `push_preference`: `all` pushes every new activity of the
/// target to the follower (`core::push_ops::post_targets`); `none`, the
/// default, nothing.
fn push_preference(p: Option<String>) -> Result<String> {
    let p = p.filter(|p| !p.is_empty()).unwrap_or_else(|| "none".into());
    if !["all", "none"].contains(&p.as_str()) {
        return Err(Error::field("push_preference", "push_preference must be all or none"));
    }
    Ok(p)
}

fn parse_pair(source: &str, target: &str) -> Result<(Fid, Fid)> {
    let source = Fid::parse(source).map_err(|e| Error::field("source", e.message))?;
    let target = Fid::parse(target).map_err(|e| Error::field("target", e.message))?;
    if source == target {
        return Err(Error::field("target", "a feed cannot follow itself"));
    }
    Ok((source, target))
}

impl FollowCmd {
    /// The (source, target) pair, after checking what the command stores.
    fn checked_pair(&self) -> Result<(Fid, Fid)> {
        if let Some(custom) = &self.custom {
            super::limits::check_map("custom", custom)?;
        }
        parse_pair(&self.source, &self.target)
    }
}

/// The `follow` notification a new follow sends the target's owner.
fn follow_notice(
    follow: &Follow,
    source: &Feed,
    target: &Feed,
    copy_custom: bool,
    window: i64,
) -> Option<(Activity, Option<NotificationWindow>)> {
    let object_id = follow.target.to_string();
    let notice = Notice {
        kind: "follow",
        actor: &source.created_by,
        recipient: &target.created_by,
        object_id: &object_id,
        text: None,
        comment: None,
        target: json!({"id": object_id, "type": "feed", "name": target.name, "user_id": target.created_by}),
        custom: if copy_custom { follow.custom.clone().unwrap_or_default() } else { Custom::new() },
    };
    notifications::build_windowed(&notice, window, follow.created_at)
}

async fn follow_many(ctx: &Ctx, actor: &Actor, cmds: Vec<FollowCmd>, create_users: bool) -> Result<Vec<Followed>> {
    let mut pairs = Vec::with_capacity(cmds.len());
    // Checked once, before anything is read or written.
    let mut settings = Vec::with_capacity(cmds.len());
    for cmd in &cmds {
        pairs.push(cmd.checked_pair()?);
        settings.push((copy_limit(cmd.activity_copy_limit)?, push_preference(cmd.push_preference.clone())?));
        if let Some(status) = cmd.status.as_deref().filter(|s| !s.is_empty()) {
            actor.require_server()?;
            if ![FOLLOW_ACCEPTED, FOLLOW_PENDING].contains(&status) {
                return Err(Error::field("status", "status must be accepted or pending"));
            }
        }
    }
    // Sorted, so concurrent requests create missing feeds in the same order.
    let fids: Vec<Fid> = pairs
        .iter()
        .flat_map(|(s, t)| [s.clone(), t.clone()])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let (existing, missing) = resolve_feeds(ctx, &fids, None).await?;
    let feeds: HashMap<&Fid, &Feed> = existing.iter().chain(&missing).map(|f| (&f.fid, f)).collect();
    if let Actor::User(me) = actor {
        if let Some((source, _)) = pairs.iter().find(|(s, _)| &feeds[s].created_by != me) {
            return Err(Error::not_allowed(format!(
                "user {me} cannot follow from feed {source}, which they do not own"
            )));
        }
        // One capability lookup for every target of the batch.
        let targets: Vec<&Feed> = pairs.iter().map(|(_, t)| feeds[t]).collect();
        let caps = access::capabilities_on(ctx, me, &targets).await?;
        for target in targets {
            let allowed = &target.created_by == me
                || caps.get(&target.fid).is_some_and(|c| c.iter().any(|c| c == access::FOLLOW));
            if !allowed {
                return Err(Error::not_allowed(format!(
                    "user {me} is not allowed to follow on feed {} ({} feed)",
                    target.fid, target.visibility
                )));
            }
        }
    }
    let owners: Vec<String> = missing.iter().map(|f| f.created_by.clone()).collect();
    let implied = users::implied_users(ctx, &owners, create_users || actor.is_server()).await?;

    let now = Timestamp::now();
    let window = if cmds.iter().any(|c| c.create_notification_activity == Some(true)) {
        notifications::dedup_window(ctx).await?
    } else {
        0
    };
    let members = approved_members(ctx, &pairs, &feeds).await?;
    let cmds_skip_push = cmds.iter().all(|c| c.skip_push == Some(true));
    let mut planned = Vec::with_capacity(cmds.len());
    for ((cmd, (source, target)), (copy_limit, push_preference)) in cmds.into_iter().zip(pairs).zip(settings) {
        // A `followers` feed approves every follow, its owner's own included
        // (Stream's client tests expect the owner's follow to be `pending`);
        // its active members alone follow without asking.
        let follower = &feeds[&source].created_by;
        let needs_approval =
            feeds[&target].visibility == "followers" && !members.contains(&(target.clone(), follower.clone()));
        let status = match cmd.status.filter(|s| !s.is_empty()) {
            Some(s) => s,
            None if needs_approval => FOLLOW_PENDING.to_string(),
            None => FOLLOW_ACCEPTED.to_string(),
        };
        let follow = Follow {
            status,
            custom: cmd.custom,
            push_preference,
            follower_role: access::USER_ROLE.into(),
            created_at: now,
            updated_at: now,
            request_accepted_at: None,
            request_rejected_at: None,
            activity_copy_limit: Some(copy_limit),
            source,
            target,
        };
        let notification = if cmd.create_notification_activity == Some(true) {
            let copy = cmd.copy_custom_to_notification.unwrap_or(false);
            follow_notice(&follow, feeds[&follow.source], feeds[&follow.target], copy, window)
        } else {
            None
        };
        planned.push((follow, notification));
    }
    let ids: Vec<Option<String>> = planned.iter().map(|(_, n)| n.as_ref().map(|(n, _)| n.id.clone())).collect();
    let made: Vec<_> = planned.iter_mut().filter_map(|(_, n)| n.take()).collect();
    let fresh = notifications::fresh(ctx, made).await?;
    let mut fresh_notifications: HashMap<String, Activity> =
        fresh.notifications.into_iter().map(|n| (n.id.clone(), n)).collect();
    let planned: Vec<(Follow, Option<Activity>)> = planned
        .into_iter()
        .zip(ids)
        .map(|((follow, _), id)| (follow, id.and_then(|id| fresh_notifications.remove(&id))))
        .collect();
    let notification_feeds = fresh.feeds;
    let mut new_feeds = missing.clone();
    new_feeds.extend(notification_feeds.into_iter().filter(|f| !missing.iter().any(|m| m.fid == f.fid)));
    // Each follow that is new announces itself; one that exists, nothing.
    // One event is completed per follow; a batch pushes nothing only when
    // every follow in it asks so.
    let skip_push = cmds_skip_push;
    let mut each = Event::new(EventType::FollowCreated, None).skipping_push(Some(skip_push));
    // Each follow's event keeps its own notification (`Event::completed`).
    for (follow, notification) in &planned {
        if let Some(mut notified) = notification.as_ref().and_then(Notified::of) {
            notified.follow = Some((follow.source.clone(), follow.target.clone()));
            each.notified.push(notified);
        }
    }
    let each = Some(each);
    let extra =
        crate::core::storage::ExtraWrites { users: implied, each, windows: fresh.windows, ..Default::default() };
    let inserted = ctx.store.insert_follows_with(&planned, &new_feeds, &extra).await?;

    // Follows that existed already come back as stored.
    let stale: Vec<&Follow> = planned.iter().zip(&inserted).filter(|(_, new)| !**new).map(|((f, _), _)| f).collect();
    let stored = stored_follows(ctx, &stale).await?;
    let mut out = Vec::with_capacity(planned.len());
    let mut seen = HashSet::new();
    for ((follow, notification), new) in planned.into_iter().zip(inserted) {
        let key = (follow.source.clone(), follow.target.clone());
        let first = seen.insert(key.clone());
        if new && first {
            out.push(Followed { follow, created: true, notified: notification.is_some() });
        } else {
            let follow = stored.get(&key).cloned().unwrap_or(follow);
            out.push(Followed { follow, created: false, notified: false });
        }
    }
    Ok(out)
}

/// (feed, user) pairs where the user following a `followers` feed is an
/// active member of it, whose follows need no approval.
async fn approved_members(
    ctx: &Ctx,
    pairs: &[(Fid, Fid)],
    feeds: &HashMap<&Fid, &Feed>,
) -> Result<HashSet<(Fid, String)>> {
    // One lookup per `followers` feed, for all who follow it in this batch.
    let mut followers: HashMap<&Fid, Vec<String>> = HashMap::new();
    for (source, target) in pairs.iter().filter(|(_, t)| feeds[t].visibility == "followers") {
        followers.entry(target).or_default().push(feeds[source].created_by.clone());
    }
    let mut out = HashSet::new();
    for (target, users) in followers {
        for m in ctx.store.get_members(target, &users).await? {
            if m.status == super::model::MEMBER_ACTIVE {
                out.insert((target.clone(), m.user_id));
            }
        }
    }
    Ok(out)
}

/// The stored follows of the given pairs, in one query.
async fn stored_follows(ctx: &Ctx, pairs: &[&Follow]) -> Result<HashMap<(Fid, Fid), Follow>> {
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let query = pairs_query(pairs.iter().map(|f| (&f.source, &f.target)));
    Ok(ctx
        .store
        .query_follows(&query, &Reader::default())
        .await?
        .into_iter()
        .map(|f| ((f.source.clone(), f.target.clone()), f))
        .collect())
}

async fn get_follow(ctx: &Ctx, source: &Fid, target: &Fid) -> Result<Follow> {
    ctx.store
        .get_follow(source, target)
        .await?
        .ok_or_else(|| Error::not_found("follow", &format!("{source} -> {target}")))
}

/// Only the target feed's owner (or the server) answers follow requests.
async fn require_target_owner(ctx: &Ctx, actor: &Actor, target: &Fid) -> Result<Feed> {
    let feed = get_live_feed(ctx, target).await?;
    access::require(ctx, actor, &feed, access::UPDATE_FEED_FOLLOWERS).await?;
    Ok(feed)
}

/// AcceptFollow: a pending (or rejected) request becomes an accepted follow
/// and the target's recent activities, up to the request's
/// `activity_copy_limit`, reach the follower's feed.
pub async fn accept_follow(
    ctx: &Ctx,
    actor: &Actor,
    source: &str,
    target: &str,
    follower_role: Option<String>,
) -> Result<Follow> {
    let (source, target) = parse_pair(source, target)?;
    require_target_owner(ctx, actor, &target).await?;
    answer(ctx, &source, &target, true, |follow, now| {
        if follow.status == FOLLOW_ACCEPTED {
            return Err(Error::input(format!("the follow {source} -> {target} is already accepted")));
        }
        follow.status = FOLLOW_ACCEPTED.into();
        follow.request_accepted_at = Some(now);
        follow.updated_at = now;
        if let Some(role) = follower_role.as_deref().filter(|r| !r.is_empty()) {
            follow.follower_role = role.to_string();
        }
        Ok(())
    })
    .await
}

/// RejectFollow: a pending request is refused; nothing reaches the follower.
pub async fn reject_follow(ctx: &Ctx, actor: &Actor, source: &str, target: &str) -> Result<Follow> {
    let (source, target) = parse_pair(source, target)?;
    require_target_owner(ctx, actor, &target).await?;
    answer(ctx, &source, &target, false, |follow, now| {
        if follow.status != FOLLOW_PENDING {
            return Err(Error::input(format!("the follow {source} -> {target} is {}, not pending", follow.status)));
        }
        follow.status = FOLLOW_REJECTED.into();
        follow.request_rejected_at = Some(now);
        follow.updated_at = now;
        Ok(())
    })
    .await
}

/// Answers a follow request on the current row (see `versions`): `change`
/// checks and changes the follow, given its new version.
async fn answer(
    ctx: &Ctx,
    source: &Fid,
    target: &Fid,
    backfill: bool,
    change: impl Fn(&mut Follow, Timestamp) -> Result<()>,
) -> Result<Follow> {
    for _ in 0..super::versions::WRITE_ATTEMPTS {
        let mut follow = get_follow(ctx, source, target).await?;
        let version = follow.updated_at;
        change(&mut follow, super::versions::next_version(version))?;
        if update_follow_announced(ctx, &follow, backfill, version).await? {
            return Ok(follow);
        }
    }
    Err(super::versions::contended("follow", &format!("{source} -> {target}")))
}

/// UpdateFollow: `custom` and `push_preference` by the follower; the
/// server may also set `follower_role` and move the status (accepting
/// copies activities as AcceptFollow does).
pub async fn update_follow(ctx: &Ctx, actor: &Actor, cmd: FollowCmd) -> Result<Follow> {
    let (source, target) = cmd.checked_pair()?;
    if let Actor::User(me) = actor {
        let feed = get_live_feed(ctx, &source).await?;
        if &feed.created_by != me {
            return Err(Error::not_allowed(format!("user {me} does not own feed {source}")));
        }
        if cmd.follower_role.is_some() || cmd.status.is_some() {
            return Err(Error::not_allowed("follower_role and status can be changed server-side only"));
        }
    }
    for _ in 0..super::versions::WRITE_ATTEMPTS {
        let follow = get_follow(ctx, &source, &target).await?;
        let version = follow.updated_at;
        let was_accepted = follow.status == FOLLOW_ACCEPTED;
        let follow = changed_follow(follow, cmd.clone())?;
        let backfill = !was_accepted && follow.status == FOLLOW_ACCEPTED;
        if update_follow_announced(ctx, &follow, backfill, version).await? {
            return Ok(follow);
        }
    }
    Err(super::versions::contended("follow", &format!("{source} -> {target}")))
}

/// Saves a changed follow at `version` with its `feeds.follow.updated`.
async fn update_follow_announced(ctx: &Ctx, follow: &Follow, backfill: bool, version: Timestamp) -> Result<bool> {
    let extra = crate::core::storage::ExtraWrites {
        events: vec![Event::about_follow(EventType::FollowUpdated, follow)],
        ..Default::default()
    };
    ctx.store.update_follow_with(follow, backfill, Some(version), &extra).await
}

fn changed_follow(mut follow: Follow, cmd: FollowCmd) -> Result<Follow> {
    let was_accepted = follow.status == FOLLOW_ACCEPTED;
    if let Some(custom) = cmd.custom {
        follow.custom = Some(custom);
    }
    if cmd.push_preference.is_some() {
        follow.push_preference = push_preference(cmd.push_preference)?;
    }
    if let Some(role) = cmd.follower_role.filter(|r| !r.is_empty()) {
        follow.follower_role = role;
    }
    if let Some(limit) = cmd.activity_copy_limit {
        follow.activity_copy_limit = Some(copy_limit(Some(limit))?);
    }
    let now = Timestamp::now();
    match cmd.status.as_deref().filter(|s| !s.is_empty()) {
        None => {}
        Some(FOLLOW_ACCEPTED) if !was_accepted => {
            follow.status = FOLLOW_ACCEPTED.into();
            follow.request_accepted_at = Some(now);
        }
        Some(s) if s == follow.status => {}
        Some(FOLLOW_PENDING) if !was_accepted => follow.status = FOLLOW_PENDING.into(),
        Some(FOLLOW_REJECTED) if follow.status == FOLLOW_PENDING => {
            follow.status = FOLLOW_REJECTED.into();
            follow.request_rejected_at = Some(now);
        }
        Some(s) => {
            return Err(Error::field("status", format!("cannot change a {} follow to {s:?}", follow.status)));
        }
    }
    follow.updated_at = super::versions::next_version(follow.updated_at);
    Ok(follow)
}

/// One follow to remove.
#[derive(Debug, Deserialize, Clone)]
pub struct UnfollowPair {
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub keep_history: Option<bool>,
}

/// Unfollow / UnfollowBatch (`require_all`: every pair must exist, or
/// nothing is removed) / GetOrCreateUnfollow(s) (missing pairs are
/// skipped). Returns the follows removed.
pub async fn unfollow(
    ctx: &Ctx,
    actor: &Actor,
    pairs: Vec<UnfollowPair>,
    require_all: bool,
    delete_notification: bool,
) -> Result<Vec<Follow>> {
    if pairs.is_empty() || pairs.len() > MAX_UNFOLLOW_BATCH {
        return Err(Error::field("follows", format!("follows must contain 1 to {MAX_UNFOLLOW_BATCH} items")));
    }
    let mut parsed = Vec::with_capacity(pairs.len());
    for p in &pairs {
        let (source, target) = parse_pair(&p.source, &p.target)?;
        parsed.push((source, target, p.keep_history.unwrap_or(false)));
    }
    let fids: Vec<Fid> =
        parsed.iter().flat_map(|(s, t, _)| [s.clone(), t.clone()]).collect::<HashSet<_>>().into_iter().collect();
    let feeds: HashMap<Fid, Feed> = ctx.store.get_feeds(&fids).await?.into_iter().map(|f| (f.fid.clone(), f)).collect();
    if let Actor::User(me) = actor {
        for (source, _, _) in &parsed {
            if feeds.get(source).is_none_or(|f| &f.created_by != me) {
                return Err(Error::not_allowed(format!("user {me} does not own feed {source}")));
            }
        }
    }
    // The notifications go with the follows, in their transaction, and
    // each follow removed announces itself.
    let each = Some(Event::new(EventType::FollowDeleted, None));
    let mut extra = crate::core::storage::ExtraWrites { each, ..Default::default() };
    if delete_notification {
        let existing: Vec<Follow> = ctx
            .store
            .query_follows(&pairs_query(parsed.iter().map(|(s, t, _)| (s, t))), &Reader::default())
            .await?
            .into_iter()
            .filter(|f| parsed.iter().any(|(s, t, _)| s == &f.source && t == &f.target))
            .collect();
        for f in &existing {
            if let (Some(source), Some(target)) = (feeds.get(&f.source), feeds.get(&f.target)) {
                let (object_id, made) = (f.target.to_string(), f.created_at);
                let ids =
                    notifications::made_ids(ctx, "follow", &object_id, &source.created_by, &target.created_by, made);
                extra.withdrawn.extend(ids.await?);
            }
        }
    }
    ctx.store.delete_follows_with(&parsed, require_all, &extra).await
}

/// The follows from any of the sources to any of the targets of `pairs`,
/// in one query.
fn pairs_query<'a>(pairs: impl Iterator<Item = (&'a Fid, &'a Fid)>) -> crate::core::storage::ListQuery {
    let (sources, targets): (HashSet<String>, HashSet<String>) =
        pairs.map(|(s, t)| (s.to_string(), t.to_string())).unzip();
    let (sources, targets): (Vec<String>, Vec<String>) = (sources.into_iter().collect(), targets.into_iter().collect());
    crate::core::storage::ListQuery {
        filter: Filter::is_in("source_feed", sources).and(Filter::is_in("target_feed", targets)),
        sort: vec![("created_at", true)],
        limit: usize::MAX >> 1,
        offset: 0,
    }
}

/// QueryFollows; user tokens see the follows of feeds they may query the
/// follows of (source or target).
pub async fn query_follows(ctx: &Ctx, actor: &Actor, q: QueryRequest) -> Result<FollowPage> {
    let cursors = ctx.cursor_scope("QueryFollows");
    let (query, window) = q.list(cursors, filter::FOLLOW_FIELDS, FOLLOW_SORT, ("created_at", true))?;
    let reader = access::with_grants(ctx, actor.reader(None)).await?;
    Ok(window.page(ctx.store.query_follows(&query, &reader).await?))
}

pub enum Side {
    Followers,
    Following,
}

impl Side {
    /// Where a feed read's `followers_pagination`/`following_pagination`
    /// cursors are valid: that side of that feed.
    fn cursor_scope(&self, ctx: &Ctx, fid: &Fid) -> super::cursor::Scope {
        let (operation, field) = match self {
            Side::Followers => ("GetOrCreateFeed.followers", "followers_pagination"),
            Side::Following => ("GetOrCreateFeed.following", "following_pagination"),
        };
        ctx.cursor_scope(operation).bind(&fid.to_string()).reported_as(field)
    }
}

/// The accepted followers of a feed, or the feeds it follows, newest first.
pub async fn page_of(ctx: &Ctx, side: Side, fid: &Fid, pager: &Pager) -> Result<FollowPage> {
    let field = match side {
        Side::Followers => "target_feed",
        Side::Following => "source_feed",
    };
    let request =
        QueryRequest { limit: pager.limit, next: pager.next.clone(), prev: pager.prev.clone(), ..Default::default() };
    let cursors = side.cursor_scope(ctx, fid);
    let (mut query, window) = request.list(cursors, filter::FOLLOW_FIELDS, FOLLOW_SORT, ("created_at", true))?;
    query.filter = Filter::eq(field, fid.to_string()).and(Filter::eq("status", FOLLOW_ACCEPTED));
    Ok(window.page(ctx.store.query_follows(&query, &Reader::default()).await?))
}

/// Whether `source` follows `target` and is accepted.
pub async fn is_following(ctx: &Ctx, source: &Fid, target: &Fid) -> Result<bool> {
    Ok(ctx.store.get_follow(source, target).await?.is_some_and(|f| f.status == FOLLOW_ACCEPTED))
}

/// Accepts (with backfill) or rejects every pending request to `target`.
pub async fn settle_pending(ctx: &Ctx, target: &Fid, approve: bool) -> Result<()> {
    let mut lost = 0;
    loop {
        // Each settled follow leaves the pending set, so the first page is
        // always the next one.
        let request = QueryRequest { limit: Some(100), ..Default::default() };
        let cursors = ctx.cursor_scope("SettlePending");
        let (mut query, _) = request.list(cursors, filter::FOLLOW_FIELDS, FOLLOW_SORT, ("created_at", false))?;
        query.filter = Filter::eq("target_feed", target.to_string()).and(Filter::eq("status", FOLLOW_PENDING));
        let pending = ctx.store.query_follows(&query, &Reader::default()).await?;
        if pending.is_empty() {
            return Ok(());
        }
        for mut follow in pending {
            // A follow changed meanwhile is read again on the next round,
            // if it is still pending.
            let version = follow.updated_at;
            let now = super::versions::next_version(version);
            follow.updated_at = now;
            if approve {
                follow.status = FOLLOW_ACCEPTED.into();
                follow.request_accepted_at = Some(now);
            } else {
                follow.status = FOLLOW_REJECTED.into();
                follow.request_rejected_at = Some(now);
            }
            if !update_follow_announced(ctx, &follow, approve, version).await? {
                lost += 1;
                if lost >= super::versions::WRITE_ATTEMPTS {
                    return Err(super::versions::contended("follow requests to", &target.to_string()));
                }
            }
        }
    }
}

/// Removes the follows of `feed` that its visibility no longer allows:
/// on a `members` feed only its owner and active members may follow it,
/// on a `private` feed only its owner.
pub async fn drop_disallowed(ctx: &Ctx, feed: &Feed) -> Result<()> {
    let mut offset = 0;
    loop {
        let query = crate::core::storage::ListQuery {
            filter: Filter::eq("target_feed", feed.fid.to_string()),
            sort: vec![("created_at", false)],
            limit: 500,
            offset,
        };
        let page = ctx.store.query_follows(&query, &Reader::default()).await?;
        if page.is_empty() {
            return Ok(());
        }
        let sources: Vec<Fid> = page.iter().map(|f| f.source.clone()).collect();
        let owners: HashMap<Fid, String> =
            ctx.store.get_feeds(&sources).await?.into_iter().map(|f| (f.fid, f.created_by)).collect();
        let owner_ids: Vec<String> = owners.values().cloned().collect::<HashSet<_>>().into_iter().collect();
        let members: HashSet<String> = if feed.visibility == "members" {
            ctx.store
                .get_members(&feed.fid, &owner_ids)
                .await?
                .into_iter()
                .filter(|m| m.status == super::model::MEMBER_ACTIVE)
                .map(|m| m.user_id)
                .collect()
        } else {
            HashSet::new()
        };
        let doomed: Vec<(Fid, Fid, bool)> = page
            .iter()
            .filter(|f| {
                let owner = owners.get(&f.source).map(String::as_str).unwrap_or_default();
                owner != feed.created_by && !members.contains(owner)
            })
            .map(|f| (f.source.clone(), f.target.clone(), false))
            .collect();
        offset += page.len() - doomed.len();
        let each = Some(Event::new(EventType::FollowDeleted, None));
        let extra = crate::core::storage::ExtraWrites { each, ..Default::default() };
        ctx.store.delete_follows_with(&doomed, false, &extra).await?;
    }
}

/// The reconciliation task: brings the feed's follows in line with the
/// visibility it has when the task runs (a later change may have moved
/// it). Idempotent: settled and dropped follows are not found again.
pub async fn run_reconcile_visibility(ctx: &Ctx, fid: &Fid, approve: bool) -> Result<serde_json::Value> {
    let feed = ctx.store.get_feeds(std::slice::from_ref(fid)).await?.pop().filter(|f| f.deleted_at.is_none());
    let Some(feed) = feed else {
        return Ok(serde_json::json!({ "feed": fid.to_string(), "visibility": null }));
    };
    if feed.visibility != "followers" {
        settle_pending(ctx, fid, approve).await?;
    }
    if ["members", "private"].contains(&feed.visibility.as_str()) {
        drop_disallowed(ctx, &feed).await?;
    }
    Ok(serde_json::json!({ "feed": fid.to_string(), "visibility": feed.visibility }))
}
