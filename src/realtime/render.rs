//! Events as the wire shows them: Stream's envelope (`type`, `created_at`,
//! `custom`, `user`, `fid`) around the payload objects in the same shapes
//! the REST responses use. A batch of events is enriched together, in a
//! fixed number of queries, and each event is rendered once for every sink
//! and receiver; only `fid` differs per receiving feed.
//!
//! Payloads are built for no particular viewer: `own_*` fields are empty
//! (the client keeps its own), as on Stream.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::core::enrichment::Lookup;
use crate::core::error::Result;
use crate::core::events::{Event, EventCursor, EventType};
use crate::core::model::{Activity, CommentCounts, Fid, Follow, Poll, PollTally};
use crate::core::notification_feeds::{stories_groups_holding, AggregatedGroup};
use crate::core::storage::Reader;
use crate::core::Ctx;
use crate::wire::ActivityPinResponse;

/// An event ready to send: its routing and its envelope without `fid`,
/// serialised once.
pub struct Rendered {
    pub cursor: EventCursor,
    pub event: Event,
    /// The envelope's JSON object, `{` … `}`, never empty.
    envelope: String,
}

impl Rendered {
    /// The envelope as sent to receivers of `fid` (or with no `fid`): one
    /// event reaches thousands of feeds, so `fid` is spliced in front of
    /// the serialised object rather than serialising it again per feed.
    pub fn body(&self, fid: Option<&Fid>) -> String {
        let Some(fid) = fid else { return self.envelope.clone() };
        let fid = Value::String(fid.to_string()).to_string();
        let mut body = String::with_capacity(self.envelope.len() + fid.len() + 8);
        body.push_str("{\"fid\":");
        body.push_str(&fid);
        body.push(',');
        body.push_str(&self.envelope[1..]);
        body
    }
}

