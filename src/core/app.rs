//! App settings: where events are delivered. GetApp and UpdateApp read and
//! write them; the webhook deliverer reads them through `settings` and
//! `AppSettings::webhook_targets`.
//!
//! They are one JSON document in the settings store. UpdateApp is a
//! read-modify-write: the change is applied to the document as read and
//! written only if the document is still the one read, re-applied to the
//! fresh one otherwise (`versions::WRITE_ATTEMPTS`), so concurrent updates
//! of different fields all land. Lists (`webhook_events`, `event_hooks`) are
//! replaced whole, as on Stream: a hook left out of `event_hooks` is deleted,
//! one whose `id` is stored is updated (keeping its `created_at`), one
//! without an `id` gets a new one.
//!
//! Only HTTP webhooks are delivered: a hook of another `hook_type` (`sqs`,
//! `sns`, `pending_message`) is refused rather than stored and never served.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::time::Timestamp;
use super::versions::{contended, WRITE_ATTEMPTS};
use super::Ctx;

/// The key of the settings document.
pub const SETTING_KEY: &str = "app";
/// The one `hook_type` served.
pub const WEBHOOK: &str = "webhook";
/// The id of the target made of the legacy `webhook_url` + `webhook_events`.
pub const LEGACY_TARGET_ID: &str = "webhook_url";

pub const MAX_HOOKS: usize = 10;
pub const MAX_EVENT_TYPES: usize = 100;
pub const MAX_EVENT_TYPE_BYTES: usize = 64;
pub const MAX_URL_BYTES: usize = 2048;
pub const MIN_TIMEOUT_MS: i64 = 100;
pub const MAX_TIMEOUT_MS: i64 = 60_000;
/// Bounds on the short strings of a hook (`id`, `product`).
pub const MAX_HOOK_ID_BYTES: usize = 128;
pub const MAX_PRODUCT_BYTES: usize = 64;

/// Stream products whose hooks get none of this server's (feeds) events.
const OTHER_PRODUCTS: &[&str] = &["chat", "video", "moderation"];

/// The stored app settings. Absent fields read as their defaults, so a new
/// setting needs no migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppSettings {
    /// Legacy single webhook; empty when unset.
    #[serde(default)]
    pub webhook_url: String,
    /// Event types sent to `webhook_url`; empty means all.
    #[serde(default)]
    pub webhook_events: Vec<String>,
    #[serde(default)]
    pub event_hooks: Vec<EventHook>,
    /// Gzip webhook bodies.
    #[serde(default)]
    pub enable_hook_payload_compression: bool,
}

/// One configured hook (always an HTTP webhook).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventHook {
    pub id: String,
    pub hook_type: String,
    #[serde(default)]
    pub enabled: bool,
    pub webhook_url: String,
    /// Empty means all event types.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default)]
    pub should_send_custom_events: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where the deliverer sends events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The hook's id, or `LEGACY_TARGET_ID` for the app's `webhook_url`.
    pub id: String,
    /// An absolute http(s) URL.
    pub url: String,
    /// The event types to send; empty means all.
    pub event_types: Vec<String>,
    /// The hook's request timeout; `None` leaves it to the deliverer.
    pub timeout_ms: Option<u32>,
    /// Gzip the body (`enable_hook_payload_compression`).
    pub compress: bool,
    /// The push bridge (`--push-webhook-url`): gets `push` events, one per
    /// recipient, built from the events that push (`core::push`), instead
    /// of the events themselves.
    pub push: bool,
}

impl AppSettings {
    /// The enabled webhook hooks (those of another product excepted), then
    /// the legacy `webhook_url` with its `webhook_events` when set.
    pub fn webhook_targets(&self) -> Vec<WebhookTarget> {
        let compress = self.enable_hook_payload_compression;
        let hooks =
            self.event_hooks.iter().filter(|h| h.enabled && h.hook_type == WEBHOOK && !h.webhook_url.is_empty());
        let hooks = hooks.filter(|h| !h.product.as_deref().is_some_and(|p| OTHER_PRODUCTS.contains(&p)));
        let mut targets: Vec<WebhookTarget> = hooks
            .map(|h| WebhookTarget {
                id: h.id.clone(),
                url: h.webhook_url.clone(),
                event_types: h.event_types.clone(),
                timeout_ms: h.timeout_ms,
                compress,
                push: false,
            })
            .collect();
        if !self.webhook_url.is_empty() {
            targets.push(WebhookTarget {
                id: LEGACY_TARGET_ID.to_string(),
                url: self.webhook_url.clone(),
                event_types: self.webhook_events.clone(),
                timeout_ms: None,
                compress,
                push: false,
            });
        }
        targets
    }
}

