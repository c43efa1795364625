//! Membership levels: app-wide tiers (server-side CRUD) that a feed member
//! can be assigned. A level's `tags` are what unlocks `tag`-visibility
//! activities for that member; `priority` ranks levels (higher = better).
//! Deleting a level is irreversible; members that still name it simply
//! resolve to no level.
//!
//! This module holds the record and its rules; the operations on stored
//! levels are in `membership_level_ops` (the storage interface names
//! `MembershipLevel`, so this module stays below it).

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::model::Custom;
use super::time::Timestamp;

pub const MAX_ID: usize = 255;
pub const MAX_NAME: usize = 255;
pub const MAX_DESCRIPTION: usize = 1000;
/// Not in the spec: keeps one level's document (and the tag checks made
/// against it on reads) small.
pub const MAX_TAGS: usize = 100;
pub const MAX_TAG: usize = 255;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MembershipLevel {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub priority: i64,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl MembershipLevel {
    /// Whether this level unlocks activities restricted to `tag`.
    pub fn grants_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// CreateMembershipLevelRequest. The spec marks `id` required, but ids of
/// client-named records are generated when absent everywhere else, so an
/// empty or missing one gets a UUID here too.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateMembershipLevel {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
}

/// UpdateMembershipLevelRequest: only the fields sent change.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateMembershipLevel {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
}

pub fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::field("name", "name is a required field"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Error::field("name", format!("name must be at most {MAX_NAME} characters")));
    }
    Ok(())
}

/// An empty description clears it.
pub fn check_description(description: Option<String>) -> Result<Option<String>> {
    match description {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => {
            Err(Error::field("description", format!("description must be at most {MAX_DESCRIPTION} characters")))
        }
        Some(d) if d.is_empty() => Ok(None),
        other => Ok(other),
    }
}

pub fn check_priority(priority: i64) -> Result<i64> {
    if !(0..=i64::from(i32::MAX)).contains(&priority) {
        return Err(Error::field("priority", format!("priority must be between 0 and {}, got {priority}", i32::MAX)));
    }
    Ok(priority)
}

/// Tags in the order given, without repeats.
pub fn check_tags(tags: Vec<String>) -> Result<Vec<String>> {
    if tags.len() > MAX_TAGS {
        return Err(Error::field("tags", format!("tags lists at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        if tag.is_empty() || tag.chars().count() > MAX_TAG {
            return Err(Error::field("tags", format!("each tag must be 1 to {MAX_TAG} characters")));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

pub fn check_id(id: &str) -> Result<()> {
    if id.chars().count() > MAX_ID {
        return Err(Error::field("id", format!("id must be at most {MAX_ID} characters")));
    }
    // `…/membership_levels/query` is QueryMembershipLevels: a level with this
    // id could never be updated or deleted by path.
    if id == "query" {
        return Err(Error::field("id", "id \"query\" is reserved"));
    }
    Ok(())
}

/// Whether a member at `level` sees an activity restricted to `tag` in
/// full: their level lists the tag, or ranks at least as high as the
/// lowest level that does (`granting`: the levels listing it).
pub fn unlocks(level: &MembershipLevel, tag: &str, granting: &[MembershipLevel]) -> bool {
    level.grants_tag(tag)
        || granting
            .iter()
            .filter(|l| l.grants_tag(tag))
            .map(|l| l.priority)
            .min()
            .is_some_and(|bar| level.priority >= bar)
}
