//! GetApp's `AppResponseFields`. Server tokens get the server spec's shape:
//! every required field, the webhook settings from the store and the
//! features this server does not have as off/empty. User tokens get the
//! client spec's shape, which has no webhook, queue or moderation settings.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::app::{AppSettings, EventHook};
use crate::core::time::Timestamp;

/// The app's name and numeric id (one app per server).
const APP_NAME: &str = "tributary";
const APP_ID: i32 = 1;

/// `AppResponseFields` of the server spec.
#[derive(Debug, Clone, Serialize)]
pub struct AppResponseFields {
    pub id: i32,
    pub name: String,
    pub organization: String,
    pub placement: String,
    pub push_notifications: PushNotificationFields,
    pub webhook_url: String,
    pub webhook_events: Vec<String>,
    pub event_hooks: Vec<EventHookResponse>,
    pub use_hook_v2: bool,
    pub moderation_webhook_url: String,
    pub channel_configs: BTreeMap<String, serde_json::Value>,
    pub call_types: BTreeMap<String, serde_json::Value>,
    pub policies: BTreeMap<String, serde_json::Value>,
    pub grants: BTreeMap<String, Vec<String>>,
    pub suspended: bool,
    pub suspended_explanation: String,
    pub disable_auth_checks: bool,
    pub disable_permissions_checks: bool,
    pub permission_version: String,
    pub user_search_disallowed_roles: Vec<String>,
    pub multi_tenant_enabled: bool,
    pub allow_multi_user_devices: bool,
    pub image_moderation_enabled: bool,
    pub async_url_enrich_enabled: bool,
    pub auto_translation_enabled: bool,
    pub custom_action_handler_url: String,
    pub enforce_unique_usernames: String,
    pub sqs_url: String,
    pub sqs_key: String,
    pub sqs_secret: String,
    pub sns_topic_arn: String,
    pub sns_key: String,
    pub sns_secret: String,
    pub file_upload_config: FileUploadConfig,
    pub image_upload_config: FileUploadConfig,
    pub campaign_enabled: bool,
    pub reminders_interval: i32,
    pub cdn_expiration_seconds: i32,
    pub moderation_enabled: bool,
    pub moderation_multitenant_blocklist_enabled: bool,
    pub guest_user_creation_disabled: bool,
    pub user_response_time_enabled: bool,
    pub moderation_llm_configurability_enabled: bool,
    pub max_aggregated_activities_length: i32,
    pub feed_audit_logs_enabled: bool,
    pub moderation_video_call_moderation_enabled: bool,
    pub moderation_audio_call_moderation_enabled: bool,
    pub member_custom_on_messages_enabled: bool,
    /// Not in the spec, but required by the Python SDK's model (7.0.0).
    pub member_custom_on_mentioned_users_enabled: bool,
    pub member_custom_on_typing_events_enabled: bool,
    pub moderation_keyframe_video_enabled: bool,
}

/// `AppResponseFields` of the client spec (what user tokens see).
#[derive(Debug, Clone, Serialize)]
pub struct ClientAppResponseFields {
    pub id: i32,
    pub name: String,
    pub placement: String,
    pub async_url_enrich_enabled: bool,
    pub auto_translation_enabled: bool,
    pub file_upload_config: FileUploadConfig,
    pub image_upload_config: FileUploadConfig,
}

/// No uploads are served: nothing allowed or blocked, no size set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileUploadConfig {
    pub allowed_file_extensions: Vec<String>,
    pub blocked_file_extensions: Vec<String>,
    pub allowed_mime_types: Vec<String>,
    pub blocked_mime_types: Vec<String>,
    pub size_limit: i32,
}

