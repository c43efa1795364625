//! Stream's JSON response shapes, named as the OpenAPI spec names them, and
//! the conversions from domain records. Required fields are always emitted
//! (`[]`, `{}`, `0`, `false`); optional ones are omitted when unset;
//! timestamps are integer nanoseconds.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::comments::ThreadNode;
use crate::core::enrichment::Lookup;
use crate::core::model::{
    Activity, ActivitySelector, Bookmark, BookmarkFolder, Collection, Comment, Custom, Feed, FeedCounts, FeedGroup,
    FeedMember, Fid, Follow, Location, Poll, PollOption, PollVote, Reaction, ReactionGroup, ReactionSummary, Task,
    TaskError, User,
};
use crate::core::pins::PinnedPage;
use crate::core::time::Timestamp;

mod feed_config;
pub use feed_config::{FeedVisibilityResponse, MembershipLevelResponse, Permission};

#[derive(Debug, Clone, Serialize)]
pub struct UserResponse {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub role: String,
    pub language: String,
    pub teams: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams_role: Option<Map<String, Value>>,
    pub invisible: bool,
    pub banned: bool,
    pub shadow_banned: bool,
    pub online: bool,
    pub blocked_user_ids: Vec<String>,
    pub custom: Custom,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_settings: Option<Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_tokens_issued_before: Option<Timestamp>,
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        UserResponse {
            id: u.id.clone(),
            name: u.name.clone(),
            image: u.image.clone(),
            role: u.role.clone(),
            language: u.language.clone(),
            teams: u.teams.clone(),
            teams_role: u.teams_role.clone(),
            invisible: u.invisible,
            banned: false,
            shadow_banned: false,
            online: false,
            blocked_user_ids: Vec::new(),
            custom: u.custom.clone(),
            privacy_settings: u.privacy_settings.clone(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            deactivated_at: u.deactivated_at,
            deleted_at: u.deleted_at,
            revoke_tokens_issued_before: u.revoke_tokens_issued_before,
        }
    }
}

/// `FullUserResponse`: the user plus the chat-era counters the spec requires.
#[derive(Debug, Serialize)]
pub struct FullUserResponse {
    #[serde(flatten)]
    pub user: UserResponse,
    pub channel_mutes: Vec<Value>,
    pub devices: Vec<Value>,
    pub mutes: Vec<Value>,
    pub total_unread_count: i64,
    pub unread_channels: i64,
    pub unread_count: i64,
    pub unread_threads: i64,
}

impl From<&User> for FullUserResponse {
    fn from(u: &User) -> Self {
        FullUserResponse {
            user: u.into(),
            channel_mutes: Vec::new(),
            devices: Vec::new(),
            mutes: Vec::new(),
            total_unread_count: 0,
            unread_channels: 0,
            unread_count: 0,
            unread_threads: 0,
        }
    }
}

impl Lookup {
    /// The referenced user, or a bare stand-in when the user row is gone
    /// (hard-deleted users still author old activities).
    pub fn user(&self, id: &str) -> UserResponse {
        match self.users.get(id) {
            Some(u) => u.into(),
            None => (&User { id: id.to_string(), role: "user".into(), ..Default::default() }).into(),
        }
    }

    /// The feed with the viewer's `own_*` fields where they were loaded.
    pub fn feed(&self, fid: &Fid) -> Option<FeedResponse> {
        let mut response = self.plain_feed(fid)?;
        if let Some(own) = self.own.get(fid) {
            response.own_capabilities = own.capabilities.clone();
            response.own_follows = own.follows.as_ref().map(|f| f.iter().map(|f| self.plain_follow(f)).collect());
            response.own_followings = own.followings.as_ref().map(|f| f.iter().map(|f| self.plain_follow(f)).collect());
            response.own_membership = own.membership.as_ref().and_then(|m| m.as_ref().map(|m| self.member(m)));
        }
        Some(response)
    }

    /// The feed without `own_*` fields (inside follows that are themselves
    /// `own_*` fields, which would otherwise nest forever).
    fn plain_feed(&self, fid: &Fid) -> Option<FeedResponse> {
        self.feeds.get(fid).map(|(feed, counts)| FeedResponse::new(feed, counts, self.user(&feed.created_by)))
    }

