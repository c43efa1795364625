//! GetOrCreateFeed: the feed read. It composes the areas below it — the
//! feed (`feeds`), its first page of activities, its pins (`pins`), its
//! followers and followings (`follows`) and members (`members`) — and
//! returns them with everything the response embeds already loaded
//! (`enrichment::Lookup`), so the HTTP handler only renders.

use serde::Deserialize;
use serde_json::Value;

use super::cursor::{one_direction, page_limit, Pager};
use std::collections::HashMap;

use super::aggregation::Grouping;
use super::enrichment::{Lookup, OwnWanted, Rank};
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::feeds::{get_live_feed, new_feed, read_page, validate_input, FeedInput};
use super::follows::{self, FollowPage};
use super::members::{self, MemberPage};
use super::model::{Activity, Feed, FeedGroup, FeedGroupConfig, FeedMember, FeedView, Fid, NotificationState};
use super::notification_feeds::{
    group_page, window_page, AggregatedGroup, FeedShape, GroupReader, VIEW_AGGREGATION_WINDOW,
};
use super::pins::{feed_pins, PinnedPage};
use super::selected_feeds::{self, SelectedShape};
use super::storage::{ExtraWrites, FeedSlice, Reader};
use super::time::Timestamp;
use super::users::{self, UserInput};
use super::{access, feed_groups, filter, interests, Actor, Ctx};

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
    /// Aggregated feeds: the groups' activities also as the top-level
    /// `activities`. Off unless asked for, as the spec has it for new apps:
    /// listing them twice doubles the page.
    #[serde(default)]
    pub include_flat_activities: Option<bool>,
    /// Ranked reads: each activity's `score_vars`.
    #[serde(default)]
    pub include_score_vars: Option<bool>,
}

impl EnrichmentOptions {
    /// Drops the activity enrichments these options skip from `lookup`, so
    /// the activities render without them (`skip_activity_refresh_image_urls`
    /// needs nothing: image URLs are never refreshed).
    pub fn strip(&self, lookup: &mut Lookup) {
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
    /// Read-time inputs of the group's ranking expression.
    #[serde(default)]
    pub external_ranking: Option<serde_json::Map<String, Value>>,
    /// The reader's interests for this read (`core::interests`): merged over
    /// the computed ones, or replacing them with `overwrite_interest_weights`.
    #[serde(default)]
    pub interest_weights: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub overwrite_interest_weights: Option<bool>,
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
    /// Subscribes the caller's WebSocket connection to the feed (the edge
    /// does it; the read is the same).
    #[serde(default)]
    pub watch: Option<bool>,
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
    /// Aggregated feeds: the page of groups (`next`/`prev` walk these).
    pub groups: Vec<AggregatedGroup>,
    /// Feeds that track read or seen state.
    pub notification_status: Option<NotificationState>,
    /// Everything the response embeds: users, feeds, the `own_*` fields of
    /// the viewer (the token's user or the user the body names), with the
    /// enrichments the options skip left out.
    pub lookup: Lookup,
}

pub async fn get_or_create_feed(ctx: &Ctx, actor: &Actor, fid: Fid, req: GetOrCreateFeed) -> Result<FeedRead> {
    let filter = match &req.filter {
        Some(Value::Object(f)) if !f.is_empty() => Some(filter::parse(f, filter::ACTIVITY_FIELDS)?),
        Some(Value::Object(_)) | Some(Value::Null) | None => None,
        Some(_) => return Err(Error::field("filter", "filter must be an object")),
    };
    // Refuse rather than ignore: either would change which activities come back.
    if req.id_around.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(Error::field("id_around", "id_around is not supported by this server yet"));
    }
    let limit = page_limit(req.limit)?;
    let mut group = ctx.store.get_feed_group(&fid.group).await?.filter(|g| g.deleted_at.is_none());
    let view = req.view.as_deref().filter(|v| !v.is_empty());
    // A view's own aggregation over a flat feed: grouped at read time.
    let mut view_grouping = None;
    if let Some(view) = view {
        let view = super::feed_views::get_feed_view(ctx, view).await?;
        let base = group.ok_or_else(|| Error::not_found("feed group", &fid.group))?;
        let (seen, grouping) = viewed(base, &view)?;
        group = Some(seen);
        view_grouping = grouping;
    }
    let shape = group.as_ref().map(FeedShape::of);
    let aggregated = shape.as_ref().is_some_and(FeedShape::aggregated);
    let selected = group.as_ref().map(SelectedShape::of).transpose()?.flatten().filter(|_| !aggregated);
    // Inputs to a ranking expression: refused where no ranking reads them.
    let external = req.external_ranking.as_ref().filter(|e| !e.is_empty());
    if external.is_some() && selected.as_ref().is_none_or(|s| s.ranking.is_none()) {
        return Err(Error::field("external_ranking", "external_ranking needs a feed group with a ranking"));
    }
    let interest_weights =
        interests::ReadWeights::parse(req.interest_weights.as_ref(), req.overwrite_interest_weights)?;
    if !interest_weights.is_empty() && selected.as_ref().is_none_or(|s| !s.uses_interests()) {
        let field = if interest_weights.weights.is_empty() { "overwrite_interest_weights" } else { "interest_weights" };
        return Err(Error::field(
            field,
            format!("{field} needs a feed group (or view) with an interest selector or a ranking of type interest"),
        ));
    }
    if aggregated && filter.is_some() {
        return Err(Error::field("filter", "filter is not supported on aggregated feeds"));
    }
    let (next, prev) = one_direction(&req.next, &req.prev)?;
    if let Some(data) = &req.data {
        validate_input(data)?;
    }
    // The body's `user` is written with the feed when the feed is created.
    let mut replaced = match (actor, req.user.clone()) {
        (Actor::Server, Some(user)) => users::replacements(ctx, vec![user]).await?,
        _ => Vec::new(),
    };
    let body_user = req.user_id.clone().or_else(|| req.user.as_ref().map(|u| u.id.clone()));

