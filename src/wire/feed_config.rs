//! Response shapes of the app-wide feed config: membership levels and feed
//! visibility levels.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::feed_visibilities::{Capability, FeedVisibility};
use crate::core::membership_levels::MembershipLevel;
use crate::core::model::Custom;
use crate::core::time::Timestamp;

#[derive(Debug, Clone, Serialize)]
pub struct MembershipLevelResponse {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub priority: i64,
    pub tags: Vec<String>,
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&MembershipLevel> for MembershipLevelResponse {
    fn from(l: &MembershipLevel) -> Self {
        MembershipLevelResponse {
            id: l.id.clone(),
            name: l.name.clone(),
            description: l.description.clone(),
            priority: l.priority,
            tags: l.tags.clone(),
            custom: l.custom.clone(),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// `Permission`: a feed capability as a permission policy. Id and name are
/// the capability; `owner` marks the `*-own-*` ones, which apply only to
/// records the user created.
#[derive(Debug, Clone, Serialize)]
pub struct Permission {
    pub id: String,
    pub name: String,
    pub description: String,
    pub action: String,
    pub owner: bool,
    pub same_team: bool,
    pub custom: bool,
    pub level: String,
    pub owner_resource: String,
    pub tags: Vec<String>,
}

impl From<&Capability> for Permission {
    fn from(c: &Capability) -> Self {
        Permission {
            id: c.name.to_string(),
            name: c.name.to_string(),
            description: c.description.to_string(),
            action: c.action.to_string(),
            owner: c.owner_only(),
            same_team: false,
            custom: false,
            level: "feed".to_string(),
            owner_resource: c.owner_resource.to_string(),
            tags: vec!["feeds".to_string()],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedVisibilityResponse {
    pub name: String,
    pub grants: BTreeMap<String, Vec<String>>,
    pub permissions: Vec<Permission>,
}

impl From<&FeedVisibility> for FeedVisibilityResponse {
    fn from(v: &FeedVisibility) -> Self {
        FeedVisibilityResponse {
            name: v.name.clone(),
            grants: v.grants.clone(),
            permissions: v.permissions().into_iter().map(Into::into).collect(),
        }
    }
}
