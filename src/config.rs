//! Configuration: every option is a `--flag` with a `TRIBUTARY_*` env var,
//! and a key of the configuration file (`file`).
//! When no key/secret is given, a pair is generated on first start and kept
//! in the database (and, for SQLite, exported to the data dir) so restarts
//! and sibling instances keep working with the same SDK settings.

pub mod file;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::error::Error;
use crate::core::rate_limits::RateLimitRules;
use crate::core::storage::Store;

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on (7400: the official JS client maps :3030 to :8800 for its WebSocket).
    #[arg(long, env = "TRIBUTARY_ADDR", default_value = "127.0.0.1:7400")]
    pub addr: SocketAddr,
    /// Folder for the SQLite database and generated credentials.
    #[arg(long, env = "TRIBUTARY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// A postgres:// URL selects PostgreSQL instead of SQLite.
    #[arg(long, env = "TRIBUTARY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// App API key (generated and stored in the data dir when unset).
    #[arg(long, env = "TRIBUTARY_API_KEY")]
    pub api_key: Option<String>,
    /// App API secret (generated and stored in the data dir when unset).
    #[arg(long, env = "TRIBUTARY_API_SECRET", hide_env_values = true)]
    pub api_secret: Option<String>,
    /// Browser origins allowed to call the API (CORS): `*` or a comma-separated list such as `https://app.example.com`.
    #[arg(long, env = "TRIBUTARY_CORS_ORIGINS", default_value = "*", value_parser = CorsOrigins::parse)]
    pub cors_origins: CorsOrigins,
    #[command(flatten)]
    pub limits: ConnectionLimits,
    #[command(flatten)]
    pub webhooks: WebhookOptions,
    #[command(flatten)]
    pub fanout: FanoutOptions,
    #[command(flatten)]
    pub authless: AuthlessOptions,
    #[command(flatten)]
    pub rate_limits: RateLimitOptions,
    #[command(flatten)]
    pub metrics: MetricsOptions,
    #[command(flatten)]
    pub user_data: UserDataFlags,
    #[command(flatten)]
    pub uploads: UploadOptions,
    #[command(flatten)]
    pub translation: TranslationOptions,
}

/// Where uploaded files and images go (`core::uploads`, `store::files`).
#[derive(Debug, Clone, clap::Args)]
pub struct UploadOptions {
    /// Where uploads are stored: unset for `<data dir>/uploads` (served by this server under /uploads/), `file:///path` for another folder, or `s3://bucket/prefix` for S3-compatible object storage (credentials, region and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT, AWS_ALLOW_HTTP).
    #[arg(long, env = "TRIBUTARY_UPLOADS_URL", default_value = "")]
    pub uploads_url: String,
    /// The public base URL of uploads kept in object storage (a CDN or the bucket's website); by default the bucket's own URL.
    #[arg(long, env = "TRIBUTARY_UPLOADS_PUBLIC_URL")]
    pub uploads_public_url: Option<String>,
    /// The largest file UploadFile and UploadImage accept, in bytes (413 beyond it).
    #[arg(long, env = "TRIBUTARY_UPLOAD_MAX_BYTES", default_value_t = crate::core::files::DEFAULT_MAX_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024 * 1024 * 1024))]
    pub upload_max_bytes: usize,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            uploads_url: String::new(),
            uploads_public_url: None,
            upload_max_bytes: crate::core::files::DEFAULT_MAX_BYTES,
        }
    }
}

/// Machine translation (TranslateActivity, TranslateComment) through a
/// LibreTranslate-compatible service (`crate::translate`).
#[derive(Debug, Clone, clap::Args)]
pub struct TranslationOptions {
    /// Base URL of a LibreTranslate-compatible service (`POST <url>/translate`); unset, translation requests are refused with a 400 saying translation is not configured.
    #[arg(long, env = "TRIBUTARY_TRANSLATION_URL", value_parser = http_url)]
    pub translation_url: Option<String>,
    /// API key sent to the translation service as `api_key`, when it asks for one.
    #[arg(long, env = "TRIBUTARY_TRANSLATION_API_KEY", hide_env_values = true)]
    pub translation_api_key: Option<String>,
    /// How long one call to the translation service may take, in milliseconds; then the request fails with a 502.
    #[arg(long, env = "TRIBUTARY_TRANSLATION_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=120_000))]
    pub translation_timeout_ms: u64,
}

impl Default for TranslationOptions {
    fn default() -> Self {
        TranslationOptions { translation_url: None, translation_api_key: None, translation_timeout_ms: 10_000 }
    }
}

/// An absolute http(s) URL (`--push-webhook-url`, `--translation-url`).
fn http_url(text: &str) -> Result<String, String> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(text.to_string()),
        _ => Err(format!("{text:?} is not an absolute http(s) URL")),
    }
}

