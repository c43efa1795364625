//! Pins: activities held at the top of a feed by its owner. A new pin
//! emits `feeds.activity.pinned`, a removed one `feeds.activity.unpinned`,
//! in the pinned feed only, in the pin's transaction.

use std::collections::HashMap;

use super::activities::get_activity;
use super::cursor::Page;
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::feeds::get_live_feed;
use super::filter::{self, Filter};
use super::model::{Activity, Fid, Pin};
use super::time::Timestamp;
use super::{Actor, Ctx, QueryRequest};
use crate::core::storage::{ExtraWrites, ListQuery};

/// How many pins a feed read embeds in `pinned_activities`.
pub const PINS_PER_READ: usize = 10;

async fn check_owner(ctx: &Ctx, actor: &Actor, fid: &Fid) -> Result<()> {
    let feed = get_live_feed(ctx, fid).await?;
    match actor {
        Actor::Anonymous => Err(Actor::anonymous_refused()),
        Actor::User(me) if &feed.created_by != me => {
            Err(Error::not_allowed(format!("only the owner of feed {fid} can pin or unpin activities")))
        }
        _ => Ok(()),
    }
}

pub async fn pin_activity(
    ctx: &Ctx,
    actor: &Actor,
    fid: &Fid,
    activity_id: &str,
    user_id: Option<&str>,
) -> Result<(Pin, Activity)> {
    let user_id = actor.acting_user(user_id)?;
    check_owner(ctx, actor, fid).await?;
    let activity = get_activity(ctx, activity_id).await?;
    if !activity.feeds.contains(fid) {
        return Err(Error::field("activity_id", format!("activity {activity_id} is not in feed {fid}")));
    }
    let now = Timestamp::now();
    let pin = Pin { fid: fid.clone(), activity_id: activity.id.clone(), user_id, created_at: now, updated_at: now };
    let each = Some(Event::about_activity_in(EventType::ActivityPinned, None, &activity, []));
    Ok((ctx.store.insert_pin_with(&pin, &ExtraWrites { each, ..Default::default() }).await?, activity))
}

pub async fn unpin_activity(ctx: &Ctx, actor: &Actor, fid: &Fid, activity_id: &str) -> Result<(Pin, Activity)> {
    check_owner(ctx, actor, fid).await?;
    let activity = get_activity(ctx, activity_id).await?;
    // Server-side, the unpin is attributed to whoever pinned (`Item::Pin`).
    let by = match actor {
        Actor::User(me) => Some(me.as_str()),
        // `check_owner` refused an anonymous caller.
        Actor::Server | Actor::Anonymous => None,
    };
    let each = Some(Event::about_activity_in(EventType::ActivityUnpinned, by, &activity, []));
    let pin = ctx
        .store
        .delete_pin_with(fid, activity_id, &ExtraWrites { each, ..Default::default() })
        .await?
        .ok_or_else(|| Error::not_found("pin", &format!("{activity_id} in {fid}")))?;
    Ok((pin, activity))
}

/// Pins of a feed with their (live) activities, newest pin first.
pub struct PinnedPage {
    pub pins: Page<Pin>,
    pub activities: HashMap<String, Activity>,
}

pub async fn query_pinned_activities(ctx: &Ctx, fid: &Fid, q: QueryRequest) -> Result<PinnedPage> {
    get_live_feed(ctx, fid).await?;
    let cursors = ctx.cursor_scope("QueryPinnedActivities").bind(&fid.to_string());
    let (mut query, window) = q.list(cursors, filter::PIN_FIELDS, filter::PIN_SORT, ("created_at", true))?;
    query.filter = query.filter.and(Filter::eq("fid", fid.to_string()));
    with_activities(ctx, window.page(ctx.store.query_pins(&query).await?)).await
}

/// The newest pins of a feed, for a feed read.
pub async fn feed_pins(ctx: &Ctx, fid: &Fid) -> Result<PinnedPage> {
    let query = ListQuery {
        filter: Filter::eq("fid", fid.to_string()),
        sort: vec![("created_at", true)],
        limit: PINS_PER_READ,
        offset: 0,
    };
    let pins = Page { items: ctx.store.query_pins(&query).await?, next: None, prev: None };
    with_activities(ctx, pins).await
}

async fn with_activities(ctx: &Ctx, pins: Page<Pin>) -> Result<PinnedPage> {
    let ids: Vec<String> = pins.items.iter().map(|p| p.activity_id.clone()).collect();
    let activities = ctx
        .store
        .get_activities(&ids)
        .await?
        .into_iter()
        .filter(|a| a.deleted_at.is_none())
        .map(|a| (a.id.clone(), a))
        .collect();
    Ok(PinnedPage { pins, activities })
}
