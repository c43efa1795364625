//! Push operations: devices and preferences through the store, and whom an
//! event pushes to (`recipients`); the records and the rules, and what
//! pushes, are in `push`.

use std::collections::BTreeMap;

use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::model::{validate_id, Activity, FeedGroup, Fid};
use super::push::{
    self, Device, NewDevice, PreferenceInput, PushPreferences, MAX_DEVICES_PER_USER, MAX_DEVICE_ID, MAX_NAME,
    MAX_PREFERENCES_PER_REQUEST, MAX_SCOPES_PER_USER, PUSH_PROVIDERS,
};
use super::time::Timestamp;
use super::Actor;
use super::Ctx;

/// Registers a device for the acting user (a user token's own; server-side
/// the `user_id` named, who must exist). Registering an id the user has
/// already replaces it; an id registered by another user moves to this one,
/// as a push token belongs to one app install.
pub async fn create_device(ctx: &Ctx, actor: &Actor, req: NewDevice) -> Result<Device> {
    let user_id = actor.acting_user(req.user_id.as_deref())?;
    super::users::ensure_users(ctx, std::slice::from_ref(&user_id)).await.map_err(|e| match e.code {
        super::error::Code::InputError => Error::field("user_id", format!("user {user_id} does not exist")),
        _ => e,
    })?;
    if req.id.is_empty() || req.id.len() > MAX_DEVICE_ID {
        return Err(Error::field("id", format!("id must be 1 to {MAX_DEVICE_ID} characters")));
    }
    if !PUSH_PROVIDERS.contains(&req.push_provider.as_str()) {
        return Err(Error::field(
            "push_provider",
            format!("push_provider must be one of {}", PUSH_PROVIDERS.join(", ")),
        ));
    }
    for (name, value) in [("push_provider_name", &req.push_provider_name), ("hardware_id", &req.hardware_id)] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_NAME) {
            return Err(Error::field(name, format!("{name} must be at most {MAX_NAME} characters")));
        }
    }
    let device = Device {
        id: req.id,
        user_id,
        push_provider: req.push_provider,
        push_provider_name: req.push_provider_name.filter(|n| !n.is_empty()),
        hardware_id: req.hardware_id.filter(|h| !h.is_empty()),
        voip: req.voip_token.unwrap_or(false),
        created_at: Timestamp::now(),
    };
    if !ctx.store.upsert_device(&device, MAX_DEVICES_PER_USER).await? {
        return Err(Error::field(
            "id",
            format!("user {} has {MAX_DEVICES_PER_USER} devices already: delete one first", device.user_id),
        ));
    }
    Ok(device)
}

/// The devices of the acting user (server-side: of `user_id`, required).
pub async fn list_devices(ctx: &Ctx, actor: &Actor, user_id: Option<&str>) -> Result<Vec<Device>> {
    let user_id = actor.acting_user(user_id)?;
    ctx.store.devices_of(std::slice::from_ref(&user_id)).await
}

/// Deletes one of the acting user's devices; another user's device, or an
/// unknown id, is a 404.
pub async fn delete_device(ctx: &Ctx, actor: &Actor, id: &str, user_id: Option<&str>) -> Result<()> {
    let user_id = actor.acting_user(user_id)?;
    if id.is_empty() {
        return Err(Error::field("id", "id is a required field"));
    }
    if !ctx.store.delete_device(&user_id, id).await? {
        return Err(Error::not_found("device", id));
    }
    Ok(())
}

/// What UpdatePushNotificationPreferences answers: each named user's own
/// preferences, and the channel scopes the request changed.
pub struct PreferencesUpdated {
    pub users: BTreeMap<String, PushPreferences>,
    pub channels: BTreeMap<String, BTreeMap<String, PushPreferences>>,
}

