//! `user_id` on writes to existing objects (updates, deletes, restores): a
//! user token may name only its own user (anyone else is 403 naming
//! `user_id`); server-side it must name a user that exists (400 naming
//! `user_id`) and changes no permission rule — server-side calls may do
//! anything, as on Stream — but it is whose `own_*` fields the response
//! carries. On reads that take `user_id` (whose `own_*` fields to show) a
//! user token naming another user is refused the same way.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestServer};

const AUTHOR: &str = "alice";
const OTHER: &str = "bob";

/// The writes to existing objects whose spec request names the acting user.
#[derive(Debug, Clone, Copy)]
enum Op {
    UpdateActivity,
    UpdateActivityPartial,
    RestoreActivity,
    DeleteActivities,
    UpdateComment,
    UpdateCommentPartial,
    RestoreComment,
    UpdateBookmarkFolder,
    UpdatePoll,
    UpdatePollPartial,
    DeletePoll,
    CreatePollOption,
    UpdatePollOption,
    DeletePollOption,
    DeletePollVote,
}

const OPS: [Op; 15] = [
    Op::UpdateActivity,
    Op::UpdateActivityPartial,
    Op::RestoreActivity,
    Op::DeleteActivities,
    Op::UpdateComment,
    Op::UpdateCommentPartial,
    Op::RestoreComment,
    Op::UpdateBookmarkFolder,
    Op::UpdatePoll,
    Op::UpdatePollPartial,
    Op::DeletePoll,
    Op::CreatePollOption,
    Op::UpdatePollOption,
    Op::DeletePollOption,
    Op::DeletePollVote,
];

/// One request of an operation on a fresh object `AUTHOR` made; `user_id`
/// goes into the body, or the query string of a DELETE.
struct Call {
    method: Method,
    path: String,
    body: Value,
}

impl Call {
    async fn send(&self, client: &Client, user_id: Option<&str>) -> (StatusCode, Value) {
        if self.method == Method::DELETE {
            let path = match user_id {
                Some(u) => format!("{}?user_id={u}", self.path),
                None => self.path.clone(),
            };
            return client.delete(&path).await;
        }
        let mut body = self.body.clone();
        if let Some(u) = user_id {
            body["user_id"] = json!(u);
        }
        client.send(self.method.clone(), &self.path, Some(body.to_string().into_bytes())).await
    }
}

#[track_caller]
fn created(resp: &(StatusCode, Value), what: &str) {
    assert!(resp.0.is_success(), "{what}: {} {}", resp.0, resp.1);
}

async fn activity(server: &Client, extra: Value) -> String {
    server.add_activity(AUTHOR, &[&format!("user:{AUTHOR}")], extra).await["id"].as_str().expect("id").to_string()
}

async fn comment(server: &Client) -> String {
    let on = activity(server, json!({})).await;
    let body = json!({ "object_id": on, "object_type": "activity", "comment": "hi", "user_id": AUTHOR });
    let resp = server.post("/api/v2/feeds/comments", &body).await;
    created(&resp, "add comment");
    resp.1["comment"]["id"].as_str().expect("comment id").to_string()
}

/// A poll `AUTHOR` made with two options: (poll id, option ids).
async fn poll(server: &Client) -> (String, Vec<String>) {
    let body = json!({ "name": "lunch?", "user_id": AUTHOR, "options": [{ "text": "soup" }, { "text": "salad" }] });
    let resp = server.post("/api/v2/polls", &body).await;
    created(&resp, "create poll");
    let poll = &resp.1["poll"];
    let options = poll["options"].as_array().expect("options").iter();
    (poll["id"].as_str().expect("poll id").to_string(), options.map(|o| o["id"].as_str().expect("id").into()).collect())
}

