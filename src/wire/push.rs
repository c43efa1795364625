//! Push devices and preferences.

use serde::Serialize;

use crate::core::push::{ChatPreferences, Device, FeedsPreferences, PushPreferences};
use crate::core::time::Timestamp;

#[derive(Debug, Serialize)]
pub struct DeviceResponse {
    pub id: String,
    pub user_id: String,
    pub push_provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_provider_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware_id: Option<String>,
    pub voip: bool,
    pub disabled: bool,
    pub created_at: Timestamp,
}

impl From<&Device> for DeviceResponse {
    fn from(d: &Device) -> Self {
        DeviceResponse {
            id: d.id.clone(),
            user_id: d.user_id.clone(),
            push_provider: d.push_provider.clone(),
            push_provider_name: d.push_provider_name.clone(),
            hardware_id: d.hardware_id.clone(),
            voip: d.voip,
            disabled: false,
            created_at: d.created_at,
        }
    }
}

/// `PushPreferencesResponse`: a user's own preferences as stored (fields
/// never set are left out).
#[derive(Debug, Serialize)]
pub struct PushPreferencesResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_preferences: Option<ChatPreferences>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_until: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feeds_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feeds_preferences: Option<FeedsPreferences>,
}

impl From<&PushPreferences> for PushPreferencesResponse {
    fn from(p: &PushPreferences) -> Self {
        PushPreferencesResponse {
            call_level: p.call_level.clone(),
            chat_level: p.chat_level.clone(),
            chat_preferences: p.chat_preferences.clone(),
            disabled_until: p.disabled_until,
            feeds_level: p.feeds_level.clone(),
            feeds_preferences: p.feeds_preferences.clone(),
        }
    }
}

/// `ChannelPushPreferencesResponse`: a channel scope's preferences.
#[derive(Debug, Serialize)]
pub struct ChannelPushPreferencesResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_preferences: Option<ChatPreferences>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_until: Option<Timestamp>,
}

impl From<&PushPreferences> for ChannelPushPreferencesResponse {
    fn from(p: &PushPreferences) -> Self {
        ChannelPushPreferencesResponse {
            chat_level: p.chat_level.clone(),
            chat_preferences: p.chat_preferences.clone(),
            disabled_until: p.disabled_until,
        }
    }
}
