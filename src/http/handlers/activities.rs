use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::activities::{self, ActivityChange, ActivityPatch, ActivityUpdate, NewActivity, QueryActivities};
use crate::core::comments;
use crate::core::enrichment::Lookup;
use crate::core::feedback::{self, ActivityFeedback, MetricResult, TrackMetrics};
use crate::core::model::Activity;
use crate::core::storage::Reader;
use crate::core::Ctx;
use crate::http::auth::{Auth, ServerAuth, Visitor};
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WireLanguage, WirePath, WireQuery};
use crate::http::handlers::ActingUser;
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;
use crate::wire::{ActivityResponse, ShareResponse};

#[derive(Serialize)]
pub struct ActivityBody {
    activity: ActivityResponse,
}

async fn activity_body(ctx: &Ctx, activity: Activity, reader: &Reader) -> ApiResult<Reply<ActivityBody>> {
    let lookup = Lookup::load(ctx, std::slice::from_ref(&activity), &[], &[], reader).await?;
    Ok(Reply(ActivityBody { activity: lookup.activity(&activity, None) }))
}

#[derive(Deserialize, Default)]
pub struct GetActivityParams {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    comment_sort: Option<String>,
    #[serde(default)]
    comment_limit: Option<i64>,
}

#[derive(Serialize)]
pub struct AddActivityResponse {
    activity: ActivityResponse,
    mention_notifications_created: i64,
}

/// AddActivity — `POST /api/v2/feeds/activities` (an existing id updates).
pub async fn add_activity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<NewActivity>,
) -> ApiResult<Reply<AddActivityResponse>> {
    let added = activities::add_activity(&state.ctx, &actor, req).await?;
    let reader = actor.reader(added.activities.first().map(|a| a.user_id.as_str()));
    let lookup = Lookup::load(&state.ctx, &added.activities, &[], &[], &reader).await?;
    let activity = added.activities.first().map(|a| lookup.activity(a, None));
    Ok(Reply(AddActivityResponse {
        activity: activity.ok_or_else(|| crate::core::error::Error::internal("add returned no activity"))?,
        mention_notifications_created: added.mention_notifications_created,
    }))
}

#[derive(Deserialize)]
pub struct UpsertActivitiesRequest {
    activities: Vec<NewActivity>,
    #[serde(default)]
    create_users: bool,
}

#[derive(Serialize)]
pub struct UpsertActivitiesResponse {
    activities: Vec<ActivityResponse>,
    mention_notifications_created: i64,
}

/// UpsertActivities — `POST /api/v2/feeds/activities/batch`.
pub async fn upsert_activities(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<UpsertActivitiesRequest>,
) -> ApiResult<Reply<UpsertActivitiesResponse>> {
    let saved = activities::upsert_activities(&state.ctx, &actor, req.activities, req.create_users).await?;
    let lookup = Lookup::load(&state.ctx, &saved.activities, &[], &[], &actor.reader(None)).await?;
    Ok(Reply(UpsertActivitiesResponse {
        activities: saved.activities.iter().map(|a| lookup.activity(a, None)).collect(),
        mention_notifications_created: saved.mention_notifications_created,
    }))
}

/// GetActivity — `GET /api/v2/feeds/activities/{id}`.
pub async fn get_activity(
    State(state): State<AppState>,
    Visitor(actor): Visitor,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<GetActivityParams>,
    WireLanguage(language): WireLanguage,
) -> ApiResult<Reply<ActivityBody>> {
    let activity = activities::read_activity(&state.ctx, &actor, &id).await?;
    actor.may_name(q.user_id.as_deref())?;
    let reader = actor.reader(q.user_id.as_deref());
    let mut lookup = Lookup::load(&state.ctx, std::slice::from_ref(&activity), &[], &[], &reader).await?;
    lookup.add_story_watches(&state.ctx, reader.viewer.as_deref(), std::slice::from_ref(&activity)).await?;
    lookup.language = language;
    if q.comment_sort.is_some() || q.comment_limit.is_some() {
        let embedded = comments::embedded_comments(&state.ctx, &id, q.comment_sort.as_deref(), q.comment_limit).await?;
        let extra = Lookup::for_comments(&state.ctx, &embedded, reader.viewer.as_deref()).await?;
        lookup.users.extend(extra.users);
        lookup.comment_reactions.extend(extra.comment_reactions);
        lookup.comment_bookmarks.extend(extra.comment_bookmarks);
        lookup.latest_comments.insert(id, embedded);
    }
    Ok(Reply(ActivityBody { activity: lookup.activity(&activity, None) }))
}