impl Op {
    async fn prepare(self, server: &Client) -> Call {
        let call = |method: Method, path: String, body: Value| Call { method, path, body };
        match self {
            Op::UpdateActivity => {
                let id = activity(server, json!({})).await;
                call(Method::PUT, format!("/api/v2/feeds/activities/{id}"), json!({ "text": "edited" }))
            }
            Op::UpdateActivityPartial => {
                let id = activity(server, json!({})).await;
                call(Method::PATCH, format!("/api/v2/feeds/activities/{id}"), json!({ "set": { "text": "edited" } }))
            }
            Op::RestoreActivity => {
                let id = activity(server, json!({})).await;
                created(&server.delete(&format!("/api/v2/feeds/activities/{id}")).await, "delete activity");
                call(Method::POST, format!("/api/v2/feeds/activities/{id}/restore"), json!({}))
            }
            Op::DeleteActivities => {
                let id = activity(server, json!({})).await;
                call(Method::POST, "/api/v2/feeds/activities/delete".into(), json!({ "ids": [id] }))
            }
            Op::UpdateComment => {
                let id = comment(server).await;
                call(Method::PATCH, format!("/api/v2/feeds/comments/{id}"), json!({ "comment": "edited" }))
            }
            Op::UpdateCommentPartial => {
                let id = comment(server).await;
                call(Method::POST, format!("/api/v2/feeds/comments/{id}/partial"), json!({ "set": { "text": "e" } }))
            }
            Op::RestoreComment => {
                let id = comment(server).await;
                created(&server.delete(&format!("/api/v2/feeds/comments/{id}")).await, "delete comment");
                call(Method::POST, format!("/api/v2/feeds/comments/{id}/restore"), json!({}))
            }
            Op::UpdateBookmarkFolder => {
                let on = activity(server, json!({})).await;
                let body = json!({ "user_id": AUTHOR, "new_folder": { "name": "later" } });
                let resp = server.post(&format!("/api/v2/feeds/activities/{on}/bookmarks"), &body).await;
                created(&resp, "add bookmark");
                let folder = resp.1["bookmark"]["folder"]["id"].as_str().expect("folder id");
                call(Method::PATCH, format!("/api/v2/feeds/bookmark_folders/{folder}"), json!({ "name": "soon" }))
            }
            Op::UpdatePoll => {
                let (id, options) = poll(server).await;
                let body = json!({ "id": id, "name": "dinner?", "options": [{ "id": options[0], "text": "soup" }] });
                call(Method::PUT, "/api/v2/polls".into(), body)
            }
            Op::UpdatePollPartial => {
                let (id, _) = poll(server).await;
                call(Method::PATCH, format!("/api/v2/polls/{id}"), json!({ "set": { "name": "dinner?" } }))
            }
            Op::DeletePoll => {
                let (id, _) = poll(server).await;
                call(Method::DELETE, format!("/api/v2/polls/{id}"), Value::Null)
            }
            Op::CreatePollOption => {
                let (id, _) = poll(server).await;
                call(Method::POST, format!("/api/v2/polls/{id}/options"), json!({ "text": "stew" }))
            }
            Op::UpdatePollOption => {
                let (id, options) = poll(server).await;
                call(Method::PUT, format!("/api/v2/polls/{id}/options"), json!({ "id": options[0], "text": "stew" }))
            }
            Op::DeletePollOption => {
                let (id, options) = poll(server).await;
                call(Method::DELETE, format!("/api/v2/polls/{id}/options/{}", options[1]), Value::Null)
            }
            Op::DeletePollVote => {
                let (id, options) = poll(server).await;
                let on = activity(server, json!({ "poll_id": id })).await;
                let path = format!("/api/v2/feeds/activities/{on}/polls/{id}/vote");
                let resp = server.post(&path, &json!({ "user_id": AUTHOR, "vote": { "option_id": options[0] } })).await;
                created(&resp, "cast vote");
                let vote = resp.1["vote"]["id"].as_str().expect("vote id");
                call(Method::DELETE, format!("{path}/{vote}"), Value::Null)
            }
        }
    }

    /// What a server-side call naming a user other than the author gets:
    /// allowed, except where `user_id` picks whose record is meant (a vote).
    fn server_as_other(self) -> StatusCode {
        match self {
            Op::DeletePollVote => StatusCode::NOT_FOUND,
            _ => StatusCode::OK,
        }
    }