    if actor.is_anonymous() {
        actor.may_name(body_user.as_deref())?;
    }
    let existing = ctx.store.get_feeds(std::slice::from_ref(&fid)).await?.pop().filter(|f| f.deleted_at.is_none());
    // A user-token reader's relations to the feed decide access and are
    // kept for its `own_*` fields.
    let mut relations = None;
    let (feed, created) = match existing {
        Some(feed) => {
            match actor {
                Actor::User(me) => {
                    let loaded = access::Relations::load(ctx, me, std::slice::from_ref(&fid)).await?;
                    access::require_related(ctx, me, &feed, access::READ_FEED, &loaded).await?;
                    relations = Some(loaded);
                }
                Actor::Anonymous => access::require(ctx, actor, &feed, access::READ_FEED).await?,
                Actor::Server => {}
            }
            if !replaced.is_empty() {
                let extra = ExtraWrites { events: users::updated_events(&replaced), ..Default::default() };
                ctx.store.upsert_users_with(&replaced, &extra).await?;
            }
            (feed, false)
        }
        None => {
            let group = feed_groups::get_feed_group(ctx, &fid.group, false).await?;
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
            // A feed created announces itself (a concurrent creator's
            // write announces theirs).
            let replaced = std::mem::take(&mut replaced);
            let extra = ExtraWrites {
                users: implied,
                events: users::updated_events(&replaced),
                user_updates: replaced,
                each: Some(Event::new(EventType::FeedCreated, Some(&owner))),
                ..Default::default()
            };
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
    let notification_status = match &shape {
        Some(shape) if shape.notifications() && !skip_all => Some(ctx.store.notification_state(&fid).await?),
        _ => None,
    };
    // Stories show (and skip) what the viewer watched; a server call that
    // names nobody reads as the feed's owner.
    let stories = shape.as_ref().filter(|s| s.stories);
    let watcher =
        stories.map(|_| actor.viewer(body_user.as_deref()).map_or_else(|| feed.created_by.clone(), str::to_string));
    let skip_watched_by = watcher.clone().filter(|_| stories.is_some_and(|s| s.track_watched && s.skip_watched));
    let mut groups = Vec::new();
    // Aggregated reads list the groups' activities flat only when asked,
    // the spec's default for new apps.
    let flat = options.include_flat_activities == Some(true);
    let mut ranks = HashMap::new();
    let (activities, next, prev) = if skip_all || options.skip_activity.unwrap_or(false) {
        (Vec::new(), None, None)
    } else if let Some(shape) = shape.as_ref().filter(|_| aggregated) {
        let cursors = ctx.cursor_scope("GetOrCreateFeed.groups").bind(&fid.to_string());
        let reader = actor.reader(body_user.as_deref());
        let who =
            GroupReader { shape, state: notification_status.as_ref(), reader: &reader, watcher: watcher.as_deref() };
        let page;
        (groups, page) = group_page(ctx, &fid, who, limit, (next, prev), &cursors).await?.split(flat);
        page
    } else if let Some(grouping) = &view_grouping {
        let applied_filter = filter.as_ref().and(req.filter.as_ref());
        let cursors = ctx
            .cursor_scope("GetOrCreateFeed.view_groups")
            .bind(&fid.to_string())
            .bind(&applied_filter)
            .bind(&view)
            .bind(&(&req.interest_weights, req.overwrite_interest_weights));
        let reader = actor.reader(body_user.as_deref());
        let window = match &selected {
            // The view's selectors gather; unranked, so newest first.
            Some(selected) => {
                let reading = selected_feeds::Reading {
                    fid: &fid,
                    reader: &reader,
                    filter: filter.as_ref(),
                    limit: VIEW_AGGREGATION_WINDOW,
                    external: None,
                    interest_weights: &interest_weights,
                    score_vars: false,
                };
                let scope = ctx.cursor_scope("GetOrCreateFeed.view_groups.window");
                let page = selected_feeds::read(ctx, selected, reading, (None, None), &scope).await?;
                page.items.into_iter().map(|r| r.activity).collect()
            }
            None => {
                let start = FeedSlice::Start;
                let now = Timestamp::now();
                ctx.store.feed_activities(&fid, &start, VIEW_AGGREGATION_WINDOW, now, &reader, filter.as_ref()).await?
            }
        };
        let page;
        (groups, page) = window_page(grouping, window, limit, (next, prev), &cursors)?.split(flat);
        page
    } else if let Some(selected) = &selected {
        let applied_filter = filter.as_ref().and(req.filter.as_ref());
        let cursors = ctx
            .cursor_scope("GetOrCreateFeed.selected")
            .bind(&fid.to_string())
            .bind(&applied_filter)
            .bind(&view)
            .bind(&external)
            .bind(&(&req.interest_weights, req.overwrite_interest_weights));
        let reader = actor.reader(body_user.as_deref());
        let reading = selected_feeds::Reading {
            fid: &fid,
            reader: &reader,
            filter: filter.as_ref(),
            limit,
            external,
            interest_weights: &interest_weights,
            score_vars: options.include_score_vars.unwrap_or(false) && selected.ranking.is_some(),
        };
        let page = selected_feeds::read(ctx, selected, reading, (next, prev), &cursors).await?;
        let named = selected.selectors.len() > 1;
        let mut activities = Vec::with_capacity(page.items.len());
        for r in page.items {
            ranks.insert(
                r.activity.id.clone(),
                Rank { score: r.score, source: named.then_some(r.source), vars: r.vars },
            );
            activities.push(r.activity);
        }
        (activities, page.next, page.prev)
    } else {
        // The page's cursors hold for this feed and filter only.
        let applied_filter = filter.as_ref().and(req.filter.as_ref());
        let cursors = ctx.cursor_scope("GetOrCreateFeed.activities").bind(&fid.to_string()).bind(&applied_filter);
        let reader = Reader { skip_watched_by, ..actor.reader(body_user.as_deref()) };
        read_page(ctx, &fid, limit, (next, prev), &cursors, &reader, filter.as_ref()).await?
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

    let follows: Vec<_> = followers.items.iter().chain(&following.items).cloned().collect();
    let reader = actor.reader(body_user.as_deref());
    let mut embedded = activities.clone();
    if !flat {
        embedded.extend(groups.iter().flat_map(|g| g.group.activities.iter().cloned()));
    }
    // Users shown outside activities and follows: pinners, and the viewer
    // (whose `own_*` fields need them), loaded with the rest.
    let mut extra_users: Vec<String> = own.iter().map(|(viewer, _)| viewer.clone()).collect();
    if let Some(pinned) = &pinned {
        embedded.extend(pinned.activities.values().cloned());
        extra_users.extend(pinned.pins.items.iter().map(|p| p.user_id.clone()));
    }
    let fids = std::slice::from_ref(&fid);
    let mut lookup = Lookup::load_with_users(ctx, &embedded, &follows, fids, &extra_users, &reader).await?;
    lookup.add_members(ctx, &members.items.iter().collect::<Vec<_>>()).await?;
    options.strip(&mut lookup);
    lookup.ranks = ranks;
    if let Some(watcher) = watcher.filter(|_| stories.is_some_and(|s| s.track_watched)) {
        let watched = if aggregated {
            groups.iter().flat_map(|g| g.group.watched.iter().cloned()).collect()
        } else {
            let ids: Vec<String> = activities.iter().map(|a| a.id.clone()).collect();
            ctx.store.watched(&watcher, &ids).await?.into_iter().collect()
        };
        lookup.watched = Some(watched);
    }
    if let Some((viewer, wanted)) = own {
        // The relations loaded to check a user token's access are the viewer's.
        let known = relations.filter(|_| actor.viewer(None) == Some(viewer.as_str()));
        lookup.add_own_with(ctx, &viewer, fids, wanted, known).await?;
    }
    Ok(FeedRead {
        feed,
        created,
        activities,
        pinned,
        next,
        prev,
        followers,
        following,
        members,
        groups,
        notification_status,
        lookup,
    })
}

/// The feed group as a read through `view` sees it: the view's selectors
/// and ranking replace the group's, and the grouping the read applies when
/// the view aggregates a flat feed. Aggregated groups are kept when
/// activities are written, by the group's own format, so an aggregated
/// group is read through a view only with that format; a view that
/// aggregates otherwise reads plain flat feeds only (no notification or
/// stories state to keep) without a ranking, the view's or the group's
/// (groups are newest-updated first): anything else is refused, not ignored.
fn viewed(mut group: FeedGroup, view: &FeedView) -> Result<(FeedGroup, Option<Grouping>)> {
    let mut grouping = None;
    if view.aggregation.is_some() && view.aggregation != group.config.aggregation {
        let config = &group.config;
        let kept = [("aggregation", config.aggregation.is_some()), ("notification", config.notification.is_some())]
            .into_iter()
            .chain([("stories", config.stories.is_some())])
            .find(|(_, set)| *set);
        if let Some((section, _)) = kept {
            return Err(Error::field(
                "view",
                format!(
                    "feed view {} aggregates differently from feed group {}, whose {section} state is kept as \
                     activities are written: a view's own aggregation reads flat feeds only",
                    view.id, group.id
                ),
            ));
        }
        if view.ranking.is_some() || group.config.ranking.is_some() {
            let ranks = if view.ranking.is_some() {
                format!("feed view {}", view.id)
            } else {
                format!("feed group {}", group.id)
            };
            return Err(Error::field(
                "view",
                format!("feed view {} aggregates and {ranks} ranks: aggregated reads are not ranked", view.id),
            ));
        }
        let aggregation = FeedGroupConfig { aggregation: view.aggregation.clone(), ..Default::default() };
        grouping = Grouping::of(&aggregation);
    }
    let reselects = view.activity_selectors.is_some() || view.ranking.is_some();
    if reselects && group.config.aggregation.is_some() {
        return Err(Error::field(
            "view",
            format!(
                "feed view {} selects or ranks, and feed group {} is aggregated: its groups are kept as activities \
                 are written, so such a view cannot be read yet",
                view.id, group.id
            ),
        ));
    }
    if let Some(selectors) = &view.activity_selectors {
        group.config.activity_selectors = Some(selectors.clone());
    }
    if let Some(ranking) = &view.ranking {
        group.config.ranking = Some(ranking.clone());
    }
    Ok((group, grouping))
}