/// UpdateActivity — `PUT /api/v2/feeds/activities/{id}` (full replacement).
pub async fn update_activity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<ActivityUpdate>,
) -> ApiResult<Reply<ActivityBody>> {
    let editor = actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let activity = activities::update_activity(&state.ctx, &actor, &id, req).await?;
    let reader = actor.reader(Some(editor.as_deref().unwrap_or(&activity.user_id)));
    activity_body(&state.ctx, activity.clone(), &reader).await
}

/// UpdateActivityPartial — `PATCH /api/v2/feeds/activities/{id}`.
pub async fn update_activity_partial(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<ActivityPatch>,
) -> ApiResult<Reply<ActivityBody>> {
    let editor = actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let activity = activities::update_activity_partial(&state.ctx, &actor, &id, req).await?;
    let reader = actor.reader(Some(editor.as_deref().unwrap_or(&activity.user_id)));
    activity_body(&state.ctx, activity.clone(), &reader).await
}

#[derive(Deserialize, Default)]
pub struct DeleteActivityParams {
    #[serde(default)]
    hard_delete: bool,
    #[serde(default)]
    delete_notification_activity: bool,
}

/// DeleteActivity — `DELETE /api/v2/feeds/activities/{id}`.
pub async fn delete_activity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<DeleteActivityParams>,
) -> ApiResult<Reply<Empty>> {
    activities::delete_activity(&state.ctx, &actor, &id, q.hard_delete, q.delete_notification_activity).await?;
    Ok(Reply(Empty {}))
}

/// RestoreActivity — `POST /api/v2/feeds/activities/{id}/restore`.
pub async fn restore_activity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<ActingUser>,
) -> ApiResult<Reply<ActivityBody>> {
    let editor = actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let activity = activities::restore_activity(&state.ctx, &actor, &id).await?;
    let reader = actor.reader(Some(editor.as_deref().unwrap_or(&activity.user_id)));
    activity_body(&state.ctx, activity.clone(), &reader).await
}

#[derive(Deserialize)]
pub struct DeleteActivitiesRequest {
    ids: Vec<String>,
    #[serde(default)]
    hard_delete: bool,
    #[serde(default)]
    delete_notification_activity: bool,
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Serialize)]
pub struct DeleteActivitiesResponse {
    deleted_ids: Vec<String>,
}

/// DeleteActivities — `POST /api/v2/feeds/activities/delete`.
pub async fn delete_activities(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<DeleteActivitiesRequest>,
) -> ApiResult<Reply<DeleteActivitiesResponse>> {
    actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let deleted_ids =
        activities::delete_activities(&state.ctx, &actor, req.ids, req.hard_delete, req.delete_notification_activity)
            .await?;
    Ok(Reply(DeleteActivitiesResponse { deleted_ids }))
}

#[derive(Deserialize)]
pub struct UpdateActivitiesPartialBatchRequest {
    changes: Vec<ActivityChange>,
}

#[derive(Serialize)]
pub struct UpdateActivitiesPartialBatchResponse {
    activities: Vec<ActivityResponse>,
}

/// UpdateActivitiesPartialBatch — `PATCH /api/v2/feeds/activities/batch/partial` (server-side).
pub async fn update_activities_partial_batch(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<UpdateActivitiesPartialBatchRequest>,
) -> ApiResult<Reply<UpdateActivitiesPartialBatchResponse>> {
    let updated = activities::update_activities_partial_batch(&state.ctx, req.changes).await?;
    let lookup = Lookup::load(&state.ctx, &updated, &[], &[], &Reader::default()).await?;
    Ok(Reply(UpdateActivitiesPartialBatchResponse {
        activities: updated.iter().map(|a| lookup.activity(a, None)).collect(),
    }))
}

