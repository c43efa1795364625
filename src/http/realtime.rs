//! The WebSocket of Stream's client SDKs (`GET /api/v2/connect`) and the
//! watch subscriptions made over REST, as `@stream-io/feeds-client` uses
//! them: the first frame authenticates (`token`, `user_details`), the
//! server answers `connection.ok` with the connection id the client then
//! passes as `?connection_id=` when it watches feeds, pings are answered at
//! once, refusals are `connection.error` frames followed by close code 1000
//! (permanent), and a restart closes with 1012 so clients reconnect.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::{query_param, Auth};
use super::error::{ApiError, ApiResult};
use super::extract::WirePath;
use super::reply::Reply;
use super::state::AppState;
use crate::core::error::{Code, Error};
use crate::core::events::{Event, EventType};
use crate::core::model::{Fid, User};
use crate::core::time::Timestamp;
use crate::core::users::{self, UserInput};
use crate::core::Actor;
use crate::realtime::hub::WatchError;
use crate::wire::{DeviceResponse, FullUserResponse, PushPreferencesResponse};

/// How long a new socket may take to send its auth frame.
const AUTH_TIMEOUT: Duration = Duration::from_secs(15);
/// A client pings every 25 s; one silent for this long is gone.
const SILENCE_TIMEOUT: Duration = Duration::from_secs(75);
/// How long one frame may take to leave before the client counts as stuck.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Client frames are an auth message or a ping.
const MAX_CLIENT_FRAME: usize = 64 * 1024;

/// `GET /api/v2/connect`: upgrades to the event WebSocket.
pub async fn connect(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(e) => {
            return ApiError(Error::input(format!("/api/v2/connect is a WebSocket endpoint: {e}"))).into_response()
        }
    };
    // Upgraded sockets leave the HTTP connection cap behind; the same
    // number bounds them.
    if state.hub.is_full() {
        let busy = Error::new(Code::TooManyRequests, "too many WebSocket connections; retry later");
        return ApiError(busy).into_response();
    }
    let api_key = query_param(query.as_deref(), "api_key");
    upgrade
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| session(socket, state, api_key))
}

async fn session(mut socket: WebSocket, state: AppState, api_key: Option<String>) {
    let user = match authenticate(&mut socket, &state, api_key).await {
        Ok(user) => user,
        Err(e) => return refuse(socket, e).await,
    };
    let me = match own_user(&state, &user).await {
        Ok(me) => me,
        Err(e) => return refuse(socket, e).await,
    };
    let hub = state.hub.clone();
    let (id, mut frames) = hub.connect(&user.id);
    let ok = json!({
        "type": "connection.ok",
        "connection_id": id,
        "created_at": Timestamp::now().0,
        "me": me,
    });
    let close =
        if send(&mut socket, ok.to_string()).await { serve(&mut socket, &state, &id, &mut frames).await } else { None };
    hub.disconnect(&id);
    if let Some((code, reason)) = close {
        let frame = CloseFrame { code, reason: reason.into() };
        let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    }
}

/// `OwnUserResponse`: the user with its devices and push preferences, which
/// the client keeps as its connected user.
async fn own_user(state: &AppState, user: &crate::core::model::User) -> crate::core::error::Result<serde_json::Value> {
    let ids = std::slice::from_ref(&user.id);
    let devices = state.ctx.store.devices_of(ids).await?;
    let prefs = state.ctx.store.push_preferences(&[(user.id.clone(), String::new())]).await?;
    let mut me = serde_json::to_value(FullUserResponse::from(user)).map_err(crate::core::error::Error::internal)?;
    let devices: Vec<DeviceResponse> = devices.iter().map(Into::into).collect();
    me["devices"] = serde_json::to_value(devices).map_err(crate::core::error::Error::internal)?;
    if let Some(prefs) = prefs.first() {
        me["push_preferences"] =
            serde_json::to_value(PushPreferencesResponse::from(prefs)).map_err(crate::core::error::Error::internal)?;
    }
    Ok(me)
}

/// Relays events and answers pings until either side stops; returns the
/// close frame to send, if any.
async fn serve(
    socket: &mut WebSocket,
    state: &AppState,
    id: &str,
    frames: &mut tokio::sync::mpsc::Receiver<crate::realtime::hub::Frame>,
) -> Option<(u16, &'static str)> {
    let mut silent_since = tokio::time::Instant::now();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    silent_since = tokio::time::Instant::now();
                    if is_health_check(text.as_str()) {
                        let pong = json!({
                            "type": "health.check",
                            "connection_id": id,
                            "created_at": Timestamp::now().0,
                            "custom": {},
                        });
                        if !send(socket, pong.to_string()).await {
                            return None;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => silent_since = tokio::time::Instant::now(),
            },
            frame = frames.recv() => match frame {
                Some(frame) => {
                    if !send(socket, frame.to_string()).await {
                        return None;
                    }
                }
                // The hub dropped this connection: it fell behind. 1013 (try
                // again later) makes the client reconnect and re-watch.
                None => return Some((1013, "connection fell behind; reconnect")),
            },
            _ = tokio::time::sleep_until(silent_since + SILENCE_TIMEOUT) => return Some((1001, "no health check received")),
            _ = state.shutdown.wait() => return Some((1012, "server restarting")),
        }
    }
}

async fn send(socket: &mut WebSocket, text: String) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await, Ok(Ok(())))
}

