//! Events: what a write announces. Each one is recorded in the write's own
//! transaction (the outbox, `ExtraWrites::events`), so an acknowledged write's
//! events survive a crash; the sinks (the WebSocket hub, the webhook
//! deliverer) read them from the store in order and render the payloads.
//!
//! The outbox holds the records as stored, not rendered responses: the
//! write path only serialises what it already has, and the payload is built
//! once per event, for every sink, when it is read.

use serde::{Deserialize, Serialize};

use super::model::{
    Activity, Bookmark, BookmarkFolder, Comment, Feed, FeedGroup, FeedMember, Fid, Follow, NotificationState, Pin,
    Poll, PollVote, Reaction, Translations, User,
};
use super::time::Timestamp;

/// Every event type Tributary emits, named as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "feeds.activity.added")]
    ActivityAdded,
    #[serde(rename = "feeds.activity.updated")]
    ActivityUpdated,
    #[serde(rename = "feeds.activity.deleted")]
    ActivityDeleted,
    #[serde(rename = "feeds.activity.restored")]
    ActivityRestored,
    #[serde(rename = "feeds.activity.removed_from_feed")]
    ActivityRemovedFromFeed,
    #[serde(rename = "feeds.activity.pinned")]
    ActivityPinned,
    #[serde(rename = "feeds.activity.unpinned")]
    ActivityUnpinned,
    #[serde(rename = "feeds.activity.feedback")]
    ActivityFeedback,
    #[serde(rename = "feeds.activity.reaction.added")]
    ActivityReactionAdded,
    #[serde(rename = "feeds.activity.reaction.updated")]
    ActivityReactionUpdated,
    #[serde(rename = "feeds.activity.reaction.deleted")]
    ActivityReactionDeleted,
    #[serde(rename = "feeds.comment.added")]
    CommentAdded,
    #[serde(rename = "feeds.comment.updated")]
    CommentUpdated,
    #[serde(rename = "feeds.comment.deleted")]
    CommentDeleted,
    #[serde(rename = "feeds.comment.restored")]
    CommentRestored,
    #[serde(rename = "feeds.comment.reaction.added")]
    CommentReactionAdded,
    #[serde(rename = "feeds.comment.reaction.updated")]
    CommentReactionUpdated,
    #[serde(rename = "feeds.comment.reaction.deleted")]
    CommentReactionDeleted,
    #[serde(rename = "feeds.bookmark.added")]
    BookmarkAdded,
    #[serde(rename = "feeds.bookmark.updated")]
    BookmarkUpdated,
    #[serde(rename = "feeds.bookmark.deleted")]
    BookmarkDeleted,
    #[serde(rename = "feeds.bookmark_folder.updated")]
    BookmarkFolderUpdated,
    #[serde(rename = "feeds.bookmark_folder.deleted")]
    BookmarkFolderDeleted,
    #[serde(rename = "feeds.feed.created")]
    FeedCreated,
    #[serde(rename = "feeds.feed.updated")]
    FeedUpdated,
    #[serde(rename = "feeds.feed.deleted")]
    FeedDeleted,
    #[serde(rename = "feeds.feed_group.changed")]
    FeedGroupChanged,
    #[serde(rename = "feeds.feed_group.deleted")]
    FeedGroupDeleted,
    #[serde(rename = "feeds.feed_group.restored")]
    FeedGroupRestored,
    #[serde(rename = "feeds.feed_member.added")]
    FeedMemberAdded,
    #[serde(rename = "feeds.feed_member.updated")]
    FeedMemberUpdated,
    #[serde(rename = "feeds.feed_member.removed")]
    FeedMemberRemoved,
    #[serde(rename = "feeds.follow.created")]
    FollowCreated,
    #[serde(rename = "feeds.follow.updated")]
    FollowUpdated,
    #[serde(rename = "feeds.follow.deleted")]
    FollowDeleted,
    #[serde(rename = "feeds.poll.updated")]
    PollUpdated,
    #[serde(rename = "feeds.poll.closed")]
    PollClosed,
    #[serde(rename = "feeds.poll.deleted")]
    PollDeleted,
    #[serde(rename = "feeds.poll.vote_casted")]
    PollVoteCasted,
    #[serde(rename = "feeds.poll.vote_changed")]
    PollVoteChanged,
    #[serde(rename = "feeds.poll.vote_removed")]
    PollVoteRemoved,
    #[serde(rename = "feeds.activity.marked")]
    ActivityMarked,
    #[serde(rename = "feeds.notification_feed.updated")]
    NotificationFeedUpdated,
    #[serde(rename = "feeds.stories_feed.updated")]
    StoriesFeedUpdated,
    #[serde(rename = "user.updated")]
    UserUpdated,
    /// Internal: a watch made through another process than the one holding
    /// the WebSocket (`fields.connection_id`, `audience` = the caller);
    /// never sent to clients or webhooks.
    #[serde(rename = "tributary.watch")]
    Watch,
    #[serde(rename = "tributary.unwatch")]
    Unwatch,
}

