//! Feed groups.

use serde::Serialize;
use serde_json::Value;

use crate::core::model::{ActivitySelector, Custom, FeedGroup};
use crate::core::time::Timestamp;

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
