//! Stream's authentication: `api_key` in the query string, an HS256 JWT in
//! `Authorization` signed with the app secret. A token without `user_id` is
//! a server token (the Python SDK signs `{}`, Go/PHP `{"server": true}`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::state::AppState;
use crate::core::error::{Code, Error};
use crate::core::Actor;

pub use super::credentials::Credentials;

/// The authenticated caller of a request.
pub struct Auth(pub Actor);

/// The caller as already authenticated by the edge (`rate_limit`), kept in
/// the request's extensions so the token is verified once.
#[derive(Clone)]
pub struct Authenticated(pub Actor);

fn api_key_of(parts: &Parts) -> Option<String> {
    query_param(parts.uri.query(), "api_key")
}

/// The first value of `name` in a URL query string.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query?).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(Authenticated(actor)) = parts.extensions.get::<Authenticated>() {
            return Ok(Auth(actor.clone()));
        }
        authenticate(parts, state).map(Auth)
    }
}

/// Checks the key, auth type and token of a request.
pub fn authenticate(parts: &Parts, state: &AppState) -> Result<Actor, ApiError> {
    match api_key_of(parts) {
        Some(key) if key == state.credentials.api_key => {}
        Some(_) => return Err(Error::new(Code::InvalidApiKey, "api_key not valid").into()),
        None => return Err(Error::new(Code::InvalidApiKey, "api_key is missing from the query string").into()),
    }
    // Every official SDK sends the header; without it the token's kind is
    // unknown, so it is an authentication error as on Stream.
    let auth_type = parts
        .headers
        .get("stream-auth-type")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::new(Code::AuthFailed, "stream-auth-type header is missing; send jwt"))?;
    if auth_type.eq_ignore_ascii_case("anonymous") {
        return Err(Error::not_allowed("anonymous users cannot use this endpoint").into());
    }
    if !auth_type.eq_ignore_ascii_case("jwt") {
        return Err(Error::new(Code::AuthFailed, format!("unknown stream-auth-type {auth_type:?}")).into());
    }
    let token = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::new(Code::AuthFailed, "Authorization header with a JWT is missing"))?;
    Ok(state.credentials.verify(token)?)
}

/// An authenticated caller that must hold a server-side token.
pub struct ServerAuth;

impl FromRequestParts<AppState> for ServerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth(actor) = Auth::from_request_parts(parts, state).await?;
        actor.require_server()?;
        Ok(ServerAuth)
    }
}