/// UpdateAppRequest, the fields this server honours (the rest are refused
/// by the field contract before it is read). Absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateApp {
    #[serde(default)]
    pub webhook_url: Option<String>,
    #[serde(default)]
    pub webhook_events: Option<Vec<String>>,
    #[serde(default)]
    pub event_hooks: Option<Vec<EventHookInput>>,
    #[serde(default)]
    pub enable_hook_payload_compression: Option<bool>,
}

/// An `EventHook` as sent. `created_at` / `updated_at` are the server's and
/// ignored when sent back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventHookInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub hook_type: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub webhook_url: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub should_send_custom_events: Option<bool>,
}

/// The app settings, in one store read; defaults when never updated.
pub async fn settings(ctx: &Ctx) -> Result<AppSettings> {
    Ok(read(ctx).await?.0)
}

/// The settings and the stored document they came from (`None`: none yet).
async fn read(ctx: &Ctx) -> Result<(AppSettings, Option<serde_json::Value>)> {
    match ctx.store.setting(SETTING_KEY).await? {
        None => Ok((AppSettings::default(), None)),
        Some(doc) => {
            let settings = serde_json::from_value(doc.clone())
                .map_err(|e| Error::internal(format!("stored app settings do not parse: {e}")))?;
            Ok((settings, Some(doc)))
        }
    }
}

/// UpdateApp: validates the change, then applies it to the stored settings
/// without losing a concurrent update.
pub async fn update(ctx: &Ctx, req: UpdateApp) -> Result<AppSettings> {
    let change = Change::validate(req)?;
    for _ in 0..WRITE_ATTEMPTS {
        let (old, doc) = read(ctx).await?;
        let new = change.apply(&old, Timestamp::now());
        if doc.is_some() && new == old {
            return Ok(new);
        }
        let value = serde_json::to_value(&new).map_err(Error::internal)?;
        if ctx.store.replace_setting(SETTING_KEY, &value, doc.as_ref()).await? {
            return Ok(new);
        }
    }
    Err(contended("app settings", SETTING_KEY))
}

/// A validated UpdateApp.
struct Change {
    webhook_url: Option<String>,
    webhook_events: Option<Vec<String>>,
    event_hooks: Option<Vec<HookChange>>,
    compress: Option<bool>,
}

/// A validated hook; `id` is generated once, so a retried write keeps it.
struct HookChange {
    id: String,
    enabled: bool,
    webhook_url: String,
    event_types: Vec<String>,
    timeout_ms: Option<u32>,
    product: Option<String>,
    should_send_custom_events: bool,
}

impl Change {
    fn validate(req: UpdateApp) -> Result<Change> {
        let webhook_url = req.webhook_url.map(|u| check_optional_url("webhook_url", u)).transpose()?;
        let webhook_events = req.webhook_events.map(|e| check_event_types("webhook_events", e)).transpose()?;
        let event_hooks = req.event_hooks.map(check_hooks).transpose()?;
        Ok(Change { webhook_url, webhook_events, event_hooks, compress: req.enable_hook_payload_compression })
    }

    fn apply(&self, old: &AppSettings, now: Timestamp) -> AppSettings {
        let mut new = old.clone();
        if let Some(url) = &self.webhook_url {
            new.webhook_url = url.clone();
        }
        if let Some(events) = &self.webhook_events {
            new.webhook_events = events.clone();
        }
        if let Some(compress) = self.compress {
            new.enable_hook_payload_compression = compress;
        }
        if let Some(hooks) = &self.event_hooks {
            new.event_hooks =
                hooks.iter().map(|h| h.apply(old.event_hooks.iter().find(|o| o.id == h.id), now)).collect();
        }
        new
    }
}

impl HookChange {
    /// The hook as stored after this change: `created_at` kept from the
    /// stored hook with its id, `updated_at` moved only when it changed.
    fn apply(&self, stored: Option<&EventHook>, now: Timestamp) -> EventHook {
        let mut hook = EventHook {
            id: self.id.clone(),
            hook_type: WEBHOOK.to_string(),
            enabled: self.enabled,
            webhook_url: self.webhook_url.clone(),
            event_types: self.event_types.clone(),
            timeout_ms: self.timeout_ms,
            product: self.product.clone(),
            should_send_custom_events: self.should_send_custom_events,
            created_at: stored.map_or(now, |s| s.created_at),
            updated_at: now,
        };
        if let Some(stored) = stored {
            hook.updated_at = stored.updated_at;
            if hook != *stored {
                hook.updated_at = Timestamp(now.0.max(stored.updated_at.0.saturating_add(1)));
            }
        }
        hook
    }
}

