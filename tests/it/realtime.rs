//! The event WebSocket as the official feeds-client uses it: auth frame,
//! `connection.ok`, pings, refusals, watch / stop-watch, and events routed
//! by receiving feed (fan-out copies included).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{now_secs, token, user_token, TestServer, API_KEY};

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn open(server: &TestServer, api_key: &str) -> Socket {
    let url = format!(
        "{}/api/v2/connect?api_key={api_key}&stream-auth-type=jwt&X-Stream-Client=test",
        server.base.replace("http", "ws")
    );
    tokio_tungstenite::connect_async(url).await.expect("websocket upgrade").0
}

pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("frame is JSON"),
            Message::Close(close) => panic!("socket closed: {close:?}"),
            _ => continue,
        }
    }
}

/// Connects `user` and returns the socket and its connection id.
pub async fn connect(server: &TestServer, user: &str) -> (Socket, String) {
    let mut socket = open(server, API_KEY).await;
    let auth = json!({"token": user_token(user), "user_details": {"id": user, "name": user.to_uppercase()}, "products": ["feeds"]});
    socket.send(Message::Text(auth.to_string().into())).await.unwrap();
    let ok = next_json(&mut socket).await;
    assert_eq!(ok["type"], "connection.ok", "{ok}");
    assert!(ok["created_at"].is_i64(), "{ok}");
    assert_eq!(ok["me"]["id"], user);
    for field in ["devices", "mutes", "channel_mutes", "teams"] {
        assert!(ok["me"][field].is_array(), "me.{field}: {ok}");
    }
    let id = ok["connection_id"].as_str().expect("connection_id").to_string();
    (socket, id)
}

/// The next frame that is an event of `kind` (pings and other kinds skipped).
pub async fn next_event(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = next_json(socket).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

#[tokio::test]
async fn connect_answers_connection_ok_upserts_the_user_and_answers_pings() {
    let server = TestServer::spawn().await;
    let (mut socket, id) = connect(&server, "erin").await;
    let (status, users) =
        server.server().get("/api/v2/users?payload=%7B%22filter_conditions%22%3A%7B%22id%22%3A%22erin%22%7D%7D").await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(users["users"][0]["name"], "ERIN");

    socket.send(Message::Text(r#"[{"type":"health.check","client_id":"erin-1"}]"#.into())).await.unwrap();
    // The connect's own `user.updated` may arrive first.
    let pong = next_event(&mut socket, "health.check").await;
    assert_eq!(pong["connection_id"], id);
    assert!(pong["custom"].is_object());
}

async fn refused(server: &TestServer, api_key: &str, auth: Value) -> (Value, u16) {
    let mut socket = open(server, api_key).await;
    socket.send(Message::Text(auth.to_string().into())).await.unwrap();
    let frame = next_json(&mut socket).await;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("close within 10 s") {
            Some(Ok(Message::Close(Some(close)))) => break u16::from(close.code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    (frame, close)
}

#[tokio::test]
async fn refusals_are_connection_error_frames_then_close_1000() {
    let server = TestServer::spawn().await;
    let details = json!({"id": "erin"});
    let expired = token(&json!({"user_id": "erin", "iat": now_secs() - 7200, "exp": now_secs() - 3600}));
    let cases = [
        (API_KEY, json!({"token": expired, "user_details": details}), 40),
        (API_KEY, json!({"token": "a.b.c", "user_details": details}), 5),
        (API_KEY, json!({"token": user_token("frank"), "user_details": details}), 5),
        ("wrong-key", json!({"token": user_token("erin"), "user_details": details}), 2),
    ];
    for (key, auth, code) in cases {
        let (frame, close) = refused(&server, key, auth).await;
        assert_eq!(frame["type"], "connection.error", "{frame}");
        assert_eq!(frame["error"]["code"], code, "{frame}");
        assert_eq!(frame["error"]["StatusCode"], 401, "{frame}");
        assert_eq!(close, 1000);
    }
}

#[tokio::test]
async fn watchers_get_events_of_fanned_out_activities_with_their_own_feed_id() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    let (status, body) = admin
        .post(
            "/api/v2/feeds/follows",
            &json!({"source": "timeline:erin", "target": "user:frank", "create_users": true}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (mut socket, id) = connect(&server, "erin").await;
    let erin = server.user("erin");
    let path = format!("/api/v2/feeds/feed_groups/timeline/feeds/erin?connection_id={id}");
    let (status, body) = erin.post(&path, &json!({"watch": true})).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = erin.post("/api/v2/feeds/feed_groups/user/feeds/erin", &json!({"watch": true})).await;
    assert_eq!(status, 400, "watch without connection_id: {body}");
    let (status, body) = server.user("frank").post(&path, &json!({"watch": true})).await;
    assert!(status == 403 || status == 400, "frank cannot use erin's connection: {body}");

    let (status, body) = admin
        .post(
            "/api/v2/feeds/activities",
            &json!({"type": "post", "feeds": ["user:frank"], "text": "hi", "user_id": "frank"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let event = next_event(&mut socket, "feeds.activity.added").await;
    assert_eq!(event["fid"], "timeline:erin", "{event}");
    assert_eq!(event["activity"]["id"], body["activity"]["id"]);
    assert_eq!(event["activity"]["feeds"], json!(["user:frank"]));
    assert_eq!(event["user"]["id"], "frank");
    assert!(event["created_at"].is_i64());
    assert!(event["custom"].is_object());

    // Stop watching: the next post is not delivered; a post to a feed still
    // watched is the barrier that proves it.
    let (status, body) =
        erin.delete(&format!("/api/v2/feeds/feed_groups/timeline/feeds/erin/watch?connection_id={id}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = erin
        .post(&format!("/api/v2/feeds/feed_groups/user/feeds/erin?connection_id={id}"), &json!({"watch": true}))
        .await;
    assert_eq!(status, 201, "{body}");
    admin
        .post(
            "/api/v2/feeds/activities",
            &json!({"type": "post", "feeds": ["user:frank"], "text": "unseen", "user_id": "frank"}),
        )
        .await;
    let (_, mine) = admin
        .post(
            "/api/v2/feeds/activities",
            &json!({"type": "post", "feeds": ["user:erin"], "text": "mine", "user_id": "erin"}),
        )
        .await;
    let event = next_event(&mut socket, "feeds.activity.added").await;
    assert_eq!(event["fid"], "user:erin", "{event}");
    assert_eq!(event["activity"]["id"], mine["activity"]["id"]);
}