/// Applies every input in one transaction (`PushStore::save_push_preferences`);
/// a user token may set only its own user's, server-side each input names
/// its `user_id`.
pub async fn update_preferences(ctx: &Ctx, actor: &Actor, inputs: Vec<PreferenceInput>) -> Result<PreferencesUpdated> {
    if inputs.is_empty() || inputs.len() > MAX_PREFERENCES_PER_REQUEST {
        return Err(Error::field(
            "preferences",
            format!("preferences must contain between 1 and {MAX_PREFERENCES_PER_REQUEST} items"),
        ));
    }
    let mut named = Vec::with_capacity(inputs.len());
    for (at, input) in inputs.into_iter().enumerate() {
        input.validate(at)?;
        let user = actor.acting_user(input.user_id.as_deref()).map_err(|e| match e.code {
            super::error::Code::InputError => Error::field(
                &format!("preferences[{at}].user_id"),
                "user_id is a required field for server-side requests",
            ),
            _ => e,
        })?;
        validate_id("user id", &user)?;
        named.push((user, input));
    }
    let mut users: Vec<String> = named.iter().map(|(u, _)| u.clone()).collect();
    users.sort();
    users.dedup();
    super::users::ensure_users(ctx, &users).await?;
    let mut scopes: Vec<(String, String)> =
        named.iter().map(|(u, i)| (u.clone(), i.channel_cid.clone().unwrap_or_default())).collect();
    scopes.extend(users.iter().map(|u| (u.clone(), String::new())));
    scopes.sort();
    scopes.dedup();
    let stored = ctx.store.push_preferences(&scopes).await?;
    let mut current: BTreeMap<(String, String), PushPreferences> =
        stored.into_iter().map(|p| ((p.user_id.clone(), p.channel.clone()), p)).collect();
    let mut changed_channels = Vec::new();
    let mut changed = Vec::new();
    for (user, input) in named {
        let channel = input.channel_cid.clone().unwrap_or_default();
        let key = (user.clone(), channel.clone());
        let prefs = current.entry(key.clone()).or_insert_with(|| PushPreferences {
            user_id: user.clone(),
            channel: channel.clone(),
            ..Default::default()
        });
        input.apply(prefs);
        if !channel.is_empty() {
            changed_channels.push(key.clone());
        }
        changed.push(key);
    }
    changed.sort();
    changed.dedup();
    let writes: Vec<PushPreferences> = changed.iter().filter_map(|k| current.get(k).cloned()).collect();
    if !ctx.store.save_push_preferences(&writes, MAX_SCOPES_PER_USER).await? {
        return Err(Error::field(
            "preferences",
            format!("a user may keep preferences for at most {MAX_SCOPES_PER_USER} channels"),
        ));
    }
    let mut out = PreferencesUpdated { users: BTreeMap::new(), channels: BTreeMap::new() };
    for user in users {
        let prefs = current
            .get(&(user.clone(), String::new()))
            .cloned()
            .unwrap_or_else(|| PushPreferences { user_id: user.clone(), ..Default::default() });
        out.users.insert(user, prefs);
    }
    for key in changed_channels {
        if let Some(prefs) = current.get(&key) {
            out.channels.entry(key.0.clone()).or_default().insert(key.1.clone(), prefs.clone());
        }
    }
    Ok(out)
}

/// Why a user is pushed: a `FeedsPreferences` kind (`post` for a new
/// activity of a followed feed), or a notification activity's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: String,
    pub kind: String,
}

/// Followers read per page when a new activity pushes to those following
/// its feeds with `push_preference: all`.
pub const FOLLOWER_PAGE: usize = 500;

/// Whether an event may push at all (before any lookup): the kinds that
/// push directly, unless the write asked for `skip_push`; with `skip_push`,
/// an event whose write added notification activities, which push instead.
pub fn may_push(event: &Event) -> bool {
    if event.skip_push {
        return !event.notified.is_empty();
    }
    matches!(
        event.kind,
        EventType::ActivityAdded
            | EventType::ActivityReactionAdded
            | EventType::CommentAdded
            | EventType::CommentReactionAdded
            | EventType::FollowCreated
    )
}

/// The feed groups an event's pushes are decided by, from the config cache.
struct Groups(std::sync::Arc<Vec<FeedGroup>>);

impl Groups {
    async fn load(ctx: &Ctx) -> Result<Groups> {
        Ok(Groups(ctx.config.feed_groups(|| ctx.store.list_feed_groups()).await?))
    }

    /// A live group by id.
    fn get(&self, id: &str) -> Option<&FeedGroup> {
        self.0.iter().find(|g| g.id == id && g.deleted_at.is_none())
    }

    /// Whether the group of `fid` lets a push of `kind` through.
    fn allows(&self, fid: &Fid, kind: &str) -> bool {
        push::group_allows(self.get(&fid.group), kind)
    }

    /// Whether the group of one of `fids` (an activity's feeds) does.
    fn any_allows(&self, fids: &[Fid], kind: &str) -> bool {
        fids.iter().any(|fid| self.allows(fid, kind))
    }
}