/// Callers without a user token, as Stream's clients make them: guests
/// (`connectGuest` → `POST /api/v2/guest`) and anonymous connections
/// (`connectAnonymous`). Both are on by default, as on Stream, where an app
/// switches guests off in its dashboard.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthlessOptions {
    /// Let anyone holding the API key create guest users (role `guest`) and get a token for them (`POST /api/v2/guest`): `true` or `false`.
    #[arg(long, env = "TRIBUTARY_ALLOW_GUESTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub allow_guests: bool,
    /// Let anonymous connections (`stream-auth-type: anonymous`, no token) read what the `anonymous` role is granted (public and visible feeds, their activities and comments) and query users: `true` or `false`.
    #[arg(long, env = "TRIBUTARY_ALLOW_ANONYMOUS", default_value_t = true, action = clap::ArgAction::Set)]
    pub allow_anonymous: bool,
}

impl Default for AuthlessOptions {
    fn default() -> Self {
        AuthlessOptions { allow_guests: true, allow_anonymous: true }
    }
}

/// Rate limits (`core::rate_limits`): token buckets per operation for the
/// app on each platform and for each user; syntax in docs/limits.md.
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimitOptions {
    /// Rate limits layered over the defaults (app:*=600000/m,user:*=60000/m): `off`, or comma-separated rules such as `app:AddActivity=1000/m`, `user:*=60/m`, `app:AddComment+AddActivityReaction=500/m` (one shared bucket), `user:*=off`.
    #[arg(long, env = "TRIBUTARY_RATE_LIMITS", default_value = "", value_parser = RateLimitRules::parse)]
    pub rate_limits: RateLimitRules,
    /// How many instances share the limits (PostgreSQL clusters): each instance enforces limit / instances.
    #[arg(long, env = "TRIBUTARY_RATE_LIMIT_INSTANCES", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub rate_limit_instances: u64,
    /// The most per-user buckets held in memory; idle ones are dropped first.
    #[arg(long, env = "TRIBUTARY_RATE_LIMIT_USER_BUCKETS", default_value_t = 100_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(16..=10_000_000))]
    pub rate_limit_user_buckets: usize,
}

impl Default for RateLimitOptions {
    fn default() -> Self {
        RateLimitOptions {
            rate_limits: RateLimitRules::default(),
            rate_limit_instances: 1,
            rate_limit_user_buckets: 100_000,
        }
    }
}

/// `GET /metrics` (Prometheus text format).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MetricsOptions {
    /// When set, `GET /metrics` requires `Authorization: Bearer <token>`.
    #[arg(long, env = "TRIBUTARY_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// GDPR tasks (`core::user_data`): exports and deletions of a user's data.
#[derive(Debug, Clone, clap::Args)]
pub struct UserDataFlags {
    /// How many of a user's records one step of an export or deletion reads (and deletes); each step is short transactions.
    #[arg(long, env = "TRIBUTARY_USER_DATA_BATCH", default_value_t = crate::core::user_data::DEFAULT_BATCH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub user_data_batch: usize,
    /// How long the download link of a user-data export works, in seconds.
    #[arg(long, env = "TRIBUTARY_EXPORT_LINK_TTL_SECS", default_value_t = crate::core::user_data::DEFAULT_EXPORT_LINK_TTL_SECS,
          value_parser = clap::builder::RangedI64ValueParser::<i64>::new().range(1..=30 * 24 * 3600))]
    pub export_link_ttl_secs: i64,
}

impl Default for UserDataFlags {
    fn default() -> Self {
        let options = crate::core::user_data::UserDataOptions::default();
        UserDataFlags { user_data_batch: options.batch, export_link_ttl_secs: options.export_link_ttl_secs }
    }
}

impl UserDataFlags {
    pub fn options(&self) -> crate::core::user_data::UserDataOptions {
        crate::core::user_data::UserDataOptions {
            batch: self.user_data_batch,
            export_link_ttl_secs: self.export_link_ttl_secs,
        }
    }
}

/// The background fan-out (`core::fanout`) of activities posted to feeds
/// with more than `store`'s inline limit (1,000) of followers.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutOptions {
    /// How many follower feeds one background fan-out transaction copies an activity into; each batch holds the database writer for its duration.
    #[arg(long, env = "TRIBUTARY_FANOUT_BATCH", default_value_t = crate::core::fanout::DEFAULT_BATCH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub fanout_batch: usize,
}

impl Default for FanoutOptions {
    fn default() -> Self {
        FanoutOptions { fanout_batch: crate::core::fanout::DEFAULT_BATCH }
    }
}

/// The longest retry window: below the outbox's 24 h retention
/// (`realtime::dispatch::RETENTION`), so an event is still stored on its
/// last retry.
pub const MAX_WEBHOOK_RETRY_WINDOW_SECS: u64 = 23 * 3600;

