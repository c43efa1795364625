//! The request-field contract (`src/http/fields.rs`): spec fields the server
//! does not build are refused with a 400 naming them, never dropped.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};

fn assert_refused(resp: &(StatusCode, Value), field: &str) {
    assert_error(resp, StatusCode::BAD_REQUEST, 4);
    let message = resp.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("{field} is not supported")), "names {field}: {}", resp.1);
    assert!(resp.1["exception_fields"][field].is_string(), "exception_fields names {field}: {}", resp.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_fields_with_a_value_are_400_naming_them_and_defaults_pass() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&["alice"]).await;
    let post = json!({ "type": "post", "feeds": ["user:alice"], "user_id": "alice", "text": "hi" });
    let with = |extra: Value| {
        let mut body = post.clone();
        if let (Some(o), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            o.extend(extra.clone());
        }
        body
    };
    let add = "/api/v2/feeds/activities";
    assert_refused(&server.post(add, &with(json!({ "force_moderation": true }))).await, "force_moderation");
    let resp = server.post("/api/v2/feeds/feeds/batch", &json!({ "feeds": [], "enrich_own_fields": true })).await;
    assert_refused(&resp, "enrich_own_fields");
    // Explicit defaults ask for nothing; unknown fields stay ignored.
    let resp = server.post(add, &with(json!({ "force_moderation": false, "skip_push": true, "no_such": 1 }))).await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    let id = resp.1["activity"]["id"].as_str().unwrap_or_default().to_string();

    // Query parameters, nested fields and array items.
    let resp = server.get("/api/v2/feeds/collections?collection_refs=food:pizza&user_id=alice").await;
    assert_refused(&resp, "user_id");
    let resp = server.get(&format!("/api/v2/feeds/activities/{id}?translate_text=false")).await;
    assert_eq!(resp.0, StatusCode::OK, "{}", resp.1);
    let read = "/api/v2/feeds/feed_groups/user/feeds/alice";
    let resp = server
        .post(read, &json!({ "user_id": "alice", "enrichment_options": { "skip_activity_collections": true } }))
        .await;
    assert_refused(&resp, "enrichment_options.skip_activity_collections");
    let resp = server.post(read, &json!({ "user_id": "alice", "friend_reactions_options": {"enabled": true} })).await;
    assert_refused(&resp, "friend_reactions_options");
    let resp = server.post(read, &json!({ "user_id": "alice", "view": "", "friend_reactions_options": {} })).await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    // `watch` is honoured: without a connection to subscribe it is a 400
    // naming `connection_id`.
    let resp = server.post("/api/v2/feeds/feeds/query", &json!({ "watch": true })).await;
    assert_eq!(resp.0, StatusCode::BAD_REQUEST, "{}", resp.1);
    assert!(resp.1["exception_fields"]["connection_id"].is_string(), "{}", resp.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn user_id_given_as_user_names_the_author() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&["alice", "bob"]).await;
    let add = "/api/v2/feeds/activities";
    let resp = server.post(add, &json!({ "type": "post", "feeds": ["user:alice"], "user": { "id": "alice" } })).await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    assert_eq!(resp.1["activity"]["user"]["id"], "alice");
    let id = resp.1["activity"]["id"].as_str().unwrap_or_default().to_string();

    let resp = server
        .post(
            "/api/v2/feeds/comments",
            &json!({
                "object_id": id, "object_type": "activity", "comment": "nice", "user": { "id": "bob" }
            }),
        )
        .await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    assert_eq!(resp.1["comment"]["user"]["id"], "bob");

    let resp = server
        .post(&format!("/api/v2/feeds/activities/{id}/reactions"), &json!({ "type": "like", "user": { "id": "bob" } }))
        .await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    assert_eq!(resp.1["reaction"]["user"]["id"], "bob");

    // The rest of a UserRequest is refused: profiles change via update_users.
    let resp = server
        .post(
            "/api/v2/feeds/comments",
            &json!({ "object_id": id, "object_type": "activity", "comment": "x", "user": { "id": "bob", "name": "B" } }),
        )
        .await;
    assert_refused(&resp, "user.name");
    // Two different authors is an input error.
    let resp = server
        .post(add, &json!({ "type": "post", "feeds": ["user:alice"], "user_id": "bob", "user": { "id": "alice" } }))
        .await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn query_bookmarks_and_collections_honour_user_id() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&["alice", "bob"]).await;
    let activity = server.add_activity("alice", &["user:alice"], json!({})).await;
    let id = activity["id"].as_str().unwrap_or_default().to_string();
    for user in ["alice", "bob"] {
        let resp = server.post(&format!("/api/v2/feeds/activities/{id}/bookmarks"), &json!({ "user_id": user })).await;
        assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    }
    let owners = |body: &Value, list: &str| -> Vec<String> {
        body[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["user"]["id"].as_str().or(b["user_id"].as_str()).map(String::from))
            .collect()
    };
    let resp = server.post("/api/v2/feeds/bookmarks/query", &json!({ "user_id": "bob" })).await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    assert_eq!(owners(&resp.1, "bookmarks"), vec!["bob"]);
    let resp = server.post("/api/v2/feeds/bookmarks/query", &json!({})).await;
    assert_eq!(owners(&resp.1, "bookmarks").len(), 2, "server-side without user_id lists everyone's");
    let resp = srv.user("alice").post("/api/v2/feeds/bookmarks/query", &json!({ "user_id": "bob" })).await;
    assert_error(&resp, StatusCode::FORBIDDEN, 17);

    // create_collections: a top-level user_id owns them.
    let resp = server
        .post(
            "/api/v2/feeds/collections",
            &json!({
                "user_id": "alice", "collections": [{ "name": "food", "id": "pizza", "custom": { "k": 1 } }]
            }),
        )
        .await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    let resp = server
        .post(
            "/api/v2/feeds/collections",
            &json!({
                "collections": [{ "name": "food", "id": "soup", "custom": { "k": 2 }, "user_id": "bob" }]
            }),
        )
        .await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    let resp = server.post("/api/v2/feeds/collections/query", &json!({ "user_id": "alice" })).await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    let ids: Vec<&str> =
        resp.1["collections"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, vec!["pizza"], "{}", resp.1);
    let resp = srv.user("bob").post("/api/v2/feeds/collections/query", &json!({ "user_id": "alice" })).await;
    assert_error(&resp, StatusCode::FORBIDDEN, 17);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_activity_honours_comment_sort_and_comment_limit() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&["alice", "bob"]).await;
    let activity = server.add_activity("alice", &["user:alice"], json!({})).await;
    let id = activity["id"].as_str().unwrap_or_default().to_string();
    let mut comment_ids = Vec::new();
    for n in 0..4 {
        let resp = server
            .post(
                "/api/v2/feeds/comments",
                &json!({ "object_id": id, "object_type": "activity", "comment": format!("c{n}"), "user_id": "bob" }),
            )
            .await;
        assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
        comment_ids.push(resp.1["comment"]["id"].as_str().unwrap_or_default().to_string());
    }
    // Upvote the second comment so `popular` puts it first.
    let resp = server
        .post(
            &format!("/api/v2/feeds/comments/{}/reactions", comment_ids[1]),
            &json!({ "type": "upvote", "user_id": "alice" }),
        )
        .await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    let embedded = |body: &Value| -> Vec<String> {
        body["activity"]["comments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["id"].as_str().map(String::from))
            .collect()
    };
    let resp = server.get(&format!("/api/v2/feeds/activities/{id}?comment_sort=first&comment_limit=2")).await;
    assert_eq!(resp.0, StatusCode::OK, "{}", resp.1);
    assert_eq!(embedded(&resp.1), comment_ids[..2].to_vec());
    let resp = server.get(&format!("/api/v2/feeds/activities/{id}?comment_sort=last&comment_limit=3")).await;
    assert_eq!(embedded(&resp.1), vec![comment_ids[3].clone(), comment_ids[2].clone(), comment_ids[1].clone()]);
    let resp = server.get(&format!("/api/v2/feeds/activities/{id}?comment_sort=popular&comment_limit=1")).await;
    assert_eq!(embedded(&resp.1), vec![comment_ids[1].clone()]);
    assert_eq!(resp.1["activity"]["comment_count"], 4);
    let resp = server.get(&format!("/api/v2/feeds/activities/{id}?comment_limit=0")).await;
    assert_eq!(embedded(&resp.1), Vec::<String>::new());
    assert_error(
        &server.get(&format!("/api/v2/feeds/activities/{id}?comment_limit=21")).await,
        StatusCode::BAD_REQUEST,
        4,
    );
    assert_error(
        &server.get(&format!("/api/v2/feeds/activities/{id}?comment_sort=best")).await,
        StatusCode::BAD_REQUEST,
        4,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn query_activities_honours_include_private_activities() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&["alice", "bob"]).await;
    let private = server.add_activity("alice", &["user:alice"], json!({ "visibility": "private" })).await;
    let public = server.add_activity("alice", &["user:alice"], json!({})).await;
    let (private, public) = (private["id"].as_str().unwrap_or_default(), public["id"].as_str().unwrap_or_default());
    let query = |client: crate::support::Client, body: Value| async move {
        let resp = client.post("/api/v2/feeds/activities/query", &body).await;
        assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
        crate::support::ids_of(&resp.1)
    };
    let filter = json!({ "user_id": "alice" });
    // Server-side: a private activity reaches its author (the user named) or
    // everyone when asked for.
    assert_eq!(query(server.clone(), json!({ "filter": filter })).await, vec![public]);
    assert_eq!(query(server.clone(), json!({ "filter": filter, "user_id": "bob" })).await, vec![public]);
    assert_eq!(query(server.clone(), json!({ "filter": filter, "user_id": "alice" })).await, vec![public, private]);
    let all = json!({ "filter": filter, "include_private_activities": true });
    assert_eq!(query(server.clone(), all.clone()).await, vec![public, private]);
    // User tokens: their own private activities, never anyone else's.
    assert_eq!(query(srv.user("alice"), json!({ "filter": filter })).await, vec![public, private]);
    assert_eq!(query(srv.user("bob"), all).await, vec![public]);
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_reads_honour_activity_skip_options() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    server.create_users(&["alice"]).await;
    let parent = server.add_activity("alice", &["user:alice"], json!({})).await;
    let reply = server.add_activity("alice", &["user:alice"], json!({ "parent_id": parent["id"] })).await;
    let id = reply["id"].as_str().unwrap_or_default().to_string();
    let resp = server
        .post(
            "/api/v2/feeds/comments",
            &json!({ "object_id": id, "object_type": "activity", "comment": "c", "user_id": "alice" }),
        )
        .await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    let resp = server.post(&format!("/api/v2/feeds/activities/{id}/bookmarks"), &json!({ "user_id": "alice" })).await;
    assert_eq!(resp.0, StatusCode::CREATED, "{}", resp.1);
    let newest = |read: &Value| read["activities"][0].clone();

    let full = newest(&server.read_feed("user:alice", "alice", json!({})).await);
    assert_eq!(full["id"], id.as_str());
    assert_eq!(full["comments"].as_array().map(Vec::len), Some(1), "{full}");
    assert!(full["parent"].is_object(), "{full}");
    assert_eq!(full["own_bookmarks"].as_array().map(Vec::len), Some(1), "{full}");

    let options = json!({ "enrichment_options": {
        "skip_activity_comments": true, "skip_activity_parents": true, "skip_activity_own_bookmarks": true,
        "skip_activity_poll": true, "skip_activity_refresh_image_urls": true
    }});
    let lean = newest(&server.read_feed("user:alice", "alice", options).await);
    assert_eq!(lean["comments"].as_array().map(Vec::len).unwrap_or(0), 0, "{lean}");
    assert!(lean["parent"].is_null(), "{lean}");
    assert_eq!(lean["own_bookmarks"].as_array().map(Vec::len).unwrap_or(0), 0, "{lean}");
    assert_eq!(lean["comment_count"], 1, "counts stay: {lean}");
}

/// The check skips parsing bodies whose text names no refused key; a key
/// spelled with `\u` escapes must still be found.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_field_spelled_with_escapes_is_still_refused() {
    let srv = TestServer::spawn().await;
    let client = srv.server();
    client.create_users(&["u1"]).await;
    let body = r#"{"user_id": "u1", "\u0066riend_reactions_options": {"enabled": true}}"#;
    let resp = client.post_raw("/api/v2/feeds/feed_groups/user/feeds/u1", body).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"]["friend_reactions_options"].is_string(), "{}", resp.1);
    let body = r#"{"user_id": "u1", "friend_reactions_options": {"enabled": true}}"#;
    let resp = client.post_raw("/api/v2/feeds/feed_groups/user/feeds/u1", body).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let (status, read) = client.post_raw("/api/v2/feeds/feed_groups/user/feeds/u1", r#"{"user_id": "u1"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{read}");
}
