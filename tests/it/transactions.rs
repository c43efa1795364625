//! One request, one transaction: what a request implies (users it creates,
//! inline collections, notifications) commits or rolls back with its main
//! write; implied users are not held to UpdateUsers' 100-user limit;
//! Stream's quick start works as written; comment `depth` counts reply
//! levels.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestServer};

/// The ids among `ids` that name users (QueryUsers).
async fn existing_users(client: &Client, ids: &[String]) -> Vec<String> {
    let payload = json!({ "filter_conditions": { "id": { "$in": ids } }, "limit": 100 }).to_string();
    let query = serde_urlencoded::to_string([("payload", payload)]).expect("encode");
    let (status, body) = client.get(&format!("/api/v2/users?{query}")).await;
    assert_eq!(status, StatusCode::OK, "query users: {body}");
    let mut found: Vec<String> = body["users"]
        .as_object()
        .map(|users| users.keys().cloned().collect())
        .or_else(|| {
            body["users"].as_array().map(|a| a.iter().filter_map(|u| u["id"].as_str().map(String::from)).collect())
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn add_activity_failing_in_its_transaction_leaves_no_implied_user_or_collection() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    // The missing parent is found in the write transaction, after the
    // implied user and the inline collection were written in it.
    let body = json!({
        "type": "post", "feeds": ["user:ghost"], "user_id": "ghost", "create_users": true,
        "parent_id": "no-such-activity",
        "collections": [{ "name": "books", "id": "b1", "custom": { "title": "Dune" } }],
    });
    let resp = server.post("/api/v2/feeds/activities", &body).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().unwrap_or_default().contains("parent"), "{}", resp.1);

    assert_eq!(existing_users(&server, &["ghost".into()]).await, Vec::<String>::new(), "implied user rolled back");
    let (status, read) = server.get("/api/v2/feeds/collections?collection_refs=books:b1").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let found = read["collections"].as_array().map(|c| {
        c.iter().filter(|c| c["status"].as_str() != Some("notfound") && c["custom"]["title"] == "Dune").count()
    });
    assert_eq!(found.unwrap_or(0), 0, "inline collection rolled back: {read}");

    // The same request with a live parent commits all three.
    let parent = server.add_activity("ghost2", &["user:ghost2"], json!({ "create_users": true })).await;
    let mut ok = body.clone();
    ok["parent_id"] = parent["id"].clone();
    let (status, resp) = server.post("/api/v2/feeds/activities", &ok).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    assert_eq!(existing_users(&server, &["ghost".into()]).await, vec!["ghost".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reaction_creates_its_user_and_notification_with_it() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    let post = server.add_activity("author", &["user:author"], json!({ "create_users": true })).await;
    let id = post["id"].as_str().expect("id");
    let body = json!({ "type": "like", "user_id": "fan", "create_users": true, "create_notification_activity": true });
    let (status, resp) = server.post(&format!("/api/v2/feeds/activities/{id}/reactions"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    assert_eq!(resp["notification_created"], json!(true), "{resp}");
    assert_eq!(existing_users(&server, &["fan".into()]).await, vec!["fan".to_string()]);
    let notifications = server.feed_ids("notification:author", "author").await;
    assert_eq!(notifications.len(), 1, "one reaction notification: {notifications:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_feeds_batch_creates_1000_new_owners() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    let feeds: Vec<Value> = (0..1000)
        .map(|i| json!({ "feed_group_id": "user", "feed_id": format!("o{i}"), "created_by_id": format!("o{i}") }))
        .collect();
    let (status, resp) =
        server.post("/api/v2/feeds/feeds/batch", &json!({ "feeds": feeds, "create_users": true })).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    let sample: Vec<String> = ["o0", "o500", "o999"].iter().map(|s| s.to_string()).collect();
    assert_eq!(existing_users(&server, &sample).await, sample);
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_batch_creates_1000_source_feeds_and_their_owners() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&["star"]).await;
    let follows: Vec<Value> =
        (0..1000).map(|i| json!({ "source": format!("timeline:f{i}"), "target": "user:star" })).collect();
    let (status, resp) = server.post("/api/v2/feeds/follows/batch", &json!({ "follows": follows })).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    assert_eq!(resp["follows"].as_array().map(Vec::len), Some(1000), "{resp}");
    let sample: Vec<String> = ["f0", "f999"].iter().map(|s| s.to_string()).collect();
    assert_eq!(existing_users(&server, &sample).await, sample);
}

/// Stream's quick start, exactly: no UpdateUsers call first.
#[tokio::test(flavor = "multi_thread")]
async fn quick_start_get_or_create_creates_the_user() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    let (status, read) = server.post("/api/v2/feeds/feed_groups/user/feeds/john", &json!({ "user_id": "john" })).await;
    assert_eq!(status, StatusCode::CREATED, "{read}");
    assert_eq!(read["created"], json!(true));
    let body = json!({ "type": "post", "feeds": ["user:john"], "text": "Hello", "user_id": "john" });
    let (status, resp) = server.post("/api/v2/feeds/activities", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    assert_eq!(server.feed_ids("user:john", "john").await, vec![resp["activity"]["id"].as_str().expect("id")]);

    // A user token's first read creates its user too.
    let (status, read) = srv.user("jane").post("/api/v2/feeds/feed_groups/user/feeds/jane", &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{read}");
    let users = existing_users(&server, &["jane".into(), "john".into()]).await;
    assert_eq!(users, vec!["jane".to_string(), "john".to_string()]);
}

/// GetComments / GetCommentReplies: `depth` = levels of replies shown below
/// each listed comment.
#[tokio::test(flavor = "multi_thread")]
async fn comment_depth_counts_reply_levels() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    let post = server.add_activity("a", &["user:a"], json!({ "create_users": true })).await;
    let post = post["id"].as_str().expect("id").to_string();
    let add = |body: Value| {
        let server = server.clone();
        async move {
            let (status, resp) = server.post("/api/v2/feeds/comments", &body).await;
            assert_eq!(status, StatusCode::CREATED, "{resp}");
            resp["comment"]["id"].as_str().expect("id").to_string()
        }
    };
    let root = add(json!({ "object_id": post, "object_type": "activity", "comment": "root", "user_id": "a" })).await;
    let mut replies = Vec::new();
    for i in 0..3 {
        replies.push(add(json!({ "parent_id": root, "comment": format!("r{i}"), "user_id": "a" })).await);
    }
    let deep = add(json!({ "parent_id": replies[0], "comment": "deep", "user_id": "a" })).await;

    let read = |path: String| {
        let server = server.clone();
        async move {
            let (status, body) = server.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["comments"].as_array().cloned().unwrap_or_default()
        }
    };
    let ids = |nodes: &Value| -> Vec<String> {
        nodes
            .as_array()
            .map(|a| a.iter().map(|n| n["id"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    };
    let base = format!("/api/v2/feeds/comments?object_id={post}&object_type=activity&sort=first");

    let flat = read(format!("{base}&depth=0")).await;
    assert_eq!(flat[0]["replies"], json!([]));
    assert_eq!(flat[0]["meta"]["depth_truncated"], json!(true), "{}", flat[0]);
    assert_eq!(read(base.clone()).await[0]["replies"], json!([]), "no depth = first level only");

    let one = read(format!("{base}&depth=1&replies_limit=2")).await;
    assert_eq!(ids(&one[0]["replies"]), replies[..2].to_vec());
    assert_eq!(one[0]["meta"]["has_more"], json!(true));
    assert_eq!(one[0]["meta"]["remaining"], json!(1));
    assert_eq!(one[0]["meta"]["depth_truncated"], json!(false));
    assert_eq!(one[0]["replies"][0]["replies"], json!([]));
    assert_eq!(one[0]["replies"][0]["meta"]["depth_truncated"], json!(true), "the deep reply is below depth 1");
    assert_eq!(one[0]["replies"][1]["meta"]["depth_truncated"], json!(false), "r1 has no replies");

    let two = read(format!("{base}&depth=2&replies_limit=2")).await;
    assert_eq!(ids(&two[0]["replies"][0]["replies"]), vec![deep.clone()]);
    assert_eq!(two[0]["replies"][0]["meta"]["depth_truncated"], json!(false));

    let below = format!("/api/v2/feeds/comments/{root}/replies?sort=first");
    let direct = read(format!("{below}&depth=1")).await;
    assert_eq!(ids(&Value::Array(direct.clone())), replies);
    assert_eq!(ids(&direct[0]["replies"]), vec![deep.clone()], "depth 1 shows the replies' replies");
    // GetCommentReplies: 0 (or none) = unlimited.
    assert_eq!(ids(&read(below.clone()).await[0]["replies"]), vec![deep]);
}