#[derive(Serialize)]
pub struct ActivityFeedbackResponse {
    activity_id: String,
}

/// ActivityFeedback — `POST /api/v2/feeds/activities/{activity_id}/feedback`.
pub async fn activity_feedback(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(activity_id): WirePath<String>,
    WireJson(req): WireJson<ActivityFeedback>,
) -> ApiResult<Reply<ActivityFeedbackResponse>> {
    feedback::activity_feedback(&state.ctx, &actor, &activity_id, req).await?;
    Ok(Reply(ActivityFeedbackResponse { activity_id }))
}

#[derive(Serialize)]
pub struct TrackActivityMetricsResponse {
    results: Vec<MetricResult>,
}

/// TrackActivityMetrics — `POST /api/v2/feeds/activities/metrics/track`.
pub async fn track_activity_metrics(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<TrackMetrics>,
) -> ApiResult<Reply<TrackActivityMetricsResponse>> {
    let results = feedback::track_activity_metrics(&state.ctx, &actor, req).await?;
    Ok(Reply(TrackActivityMetricsResponse { results }))
}

#[derive(Deserialize, Default)]
pub struct SharesParams {
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    prev: Option<String>,
}

#[derive(Serialize)]
pub struct QueryActivitySharesResponse {
    shares: Vec<ShareResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryActivityShares — `GET /api/v2/feeds/activities/{activity_id}/shares`.
pub async fn query_activity_shares(
    State(state): State<AppState>,
    Auth(_): Auth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<SharesParams>,
) -> ApiResult<Reply<QueryActivitySharesResponse>> {
    let page = activities::activity_shares(&state.ctx, &id, q.limit, &q.next, &q.prev).await?;
    let users: Vec<String> = page.items.iter().map(|a| a.user_id.clone()).collect();
    let lookup = Lookup::users(&state.ctx, &users).await?;
    Ok(Reply(QueryActivitySharesResponse {
        shares: page
            .items
            .iter()
            .map(|a| ShareResponse {
                activity_id: a.id.clone(),
                user: lookup.user(&a.user_id),
                created_at: a.created_at,
            })
            .collect(),
        next: page.next,
        prev: page.prev,
    }))
}

#[derive(Serialize)]
pub struct QueryActivitiesResponse {
    activities: Vec<ActivityResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryActivities — `POST /api/v2/feeds/activities/query`.
pub async fn query_activities(
    State(state): State<AppState>,
    Visitor(actor): Visitor,
    WireLanguage(language): WireLanguage,
    WireJson(req): WireJson<QueryActivities>,
) -> ApiResult<Reply<QueryActivitiesResponse>> {
    actor.may_name(req.user_id.as_deref())?;
    let reader = actor.reader(req.user_id.as_deref());
    let (found, next, prev) = activities::query_activities(&state.ctx, &actor, req).await?;
    let mut lookup = Lookup::load(&state.ctx, &found, &[], &[], &reader).await?;
    lookup.add_story_watches(&state.ctx, reader.viewer.as_deref(), &found).await?;
    lookup.language = language;
    Ok(Reply(QueryActivitiesResponse {
        activities: found.iter().map(|a| lookup.activity(a, None)).collect(),
        next,
        prev,
    }))
}

#[derive(Deserialize)]
pub struct TranslateRequest {
    pub language: String,
}

/// TranslateActivity — `POST /api/v2/feeds/activities/{id}/translate`.
pub async fn translate_activity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<TranslateRequest>,
) -> ApiResult<Reply<ActivityBody>> {
    let activity = crate::core::translation::translate_activity(&state.ctx, &actor, &id, &req.language).await?;
    activity_body(&state.ctx, activity, &actor.reader(None)).await
}