    pub fn member(&self, m: &FeedMember) -> FeedMemberResponse {
        FeedMemberResponse {
            user: self.user(&m.user_id),
            role: m.role.clone(),
            status: m.status.clone(),
            custom: m.custom.clone(),
            membership_level: m.membership_level.as_ref().and_then(|l| self.levels.get(l)).map(Into::into),
            created_at: m.created_at,
            updated_at: m.updated_at,
            invite_accepted_at: m.invite_accepted_at,
            invite_rejected_at: m.invite_rejected_at,
        }
    }

    /// A feed that may have been purged still renders, with zero counts.
    fn feed_or_stub(&self, fid: &Fid, with_own: bool) -> FeedResponse {
        let found = if with_own { self.feed(fid) } else { self.plain_feed(fid) };
        found.unwrap_or_else(|| {
            let stub = Feed {
                fid: fid.clone(),
                name: String::new(),
                description: String::new(),
                custom: None,
                visibility: "visible".into(),
                filter_tags: Vec::new(),
                location: None,
                created_by: fid.id.clone(),
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
                deleted_at: None,
            };
            FeedResponse::new(&stub, &FeedCounts::default(), self.user(&fid.id))
        })
    }

    pub fn activity(&self, a: &Activity, current_feed: Option<&Fid>) -> ActivityResponse {
        ActivityResponse::new(a, self, current_feed)
    }

