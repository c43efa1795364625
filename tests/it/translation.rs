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
