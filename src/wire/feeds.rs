//! Feeds, their members and the follows between them (a feed response
//! holds the viewer's follows, and a follow holds its two feeds: one
//! family of types).

use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::core::enrichment::Lookup;
use crate::core::model::{Custom, Feed, FeedCounts, FeedMember, Fid, Follow, Location};
use crate::core::time::Timestamp;

use super::{MembershipLevelResponse, UserResponse};

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

/// A feed as part of a larger response, serialised once per lookup and
/// spliced wherever it appears (`Lookup::rendered_feeds`): the same bytes
/// a `FeedResponse` serialises to.
#[derive(Debug, Clone)]
pub struct FeedJson(Arc<RawValue>);

impl Serialize for FeedJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (*self.0).serialize(serializer)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowResponse {
    pub source_feed: FeedJson,
    pub target_feed: FeedJson,
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

impl Lookup {
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

    /// `feed_or_stub`, serialised once per lookup.
    pub(super) fn feed_json(&self, fid: &Fid, with_own: bool) -> FeedJson {
        let key = (fid.clone(), with_own);
        if let Some(done) = self.rendered_feeds.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return FeedJson(done.clone());
        }
        let rendered: Arc<RawValue> = match serde_json::value::to_raw_value(&self.feed_or_stub(fid, with_own)) {
            Ok(raw) => raw.into(),
            // Serialising plain data cannot fail; should it, the feed shows as null.
            Err(_) => RawValue::NULL.to_owned().into(),
        };
        self.rendered_feeds.lock().unwrap_or_else(|e| e.into_inner()).insert(key, rendered.clone());
        FeedJson(rendered)
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

    pub fn follow(&self, f: &Follow) -> FollowResponse {
        self.follow_response(f, true)
    }

    fn plain_follow(&self, f: &Follow) -> FollowResponse {
        self.follow_response(f, false)
    }

    fn follow_response(&self, f: &Follow, with_own: bool) -> FollowResponse {
        FollowResponse {
            source_feed: self.feed_json(&f.source, with_own),
            target_feed: self.feed_json(&f.target, with_own),
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
