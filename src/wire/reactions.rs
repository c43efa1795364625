//! Reactions, on activities and on comments.

use serde::Serialize;

use crate::core::enrichment::Lookup;
use crate::core::model::{Custom, Reaction, ReactionGroup};
use crate::core::time::Timestamp;

use super::UserResponse;

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

impl Lookup {
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
}