impl EventType {
    /// The wire name (`feeds.activity.added`).
    pub fn as_str(self) -> &'static str {
        // Mirrors the serde names; a unit test keeps the two equal.
        match self {
            EventType::ActivityAdded => "feeds.activity.added",
            EventType::ActivityUpdated => "feeds.activity.updated",
            EventType::ActivityDeleted => "feeds.activity.deleted",
            EventType::ActivityRestored => "feeds.activity.restored",
            EventType::ActivityRemovedFromFeed => "feeds.activity.removed_from_feed",
            EventType::ActivityPinned => "feeds.activity.pinned",
            EventType::ActivityUnpinned => "feeds.activity.unpinned",
            EventType::ActivityFeedback => "feeds.activity.feedback",
            EventType::ActivityReactionAdded => "feeds.activity.reaction.added",
            EventType::ActivityReactionUpdated => "feeds.activity.reaction.updated",
            EventType::ActivityReactionDeleted => "feeds.activity.reaction.deleted",
            EventType::CommentAdded => "feeds.comment.added",
            EventType::CommentUpdated => "feeds.comment.updated",
            EventType::CommentDeleted => "feeds.comment.deleted",
            EventType::CommentRestored => "feeds.comment.restored",
            EventType::CommentReactionAdded => "feeds.comment.reaction.added",
            EventType::CommentReactionUpdated => "feeds.comment.reaction.updated",
            EventType::CommentReactionDeleted => "feeds.comment.reaction.deleted",
            EventType::BookmarkAdded => "feeds.bookmark.added",
            EventType::BookmarkUpdated => "feeds.bookmark.updated",
            EventType::BookmarkDeleted => "feeds.bookmark.deleted",
            EventType::BookmarkFolderUpdated => "feeds.bookmark_folder.updated",
            EventType::BookmarkFolderDeleted => "feeds.bookmark_folder.deleted",
            EventType::FeedCreated => "feeds.feed.created",
            EventType::FeedUpdated => "feeds.feed.updated",
            EventType::FeedDeleted => "feeds.feed.deleted",
            EventType::FeedGroupChanged => "feeds.feed_group.changed",
            EventType::FeedGroupDeleted => "feeds.feed_group.deleted",
            EventType::FeedGroupRestored => "feeds.feed_group.restored",
            EventType::FeedMemberAdded => "feeds.feed_member.added",
            EventType::FeedMemberUpdated => "feeds.feed_member.updated",
            EventType::FeedMemberRemoved => "feeds.feed_member.removed",
            EventType::FollowCreated => "feeds.follow.created",
            EventType::FollowUpdated => "feeds.follow.updated",
            EventType::FollowDeleted => "feeds.follow.deleted",
            EventType::PollUpdated => "feeds.poll.updated",
            EventType::PollClosed => "feeds.poll.closed",
            EventType::PollDeleted => "feeds.poll.deleted",
            EventType::PollVoteCasted => "feeds.poll.vote_casted",
            EventType::PollVoteChanged => "feeds.poll.vote_changed",
            EventType::PollVoteRemoved => "feeds.poll.vote_removed",
            EventType::ActivityMarked => "feeds.activity.marked",
            EventType::NotificationFeedUpdated => "feeds.notification_feed.updated",
            EventType::StoriesFeedUpdated => "feeds.stories_feed.updated",
            EventType::UserUpdated => "user.updated",
            EventType::Watch => "tributary.watch",
            EventType::Unwatch => "tributary.unwatch",
        }
    }

    /// Control records between processes, not events of the API.
    pub fn is_internal(self) -> bool {
        matches!(self, EventType::Watch | EventType::Unwatch)
    }

    /// Poll events are WebSocket-only in Stream's catalogue.
    pub fn for_webhooks(self) -> bool {
        !self.is_internal()
            && !matches!(
                self,
                EventType::PollUpdated
                    | EventType::PollClosed
                    | EventType::PollDeleted
                    | EventType::PollVoteCasted
                    | EventType::PollVoteChanged
                    | EventType::PollVoteRemoved
            )
    }
}

