//! Webhook delivery: every configured target (`core::app::WebhookTarget`)
//! gets the events it asked for, in outbox order, signed, at least once.
//!
//! - **One worker per target**, each with a durable position in the outbox
//!   (consumer `webhook:<id>`), so a restart resumes where delivery stopped.
//!   A target seen for the first time starts at the newest event; one that
//!   is removed (or disabled) is forgotten, so adding it again starts anew.
//! - **One instance delivers each target**: a worker takes a lease on its
//!   consumer (renewed every third of `Config::lease`) before it reads; the
//!   other instances over the same database wait for the lease to lapse.
//! - **Head-of-line order**: an event is retried (backoff doubling from
//!   `first_retry` to `max_retry`) until it is delivered (2xx) or older
//!   than `retry_window`, then logged and skipped; later events wait for it.
//!   A slow or dead receiver delays only its own target.
//! - **At least once**: the position is stored after each delivered event,
//!   so a crash between a delivery and its write repeats that one event.
//!   `X-Webhook-Id` names the event and the receiving feed and is the same
//!   on every retry, from every instance, so receivers can drop repeats.
//! - **Signed**: `X-Signature` is the lowercase hex HMAC-SHA256 of the JSON
//!   body (before gzip) under the app's API secret; `X-Api-Key` names the app.
//! - **Push bridge**: `--push-webhook-url` is one more target (id `tributary-push`),
//!   delivered by the same worker with the same lease, order, retries and
//!   signature. Instead of the events it gets, for each event that pushes
//!   (`core::push`), one `push` event per recipient whose preferences allow
//!   it and who has devices, carrying those devices and the event itself;
//!   a new activity's followers asking `push_preference: all` are read a
//!   page at a time. Feed groups, devices and preferences are read at
//!   delivery.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::core::app::{self, WebhookTarget};
use crate::core::error::Result;
use crate::core::events::{Event, EventCursor};
use crate::core::model::Fid;
use crate::core::time::Timestamp;
use crate::core::Ctx;
use crate::core::{push, push_ops};
use crate::metrics;
use crate::shutdown::Shutdown;

use super::render::{render, Rendered};

/// A request's timeout when its target names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(6);
/// Events read (and rendered) per batch.
const BATCH: usize = 64;
/// The longest wait between two polls of the outbox (readers are woken by
/// event writes; see `dispatch`).
const MAX_POLL: Duration = Duration::from_millis(250);
/// How often progress over events no target wants is stored.
const SKIP_SAVE_EVERY: Duration = Duration::from_secs(1);
/// The push bridge's target id (and outbox consumer `webhook:push`).
pub const PUSH_TARGET_ID: &str = "tributary-push";
/// Namespace of the `X-Webhook-Id` UUIDs (v5, from target, event, feed).
const WEBHOOK_ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5e1f_2b7a_c4d9_4e3b_9a61_0f8d_7c2e_b4a1);

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sent as `X-Api-Key`.
    pub api_key: String,
    /// Signs every body.
    pub api_secret: String,
    /// A failing event is retried until it is this old, then skipped.
    pub retry_window: Duration,
    /// The wait before the first retry; it doubles up to `max_retry`.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// How long a claim on a target lasts unless renewed.
    pub lease: Duration,
    /// How often the targets are read from the app settings.
    pub refresh: Duration,
    /// The hosts (lowercase, as written in URLs) targets may name; `None`
    /// allows any. A target elsewhere gets nothing.
    pub allowed_hosts: Option<Vec<String>>,
    /// The push bridge's URL (`--push-webhook-url`); `None` pushes nothing.
    pub push_url: Option<String>,
}

impl Config {
    /// The defaults: retried for an hour, from 0.5 s doubling to 60 s; 30 s
    /// leases; targets re-read every 2 s.
    pub fn new(api_key: &str, api_secret: &str) -> Config {
        Config {
            api_key: api_key.to_string(),
            api_secret: api_secret.to_string(),
            retry_window: Duration::from_secs(3600),
            first_retry: Duration::from_millis(500),
            max_retry: Duration::from_secs(60),
            lease: Duration::from_secs(30),
            refresh: Duration::from_secs(2),
            allowed_hosts: None,
            push_url: None,
        }
    }
}