/// Webhook delivery (`realtime::webhooks`): how long a failing event is
/// retried and how instances share the targets.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookOptions {
    /// How long a webhook event is retried when its receiver fails, counted from when the event was written; then it is logged and skipped. At most 23 h (events are kept 24 h).
    #[arg(long, env = "TRIBUTARY_WEBHOOK_RETRY_WINDOW_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=MAX_WEBHOOK_RETRY_WINDOW_SECS))]
    pub webhook_retry_window_secs: u64,
    /// The first wait before retrying a failed webhook request; it doubles on each failure, up to 60 s.
    #[arg(long, env = "TRIBUTARY_WEBHOOK_FIRST_RETRY_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub webhook_first_retry_ms: u64,
    /// How long an instance's claim on a webhook target lasts unless renewed (every third of it); when an instance dies, another takes its targets over after this.
    #[arg(long, env = "TRIBUTARY_WEBHOOK_LEASE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub webhook_lease_secs: u64,
    /// Hosts webhooks may be sent to: `*` for any, or a comma-separated list of host names and IP addresses as written in the URLs (`[::1]` for IPv6); targets elsewhere get nothing (logged).
    #[arg(long, env = "TRIBUTARY_WEBHOOK_HOSTS", default_value = "*", value_parser = WebhookHosts::parse)]
    pub webhook_hosts: WebhookHosts,
    /// Where push notifications go, as signed `push` webhooks carrying the recipient's devices (Tributary does not call APNs or FCM); unset, nothing is pushed. See "Push notifications" in the README.
    #[arg(long, env = "TRIBUTARY_PUSH_WEBHOOK_URL", value_parser = http_url)]
    pub push_webhook_url: Option<String>,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            webhook_retry_window_secs: 3600,
            webhook_first_retry_ms: 500,
            webhook_lease_secs: 30,
            webhook_hosts: WebhookHosts::Any,
            push_webhook_url: None,
        }
    }
}

/// Where webhooks may go: a guard against app settings that point the
/// server at internal services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WebhookHosts {
    #[default]
    Any,
    /// Lowercased hosts, compared with a URL's host as written.
    List(Vec<String>),
}

impl WebhookHosts {
    /// `*`, or a comma-separated list of hosts (spaces around commas
    /// ignored): `hooks.example.com`, `127.0.0.1`, `[::1]`.
    pub fn parse(text: &str) -> Result<WebhookHosts, String> {
        let entries: Vec<&str> = text.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
        match entries.as_slice() {
            [] => Err("list at least one host, or `*` for any".into()),
            ["*"] => Ok(WebhookHosts::Any),
            _ => entries
                .iter()
                .map(|entry| match url::Url::parse(&format!("http://{entry}/")) {
                    _ if *entry == "*" => Err("`*` already allows every host; give it alone or list hosts".into()),
                    Ok(url) if url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(entry)) => {
                        Ok(entry.to_ascii_lowercase())
                    }
                    _ => Err(format!("{entry:?} is not a host such as hooks.example.com, 127.0.0.1 or [::1]")),
                })
                .collect::<Result<_, _>>()
                .map(WebhookHosts::List),
        }
    }

    /// The allowed hosts; `None` allows any.
    pub fn list(&self) -> Option<Vec<String>> {
        match self {
            WebhookHosts::Any => None,
            WebhookHosts::List(hosts) => Some(hosts.clone()),
        }
    }
}

/// Which browser origins get `Access-Control-Allow-Origin` (see
/// `http::cors`). `Any` answers `*`, a permissive default for local
/// development; a list echoes a request's `Origin` only when it is listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    #[default]
    Any,
    /// Lowercased `scheme://host[:port]` origins.
    List(Vec<String>),
}

impl CorsOrigins {
    /// `*`, or a comma-separated list of `scheme://host[:port]` origins
    /// (spaces around commas ignored). A path, even a lone trailing `/`,
    /// is refused: browsers never send one, so such an entry would never match.
    pub fn parse(text: &str) -> Result<CorsOrigins, String> {
        let entries: Vec<&str> = text.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
        match entries.as_slice() {
            [] => Err("list at least one origin, or `*` for any".into()),
            ["*"] => Ok(CorsOrigins::Any),
            _ => entries.iter().map(|entry| Self::origin(entry)).collect::<Result<_, _>>().map(CorsOrigins::List),
        }
    }

    fn origin(entry: &str) -> Result<String, String> {
        if entry == "*" {
            return Err("`*` already allows every origin; give it alone or list origins without it".into());
        }
        let valid = entry.split_once("://").is_some_and(|(scheme, host)| {
            !scheme.is_empty()
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                && !host.is_empty()
                && host.bytes().all(|b| b.is_ascii_graphic() && !b"/?#".contains(&b))
        });
        if !valid {
            return Err(format!("{entry:?} is not an origin such as https://app.example.com or http://localhost:3000"));
        }
        Ok(entry.to_ascii_lowercase())
    }