/// One event as recorded in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub created_at: Timestamp,
    /// The feeds the event is about. On the wire there is one event per
    /// receiving feed, carrying that feed's `fid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fids: Vec<Fid>,
    /// Also announced in every feed with an accepted follow of one of
    /// `fids`: what is posted to `user:frank` reaches watchers of the
    /// timelines it was copied into.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fan_out: bool,
    /// The acting user: the envelope's `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Only this user's connections may receive the event: user-scoped
    /// events (bookmarks, feedback, `user.*`), and activities only their
    /// author may read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default)]
    pub subject: Subject,
    /// The write asked for no push notification (`skip_push`): the push
    /// bridge passes over this event (`core::push`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_push: bool,
    /// The notification activities the write added for this event
    /// (`create_notification_activity`): with `skip_push` the push goes
    /// through them (`core::push_ops`). Never rendered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notified: Vec<Notified>,
}

/// A notification activity a write added to a notification feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notified {
    /// The notification feed, and its owner: who is told.
    pub fid: Fid,
    pub user_id: String,
    /// The trigger type (`reaction`, `comment`, `follow`…).
    pub kind: String,
    /// For a follow's notification, the follow (`source`, `target`): a
    /// batch's event is completed per follow with its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<(Fid, Fid)>,
}

impl Notified {
    /// What `notification` (built by `core::notifications`) tells whom.
    pub fn of(notification: &Activity) -> Option<Notified> {
        let fid = notification.feeds.first()?.clone();
        Some(Notified { user_id: fid.id.clone(), fid, kind: notification.kind.clone(), follow: None })
    }
}