impl Config {
    /// Whether `url` names a host webhooks may go to.
    fn allows(&self, url: &str) -> bool {
        let Some(hosts) = &self.allowed_hosts else { return true };
        let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        host.is_some_and(|h| hosts.contains(&h))
    }
}

/// What every worker of this process shares.
struct Shared {
    ctx: Ctx,
    config: Config,
    /// This process's lease holder name.
    holder: String,
    http: reqwest::Client,
}

/// A running worker, as the supervisor sees it.
struct Running {
    target: watch::Sender<WebhookTarget>,
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// Reads the targets every `config.refresh` and keeps one worker per
/// target id running with its current settings, until `shutdown`; then
/// waits for the workers to give their leases back.
pub async fn run(ctx: Ctx, config: Config, shutdown: Shutdown) {
    let http = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tributary-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "webhooks are off: the HTTP client cannot be built");
            return;
        }
    };
    let holder = uuid::Uuid::new_v4().to_string();
    let shared = Arc::new(Shared { ctx, config, holder, http });
    let mut workers: HashMap<String, Running> = HashMap::new();
    let mut refused: HashSet<(String, String)> = HashSet::new();
    loop {
        match app::settings(&shared.ctx).await {
            Ok(settings) => {
                let mut targets = settings.webhook_targets();
                if let Some(url) = &shared.config.push_url {
                    targets.push(WebhookTarget {
                        id: PUSH_TARGET_ID.to_string(),
                        url: url.clone(),
                        event_types: Vec::new(),
                        timeout_ms: None,
                        compress: false,
                        push: true,
                    });
                }
                targets.retain(|t| {
                    let allowed = shared.config.allows(&t.url);
                    if !allowed && refused.insert((t.id.clone(), t.url.clone())) {
                        tracing::warn!(target = %t.id, url = %t.url, "webhook target not delivered: its host is not in --webhook-hosts");
                    }
                    allowed
                });
                reconcile(&shared, &shutdown, &mut workers, targets);
            }
            Err(e) => tracing::warn!(error = %e, "webhooks: cannot read the app settings"),
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.config.refresh) => {}
            _ = shutdown.wait() => break,
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    for (_, running) in workers {
        let _ = tokio::time::timeout_at(deadline, running.handle).await;
    }
}

/// Starts workers for new targets, updates changed ones, stops removed ones.
fn reconcile(
    shared: &Arc<Shared>,
    shutdown: &Shutdown,
    workers: &mut HashMap<String, Running>,
    targets: Vec<WebhookTarget>,
) {
    let mut wanted: HashMap<String, WebhookTarget> = HashMap::new();
    for target in targets {
        if wanted.contains_key(&target.id) {
            tracing::warn!(target = %target.id, "webhooks: two targets share an id; the first one is used");
            continue;
        }
        wanted.insert(target.id.clone(), target);
    }
    workers.retain(|id, running| {
        let keep = wanted.contains_key(id) && !running.handle.is_finished();
        if !keep {
            let _ = running.stop.send(true);
        }
        keep
    });
    for (id, target) in wanted {
        match workers.get(&id) {
            Some(running) => {
                running.target.send_if_modified(|current| {
                    let changed = *current != target;
                    if changed {
                        *current = target;
                    }
                    changed
                });
            }
            None => {
                let (target_tx, target_rx) = watch::channel(target);
                let (stop_tx, stop_rx) = watch::channel(false);
                let worker = Worker::new(shared.clone(), id.clone(), target_rx);
                let handle = tokio::spawn(worker.run(stop_rx, shutdown.clone()));
                workers.insert(id, Running { target: target_tx, stop: stop_tx, handle });
            }
        }
    }
}

/// The outbox consumer of target `id`.
fn consumer_name(id: &str) -> String {
    format!("webhook:{id}")
}