fn check_hooks(hooks: Vec<EventHookInput>) -> Result<Vec<HookChange>> {
    if hooks.len() > MAX_HOOKS {
        return Err(Error::field("event_hooks", format!("event_hooks holds at most {MAX_HOOKS} hooks")));
    }
    let mut ids = HashSet::new();
    let mut checked = Vec::with_capacity(hooks.len());
    for (i, hook) in hooks.into_iter().enumerate() {
        let hook = check_hook(i, hook)?;
        if !ids.insert(hook.id.clone()) {
            let message = format!("event_hooks[{i}].id {} is given twice", hook.id);
            return Err(Error::field("event_hooks[].id", message));
        }
        checked.push(hook);
    }
    Ok(checked)
}

fn check_hook(i: usize, hook: EventHookInput) -> Result<HookChange> {
    let field = |name: &str| format!("event_hooks[].{name}");
    match hook.hook_type.as_deref() {
        None | Some("") | Some(WEBHOOK) => {}
        Some(other) => {
            let message = format!(
                "event_hooks[{i}].hook_type {other:?} is not supported by this server: only \"webhook\" hooks are delivered"
            );
            return Err(Error::field(&field("hook_type"), message));
        }
    }
    let id = match hook.id.filter(|id| !id.is_empty()) {
        None => uuid::Uuid::new_v4().to_string(),
        Some(id) if id.len() > MAX_HOOK_ID_BYTES || id.chars().any(char::is_control) => {
            let message = format!("event_hooks[{i}].id must be at most {MAX_HOOK_ID_BYTES} bytes of printable text");
            return Err(Error::field(&field("id"), message));
        }
        Some(id) => id,
    };
    let webhook_url = match hook.webhook_url.filter(|u| !u.is_empty()) {
        Some(url) => check_url(&field("webhook_url"), url)?,
        None => {
            let message = format!("event_hooks[{i}].webhook_url is required for a webhook hook");
            return Err(Error::field(&field("webhook_url"), message));
        }
    };
    let event_types = check_event_types(&field("event_types"), hook.event_types.unwrap_or_default())?;
    let timeout_ms = match hook.timeout_ms {
        None => None,
        Some(ms) if (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms) => Some(ms as u32),
        Some(ms) => {
            let message =
                format!("event_hooks[{i}].timeout_ms must be between {MIN_TIMEOUT_MS} and {MAX_TIMEOUT_MS}, not {ms}");
            return Err(Error::field(&field("timeout_ms"), message));
        }
    };
    let product = match hook.product.filter(|p| !p.is_empty()) {
        Some(p) if p.len() > MAX_PRODUCT_BYTES || p.chars().any(char::is_control) => {
            let message =
                format!("event_hooks[{i}].product must be at most {MAX_PRODUCT_BYTES} bytes of printable text");
            return Err(Error::field(&field("product"), message));
        }
        p => p,
    };
    Ok(HookChange {
        id,
        enabled: hook.enabled.unwrap_or(false),
        webhook_url,
        event_types,
        timeout_ms,
        product,
        should_send_custom_events: hook.should_send_custom_events.unwrap_or(false),
    })
}

/// An empty URL clears the setting.
fn check_optional_url(field: &str, url: String) -> Result<String> {
    if url.is_empty() {
        return Ok(url);
    }
    check_url(field, url)
}

