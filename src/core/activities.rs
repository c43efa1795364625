//! Activities: add/upsert (create or update by id), read, full and partial
//! update, soft/hard delete and restore.
//!
//! Every write records its events in its own transaction: add/upsert
//! `feeds.activity.added` (`updated` for an existing id); updates (PUT,
//! PATCH, the partial batch) `feeds.activity.updated`; a write that takes
//! the activity out of some of its feeds also `feeds.activity.removed_from_feed`
//! in each of those feeds alone; soft and hard deletes
//! `feeds.activity.deleted` with the activity as it was; restore
//! `feeds.activity.restored`. All but the removal go to the activity's
//! feeds and, fanned out, to the feeds following them.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::access;
use super::cursor::{OffsetWindow, Page};
use super::error::{Error, Result};
use super::events::{Event, EventType, Notified};
use super::feeds::resolve_feeds;
use super::model::{Activity, Custom, Feed, Fid, Location};
use super::notifications::{self, Notice};
use super::time::Timestamp;
use super::users;
use super::versions;
use super::{new_id, patch, Actor, Ctx};
use crate::core::storage::ExtraWrites;

pub const MAX_FEEDS: usize = 25;
pub const MAX_BATCH: usize = 100;

/// An activity as a client sends it: `ActivityRequest` / `AddActivityRequest`
/// and, for a full update, `UpdateActivityRequest` — whose schema lacks `id`,
/// `type`, `parent_id` and `create_users`, so an update ignores them like any
/// unknown field. Absent content fields mean "empty": a full update clears
/// what it does not send.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct NewActivity {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub create_users: Option<bool>,
    /// Put a `mention` notification into each newly mentioned user's
    /// `notification` feed.
    #[serde(default)]
    pub create_notification_activity: Option<bool>,
    /// On update: notify newly mentioned users, withdraw the notifications of
    /// users no longer mentioned.
    #[serde(default)]
    pub handle_mention_notifications: Option<bool>,
    /// Mention notifications carry the activity's `custom`.
    #[serde(default)]
    pub copy_custom_to_notification: Option<bool>,
    /// No push notification for this write (`core::push`).
    #[serde(default)]
    pub skip_push: Option<bool>,
    /// Absent on update = keep the activity's feeds.
    #[serde(default)]
    pub feeds: Option<Vec<String>>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub attachments: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub visibility_tag: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub mentioned_user_ids: Option<Vec<String>>,
    #[serde(default)]
    pub poll_id: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub search_data: Option<Custom>,
    #[serde(default)]
    pub filter_tags: Option<Vec<String>>,
    #[serde(default)]
    pub interest_tags: Option<Vec<String>>,
    #[serde(default)]
    pub collection_refs: Option<Vec<String>>,
    /// Collections written along with the activity; their refs join
    /// `collection_refs`.
    #[serde(default)]
    pub collections: Option<Vec<super::collections::CollectionInput>>,
    #[serde(default)]
    pub restrict_replies: Option<String>,
    /// Updates: re-run the feed groups' activity processors when the text
    /// changed.
    #[serde(default)]
    pub run_activity_processors: Option<bool>,
}

/// How many interest tags a request may give an activity.
const MAX_INTEREST_TAGS: usize = 50;

/// `UpdateActivityRequest`; see `NewActivity`.
pub type ActivityUpdate = NewActivity;

