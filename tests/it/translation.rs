//! TranslateActivity and TranslateComment against a small fake
//! LibreTranslate started by the test: the request it gets, `i18n` in the
//! responses, the cache (a second call does not reach the provider, an edit
//! of the text does), bounds, provider failures, and the 400 when no
//! provider is configured.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::Json;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tributary::config::TranslationOptions;

use crate::support::{assert_error, TestServer};

#[derive(Clone, Default)]
struct Provider(Arc<Mutex<Vec<Value>>>);

/// Translates by upper-casing and prefixing the target; refuses `xx` as
/// LibreTranslate refuses a language it lacks; fails on `yy`.
async fn translate(State(provider): State<Provider>, Json(req): Json<Value>) -> (AxumStatus, Json<Value>) {
    provider.0.lock().unwrap().push(req.clone());
    let target = req["target"].as_str().unwrap_or_default().to_string();
    match target.as_str() {
        "xx" => (AxumStatus::BAD_REQUEST, Json(json!({"error": "xx is not supported"}))),
        "yy" => (AxumStatus::INTERNAL_SERVER_ERROR, Json(json!({"error": "boom"}))),
        _ => {
            let text = req["q"].as_str().unwrap_or_default().to_uppercase();
            let answer = json!({"translatedText": format!("[{target}] {text}"),
                                "detectedLanguage": {"confidence": 90.0, "language": "en"}});
            (AxumStatus::OK, Json(answer))
        }
    }
}

async fn start_provider() -> (Provider, String, tokio::task::JoinHandle<()>) {
    let provider = Provider::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/translate", axum::routing::post(translate)).with_state(provider.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (provider, url, task)
}