/// Who `event` pushes to and why, the acting user excepted, each user once
/// (the first reason wins). Looks up what the event does not carry: a
/// replied-to comment's author, a followed feed's owner, the feed groups.
///
/// - Without `skip_push`, the event pushes directly, to whom it concerns,
///   when the group of the feed concerned lets the kind through (the
///   activity's feeds for mentions, reactions and comments; the followed
///   feed for a follow). An activity added by hand to a notification feed
///   (a group with a `notification` section) pushes to the feed's owner
///   when the group lets its type through.
/// - With `skip_push`, only the notification activities the write added
///   push, each to its feed's owner when the feed's group lets its trigger
///   type through. Either way, one action pushes once.
///
/// The followers a new activity pushes to (`push_preference: all`) are paged
/// apart: `post_targets`.
pub async fn recipients(ctx: &Ctx, event: &Event) -> Result<Vec<Recipient>> {
    if !may_push(event) {
        return Ok(Vec::new());
    }
    let s = &event.subject;
    let mut out: Vec<Recipient> = Vec::new();
    let mut actor = event.user_id.clone();
    let groups = Groups::load(ctx).await?;
    let add = |user: &str, kind: &str, out: &mut Vec<Recipient>| {
        if !user.is_empty() && !out.iter().any(|r| r.user_id == user) {
            out.push(Recipient { user_id: user.to_string(), kind: kind.to_string() });
        }
    };
    let feeds = s.activity.as_ref().map(|a| a.feeds.clone()).unwrap_or_default();
    if event.skip_push {
        for n in &event.notified {
            if groups.allows(&n.fid, &n.kind) {
                add(&n.user_id, &n.kind, &mut out);
            }
        }
    } else {
        match event.kind {
            EventType::ActivityAdded => {
                if let Some(activity) = &s.activity {
                    if groups.any_allows(&feeds, "mention") {
                        for user in &activity.mentioned_user_ids {
                            add(user, "mention", &mut out);
                        }
                    }
                    for (owner, kind) in notification_feed_owners(ctx, &groups, activity).await? {
                        add(&owner, &kind, &mut out);
                    }
                }
            }
            EventType::ActivityReactionAdded => {
                if let Some(activity) = &s.activity {
                    if groups.any_allows(&feeds, "reaction") {
                        add(&activity.user_id, "reaction", &mut out);
                    }
                }
            }
            EventType::CommentReactionAdded => {
                if let Some(comment) = &s.comment {
                    if groups.any_allows(&feeds, "comment_reaction") {
                        add(&comment.user_id, "comment_reaction", &mut out);
                    }
                }
            }
            EventType::CommentAdded => {
                if let Some(comment) = &s.comment {
                    if let Some(parent) = comment.parent_id.as_deref() {
                        if groups.any_allows(&feeds, "comment_reply") {
                            let parents = ctx.store.get_comments(&[parent.to_string()]).await?;
                            if let Some(parent) = parents.first() {
                                add(&parent.user_id, "comment_reply", &mut out);
                            }
                        }
                    }
                    if groups.any_allows(&feeds, "comment_mention") {
                        for user in &comment.mentioned_user_ids {
                            add(user, "comment_mention", &mut out);
                        }
                    }
                    if let Some(activity) = &s.activity {
                        if groups.any_allows(&feeds, "comment") {
                            add(&activity.user_id, "comment", &mut out);
                        }
                    }
                }
            }
            EventType::FollowCreated => {
                if let Some(follow) = &s.follow {
                    let fids = [follow.source.clone(), follow.target.clone()];
                    let feeds = ctx.store.get_feeds(&fids).await?;
                    let owner =
                        |fid: &super::model::Fid| feeds.iter().find(|f| &f.fid == fid).map(|f| f.created_by.clone());
                    actor = actor.or_else(|| owner(&follow.source));
                    if let Some(target_owner) = owner(&follow.target) {
                        if groups.allows(&follow.target, "follow") {
                            add(&target_owner, "follow", &mut out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|r| Some(&r.user_id) != actor.as_ref());
    // An event only its audience may see (a private activity's) pushes to
    // no one else: a mention must not reveal what the mentioned cannot read.
    out.retain(|r| event.audience.as_ref().is_none_or(|a| a == &r.user_id));
    Ok(out)
}

/// The owners of the notification feeds (feeds of a group with a
/// `notification` section) `activity` was added to by hand, with the type
/// that pushes: its trigger's, else its own; only where the group lets
/// that type through.
async fn notification_feed_owners(ctx: &Ctx, groups: &Groups, activity: &Activity) -> Result<Vec<(String, String)>> {
    let kind = activity
        .notification_context
        .as_ref()
        .and_then(|c| c.pointer("/trigger/type"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or(&activity.kind)
        .to_string();
    let mut fids = Vec::new();
    for fid in &activity.feeds {
        let group = groups.get(&fid.group);
        if group.is_some_and(|g| g.config.notification.is_some()) && push::group_allows(group, &kind) {
            fids.push(fid.clone());
        }
    }
    if fids.is_empty() {
        return Ok(Vec::new());
    }
    let feeds = ctx.store.get_feeds(&fids).await?;
    Ok(feeds.into_iter().map(|f| (f.created_by, kind.clone())).collect())
}

/// The feeds whose followers with `push_preference: all` a new activity
/// pushes to (`FollowStore::push_followers`, kind `post`): those it was
/// added to whose group lets `post` (or the activity's own type) through.
/// None for a write with `skip_push` or an activity only its author sees.
pub async fn post_targets(ctx: &Ctx, event: &Event) -> Result<Vec<Fid>> {
    let Some(activity) = &event.subject.activity else { return Ok(Vec::new()) };
    if event.kind != EventType::ActivityAdded || event.skip_push || event.audience.is_some() {
        return Ok(Vec::new());
    }
    let groups = Groups::load(ctx).await?;
    let mut targets = Vec::new();
    for fid in &activity.feeds {
        if groups.allows(fid, "post") || groups.allows(fid, &activity.kind) {
            targets.push(fid.clone());
        }
    }
    targets.sort();
    targets.dedup();
    Ok(targets)
}
