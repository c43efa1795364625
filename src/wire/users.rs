//! The user shapes every other response embeds.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::enrichment::Lookup;
use crate::core::model::{Custom, User};
use crate::core::time::Timestamp;

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
}

/// `InterestTagResponse`: a tag and the number of distinct activities the
/// user reacted to (or commented on) that carry it.
#[derive(Serialize)]
pub struct InterestTagResponse {
    pub tag: String,
    pub count: i64,
}

#[derive(Serialize)]
pub struct GetUserInterestsResponse {
    pub interests: Vec<InterestTagResponse>,
}