    /// What a server-side call naming no existing user gets.
    fn server_as_unknown(self) -> (StatusCode, i64) {
        match self {
            Op::DeletePollVote => (StatusCode::NOT_FOUND, 16),
            _ => (StatusCode::BAD_REQUEST, 4),
        }
    }
}

#[track_caller]
fn assert_names_user_id(resp: &(StatusCode, Value), status: StatusCode, code: i64, op: impl std::fmt::Debug) {
    assert_eq!(resp.0, status, "{op:?}: {}", resp.1);
    assert_error(resp, status, code);
    assert!(resp.1["exception_fields"]["user_id"].is_string(), "{op:?}: names user_id: {}", resp.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_token_naming_another_user_is_refused_and_naming_itself_works() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&[AUTHOR, OTHER]).await;
    let author = srv.user(AUTHOR);
    for op in OPS {
        let resp = op.prepare(&server).await.send(&author, Some(OTHER)).await;
        assert_names_user_id(&resp, StatusCode::FORBIDDEN, 17, op);
        let resp = op.prepare(&server).await.send(&author, Some(AUTHOR)).await;
        assert!(resp.0.is_success(), "{op:?} as its own user: {} {}", resp.0, resp.1);
        let resp = op.prepare(&server).await.send(&author, None).await;
        assert!(resp.0.is_success(), "{op:?} without user_id: {} {}", resp.0, resp.1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_side_user_id_must_exist_and_grants_what_server_side_calls_may_do() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&[AUTHOR, OTHER]).await;
    for op in OPS {
        let resp = op.prepare(&server).await.send(&server, Some(AUTHOR)).await;
        assert!(resp.0.is_success(), "{op:?} as the author: {} {}", resp.0, resp.1);
        let resp = op.prepare(&server).await.send(&server, None).await;
        assert!(resp.0.is_success(), "{op:?} without user_id: {} {}", resp.0, resp.1);
        let resp = op.prepare(&server).await.send(&server, Some(OTHER)).await;
        let expected = op.server_as_other();
        let success = expected.is_success() && resp.0.is_success();
        assert!(success || resp.0 == expected, "{op:?} as another user: {} {}", resp.0, resp.1);
        let resp = op.prepare(&server).await.send(&server, Some("nobody")).await;
        let (status, code) = op.server_as_unknown();
        if code == 4 {
            assert_names_user_id(&resp, status, code, op);
        } else {
            assert_error(&resp, status, code);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_side_user_id_is_whose_own_fields_the_response_carries() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&[AUTHOR, OTHER]).await;
    let id = activity(&server, json!({})).await;
    let like = json!({ "type": "like", "user_id": OTHER });
    created(&server.post(&format!("/api/v2/feeds/activities/{id}/reactions"), &like).await, "react");
    let own_kinds = |resp: &Value| -> Vec<String> {
        let own = resp["activity"]["own_reactions"].as_array().cloned().unwrap_or_default();
        own.iter().map(|r| r["type"].as_str().unwrap_or_default().to_string()).collect()
    };
    let path = format!("/api/v2/feeds/activities/{id}");
    let resp = server.patch(&path, &json!({ "set": { "text": "a" }, "user_id": OTHER })).await;
    assert_eq!(resp.0, StatusCode::OK, "{}", resp.1);
    assert_eq!(own_kinds(&resp.1), vec!["like"], "{}", resp.1);
    let resp = server.put(&path, &json!({ "text": "b", "user_id": OTHER })).await;
    assert!(resp.0.is_success(), "{}", resp.1);
    assert_eq!(own_kinds(&resp.1), vec!["like"], "{}", resp.1);
    // Without user_id the author's own fields, as before.
    let resp = server.patch(&path, &json!({ "set": { "text": "c" } })).await;
    assert_eq!(own_kinds(&resp.1), Vec::<String>::new(), "{}", resp.1);

    let comment = comment(&server).await;
    let like = json!({ "type": "like", "user_id": OTHER });
    created(&server.post(&format!("/api/v2/feeds/comments/{comment}/reactions"), &like).await, "react");
    let path = format!("/api/v2/feeds/comments/{comment}/partial");
    let resp = server.post(&path, &json!({ "set": { "text": "x" }, "user_id": OTHER })).await;
    assert!(resp.0.is_success(), "{}", resp.1);
    let own = resp.1["comment"]["own_reactions"].as_array().map(Vec::len);
    assert_eq!(own, Some(1), "{}", resp.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_token_cannot_create_for_another_user() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&[AUTHOR, OTHER]).await;
    let author = srv.user(AUTHOR);
    let post = json!({ "type": "post", "feeds": [format!("user:{AUTHOR}")], "user_id": OTHER, "text": "hi" });
    let resp = author.post("/api/v2/feeds/activities", &post).await;
    assert_names_user_id(&resp, StatusCode::FORBIDDEN, 17, "create");
    let id = activity(&server, json!({})).await;
    let resp = author
        .post(&format!("/api/v2/feeds/activities/{id}/reactions"), &json!({ "type": "like", "user": { "id": OTHER } }))
        .await;
    assert_names_user_id(&resp, StatusCode::FORBIDDEN, 17, "create");
    let body = json!({ "object_id": id, "object_type": "activity", "comment": "hi", "user_id": AUTHOR });
    created(&author.post("/api/v2/feeds/comments", &body).await, "own user_id");
}

/// Reads that take `user_id` (whose `own_*` fields to show): a user token
/// naming another user is refused rather than silently read as itself.
#[tokio::test]
async fn a_user_token_naming_another_user_on_a_read_is_refused() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&[AUTHOR, OTHER]).await;
    let activity = admin.add_activity(AUTHOR, &["user:alice"], json!({ "text": "hi" })).await;
    let id = activity["id"].as_str().expect("activity id").to_string();
    let (status, comment) = admin
        .post(
            "/api/v2/feeds/comments",
            &json!({ "object_id": id, "object_type": "activity", "comment": "c", "user_id": AUTHOR }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let comment_id = comment["comment"]["id"].as_str().expect("comment id").to_string();
    let user = server.user(AUTHOR);
    let reads: Vec<(Method, String, Value)> = vec![
        (Method::GET, format!("/api/v2/feeds/activities/{id}?user_id={OTHER}"), Value::Null),
        (Method::POST, "/api/v2/feeds/activities/query".into(), json!({ "user_id": OTHER })),
        (Method::GET, format!("/api/v2/feeds/comments/{comment_id}?user_id={OTHER}"), Value::Null),
        (
            Method::GET,
            format!("/api/v2/feeds/comments?object_id={id}&object_type=activity&user_id={OTHER}"),
            Value::Null,
        ),
        (Method::GET, format!("/api/v2/feeds/comments/{comment_id}/replies?user_id={OTHER}"), Value::Null),
        (
            Method::POST,
            "/api/v2/feeds/comments/query".into(),
            json!({ "filter": { "object_id": id }, "user_id": OTHER }),
        ),
        (Method::POST, format!("/api/v2/polls/query?user_id={OTHER}"), json!({})),
        (
            Method::POST,
            "/api/v2/feeds/activities/reactions/query".into(),
            json!({ "activity_ids": [id], "user_id": OTHER }),
        ),
    ];
    for (method, path, body) in reads {
        let body = (!body.is_null()).then(|| serde_json::to_vec(&body).expect("json"));
        let refused = user.send(method.clone(), &path, body.clone()).await;
        assert_error(&refused, StatusCode::FORBIDDEN, 17);
        assert!(refused.1["exception_fields"]["user_id"].is_string(), "{path}: {}", refused.1);
        let own = path.replace(&format!("user_id={OTHER}"), &format!("user_id={AUTHOR}"));
        let own_body = body.map(|b| String::from_utf8(b).expect("utf8").replace(OTHER, AUTHOR).into_bytes());
        let (status, resp) = user.send(method, &own, own_body).await;
        assert!(status.is_success(), "{own}: {status} {resp}");
    }
}
