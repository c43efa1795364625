//! Aggregated and notification feed shapes: `AggregatedActivityResponse`
//! and `NotificationStatusResponse`.

use serde::Serialize;

use super::ActivityResponse;
use crate::core::model::NotificationState;
use crate::core::notification_feeds::AggregatedGroup;
use crate::core::time::Timestamp;

#[derive(Debug, Serialize)]
pub struct AggregatedActivityResponse {
    pub activities: Vec<ActivityResponse>,
    pub activity_count: i64,
    pub user_count: i64,
    pub user_count_truncated: bool,
    pub group: String,
    /// Groups are not ranked: every score is 0.
    pub score: f64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_read: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_seen: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_watched: Option<bool>,
}

impl AggregatedActivityResponse {
    /// `group` with its activities already rendered (in its order).
    pub fn new(group: &AggregatedGroup, activities: Vec<ActivityResponse>) -> Self {
        let g = &group.group;
        AggregatedActivityResponse {
            activities,
            activity_count: g.activity_count,
            user_count: g.user_count,
            user_count_truncated: g.user_count_truncated,
            group: g.key.clone(),
            score: 0.0,
            created_at: g.created_at,
            updated_at: g.updated_at,
            is_read: group.is_read,
            is_seen: group.is_seen,
            is_watched: group.is_watched,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NotificationStatusResponse {
    pub unread: i64,
    pub unseen: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_read_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<Timestamp>,
    /// Deprecated on Stream; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub read_activities: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seen_activities: Vec<String>,
}

impl From<&NotificationState> for NotificationStatusResponse {
    fn from(s: &NotificationState) -> Self {
        NotificationStatusResponse {
            unread: s.unread,
            unseen: s.unseen,
            last_read_at: s.last_read_at,
            last_seen_at: s.last_seen_at,
            read_activities: s.read_keys.clone(),
            seen_activities: s.seen_keys.clone(),
        }
    }
}
