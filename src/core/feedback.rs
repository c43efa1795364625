//! Per-user signals on activities: feedback (hide, show more/less) and
//! counted metrics (views, clicks…).

use serde::{Deserialize, Serialize};

use super::activities::get_activity;
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::model::{Feedback, MetricEvent};
use super::time::Timestamp;
use super::{users, Actor, Ctx};
use crate::core::storage::ExtraWrites;

#[derive(Debug, Deserialize, Default)]
pub struct ActivityFeedback {
    #[serde(default)]
    pub hide: Option<bool>,
    #[serde(default)]
    pub show_more: Option<bool>,
    #[serde(default)]
    pub show_less: Option<bool>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// Records the user's feedback; `hide: true` removes the activity from that
/// user's feed reads and marks it `hidden` for them, `hide: false` undoes it.
/// Each action given is announced to that user alone as a
/// `feeds.activity.feedback` event (`ActivityFeedbackEventPayload`), in the
/// same transaction.
pub async fn activity_feedback(ctx: &Ctx, actor: &Actor, activity_id: &str, req: ActivityFeedback) -> Result<()> {
    if req.hide.is_none() && req.show_more.is_none() && req.show_less.is_none() {
        return Err(Error::input("give at least one of hide, show_more, show_less"));
    }
    let user_id = actor.acting_user(req.user_id.as_deref())?;
    get_activity(ctx, activity_id).await?;
    let feedback = Feedback { hide: req.hide, show_more: req.show_more, show_less: req.show_less };
    let now = Timestamp::now();
    let actions = [("hide", req.hide), ("show_more", req.show_more), ("show_less", req.show_less)];
    let events = actions
        .into_iter()
        .filter_map(|(action, value)| Some((action, value?)))
        .map(|(action, value)| {
            // `user` is filled in when the event is rendered.
            let payload = serde_json::json!({
                "activity_id": activity_id,
                "action": action,
                "value": value.to_string(),
                "created_at": now,
                "updated_at": now,
            });
            Event::for_user(EventType::ActivityFeedback, &user_id)
                .with(|s| _ = s.fields.insert("activity_feedback".into(), payload))
        })
        .collect();
    let extra = ExtraWrites { events, ..Default::default() };
    ctx.store.set_feedback_with(&user_id, activity_id, &feedback, now, &extra).await
}

#[derive(Debug, Deserialize)]
pub struct MetricEventInput {
    pub activity_id: String,
    pub metric: String,
    #[serde(default)]
    pub delta: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct TrackMetrics {
    pub events: Vec<MetricEventInput>,
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MetricResult {
    pub activity_id: String,
    pub metric: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn valid_metric(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Counts metric events (1..100). A malformed request fails as a whole; an
/// event on an unknown activity or over the user's quota is reported in its
/// result (`allowed: false`), the others still count.
pub async fn track_activity_metrics(ctx: &Ctx, actor: &Actor, req: TrackMetrics) -> Result<Vec<MetricResult>> {
    if req.events.is_empty() || req.events.len() > 100 {
        return Err(Error::field("events", "events must contain between 1 and 100 events"));
    }
    if let Some(bad) = req.events.iter().find(|e| !valid_metric(&e.metric)) {
        return Err(Error::field("metric", format!("metric {:?} must be 1 to 64 letters, digits or _", bad.metric)));
    }
    let user_id = actor.acting_user(req.user_id.as_deref())?;
    users::ensure_users(ctx, std::slice::from_ref(&user_id)).await?;
    let ids: Vec<String> = req.events.iter().map(|e| e.activity_id.clone()).collect();
    let live: Vec<String> =
        ctx.store.get_activities(&ids).await?.into_iter().filter(|a| a.deleted_at.is_none()).map(|a| a.id).collect();
    let counted: Vec<MetricEvent> = req
        .events
        .iter()
        .filter(|e| live.contains(&e.activity_id))
        .map(|e| MetricEvent {
            activity_id: e.activity_id.clone(),
            metric: e.metric.clone(),
            delta: e.delta.unwrap_or(1),
            user_id: user_id.clone(),
        })
        .collect();
    let mut allowed = ctx.store.add_metrics(&counted, Timestamp::now()).await?.into_iter();
    Ok(req
        .events
        .into_iter()
        .map(|e| {
            let (allowed, error) = if live.contains(&e.activity_id) {
                match allowed.next() {
                    Some(true) => (true, None),
                    _ => (false, Some("rate limited: too many events for this activity and metric".to_string())),
                }
            } else {
                (false, Some(format!("activity {} does not exist", e.activity_id)))
            };
            MetricResult { activity_id: e.activity_id, metric: e.metric, allowed, error }
        })
        .collect())
}
