//! Feed views.

use serde::Serialize;
use serde_json::Value;

use crate::core::model::{ActivitySelector, FeedView};
use crate::core::time::Timestamp;

#[derive(Debug, Serialize)]
pub struct FeedViewResponse {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_selectors: Option<Vec<ActivitySelector>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranking: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
}

impl From<&FeedView> for FeedViewResponse {
    fn from(v: &FeedView) -> Self {
        FeedViewResponse {
            id: v.id.clone(),
            activity_selectors: v.activity_selectors.clone(),
            ranking: v.ranking.clone(),
            aggregation: v.aggregation.clone(),
            last_used_at: v.last_used_at,
        }
    }
}