/// The client pings with `[{"type":"health.check",…}]` (an array); a bare
/// object is accepted too.
fn is_health_check(text: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(text) else { return false };
    let first = match &value {
        Value::Array(items) => items.first(),
        other => Some(other),
    };
    first.and_then(|v| v.get("type")).and_then(Value::as_str) == Some("health.check")
}

#[derive(Deserialize)]
struct AuthMessage {
    token: String,
    user_details: UserInput,
}

async fn authenticate(socket: &mut WebSocket, state: &AppState, api_key: Option<String>) -> Result<User, Error> {
    match api_key {
        Some(key) if key == state.credentials.api_key => {}
        Some(_) => return Err(Error::new(Code::InvalidApiKey, "api_key not valid")),
        None => return Err(Error::new(Code::InvalidApiKey, "api_key is missing from the query string")),
    }
    let first = tokio::time::timeout(AUTH_TIMEOUT, socket.recv()).await;
    let text = match first {
        Ok(Some(Ok(Message::Text(text)))) => text,
        Ok(_) => return Err(Error::new(Code::AuthFailed, "the first frame must be the auth message (JSON text)")),
        Err(_) => return Err(Error::new(Code::AuthFailed, "no auth message within 15 s")),
    };
    let message: AuthMessage = serde_json::from_str(text.as_str())
        .map_err(|e| Error::new(Code::AuthFailed, format!("invalid auth message: {e}")))?;
    let actor = state.credentials.verify(&message.token)?;
    if let Actor::User(id) = &actor {
        if *id != message.user_details.id {
            return Err(Error::new(Code::AuthFailed, "user_details.id does not match the token's user_id"));
        }
    }
    users::connect_user(&state.ctx, message.user_details).await
}

/// Refuses a connection the way the client understands: a
/// `connection.error` frame, then close code 1000 (do not retry; code 40
/// makes it fetch a new token first).
async fn refuse(mut socket: WebSocket, error: Error) {
    let (code, status) = error.code.wire();
    let frame = json!({
        "type": "connection.error",
        "created_at": Timestamp::now().0,
        "connection_id": "",
        "error": {
            "code": code,
            "StatusCode": status,
            "message": error.message,
            "more_info": "",
            "duration": "",
            "details": [],
        },
    });
    let _ = send(&mut socket, frame.to_string()).await;
    let close = CloseFrame { code: 1000, reason: "refused".into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(close)))).await;
}

/// The `?connection_id=` a watching request names.
pub fn connection_id(query: Option<&str>) -> Option<String> {
    query_param(query, "connection_id").filter(|c| !c.is_empty())
}

/// Subscribes the caller's connection to `fids` (after the read that
/// showed them succeeded, so only readable feeds are watched). A connection
/// held by another process (several instances behind a load balancer) is
/// reached through the outbox, which every process reads.
pub async fn watch(state: &AppState, actor: &Actor, connection: Option<&str>, fids: &[Fid]) -> Result<(), Error> {
    if actor.is_anonymous() {
        // An anonymous client opens no WebSocket (`connectAnonymous`).
        return Err(Actor::anonymous_refused());
    }
    let Some(connection) = connection else {
        return Err(Error::field("connection_id", "watch needs the connection_id of a connected WebSocket"));
    };
    if state.hub.owns(connection) || !is_connection_id(connection) {
        return state.hub.watch(connection, actor_user(actor), fids).map_err(|e| watch_error(e, connection));
    }
    forward(state, EventType::Watch, actor, connection, fids).await
}

/// What `Hub::connect` hands out: `<process>-<uuid>`, 12 + 1 + 32 hex digits.
fn is_connection_id(id: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    id.len() == 45 && id.as_bytes()[12] == b'-' && hex(&id[..12]) && hex(&id[13..])
}

async fn forward(
    state: &AppState,
    kind: EventType,
    actor: &Actor,
    connection: &str,
    fids: &[Fid],
) -> Result<(), Error> {
    let mut control = Event::new(kind, actor_user(actor)).in_feeds(fids.iter().cloned());
    control.audience = actor_user(actor).map(str::to_string);
    control.subject.fields.insert("connection_id".into(), Value::from(connection));
    state.ctx.store.append_events(&[control]).await
}

fn actor_user(actor: &Actor) -> Option<&str> {
    match actor {
        Actor::User(id) => Some(id),
        _ => None,
    }
}

fn watch_error(e: WatchError, connection: &str) -> Error {
    match e {
        WatchError::UnknownConnection => {
            Error::field("connection_id", format!("connection {connection:?} is not connected to this server"))
        }
        WatchError::NotYours => Error::not_allowed(format!("connection {connection:?} belongs to another user")),
        WatchError::TooMany => {
            Error::field("watch", format!("a connection watches at most {} feeds", crate::realtime::hub::MAX_WATCHED))
        }
    }
}

#[derive(Serialize)]
pub struct Empty {}

/// StopWatchingFeed — `DELETE /api/v2/feeds/feed_groups/{group}/feeds/{id}/watch?connection_id=`.
pub async fn stop_watching(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Reply<Empty>> {
    let fid = Fid::new(&group, &id)?;
    let Some(connection) = connection_id(query.as_deref()) else {
        return Err(Error::field("connection_id", "connection_id is required").into());
    };
    if state.hub.owns(&connection) || !is_connection_id(&connection) {
        state.hub.unwatch(&connection, actor_user(&actor), &fid).map_err(|e| watch_error(e, &connection))?;
    } else {
        forward(&state, EventType::Unwatch, &actor, &connection, std::slice::from_ref(&fid)).await?;
    }
    Ok(Reply(Empty {}))
}