impl NewActivity {
    /// Replaces `a`'s editable content with this one.
    fn apply_content(self, a: &mut Activity) -> Result<()> {
        if let Some(feeds) = self.feeds {
            a.feeds = parse_feeds(&feeds)?;
        }
        a.text = self.text;
        a.attachments = self.attachments.unwrap_or_default();
        a.custom = self.custom.unwrap_or_default();
        a.visibility = self.visibility.unwrap_or_else(|| "public".into());
        a.visibility_tag = self.visibility_tag;
        a.location = self.location;
        a.expires_at = self.expires_at;
        a.mentioned_user_ids = self.mentioned_user_ids.unwrap_or_default();
        a.poll_id = self.poll_id.filter(|p| !p.is_empty());
        a.search_data = self.search_data.unwrap_or_default();
        a.filter_tags = self.filter_tags.unwrap_or_default();
        a.interest_tags = self.interest_tags.unwrap_or_default();
        if a.interest_tags.len() > MAX_INTEREST_TAGS {
            return Err(Error::field("interest_tags", format!("at most {MAX_INTEREST_TAGS} interest tags")));
        }
        a.collection_refs = self.collection_refs.unwrap_or_default();
        a.restrict_replies = self.restrict_replies.unwrap_or_else(|| "everyone".into());
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct ActivityPatch {
    #[serde(default)]
    pub handle_mention_notifications: Option<bool>,
    #[serde(default)]
    pub copy_custom_to_notification: Option<bool>,
    #[serde(default)]
    pub set: Option<Map<String, Value>>,
    #[serde(default)]
    pub unset: Option<Vec<String>>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// Re-run the feed groups' activity processors when the text changed.
    #[serde(default)]
    pub run_activity_processors: Option<bool>,
}

const SETTABLE: &[&str] = &[
    "text",
    "attachments",
    "custom",
    "visibility",
    "visibility_tag",
    "restrict_replies",
    "location",
    "expires_at",
    "filter_tags",
    "interest_tags",
    "poll_id",
    "feeds",
    "mentioned_user_ids",
    "search_data",
];
const UNSETTABLE: &[&str] = &[
    "custom",
    "visibility_tag",
    "location",
    "expires_at",
    "filter_tags",
    "interest_tags",
    "attachments",
    "poll_id",
    "mentioned_user_ids",
    "search_data",
];

fn parse_feeds(feeds: &[String]) -> Result<Vec<Fid>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(feeds.len());
    for f in feeds {
        let fid = Fid::parse(f).map_err(|e| Error::field("feeds", e.message))?;
        if seen.insert(fid.clone()) {
            out.push(fid);
        }
    }
    Ok(out)
}

/// The rules every stored activity obeys, however it was written.
fn validate(a: &Activity) -> Result<()> {
    if a.kind.is_empty() {
        return Err(Error::field("type", "type is a required field"));
    }
    if a.kind.chars().count() > 255 {
        return Err(Error::field("type", "type must be at most 255 characters"));
    }
    if a.id.is_empty() || a.id.len() > 255 {
        return Err(Error::field("id", "id must be between 1 and 255 characters"));
    }
    if a.feeds.is_empty() {
        return Err(Error::field("feeds", "feeds must contain at least one feed"));
    }
    if a.feeds.len() > MAX_FEEDS {
        return Err(Error::field(
            "feeds",
            format!("an activity can be added to at most {MAX_FEEDS} feeds, got {}", a.feeds.len()),
        ));
    }
    match a.visibility.as_str() {
        "public" | "private" => {}
        "tag" if a.visibility_tag.as_ref().is_some_and(|t| !t.is_empty()) => {}
        "tag" => return Err(Error::field("visibility_tag", "visibility_tag is required when visibility is tag")),
        other => {
            return Err(Error::field("visibility", format!("visibility must be public, private or tag, got {other:?}")))
        }
    }
    if a.visibility_tag.as_ref().is_some_and(|t| t.chars().count() > 32) {
        return Err(Error::field("visibility_tag", "visibility_tag must be at most 32 characters"));
    }
    if !["everyone", "people_i_follow", "nobody"].contains(&a.restrict_replies.as_str()) {
        return Err(Error::field("restrict_replies", "restrict_replies must be everyone, people_i_follow or nobody"));
    }
    if a.mentioned_user_ids.len() > 25 {
        return Err(Error::field("mentioned_user_ids", "at most 25 mentioned users"));
    }
    if a.collection_refs.len() > 100 {
        return Err(Error::field("collection_refs", "at most 100 collection refs"));
    }
    for reference in &a.collection_refs {
        super::collections::parse_ref(reference)?;
    }
    if a.filter_tags.len() > 50 {
        return Err(Error::field("filter_tags", "at most 50 filter tags"));
    }
    // Room for the tagger's own tags beyond what a request may give.
    if a.interest_tags.len() > MAX_INTEREST_TAGS + super::interests::tagger::MAX_TAGS {
        return Err(Error::field("interest_tags", format!("at most {MAX_INTEREST_TAGS} interest tags")));
    }
    if let Some(l) = &a.location {
        l.validate()?;
    }
    Ok(())
}

fn build(req: NewActivity, user_id: String, existing: Option<&Activity>, now: Timestamp) -> Result<Activity> {
    let mut activity = Activity {
        id: req.id.clone().filter(|i| !i.is_empty()).unwrap_or_else(new_id),
        kind: req.kind.clone().unwrap_or_default(),
        user_id,
        feeds: Vec::new(),
        text: None,
        attachments: Vec::new(),
        custom: Custom::new(),
        visibility: String::new(),
        visibility_tag: None,
        location: None,
        expires_at: None,
        mentioned_user_ids: Vec::new(),
        parent_id: req.parent_id.clone().filter(|p| !p.is_empty()),
        poll_id: None,
        search_data: Custom::new(),
        filter_tags: Vec::new(),
        interest_tags: Vec::new(),
        collection_refs: Vec::new(),
        notification_context: None,
        restrict_replies: String::new(),
        created_at: existing.map_or(now, |e| e.created_at),
        updated_at: now,
        edited_at: existing.map(|_| now),
        deleted_at: None,
        i18n: existing.and_then(|e| e.i18n.clone()),
    };
    req.apply_content(&mut activity)?;
    validate(&activity)?;
    Ok(activity)
}

/// Feeds that must exist before the activities can be linked to them, and
/// the permission check for user tokens: a user posts to feeds they own or
/// whose visibility grants them `add-activity` (any user on `public`
/// feeds, members elsewhere).
async fn feeds_to_create(ctx: &Ctx, actor: &Actor, activities: &[Activity]) -> Result<Vec<Feed>> {
    let fids: Vec<Fid> =
        activities.iter().flat_map(|a| a.feeds.iter().cloned()).collect::<HashSet<_>>().into_iter().collect();
    let owner = match actor {
        Actor::User(me) => Some(me.as_str()),
        Actor::Server => None,
        Actor::Anonymous => return Err(Actor::anonymous_refused()),
    };
    let (existing, mut missing) = resolve_feeds(ctx, &fids, owner).await?;
    if let Actor::User(me) = actor {
        let others: Vec<&Feed> = existing.iter().filter(|f| &f.created_by != me).collect();
        if !others.is_empty() {
            let caps = access::capabilities_on(ctx, me, &others).await?;
            if let Some(f) =
                others.iter().find(|f| !caps.get(&f.fid).is_some_and(|c| c.iter().any(|c| c == access::ADD_ACTIVITY)))
            {
                return Err(Error::not_allowed(format!(
                    "user {me} cannot add activities to feed {} ({} feed)",
                    f.fid, f.visibility
                )));
            }
        }
    }
    // Server-side, a feed created implicitly belongs to the activity's author.
    if owner.is_none() {
        for feed in &mut missing {
            if let Some(a) = activities.iter().find(|a| a.feeds.contains(&feed.fid)) {
                feed.created_by = a.user_id.clone();
            }
        }
    }
    Ok(missing)
}

/// Adds (or, for an existing id, updates) activities in one transaction.
/// What an add or upsert wrote.
pub struct Upserted {
    pub activities: Vec<Activity>,
    pub mention_notifications_created: i64,
}

/// Adds (or, for an existing id, updates) activities, with the mention
/// notifications they ask for, in one transaction.
pub async fn upsert_activities(
    ctx: &Ctx,
    actor: &Actor,
    reqs: Vec<NewActivity>,
    create_users: bool,
) -> Result<Upserted> {
    if reqs.is_empty() || reqs.len() > MAX_BATCH {
        return Err(Error::field("activities", format!("activities must contain between 1 and {MAX_BATCH} items")));
    }
    if reqs.iter().any(|r| r.kind.as_deref().unwrap_or("").is_empty()) {
        return Err(Error::field("type", "type is a required field"));
    }
    if reqs.iter().any(|r| r.feeds.as_ref().is_none_or(|f| f.is_empty())) {
        return Err(Error::field("feeds", "feeds is a required field and must contain at least one feed"));
    }
    let ids: Vec<String> = reqs.iter().filter_map(|r| r.id.clone()).collect();
    let existing = ctx.store.get_activities(&ids).await?;
    let now = Timestamp::now();
    let mut activities = Vec::with_capacity(reqs.len());
    let mut events = Vec::with_capacity(reqs.len());
    let mut notify = Vec::new();
    let mut inline_collections = Vec::new();
    // Groups whose `text_interest_tags` processor tags what is added to them.
    let groups: Vec<String> = reqs
        .iter()
        .flat_map(|r| r.feeds.iter().flatten())
        .filter_map(|f| Fid::parse(f).ok().map(|fid| fid.group))
        .collect();
    let tagging = super::interests::tagging_groups(ctx, &groups).await?;
    for mut req in reqs {
        let inline = match req.collections.take() {
            Some(c) if !c.is_empty() => super::collections::build(actor, c)?,
            _ => Vec::new(),
        };
        let author = actor.acting_user(req.user_id.as_deref())?;
        let old = req.id.as_ref().and_then(|id| existing.iter().find(|a| &a.id == id));
        if let (Actor::User(me), Some(old)) = (actor, old) {
            if &old.user_id != me {
                return Err(Error::not_allowed(format!("activity {} belongs to another user", old.id)));
            }
        }
        let wants_notifications = req.create_notification_activity.unwrap_or(false);
        let copy_custom = req.copy_custom_to_notification.unwrap_or(false);
        let kind = if old.is_some() { EventType::ActivityUpdated } else { EventType::ActivityAdded };
        let skip_push = req.skip_push;
        let mut activity = build(req, author, old, now)?;
        if old.is_none() {
            super::interests::tag_if(&mut activity, &tagging);
        }
        for c in &inline {
            let reference = c.reference();
            if !activity.collection_refs.contains(&reference) {
                activity.collection_refs.push(reference);
            }
        }
        validate(&activity)?;
        inline_collections.extend(inline);
        let made = if wants_notifications {
            let already: &[String] = old.map_or(&[], |o| &o.mentioned_user_ids);
            mention_notifications(&activity, already, copy_custom, now)
        } else {
            Vec::new()
        };
        match old {
            Some(old) => events.extend(edit_events(&activity.user_id, old, &activity)),
            None => {
                let mut event =
                    Event::about_activity(kind, Some(&activity.user_id), &activity).skipping_push(skip_push);
                event.notified = made.iter().filter_map(Notified::of).collect();
                events.push(event)
            }
        }
        notify.extend(made);
        activities.push(activity);
    }
    let authors: Vec<String> = activities.iter().map(|a| a.user_id.clone()).collect();
    let implied = users::implied_users(ctx, &authors, create_users && actor.is_server()).await?;
    let mut new_feeds = feeds_to_create(ctx, actor, &activities).await?;
    let mentioned = notify.len() as i64;
    if !notify.is_empty() {
        // Notification feeds belong to the notified user, whoever writes.
        let fids: Vec<Fid> = notify.iter().flat_map(|n| n.feeds.clone()).collect();
        new_feeds.extend(resolve_feeds(ctx, &fids, None).await?.1);
    }
    super::collections::check_inline(ctx, actor, &inline_collections).await?;
    let mut all = activities.clone();
    all.extend(notify);
    // Implied users and inline collections commit with the activities
    // (whose parents the store checks in that transaction).
    let extra = ExtraWrites { users: implied, collections: inline_collections, events, ..Default::default() };
    let stored = ctx.store.save_activities_with(&all, &new_feeds, &extra).await?;
    keep_stored_created_at(&mut activities, &stored);
    Ok(Upserted { activities, mention_notifications_created: mentioned })
}

/// The events of editing `old` into `new`: `feeds.activity.updated`, and
/// `feeds.activity.removed_from_feed` in each feed it left.
fn edit_events(actor: &str, old: &Activity, new: &Activity) -> Vec<Event> {
    let mut events = vec![Event::about_activity(EventType::ActivityUpdated, Some(actor), new)];
    let left: Vec<Fid> = old.feeds.iter().filter(|f| !new.feeds.contains(f)).cloned().collect();
    if !left.is_empty() {
        events.push(Event::about_activity_in(EventType::ActivityRemovedFromFeed, Some(actor), new, left));
    }
    events
}

/// Who a write on `activity` is attributed to: the token's user, or
/// server-side its author (an anonymous caller was refused before any
/// write; it changes nothing here).
fn acting<'a>(actor: &'a Actor, activity: &'a Activity) -> &'a str {
    match actor {
        Actor::User(me) => me,
        Actor::Server | Actor::Anonymous => &activity.user_id,
    }
}

/// A concurrent writer may have created an activity first: report the
/// `created_at` the store kept, and treat the write as the edit it was.
fn keep_stored_created_at(activities: &mut [Activity], stored: &[Timestamp]) {
    for (a, created_at) in activities.iter_mut().zip(stored) {
        if a.created_at != *created_at {
            a.created_at = *created_at;
            a.edited_at.get_or_insert(a.updated_at);
        }
    }
}

/// The id of the notification telling `user` about a mention in
/// `activity`: derived, so it can be found again to withdraw it. Mentions in
/// activities deduplicate forever (window 0): an edit must find them.
fn mention_notification_id(activity: &Activity, user: &str) -> String {
    notifications::notification_id("mention", &activity.id, &activity.user_id, user, 0)
}

/// One `mention` notification per user newly mentioned in `activity` (not
/// the author, not those in `already`).
fn mention_notifications(activity: &Activity, already: &[String], copy_custom: bool, now: Timestamp) -> Vec<Activity> {
    let target = notifications::activity_target(activity);
    activity
        .mentioned_user_ids
        .iter()
        .filter(|m| !already.contains(m))
        .collect::<HashSet<_>>()
        .into_iter()
        .filter_map(|m| {
            let notice = Notice {
                kind: "mention",
                actor: &activity.user_id,
                recipient: m,
                object_id: &activity.id,
                text: activity.text.clone(),
                comment: None,
                target: target.clone(),
                custom: if copy_custom { activity.custom.clone() } else { Custom::new() },
            };
            notifications::build(&notice, now)
        })
        .collect()
}

pub async fn add_activity(ctx: &Ctx, actor: &Actor, mut req: NewActivity) -> Result<Upserted> {
    let create_users = req.create_users.take().unwrap_or(false);
    if req.kind.as_deref().unwrap_or("").is_empty() {
        return Err(Error::field("type", "type is a required field"));
    }
    let mut out = upsert_activities(ctx, actor, vec![req], create_users).await?;
    let activity = out.activities.pop().ok_or_else(|| Error::internal("upsert returned no activity"))?;
    Ok(Upserted { activities: vec![activity], ..out })
}

/// A live activity; soft-deleted ones are not found.
pub async fn get_activity(ctx: &Ctx, id: &str) -> Result<Activity> {
    match ctx.store.get_activities(&[id.to_string()]).await?.pop() {
        Some(a) if a.deleted_at.is_none() => Ok(a),
        _ => Err(Error::not_found("activity", id)),
    }
}

/// GetActivity for a caller: a user token does not see other users'
/// private or expired activities (they are "not found", not "forbidden", so
/// their existence does not leak).
pub async fn read_activity(ctx: &Ctx, actor: &Actor, id: &str) -> Result<Activity> {
    let activity = get_activity(ctx, id).await?;
    let author = match actor {
        Actor::Server => return Ok(activity),
        Actor::User(me) => &activity.user_id == me,
        Actor::Anonymous => false,
    };
    let expired = activity.expires_at.is_some_and(|t| t <= Timestamp::now());
    let private = activity.private_to().is_some();
    if (expired || private) && !author {
        return Err(Error::not_found("activity", id));
    }
    access::require_on_activity(ctx, actor, &activity, access::READ_ACTIVITIES).await?;
    Ok(activity)
}

/// The author, or a user whose standing on one of the activity's feeds
/// grants `any` (`delete-any-activity` is the feed owner's).
async fn check_author_or(ctx: &Ctx, actor: &Actor, activity: &Activity, any: &str) -> Result<()> {
    if check_author(actor, activity).is_ok() {
        return Ok(());
    }
    access::require_on_activity(ctx, actor, activity, any)
        .await
        .map_err(|_| Error::not_allowed(format!("activity {} belongs to another user", activity.id)))
}

fn check_author(actor: &Actor, activity: &Activity) -> Result<()> {
    match actor {
        Actor::Server => Ok(()),
        Actor::User(me) if me == &activity.user_id => Ok(()),
        Actor::User(_) | Actor::Anonymous => {
            Err(Error::not_allowed(format!("activity {} belongs to another user", activity.id)))
        }
    }
}

/// Saves an edit of `old` if it is still at the version read (its
/// `updated_at`); None when another write came first. With
/// `previous_mentions` (the mentions before the edit, when mention
/// notifications are handled) newly mentioned users are notified and the
/// notifications of dropped ones are withdrawn — in the same transaction as
/// the edit and its events.
async fn save_edit(
    ctx: &Ctx,
    actor: &Actor,
    mut activity: Activity,
    previous_mentions: Option<&[String]>,
    copy_custom: bool,
    old: &Activity,
) -> Result<Option<Activity>> {
    let version = old.updated_at;
    validate(&activity)?;
    let now = versions::next_version(version);
    activity.updated_at = now;
    activity.edited_at = Some(now);
    let mut new_feeds = feeds_to_create(ctx, actor, std::slice::from_ref(&activity)).await?;
    let mut all = vec![activity.clone()];
    if let Some(previous) = previous_mentions {
        mention_changes(ctx, &activity, previous, copy_custom, now, &mut all, &mut new_feeds).await?;
    }
    let extra = ExtraWrites { events: edit_events(acting(actor, old), old, &activity), ..Default::default() };
    let versions = [(activity.id.clone(), version)];
    let committed = ctx.store.save_activities_if_with(&all, &new_feeds, &versions, &extra).await?;
    Ok(committed.then_some(activity))
}

/// Adds to `all` the mention notifications of users `activity` mentions
/// newly (since `previous`) and the withdrawn (deleted) notifications of
/// users it no longer mentions, and to `new_feeds` the notification feeds.
async fn mention_changes(
    ctx: &Ctx,
    activity: &Activity,
    previous: &[String],
    copy_custom: bool,
    now: Timestamp,
    all: &mut Vec<Activity>,
    new_feeds: &mut Vec<super::model::Feed>,
) -> Result<()> {
    let added = mention_notifications(activity, previous, copy_custom, now);
    let fids: Vec<Fid> = added.iter().flat_map(|n| n.feeds.clone()).collect();
    new_feeds.extend(resolve_feeds(ctx, &fids, None).await?.1);
    all.extend(added);
    let dropped: Vec<String> = previous
        .iter()
        .filter(|m| !activity.mentioned_user_ids.contains(m))
        .map(|m| mention_notification_id(activity, m))
        .collect();
    all.extend(ctx.store.get_activities(&dropped).await?.into_iter().map(|mut n| {
        n.deleted_at = Some(now);
        n
    }));
    Ok(())
}

/// UpdateActivity: the fields given replace the stored ones, on the current
/// row (see `versions`).
pub async fn update_activity(ctx: &Ctx, actor: &Actor, id: &str, req: ActivityUpdate) -> Result<Activity> {
    let copy_custom = req.copy_custom_to_notification.unwrap_or(false);
    for _ in 0..versions::WRITE_ATTEMPTS {
        let old = get_activity(ctx, id).await?;
        check_author(actor, &old)?;
        let mut activity = old.clone();
        let previous = req.handle_mention_notifications.unwrap_or(false).then_some(old.mentioned_user_ids.as_slice());
        req.clone().apply_content(&mut activity)?;
        if req.run_activity_processors == Some(true) {
            reprocess(ctx, &old, &mut activity).await?;
        }
        if let Some(saved) = save_edit(ctx, actor, activity, previous, copy_custom, &old).await? {
            return Ok(saved);
        }
    }
    Err(versions::contended("activity", id))
}

pub async fn update_activity_partial(ctx: &Ctx, actor: &Actor, id: &str, req: ActivityPatch) -> Result<Activity> {
    let set = req.set.unwrap_or_default();
    let unset = req.unset.unwrap_or_default();
    if set.is_empty() && unset.is_empty() {
        return Err(Error::input("set or unset must name at least one field"));
    }
    let copy_custom = req.copy_custom_to_notification.unwrap_or(false);
    for _ in 0..versions::WRITE_ATTEMPTS {
        let old = get_activity(ctx, id).await?;
        check_author(actor, &old)?;
        let Value::Object(mut doc) = serde_json::to_value(&old).map_err(Error::internal)? else {
            return Err(Error::internal("activity did not serialize to an object"));
        };
        patch::apply(&mut doc, &set, &unset, SETTABLE, UNSETTABLE)?;
        let activity: Activity = serde_json::from_value(Value::Object(doc))
            .map_err(|e| Error::input(format!("invalid value in set: {e}")))?;
        let previous = req.handle_mention_notifications.unwrap_or(false).then_some(old.mentioned_user_ids.as_slice());
        let mut activity = activity;
        if req.run_activity_processors == Some(true) {
            reprocess(ctx, &old, &mut activity).await?;
        }
        if let Some(saved) = save_edit(ctx, actor, activity, previous, copy_custom, &old).await? {
            return Ok(saved);
        }
    }
    Err(versions::contended("activity", id))
}

/// `run_activity_processors` on an update: the tagger reads the new text
/// when it changed (its tags join the activity's `interest_tags`).
async fn reprocess(ctx: &Ctx, old: &Activity, activity: &mut Activity) -> Result<()> {
    if old.text == activity.text {
        return Ok(());
    }
    let groups: Vec<String> = activity.feeds.iter().map(|f| f.group.clone()).collect();
    let tagging = super::interests::tagging_groups(ctx, &groups).await?;
    super::interests::tag_if(activity, &tagging);
    Ok(())
}

pub async fn delete_activity(ctx: &Ctx, actor: &Actor, id: &str, hard: bool, withdraw: bool) -> Result<()> {
    let activity = match ctx.store.get_activities(&[id.to_string()]).await?.pop() {
        Some(a) if hard || a.deleted_at.is_none() => a,
        _ => return Err(Error::not_found("activity", id)),
    };
    check_author_or(ctx, actor, &activity, access::DELETE_ANY_ACTIVITY).await?;
    delete_with_notifications(ctx, actor, std::slice::from_ref(&activity), hard, withdraw).await?;
    Ok(())
}

/// DeleteActivities: 1..100 ids at once; unknown (or, for a soft delete,
/// already deleted) ids are skipped. Returns the ids deleted.
pub async fn delete_activities(
    ctx: &Ctx,
    actor: &Actor,
    ids: Vec<String>,
    hard: bool,
    withdraw: bool,
) -> Result<Vec<String>> {
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(Error::field("ids", format!("ids must contain between 1 and {MAX_BATCH} activity ids")));
    }
    let found = ctx.store.get_activities(&ids).await?;
    let targets: Vec<String> = found.iter().filter(|a| hard || a.deleted_at.is_none()).map(|a| a.id.clone()).collect();
    for a in found.iter().filter(|a| targets.contains(&a.id)) {
        check_author_or(ctx, actor, a, access::DELETE_ANY_ACTIVITY).await?;
    }
    let deleting: Vec<Activity> = found.into_iter().filter(|a| targets.contains(&a.id)).collect();
    delete_with_notifications(ctx, actor, &deleting, hard, withdraw).await
}

