//! GetApp and UpdateApp: the app settings this server honours (webhooks).

use axum::extract::State;
use serde::Serialize;

use crate::core::app::{self, UpdateApp};
use crate::core::Actor;
use crate::http::auth::{Auth, ServerAuth};
use crate::http::error::ApiResult;
use crate::http::extract::WireJson;
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;
use crate::wire::{AppResponseFields, ClientAppResponseFields};

/// `GetApplicationResponse`: the server spec's `app` for server tokens, the
/// client spec's (no webhook settings) for user tokens.
#[derive(Serialize)]
#[serde(untagged)]
pub enum GetApplicationResponse {
    Server { app: Box<AppResponseFields> },
    Client { app: Box<ClientAppResponseFields> },
}

/// GetApp — `GET /api/v2/app`.
pub async fn get_app(State(state): State<AppState>, Auth(actor): Auth) -> ApiResult<Reply<GetApplicationResponse>> {
    Ok(Reply(match actor {
        Actor::Server => {
            let settings = app::settings(&state.ctx).await?;
            GetApplicationResponse::Server { app: Box::new((&settings).into()) }
        }
        Actor::User(_) | Actor::Anonymous => GetApplicationResponse::Client { app: Box::default() },
    }))
}

/// UpdateApp — `PATCH /api/v2/app`; server-side only.
pub async fn update_app(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<UpdateApp>,
) -> ApiResult<Reply<Empty>> {
    app::update(&state.ctx, req).await?;
    Ok(Reply(Empty {}))
}
