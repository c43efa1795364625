//! Feed views over HTTP (CreateFeedView … ListFeedViews) and the ranking
//! config checks shared with feed groups: a bad `ranking` is a 400 naming the
//! field and, for the expression, the column.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestServer};

const VIEWS: &str = "/api/v2/feeds/feed_views";

#[track_caller]
fn assert_bad(resp: &(StatusCode, Value), field: &str) {
    assert_error(resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"][field].is_string(), "exception_fields names {field}: {}", resp.1);
}

fn ranking() -> Value {
    json!({
        "type": "expression",
        "score": "simple_gauss(time) * (popularity > 0 ? popularity : 1) + user_score",
        "defaults": {"user_score": 0.5},
        "functions": {"simple_gauss": {"base": "decay_gauss", "scale": "5d", "offset": "1d", "decay": "0.3"}},
    })
}

async fn ok(resp: (StatusCode, Value), status: StatusCode) -> Value {
    assert_eq!(resp.0, status, "{}", resp.1);
    assert!(resp.1["duration"].is_string(), "{}", resp.1);
    resp.1
}

#[tokio::test(flavor = "multi_thread")]
async fn views_are_created_read_updated_listed_and_deleted() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let selectors = json!([{"type": "following", "cutoff_window": "7d"}, {"type": "popular", "min_popularity": 3}]);
    let created = ok(
        api.post(VIEWS, &json!({"id": "hot", "activity_selectors": selectors, "ranking": ranking()})).await,
        StatusCode::CREATED,
    )
    .await;
    let view = &created["feed_view"];
    assert_eq!(view["id"], "hot");
    assert_eq!(view["activity_selectors"], selectors);
    assert_eq!(view["ranking"], ranking());
    assert!(view.get("aggregation").is_none() && view.get("last_used_at").is_none(), "{view}");

    let got = ok(api.get(&format!("{VIEWS}/hot")).await, StatusCode::OK).await;
    assert_eq!(got["feed_view"], *view);

    // The same id again is refused; get-or-create returns it unchanged.
    assert_bad(&api.post(VIEWS, &json!({"id": "hot"})).await, "id");
    let again = ok(
        api.post(&format!("{VIEWS}/hot"), &json!({"aggregation": {"format": "{{ type }}"}})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["was_created"], false);
    assert_eq!(again["feed_view"], *view);
    let fresh = ok(
        api.post(&format!("{VIEWS}/grouped"), &json!({"aggregation": {"format": "{{ user_id }}"}})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(fresh["was_created"], true);
    assert_eq!(fresh["feed_view"]["aggregation"], json!({"format": "{{ user_id }}"}));

    // Update replaces every section.
    let updated = ok(
        api.put(&format!("{VIEWS}/hot"), &json!({"ranking": {"type": "expression", "score": "-time"}})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(updated["feed_view"]["ranking"], json!({"type": "expression", "score": "-time"}));
    assert!(updated["feed_view"].get("activity_selectors").is_none(), "{updated}");

    let list = ok(api.get(VIEWS).await, StatusCode::OK).await;
    let views = list["views"].as_object().unwrap();
    assert_eq!(views.keys().collect::<Vec<_>>(), ["grouped", "hot"]);
    assert_eq!(views["hot"], updated["feed_view"]);

    ok(api.delete(&format!("{VIEWS}/hot")).await, StatusCode::OK).await;
    assert_error(&api.get(&format!("{VIEWS}/hot")).await, StatusCode::NOT_FOUND, 16);
    assert_error(&api.delete(&format!("{VIEWS}/hot")).await, StatusCode::NOT_FOUND, 16);
    assert_error(&api.put(&format!("{VIEWS}/hot"), &json!({})).await, StatusCode::NOT_FOUND, 16);
    let list = ok(api.get(VIEWS).await, StatusCode::OK).await;
    assert_eq!(list["views"].as_object().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn views_are_server_side_only() {
    let srv = TestServer::spawn().await;
    let user = srv.user("alice");
    let resp = user.post(VIEWS, &json!({"id": "mine"})).await;
    assert!(resp.0.is_client_error(), "{resp:?}");
    assert!(user.get(VIEWS).await.0.is_client_error());
}

async fn bad_configs(api: &Client, path: &str, method_put: bool) {
    let send = |body: Value| async move {
        if method_put {
            api.put(path, &body).await
        } else {
            api.post(path, &body).await
        }
    };
    let with = |extra: Value| {
        let mut body = json!({"id": "v1"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let resp = send(with(json!({"ranking": {"type": "expression", "score": "decay_exp(time)) * 2"}}))).await;
    assert_bad(&resp, "ranking.score");
    assert!(resp.1["message"].as_str().unwrap().contains("ranking.score: unexpected ')' at 16"), "{}", resp.1);
    let resp = send(with(json!({"ranking": {"type": "expression", "score": "boost(time)"}}))).await;
    assert_bad(&resp, "ranking.score");
    assert!(resp.1["message"].as_str().unwrap().contains("unknown function 'boost' at 1"), "{}", resp.1);
    let resp = send(with(json!({"ranking": {"type": "expression", "score": "1 + type"}}))).await;
    assert_bad(&resp, "ranking.score");
    let deep = format!("{}1", "-".repeat(200));
    assert_bad(&send(with(json!({"ranking": {"type": "expression", "score": deep}}))).await, "ranking.score");
    let long = "1 + ".repeat(1_000) + "1";
    assert_bad(&send(with(json!({"ranking": {"type": "expression", "score": long}}))).await, "ranking.score");
    assert_bad(&send(with(json!({"ranking": {"type": "expression"}}))).await, "ranking.score");
    assert_bad(&send(with(json!({"ranking": {"type": "magic", "score": "1"}}))).await, "ranking.type");
    assert_bad(
        &send(with(json!({"ranking": {"type": "expression", "score": "f(time)",
            "functions": {"f": {"base": "decay_exp", "scale": "soon"}}}})))
        .await,
        "ranking.functions.f.scale",
    );
    assert_bad(
        &send(with(json!({"ranking": {"type": "expression", "score": "f(time)",
            "functions": {"f": {"base": "decay_exp", "decay": "2"}}}})))
        .await,
        "ranking.functions.f.decay",
    );
    assert_bad(
        &send(with(json!({"ranking": {"type": "expression", "score": "1", "defaults": {"x": [1]}}}))).await,
        "ranking.defaults.x",
    );
    assert_bad(&send(with(json!({"activity_selectors": [{"type": "nearby"}]}))).await, "activity_selectors.type");
    assert_bad(
        &send(with(json!({"activity_selectors": [{"type": "popular", "cutoff_window": "10m"}]}))).await,
        "activity_selectors.cutoff_window",
    );
    assert_bad(
        &send(with(json!({"activity_selectors": [{"type": "popular", "cutoff_window": "1d",
            "cutoff_time": "2026-01-01T00:00:00Z"}]})))
        .await,
        "activity_selectors.cutoff_window",
    );
    assert_bad(
        &send(with(json!({"activity_selectors": [{"type": "popular", "min_popularity": 0}]}))).await,
        "activity_selectors.min_popularity",
    );
    assert_bad(&send(with(json!({"aggregation": {"format": "{{ type"}}))).await, "aggregation.format");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_views_and_groups_are_refused_naming_the_field() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    bad_configs(&api, VIEWS, false).await;
    bad_configs(&api, &format!("{VIEWS}/v1"), false).await;
    ok(api.post(VIEWS, &json!({"id": "v1"})).await, StatusCode::CREATED).await;
    bad_configs(&api, &format!("{VIEWS}/v1"), true).await;
    bad_configs(&api, "/api/v2/feeds/feed_groups", false).await;
    bad_configs(&api, "/api/v2/feeds/feed_groups/user", true).await;
    // Nothing bad was stored.
    let list = ok(api.get(VIEWS).await, StatusCode::OK).await;
    assert_eq!(list["views"]["v1"], json!({"id": "v1"}));
    assert_error(&api.get("/api/v2/feeds/feed_groups/v1").await, StatusCode::NOT_FOUND, 16);
    // A group ranking with custom functions, defaults and external inputs is accepted as is.
    let group = ok(
        api.post("/api/v2/feeds/feed_groups", &json!({"id": "ranked", "ranking": ranking()})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(group["feed_group"]["ranking"], ranking());
}
