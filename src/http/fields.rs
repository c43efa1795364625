//! The request-field contract: for every served operation, each field the
//! spec defines (body properties by name, query parameters as `?name`,
//! nested ones as `a.b`, array items as `a[].b`) is either honoured or
//! refused. A refused field that carries a value is a 400 naming it, so no
//! option is silently dropped; sent as `null`, `false`, `""`, `[]` or `{}` it
//! asks for nothing and passes (SDKs send explicit defaults). Fields the
//! spec does not define stay ignored, as on Stream. `tests/spec.rs` checks
//! this table against the spec both ways.
//!
//! `enrich_own_fields` is honoured where the response always carries the
//! acting user's `own_*` fields (single-activity writes, pins, follows,
//! `query_feeds`) and refused where no user is named to enrich for.
//!
//! `user.id` (a `UserRequest` naming the acting user) stands in for a
//! missing `user_id` wherever a body's `user_id` is honoured, also where the
//! spec has no `user` (`add_activity`); the rest of the `UserRequest`
//! (`USER_PROFILE`) is refused where the spec has it: profiles change through
//! `update_users`.
//!
//! `user_id` names the acting user: with a user token it may name only the
//! token's user (anyone else is a 403 naming it); server-side it names whom
//! a write is by or for, and on changes to existing objects (`Actor::editor`)
//! must exist and is whose `own_*` fields the response carries — it grants
//! or withholds nothing, as server-side calls may do anything.

use serde_json::Value;

use crate::core::error::{Error, Result};

pub struct OperationFields {
    pub operation: &'static str,
    pub honoured: &'static [&'static str],
    pub refused: &'static [&'static str],
}

/// The `UserRequest` fields besides `id`, refused wherever `user.id` is honoured.
pub const USER_PROFILE: &[&str] = &[
    "user.custom",
    "user.image",
    "user.invisible",
    "user.language",
    "user.name",
    "user.privacy_settings",
    "user.role",
    "user.teams",
    "user.teams_role",
];

pub fn fields_of(operation: &str) -> Option<&'static OperationFields> {
    FIELDS.iter().find(|f| f.operation == operation)
}

/// Refuses the first refused field in `body` or `query` that asks for
/// something. A body that is not a JSON object is left to the handler.
pub fn check(operation: &str, query: Option<&str>, body: Option<&Value>) -> Result<()> {
    let Some(fields) = fields_of(operation) else { return Ok(()) };
    let profile = if fields.honoured.contains(&"user.id") { USER_PROFILE } else { &[] };
    let mut pairs: Option<Vec<(String, String)>> = None;
    for &field in fields.refused.iter().chain(profile) {
        let asks = match field.strip_prefix('?') {
            Some(name) => {
                let pairs =
                    pairs.get_or_insert_with(|| serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default());
                query_asks(pairs, name)
            }
            None => body.is_some_and(|b| body_asks(b, field)),
        };
        if asks {
            let name = field.trim_start_matches('?');
            return Err(Error::field(name, format!("{name} is not supported by this server yet")));
        }
    }
    Ok(())
}

fn query_asks(pairs: &[(String, String)], name: &str) -> bool {
    pairs.iter().any(|(k, v)| k == name && !matches!(v.as_str(), "" | "false" | "null"))
}

/// Whether `body` may hold a refused field or a `user` object for this
/// operation: the quoted top-level key must appear in its text. A cheap scan
/// that spares parsing the body a second time for most requests.
pub fn body_may_matter(operation: &str, body: &[u8]) -> bool {
    let Some(fields) = fields_of(operation) else { return false };
    let names_user = fields.honoured.contains(&"user_id") || fields.honoured.contains(&"user.id");
    let top_keys = fields.refused.iter().filter(|f| !f.starts_with('?')).map(|f| {
        let top = f.split('.').next().unwrap_or(f);
        top.strip_suffix("[]").unwrap_or(top)
    });
    // A key spelled with `\u` escapes cannot be found by its text: parse.
    let escaped = body.windows(2).any(|w| w == b"\\u");
    escaped || names_user.then_some("user").into_iter().chain(top_keys).any(|key| quoted_in(body, key))
}