/// For each webhook target, how many events the outbox holds after its
/// stored position (`GET /metrics`): an upper bound, as events the target
/// does not want count until it passes them (at least every second) and
/// PostgreSQL sequences have gaps.
pub async fn backlog(ctx: &Ctx) -> Result<Vec<(String, i64)>> {
    let head = ctx.store.events_head().await?;
    let mut backlog = Vec::new();
    for target in app::settings(ctx).await?.webhook_targets() {
        if let Some(position) = ctx.store.consumer_position(&consumer_name(&target.id)).await? {
            backlog.push((target.id, (head.seq - position.seq).max(0)));
        }
    }
    Ok(backlog)
}

/// Delivers one target's events.
struct Worker {
    shared: Arc<Shared>,
    id: String,
    /// `webhook:<id>`: the outbox consumer holding the position and lease.
    consumer: String,
    target: watch::Receiver<WebhookTarget>,
    /// Whether this process holds the lease (as far as it knows).
    held: AtomicBool,
}

impl Worker {
    fn new(shared: Arc<Shared>, id: String, target: watch::Receiver<WebhookTarget>) -> Worker {
        let consumer = consumer_name(&id);
        Worker { shared, id, consumer, target, held: AtomicBool::new(false) }
    }

    /// Runs until the target is removed (`stop`) or the process stops.
    /// A removed target's position is forgotten; on shutdown the lease is
    /// given back so another instance takes over at once.
    async fn run(self, mut stop: watch::Receiver<bool>, shutdown: Shutdown) {
        let removed = tokio::select! {
            _ = self.claim_and_deliver() => false,
            _ = stop.wait_for(|s| *s) => true,
            _ = shutdown.wait() => false,
        };
        let store = &self.shared.ctx.store;
        let now = Timestamp::now();
        if removed {
            tracing::info!(target = %self.id, "webhook target removed: delivery stopped");
            if let Err(e) = store.forget_consumer(&self.consumer, &self.shared.holder, now).await {
                tracing::warn!(target = %self.id, error = %e, "webhooks: cannot forget a removed target");
            }
        } else if self.held.load(Ordering::SeqCst) {
            let _ = store.lease_consumer(&self.consumer, &self.shared.holder, now, Timestamp(0)).await;
        }
    }

