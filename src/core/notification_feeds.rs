//! Reading aggregated feeds and marking notification feeds (reference:
//! domain.md §10, ranking.md §2). The groups are kept on write
//! (`core::aggregation` renders the keys, the store keeps the rows); a read
//! is one page of them, newest-updated first, with keyset cursors over
//! `(updated_at, key)`: a group that grows moves to the front, and the
//! pages behind a cursor neither repeat nor skip the groups that did not.
//!
//! Read and seen state: an item (a group, or an activity in a flat
//! notification feed, whose groups are single activities) is read iff it
//! was last updated before the feed's last `mark_all_read`, or its key was
//! marked read since it last grew; the same for seen. `unread`/`unseen`
//! count the items that are not.

use serde::Deserialize;

use super::aggregation::Grouping;
use super::cursor::Scope;
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::feed_groups::live_group;
use super::feeds::get_live_feed;
use super::model::{Activity, FeedGroup, Fid, NotificationState};
use super::storage::{ExtraWrites, GroupMembers, GroupPosition, GroupSlice, Marks, Reader, StoredGroup, StoriesView};
use super::time::Timestamp;
use super::users::UserInput;
use super::{Actor, Ctx};

/// Member activities each group of a read shows (the newest, or the
/// oldest with `activities_sort: created_at_asc`); `activity_count` counts
/// them all.
pub const ACTIVITIES_PER_GROUP: usize = 10;

/// Ids one MarkActivity list may carry.
pub const MAX_MARK_IDS: usize = 100;

/// How a feed group's feeds are read and marked.
#[derive(Debug, Clone)]
pub struct FeedShape {
    pub grouping: Option<Grouping>,
    pub track_read: bool,
    pub track_seen: bool,
    pub stories: bool,
    /// `stories.track_watched`: `mark_watched` is taken and reads show
    /// `is_watched`.
    pub track_watched: bool,
    /// `stories.skip_watched`: reads leave out what the viewer watched.
    pub skip_watched: bool,
}

impl FeedShape {
    pub fn of(group: &FeedGroup) -> FeedShape {
        let flag = |section: &Option<serde_json::Value>, key: &str| {
            section.as_ref().and_then(|n| n.get(key)).and_then(serde_json::Value::as_bool) == Some(true)
        };
        let (notification, stories) = (&group.config.notification, &group.config.stories);
        FeedShape {
            grouping: Grouping::of(&group.config),
            track_read: flag(notification, "track_read"),
            track_seen: flag(notification, "track_seen"),
            stories: stories.is_some(),
            track_watched: flag(stories, "track_watched"),
            skip_watched: flag(stories, "skip_watched"),
        }
    }

    pub fn aggregated(&self) -> bool {
        self.grouping.as_ref().is_some_and(Grouping::aggregated)
    }

    /// Whether reads carry `notification_status` (and marking announces it).
    pub fn notifications(&self) -> bool {
        self.grouping.is_some() && (self.track_read || self.track_seen)
    }

    fn oldest_first(&self) -> bool {
        matches!(self.grouping, Some(Grouping::Format { oldest_first: true, .. }))
    }
}

/// One group as a read shows it.
#[derive(Debug, Clone)]
pub struct AggregatedGroup {
    pub group: StoredGroup,
    /// Set where the group's feed tracks read (seen) state.
    pub is_read: Option<bool>,
    pub is_seen: Option<bool>,
    /// Stories feeds tracking watched state: the viewer watched every live
    /// story of the group.
    pub is_watched: Option<bool>,
}

/// A read's top-level `activities` with its `next` and `prev` cursors.
pub type FlatPage = (Vec<Activity>, Option<String>, Option<String>);

/// A page of an aggregated feed's groups, with its cursors.
pub struct GroupPage {
    pub groups: Vec<AggregatedGroup>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

impl GroupPage {
    /// The groups' activities as one list, newest first (the top-level
    /// `activities` of an aggregated feed read).
    pub fn flat_activities(&self) -> Vec<Activity> {
        let mut all: Vec<Activity> = self.groups.iter().flat_map(|g| g.group.activities.iter().cloned()).collect();
        all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        all
    }