/// Renders a batch of outbox events.
pub async fn render(ctx: &Ctx, events: Vec<(EventCursor, Event)>) -> Result<Vec<Rendered>> {
    let subjects = events.iter().map(|(_, e)| e);
    // A stories feed's groups after a `mark_watched`, as its watcher sees
    // them now (like a comment's counters, read when rendered).
    let mut story_groups: HashMap<usize, Vec<AggregatedGroup>> = HashMap::new();
    for (i, (_, e)) in events.iter().enumerate() {
        if let (EventType::StoriesFeedUpdated, Some(fid), Some(watcher)) = (e.kind, e.fids.first(), &e.user_id) {
            let ids: Vec<String> = e.subject.activities.iter().map(|a| a.id.clone()).collect();
            let groups = stories_groups_holding(ctx, fid, watcher, &ids).await?;
            if !groups.is_empty() {
                story_groups.insert(i, groups);
            }
        }
    }
    let activities: Vec<Activity> = subjects
        .clone()
        .flat_map(|e| e.subject.activity.iter().chain(&e.subject.activities))
        .chain(story_groups.values().flatten().flat_map(|g| &g.group.activities))
        .cloned()
        .collect();
    let follows: Vec<Follow> = subjects.clone().filter_map(|e| e.subject.follow.clone()).collect();
    let mut fids: HashSet<Fid> = HashSet::new();
    let mut users: HashSet<String> = HashSet::new();
    for e in subjects.clone() {
        fids.extend(e.fids.iter().cloned());
        users.extend(e.user_id.iter().cloned());
        let s = &e.subject;
        users.extend(s.reaction.iter().map(|r| r.user_id.clone()));
        users.extend(s.members.iter().map(|m| m.user_id.clone()));
        users.extend(s.pin.iter().map(|p| p.user_id.clone()));
        users.extend(s.poll_vote.iter().map(|v| v.user_id.clone()));
        users.extend(s.bookmark_folder.iter().map(|f| f.user_id.clone()));
        users.extend(s.poll.iter().map(|p| p.created_by_id.clone()));
        if let Some(feed) = &s.feed {
            fids.insert(feed.fid.clone());
        }
    }
    let fids: Vec<Fid> = fids.into_iter().collect();
    let users: Vec<String> = users.into_iter().collect();
    let reader = Reader::default();
    let mut main = Lookup::load_with_users(ctx, &activities, &follows, &fids, &users, &reader).await?;
    let members: Vec<_> = subjects.clone().flat_map(|e| e.subject.members.iter()).collect();
    if !members.is_empty() {
        main.add_members(ctx, &members).await?;
    }
    let comments: Vec<_> = subjects.clone().filter_map(|e| e.subject.comment.as_ref()).collect();
    let comment_lookup =
        if comments.is_empty() { None } else { Some(Lookup::for_comments(ctx, comments.clone(), None).await?) };
    // A comment's counters live beside its document, not in the outbox:
    // they are read now, like an activity's.
    let comment_ids: Vec<String> = comments.iter().map(|c| c.id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let comment_counts: HashMap<String, CommentCounts> =
        ctx.store.get_comments(&comment_ids).await?.into_iter().map(|c| (c.id, c.counts)).collect();
    let bookmarks: Vec<_> = subjects.clone().filter_map(|e| e.subject.bookmark.clone()).collect();
    let folders: Vec<_> = subjects.clone().filter_map(|e| e.subject.bookmark_folder.clone()).collect();
    let bookmark_lookup = if bookmarks.is_empty() {
        None
    } else {
        Some(Lookup::for_bookmarks(ctx, &bookmarks, &folders, &reader).await?)
    };
    let polls: Vec<&Poll> = subjects.clone().filter_map(|e| e.subject.poll.as_ref()).collect();
    let poll_lookup =
        if polls.is_empty() { None } else { Some(poll_lookup(ctx, &main, &polls, subjects.clone()).await?) };

    let mut out = Vec::with_capacity(events.len());
    for (i, (cursor, event)) in events.into_iter().enumerate() {
        let mut envelope = Map::new();
        envelope.insert("type".into(), Value::from(event.kind.as_str()));
        envelope.insert("created_at".into(), Value::from(event.created_at.0));
        envelope.insert("custom".into(), Value::Object(Map::new()));
        let payload = Payload {
            main: &main,
            comments: comment_lookup.as_ref(),
            comment_counts: &comment_counts,
            bookmarks: bookmark_lookup.as_ref(),
            polls: poll_lookup.as_ref(),
            story_groups: story_groups.get(&i).map(Vec::as_slice),
        };
        payload.fill(&event, &mut envelope);
        let envelope = Value::Object(envelope).to_string();
        out.push(Rendered { cursor, event, envelope });
    }
    Ok(out)
}

/// The polls as they are now, with their tallies; a deleted poll as it was
/// stored, with none. Voters and creators come from the batch's users.
async fn poll_lookup<'a>(
    ctx: &Ctx,
    main: &Lookup,
    polls: &[&Poll],
    events: impl Iterator<Item = &'a Event>,
) -> Result<Lookup> {
    let ids: Vec<String> = polls.iter().map(|p| p.id.clone()).collect();
    let mut lookup = Lookup::for_polls(ctx, &ids, None).await?;
    for poll in polls {
        lookup.polls.entry(poll.id.clone()).or_insert_with(|| ((*poll).clone(), PollTally::default()));
    }
    let wanted = events
        .filter_map(|e| e.subject.poll_vote.as_ref().map(|v| &v.user_id))
        .chain(polls.iter().map(|p| &p.created_by_id));
    for id in wanted {
        if let (false, Some(user)) = (lookup.users.contains_key(id), main.users.get(id)) {
            lookup.users.insert(id.clone(), user.clone());
        }
    }
    Ok(lookup)
}

struct Payload<'a> {
    main: &'a Lookup,
    comments: Option<&'a Lookup>,
    comment_counts: &'a HashMap<String, CommentCounts>,
    bookmarks: Option<&'a Lookup>,
    polls: Option<&'a Lookup>,
    story_groups: Option<&'a [AggregatedGroup]>,
}