/// An absolute http or https URL with a host, at most `MAX_URL_BYTES`.
fn check_url(field: &str, url: String) -> Result<String> {
    if url.len() > MAX_URL_BYTES {
        return Err(Error::field(field, format!("{field} must be at most {MAX_URL_BYTES} bytes")));
    }
    let parsed = url::Url::parse(&url)
        .map_err(|e| Error::field(field, format!("{field} must be an absolute http or https URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        let message = format!("{field} must be an http or https URL, not {}:", parsed.scheme());
        return Err(Error::field(field, message));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::field(field, format!("{field} must name a host")));
    }
    Ok(url)
}

/// At most `MAX_EVENT_TYPES` non-empty names of at most
/// `MAX_EVENT_TYPE_BYTES`; repeats are dropped, the order kept.
fn check_event_types(field: &str, types: Vec<String>) -> Result<Vec<String>> {
    if types.len() > MAX_EVENT_TYPES {
        return Err(Error::field(field, format!("{field} holds at most {MAX_EVENT_TYPES} event types")));
    }
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(types.len());
    for t in types {
        if t.is_empty() || t.len() > MAX_EVENT_TYPE_BYTES || t.chars().any(char::is_control) {
            let message = format!("{field}: each event type is 1 to {MAX_EVENT_TYPE_BYTES} bytes of printable text");
            return Err(Error::field(field, message));
        }
        if seen.insert(t.clone()) {
            kept.push(t);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(id: &str, enabled: bool) -> EventHook {
        EventHook {
            id: id.into(),
            hook_type: WEBHOOK.into(),
            enabled,
            webhook_url: format!("https://example.com/{id}"),
            event_types: vec!["feeds.activity.added".into()],
            timeout_ms: Some(500),
            product: None,
            should_send_custom_events: false,
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        }
    }

    #[test]
    fn targets_are_the_enabled_hooks_then_the_legacy_url() {
        let mut chat = hook("chat", true);
        chat.product = Some("chat".into());
        let settings = AppSettings {
            webhook_url: "http://legacy.example/hook".into(),
            webhook_events: vec![],
            event_hooks: vec![hook("a", true), hook("off", false), chat, hook("b", true)],
            enable_hook_payload_compression: true,
        };
        let targets = settings.webhook_targets();
        let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", LEGACY_TARGET_ID]);
        assert_eq!(targets[0].url, "https://example.com/a");
        assert_eq!(targets[0].timeout_ms, Some(500));
        assert_eq!(targets[2].event_types, Vec::<String>::new());
        assert!(targets.iter().all(|t| t.compress));
        assert!(AppSettings::default().webhook_targets().is_empty());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for ok in ["http://a.example", "https://a.example:8443/x?y=1", "http://127.0.0.1:9000/hook"] {
            assert!(check_url("u", ok.into()).is_ok(), "{ok}");
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_URL_BYTES));
        for bad in ["/relative", "ftp://a.example/", "mailto:x@a.example", "https://", "not a url", long.as_str()] {
            let e = check_url("u", bad.into()).unwrap_err();
            assert_eq!(e.fields.keys().collect::<Vec<_>>(), ["u"], "{bad}");
        }
    }

    #[test]
    fn hooks_keep_created_at_and_move_updated_at_only_when_changed() {
        let stored = hook("a", true);
        let change = HookChange {
            id: "a".into(),
            enabled: true,
            webhook_url: stored.webhook_url.clone(),
            event_types: stored.event_types.clone(),
            timeout_ms: stored.timeout_ms,
            product: None,
            should_send_custom_events: false,
        };
        assert_eq!(change.apply(Some(&stored), Timestamp(50)), stored);
        let moved = HookChange { enabled: false, ..change }.apply(Some(&stored), Timestamp(50));
        assert_eq!((moved.created_at, moved.updated_at), (Timestamp(1), Timestamp(50)));
    }

    #[test]
    fn bounds_name_their_field() {
        let field_of = |req: UpdateApp| {
            Change::validate(req).err().map(|e| e.fields.keys().next().cloned().unwrap_or_default()).unwrap_or_default()
        };
        let one = |h: EventHookInput| UpdateApp { event_hooks: Some(vec![h]), ..Default::default() };
        let url = Some("https://a.example/".to_string());
        let base = EventHookInput { webhook_url: url.clone(), ..Default::default() };
        assert_eq!(
            field_of(one(EventHookInput { hook_type: Some("sqs".into()), ..base.clone() })),
            "event_hooks[].hook_type"
        );
        assert_eq!(field_of(one(EventHookInput { timeout_ms: Some(99), ..base.clone() })), "event_hooks[].timeout_ms");
        assert_eq!(
            field_of(one(EventHookInput { timeout_ms: Some(60_001), ..base.clone() })),
            "event_hooks[].timeout_ms"
        );
        assert_eq!(field_of(one(EventHookInput { webhook_url: None, ..base.clone() })), "event_hooks[].webhook_url");
        let many = vec!["t".to_string(); MAX_EVENT_TYPES + 1];
        assert_eq!(
            field_of(one(EventHookInput { event_types: Some(many), ..base.clone() })),
            "event_hooks[].event_types"
        );
        let long = vec!["t".repeat(MAX_EVENT_TYPE_BYTES + 1)];
        assert_eq!(field_of(UpdateApp { webhook_events: Some(long), ..Default::default() }), "webhook_events");
        let eleven = UpdateApp { event_hooks: Some(vec![base.clone(); MAX_HOOKS + 1]), ..Default::default() };
        assert_eq!(field_of(eleven), "event_hooks");
        let twice = EventHookInput { id: Some("x".into()), ..base.clone() };
        assert_eq!(
            field_of(UpdateApp { event_hooks: Some(vec![twice.clone(), twice]), ..Default::default() }),
            "event_hooks[].id"
        );
        assert!(Change::validate(one(EventHookInput { timeout_ms: Some(100), ..base })).is_ok());
    }
}
