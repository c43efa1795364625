//! GetApp / UpdateApp: the webhook settings, their bounds, who may see and
//! change them, and concurrent updates that all land.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, is_integer, Client, TestServer};

const APP: &str = "/api/v2/app";

async fn get_app(api: &Client) -> Value {
    let (status, body) = api.get(APP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["app"].clone()
}

async fn update(api: &Client, body: Value) {
    let (status, resp) = api.patch(APP, &body).await;
    assert_eq!(status, StatusCode::OK, "{body} → {resp}");
}

#[track_caller]
fn assert_bad(resp: &(StatusCode, Value), field: &str) {
    assert_error(resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"][field].is_string(), "exception_fields names {field}: {}", resp.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn defaults_carry_every_required_field() {
    let srv = TestServer::spawn().await;
    let app = get_app(&srv.server()).await;
    assert_eq!(app["id"], json!(1));
    assert_eq!(app["webhook_url"], json!(""));
    assert_eq!(app["webhook_events"], json!([]));
    assert_eq!(app["event_hooks"], json!([]));
    assert_eq!(app["grants"], json!({}));
    assert_eq!(app["push_notifications"]["apn"], json!({ "enabled": false, "development": false }));
    assert_eq!(app["file_upload_config"]["size_limit"], json!(0));
    for key in ["name", "organization", "placement", "sqs_secret", "sns_secret", "permission_version"] {
        assert!(app[key].is_string(), "{key}: {app}");
    }
    for key in ["suspended", "disable_auth_checks", "use_hook_v2", "campaign_enabled", "moderation_enabled"] {
        assert!(app[key].is_boolean(), "{key}: {app}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_settings_are_stored_and_read_back() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    update(
        &api,
        json!({
            "webhook_url": "https://hooks.example/legacy",
            "webhook_events": ["feeds.activity.added", "feeds.follow.created", "feeds.activity.added"],
        }),
    )
    .await;
    let hooks = json!([
        { "id": "main", "hook_type": "webhook", "enabled": true, "webhook_url": "http://127.0.0.1:9/in",
          "event_types": ["feeds.activity.added"], "timeout_ms": 2500, "product": "feeds",
          "should_send_custom_events": true },
        { "enabled": false, "webhook_url": "https://second.example/x" },
    ]);
    update(&api, json!({ "event_hooks": hooks, "enable_hook_payload_compression": true })).await;

    let app = get_app(&api).await;
    assert_eq!(app["webhook_url"], json!("https://hooks.example/legacy"));
    assert_eq!(app["webhook_events"], json!(["feeds.activity.added", "feeds.follow.created"]));
    let got = app["event_hooks"].as_array().expect("event_hooks").clone();
    assert_eq!(got.len(), 2, "{app}");
    let main = &got[0];
    assert_eq!(main["id"], json!("main"));
    assert_eq!(main["hook_type"], json!("webhook"));
    assert_eq!(main["enabled"], json!(true));
    assert_eq!(main["timeout_ms"], json!(2500));
    assert_eq!(main["product"], json!("feeds"));
    assert_eq!(main["should_send_custom_events"], json!(true));
    assert!(is_integer(&main["created_at"]) && is_integer(&main["updated_at"]), "{main}");
    let second = &got[1];
    assert_eq!(second["hook_type"], json!("webhook"), "absent hook_type is a webhook");
    let generated = second["id"].as_str().expect("generated id");
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");

    // Re-sending the hooks as read keeps them; a change moves `updated_at`
    // only, and a hook left out is deleted.
    update(&api, json!({ "event_hooks": got })).await;
    assert_eq!(get_app(&api).await["event_hooks"], json!(got));
    let mut changed = main.clone();
    changed["event_types"] = json!([]);
    update(&api, json!({ "event_hooks": [changed] })).await;
    let after = get_app(&api).await["event_hooks"].clone();
    assert_eq!(after.as_array().map(Vec::len), Some(1), "{after}");
    assert_eq!(after[0]["created_at"], main["created_at"]);
    assert!(after[0]["updated_at"].as_i64() > main["updated_at"].as_i64(), "{after}");
    // The legacy fields were not touched by the hook updates.
    assert_eq!(get_app(&api).await["webhook_url"], json!("https://hooks.example/legacy"));

    // What the deliverer reads.
    let ctx = tributary::core::Ctx::new(srv.open_store().await);
    let settings = tributary::core::app::settings(&ctx).await.expect("settings");
    let targets = settings.webhook_targets();
    let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["main", "webhook_url"]);
    assert!(targets.iter().all(|t| t.compress));
    assert_eq!(targets[0].timeout_ms, Some(2500));
    assert!(targets[0].event_types.is_empty());

    // Empty values clear.
    update(&api, json!({ "webhook_url": "", "webhook_events": [], "event_hooks": [] })).await;
    let app = get_app(&api).await;
    assert_eq!(
        (&app["webhook_url"], &app["webhook_events"], &app["event_hooks"]),
        (&json!(""), &json!([]), &json!([]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_settings_and_bad_values_are_400_naming_the_field() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let hook = |extra: Value| {
        let mut h = json!({ "enabled": true, "webhook_url": "https://a.example/h" });
        h.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        json!({ "event_hooks": [h] })
    };
    for (body, field) in [
        (json!({ "disable_auth_checks": true }), "disable_auth_checks"),
        (json!({ "sqs_url": "https://sqs.example/q" }), "sqs_url"),
        (hook(json!({ "sqs_queue_url": "https://sqs.example/q" })), "event_hooks[].sqs_queue_url"),
        (hook(json!({ "hook_type": "sqs" })), "event_hooks[].hook_type"),
        (hook(json!({ "hook_type": "sns" })), "event_hooks[].hook_type"),
        (hook(json!({ "webhook_url": "ftp://a.example/h" })), "event_hooks[].webhook_url"),
        (hook(json!({ "webhook_url": "" })), "event_hooks[].webhook_url"),
        (hook(json!({ "timeout_ms": 99 })), "event_hooks[].timeout_ms"),
        (hook(json!({ "timeout_ms": 60_001 })), "event_hooks[].timeout_ms"),
        (hook(json!({ "event_types": vec!["e"; 101] })), "event_hooks[].event_types"),
        (json!({ "webhook_url": "/relative/path" }), "webhook_url"),
        (json!({ "webhook_url": format!("https://a.example/{}", "x".repeat(2048)) }), "webhook_url"),
        (json!({ "webhook_events": ["x".repeat(65)] }), "webhook_events"),
        (json!({ "event_hooks": vec![json!({ "webhook_url": "https://a.example" }); 11] }), "event_hooks"),
    ] {
        assert_bad(&api.patch(APP, &body).await, field);
    }
    // Nothing was stored, and explicit defaults of refused fields pass.
    assert_eq!(get_app(&api).await["event_hooks"], json!([]));
    update(&api, json!({ "disable_auth_checks": false, "sqs_url": "", "webhook_url": "http://ok.example" })).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_tokens_read_no_webhook_settings_and_cannot_update() {
    let srv = TestServer::spawn().await;
    let url = "https://secret.example/hook";
    update(&srv.server(), json!({ "webhook_url": url, "event_hooks": [{ "enabled": true, "webhook_url": url }] }))
        .await;
    let user = srv.user("jane");
    let app = get_app(&user).await;
    assert_eq!(app["id"], json!(1));
    for key in ["webhook_url", "webhook_events", "event_hooks", "sqs_secret", "sns_secret"] {
        assert!(app.get(key).is_none(), "{key} shown to a user: {app}");
    }
    assert!(!app.to_string().contains("secret.example"), "{app}");
    assert!(app["file_upload_config"]["allowed_mime_types"].is_array(), "{app}");
    assert_error(&user.patch(APP, &json!({ "webhook_url": "https://mine.example" })).await, StatusCode::FORBIDDEN, 17);
    assert_eq!(get_app(&srv.server()).await["webhook_url"], json!(url));
}

/// Lists are replaced whole, as on Stream, so the race is between updates of
/// different fields: 20 at once, five per field, and every field keeps one of
/// its writers' values.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_updates_of_different_fields_all_land() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let bodies: Vec<Value> = (0..20)
        .map(|i| match i % 4 {
            0 => json!({ "webhook_url": format!("https://w{i}.example/") }),
            1 => json!({ "webhook_events": [format!("feeds.e{i}")] }),
            2 => json!({ "enable_hook_payload_compression": true }),
            _ => json!({ "event_hooks": [{ "id": format!("h{i}"), "enabled": true, "webhook_url": "https://h.example" }] }),
        })
        .collect();
    let sends = bodies.iter().map(|body| {
        let api = api.clone();
        async move { api.send(Method::PATCH, APP, Some(body.to_string().into_bytes())).await }
    });
    for (status, body) in join_all(sends).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let app = get_app(&api).await;
    assert!(app["webhook_url"].as_str().is_some_and(|u| u.starts_with("https://w")), "{app}");
    assert!(app["webhook_events"][0].as_str().is_some_and(|e| e.starts_with("feeds.e")), "{app}");
    assert!(app["event_hooks"][0]["id"].as_str().is_some_and(|id| id.starts_with('h')), "{app}");
    let ctx = tributary::core::Ctx::new(srv.open_store().await);
    assert!(tributary::core::app::settings(&ctx).await.expect("settings").enable_hook_payload_compression);
}
