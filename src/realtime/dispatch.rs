//! Reads the outbox in order and hands each event to the connections that
//! should see it. Every process runs one dispatcher over the shared store,
//! so a write on any instance reaches the connections of all of them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::core::events::{Event, EventCursor, EventType};
use crate::core::model::Fid;
use crate::core::time::Timestamp;
use crate::core::Ctx;
use crate::shutdown::Shutdown;

use super::hub::{Frame, Hub};
use super::render::{render, Rendered};

/// Events read per batch.
const BATCH: usize = 256;
/// How long events are kept for late readers (webhook retries) before the
/// outbox is pruned.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// The longest wait between two polls of the outbox. Readers are woken at
/// once by event writes; polling covers events that were not yet settled
/// when the wake-up came (PostgreSQL, `store::dialect::events_settled`).
const MAX_POLL: Duration = Duration::from_millis(250);

pub async fn run(ctx: Ctx, hub: Arc<Hub>, shutdown: Shutdown) {
    let mut writes = ctx.store.event_writes();
    let mut cursor = loop {
        match ctx.store.events_head().await {
            Ok(head) => break head,
            Err(e) => {
                tracing::warn!(error = %e, "event dispatcher cannot read the outbox head");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait() => return,
                }
            }
        }
    };
    let mut idle_wait = Duration::from_millis(2);
    loop {
        match drain(&ctx, &hub, &mut cursor).await {
            Ok(true) => idle_wait = Duration::from_millis(2),
            Ok(false) => idle_wait = (idle_wait * 2).min(MAX_POLL),
            Err(e) => {
                tracing::warn!(error = %e, "event dispatch failed");
                idle_wait = MAX_POLL;
            }
        }
        tokio::select! {
            _ = writes.changed() => idle_wait = Duration::from_millis(2),
            _ = tokio::time::sleep(idle_wait) => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// Delivers every settled event after `cursor`; true when there were some.
async fn drain(ctx: &Ctx, hub: &Hub, cursor: &mut EventCursor) -> crate::core::error::Result<bool> {
    let mut any = false;
    loop {
        let batch = ctx.store.events_after(*cursor, BATCH).await?;
        let Some((last, _)) = batch.last() else { return Ok(any) };
        *cursor = *last;
        any = true;
        let full = batch.len() == BATCH;
        if !hub.is_empty() {
            let (control, batch): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(_, e)| e.kind.is_internal());
            control.iter().for_each(|(_, e)| apply_control(hub, e));
            let wanted: Vec<_> = batch.into_iter().filter(|(_, e)| wanted(hub, e)).collect();
            if !wanted.is_empty() {
                let rendered = render(ctx, wanted).await?;
                deliver(ctx, hub, &rendered).await?;
            }
        }
        if !full {
            return Ok(true);
        }
    }
}

/// A watch or unwatch made through another process, for a connection of
/// this one.
fn apply_control(hub: &Hub, event: &Event) {
    let Some(connection) = event.subject.fields.get("connection_id").and_then(|c| c.as_str()) else { return };
    if !hub.owns(connection) {
        return;
    }
    let caller = event.audience.as_deref();
    let applied = match event.kind {
        EventType::Watch => hub.watch(connection, caller, &event.fids),
        _ => event.fids.iter().try_for_each(|fid| hub.unwatch(connection, caller, fid)),
    };
    if let Err(e) = applied {
        tracing::debug!(connection, error = ?e, "a forwarded watch did not apply");
    }
}

/// Whether any connection here could receive `event` (cheap, before
/// rendering).
fn wanted(hub: &Hub, event: &Event) -> bool {
    if event.fan_out {
        return true;
    }
    if event.fids.is_empty() {
        return event.audience.as_deref().is_some_and(|u| hub.has_user(u));
    }
    event.fids.iter().any(|f| hub.is_watched(f))
}

async fn deliver(ctx: &Ctx, hub: &Hub, rendered: &[Rendered]) -> crate::core::error::Result<()> {
    let receivers = fan_out_receivers(ctx, hub, rendered).await?;
    for r in rendered {
        let event = &r.event;
        let audience = event.audience.as_deref();
        if event.fids.is_empty() {
            if let Some(user) = audience {
                let frame: Frame = Arc::from(r.body(None));
                hub.send_to_user(user, &frame);
            }
            continue;
        }
        let mut feeds: Vec<&Fid> = event.fids.iter().collect();
        if event.fan_out {
            for fid in &event.fids {
                feeds.extend(receivers.get(fid).into_iter().flatten());
            }
        }
        let mut seen = HashSet::new();
        for fid in feeds {
            if seen.insert(fid) && hub.is_watched(fid) {
                let frame: Frame = Arc::from(r.body(Some(fid)));
                hub.send_to_watchers(fid, audience, &frame);
            }
        }
    }
    Ok(())
}

/// For fanned-out events: which watched feeds follow each origin feed.
async fn fan_out_receivers(
    ctx: &Ctx,
    hub: &Hub,
    rendered: &[Rendered],
) -> crate::core::error::Result<HashMap<Fid, Vec<Fid>>> {
    let origins: HashSet<Fid> =
        rendered.iter().filter(|r| r.event.fan_out).flat_map(|r| r.event.fids.iter().cloned()).collect();
    if origins.is_empty() {
        return Ok(HashMap::new());
    }
    let watched = hub.watched();
    if watched.is_empty() {
        return Ok(HashMap::new());
    }
    let origins: Vec<Fid> = origins.into_iter().collect();
    let mut out: HashMap<Fid, Vec<Fid>> = HashMap::new();
    for (target, source) in ctx.store.followers_among(&origins, &watched).await? {
        out.entry(target).or_default().push(source);
    }
    Ok(out)
}

/// Removes outbox events older than `RETENTION`, every few minutes.
pub async fn prune(ctx: Ctx, shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(300)) => {}
            _ = shutdown.wait() => return,
        }
        let before = Timestamp(Timestamp::now().0 - RETENTION.as_nanos() as i64);
        loop {
            match ctx.store.prune_events(before).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning the event outbox failed");
                    break;
                }
            }
        }
    }
}
