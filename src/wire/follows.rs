//! Follows between feeds.

use serde::Serialize;

use crate::core::enrichment::Lookup;
use crate::core::model::{Custom, Follow};
use crate::core::time::Timestamp;

use super::FeedResponse;

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

impl Lookup {
    pub fn follow(&self, f: &Follow) -> FollowResponse {
        self.follow_response(f, true)
    }

    pub(super) fn plain_follow(&self, f: &Follow) -> FollowResponse {
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
