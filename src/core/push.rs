//! Push notifications: the records of each user's devices and preferences
//! and the rules on them; `push_ops` stores them and finds whom a write
//! pushes to. Tributary cannot reach APNs or FCM;
//! the push bridge (`realtime::webhooks`, `--push-webhook-url`) sends each
//! push as a signed `push` webhook carrying the recipient's devices, for a
//! team's own service to hand on to its provider.
//!
//! What pushes (the `FeedsPreferences` kinds), never to the acting user, and
//! for a write sent with `skip_push` only through the notification
//! activities it added (one push per action either way):
//! - `mention`: an activity added mentioning the user;
//! - `reaction`: a reaction added to the user's activity;
//! - `comment`: a comment on the user's activity;
//! - `comment_reply`: a reply to the user's comment;
//! - `comment_mention`: a comment mentioning the user;
//! - `comment_reaction`: a reaction added to the user's comment;
//! - `follow`: a follow (or follow request) of a feed the user owns.
//!
//! - `post`: a new activity of a feed the user follows with
//!   `push_preference: all`;
//! - a notification activity's type: one added to the user's notification
//!   feed (by a write with `create_notification_activity` and `skip_push`,
//!   or by hand).
//!
//! The feed group of the feed concerned decides first (`group_allows`): its
//! `push_notification`, or the built-in defaults. A recipient gets a push
//! only with at least one device, when its `feeds_level` is not `none`, it
//! is not snoozed (`disabled_until`), and the kind's preference is not
//! `none` (absent and `default` mean `all`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::model::FeedGroup;
use super::time::Timestamp;

/// Devices one user may register; registering another beyond it is a 400.
/// Phones, tablets and browsers of one person stay far below it, and every
/// push carries the whole list.
pub const MAX_DEVICES_PER_USER: usize = 25;
/// Preference entries (`preferences[]`) in one request.
pub const MAX_PREFERENCES_PER_REQUEST: usize = 100;
/// Per-channel preference scopes one user may keep.
pub const MAX_SCOPES_PER_USER: usize = 100;
/// `custom_activity_types` entries in one preference.
pub const MAX_CUSTOM_TYPES: usize = 100;
/// Device ids are push tokens: FCM's run to about 160 characters.
pub const MAX_DEVICE_ID: usize = 512;
pub const MAX_NAME: usize = 255;

pub const PUSH_PROVIDERS: &[&str] = &["firebase", "apn", "huawei", "xiaomi"];

/// A registered device of a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub push_provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_provider_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_id: Option<String>,
    #[serde(default)]
    pub voip: bool,
    pub created_at: Timestamp,
}

/// CreateDevice's body.
#[derive(Debug, Deserialize)]
pub struct NewDevice {
    pub id: String,
    pub push_provider: String,
    #[serde(default)]
    pub push_provider_name: Option<String>,
    #[serde(default)]
    pub hardware_id: Option<String>,
    #[serde(default)]
    pub voip_token: Option<bool>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// `FeedsPreferences`: per kind, `all` or `none`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedsPreferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_mention: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_reaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_activity_types: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
}

impl FeedsPreferences {
    fn kind(&self, kind: &str) -> Option<&str> {
        match kind {
            "comment" => self.comment.as_deref(),
            "comment_mention" => self.comment_mention.as_deref(),
            "comment_reaction" => self.comment_reaction.as_deref(),
            "comment_reply" => self.comment_reply.as_deref(),
            "follow" => self.follow.as_deref(),
            "mention" => self.mention.as_deref(),
            "reaction" => self.reaction.as_deref(),
            _ => None,
        }
    }

    /// Each field given in `other` replaces this one's.
    fn merge(&mut self, other: FeedsPreferences) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            comment,
            comment_mention,
            comment_reaction,
            comment_reply,
            custom_activity_types,
            follow,
            mention,
            reaction
        );
    }
}

/// `ChatPreferencesInput`: stored and returned; Tributary has no chat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatPreferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_mentions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_preference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_mentions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_mentions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub here_mentions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_mentions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_replies: Option<String>,
}

impl ChatPreferences {
    fn fields(&self) -> [(&'static str, &Option<String>); 7] {
        [
            ("channel_mentions", &self.channel_mentions),
            ("default_preference", &self.default_preference),
            ("direct_mentions", &self.direct_mentions),
            ("group_mentions", &self.group_mentions),
            ("here_mentions", &self.here_mentions),
            ("role_mentions", &self.role_mentions),
            ("thread_replies", &self.thread_replies),
        ]
    }

    fn merge(&mut self, other: ChatPreferences) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            channel_mentions,
            default_preference,
            direct_mentions,
            group_mentions,
            here_mentions,
            role_mentions,
            thread_replies
        );
    }
}