/// Deletes `activities` (soft, or purged when `hard`) and, when `withdraw`
/// (`delete_notification_activity`), the mention notifications they made —
/// the only notifications an activity makes — in one transaction with a
/// `feeds.activity.deleted` event per activity, carrying it as it was.
/// Returns the ids of `activities` deleted.
async fn delete_with_notifications(
    ctx: &Ctx,
    actor: &Actor,
    activities: &[Activity],
    hard: bool,
    withdraw: bool,
) -> Result<Vec<String>> {
    let ids: Vec<String> = activities.iter().map(|a| a.id.clone()).collect();
    let withdrawn: Vec<String> = if withdraw {
        activities
            .iter()
            .flat_map(|a| a.mentioned_user_ids.iter().map(move |m| mention_notification_id(a, m)))
            .collect()
    } else {
        Vec::new()
    };
    let events: Vec<Event> = activities
        .iter()
        .map(|a| Event::about_activity(EventType::ActivityDeleted, Some(acting(actor, a)), a))
        .collect();
    if hard {
        // One purge, one transaction: the notifications go with the activities.
        let all: Vec<String> = ids.iter().chain(&withdrawn).cloned().collect();
        let purged = ctx.store.purge_activities_with(&all, &ExtraWrites { events, ..Default::default() }).await?;
        Ok(purged.into_iter().filter(|id| ids.contains(id)).collect())
    } else {
        let extra = ExtraWrites { withdrawn, events, ..Default::default() };
        ctx.store.set_activities_deleted_with(&ids, Some(Timestamp::now()), &extra).await
    }
}