    /// The read's groups, and its top-level `activities` (the groups'
    /// activities when `flat`, else none) with the cursors.
    pub fn split(self, flat: bool) -> (Vec<AggregatedGroup>, FlatPage) {
        let activities = if flat { self.flat_activities() } else { Vec::new() };
        (self.groups, (activities, self.next, self.prev))
    }
}

fn marked_or_before(at: Option<Timestamp>, updated_at: Timestamp, marked: bool) -> bool {
    marked || at.is_some_and(|t| updated_at < t)
}

/// Who reads an aggregated feed, and what its `is_read`/`is_seen` derive
/// from; `watcher` is whose watched state a stories feed shows.
pub struct GroupReader<'a> {
    pub shape: &'a FeedShape,
    pub state: Option<&'a NotificationState>,
    pub reader: &'a Reader,
    pub watcher: Option<&'a str>,
}

/// One page of `fid`'s groups; `cursors` is the read's cursor scope.
pub async fn group_page(
    ctx: &Ctx,
    fid: &Fid,
    who: GroupReader<'_>,
    limit: usize,
    (next, prev): (Option<&str>, Option<&str>),
    cursors: &Scope,
) -> Result<GroupPage> {
    let GroupReader { shape, state, reader, watcher } = who;
    let position = |c: &str, field: &str| -> Result<GroupPosition> {
        let (updated_at, key) = cursors.decode_position(c, field)?;
        Ok(GroupPosition { updated_at, key })
    };
    let slice = match (next, prev) {
        (Some(c), _) => GroupSlice::Older(position(c, "next")?),
        (_, Some(c)) => GroupSlice::Newer(position(c, "prev")?),
        _ => GroupSlice::Start,
    };
    let now = Timestamp::now();
    let stories = match watcher {
        Some(viewer) if shape.stories => {
            Some(StoriesView { viewer: viewer.to_string(), skip_watched: shape.skip_watched && shape.track_watched })
        }
        _ => None,
    };
    let members = GroupMembers { per_group: ACTIVITIES_PER_GROUP, oldest_first: shape.oldest_first(), stories };
    let mut stored = ctx.store.group_page(fid, &slice, limit + 1, &members, now).await?;
    let more = stored.len() > limit;
    stored.truncate(limit);
    let (more_older, more_newer) = match slice {
        GroupSlice::Start | GroupSlice::Holding(_) => (more, false),
        GroupSlice::Older(_) => (more, true),
        GroupSlice::Newer(_) => {
            stored.reverse();
            (true, more)
        }
    };
    let next = stored.last().filter(|_| more_older).map(|g| cursors.encode_position(g.updated_at, &g.key));
    let prev = stored.first().filter(|_| more_newer).map(|g| cursors.encode_position(g.updated_at, &g.key));
    // A user token reads others' private activities nowhere, groups included.
    let hidden =
        |a: &Activity| reader.restricted && a.private_to().is_some_and(|u| Some(u) != reader.viewer.as_deref());
    let groups = stored
        .into_iter()
        .map(|mut group| {
            group.activities.retain(|a| !hidden(a));
            let is_read = state
                .filter(|_| shape.track_read)
                .map(|s| marked_or_before(s.last_read_at, group.updated_at, group.marked_read));
            let is_seen = state
                .filter(|_| shape.track_seen)
                .map(|s| marked_or_before(s.last_seen_at, group.updated_at, group.marked_seen));
            let is_watched = members.stories.as_ref().filter(|_| shape.track_watched).map(|_| group.all_watched);
            AggregatedGroup { group, is_read, is_seen, is_watched }
        })
        .collect();
    Ok(GroupPage { groups, next, prev })
}

/// Most activities a read-time aggregation groups: a flat feed read
/// through a feed view with its own `aggregation` groups its newest this
/// many activities (after filters and visibility); older ones are in no
/// group of that read.
pub const VIEW_AGGREGATION_WINDOW: usize = 1_000;