/// One user's preferences in one scope: the user's own (`channel` empty) or
/// a channel's (`channel_cid`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushPreferences {
    pub user_id: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_preferences: Option<ChatPreferences>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feeds_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feeds_preferences: Option<FeedsPreferences>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_until: Option<Timestamp>,
}

/// One `PushPreferenceInput`.
#[derive(Debug, Deserialize)]
pub struct PreferenceInput {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub channel_cid: Option<String>,
    #[serde(default)]
    pub call_level: Option<String>,
    #[serde(default)]
    pub chat_level: Option<String>,
    #[serde(default)]
    pub chat_preferences: Option<ChatPreferences>,
    #[serde(default)]
    pub feeds_level: Option<String>,
    #[serde(default)]
    pub feeds_preferences: Option<FeedsPreferences>,
    #[serde(default)]
    pub disabled_until: Option<Timestamp>,
    #[serde(default)]
    pub remove_disable: Option<bool>,
}

const LEVELS: &[&str] = &["all", "none", "default"];
const CHAT_LEVELS: &[&str] = &["all", "mentions", "direct_mentions", "all_mentions", "none", "default"];
const ALL_NONE: &[&str] = &["all", "none"];

fn one_of(field: &str, value: &Option<String>, allowed: &[&str]) -> Result<()> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(Error::field(field, format!("{field} must be one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

impl PreferenceInput {
    pub fn validate(&self, at: usize) -> Result<()> {
        let path = |f: &str| format!("preferences[{at}].{f}");
        one_of(&path("call_level"), &self.call_level, LEVELS)?;
        one_of(&path("chat_level"), &self.chat_level, CHAT_LEVELS)?;
        one_of(&path("feeds_level"), &self.feeds_level, LEVELS)?;
        if let Some(chat) = &self.chat_preferences {
            for (name, value) in chat.fields() {
                one_of(&path(&format!("chat_preferences.{name}")), value, ALL_NONE)?;
            }
        }
        if let Some(feeds) = &self.feeds_preferences {
            for name in
                ["comment", "comment_mention", "comment_reaction", "comment_reply", "follow", "mention", "reaction"]
            {
                one_of(&path(&format!("feeds_preferences.{name}")), &feeds.kind(name).map(str::to_string), ALL_NONE)?;
            }
            if let Some(custom) = &feeds.custom_activity_types {
                let field = path("feeds_preferences.custom_activity_types");
                if custom.len() > MAX_CUSTOM_TYPES {
                    return Err(Error::field(&field, format!("{field} may hold at most {MAX_CUSTOM_TYPES} types")));
                }
                for (kind, value) in custom {
                    if kind.is_empty() || kind.len() > MAX_NAME {
                        return Err(Error::field(&field, format!("{field} keys must be 1 to {MAX_NAME} characters")));
                    }
                    one_of(&field, &Some(value.clone()), ALL_NONE)?;
                }
            }
        }
        if let Some(cid) = self.channel_cid.as_deref().filter(|c| !c.is_empty()) {
            if cid.len() > MAX_NAME {
                return Err(Error::field(
                    &path("channel_cid"),
                    format!("channel_cid must be at most {MAX_NAME} characters"),
                ));
            }
        }
        Ok(())
    }

    /// Applies this input to the stored preferences of its scope.
    pub fn apply(self, to: &mut PushPreferences) {
        macro_rules! take {
            ($($f:ident),*) => { $( if self.$f.is_some() { to.$f = self.$f; } )* };
        }
        take!(call_level, chat_level, feeds_level, disabled_until);
        if let Some(chat) = self.chat_preferences {
            to.chat_preferences.get_or_insert_with(Default::default).merge(chat);
        }
        if let Some(feeds) = self.feeds_preferences {
            to.feeds_preferences.get_or_insert_with(Default::default).merge(feeds);
        }
        if self.remove_disable == Some(true) {
            to.disabled_until = None;
        }
    }
}

/// Push types a `push_notification.push_types` list may hold.
pub const MAX_PUSH_TYPES: usize = 50;

/// The push types of the built-in groups that have no `push_notification`
/// of their own (Stream's defaults): `notification` and `user` push, the
/// others (and custom groups without a configuration) do not.
const NOTIFICATION_DEFAULT: &[&str] = &["follow", "comment", "reaction", "comment_reaction", "mention"];
const USER_DEFAULT: &[&str] = &["follow", "comment", "reaction", "comment_reaction", "mention", "post"];

/// The group push type a push kind falls under: a reply to one's comment is
/// a `comment`, a mention in a comment a `mention`.
fn group_type(kind: &str) -> &str {
    match kind {
        "comment_reply" => "comment",
        "comment_mention" => "mention",
        other => other,
    }
}

/// Whether a feed group lets pushes of `kind` through: its
/// `push_notification` (`enable_push` true and `kind` in `push_types`;
/// an absent `enable_push` or `push_types` allows nothing), or, without one,
/// the built-in defaults of `user` and `notification`. `None` (a group that
/// does not exist or is deleted) allows nothing.
pub fn group_allows(group: Option<&FeedGroup>, kind: &str) -> bool {
    let Some(group) = group.filter(|g| g.deleted_at.is_none()) else { return false };
    let kind = group_type(kind);
    match &group.config.push_notification {
        Some(config) => {
            let enabled = config.get("enable_push").and_then(serde_json::Value::as_bool) == Some(true);
            let types = config.get("push_types").and_then(serde_json::Value::as_array);
            enabled && types.is_some_and(|t| t.iter().any(|t| t.as_str().map(group_type) == Some(kind)))
        }
        None => match group.id.as_str() {
            "notification" => NOTIFICATION_DEFAULT.contains(&kind),
            "user" => USER_DEFAULT.contains(&kind),
            _ => false,
        },
    }
}

/// Checks a group's `push_notification` (`PushNotificationConfig`).
pub fn validate_group_config(config: Option<&serde_json::Value>) -> Result<()> {
    let Some(config) = config.filter(|c| !c.is_null()) else { return Ok(()) };
    let Some(map) = config.as_object() else {
        return Err(Error::field("push_notification", "push_notification must be an object"));
    };
    for key in map.keys() {
        if key != "enable_push" && key != "push_types" {
            let field = format!("push_notification.{key}");
            return Err(Error::field(&field, format!("{field} is not a push_notification field")));
        }
    }
    if map.get("enable_push").is_some_and(|v| !v.is_null() && !v.is_boolean()) {
        return Err(Error::field("push_notification.enable_push", "push_notification.enable_push must be a boolean"));
    }
    match map.get("push_types") {
        None | Some(serde_json::Value::Null) => Ok(()),
        Some(serde_json::Value::Array(types)) => {
            let field = "push_notification.push_types";
            if types.len() > MAX_PUSH_TYPES {
                return Err(Error::field(field, format!("{field} may hold at most {MAX_PUSH_TYPES} types")));
            }
            if types.iter().any(|t| t.as_str().is_none_or(|t| t.is_empty() || t.len() > MAX_NAME)) {
                return Err(Error::field(field, format!("{field} must be strings of 1 to {MAX_NAME} characters")));
            }
            Ok(())
        }
        Some(_) => Err(Error::field("push_notification.push_types", "push_notification.push_types must be a list")),
    }
}

/// Whether `prefs` (the user's own scope; None = never set) let a push of
/// `kind` about an activity of `activity_type` through at `now`.
pub fn allows(prefs: Option<&PushPreferences>, kind: &str, activity_type: Option<&str>, now: Timestamp) -> bool {
    let Some(prefs) = prefs else { return true };
    if prefs.feeds_level.as_deref() == Some("none") {
        return false;
    }
    if prefs.disabled_until.is_some_and(|until| until > now) {
        return false;
    }
    let Some(feeds) = &prefs.feeds_preferences else { return true };
    if let (Some(types), Some(activity_type)) = (&feeds.custom_activity_types, activity_type) {
        if types.get(activity_type).map(String::as_str) == Some("none") {
            return false;
        }
    }
    feeds.kind(kind) != Some("none")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(fill: impl FnOnce(&mut PushPreferences)) -> PushPreferences {
        let mut p = PushPreferences { user_id: "u".into(), ..Default::default() };
        fill(&mut p);
        p
    }

    #[test]
    fn preferences_gate_pushes_by_level_snooze_kind_and_activity_type() {
        let now = Timestamp(1_000);
        assert!(allows(None, "reaction", None, now));
        assert!(!allows(Some(&prefs(|p| p.feeds_level = Some("none".into()))), "reaction", None, now));
        assert!(allows(Some(&prefs(|p| p.feeds_level = Some("default".into()))), "reaction", None, now));
        assert!(!allows(Some(&prefs(|p| p.disabled_until = Some(Timestamp(2_000)))), "follow", None, now));
        assert!(allows(Some(&prefs(|p| p.disabled_until = Some(Timestamp(500)))), "follow", None, now));
        let only_no_reactions = prefs(|p| {
            p.feeds_preferences = Some(FeedsPreferences { reaction: Some("none".into()), ..Default::default() })
        });
        assert!(!allows(Some(&only_no_reactions), "reaction", None, now));
        assert!(allows(Some(&only_no_reactions), "comment", None, now));
        let no_posts = prefs(|p| {
            p.feeds_preferences = Some(FeedsPreferences {
                custom_activity_types: Some([("post".to_string(), "none".to_string())].into()),
                ..Default::default()
            })
        });
        assert!(!allows(Some(&no_posts), "mention", Some("post"), now));
        assert!(allows(Some(&no_posts), "mention", Some("photo"), now));
    }

    #[test]
    fn groups_push_their_types_or_the_built_in_defaults() {
        let group = |id: &str, push: Option<serde_json::Value>| FeedGroup {
            id: id.into(),
            config: crate::core::model::FeedGroupConfig { push_notification: push, ..Default::default() },
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            deleted_at: None,
        };
        let user = group("user", None);
        assert!(["follow", "comment", "comment_reply", "reaction", "comment_reaction", "mention", "post"]
            .iter()
            .all(|k| group_allows(Some(&user), k)));
        assert!(!group_allows(Some(&group("notification", None)), "post"));
        assert!(group_allows(Some(&group("notification", None)), "comment_mention"));
        for silent in ["timeline", "foryou", "story", "club"] {
            assert!(!group_allows(Some(&group(silent, None)), "reaction"), "{silent}");
        }
        let follows = group("club", Some(serde_json::json!({"enable_push": true, "push_types": ["follow", "digest"]})));
        assert!(group_allows(Some(&follows), "follow") && group_allows(Some(&follows), "digest"));
        assert!(!group_allows(Some(&follows), "reaction"));
        let off = group("user", Some(serde_json::json!({"enable_push": false, "push_types": ["follow"]})));
        assert!(!group_allows(Some(&off), "follow"));
        assert!(!group_allows(Some(&group("user", Some(serde_json::json!({"enable_push": true})))), "follow"));
        let mut deleted = user.clone();
        deleted.deleted_at = Some(Timestamp(1));
        assert!(!group_allows(Some(&deleted), "follow") && !group_allows(None, "follow"));
        assert!(validate_group_config(Some(&serde_json::json!({"enable_push": true, "push_types": ["a"]}))).is_ok());
        let err = validate_group_config(Some(&serde_json::json!({"push_types": "follow"}))).unwrap_err();
        assert!(err.fields.contains_key("push_notification.push_types"), "{err:?}");
    }

    #[test]
    fn inputs_merge_into_stored_preferences() {
        let mut stored = prefs(|p| {
            p.feeds_level = Some("all".into());
            p.disabled_until = Some(Timestamp(5));
            p.feeds_preferences = Some(FeedsPreferences { follow: Some("none".into()), ..Default::default() });
        });
        let input: PreferenceInput = serde_json::from_value(serde_json::json!({
            "feeds_preferences": {"reaction": "none"}, "remove_disable": true
        }))
        .unwrap();
        input.validate(0).unwrap();
        input.apply(&mut stored);
        assert_eq!(stored.disabled_until, None);
        assert_eq!(stored.feeds_level.as_deref(), Some("all"));
        let feeds = stored.feeds_preferences.unwrap();
        assert_eq!((feeds.follow.as_deref(), feeds.reaction.as_deref()), (Some("none"), Some("none")));
    }

    #[test]
    fn enum_values_are_checked_naming_the_field() {
        let input: PreferenceInput =
            serde_json::from_value(serde_json::json!({"feeds_preferences": {"comment": "some"}})).unwrap();
        let err = input.validate(2).unwrap_err();
        assert!(err.fields.contains_key("preferences[2].feeds_preferences.comment"), "{err:?}");
        let input: PreferenceInput = serde_json::from_value(serde_json::json!({"feeds_level": "loud"})).unwrap();
        assert!(input.validate(0).unwrap_err().fields.contains_key("preferences[0].feeds_level"));
    }
}
