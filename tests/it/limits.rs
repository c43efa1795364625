//! Client JSON limits (both stores): deep dotted paths, deep or large
//! documents and oversized filters are refused with a 400 naming the field,
//! the server stays up, and every record it accepted reads back.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestServer};

/// The limits the server documents (`core::limits`).
const MAX_DEPTH: usize = 32;
const MAX_BYTES: usize = 64 * 1024;

/// `{"a": {"a": … 1}}`, `levels` objects deep.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!({ "a": inner }))
}

/// `custom.a.a…`: `segments` in all.
fn dotted(segments: usize) -> String {
    format!("custom{}", ".a".repeat(segments - 1))
}

#[track_caller]
fn assert_field_error(resp: &(StatusCode, Value), field: &str) {
    assert_error(resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"].get(field).is_some(), "error should name {field}: {}", resp.1);
    assert!(resp.1.to_string().len() < 2000, "the error does not echo the whole path: {}", resp.1);
}

/// alice posts to `user:alice`, bob's timeline follows it, alice comments on
/// her activity. Returns (server client, alice's client, activity id, comment id).
async fn setup(srv: &TestServer) -> (Client, Client, String, String) {
    let api = srv.server();
    api.create_users(&["alice", "bob"]).await;
    api.follow("timeline:bob", "user:alice", json!({})).await;
    let activity = api.add_activity("alice", &["user:alice"], json!({ "text": "hi", "custom": { "keep": 1 } })).await;
    let id = activity["id"].as_str().expect("activity id").to_string();
    let (status, body) = api
        .post(
            "/api/v2/feeds/comments",
            &json!({ "object_id": id, "object_type": "activity", "comment": "first", "user_id": "alice" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let comment = body["comment"]["id"].as_str().expect("comment id").to_string();
    (api, srv.user("alice"), id, comment)
}

/// Everything that shows alice's activity, comment or profile still reads.
async fn assert_readable(srv: &TestServer, api: &Client, id: &str, comment: &str) {
    let health = reqwest::get(format!("{}/health", srv.base)).await.expect("health");
    assert_eq!(health.status(), StatusCode::OK);
    let (status, body) = api.get(&format!("/api/v2/feeds/activities/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(api.feed_ids("user:alice", "alice").await.contains(&id.to_string()));
    assert!(api.feed_ids("timeline:bob", "bob").await.contains(&id.to_string()));
    let (status, body) = api.post("/api/v2/feeds/activities/query", &json!({ "filter": { "id": id } })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["activities"].as_array().map(Vec::len), Some(1), "{body}");
    let (status, body) = api.get(&format!("/api/v2/feeds/comments/{comment}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let payload = json!({ "filter_conditions": { "id": { "$in": ["alice", "bob"] } } }).to_string();
    let (status, body) = api.get(&format!("/api/v2/users?payload={}", urlencode(&payload))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["users"].as_array().map(Vec::len), Some(2), "{body}");
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The four partial updates, each setting `path` to `value` on alice's
/// records. Returns their responses.
async fn set_everywhere(
    api: &Client,
    alice: &Client,
    id: &str,
    comment: &str,
    path: &str,
    value: Value,
) -> Vec<(StatusCode, Value)> {
    let set = json!({ path: value });
    vec![
        alice.patch(&format!("/api/v2/feeds/activities/{id}"), &json!({ "set": set })).await,
        api.patch("/api/v2/feeds/activities/batch/partial", &json!({ "changes": [{ "activity_id": id, "set": set }] }))
            .await,
        alice.post(&format!("/api/v2/feeds/comments/{comment}/partial"), &json!({ "set": set })).await,
        alice.patch("/api/v2/users", &json!({ "users": [{ "id": "alice", "set": set }] })).await,
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_set_paths_are_refused_and_records_stay_readable() {
    let srv = TestServer::spawn().await;
    let (api, alice, id, comment) = setup(&srv).await;
    // 10,000 segments used to overflow the stack; 130 used to be stored and
    // then fail every read with a 500.
    for segments in [10_000, 130, MAX_DEPTH + 2] {
        for resp in set_everywhere(&api, &alice, &id, &comment, &dotted(segments), json!(1)).await {
            assert_field_error(&resp, "custom");
        }
        // Users take bare custom keys too.
        let bare = format!("a{}", ".a".repeat(segments - 2));
        let resp = alice.patch("/api/v2/users", &json!({ "users": [{ "id": "alice", "set": { bare: 1 } }] })).await;
        assert_field_error(&resp, "custom");
        assert_readable(&srv, &api, &id, &comment).await;
    }
    // A short path cannot smuggle in a deep value, and repeated patches
    // cannot grow a document past the limit either.
    for resp in set_everywhere(&api, &alice, &id, &comment, "custom.x", nested(MAX_DEPTH)).await {
        assert_field_error(&resp, "custom");
    }
    let half = MAX_DEPTH / 2 + 1;
    for resp in set_everywhere(&api, &alice, &id, &comment, &dotted(half), nested(half - 1)).await {
        assert_eq!(resp.0.as_u16() / 100, 2, "{}", resp.1);
    }
    let deeper = format!("{}.b", dotted(half));
    for resp in set_everywhere(&api, &alice, &id, &comment, &deeper, nested(half - 1)).await {
        assert_field_error(&resp, "custom");
    }
    assert_readable(&srv, &api, &id, &comment).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_at_the_limits_are_accepted_and_read_back() {
    let srv = TestServer::spawn().await;
    let (api, alice, id, comment) = setup(&srv).await;
    // The longest path and the deepest value, through every partial update.
    for resp in set_everywhere(&api, &alice, &id, &comment, &dotted(MAX_DEPTH + 1), json!("deep")).await {
        assert_eq!(resp.0.as_u16() / 100, 2, "{}", resp.1);
    }
    assert_readable(&srv, &api, &id, &comment).await;
    let (_, body) = api.get(&format!("/api/v2/feeds/activities/{id}")).await;
    let mut leaf = &body["activity"]["custom"];
    for _ in 0..MAX_DEPTH - 1 {
        leaf = &leaf["a"];
    }
    assert_eq!(leaf["a"], json!("deep"), "{body}");

    // Whole documents at the depth and size limits in a new activity.
    let big = json!({ "s": "x".repeat(MAX_BYTES - 8) });
    assert_eq!(big.to_string().len(), MAX_BYTES);
    let attachments = json!([nested(MAX_DEPTH - 1)]);
    let at_limit = api
        .add_activity(
            "alice",
            &["user:alice"],
            json!({ "custom": nested(MAX_DEPTH), "search_data": big, "attachments": attachments }),
        )
        .await;
    let second = at_limit["id"].as_str().expect("id");
    let (status, body) = api.get(&format!("/api/v2/feeds/activities/{second}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["activity"]["custom"], nested(MAX_DEPTH));
    assert_eq!(api.feed_ids("timeline:bob", "bob").await, vec![second.to_string(), id.clone()]);
    let (status, body) =
        api.post("/api/v2/users", &json!({ "users": { "bob": { "id": "bob", "custom": big } } })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_readable(&srv, &api, &id, &comment).await;

    // One step past either limit is refused.
    let too_deep =
        json!({ "type": "post", "feeds": ["user:alice"], "user_id": "alice", "custom": nested(MAX_DEPTH + 1) });
    assert_field_error(&api.post("/api/v2/feeds/activities", &too_deep).await, "custom");
    let too_big = json!({ "type": "post", "feeds": ["user:alice"], "user_id": "alice",
                          "search_data": { "s": "x".repeat(MAX_BYTES - 7) } });
    assert_field_error(&api.post("/api/v2/feeds/activities", &too_big).await, "search_data");
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_or_large_documents_are_refused_where_they_enter() {
    let srv = TestServer::spawn().await;
    let (api, _alice, id, comment) = setup(&srv).await;
    let add = |extra: Value| {
        let mut body = json!({ "type": "post", "feeds": ["user:alice"], "user_id": "alice" });
        body.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
        body
    };
    let resp = api.post("/api/v2/feeds/activities", &add(json!({ "custom": nested(40) }))).await;
    assert_field_error(&resp, "custom");
    let resp = api.post("/api/v2/feeds/activities", &add(json!({ "custom": nested(MAX_DEPTH + 1) }))).await;
    assert_field_error(&resp, "custom");
    let resp = api.post("/api/v2/feeds/activities", &add(json!({ "attachments": [nested(MAX_DEPTH)] }))).await;
    assert_field_error(&resp, "attachments");
    let oversize = json!({ "s": "x".repeat(MAX_BYTES) });
    let resp = api.post("/api/v2/feeds/activities", &add(json!({ "search_data": oversize }))).await;
    assert_field_error(&resp, "search_data");
    let tags: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    let resp = api.post("/api/v2/feeds/activities", &add(json!({ "interest_tags": tags }))).await;
    assert_field_error(&resp, "interest_tags");
    let resp = api.post("/api/v2/feeds/activities", &add(json!({ "interest_tags": tags[..50] }))).await;
    assert_eq!(resp.0, StatusCode::CREATED, "50 interest tags are accepted: {}", resp.1);
    // In a batch the field is named with its place.
    let batch = json!({ "activities": [add(json!({})), add(json!({ "custom": nested(40) }))] });
    let resp = api.post("/api/v2/feeds/activities/batch", &batch).await;
    assert_field_error(&resp, "activities[1].custom");
    // Other records' documents: users, comments, feeds, follows, feed groups.
    let resp = api.post("/api/v2/users", &json!({ "users": { "bob": { "id": "bob", "custom": oversize } } })).await;
    assert_field_error(&resp, "users.bob.custom");
    let resp = api
        .post(
            "/api/v2/feeds/comments",
            &json!({ "object_id": id, "object_type": "activity", "comment": "c", "user_id": "bob",
                     "custom": nested(40) }),
        )
        .await;
    assert_field_error(&resp, "custom");
    let resp = api
        .post(
            "/api/v2/feeds/feed_groups/user/feeds/carol",
            &json!({ "user_id": "bob", "data": { "custom": nested(40) } }),
        )
        .await;
    assert_field_error(&resp, "data.custom");
    let resp = api
        .post(
            "/api/v2/feeds/follows",
            &json!({ "source": "timeline:alice", "target": "user:bob",
                                                               "custom": nested(40) }),
        )
        .await;
    assert_field_error(&resp, "custom");
    let resp = api
        .post(
            "/api/v2/feeds/feed_groups",
            &json!({ "id": "deep", "ranking": { "type": "recency",
                                                                 "x": nested(40) } }),
        )
        .await;
    assert_field_error(&resp, "ranking");
    // A body nested beyond its own bound is refused before it is parsed.
    let resp = api.post("/api/v2/feeds/activities", &add(json!({ "custom": nested(100) }))).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().is_some_and(|m| m.contains("nests deeper")), "{}", resp.1);
    assert_readable(&srv, &api, &id, &comment).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_filters_are_refused() {
    let srv = TestServer::spawn().await;
    let (api, _alice, id, comment) = setup(&srv).await;
    let query = |filter: Value| json!({ "filter": filter });
    let mut deep = json!({ "id": id });
    for _ in 0..9 {
        deep = json!({ "$and": [deep] });
    }
    let resp = api.post("/api/v2/feeds/activities/query", &query(deep)).await;
    assert_field_error(&resp, "filter");
    let long = format!("custom{}", ".a".repeat(10_000));
    let resp = api.post("/api/v2/feeds/activities/query", &query(json!({ long: 1 }))).await;
    assert_field_error(&resp, "custom");
    let many: serde_json::Map<String, Value> = (0..5_000).map(|i| (format!("k{i}"), json!(i))).collect();
    let resp = api.post("/api/v2/feeds/activities/query", &query(json!({ "custom": { "$contains": many } }))).await;
    assert_field_error(&resp, "custom");
    let (status, body) = api
        .send(
            Method::POST,
            "/api/v2/feeds/activities/query",
            Some(query(json!({ "custom.keep": 1 })).to_string().into()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["activities"].as_array().map(Vec::len), Some(1), "{body}");
    assert_readable(&srv, &api, &id, &comment).await;
}