/// One page of the groups `grouping` makes of `window` (the newest
/// activities of a feed, at most `VIEW_AGGREGATION_WINDOW`): the read of a
/// flat feed through a view that aggregates. Groups are ordered and paged
/// as stored groups are, newest-updated first with keyset cursors over
/// `(updated_at, key)`, so a cursor holds while activities arrive: a group
/// that grows moves to the front and the others neither repeat nor skip.
pub fn window_page(
    grouping: &Grouping,
    window: Vec<Activity>,
    limit: usize,
    (next, prev): (Option<&str>, Option<&str>),
    cursors: &Scope,
) -> Result<GroupPage> {
    let all = super::aggregation::group_activities(grouping, window, ACTIVITIES_PER_GROUP);
    let position = |c: &str, field: &str| cursors.decode_position(c, field);
    let key = |g: &StoredGroup| (g.updated_at, g.key.clone());
    let (page, more_older, more_newer) = match (next, prev) {
        (Some(c), _) => {
            let at = position(c, "next")?;
            let start = all.partition_point(|g| key(g) >= at);
            let end = (start + limit).min(all.len());
            (&all[start..end], end < all.len(), start > 0)
        }
        (_, Some(c)) => {
            let at = position(c, "prev")?;
            let end = all.partition_point(|g| key(g) > at);
            let start = end.saturating_sub(limit);
            (&all[start..end], end < all.len(), start > 0)
        }
        _ => {
            let end = limit.min(all.len());
            (&all[..end], end < all.len(), false)
        }
    };
    let next = page.last().filter(|_| more_older).map(|g| cursors.encode_position(g.updated_at, &g.key));
    let prev = page.first().filter(|_| more_newer).map(|g| cursors.encode_position(g.updated_at, &g.key));
    let groups = page
        .iter()
        .cloned()
        .map(|group| AggregatedGroup { group, is_read: None, is_seen: None, is_watched: None })
        .collect();
    Ok(GroupPage { groups, next, prev })
}

/// The groups of the aggregated stories feed `fid` that hold any of `ids`
/// (at most `MAX_MARK_IDS`), as `watcher` sees them now: what
/// `feeds.stories_feed.updated` shows after a `mark_watched`. None for
/// other feeds.
pub async fn stories_groups_holding(
    ctx: &Ctx,
    fid: &Fid,
    watcher: &str,
    ids: &[String],
) -> Result<Vec<AggregatedGroup>> {
    let group = ctx.store.get_feed_group(&fid.group).await?.filter(|g| g.deleted_at.is_none());
    let Some(shape) = group.as_ref().map(FeedShape::of).filter(|s| s.aggregated() && s.stories) else {
        return Ok(Vec::new());
    };
    if ids.is_empty() || ids.len() > MAX_MARK_IDS {
        return Ok(Vec::new());
    }
    let view = StoriesView { viewer: watcher.to_string(), skip_watched: shape.skip_watched && shape.track_watched };
    let members =
        GroupMembers { per_group: ACTIVITIES_PER_GROUP, oldest_first: shape.oldest_first(), stories: Some(view) };
    let slice = GroupSlice::Holding(ids.to_vec());
    let stored = ctx.store.group_page(fid, &slice, ids.len(), &members, Timestamp::now()).await?;
    Ok(stored
        .into_iter()
        .map(|group| {
            let is_watched = shape.track_watched.then_some(group.all_watched);
            AggregatedGroup { group, is_read: None, is_seen: None, is_watched }
        })
        .collect())
}

/// MarkActivity's body.
#[derive(Debug, Deserialize, Default)]
pub struct MarkActivity {
    #[serde(default)]
    pub mark_read: Option<Vec<String>>,
    #[serde(default)]
    pub mark_seen: Option<Vec<String>>,
    #[serde(default)]
    pub mark_watched: Option<Vec<String>>,
    #[serde(default)]
    pub mark_all_read: Option<bool>,
    #[serde(default)]
    pub mark_all_seen: Option<bool>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user: Option<UserInput>,
}

fn ids(field: &str, list: Option<Vec<String>>) -> Result<Vec<String>> {
    let mut list = list.unwrap_or_default();
    if list.len() > MAX_MARK_IDS {
        return Err(Error::field(field, format!("{field} may list at most {MAX_MARK_IDS} ids")));
    }
    if list.iter().any(|id| id.is_empty() || id.len() > 255) {
        return Err(Error::field(field, format!("{field} ids must be 1 to 255 characters")));
    }
    list.sort();
    list.dedup();
    Ok(list)
}