    /// Whether a request's `Origin` header value may be echoed.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CorsOrigins::Any => true,
            CorsOrigins::List(list) => list.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin)),
        }
    }
}

/// What one client may hold of the server: how long its slow or silent
/// connections stay open, and how many connections are served at once.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionLimits {
    /// Time to send a request's headers; it also bounds the wait for the next request on a keep-alive connection.
    #[arg(long, env = "TRIBUTARY_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// A connection with no request in progress and no bytes moving for this long is closed.
    #[arg(long, env = "TRIBUTARY_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Time to send a whole request body; past it the answer is 408 (code 23).
    #[arg(long, env = "TRIBUTARY_BODY_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,
    /// Connections served at once; further ones wait in the OS accept queue.
    #[arg(long, env = "TRIBUTARY_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 10_000,
        }
    }
}

/// `500ms`, `10s`, `2m`, or a plain number of seconds; never zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s or 2m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{text:?}: the unit must be ms, s or m")),
    };
    if duration.is_zero() {
        return Err("a timeout must be longer than zero".into());
    }
    Ok(duration)
}

#[derive(Serialize, Deserialize, Clone)]
pub struct AppCredentials {
    pub api_key: String,
    pub api_secret: String,
}

const CREDENTIALS_FILE: &str = "credentials.json";
const CREDENTIALS_SETTING: &str = "app_credentials";

/// Explicit settings win. Otherwise the pair stored in the database is used,
/// created on the very first start — every process over one database shares
/// it. Returns whether the pair was generated now.
pub async fn resolve_credentials(config: &ServeConfig, store: &dyn Store) -> Result<(AppCredentials, bool), Error> {
    let candidate = AppCredentials {
        api_key: Alphanumeric.sample_string(&mut rand::rng(), 12).to_lowercase(),
        api_secret: Alphanumeric.sample_string(&mut rand::rng(), 48),
    };
    let (mut creds, generated) = if config.api_key.is_some() && config.api_secret.is_some() {
        (candidate, false)
    } else {
        let proposed = serde_json::to_value(&candidate).map_err(Error::internal)?;
        let stored = store.setting_or_insert(CREDENTIALS_SETTING, &proposed).await?;
        let generated = stored == proposed;
        (serde_json::from_value(stored).map_err(Error::internal)?, generated)
    };
    if let Some(key) = &config.api_key {
        creds.api_key = key.clone();
    }
    if let Some(secret) = &config.api_secret {
        creds.api_secret = secret.clone();
    }
    Ok((creds, generated))
}

/// A copy of the credentials in the data dir (mode 0600), for tools and the
/// README quick start to read.
pub fn export_credentials(dir: &Path, creds: &AppCredentials) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(CREDENTIALS_FILE);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(creds)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_ms_s_m_or_plain_seconds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        for bad in ["", "0s", "10h", "s", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cors_origins_are_star_or_a_list_of_origins() {
        assert_eq!(CorsOrigins::parse("*"), Ok(CorsOrigins::Any));
        assert_eq!(CorsOrigins::parse(" * "), Ok(CorsOrigins::Any));
        assert_eq!(
            CorsOrigins::parse("https://App.example.com, http://localhost:3000,"),
            Ok(CorsOrigins::List(vec!["https://app.example.com".into(), "http://localhost:3000".into()]))
        );
        for bad in ["", " , ", "*, https://a.example", "app.example.com", "https://a.example/", "https://", "://x"] {
            assert!(CorsOrigins::parse(bad).is_err(), "{bad:?}");
        }
        let list = CorsOrigins::parse("https://a.example").expect("list");
        assert!(list.allows("https://a.example") && list.allows("HTTPS://A.EXAMPLE"));
        assert!(!list.allows("https://b.example") && !list.allows("https://a.example:8443"));
        assert!(CorsOrigins::Any.allows("null"));
    }

    #[test]
    fn webhook_hosts_are_star_or_a_list_of_hosts() {
        assert_eq!(WebhookHosts::parse(" * "), Ok(WebhookHosts::Any));
        assert_eq!(
            WebhookHosts::parse("Hooks.Example.com, 127.0.0.1,[::1]"),
            Ok(WebhookHosts::List(vec!["hooks.example.com".into(), "127.0.0.1".into(), "[::1]".into()]))
        );
        for bad in ["", "*, a.example", "http://a.example", "a.example:80", "a.example/x", "::1", "a b"] {
            assert!(WebhookHosts::parse(bad).is_err(), "{bad:?}");
        }
    }
}