/// The records an event's payload is rendered from, as stored at the time
/// of the write (a deleted record is still here).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<Reaction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Comment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<Follow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<Feed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<FeedMember>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark: Option<Bookmark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark_folder: Option<BookmarkFolder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Pin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<Poll>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_vote: Option<PollVote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_group: Option<FeedGroup>,
    /// Several activities (the stories a `mark_watched` marked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<Activity>,
    /// A notification feed's read/seen state after the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_status: Option<NotificationState>,
    /// Plain payload fields (`member_id`, `group_id`, `mark_read`…).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Event {
    pub fn new(kind: EventType, user_id: Option<&str>) -> Self {
        Event {
            kind,
            created_at: Timestamp::now(),
            fids: Vec::new(),
            fan_out: false,
            user_id: user_id.map(str::to_string),
            audience: None,
            subject: Subject::default(),
            skip_push: false,
            notified: Vec::new(),
        }
    }

    /// An event about `activity` in the feeds it was posted to and, fanned
    /// out, in their followers' feeds; private activities reach only their
    /// author.
    pub fn about_activity(kind: EventType, actor: Option<&str>, activity: &Activity) -> Self {
        let mut event = Event::new(kind, actor);
        event.fids = activity.feeds.clone();
        event.fan_out = true;
        if activity.visibility == "private" {
            event.audience = Some(activity.user_id.clone());
        }
        event.subject.activity = Some(activity.clone());
        event
    }

    /// An event about `activity` in `fids` only, not fanned out (a pin, a
    /// removal from one feed); private activities reach only their author.
    pub fn about_activity_in(
        kind: EventType,
        actor: Option<&str>,
        activity: &Activity,
        fids: impl IntoIterator<Item = Fid>,
    ) -> Self {
        let mut event = Event::about_activity(kind, actor, activity);
        event.fids = fids.into_iter().collect();
        event.fan_out = false;
        event
    }

    /// A user-scoped event, for `user`'s connections only.
    pub fn for_user(kind: EventType, user: &str) -> Self {
        let mut event = Event::new(kind, Some(user));
        event.audience = Some(user.to_string());
        event
    }

    pub fn in_feeds(mut self, fids: impl IntoIterator<Item = Fid>) -> Self {
        self.fids.extend(fids);
        self
    }

    /// Marks the event as one that pushes nothing (`skip_push` on the write).
    pub fn skipping_push(mut self, skip: Option<bool>) -> Self {
        self.skip_push = skip.unwrap_or(false);
        self
    }

    pub fn with(mut self, fill: impl FnOnce(&mut Subject)) -> Self {
        fill(&mut self.subject);
        self
    }

    /// An event about `follow`, in the feeds of both its sides: watchers of
    /// either get it with their own `fid`.
    pub fn about_follow(kind: EventType, follow: &Follow) -> Self {
        Event::new(kind, None).in_feeds([follow.source.clone(), follow.target.clone()]).with(|s| {
            s.follow = Some(follow.clone());
        })
    }

    /// An event routed like one about `activity` (its feeds, fanned out;
    /// private activities reach only their author) without carrying it: a
    /// poll's events go where the activity that carries the poll went.
    pub fn beside_activity(kind: EventType, actor: Option<&str>, activity: &Activity) -> Self {
        let mut event = Event::about_activity(kind, actor, activity);
        event.subject.activity = None;
        event
    }

    /// This event (`ExtraWrites::each`) completed with one item the write
    /// changed: routed to and carrying that item.
    pub fn completed(&self, item: Item<'_>) -> Event {
        let mut event = self.clone();
        let s = &mut event.subject;
        match item {
            Item::Follow(follow) => {
                event.fids = vec![follow.source.clone(), follow.target.clone()];
                let pair = (follow.source.clone(), follow.target.clone());
                event.notified.retain(|n| n.follow.as_ref().is_none_or(|f| f == &pair));
                s.follow = Some(follow.clone());
            }
            Item::Feed(feed, members) => {
                event.fids = vec![feed.fid.clone()];
                event.user_id.get_or_insert_with(|| feed.created_by.clone());
                s.feed = Some(feed.clone());
                s.members = members.to_vec();
            }
            Item::Member(user_id) => {
                s.fields.insert("member_id".into(), serde_json::Value::from(user_id));
            }
            Item::Bookmark(bookmark) => s.bookmark = Some(bookmark.clone()),
            Item::Folder(folder) => s.bookmark_folder = Some(folder.clone()),
            Item::Poll(poll) => s.poll = Some(poll.clone()),
            Item::Vote { vote, replaced } => {
                if replaced && event.kind == EventType::PollVoteCasted {
                    event.kind = EventType::PollVoteChanged;
                }
                s.poll_vote = Some(vote.clone());
            }
            Item::Reaction { reaction, replaced } => {
                if replaced {
                    event.kind = match event.kind {
                        EventType::ActivityReactionAdded => EventType::ActivityReactionUpdated,
                        EventType::CommentReactionAdded => EventType::CommentReactionUpdated,
                        kind => kind,
                    };
                }
                s.reaction = Some(reaction.clone());
            }
            Item::Translations(translations) => {
                // The comment's when the event carries one, else the activity's.
                match (s.comment.as_mut(), s.activity.as_mut()) {
                    (Some(comment), _) => comment.i18n = Some(translations.clone()),
                    (None, Some(activity)) => activity.i18n = Some(translations.clone()),
                    (None, None) => {}
                }
            }
            Item::Pin(pin) => {
                event.fids = vec![pin.fid.clone()];
                event.user_id.get_or_insert_with(|| pin.user_id.clone());
                s.pin = Some(pin.clone());
            }
        }
        event
    }
}