fn json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Payload<'_> {
    fn fill(&self, event: &Event, out: &mut Map<String, Value>) {
        let s = &event.subject;
        let main = self.main;
        if let Some(user) = &s.user {
            out.insert("user".into(), json(crate::wire::UserResponse::from(user)));
        } else if let Some(id) = &event.user_id {
            out.insert("user".into(), json(main.user(id)));
        }
        let current_feed = event.fids.first();
        match (event.kind, &s.pin, &s.activity) {
            (EventType::ActivityPinned | EventType::ActivityUnpinned, Some(pin), Some(activity)) => {
                let pinned = ActivityPinResponse {
                    activity: main.activity(activity, Some(&pin.fid)),
                    feed: pin.fid.to_string(),
                    user: main.user(&pin.user_id),
                    created_at: pin.created_at,
                    updated_at: pin.updated_at,
                };
                out.insert("pinned_activity".into(), json(pinned));
            }
            (_, _, Some(activity)) => {
                out.insert("activity".into(), json(main.activity(activity, current_feed)));
            }
            _ => {}
        }
        if event.kind == EventType::StoriesFeedUpdated {
            // The stories a `mark_watched` marked, watched by the event's user.
            let watched: Vec<_> = s
                .activities
                .iter()
                .map(|a| crate::wire::ActivityResponse { is_watched: Some(true), ..main.activity(a, current_feed) })
                .collect();
            out.insert("activities".into(), json(watched));
            if let Some(groups) = self.story_groups {
                let groups: Vec<_> = groups
                    .iter()
                    .map(|g| {
                        let activities = g
                            .group
                            .activities
                            .iter()
                            .map(|a| crate::wire::ActivityResponse {
                                is_watched: Some(g.group.watched.contains(&a.id)),
                                ..main.activity(a, current_feed)
                            })
                            .collect();
                        crate::wire::AggregatedActivityResponse::new(g, activities)
                    })
                    .collect();
                out.insert("aggregated_activities".into(), json(groups));
            }
        }
        if let Some(reaction) = &s.reaction {
            out.insert("reaction".into(), json(main.reaction(reaction)));
        }
        if let (Some(comment), Some(lookup)) = (&s.comment, self.comments) {
            // A comment purged since keeps no counters: it shows none.
            let counts = self.comment_counts.get(&comment.id).copied().unwrap_or_default();
            let comment = crate::core::model::Comment { counts, ..comment.clone() };
            out.insert("comment".into(), json(lookup.comment(&comment)));
        }
        if let Some(follow) = &s.follow {
            out.insert("follow".into(), json(main.follow(follow)));
        }
        if let Some(feed) = &s.feed {
            if let Some(response) = main.feed(&feed.fid) {
                out.insert("feed".into(), json(response));
            }
        }
        if let Some(group) = &s.feed_group {
            out.insert("feed_group".into(), json(crate::wire::FeedGroupResponse::from(group)));
        }
        match event.kind {
            EventType::FeedMemberAdded | EventType::FeedMemberUpdated => {
                if let Some(member) = s.members.first() {
                    out.insert("member".into(), json(main.member(member)));
                }
            }
            _ if !s.members.is_empty() || event.kind == EventType::FeedCreated => {
                let members: Vec<_> = s.members.iter().map(|m| main.member(m)).collect();
                out.insert("members".into(), json(members));
            }
            _ => {}
        }
        if let (Some(bookmark), Some(lookup)) = (&s.bookmark, self.bookmarks) {
            out.insert("bookmark".into(), json(lookup.bookmark(bookmark)));
        }
        if let Some(folder) = &s.bookmark_folder {
            out.insert("bookmark_folder".into(), json(self.bookmarks.unwrap_or(main).folder(folder)));
        }
        if let (Some(poll), Some(lookup)) = (&s.poll, self.polls) {
            if let Some(response) = lookup.poll(&poll.id) {
                out.insert("poll".into(), json(response));
            }
            if let Some(vote) = &s.poll_vote {
                let anonymous = poll.voting_visibility == "anonymous";
                out.insert("poll_vote".into(), json(lookup.vote(vote, anonymous)));
            }
        }
        if let Some(status) = &s.notification_status {
            out.insert("notification_status".into(), json(crate::wire::NotificationStatusResponse::from(status)));
        }
        for (k, v) in &s.fields {
            out.insert(k.clone(), v.clone());
        }
        // `ActivityFeedbackEventPayload` names the user who gave it.
        if let (Some(Value::Object(feedback)), Some(id)) = (out.get_mut("activity_feedback"), &event.user_id) {
            feedback.entry("user").or_insert_with(|| json(main.user(id)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fid_is_spliced_into_the_serialised_envelope() {
        let event = Event::new(EventType::FeedDeleted, None);
        let envelope = json!({"type": "feeds.feed.deleted", "custom": {}}).to_string();
        let rendered = Rendered { cursor: EventCursor::default(), event, envelope };
        let fid = Fid::parse("timeline:erin").unwrap();
        let body: Value = serde_json::from_str(&rendered.body(Some(&fid))).unwrap();
        assert_eq!(body, json!({"fid": "timeline:erin", "type": "feeds.feed.deleted", "custom": {}}));
        assert_eq!(rendered.body(None), rendered.envelope);
    }
}