    /// Takes the lease, delivers while it holds, and starts over when it is
    /// lost or the store fails. Never returns.
    async fn claim_and_deliver(&self) {
        let lease = self.shared.config.lease;
        let renew_every = lease / 3;
        loop {
            match self.lease().await {
                Ok(true) => {
                    self.held.store(true, Ordering::SeqCst);
                    tokio::select! {
                        result = self.deliver() => {
                            if let Err(e) = result {
                                tracing::warn!(target = %self.id, error = %e, "webhook delivery interrupted");
                            }
                        }
                        _ = self.keep_lease(renew_every) => {
                            tracing::info!(target = %self.id, "webhook target lease lost; another instance delivers it");
                        }
                    }
                    self.held.store(false, Ordering::SeqCst);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(target = %self.id, error = %e, "webhooks: cannot take the target's lease"),
            }
            tokio::time::sleep(renew_every).await;
        }
    }

    async fn lease(&self) -> Result<bool> {
        let now = Timestamp::now();
        let until = Timestamp(now.0.saturating_add(self.shared.config.lease.as_nanos() as i64));
        self.shared.ctx.store.lease_consumer(&self.consumer, &self.shared.holder, now, until).await
    }

    /// Renews the lease every `every`; returns when it is lost: taken by
    /// another holder, or not renewed for two thirds of its length.
    async fn keep_lease(&self, every: Duration) {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            match self.lease().await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(target = %self.id, error = %e, "webhooks: cannot renew the target's lease");
                    if renewed.elapsed() >= every * 2 {
                        return;
                    }
                }
            }
        }
    }

    /// Delivers events from the stored position (the newest event for a
    /// new target), storing progress; returns only on a store error.
    async fn deliver(&self) -> Result<()> {
        let store = &self.shared.ctx.store;
        let mut position = match store.consumer_position(&self.consumer).await? {
            Some(position) => position,
            None => {
                let head = store.events_head().await?;
                store.set_consumer_position(&self.consumer, head).await?;
                tracing::info!(target = %self.id, "webhook target added: delivering events from now on");
                head
            }
        };
        let mut saved = (position, Instant::now());
        let mut writes = store.event_writes();
        let mut writes_open = true;
        let mut idle = Duration::from_millis(2);
        loop {
            let batch = store.events_after(position, BATCH).await?;
            let Some(&(last, _)) = batch.last() else {
                if saved.0 != position {
                    store.set_consumer_position(&self.consumer, position).await?;
                    saved = (position, Instant::now());
                }
                tokio::select! {
                    changed = writes.changed(), if writes_open => writes_open = changed.is_ok(),
                    _ = tokio::time::sleep(idle) => {}
                }
                idle = (idle * 2).min(MAX_POLL);
                continue;
            };
            idle = Duration::from_millis(2);
            let target = self.target.borrow().clone();
            let wanted: Vec<(EventCursor, Event)> = batch.into_iter().filter(|(_, e)| wants(&target, e)).collect();
            if !wanted.is_empty() {
                for rendered in render(&self.shared.ctx, wanted).await? {
                    if target.push {
                        self.deliver_push(&rendered).await?;
                    } else {
                        self.deliver_event(&rendered).await;
                    }
                    position = rendered.cursor;
                    store.set_consumer_position(&self.consumer, position).await?;
                    saved = (position, Instant::now());
                }
            }
            position = last;
            if saved.0 != position && saved.1.elapsed() >= SKIP_SAVE_EVERY {
                store.set_consumer_position(&self.consumer, position).await?;
                saved = (position, Instant::now());
            }
        }
    }

    /// Sends one event: one request per feed it is about (one without a
    /// `fid` for user-scoped events), each retried until delivered or until
    /// the event is older than the retry window.
    async fn deliver_event(&self, rendered: &Rendered) {
        let event = &rendered.event;
        let mut fids: Vec<Option<&Fid>> = Vec::new();
        for fid in &event.fids {
            if !fids.contains(&Some(fid)) {
                fids.push(Some(fid));
            }
        }
        if fids.is_empty() {
            fids.push(None);
        }
        let window = self.shared.config.retry_window.as_nanos().min(i64::MAX as u128) as i64;
        let deadline = Timestamp(event.created_at.0.saturating_add(window));
        for fid in fids {
            let body = rendered.body(fid);
            let delivery = Delivery {
                id: webhook_id(&self.id, rendered.cursor, fid),
                signature: sign(&self.shared.config.api_secret, body.as_bytes()),
                gzipped: None,
                body,
            };
            self.send_with_retries(event, delivery, deadline).await;
        }
    }

    /// Sends the `push` events of one event: one per recipient with
    /// devices whose preferences let it through, each retried like any
    /// webhook; then, for a new activity, to the owners of the feeds
    /// following its feeds with `push_preference: all`, a page at a time.
    /// Devices and preferences are read now, at delivery.
    async fn deliver_push(&self, rendered: &Rendered) -> Result<()> {
        let ctx = &self.shared.ctx;
        let event = &rendered.event;
        let recipients = push_ops::recipients(ctx, event).await?;
        let targets = push_ops::post_targets(ctx, event).await?;
        if recipients.is_empty() && targets.is_empty() {
            return Ok(());
        }
        let payload: serde_json::Value =
            serde_json::from_str(&rendered.body(None)).map_err(crate::core::error::Error::internal)?;
        self.push_to(rendered, &payload, &recipients).await?;
        if targets.is_empty() {
            return Ok(());
        }
        for target in &targets {
            let mut after: Option<Fid> = None;
            loop {
                let page = ctx.store.push_followers(target, &targets, after.as_ref(), push_ops::FOLLOWER_PAGE).await?;
                let full = page.len() == push_ops::FOLLOWER_PAGE;
                after = page.last().map(|(fid, _)| fid.clone());
                let followers: Vec<push_ops::Recipient> = page
                    .into_iter()
                    .filter(|(_, owner)| {
                        Some(owner) != event.user_id.as_ref() && !recipients.iter().any(|r| &r.user_id == owner)
                    })
                    .map(|(_, owner)| push_ops::Recipient { user_id: owner, kind: "post".into() })
                    .collect();
                self.push_to(rendered, &payload, &followers).await?;
                if !full {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Sends `rendered`'s push (its wire `payload`) to each of `recipients`
    /// with devices whose preferences let it through.
    async fn push_to(
        &self,
        rendered: &Rendered,
        payload: &serde_json::Value,
        recipients: &[push_ops::Recipient],
    ) -> Result<()> {
        if recipients.is_empty() {
            return Ok(());
        }
        let ctx = &self.shared.ctx;
        let event = &rendered.event;
        let users: Vec<String> = recipients.iter().map(|r| r.user_id.clone()).collect();
        let devices = ctx.store.devices_of(&users).await?;
        let scopes: Vec<(String, String)> = users.iter().map(|u| (u.clone(), String::new())).collect();
        let preferences = ctx.store.push_preferences(&scopes).await?;
        let activity_type = event.subject.activity.as_ref().map(|a| a.kind.as_str());
        let now = Timestamp::now();
        let window = self.shared.config.retry_window.as_nanos().min(i64::MAX as u128) as i64;
        let deadline = Timestamp(event.created_at.0.saturating_add(window));
        for recipient in recipients {
            let theirs: Vec<crate::wire::DeviceResponse> =
                devices.iter().filter(|d| d.user_id == recipient.user_id).map(Into::into).collect();
            let prefs = preferences.iter().find(|p| p.user_id == recipient.user_id);
            if theirs.is_empty() || !push::allows(prefs, &recipient.kind, activity_type, now) {
                continue;
            }
            let body = serde_json::json!({
                "type": "push",
                "created_at": event.created_at,
                "push_type": recipient.kind,
                "receiver": {"id": recipient.user_id},
                "devices": theirs,
                "event": payload,
            })
            .to_string();
            let delivery = Delivery {
                id: push_id(rendered.cursor, &recipient.user_id),
                signature: sign(&self.shared.config.api_secret, body.as_bytes()),
                gzipped: None,
                body,
            };
            self.send_with_retries(event, delivery, deadline).await;
        }
        Ok(())
    }

    async fn send_with_retries(&self, event: &Event, mut delivery: Delivery, deadline: Timestamp) {
        let config = &self.shared.config;
        let mut wait = config.first_retry;
        let mut attempt: u32 = 1;
        loop {
            let target = self.target.borrow().clone();
            let failure = match self.send(&target, &mut delivery, attempt).await {
                Ok(()) => {
                    metrics::count(&metrics::WEBHOOK_DELIVERIES, vec![("outcome", "delivered".into())], 1);
                    return;
                }
                Err(failure) => failure,
            };
            metrics::count(&metrics::WEBHOOK_DELIVERIES, vec![("outcome", "failed".into())], 1);
            let now = Timestamp::now();
            if now >= deadline {
                metrics::count(&metrics::WEBHOOK_DELIVERIES, vec![("outcome", "skipped".into())], 1);
                tracing::warn!(
                    target = %self.id, webhook_id = %delivery.id, event = event.kind.as_str(), attempts = attempt,
                    error = %failure, "webhook event skipped: not delivered within the retry window"
                );
                return;
            }
            if attempt == 1 {
                tracing::warn!(
                    target = %self.id, webhook_id = %delivery.id, event = event.kind.as_str(), error = %failure,
                    "webhook delivery failed; retrying"
                );
            } else {
                tracing::debug!(
                    target = %self.id, webhook_id = %delivery.id, attempt, error = %failure, "webhook retry failed"
                );
            }
            let left = Duration::from_nanos(u64::try_from(deadline.0 - now.0).unwrap_or(0));
            tokio::time::sleep(wait.min(left)).await;
            wait = (wait * 2).min(config.max_retry);
            attempt = attempt.saturating_add(1);
        }
    }

    /// One POST; Ok on a 2xx answer.
    async fn send(
        &self,
        target: &WebhookTarget,
        delivery: &mut Delivery,
        attempt: u32,
    ) -> std::result::Result<(), String> {
        let timeout = target.timeout_ms.map_or(DEFAULT_TIMEOUT, |ms| Duration::from_millis(ms.into()));
        let mut request = self
            .shared
            .http
            .post(&target.url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Signature", &delivery.signature)
            .header("X-Api-Key", &self.shared.config.api_key)
            .header("X-Webhook-Id", &delivery.id)
            .header("X-Webhook-Attempt", attempt.to_string());
        request = if target.compress {
            let gzipped = match &delivery.gzipped {
                Some(bytes) => bytes.clone(),
                None => {
                    let bytes = bytes::Bytes::from(gzip(delivery.body.as_bytes()).map_err(|e| e.to_string())?);
                    delivery.gzipped = Some(bytes.clone());
                    bytes
                }
            };
            request.header(reqwest::header::CONTENT_ENCODING, "gzip").body(gzipped)
        } else {
            request.body(delivery.body.clone())
        };
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {status}"))
        }
    }
}

/// One request's fixed parts: the same on every attempt.
struct Delivery {
    id: String,
    body: String,
    signature: String,
    gzipped: Option<bytes::Bytes>,
}

/// Whether `target` gets `event`: the push bridge every event that may
/// push; the others the event types they asked for.
fn wants(target: &WebhookTarget, event: &Event) -> bool {
    if target.push {
        return push_ops::may_push(event);
    }
    event.kind.for_webhooks()
        && (target.event_types.is_empty() || target.event_types.iter().any(|t| t == event.kind.as_str()))
}

/// `X-Webhook-Id`: the same for an event's delivery to one feed of one
/// target whenever and wherever it is sent.
fn webhook_id(target: &str, cursor: EventCursor, fid: Option<&Fid>) -> String {
    let name = format!("{target}\n{}\n{}\n{}", cursor.tx, cursor.seq, fid.map(Fid::to_string).unwrap_or_default());
    uuid::Uuid::new_v5(&WEBHOOK_ID_NAMESPACE, name.as_bytes()).to_string()
}

/// `X-Webhook-Id` of a push: the same for one event's push to one user.
fn push_id(cursor: EventCursor, user: &str) -> String {
    let name = format!("{PUSH_TARGET_ID}\n{}\n{}\n{user}", cursor.tx, cursor.seq);
    uuid::Uuid::new_v5(&WEBHOOK_ID_NAMESPACE, name.as_bytes()).to_string()
}

/// Lowercase hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), flate2::Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

/// An error and its causes ("connection refused" sits a few levels down).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_lowercase_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn webhook_ids_are_stable_per_event_target_and_feed() {
        let cursor = EventCursor { tx: 7, seq: 42 };
        let fid = Fid::parse("user:alice").expect("fid");
        let other = Fid::parse("user:bob").expect("fid");
        let id = webhook_id("main", cursor, Some(&fid));
        assert_eq!(id, webhook_id("main", cursor, Some(&fid)));
        assert_ne!(id, webhook_id("main", cursor, Some(&other)));
        assert_ne!(id, webhook_id("other", cursor, Some(&fid)));
        assert_ne!(id, webhook_id("main", EventCursor { tx: 7, seq: 43 }, Some(&fid)));
        assert_ne!(id, webhook_id("main", cursor, None));
    }

    #[test]
    fn only_listed_hosts_are_allowed() {
        let mut config = Config::new("k", "s");
        assert!(config.allows("https://anywhere.example/x"));
        config.allowed_hosts = Some(vec!["127.0.0.1".into(), "hooks.example".into(), "[::1]".into()]);
        for ok in ["http://127.0.0.1:9000/h", "https://HOOKS.example/x", "http://[::1]:80/"] {
            assert!(config.allows(ok), "{ok}");
        }
        for refused in ["http://127.0.0.2/", "https://evil.example/", "http://hooks.example.evil/", "not a url"] {
            assert!(!config.allows(refused), "{refused}");
        }
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let body = br#"{"type":"feeds.activity.added"}"#;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gzip(body).expect("gzip")[..]).read_to_end(&mut out).expect("gunzip");
        assert_eq!(out, body);
    }
}