#[tokio::test]
async fn activities_and_comments_are_translated_once_and_cached_until_edited() {
    let (provider, url, _task) = start_provider().await;
    let server =
        TestServer::spawn_with_translation(TranslationOptions { translation_url: Some(url), ..Default::default() })
            .await;
    let admin = server.server();
    admin.create_users(&["ann", "ben"]).await;
    let activity = admin.add_activity("ann", &["user:ann"], json!({"text": "good morning"})).await;
    let id = activity["id"].as_str().unwrap();
    assert!(activity.get("i18n").is_none(), "{activity}");
    let ben = server.user("ben");
    let path = format!("/api/v2/feeds/activities/{id}/translate");

    let (status, body) = ben.post(&path, &json!({"language": "fr"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["duration"].is_string());
    assert_eq!(body["activity"]["i18n"], json!({"fr_text": "[fr] GOOD MORNING", "language": "en"}), "{body}");
    assert_eq!(body["activity"]["text"], "good morning");
    assert_eq!(
        provider.0.lock().unwrap().clone(),
        vec![json!({"q": "good morning", "source": "auto", "target": "fr", "format": "text"})]
    );

    // Cached: the same language again costs no call; a second language adds
    // to the map; reads show it.
    let (status, body) = ben.post(&path, &json!({"language": "fr"})).await;
    assert_eq!((status, &body["activity"]["i18n"]["fr_text"]), (StatusCode::CREATED, &json!("[fr] GOOD MORNING")));
    assert_eq!(provider.0.lock().unwrap().len(), 1);
    let (_, body) = ben.post(&path, &json!({"language": "de"})).await;
    assert_eq!(body["activity"]["i18n"]["de_text"], "[de] GOOD MORNING", "{body}");
    assert_eq!(body["activity"]["i18n"]["fr_text"], "[fr] GOOD MORNING", "{body}");
    assert_eq!(provider.0.lock().unwrap().len(), 2);
    let (_, read) = ben.get(&format!("/api/v2/feeds/activities/{id}")).await;
    assert_eq!(read["activity"]["i18n"]["de_text"], "[de] GOOD MORNING", "{read}");

    // An edit of the text retires the translations.
    let (status, body) = admin
        .patch(&format!("/api/v2/feeds/activities/{id}"), &json!({"user_id": "ann", "set": {"text": "good night"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["activity"].get("i18n").is_none(), "{body}");
    let (_, body) = ben.post(&path, &json!({"language": "fr"})).await;
    assert_eq!(body["activity"]["i18n"], json!({"fr_text": "[fr] GOOD NIGHT", "language": "en"}), "{body}");
    assert_eq!(provider.0.lock().unwrap().len(), 3);

    // Comments the same way.
    let (status, body) = admin
        .post(
            "/api/v2/feeds/comments",
            &json!({"object_id": id, "object_type": "activity", "comment": "thanks", "user_id": "ben"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let comment = body["comment"]["id"].as_str().unwrap().to_string();
    let cpath = format!("/api/v2/feeds/comments/{comment}/translate");
    let (status, body) = server.user("ann").post(&cpath, &json!({"language": "es"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["comment"]["i18n"]["es_text"], "[es] THANKS", "{body}");
    let (_, body) = server.user("ann").post(&cpath, &json!({"language": "es"})).await;
    assert_eq!(body["comment"]["i18n"]["es_text"], "[es] THANKS");
    assert_eq!(provider.0.lock().unwrap().len(), 4);

    // Bad input and provider answers.
    let resp = ben.post(&path, &json!({"language": "French"})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"].get("language").is_some(), "{}", resp.1);
    assert_error(&ben.post(&path, &json!({})).await, StatusCode::BAD_REQUEST, 4);
    let resp = ben.post(&path, &json!({"language": "xx"})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().unwrap().contains("xx is not supported"), "{}", resp.1);
    let resp = ben.post(&path, &json!({"language": "yy"})).await;
    assert_error(&resp, StatusCode::BAD_GATEWAY, -1);
    assert_error(
        &ben.post("/api/v2/feeds/activities/nope/translate", &json!({"language": "fr"})).await,
        StatusCode::NOT_FOUND,
        16,
    );
    let long = admin.add_activity("ann", &["user:ann"], json!({"text": "a".repeat(5_001)})).await;
    let resp = ben
        .post(
            &format!("/api/v2/feeds/activities/{}/translate", long["id"].as_str().unwrap()),
            &json!({"language": "fr"}),
        )
        .await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert_eq!(provider.0.lock().unwrap().len(), 6, "only xx and yy reached the provider after the comment");
}

#[tokio::test]
async fn without_a_provider_translation_is_a_clear_400() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["ann"]).await;
    let activity = admin.add_activity("ann", &["user:ann"], json!({"text": "hello"})).await;
    let resp = server
        .user("ann")
        .post(
            &format!("/api/v2/feeds/activities/{}/translate", activity["id"].as_str().unwrap()),
            &json!({"language": "fr"}),
        )
        .await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().unwrap().contains("translation is not configured"), "{}", resp.1);
}

fn ok(resp: (StatusCode, Value)) -> Value {
    assert!(resp.0.is_success(), "{} {}", resp.0, resp.1);
    resp.1
}

const FR: &str = "language=fr&translate_text=true";

/// `language` and `translate_text` on every read: each activity and comment
/// whose stored translations hold the language shows only those (and the
/// source language), its text translated when asked; nested records
/// (parents, comment previews, pins, bookmarks, replies) alike; others as
/// stored. No provider call.
#[tokio::test]
async fn reads_project_stored_translations_for_the_language_asked() {
    let (provider, url, _task) = start_provider().await;
    let server =
        TestServer::spawn_with_translation(TranslationOptions { translation_url: Some(url), ..Default::default() })
            .await;
    let admin = server.server();
    admin.create_users(&["ann", "ben"]).await;
    let ben = server.user("ben");
    let post = admin.add_activity("ann", &["user:ann"], json!({"text": "good morning"})).await;
    let id = post["id"].as_str().unwrap().to_string();
    let untranslated = admin.add_activity("ann", &["user:ann"], json!({"text": "plain"})).await;
    let plain = untranslated["id"].as_str().unwrap().to_string();
    for language in ["fr", "de"] {
        ok(ben.post(&format!("/api/v2/feeds/activities/{id}/translate"), &json!({"language": language})).await);
    }
    let comment = ok(admin
        .post(
            "/api/v2/feeds/comments",
            &json!({"object_id": id, "object_type": "activity", "comment": "thanks", "user_id": "ben"}),
        )
        .await)["comment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = ok(admin
        .post(
            "/api/v2/feeds/comments",
            &json!({"object_id": id, "object_type": "activity", "comment": "welcome", "parent_id": comment, "user_id": "ann"}),
        )
        .await)["comment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for c in [&comment, &reply] {
        ok(ben.post(&format!("/api/v2/feeds/comments/{c}/translate"), &json!({"language": "fr"})).await);
    }
    let share = admin.add_activity("ben", &["user:ben"], json!({"text": "look", "parent_id": id})).await;
    let share = share["id"].as_str().unwrap().to_string();
    let calls = provider.0.lock().unwrap().len();
    assert_eq!(calls, 4);

    let projected = |v: &Value, text: &str| {
        assert_eq!(v["text"], text, "{v}");
        assert_eq!(v["i18n"], json!({"fr_text": text, "language": "en"}), "{v}");
    };
    let fr_post = "[fr] GOOD MORNING";

    // GetActivity: all of it, text kept without translate_text.
    let (_, read) = ben.get(&format!("/api/v2/feeds/activities/{id}")).await;
    assert_eq!(read["activity"]["i18n"].as_object().unwrap().len(), 3, "{read}");
    let (_, read) = ben.get(&format!("/api/v2/feeds/activities/{id}?language=fr")).await;
    assert_eq!(read["activity"]["text"], "good morning", "{read}");
    assert_eq!(read["activity"]["i18n"], json!({"fr_text": fr_post, "language": "en"}), "{read}");
    let read = ok(ben.get(&format!("/api/v2/feeds/activities/{id}?{FR}&comment_limit=5")).await);
    projected(&read["activity"], fr_post);
    let comments = read["activity"]["comments"].as_array().unwrap();
    let top = comments.iter().find(|c| c["id"] == comment.as_str()).expect("comment embedded");
    projected(top, "[fr] THANKS");
    // A language not stored leaves text and i18n as stored.
    let read = ok(ben.get(&format!("/api/v2/feeds/activities/{id}?language=es&translate_text=true")).await);
    assert_eq!(read["activity"]["text"], "good morning");
    assert_eq!(read["activity"]["i18n"].as_object().unwrap().len(), 3, "{read}");
    let read = ok(ben.get(&format!("/api/v2/feeds/activities/{plain}?{FR}")).await);
    assert_eq!(read["activity"]["text"], "plain");
    assert!(read["activity"].get("i18n").is_none(), "{read}");
    // A parent is projected with its child.
    let read = ok(ben.get(&format!("/api/v2/feeds/activities/{share}?{FR}")).await);
    assert_eq!(read["activity"]["text"], "look");
    projected(&read["activity"]["parent"], fr_post);

    // QueryActivities.
    let read = ok(ben
        .post(&format!("/api/v2/feeds/activities/query?{FR}"), &json!({"filter": {"id": id}, "user_id": "ben"}))
        .await);
    projected(&read["activities"][0], fr_post);

    // GetOrCreateFeed, with its comment previews and pinned activities.
    ok(admin
        .post(&format!("/api/v2/feeds/feed_groups/user/feeds/ann/activities/{id}/pin"), &json!({"user_id": "ann"}))
        .await);
    let read = ok(ben.post(&format!("/api/v2/feeds/feed_groups/user/feeds/ann?{FR}"), &json!({})).await);
    let in_feed = read["activities"].as_array().unwrap().iter().find(|a| a["id"] == id.as_str()).unwrap();
    projected(in_feed, fr_post);
    let preview = in_feed["comments"].as_array().unwrap().iter().find(|c| c["id"] == comment.as_str()).unwrap();
    projected(preview, "[fr] THANKS");
    projected(&read["pinned_activities"][0]["activity"], fr_post);
    let plain_in_feed = read["activities"].as_array().unwrap().iter().find(|a| a["id"] == plain.as_str()).unwrap();
    assert_eq!(plain_in_feed["text"], "plain");

    // QueryPinnedActivities.
    let read = ok(ben
        .post(&format!("/api/v2/feeds/feed_groups/user/feeds/ann/pinned_activities/query?{FR}"), &json!({}))
        .await);
    projected(&read["pinned_activities"][0]["activity"], fr_post);

    // QueryBookmarks: the bookmarked activity.
    ok(ben.post(&format!("/api/v2/feeds/activities/{id}/bookmarks"), &json!({})).await);
    let read = ok(ben.post(&format!("/api/v2/feeds/bookmarks/query?{FR}"), &json!({})).await);
    projected(&read["bookmarks"][0]["activity"], fr_post);

    // Comments: GetComment, GetComments (with replies), GetCommentReplies, QueryComments.
    let read = ok(ben.get(&format!("/api/v2/feeds/comments/{comment}?{FR}")).await);
    projected(&read["comment"], "[fr] THANKS");
    let read = ok(ben.get(&format!("/api/v2/feeds/comments/{comment}?language=fr")).await);
    assert_eq!(read["comment"]["text"], "thanks");
    let read = ok(ben.get(&format!("/api/v2/feeds/comments?object_id={id}&object_type=activity&depth=2&{FR}")).await);
    let thread = read["comments"].as_array().unwrap().iter().find(|c| c["id"] == comment.as_str()).unwrap();
    projected(thread, "[fr] THANKS");
    projected(&thread["replies"][0], "[fr] WELCOME");
    let read = ok(ben.get(&format!("/api/v2/feeds/comments/{comment}/replies?{FR}")).await);
    projected(&read["comments"][0], "[fr] WELCOME");
    let read = ok(ben
        .post(&format!("/api/v2/feeds/comments/query?{FR}"), &json!({"filter": {"object_id": id}, "limit": 10}))
        .await);
    assert_eq!(read["comments"].as_array().unwrap().len(), 2, "{read}");
    for c in read["comments"].as_array().unwrap() {
        assert!(c["text"].as_str().unwrap().starts_with("[fr] "), "{c}");
    }

    // Reads never call the provider.
    assert_eq!(provider.0.lock().unwrap().len(), calls);

    // Bad parameters are 400s naming them.
    for (query, field) in [
        ("language=French", "language"),
        ("language=fr_FR&translate_text=true", "language"),
        ("translate_text=true", "translate_text"),
        ("language=&translate_text=true", "translate_text"),
        ("language=fr&translate_text=maybe", "translate_text"),
    ] {
        let resp = ben.get(&format!("/api/v2/feeds/activities/{id}?{query}")).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
        assert!(resp.1["exception_fields"][field].is_string(), "{query}: {}", resp.1);
        let resp = ben.post(&format!("/api/v2/feeds/feed_groups/user/feeds/ann?{query}"), &json!({})).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
        let resp = ben.get(&format!("/api/v2/feeds/comments/{comment}?{query}")).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    }
    // Defaults ask for nothing.
    let read = ok(ben.get(&format!("/api/v2/feeds/activities/{id}?language=&translate_text=false")).await);
    assert_eq!(read["activity"]["i18n"].as_object().unwrap().len(), 3, "{read}");
}

/// A translation that stores something emits `feeds.activity.updated` or
/// `feeds.comment.updated` carrying the new `i18n`, as a watcher sees it;
/// one served from the cache changes nothing and emits nothing.
#[tokio::test]
async fn translations_emit_updated_events() {
    use crate::realtime::{connect, next_json};
    let (_provider, url, _task) = start_provider().await;
    let server =
        TestServer::spawn_with_translation(TranslationOptions { translation_url: Some(url), ..Default::default() })
            .await;
    let admin = server.server();
    admin.create_users(&["ann", "ben"]).await;
    let (mut socket, connection) = connect(&server, "ann").await;
    let watch = format!("/api/v2/feeds/feed_groups/user/feeds/ann?connection_id={connection}");
    ok(server.user("ann").post(&watch, &json!({"watch": true})).await);
    let id = admin.add_activity("ann", &["user:ann"], json!({"text": "good morning"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let comment = ok(admin
        .post(
            "/api/v2/feeds/comments",
            &json!({"object_id": id, "object_type": "activity", "comment": "thanks", "user_id": "ann"}),
        )
        .await)["comment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ben = server.user("ben");
    let translate = format!("/api/v2/feeds/activities/{id}/translate");
    ok(ben.post(&translate, &json!({"language": "fr"})).await);
    // Served from the cache: no second event.
    ok(ben.post(&translate, &json!({"language": "fr"})).await);
    ok(ben.post(&format!("/api/v2/feeds/comments/{comment}/translate"), &json!({"language": "de"})).await);

    let mut seen = Vec::new();
    while seen.len() < 2 {
        let frame = next_json(&mut socket).await;
        let kind = frame["type"].as_str().unwrap_or_default().to_string();
        if kind == "feeds.activity.updated" || kind == "feeds.comment.updated" {
            seen.push(frame);
        }
    }
    assert_eq!(seen[0]["type"], "feeds.activity.updated", "{}", seen[0]);
    assert_eq!(seen[0]["fid"], "user:ann");
    assert_eq!(seen[0]["user"]["id"], "ben", "{}", seen[0]);
    assert_eq!(seen[0]["activity"]["id"], id.as_str());
    assert_eq!(seen[0]["activity"]["i18n"], json!({"fr_text": "[fr] GOOD MORNING", "language": "en"}), "{}", seen[0]);
    assert_eq!(seen[1]["type"], "feeds.comment.updated", "the cached call emitted nothing: {}", seen[1]);
    assert_eq!(seen[1]["comment"]["id"], comment.as_str());
    assert_eq!(seen[1]["comment"]["i18n"], json!({"de_text": "[de] THANKS", "language": "en"}), "{}", seen[1]);
}
