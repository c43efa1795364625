use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::error::Error;
use crate::core::interests;
use crate::core::users::{self, DeleteUsers, QueryUsers, UserInput, UserPatch};
use crate::http::auth::{AnyCaller, Auth, ServerAuth, Visitor};
use crate::http::error::ApiResult;
use crate::http::extract::{parse_json, WireJson, WirePath, WireQuery};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::{FullUserResponse, GetUserInterestsResponse, InterestTagResponse};

#[derive(Deserialize)]
pub struct UpdateUsersRequest {
    users: BTreeMap<String, UserInput>,
}

#[derive(Serialize)]
pub struct UpdateUsersResponse {
    users: BTreeMap<String, FullUserResponse>,
    membership_deletion_task_id: String,
}

fn users_response(users: Vec<crate::core::model::User>) -> UpdateUsersResponse {
    UpdateUsersResponse {
        users: users.iter().map(|u| (u.id.clone(), u.into())).collect(),
        membership_deletion_task_id: String::new(),
    }
}

/// UpdateUsers — `POST /api/v2/users` (upsert; a full replacement per user).
pub async fn update_users(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<UpdateUsersRequest>,
) -> ApiResult<Reply<UpdateUsersResponse>> {
    let mut inputs = Vec::with_capacity(req.users.len());
    for (key, mut user) in req.users {
        if user.id.is_empty() {
            user.id = key.clone();
        }
        if user.id != key {
            return Err(Error::field("users", format!("user key {key:?} does not match its id {:?}", user.id)).into());
        }
        inputs.push(user);
    }
    let users = users::update_users(&state.ctx, &actor, inputs).await?;
    Ok(Reply(users_response(users)))
}

#[derive(Deserialize)]
pub struct UpdateUsersPartialRequest {
    users: Vec<UserPatch>,
}

/// UpdateUsersPartial — `PATCH /api/v2/users`.
pub async fn update_users_partial(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<UpdateUsersPartialRequest>,
) -> ApiResult<Reply<UpdateUsersResponse>> {
    let users = users::update_users_partial(&state.ctx, &actor, req.users).await?;
    Ok(Reply(users_response(users)))
}

#[derive(Deserialize)]
pub struct QueryUsersParams {
    payload: Option<String>,
}

#[derive(Serialize)]
pub struct QueryUsersResponse {
    users: Vec<FullUserResponse>,
}

/// QueryUsers — `GET /api/v2/users?payload={json}`. Anonymous callers may
/// list users too, as on Stream (its client tests query users anonymously).
pub async fn query_users(
    State(state): State<AppState>,
    Visitor(_): Visitor,
    WireQuery(params): WireQuery<QueryUsersParams>,
) -> ApiResult<Reply<QueryUsersResponse>> {
    let query: QueryUsers = match params.payload.as_deref() {
        Some(p) if !p.is_empty() => parse_json(p.as_bytes())?,
        _ => QueryUsers::default(),
    };
    let users = users::query_users(&state.ctx, query).await?;
    Ok(Reply(QueryUsersResponse { users: users.iter().map(Into::into).collect() }))
}

#[derive(Serialize)]
pub struct TaskStarted {
    pub task_id: String,
}

/// DeleteUsers — `POST /api/v2/users/delete` (async; returns a task).
pub async fn delete_users(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<DeleteUsers>,
) -> ApiResult<Reply<TaskStarted>> {
    let task_id = users::delete_users(&state.ctx, req).await?;
    Ok(Reply(TaskStarted { task_id }))
}

#[derive(Deserialize)]
pub struct CreateGuestRequest {
    user: UserInput,
}

#[derive(Serialize)]
pub struct CreateGuestResponse {
    user: FullUserResponse,
    access_token: String,
}

/// CreateGuest — `POST /api/v2/guest`: a `guest` user and a token for it,
/// for anyone holding the API key (the feeds-client's `connectGuest` calls
/// it anonymously), unless `--allow-guests false`.
pub async fn create_guest(
    State(state): State<AppState>,
    AnyCaller(_): AnyCaller,
    WireJson(req): WireJson<CreateGuestRequest>,
) -> ApiResult<Reply<CreateGuestResponse>> {
    if !state.authless.allow_guests {
        return Err(Error::not_allowed("guest users are switched off on this server").into());
    }
    let user = users::create_guest(&state.ctx, req.user).await?;
    let access_token = state.credentials.sign_user_token(&user.id)?;
    Ok(Reply(CreateGuestResponse { user: (&user).into(), access_token }))
}

#[derive(Deserialize, Default)]
pub struct InterestsParams {
    #[serde(default)]
    limit: Option<i64>,
}

/// GetUserInterests — `GET /api/v2/feeds/users/{user_id}/interests`.
pub async fn get_user_interests(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(user_id): WirePath<String>,
    WireQuery(q): WireQuery<InterestsParams>,
) -> ApiResult<Reply<GetUserInterestsResponse>> {
    let found = interests::user_interests(&state.ctx, &actor, &user_id, q.limit).await?;
    let interests = found.into_iter().map(|(tag, count)| InterestTagResponse { tag, count }).collect();
    Ok(Reply(GetUserInterestsResponse { interests }))
}
