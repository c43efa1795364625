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

/// The caller as the rate-limit layer (`http::rate_limit`) authenticated it,
/// kept in the request's extensions so the handler's extractor does not
/// verify the token twice.
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

/// Who calls: the token's server or user, or `Actor::Anonymous` for
/// `stream-auth-type: anonymous` (whatever `Authorization` holds: the
/// feeds-client sends an empty one). Each extractor below decides whether
/// an anonymous caller may go on.
pub fn authenticate(parts: &Parts, state: &AppState) -> Result<Actor, Error> {
    match api_key_of(parts) {
        Some(key) if key == state.credentials.api_key => {}
        Some(_) => return Err(Error::new(Code::InvalidApiKey, "api_key not valid")),
        None => return Err(Error::new(Code::InvalidApiKey, "api_key is missing from the query string")),
    }
    // Every official SDK sends the header; without it the token's kind is
    // unknown, so it is an authentication error as on Stream.
    let auth_type = parts
        .headers
        .get("stream-auth-type")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::new(Code::AuthFailed, "stream-auth-type header is missing; send jwt"))?;
    if auth_type.eq_ignore_ascii_case("anonymous") {
        return Ok(Actor::Anonymous);
    }
    if !auth_type.eq_ignore_ascii_case("jwt") {
        return Err(Error::new(Code::AuthFailed, format!("unknown stream-auth-type {auth_type:?}")));
    }
    let token = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::new(Code::AuthFailed, "Authorization header with a JWT is missing"))?;
    state.credentials.verify(token)
}

/// The request's caller: the rate-limit layer's result when it ran,
/// otherwise checked here.
fn caller(parts: &Parts, state: &AppState) -> Result<Actor, Error> {
    match parts.extensions.get::<Authenticated>() {
        Some(Authenticated(actor)) => Ok(actor.clone()),
        None => authenticate(parts, state),
    }
}

/// A caller with a token: anonymous callers are refused (403, code 17), as
/// on every route but the few reads `Visitor` opens to them.
impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match caller(parts, state)? {
            Actor::Anonymous => Err(Actor::anonymous_refused().into()),
            actor => Ok(Auth(actor)),
        }
    }
}

/// The caller of a read a logged-out visitor may make too (feeds,
/// activities, their comments, users): an anonymous caller is let in as
/// `Actor::Anonymous` unless `--allow-anonymous false`; the core's access
/// rules then give it what the `anonymous` role is granted.
pub struct Visitor(pub Actor);

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match caller(parts, state)? {
            Actor::Anonymous if !state.authless.allow_anonymous => {
                Err(Error::not_allowed("anonymous access is switched off on this server").into())
            }
            actor => Ok(Visitor(actor)),
        }
    }
}

/// Any caller with the app's API key, token or not: CreateGuest, which
/// the feeds-client calls anonymously (`x-stream-requires-token: false`).
pub struct AnyCaller(pub Actor);

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(AnyCaller(caller(parts, state)?))
    }
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
