//! Stream's JSON response shapes, named as the OpenAPI spec names them, and
//! the conversions from domain records. Required fields are always emitted
//! (`[]`, `{}`, `0`, `false`); optional ones are omitted when unset;
//! timestamps are integer nanoseconds.

mod activities;
mod app;
mod bookmarks;
mod collections;
mod comments;
mod feed_config;
mod feed_groups;
mod feed_views;
mod feeds;
mod notifications;
mod pins;
mod polls;
mod push;
mod rate_limits;
mod reactions;
mod tasks;
mod usage;
mod users;

pub use activities::{ActivityResponse, BookmarkResponse, ShareResponse};
pub use app::{AppResponseFields, ClientAppResponseFields, EventHookResponse};
pub use bookmarks::BookmarkFolderResponse;
pub use collections::{CollectionResponse, EnrichedCollectionResponse};
pub use comments::{CommentResponse, RepliesMetaResponse, ThreadedCommentResponse};
pub use feed_config::{FeedVisibilityResponse, MembershipLevelResponse, Permission};
pub use feed_groups::FeedGroupResponse;
pub use feed_views::FeedViewResponse;
pub use feeds::{FeedMemberResponse, FeedResponse, FollowResponse};
pub use notifications::{AggregatedActivityResponse, NotificationStatusResponse};
pub use pins::ActivityPinResponse;
pub use polls::{PollOptionResponseData, PollResponseData, PollVoteResponseData};
pub use push::{ChannelPushPreferencesResponse, DeviceResponse, PushPreferencesResponse};
pub use rate_limits::{GetRateLimitsResponse, LimitInfoResponse, PlatformLimits};
pub use reactions::{FeedsReactionResponse, ReactionGroupResponse};
pub use tasks::GetTaskResponse;
pub use usage::QueryFeedsUsageStatsResponse;
pub use users::{FullUserResponse, GetUserInterestsResponse, InterestTagResponse, UserResponse};

/// Attachments as responses show them: the spec's `Attachment` requires
/// `custom`, which clients may leave out when they write one.
fn attachments(stored: &[serde_json::Value]) -> Vec<serde_json::Value> {
    stored
        .iter()
        .map(|a| match a {
            serde_json::Value::Object(fields) if !fields.contains_key("custom") => {
                let mut fields = fields.clone();
                fields.insert("custom".into(), serde_json::Value::Object(Default::default()));
                serde_json::Value::Object(fields)
            }
            other => other.clone(),
        })
        .collect()
}