/// MarkActivity: marks groups (activity ids in flat feeds) of `fid` read
/// or seen, or everything up to now; `mark_watched` records stories as
/// watched by the acting user (the feed's owner when a server call names
/// none). Each list needs the feed group to track it. A user token may mark
/// only feeds it owns. Records `feeds.activity.marked`; where the feed
/// tracks read or seen state, `feeds.notification_feed.updated` with the
/// state after it; and for watched stories `feeds.stories_feed.updated`
/// with those activities.
pub async fn mark_activity(ctx: &Ctx, actor: &Actor, fid: &Fid, req: MarkActivity) -> Result<NotificationState> {
    let mut marks = Marks {
        read: ids("mark_read", req.mark_read)?,
        seen: ids("mark_seen", req.mark_seen)?,
        watched: ids("mark_watched", req.mark_watched)?,
        watcher: String::new(),
        all_read: req.mark_all_read.unwrap_or(false),
        all_seen: req.mark_all_seen.unwrap_or(false),
        at: Timestamp::now(),
    };
    let named = req.user_id.or(req.user.map(|u| u.id));
    let feed = get_live_feed(ctx, fid).await?;
    if let Actor::User(me) = actor {
        actor.acting_user(named.as_deref())?;
        if &feed.created_by != me {
            return Err(Error::not_allowed(format!("only the owner of feed {fid} may mark its activities")));
        }
    }
    let shape = FeedShape::of(&live_group(ctx, &fid.group).await?);
    let tracked = shape.grouping.is_some();
    for (field, asks, tracks, what) in [
        ("mark_read", !marks.read.is_empty(), shape.track_read, "notification.track_read"),
        ("mark_all_read", marks.all_read, shape.track_read, "notification.track_read"),
        ("mark_seen", !marks.seen.is_empty(), shape.track_seen, "notification.track_seen"),
        ("mark_all_seen", marks.all_seen, shape.track_seen, "notification.track_seen"),
    ] {
        if asks && !(tracked && tracks) {
            return Err(Error::field(field, format!("feed group {} does not track this state ({what})", fid.group)));
        }
    }
    let tracks_watched = shape.stories && shape.track_watched;
    if !marks.watched.is_empty() && !tracks_watched {
        return Err(Error::field(
            "mark_watched",
            format!("feed group {} does not track watched stories (stories.track_watched)", fid.group),
        ));
    }
    let user = actor.viewer(named.as_deref()).map(str::to_string);
    marks.watcher = user.clone().unwrap_or_else(|| feed.created_by.clone());
    let mut marked = Event::new(EventType::ActivityMarked, user.as_deref()).in_feeds([fid.clone()]);
    let fields = &mut marked.subject.fields;
    for (field, list) in [("mark_read", &marks.read), ("mark_seen", &marks.seen), ("mark_watched", &marks.watched)] {
        if !list.is_empty() {
            fields.insert(field.into(), serde_json::Value::from(list.clone()));
        }
    }
    for (field, all) in [("mark_all_read", marks.all_read), ("mark_all_seen", marks.all_seen)] {
        if all {
            fields.insert(field.into(), serde_json::Value::Bool(true));
        }
    }
    let updated = shape
        .notifications()
        .then(|| Event::new(EventType::NotificationFeedUpdated, user.as_deref()).in_feeds([fid.clone()]));
    // The stories marked, as they are now: the event shows them watched.
    let stories = if marks.watched.is_empty() {
        None
    } else {
        let watched: Vec<Activity> =
            ctx.store.get_activities(&marks.watched).await?.into_iter().filter(|a| a.deleted_at.is_none()).collect();
        Some(
            Event::new(EventType::StoriesFeedUpdated, Some(&marks.watcher))
                .in_feeds([fid.clone()])
                .with(|s| s.activities = watched),
        )
    };
    let events = move |after: &NotificationState| {
        let mut events = vec![marked.clone()];
        events.extend(updated.clone().map(|e| e.with(|s| s.notification_status = Some(after.clone()))));
        events.extend(stories.clone());
        events
    };
    ctx.store.mark_with(fid, &marks, &ExtraWrites::default(), &events).await
}