    pub fn reaction(&self, r: &Reaction) -> FeedsReactionResponse {
        FeedsReactionResponse {
            activity_id: r.activity_id.clone(),
            comment_id: r.comment_id.clone(),
            kind: r.kind.clone(),
            user: self.user(&r.user_id),
            custom: r.custom.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    /// Pins whose activity is gone (deleted meanwhile) are left out.
    pub fn pins(&self, page: &PinnedPage) -> Vec<ActivityPinResponse> {
        page.pins
            .items
            .iter()
            .filter_map(|p| {
                let activity = page.activities.get(&p.activity_id)?;
                Some(ActivityPinResponse {
                    activity: self.activity(activity, Some(&p.fid)),
                    feed: p.fid.to_string(),
                    user: self.user(&p.user_id),
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                })
            })
            .collect()
    }

    pub fn follow(&self, f: &Follow) -> FollowResponse {
        self.follow_response(f, true)
    }

    fn plain_follow(&self, f: &Follow) -> FollowResponse {
        self.follow_response(f, false)
    }

    fn follow_response(&self, f: &Follow, with_own: bool) -> FollowResponse {
        FollowResponse {
            source_feed: self.feed_or_stub(&f.source, with_own),
            target_feed: self.feed_or_stub(&f.target, with_own),
            status: f.status.clone(),
            custom: f.custom.clone(),
            follower_role: f.follower_role.clone(),
            push_preference: f.push_preference.clone(),
            created_at: f.created_at,
            updated_at: f.updated_at,
            request_accepted_at: f.request_accepted_at,
            request_rejected_at: f.request_rejected_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedResponse {
    pub feed: String,
    pub group_id: String,
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Custom>,
    pub visibility: String,
    pub filter_tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub created_by: UserResponse,
    pub activity_count: i64,
    pub follower_count: i64,
    pub following_count: i64,
    pub member_count: i64,
    pub pin_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_capabilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_follows: Option<Vec<FollowResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_followings: Option<Vec<FollowResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_membership: Option<FeedMemberResponse>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedMemberResponse {
    pub user: UserResponse,
    pub role: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Custom>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_level: Option<MembershipLevelResponse>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_accepted_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_rejected_at: Option<Timestamp>,
}

impl FeedResponse {
    pub fn new(feed: &Feed, counts: &FeedCounts, created_by: UserResponse) -> Self {
        FeedResponse {
            feed: feed.fid.to_string(),
            group_id: feed.fid.group.clone(),
            id: feed.fid.id.clone(),
            name: feed.name.clone(),
            description: feed.description.clone(),
            custom: feed.custom.clone(),
            visibility: feed.visibility.clone(),
            filter_tags: feed.filter_tags.clone(),
            location: feed.location.clone(),
            created_by,
            activity_count: counts.activity_count,
            follower_count: counts.follower_count,
            following_count: counts.following_count,
            member_count: counts.member_count,
            pin_count: counts.pin_count,
            created_at: feed.created_at,
            updated_at: feed.updated_at,
            deleted_at: feed.deleted_at,
            own_capabilities: None,
            own_follows: None,
            own_followings: None,
            own_membership: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ActivityResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub user: UserResponse,
    pub feeds: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub attachments: Vec<Value>,
    pub custom: Custom,
    pub visibility: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    pub mentioned_users: Vec<UserResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Box<ActivityResponse>>,
    pub search_data: Custom,
    pub filter_tags: Vec<String>,
    pub interest_tags: Vec<String>,
    pub collections: BTreeMap<String, EnrichedCollectionResponse>,
    pub restrict_replies: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_feed: Option<FeedResponse>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub reaction_count: i64,
    pub reaction_groups: BTreeMap<String, ReactionGroupResponse>,
    pub latest_reactions: Vec<FeedsReactionResponse>,
    pub own_reactions: Vec<FeedsReactionResponse>,
    // Comments and bookmarks arrive with their own issue; until then these
    // are the true (empty) values, not stand-ins.
    pub comment_count: i64,
    pub comments: Vec<CommentResponse>,
    pub bookmark_count: i64,
    pub own_bookmarks: Vec<BookmarkResponse>,
    pub share_count: i64,
    pub popularity: i64,
    pub score: f64,
    pub hidden: bool,
    pub preview: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BTreeMap<String, i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_context: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollResponseData>,
}

impl ActivityResponse {
    fn new(a: &Activity, lookup: &Lookup, current_feed: Option<&Fid>) -> Self {
        // "Premium preview": a tag-restricted activity reaches other user-token
        // readers without its content, unless their membership level in one
        // of its feeds unlocks the tag.
        let preview = a.visibility == "tag"
            && lookup.restricted_to.as_ref().is_some_and(|me| me != &a.user_id)
            && !lookup.unlocked.contains(&a.id);
        if preview {
            let stripped = Activity {
                text: None,
                attachments: Vec::new(),
                custom: Map::new(),
                search_data: Map::new(),
                ..a.clone()
            };
            return ActivityResponse { preview: true, ..ActivityResponse::full(&stripped, lookup, current_feed, true) };
        }
        ActivityResponse::full(a, lookup, current_feed, true)
    }

    /// `with_own_bookmarks`: false for the activity inside an own bookmark,
    /// which would otherwise hold itself.
    fn full(a: &Activity, lookup: &Lookup, current_feed: Option<&Fid>, with_own_bookmarks: bool) -> Self {
        let current = current_feed.or(if a.feeds.len() == 1 { a.feeds.first() } else { None });
        let reactions = lookup.reactions.get(&a.id);
        let reaction_count = reactions.map_or(0, |r| r.count());
        let share_count = lookup.share_counts.get(&a.id).copied().unwrap_or(0);
        let comment_count = lookup.comment_counts.get(&a.id).copied().unwrap_or(0);
        let bookmark_count = lookup.activity_bookmarks.get(&a.id).copied().unwrap_or(0);
        let own_bookmarks = match lookup.own_bookmarks.get(&a.id) {
            Some(own) if with_own_bookmarks => own
                .iter()
                .map(|b| {
                    let inner = ActivityResponse::full(a, lookup, current_feed, false);
                    lookup.bookmark_with(b, Some(Box::new(inner)), None)
                })
                .collect(),
            _ => Vec::new(),
        };
        ActivityResponse {
            id: a.id.clone(),
            kind: a.kind.clone(),
            user: lookup.user(&a.user_id),
            feeds: a.feeds.iter().map(Fid::to_string).collect(),
            text: a.text.clone(),
            attachments: a.attachments.clone(),
            custom: a.custom.clone(),
            visibility: a.visibility.clone(),
            visibility_tag: a.visibility_tag.clone(),
            location: a.location.clone(),
            expires_at: a.expires_at,
            mentioned_users: a.mentioned_user_ids.iter().map(|id| lookup.user(id)).collect(),
            // One level deep: a parent's own parent is not expanded.
            parent: a
                .parent_id
                .as_ref()
                .and_then(|id| lookup.parents.get(id))
                .map(|p| Box::new(ActivityResponse::new(&Activity { parent_id: None, ..p.clone() }, lookup, None))),
            search_data: a.search_data.clone(),
            filter_tags: a.filter_tags.clone(),
            interest_tags: a.interest_tags.clone(),
            collections: a
                .collection_refs
                .iter()
                .map(|r| (r.clone(), enriched_collection(r, lookup.collections.get(r))))
                .collect(),
            restrict_replies: a.restrict_replies.clone(),
            current_feed: current.and_then(|f| lookup.feed(f)),
            created_at: a.created_at,
            updated_at: a.updated_at,
            edited_at: a.edited_at,
            deleted_at: a.deleted_at,
            reaction_count,
            reaction_groups: reactions
                .map(|r| r.groups.iter().map(|(kind, g)| (kind.clone(), g.into())).collect())
                .unwrap_or_default(),
            latest_reactions: reactions
                .map(|r| r.latest.iter().map(|x| lookup.reaction(x)).collect())
                .unwrap_or_default(),
            own_reactions: reactions.map(|r| r.own.iter().map(|x| lookup.reaction(x)).collect()).unwrap_or_default(),
            comment_count,
            comments: lookup
                .latest_comments
                .get(&a.id)
                .map(|cs| cs.iter().map(|c| lookup.comment(c)).collect())
                .unwrap_or_default(),
            bookmark_count,
            own_bookmarks,
            share_count,
            // The same sum the `popularity` filter and sort compute in SQL.
            popularity: reaction_count + 2 * comment_count + 3 * bookmark_count + 3 * share_count,
            score: 0.0,
            hidden: lookup.hidden.contains(&a.id),
            preview: false,
            metrics: lookup.metrics.get(&a.id).cloned(),
            notification_context: a.notification_context.clone(),
            poll: a.poll_id.as_ref().and_then(|id| lookup.poll(id)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FeedsReactionResponse {
    pub activity_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub user: UserResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Custom>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct ReactionGroupResponse {
    pub count: i64,
    pub first_reaction_at: Timestamp,
    pub last_reaction_at: Timestamp,
}

impl From<&ReactionGroup> for ReactionGroupResponse {
    fn from(g: &ReactionGroup) -> Self {
        ReactionGroupResponse {
            count: g.count,
            first_reaction_at: g.first_reaction_at,
            last_reaction_at: g.last_reaction_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CollectionResponse {
    pub id: String,
    pub name: String,
    pub custom: Custom,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&Collection> for CollectionResponse {
    fn from(c: &Collection) -> Self {
        CollectionResponse {
            id: c.id.clone(),
            name: c.name.clone(),
            custom: c.custom.clone(),
            user_id: c.user_id.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A referenced collection as an activity carries it: live data, or
/// `status: notfound` when the collection is gone.
#[derive(Debug, Serialize)]
pub struct EnrichedCollectionResponse {
    #[serde(flatten)]
    pub collection: Option<CollectionResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: &'static str,
}

fn enriched_collection(reference: &str, found: Option<&Collection>) -> EnrichedCollectionResponse {
    match found {
        Some(c) => EnrichedCollectionResponse { collection: Some(c.into()), id: None, name: None, status: "ok" },
        None => {
            let (name, id) = reference.split_once(':').unwrap_or((reference, ""));
            EnrichedCollectionResponse {
                collection: None,
                id: Some(id.to_string()),
                name: Some(name.to_string()),
                status: "notfound",
            }
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PollOptionResponseData {
    pub id: String,
    pub text: String,
    pub custom: Custom,
}

impl From<&PollOption> for PollOptionResponseData {
    fn from(o: &PollOption) -> Self {
        PollOptionResponseData { id: o.id.clone(), text: o.text.clone(), custom: o.custom.clone() }
    }
}

#[derive(Debug, Serialize)]
pub struct PollVoteResponseData {
    pub id: String,
    pub poll_id: String,
    pub option_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_text: Option<String>,
    pub is_answer: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserResponse>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct PollResponseData {
    pub id: String,
    pub name: String,
    pub description: String,
    pub options: Vec<PollOptionResponseData>,
    pub voting_visibility: String,
    pub enforce_unique_vote: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_votes_allowed: Option<i64>,
    pub allow_answers: bool,
    pub allow_user_suggested_options: bool,
    pub is_closed: bool,
    pub custom: Custom,
    pub created_by_id: String,
    pub created_by: UserResponse,
    pub vote_count: i64,
    pub answers_count: i64,
    pub vote_counts_by_option: BTreeMap<String, i64>,
    pub latest_votes_by_option: BTreeMap<String, Vec<PollVoteResponseData>>,
    pub latest_answers: Vec<PollVoteResponseData>,
    pub own_votes: Vec<PollVoteResponseData>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Lookup {
    /// A vote; on `anonymous` polls voters stay hidden (`own` votes excepted).
    pub fn vote(&self, v: &PollVote, anonymous: bool) -> PollVoteResponseData {
        PollVoteResponseData {
            id: v.id.clone(),
            poll_id: v.poll_id.clone(),
            option_id: v.option_id.clone(),
            answer_text: v.answer_text.clone(),
            is_answer: v.is_answer,
            user_id: (!anonymous).then(|| v.user_id.clone()),
            user: (!anonymous).then(|| self.user(&v.user_id)),
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }

    pub fn poll(&self, id: &str) -> Option<PollResponseData> {
        let (p, tally) = self.polls.get(id)?;
        Some(self.poll_response(p, tally))
    }

    fn poll_response(&self, p: &Poll, tally: &crate::core::model::PollTally) -> PollResponseData {
        let anonymous = p.voting_visibility == "anonymous";
        PollResponseData {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            options: p.options.iter().map(Into::into).collect(),
            voting_visibility: p.voting_visibility.clone(),
            enforce_unique_vote: p.enforce_unique_vote,
            max_votes_allowed: p.max_votes_allowed,
            allow_answers: p.allow_answers,
            allow_user_suggested_options: p.allow_user_suggested_options,
            is_closed: p.is_closed,
            custom: p.custom.clone(),
            created_by_id: p.created_by_id.clone(),
            created_by: self.user(&p.created_by_id),
            vote_count: tally.vote_count,
            answers_count: tally.answers_count,
            vote_counts_by_option: tally.counts_by_option.clone(),
            latest_votes_by_option: tally
                .latest_by_option
                .iter()
                .map(|(option, votes)| (option.clone(), votes.iter().map(|v| self.vote(v, anonymous)).collect()))
                .collect(),
            latest_answers: tally.latest_answers.iter().map(|v| self.vote(v, anonymous)).collect(),
            own_votes: tally.own.iter().map(|v| self.vote(v, false)).collect(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ShareResponse {
    pub activity_id: String,
    pub user: UserResponse,
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct ActivityPinResponse {
    pub activity: ActivityResponse,
    pub feed: String,
    pub user: UserResponse,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowResponse {
    pub source_feed: FeedResponse,
    pub target_feed: FeedResponse,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Custom>,
    pub follower_role: String,
    pub push_preference: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_accepted_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_rejected_at: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
pub struct FeedGroupResponse {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_visibility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_selectors: Option<Vec<ActivitySelector>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_processors: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_filter: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_notification: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranking: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stories: Option<Value>,
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
}

impl From<&FeedGroup> for FeedGroupResponse {
    fn from(g: &FeedGroup) -> Self {
        let c = g.config.clone();
        FeedGroupResponse {
            id: g.id.clone(),
            default_visibility: c.default_visibility,
            activity_selectors: c.activity_selectors,
            activity_processors: c.activity_processors,
            activity_filter: c.activity_filter,
            aggregation: c.aggregation,
            notification: c.notification,
            push_notification: c.push_notification,
            ranking: c.ranking,
            stories: c.stories,
            custom: c.custom.unwrap_or_default(),
            created_at: g.created_at,
            updated_at: g.updated_at,
            deleted_at: g.deleted_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GetTaskResponse {
    pub task_id: String,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
}

impl From<Task> for GetTaskResponse {
    fn from(t: Task) -> Self {
        GetTaskResponse {
            task_id: t.id,
            status: t.status.as_str().to_string(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            result: t.result,
            error: t.error,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CommentResponse {
    pub id: String,
    pub object_id: String,
    pub object_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    pub user: UserResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub attachments: Vec<Value>,
    pub custom: Custom,
    pub mentioned_users: Vec<UserResponse>,
    pub status: String,
    pub reply_count: i64,
    pub upvote_count: i64,
    pub downvote_count: i64,
    pub reaction_count: i64,
    pub bookmark_count: i64,
    pub score: i64,
    pub confidence_score: f64,
    pub controversy_score: f64,
    pub reaction_groups: BTreeMap<String, ReactionGroupResponse>,
    pub latest_reactions: Vec<FeedsReactionResponse>,
    pub own_reactions: Vec<FeedsReactionResponse>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
}

/// A comment with the replies a threaded read loaded below it.
#[derive(Debug, Serialize)]
pub struct ThreadedCommentResponse {
    #[serde(flatten)]
    pub comment: CommentResponse,
    pub replies: Vec<ThreadedCommentResponse>,
    pub meta: RepliesMetaResponse,
}

#[derive(Debug, Serialize)]
pub struct RepliesMetaResponse {
    pub has_more: bool,
    pub remaining: i64,
    pub depth_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl Lookup {
    pub fn comment(&self, c: &Comment) -> CommentResponse {
        let reactions = self.comment_reactions.get(&c.id);
        let list = |pick: fn(&ReactionSummary) -> &Vec<Reaction>| {
            reactions.map(|r| pick(r).iter().map(|x| self.reaction(x)).collect()).unwrap_or_default()
        };
        CommentResponse {
            id: c.id.clone(),
            object_id: c.object_id.clone(),
            object_type: c.object_type.clone(),
            parent_id: c.parent_id.clone(),
            user: self.user(&c.user_id),
            text: c.text.clone(),
            attachments: c.attachments.clone(),
            custom: c.custom.clone(),
            mentioned_users: c.mentioned_user_ids.iter().map(|id| self.user(id)).collect(),
            status: c.status.clone(),
            reply_count: c.counts.reply_count,
            upvote_count: c.counts.upvote_count,
            downvote_count: c.counts.downvote_count,
            reaction_count: c.counts.reaction_count,
            bookmark_count: self.comment_bookmarks.get(&c.id).copied().unwrap_or(0),
            score: c.counts.score,
            confidence_score: c.counts.confidence_score,
            controversy_score: c.counts.controversy_score,
            reaction_groups: reactions
                .map(|r| r.groups.iter().map(|(kind, g)| (kind.clone(), g.into())).collect())
                .unwrap_or_default(),
            latest_reactions: list(|r| &r.latest),
            own_reactions: list(|r| &r.own),
            created_at: c.created_at,
            updated_at: c.updated_at,
            edited_at: c.edited_at,
            deleted_at: c.deleted_at,
        }
    }

    pub fn thread(&self, node: &ThreadNode) -> ThreadedCommentResponse {
        ThreadedCommentResponse {
            comment: self.comment(&node.comment),
            replies: node.replies.iter().map(|r| self.thread(r)).collect(),
            meta: RepliesMetaResponse {
                has_more: node.meta.has_more,
                remaining: node.meta.remaining,
                depth_truncated: node.meta.depth_truncated,
                next_cursor: node.meta.next_cursor.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BookmarkFolderResponse {
    pub id: String,
    pub name: String,
    pub user: UserResponse,
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct BookmarkResponse {
    pub object_id: String,
    pub object_type: String,
    pub activity_id: String,
    /// Required by the spec; absent only while being assembled.
    pub activity: Option<Box<ActivityResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<BookmarkFolderResponse>,
    pub user: UserResponse,
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Lookup {
    pub fn folder(&self, f: &BookmarkFolder) -> BookmarkFolderResponse {
        BookmarkFolderResponse {
            id: f.id.clone(),
            name: f.name.clone(),
            user: self.user(&f.user_id),
            custom: f.custom.clone(),
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }

    /// A bookmark with its activity (and comment) from `for_bookmarks`.
    pub fn bookmark(&self, b: &Bookmark) -> BookmarkResponse {
        let activity = self.bookmarked_activities.get(&b.activity_id).map(|a| Box::new(self.activity(a, None)));
        let comment = self.bookmarked_comments.get(&b.object_id).filter(|_| b.object_type == "comment");
        self.bookmark_with(b, activity, comment.map(|c| self.comment(c)))
    }

    fn bookmark_with(
        &self,
        b: &Bookmark,
        activity: Option<Box<ActivityResponse>>,
        comment: Option<CommentResponse>,
    ) -> BookmarkResponse {
        BookmarkResponse {
            object_id: b.object_id.clone(),
            object_type: b.object_type.clone(),
            activity_id: b.activity_id.clone(),
            activity,
            comment,
            folder: b.folder_id.as_ref().and_then(|id| self.folders.get(id)).map(|f| self.folder(f)),
            user: self.user(&b.user_id),
            custom: b.custom.clone(),
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}