pub async fn restore_activity(ctx: &Ctx, actor: &Actor, id: &str) -> Result<Activity> {
    let mut activity = match ctx.store.get_activities(&[id.to_string()]).await?.pop() {
        Some(a) if a.deleted_at.is_some() => a,
        Some(_) => return Err(Error::input(format!("activity {id} is not deleted"))),
        None => return Err(Error::not_found("activity", id)),
    };
    check_author(actor, &activity)?;
    activity.deleted_at = None;
    let event = Event::about_activity(EventType::ActivityRestored, Some(acting(actor, &activity)), &activity);
    let extra = ExtraWrites { events: vec![event], ..Default::default() };
    ctx.store.set_activities_deleted_with(std::slice::from_ref(&activity.id), None, &extra).await?;
    Ok(activity)
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActivityChange {
    pub activity_id: String,
    #[serde(default)]
    pub handle_mention_notifications: Option<bool>,
    #[serde(default)]
    pub copy_custom_to_notification: Option<bool>,
    #[serde(default)]
    pub set: Option<Map<String, Value>>,
    #[serde(default)]
    pub unset: Option<Vec<String>>,
}

/// UpdateActivitiesPartialBatch (server-side): a validation error fails the
/// whole batch; changes to unknown or deleted activities, and changes that
/// change nothing, are skipped. The rest is written in one transaction.
pub async fn update_activities_partial_batch(ctx: &Ctx, changes: Vec<ActivityChange>) -> Result<Vec<Activity>> {
    if changes.is_empty() || changes.len() > MAX_BATCH {
        return Err(Error::field("changes", format!("changes must contain between 1 and {MAX_BATCH} items")));
    }
    let ids: Vec<String> = changes.iter().map(|c| c.activity_id.clone()).collect();
    // Activities whose mention notifications follow the batch, with whether
    // they copy `custom`: compared with the mentions stored before it.
    let mut handled: std::collections::HashMap<String, bool> = Default::default();
    for change in &changes {
        if change.handle_mention_notifications.unwrap_or(false) {
            let copy = change.copy_custom_to_notification.unwrap_or(false);
            *handled.entry(change.activity_id.clone()).or_default() |= copy;
        }
    }
    for _ in 0..versions::WRITE_ATTEMPTS {
        let found = ctx.store.get_activities(&ids).await?;
        let (updated, read_at) = apply_batch(&found, &changes)?;
        if updated.is_empty() {
            return Ok(updated);
        }
        let mut new_feeds = feeds_to_create(ctx, &Actor::Server, &updated).await?;
        let mut all = updated.clone();
        for activity in &updated {
            if let (Some(copy), Some(old)) = (handled.get(&activity.id), found.iter().find(|a| a.id == activity.id)) {
                let now = activity.updated_at;
                mention_changes(ctx, activity, &old.mentioned_user_ids, *copy, now, &mut all, &mut new_feeds).await?;
            }
        }
        let events = updated
            .iter()
            .filter_map(|a| found.iter().find(|o| o.id == a.id).map(|old| edit_events(&a.user_id, old, a)))
            .flatten()
            .collect();
        let extra = ExtraWrites { events, ..Default::default() };
        if ctx.store.save_activities_if_with(&all, &new_feeds, &read_at, &extra).await? {
            return Ok(updated);
        }
    }
    Err(versions::contended("activities", &ids.join(",")))
}

/// Activity ids with the `updated_at` each was read at.
type ReadAt = Vec<(String, Timestamp)>;

/// The batch's changes applied to the activities as `found`, and the
/// version each changed one was read at.
fn apply_batch(found: &[Activity], changes: &[ActivityChange]) -> Result<(Vec<Activity>, ReadAt)> {
    // The batch form takes the single-update fields but `search_data`, and
    // cannot unset `visibility_tag`.
    let batch_set: Vec<&str> = SETTABLE.iter().copied().filter(|f| *f != "search_data").collect();
    let batch_unset: Vec<&str> =
        UNSETTABLE.iter().copied().filter(|f| !["search_data", "visibility_tag"].contains(f)).collect();
    let mut updated: Vec<Activity> = Vec::new();
    let mut read_at: ReadAt = Vec::new();
    for change in changes {
        let set = change.set.clone().unwrap_or_default();
        let unset = change.unset.clone().unwrap_or_default();
        let Some(old) = found.iter().find(|a| a.id == change.activity_id && a.deleted_at.is_none()) else {
            // Still validate, so a bad field fails the batch either way.
            patch::apply(&mut Map::new(), &set, &unset, &batch_set, &batch_unset)?;
            continue;
        };
        // A later change to the same activity builds on the earlier one.
        let base = updated.iter().find(|a| a.id == old.id).unwrap_or(old);
        let Value::Object(mut doc) = serde_json::to_value(base).map_err(Error::internal)? else {
            return Err(Error::internal("activity did not serialize to an object"));
        };
        let before = doc.clone();
        patch::apply(&mut doc, &set, &unset, &batch_set, &batch_unset)?;
        if doc == before {
            continue;
        }
        let mut activity: Activity = serde_json::from_value(Value::Object(doc))
            .map_err(|e| Error::input(format!("invalid value in set for activity {}: {e}", change.activity_id)))?;
        validate(&activity)?;
        activity.updated_at = versions::next_version(old.updated_at);
        activity.edited_at = Some(activity.updated_at);
        updated.retain(|a| a.id != activity.id);
        read_at.retain(|(id, _)| id != &old.id);
        read_at.push((old.id.clone(), old.updated_at));
        updated.push(activity);
    }
    Ok((updated, read_at))
}

/// QueryActivityShares: the live activities that reshare or reply to
/// `activity_id`, newest first.
pub async fn activity_shares(
    ctx: &Ctx,
    activity_id: &str,
    limit: Option<i64>,
    next: &Option<String>,
    prev: &Option<String>,
) -> Result<Page<Activity>> {
    get_activity(ctx, activity_id).await?;
    let cursors = ctx.cursor_scope("QueryActivityShares").bind(activity_id);
    let window = OffsetWindow::from_request(cursors, limit, next, prev)?;
    Ok(window.page(ctx.store.activity_shares(activity_id, window.fetch(), window.offset).await?))
}

/// `QueryActivitiesRequest`.
#[derive(Debug, Deserialize, Default)]
pub struct QueryActivities {
    #[serde(default)]
    pub filter: Option<Map<String, Value>>,
    #[serde(default)]
    pub sort: Option<Vec<super::SortParam>>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub prev: Option<String>,
    #[serde(default)]
    pub include_expired_activities: Option<bool>,
    #[serde(default)]
    pub include_soft_deleted_activities: Option<bool>,
    /// Server-side: other users' private activities too (by default a
    /// private activity reaches only its author, the `user_id` named).
    #[serde(default)]
    pub include_private_activities: Option<bool>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// QueryActivities: a filtered search across all activities, newest first
/// by default, with keyset cursors that stay correct while rows arrive.
/// User tokens see other users' private activities as not existing and
/// cannot include expired or deleted ones.
pub async fn query_activities(
    ctx: &Ctx,
    actor: &Actor,
    q: QueryActivities,
) -> Result<(Vec<Activity>, Option<String>, Option<String>)> {
    use super::filter::{self, ACTIVITY_FIELDS, ACTIVITY_SORT};
    use crate::core::storage::{ActivityOrder, ActivityQuery, FeedPosition};
    let filter = filter::parse_optional(q.filter.as_ref(), ACTIVITY_FIELDS)?;
    let sort = filter::parse_sort(q.sort.as_deref(), ACTIVITY_SORT, ("created_at", true))?;
    let limit = super::page_limit(q.limit)?;
    let (next, prev) = super::one_direction(&q.next, &q.prev)?;
    let mut query = ActivityQuery {
        filter,
        order: ActivityOrder::Created { newest_first: true, position: None, backwards: false },
        limit: limit + 1,
        now: Timestamp::now(),
        include_expired: actor.is_server() && q.include_expired_activities.unwrap_or(false),
        include_deleted: actor.is_server() && q.include_soft_deleted_activities.unwrap_or(false),
        include_private: actor.is_server() && q.include_private_activities.unwrap_or(false),
        reader: access::with_grants(ctx, actor.reader(q.user_id.as_deref())).await?,
        scan_budget: Some(super::scan::SCAN_BUDGET),
    };
    let cursors = ctx
        .cursor_scope("QueryActivities")
        .bind(&q.filter.as_ref().filter(|f| !f.is_empty()))
        .bind(&sort)
        .bind(&(query.include_expired, query.include_deleted));
    // Sorted by time, pages are keyset positions that hold while activities
    // arrive; a popularity sort changes under the reader anyway, so offsets.
    if sort[0].0 != "created_at" {
        let window = super::cursor::OffsetWindow::new(cursors, limit, next, prev)?;
        query.order = ActivityOrder::Sorted { sort, offset: window.offset };
        query.limit = window.fetch();
        let page = window.page(ctx.store.query_activities(&query).await?.activities);
        return Ok((page.items, page.next, page.prev));
    }
    let position = match (next, prev) {
        (Some(c), _) => Some(cursors.decode_position(c, "next")?),
        (_, Some(c)) => Some(cursors.decode_position(c, "prev")?),
        _ => None,
    };
    let (newest_first, backwards, continuing) = (sort[0].1, prev.is_some(), position.is_some());
    query.order = ActivityOrder::Created {
        newest_first,
        position: position.map(|(created_at, activity_id)| FeedPosition { created_at, activity_id }),
        backwards,
    };
    let found = ctx.store.query_activities(&query).await?;
    let page = super::scan::page(found.activities, limit, backwards, continuing, found.scanned_to, |a| FeedPosition {
        created_at: a.created_at,
        activity_id: a.id.clone(),
    });
    let encode = |p: Option<FeedPosition>| p.map(|p| cursors.encode_position(p.created_at, &p.activity_id));
    Ok((page.items, encode(page.next), encode(page.prev)))
}