fn quoted_in(body: &[u8], key: &str) -> bool {
    let needle = format!("\"{key}\"");
    body.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Walks `a.b` / `a[].b` paths: a fixed depth given by the table, never by
/// the client.
fn body_asks(body: &Value, path: &str) -> bool {
    let mut values = vec![body];
    for segment in path.split('.') {
        let (key, each) = match segment.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (segment, false),
        };
        let mut next = Vec::new();
        for v in values {
            match (v.get(key), each) {
                (Some(Value::Array(items)), true) => next.extend(items),
                (Some(found), false) => next.push(found),
                _ => {}
            }
        }
        values = next;
    }
    values.into_iter().any(asks_for_something)
}

fn asks_for_something(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// When a body names its acting user only in `user.id`, copies it to
/// `user_id` so handlers see one field; true when the body changed.
pub fn user_id_from_user(operation: &str, body: &mut Value) -> Result<bool> {
    let Some(fields) = fields_of(operation) else { return Ok(false) };
    if !fields.honoured.contains(&"user_id") {
        return Ok(false);
    }
    let Some(object) = body.as_object_mut() else { return Ok(false) };
    let from_user = match object.get("user").and_then(|u| u.get("id")) {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Ok(false),
    };
    match object.get("user_id") {
        Some(Value::String(id)) if !id.is_empty() => {
            if *id != from_user {
                return Err(Error::field("user_id", "user_id and user.id name different users"));
            }
            Ok(false)
        }
        _ => {
            object.insert("user_id".into(), Value::String(from_user));
            Ok(true)
        }
    }
}

/// CreatePoll and UpdatePoll take the same poll document.
const POLL_FIELDS: &[&str] = &[
    "allow_answers",
    "allow_user_suggested_options",
    "custom",
    "description",
    "enforce_unique_vote",
    "id",
    "is_closed",
    "max_votes_allowed",
    "name",
    "options",
    "user.id",
    "user_id",
    "voting_visibility",
];

/// UpdateApp honours the webhook settings: the legacy `webhook_url` and
/// `webhook_events`, `event_hooks` of `hook_type` "webhook" (another type is
/// refused by `core::app`), and payload compression. An `EventHook`'s
/// `created_at` / `updated_at` are the server's: sent back, they are ignored.
const UPDATE_APP_HONOURED: &[&str] = &[
    "enable_hook_payload_compression",
    "event_hooks[].created_at",
    "event_hooks[].enabled",
    "event_hooks[].event_types",
    "event_hooks[].hook_type",
    "event_hooks[].id",
    "event_hooks[].product",
    "event_hooks[].should_send_custom_events",
    "event_hooks[].timeout_ms",
    "event_hooks[].updated_at",
    "event_hooks[].webhook_url",
    "webhook_events",
    "webhook_url",
];

/// Every other app setting, and the SQS/SNS and callback parts of a hook.
const UPDATE_APP_REFUSED: &[&str] = &[
    "activity_metrics_config",
    "allowed_flag_reasons",
    "apn_config",
    "async_moderation_config",
    "async_url_enrich_enabled",
    "auto_translation_enabled",
    "before_message_send_hook_attempt_timeout_ms",
    "before_message_send_hook_url",
    "cdn_expiration_seconds",
    "channel_hide_members_only",
    "chat_primary_use_case",
    "custom_action_handler_url",
    "datadog_info",
    "disable_auth_checks",
    "disable_permissions_checks",
    "enforce_unique_usernames",
    "event_hooks[].callback",
    "event_hooks[].failover_config",
    "event_hooks[].sns_auth_type",
    "event_hooks[].sns_event_based_message_group_id_enabled",
    "event_hooks[].sns_key",
    "event_hooks[].sns_region",
    "event_hooks[].sns_role_arn",
    "event_hooks[].sns_secret",
    "event_hooks[].sns_topic_arn",
    "event_hooks[].sqs_auth_type",
    "event_hooks[].sqs_key",
    "event_hooks[].sqs_queue_url",
    "event_hooks[].sqs_region",
    "event_hooks[].sqs_role_arn",
    "event_hooks[].sqs_secret",
    "feed_audit_logs_enabled",
    "feeds_moderation_enabled",
    "feeds_v2_region",
    "file_upload_config",
    "firebase_config",
    "grants",
    "guest_user_creation_disabled",
    "huawei_config",
    "image_moderation_block_labels",
    "image_moderation_enabled",
    "image_moderation_labels",
    "image_upload_config",
    "max_aggregated_activities_length",
    "member_custom_on_messages_enabled",
    "migrate_permissions_to_v2",
    "moderation_analytics_enabled",
    "moderation_dashboard_preferences",
    "moderation_enabled",
    "moderation_onboarding_complete",
    "moderation_s3_image_access_role_arn",
    "moderation_webhook_url",
    "multi_tenant_enabled",
    "permission_version",
    "push_config",
    "reminders_interval",
    "reminders_max_members",
    "reminders_max_per_user",
    "revoke_tokens_issued_before",
    "sns_key",
    "sns_secret",
    "sns_topic_arn",
    "sqs_key",
    "sqs_secret",
    "sqs_url",
    "user_response_time_enabled",
    "user_search_disallowed_roles",
    "video_primary_use_case",
    "xiaomi_config",
];

pub const FIELDS: &[OperationFields] = &[
    OperationFields { operation: "GetApp", honoured: &[], refused: &[] },
    OperationFields { operation: "UpdateApp", honoured: UPDATE_APP_HONOURED, refused: UPDATE_APP_REFUSED },
    OperationFields { operation: "UpdateUsers", honoured: &["users"], refused: &[] },
    OperationFields { operation: "UpdateUsersPartial", honoured: &["users"], refused: &[] },
    OperationFields { operation: "QueryUsers", honoured: &["?payload"], refused: &[] },
    // `create_guest` refuses a `user.role` other than `guest` and any `user.teams`/`teams_role`.
    OperationFields { operation: "CreateGuest", honoured: &["user"], refused: &[] },
    OperationFields {
        operation: "DeleteUsers",
        honoured: &["user", "user_ids"],
        refused: &["calls", "conversations", "files", "messages", "new_call_owner_id", "new_channel_owner_id"],
    },
    OperationFields { operation: "GetTask", honoured: &[], refused: &[] },
    // Every preference field is stored and returned; the push bridge acts on
    // the feeds ones (`core::push`).
    OperationFields { operation: "UpdatePushNotificationPreferences", honoured: &["preferences"], refused: &[] },
    OperationFields {
        operation: "CreateDevice",
        honoured: &["hardware_id", "id", "push_provider", "push_provider_name", "user.id", "user_id", "voip_token"],
        refused: &[],
    },
    OperationFields { operation: "ListDevices", honoured: &["?user_id"], refused: &[] },
    OperationFields { operation: "DeleteDevice", honoured: &["?id", "?user_id"], refused: &[] },
    OperationFields { operation: "TranslateActivity", honoured: &["language"], refused: &[] },
    OperationFields { operation: "TranslateComment", honoured: &["language"], refused: &[] },
    OperationFields { operation: "QueryFeedsUsageStats", honoured: &["from", "to"], refused: &[] },
    OperationFields { operation: "DeleteFeedUserData", honoured: &["hard_delete"], refused: &[] },
    OperationFields { operation: "ExportFeedUserData", honoured: &[], refused: &[] },
    // Multipart forms, read by `handlers::uploads` (this table's check
    // reads JSON only).
    OperationFields { operation: "UploadFile", honoured: &["file", "user"], refused: &[] },
    OperationFields { operation: "UploadImage", honoured: &["file", "user", "upload_sizes"], refused: &[] },
    OperationFields { operation: "DeleteFile", honoured: &["?url"], refused: &[] },
    OperationFields { operation: "DeleteImage", honoured: &["?url"], refused: &[] },
    OperationFields { operation: "CreatePoll", honoured: POLL_FIELDS, refused: &[] },
    OperationFields { operation: "UpdatePoll", honoured: POLL_FIELDS, refused: &[] },
    OperationFields {
        operation: "QueryPolls",
        honoured: &["filter", "limit", "next", "prev", "sort", "?user_id"],
        refused: &[],
    },
    OperationFields { operation: "GetPoll", honoured: &["?user_id"], refused: &[] },
    OperationFields { operation: "UpdatePollPartial", honoured: &["set", "unset", "user.id", "user_id"], refused: &[] },
    OperationFields { operation: "DeletePoll", honoured: &["?user_id"], refused: &[] },
    OperationFields {
        operation: "CreatePollOption",
        honoured: &["custom", "text", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdatePollOption",
        honoured: &["custom", "id", "text", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields { operation: "GetPollOption", honoured: &[], refused: &[] },
    OperationFields { operation: "DeletePollOption", honoured: &["?user_id"], refused: &[] },
    OperationFields {
        operation: "QueryPollVotes",
        honoured: &["filter", "limit", "next", "prev", "sort", "?user_id"],
        refused: &[],
    },
    OperationFields { operation: "ListFeedGroups", honoured: &["?include_soft_deleted"], refused: &[] },
    OperationFields {
        operation: "CreateFeedGroup",
        honoured: &[
            "activity_filter",
            "activity_processors",
            "activity_selectors",
            "aggregation",
            "custom",
            "default_visibility",
            "id",
            "notification",
            "push_notification",
            "ranking",
            "stories",
        ],
        refused: &[],
    },
    OperationFields { operation: "GetFeedGroup", honoured: &["?include_soft_deleted"], refused: &[] },
    OperationFields {
        operation: "GetOrCreateFeedGroup",
        honoured: &[
            "activity_filter",
            "activity_processors",
            "activity_selectors",
            "aggregation",
            "custom",
            "default_visibility",
            "notification",
            "push_notification",
            "ranking",
            "stories",
        ],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateFeedGroup",
        honoured: &[
            "activity_filter",
            "activity_processors",
            "activity_selectors",
            "aggregation",
            "custom",
            "default_visibility",
            "notification",
            "push_notification",
            "ranking",
            "stories",
        ],
        refused: &[],
    },
    OperationFields { operation: "DeleteFeedGroup", honoured: &["?hard_delete"], refused: &[] },
    OperationFields { operation: "RestoreFeedGroup", honoured: &[], refused: &[] },
    OperationFields { operation: "ListFeedViews", honoured: &[], refused: &[] },
    OperationFields {
        operation: "CreateFeedView",
        honoured: &["activity_selectors", "aggregation", "id", "ranking"],
        refused: &[],
    },
    OperationFields { operation: "GetFeedView", honoured: &[], refused: &[] },
    OperationFields {
        operation: "GetOrCreateFeedView",
        honoured: &["activity_selectors", "aggregation", "ranking"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateFeedView",
        honoured: &["activity_selectors", "aggregation", "ranking"],
        refused: &[],
    },
    OperationFields { operation: "DeleteFeedView", honoured: &[], refused: &[] },
    OperationFields {
        operation: "GetOrCreateFeed",
        honoured: &[
            "data",
            "enrichment_options.enrich_own_followings",
            "enrichment_options.skip_activity",
            "enrichment_options.skip_all",
            "enrichment_options.skip_followers",
            "enrichment_options.skip_following",
            "enrichment_options.skip_own_capabilities",
            "enrichment_options.skip_own_follows",
            "enrichment_options.skip_pins",
            "filter",
            "followers_pagination",
            "following_pagination",
            "limit",
            "member_pagination",
            "next",
            "prev",
            "user.id",
            "user_id",
            "watch",
            "enrichment_options.skip_activity_comments",
            "enrichment_options.skip_activity_parents",
            "enrichment_options.skip_activity_poll",
            "enrichment_options.skip_activity_own_bookmarks",
            "enrichment_options.skip_activity_refresh_image_urls",
            "enrichment_options.include_flat_activities",
            "external_ranking",
            "view",
            "interest_weights",
            "overwrite_interest_weights",
            "enrichment_options.include_score_vars",
            "?language",
            "?translate_text",
        ],
        refused: &[
            "friend_reactions_options",
            "id_around",
            "enrichment_options.skip_activity_collections",
            "enrichment_options.skip_activity_current_feed",
            "enrichment_options.skip_activity_mentioned_users",
            "enrichment_options.skip_activity_reactions",
            "enrichment_options.skip_feed_member_user",
        ],
    },
    OperationFields {
        operation: "UpdateFeed",
        honoured: &["clear_location", "created_by_id", "custom", "description", "filter_tags", "location", "name"],
        refused: &["enrich_own_fields"],
    },
    OperationFields { operation: "DeleteFeed", honoured: &["?hard_delete", "?purge_user_activities"], refused: &[] },
    OperationFields {
        operation: "MarkActivity",
        honoured: &["mark_all_read", "mark_all_seen", "mark_read", "mark_seen", "mark_watched", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields { operation: "PinActivity", honoured: &["user.id", "user_id", "enrich_own_fields"], refused: &[] },
    OperationFields { operation: "UnpinActivity", honoured: &["?user_id", "?enrich_own_fields"], refused: &[] },
    OperationFields {
        operation: "QueryPinnedActivities",
        honoured: &["filter", "limit", "next", "prev", "sort", "?language", "?translate_text"],
        refused: &["enrich_own_fields"],
    },
    OperationFields {
        operation: "AddActivity",
        honoured: &[
            "attachments",
            "collection_refs",
            "collections",
            "create_notification_activity",
            "create_users",
            "custom",
            "expires_at",
            "feeds",
            "filter_tags",
            "id",
            "interest_tags",
            "location",
            "mentioned_user_ids",
            "parent_id",
            "poll_id",
            "restrict_replies",
            "search_data",
            "skip_enrich_url",
            "skip_push",
            "text",
            "type",
            "user_id",
            "visibility",
            "visibility_tag",
            "copy_custom_to_notification",
            "enrich_own_fields",
        ],
        refused: &["force_moderation"],
    },
    OperationFields {
        operation: "UpsertActivities",
        honoured: &[
            "activities",
            "create_users",
            "activities[].attachments",
            "activities[].collection_refs",
            "activities[].collections",
            "activities[].create_notification_activity",
            "activities[].custom",
            "activities[].expires_at",
            "activities[].feeds",
            "activities[].filter_tags",
            "activities[].id",
            "activities[].interest_tags",
            "activities[].location",
            "activities[].mentioned_user_ids",
            "activities[].parent_id",
            "activities[].poll_id",
            "activities[].restrict_replies",
            "activities[].search_data",
            "activities[].skip_enrich_url",
            "activities[].skip_push",
            "activities[].text",
            "activities[].type",
            "activities[].user_id",
            "activities[].visibility",
            "activities[].visibility_tag",
            "activities[].copy_custom_to_notification",
        ],
        refused: &["enrich_own_fields", "force_moderation"],
    },
    OperationFields {
        operation: "UpdateActivitiesPartialBatch",
        honoured: &[
            "changes",
            "changes[].activity_id",
            "changes[].set",
            "changes[].unset",
            "changes[].copy_custom_to_notification",
            "changes[].handle_mention_notifications",
        ],
        refused: &["force_moderation"],
    },
    OperationFields {
        operation: "DeleteActivities",
        honoured: &["delete_notification_activity", "hard_delete", "ids", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields {
        operation: "QueryActivities",
        honoured: &[
            "filter",
            "include_expired_activities",
            "include_private_activities",
            "include_soft_deleted_activities",
            "limit",
            "next",
            "prev",
            "sort",
            "user.id",
            "user_id",
            "?language",
            "?translate_text",
        ],
        refused: &["enrich_own_fields"],
    },
    OperationFields { operation: "TrackActivityMetrics", honoured: &["events", "user.id", "user_id"], refused: &[] },
    OperationFields {
        operation: "ActivityFeedback",
        honoured: &["hide", "show_less", "show_more", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields { operation: "QueryActivityShares", honoured: &["?limit", "?prev", "?next"], refused: &[] },
    OperationFields { operation: "CastPollVote", honoured: &["user.id", "user_id", "vote"], refused: &[] },
    OperationFields { operation: "DeletePollVote", honoured: &["?user_id"], refused: &[] },
    OperationFields {
        operation: "GetActivity",
        honoured: &["?comment_sort", "?comment_limit", "?user_id", "?language", "?translate_text"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateActivity",
        honoured: &[
            "attachments",
            "collection_refs",
            "custom",
            "expires_at",
            "feeds",
            "filter_tags",
            "handle_mention_notifications",
            "interest_tags",
            "location",
            "mentioned_user_ids",
            "poll_id",
            "restrict_replies",
            "search_data",
            "skip_enrich_url",
            "text",
            "user.id",
            "user_id",
            "visibility",
            "visibility_tag",
            "copy_custom_to_notification",
            "enrich_own_fields",
            "run_activity_processors",
        ],
        refused: &["force_moderation"],
    },
    OperationFields {
        operation: "UpdateActivityPartial",
        honoured: &[
            "handle_mention_notifications",
            "set",
            "unset",
            "user.id",
            "user_id",
            "copy_custom_to_notification",
            "enrich_own_fields",
            "run_activity_processors",
        ],
        refused: &["force_moderation"],
    },
    OperationFields {
        operation: "DeleteActivity",
        honoured: &["?hard_delete", "?delete_notification_activity"],
        refused: &[],
    },
    OperationFields {
        operation: "RestoreActivity",
        honoured: &["user.id", "user_id", "?enrich_own_fields"],
        refused: &[],
    },
    OperationFields {
        operation: "BatchQueryActivityReactions",
        honoured: &["activity_ids", "filter", "limit", "next", "prev", "sort", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields {
        operation: "AddActivityReaction",
        honoured: &[
            "copy_custom_to_notification",
            "create_notification_activity",
            "create_users",
            "custom",
            "enforce_unique",
            "skip_push",
            "type",
            "user.id",
            "user_id",
        ],
        refused: &["target_feeds"],
    },
    OperationFields {
        operation: "QueryActivityReactions",
        honoured: &["filter", "limit", "next", "prev", "sort"],
        refused: &[],
    },
    OperationFields {
        operation: "DeleteActivityReaction",
        honoured: &["?delete_notification_activity", "?user_id"],
        refused: &[],
    },
    OperationFields {
        operation: "AddBookmark",
        honoured: &["custom", "folder_id", "new_folder", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateBookmark",
        honoured: &["custom", "folder_id", "new_folder", "new_folder_id", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields { operation: "DeleteBookmark", honoured: &["?folder_id", "?user_id"], refused: &[] },
    OperationFields {
        operation: "AddCommentBookmark",
        honoured: &["custom", "folder_id", "new_folder", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateCommentBookmark",
        honoured: &["custom", "folder_id", "new_folder", "new_folder_id", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields { operation: "DeleteCommentBookmark", honoured: &["?folder_id", "?user_id"], refused: &[] },
    OperationFields {
        operation: "QueryBookmarks",
        honoured: &["filter", "limit", "next", "prev", "sort", "user.id", "user_id", "?language", "?translate_text"],
        refused: &["enrich_own_fields"],
    },
    OperationFields {
        operation: "QueryBookmarkFolders",
        honoured: &["filter", "limit", "next", "prev", "sort"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateBookmarkFolder",
        honoured: &["custom", "name", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields { operation: "DeleteBookmarkFolder", honoured: &[], refused: &[] },
    OperationFields {
        operation: "GetComments",
        honoured: &[
            "?object_id",
            "?object_type",
            "?depth",
            "?sort",
            "?replies_limit",
            "?id_around",
            "?user_id",
            "?limit",
            "?prev",
            "?next",
            "?language",
            "?translate_text",
        ],
        refused: &[],
    },
    OperationFields {
        operation: "AddComment",
        honoured: &[
            "attachments",
            "comment",
            "copy_custom_to_notification",
            "create_notification_activity",
            "custom",
            "id",
            "mentioned_user_ids",
            "object_id",
            "object_type",
            "parent_id",
            "skip_enrich_url",
            "skip_push",
            "user.id",
            "user_id",
        ],
        refused: &["force_moderation"],
    },
    OperationFields { operation: "AddCommentsBatch", honoured: &["comments"], refused: &[] },
    OperationFields {
        operation: "QueryComments",
        honoured: &[
            "filter",
            "id_around",
            "limit",
            "next",
            "prev",
            "sort",
            "user.id",
            "user_id",
            "?language",
            "?translate_text",
        ],
        refused: &[],
    },
    OperationFields { operation: "GetComment", honoured: &["?user_id", "?language", "?translate_text"], refused: &[] },
    OperationFields {
        operation: "UpdateComment",
        honoured: &[
            "attachments",
            "comment",
            "custom",
            "mentioned_user_ids",
            "skip_enrich_url",
            "skip_push",
            "user.id",
            "user_id",
            "copy_custom_to_notification",
            "handle_mention_notifications",
        ],
        refused: &["force_moderation"],
    },
    OperationFields {
        operation: "DeleteComment",
        honoured: &["?hard_delete", "?delete_notification_activity"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateCommentPartial",
        honoured: &[
            "set",
            "skip_enrich_url",
            "skip_push",
            "unset",
            "user.id",
            "user_id",
            "copy_custom_to_notification",
            "handle_mention_notifications",
        ],
        refused: &["force_moderation"],
    },
    OperationFields { operation: "RestoreComment", honoured: &["user.id", "user_id"], refused: &[] },
    OperationFields {
        operation: "GetCommentReplies",
        honoured: &[
            "?depth",
            "?sort",
            "?replies_limit",
            "?id_around",
            "?user_id",
            "?limit",
            "?prev",
            "?next",
            "?language",
            "?translate_text",
        ],
        refused: &[],
    },
    OperationFields {
        operation: "BatchQueryCommentReactions",
        honoured: &["comment_ids", "filter", "limit", "next", "prev", "sort", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields {
        operation: "AddCommentReaction",
        honoured: &[
            "copy_custom_to_notification",
            "create_notification_activity",
            "custom",
            "enforce_unique",
            "skip_push",
            "type",
            "user.id",
            "user_id",
        ],
        refused: &["target_feeds"],
    },
    OperationFields {
        operation: "QueryCommentReactions",
        honoured: &["filter", "limit", "next", "prev", "sort"],
        refused: &[],
    },
    OperationFields {
        operation: "DeleteCommentReaction",
        honoured: &["?delete_notification_activity", "?user_id"],
        refused: &[],
    },
    OperationFields { operation: "CreateCollections", honoured: &["collections", "user.id", "user_id"], refused: &[] },
    OperationFields { operation: "UpsertCollections", honoured: &["collections"], refused: &[] },
    OperationFields { operation: "UpdateCollections", honoured: &["collections"], refused: &["user", "user_id"] },
    OperationFields { operation: "ReadCollections", honoured: &["?collection_refs"], refused: &["?user_id"] },
    OperationFields { operation: "DeleteCollections", honoured: &["?collection_refs"], refused: &[] },
    OperationFields {
        operation: "QueryCollections",
        honoured: &["filter", "limit", "next", "prev", "sort", "user.id", "user_id"],
        refused: &[],
    },
    OperationFields {
        operation: "Follow",
        honoured: &[
            "activity_copy_limit",
            "copy_custom_to_notification",
            "create_notification_activity",
            "create_users",
            "custom",
            "enrich_own_fields",
            "push_preference",
            "skip_push",
            "source",
            "status",
            "target",
        ],
        refused: &[],
    },
    OperationFields {
        operation: "GetOrCreateFollow",
        honoured: &[
            "activity_copy_limit",
            "copy_custom_to_notification",
            "create_notification_activity",
            "create_users",
            "custom",
            "enrich_own_fields",
            "push_preference",
            "skip_push",
            "source",
            "status",
            "target",
        ],
        refused: &[],
    },
    OperationFields { operation: "QueryFollows", honoured: &["filter", "limit", "next", "prev", "sort"], refused: &[] },
    OperationFields {
        operation: "Unfollow",
        honoured: &["?delete_notification_activity", "?keep_history", "?enrich_own_fields"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateFollow",
        honoured: &[
            "activity_copy_limit",
            "copy_custom_to_notification",
            "create_notification_activity",
            "create_users",
            "custom",
            "enrich_own_fields",
            "follower_role",
            "push_preference",
            "skip_push",
            "source",
            "status",
            "target",
        ],
        refused: &[],
    },
    OperationFields { operation: "AcceptFollow", honoured: &["follower_role", "source", "target"], refused: &[] },
    OperationFields { operation: "RejectFollow", honoured: &["source", "target"], refused: &[] },
    OperationFields {
        operation: "FollowBatch",
        honoured: &["create_users", "enrich_own_fields", "follows"],
        refused: &[],
    },
    OperationFields {
        operation: "GetOrCreateFollows",
        honoured: &["create_users", "enrich_own_fields", "follows"],
        refused: &[],
    },
    OperationFields {
        operation: "GetOrCreateUnfollow",
        honoured: &["delete_notification_activity", "enrich_own_fields", "keep_history", "source", "target"],
        refused: &[],
    },
    OperationFields {
        operation: "UnfollowBatch",
        honoured: &["delete_notification_activity", "enrich_own_fields", "follows"],
        refused: &[],
    },
    OperationFields {
        operation: "GetOrCreateUnfollows",
        honoured: &["delete_notification_activity", "enrich_own_fields", "follows"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateFeedMembers",
        honoured: &["limit", "members", "next", "operation", "prev"],
        refused: &[],
    },
    OperationFields { operation: "AcceptFeedMemberInvite", honoured: &["user.id", "user_id"], refused: &[] },
    OperationFields { operation: "RejectFeedMemberInvite", honoured: &["user.id", "user_id"], refused: &[] },
    OperationFields {
        operation: "QueryFeedMembers",
        honoured: &["filter", "limit", "next", "prev", "sort"],
        refused: &[],
    },
    OperationFields {
        operation: "ChangeFeedVisibility",
        honoured: &["pending_follows_action", "visibility"],
        refused: &[],
    },
    OperationFields { operation: "OwnBatch", honoured: &["feeds", "fields", "user.id", "user_id"], refused: &[] },
    OperationFields {
        operation: "CreateMembershipLevel",
        honoured: &["custom", "description", "id", "name", "priority", "tags"],
        refused: &[],
    },
    OperationFields {
        operation: "QueryMembershipLevels",
        honoured: &["filter", "limit", "next", "prev", "sort"],
        refused: &[],
    },
    OperationFields {
        operation: "UpdateMembershipLevel",
        honoured: &["custom", "description", "name", "priority", "tags"],
        refused: &[],
    },
    OperationFields { operation: "DeleteMembershipLevel", honoured: &[], refused: &[] },
    OperationFields { operation: "ListFeedVisibilities", honoured: &[], refused: &[] },
    OperationFields { operation: "GetFeedVisibility", honoured: &[], refused: &[] },
    OperationFields { operation: "UpdateFeedVisibility", honoured: &["grants"], refused: &[] },
    OperationFields {
        operation: "QueryFeeds",
        honoured: &["enrich_own_fields", "filter", "limit", "next", "prev", "sort", "watch"],
        refused: &[],
    },
    OperationFields { operation: "CreateFeedsBatch", honoured: &["feeds"], refused: &["enrich_own_fields"] },
    OperationFields {
        operation: "DeleteFeedsBatch",
        honoured: &["feeds", "hard_delete", "purge_user_activities"],
        refused: &[],
    },
    OperationFields { operation: "GetFeedCounts", honoured: &[], refused: &[] },
    OperationFields { operation: "GetFollowSuggestions", honoured: &["?limit", "?user_id"], refused: &[] },
    OperationFields { operation: "GetUserInterests", honoured: &["?limit"], refused: &[] },
    OperationFields {
        operation: "GetFeedsRateLimits",
        honoured: &["?android", "?endpoints", "?ios", "?server_side", "?unity", "?web"],
        refused: &[],
    },
    OperationFields {
        operation: "GetRateLimits",
        honoured: &["?android", "?endpoints", "?ios", "?server_side", "?unity", "?web"],
        refused: &[],
    },
];