/// One item a write changed, as `ExtraWrites::each` completes its event
/// with it (`Event::completed`).
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// A follow created or removed: in both sides' feeds.
    Follow(&'a Follow),
    /// A feed created with its first members: in that feed, by its owner
    /// unless the event names an actor.
    Feed(&'a Feed, &'a [FeedMember]),
    /// A member removed from the event's feed: `member_id`.
    Member(&'a str),
    Bookmark(&'a Bookmark),
    Folder(&'a BookmarkFolder),
    Poll(&'a Poll),
    /// A vote stored or removed; a cast that `replaced` the voter's earlier
    /// votes is a change (`feeds.poll.vote_changed`).
    Vote {
        vote: &'a PollVote,
        replaced: bool,
    },
    /// A reaction stored (as stored: a re-added type keeps its first
    /// `created_at`) or removed; one that `replaced` reactions of that user
    /// on the object is an update (`…reaction.added` becomes
    /// `…reaction.updated`, activity or comment alike).
    Reaction {
        reaction: &'a Reaction,
        replaced: bool,
    },
    /// A pin created or removed: in the pinned feed, by whoever pinned
    /// unless the event names an actor.
    Pin(&'a Pin),
    /// The translations a TranslateActivity or TranslateComment stored
    /// (with those already there): on the comment the event carries, or
    /// else its activity.
    Translations(&'a Translations),
}

/// A position in the outbox: events are read in `(tx, seq)` order, where
/// `tx` orders transactions whose outcome is settled (always 0 on SQLite,
/// whose single writer commits in `seq` order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventCursor {
    pub tx: i64,
    pub seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_names() {
        let all = [
            EventType::ActivityAdded,
            EventType::ActivityUpdated,
            EventType::ActivityDeleted,
            EventType::ActivityRestored,
            EventType::ActivityRemovedFromFeed,
            EventType::ActivityPinned,
            EventType::ActivityUnpinned,
            EventType::ActivityFeedback,
            EventType::ActivityReactionAdded,
            EventType::ActivityReactionUpdated,
            EventType::ActivityReactionDeleted,
            EventType::CommentAdded,
            EventType::CommentUpdated,
            EventType::CommentDeleted,
            EventType::CommentRestored,
            EventType::CommentReactionAdded,
            EventType::CommentReactionUpdated,
            EventType::CommentReactionDeleted,
            EventType::BookmarkAdded,
            EventType::BookmarkUpdated,
            EventType::BookmarkDeleted,
            EventType::BookmarkFolderUpdated,
            EventType::BookmarkFolderDeleted,
            EventType::FeedCreated,
            EventType::FeedUpdated,
            EventType::FeedDeleted,
            EventType::FeedGroupChanged,
            EventType::FeedGroupDeleted,
            EventType::FeedGroupRestored,
            EventType::FeedMemberAdded,
            EventType::FeedMemberUpdated,
            EventType::FeedMemberRemoved,
            EventType::FollowCreated,
            EventType::FollowUpdated,
            EventType::FollowDeleted,
            EventType::PollUpdated,
            EventType::PollClosed,
            EventType::PollDeleted,
            EventType::PollVoteCasted,
            EventType::PollVoteChanged,
            EventType::PollVoteRemoved,
            EventType::ActivityMarked,
            EventType::NotificationFeedUpdated,
            EventType::StoriesFeedUpdated,
            EventType::UserUpdated,
            EventType::Watch,
            EventType::Unwatch,
        ];
        for kind in all {
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::from(kind.as_str()));
        }
    }

    #[test]
    fn a_reaction_that_replaced_one_is_an_update() {
        let reaction = Reaction {
            activity_id: "a".into(),
            comment_id: None,
            user_id: "u".into(),
            kind: "like".into(),
            custom: None,
            created_at: Timestamp(1),
            updated_at: Timestamp(2),
        };
        let cases = [
            (EventType::ActivityReactionAdded, false, EventType::ActivityReactionAdded),
            (EventType::ActivityReactionAdded, true, EventType::ActivityReactionUpdated),
            (EventType::CommentReactionAdded, true, EventType::CommentReactionUpdated),
            (EventType::CommentReactionDeleted, false, EventType::CommentReactionDeleted),
        ];
        for (kind, replaced, expected) in cases {
            let event = Event::new(kind, Some("u")).completed(Item::Reaction { reaction: &reaction, replaced });
            assert_eq!(event.kind, expected);
            assert_eq!(event.subject.reaction.as_ref().map(|r| r.created_at), Some(Timestamp(1)));
        }
    }

    #[test]
    fn a_pin_is_in_its_feed_by_whoever_pinned_unless_the_event_names_an_actor() {
        let fid = Fid::new("user", "p").unwrap();
        let pin = Pin {
            fid: fid.clone(),
            activity_id: "a".into(),
            user_id: "p".into(),
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        };
        let event = Event::new(EventType::ActivityUnpinned, None).completed(Item::Pin(&pin));
        assert_eq!((event.fids, event.user_id.as_deref()), (vec![fid.clone()], Some("p")));
        let event = Event::new(EventType::ActivityUnpinned, Some("owner")).completed(Item::Pin(&pin));
        assert_eq!(event.user_id.as_deref(), Some("owner"));
        assert_eq!(event.subject.pin.map(|p| p.fid), Some(fid));
    }
}