/// No push providers are configured.
#[derive(Debug, Clone, Serialize)]
pub struct PushNotificationFields {
    pub version: String,
    pub offline_only: bool,
    pub apn: ApnConfigFields,
    pub firebase: Enabled,
    pub huawei: Enabled,
    pub xiaomi: Enabled,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApnConfigFields {
    pub enabled: bool,
    pub development: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Enabled {
    pub enabled: bool,
}

/// `EventHook`: the stored webhook hook.
#[derive(Debug, Clone, Serialize)]
pub struct EventHookResponse {
    pub id: String,
    pub hook_type: String,
    pub enabled: bool,
    pub webhook_url: String,
    pub event_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub should_send_custom_events: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&EventHook> for EventHookResponse {
    fn from(h: &EventHook) -> Self {
        EventHookResponse {
            id: h.id.clone(),
            hook_type: h.hook_type.clone(),
            enabled: h.enabled,
            webhook_url: h.webhook_url.clone(),
            event_types: h.event_types.clone(),
            timeout_ms: h.timeout_ms,
            product: h.product.clone(),
            should_send_custom_events: h.should_send_custom_events,
            created_at: h.created_at,
            updated_at: h.updated_at,
        }
    }
}

impl From<&AppSettings> for AppResponseFields {
    fn from(s: &AppSettings) -> Self {
        AppResponseFields {
            id: APP_ID,
            name: APP_NAME.to_string(),
            organization: String::new(),
            placement: String::new(),
            push_notifications: PushNotificationFields {
                version: "v3".to_string(),
                offline_only: false,
                apn: ApnConfigFields::default(),
                firebase: Enabled::default(),
                huawei: Enabled::default(),
                xiaomi: Enabled::default(),
            },
            webhook_url: s.webhook_url.clone(),
            webhook_events: s.webhook_events.clone(),
            event_hooks: s.event_hooks.iter().map(Into::into).collect(),
            use_hook_v2: true,
            moderation_webhook_url: String::new(),
            channel_configs: BTreeMap::new(),
            call_types: BTreeMap::new(),
            policies: BTreeMap::new(),
            grants: BTreeMap::new(),
            suspended: false,
            suspended_explanation: String::new(),
            disable_auth_checks: false,
            disable_permissions_checks: false,
            permission_version: "v2".to_string(),
            user_search_disallowed_roles: Vec::new(),
            multi_tenant_enabled: false,
            allow_multi_user_devices: false,
            image_moderation_enabled: false,
            async_url_enrich_enabled: false,
            auto_translation_enabled: false,
            custom_action_handler_url: String::new(),
            enforce_unique_usernames: "no".to_string(),
            sqs_url: String::new(),
            sqs_key: String::new(),
            sqs_secret: String::new(),
            sns_topic_arn: String::new(),
            sns_key: String::new(),
            sns_secret: String::new(),
            file_upload_config: FileUploadConfig::default(),
            image_upload_config: FileUploadConfig::default(),
            campaign_enabled: false,
            reminders_interval: 0,
            cdn_expiration_seconds: 0,
            moderation_enabled: false,
            moderation_multitenant_blocklist_enabled: false,
            guest_user_creation_disabled: true,
            user_response_time_enabled: false,
            moderation_llm_configurability_enabled: false,
            max_aggregated_activities_length: 0,
            feed_audit_logs_enabled: false,
            moderation_video_call_moderation_enabled: false,
            moderation_audio_call_moderation_enabled: false,
            member_custom_on_messages_enabled: false,
            member_custom_on_mentioned_users_enabled: false,
            member_custom_on_typing_events_enabled: false,
            moderation_keyframe_video_enabled: false,
        }
    }
}

impl ClientAppResponseFields {
    pub fn new() -> Self {
        ClientAppResponseFields {
            id: APP_ID,
            name: APP_NAME.to_string(),
            placement: String::new(),
            async_url_enrich_enabled: false,
            auto_translation_enabled: false,
            file_upload_config: FileUploadConfig::default(),
            image_upload_config: FileUploadConfig::default(),
        }
    }
}

impl Default for ClientAppResponseFields {
    fn default() -> Self {
        Self::new()
    }
}
