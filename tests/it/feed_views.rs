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

/// The group ids of an aggregated read, in order.
fn group_keys(read: &Value) -> Vec<String> {
    read["aggregated_activities"]
        .as_array()
        .expect("aggregated_activities")
        .iter()
        .map(|g| g["group"].as_str().expect("group").to_string())
        .collect()
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().expect("activities").iter().map(|a| a["id"].as_str().expect("id")).collect()
}

/// A flat feed read through a view with its own `aggregation` answers
/// groups made at read time, by the rules of the groups kept on write:
/// keys from the template (`{{ type }}`, `time.strftime`), counts, times,
/// members newest first (or oldest with `activities_sort`), the flat
/// `activities` as on aggregated reads, and stable group cursors.
#[tokio::test(flavor = "multi_thread")]
async fn a_view_aggregates_a_flat_feed_at_read_time() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob", "cat", "eve"]).await;
    for author in ["ann", "bob", "cat"] {
        api.follow("timeline:eve", &format!("user:{author}"), json!({})).await;
    }
    let mut posted = Vec::new();
    for (id, author, kind) in [
        ("p1", "ann", "post"),
        ("p2", "bob", "post"),
        ("f1", "ann", "photo"),
        ("p3", "cat", "post"),
        ("f2", "bob", "photo"),
        ("v1", "ann", "video"),
    ] {
        let a = api.add_activity(author, &[&format!("user:{author}")], json!({"id": id, "type": kind})).await;
        posted.push(a);
    }
    let at = |id: &str| posted.iter().find(|a| a["id"] == id).expect("posted")["created_at"].as_i64().unwrap();
    for (id, format) in [
        ("by_type", json!({"format": "{{ type }}"})),
        ("by_type_oldest", json!({"format": "{{ type }}", "activities_sort": "created_at_asc"})),
        ("daily", json!({"format": "{{ type }}-{{ time.strftime(\"%Y-%m-%d\") }}"})),
    ] {
        ok(api.post(VIEWS, &json!({"id": id, "aggregation": format})).await, StatusCode::CREATED).await;
    }

    let read = api.read_feed("timeline:eve", "eve", json!({"view": "by_type"})).await;
    assert_eq!(group_keys(&read), ["video", "photo", "post"], "{read}");
    let posts = &read["aggregated_activities"][2];
    assert_eq!(ids(&posts["activities"]), ["p3", "p2", "p1"], "{posts}");
    assert_eq!(posts["activity_count"], 3);
    assert_eq!(posts["user_count"], 3);
    assert_eq!(posts["user_count_truncated"], false);
    assert_eq!(posts["created_at"], at("p1"));
    assert_eq!(posts["updated_at"], at("p3"));
    assert_eq!(read["aggregated_activities"][1]["user_count"], 2);
    assert!(posts.get("is_read").is_none() && posts.get("is_seen").is_none(), "{posts}");
    // As on aggregated reads: the groups' activities are listed flat only when asked.
    assert_eq!(read["activities"], json!([]), "{read}");
    assert_eq!(read["aggregated_activities"][0]["activities"][0]["user"]["id"], "ann", "{read}");
    assert!(read.get("next").is_none(), "{read}");
    let flat = api
        .read_feed(
            "timeline:eve",
            "eve",
            json!({"view": "by_type", "enrichment_options": {"include_flat_activities": true}}),
        )
        .await;
    assert_eq!(ids(&flat["activities"]), ["v1", "f2", "p3", "f1", "p2", "p1"], "{flat}");

    let oldest = api.read_feed("timeline:eve", "eve", json!({"view": "by_type_oldest"})).await;
    assert_eq!(ids(&oldest["aggregated_activities"][2]["activities"]), ["p1", "p2", "p3"], "{oldest}");

    // strftime: the activity's own creation day (UTC).
    let daily = api.read_feed("timeline:eve", "eve", json!({"view": "daily"})).await;
    let day = |id: &str| chrono::DateTime::from_timestamp_nanos(at(id)).format("%Y-%m-%d").to_string();
    for g in daily["aggregated_activities"].as_array().unwrap() {
        for a in g["activities"].as_array().unwrap() {
            let id = a["id"].as_str().unwrap();
            assert_eq!(g["group"], format!("{}-{}", a["type"].as_str().unwrap(), day(id)), "{daily}");
        }
    }
    assert_eq!(
        daily["aggregated_activities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["activity_count"].as_i64().unwrap())
            .sum::<i64>(),
        6
    );

    // A filter narrows what is grouped.
    let filtered = api.read_feed("timeline:eve", "eve", json!({"view": "by_type", "filter": {"user_id": "ann"}})).await;
    assert_eq!(group_keys(&filtered), ["video", "photo", "post"], "{filtered}");
    assert_eq!(filtered["aggregated_activities"][2]["activity_count"], 1);

    // Pages of groups; a group that grows moves to the front, the pages
    // behind a cursor neither repeat nor skip the others.
    let first = api.read_feed("timeline:eve", "eve", json!({"view": "by_type", "limit": 1})).await;
    assert_eq!(group_keys(&first), ["video"]);
    assert!(first.get("prev").is_none(), "{first}");
    api.add_activity("cat", &["user:cat"], json!({"id": "p4", "type": "post"})).await;
    let second =
        api.read_feed("timeline:eve", "eve", json!({"view": "by_type", "limit": 1, "next": first["next"]})).await;
    assert_eq!(group_keys(&second), ["photo"], "{second}");
    assert!(second.get("next").is_none(), "post moved to the front: {second}");
    let back =
        api.read_feed("timeline:eve", "eve", json!({"view": "by_type", "limit": 5, "prev": second["prev"]})).await;
    assert_eq!(group_keys(&back), ["post", "video"], "{back}");
    assert!(back.get("prev").is_none() && back["next"].is_string(), "{back}");
    assert_eq!(back["aggregated_activities"][0]["activity_count"], 4);
    // The cursor is the view's: neither the plain read's nor another view's.
    for other in [json!({}), json!({"view": "daily"})] {
        let mut body = other.clone();
        body["user_id"] = json!("eve");
        body["next"] = first["next"].clone();
        let resp = api.post("/api/v2/feeds/feed_groups/timeline/feeds/eve", &body).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    }
}

/// A view's own aggregation reads flat feeds only, and unranked ones
/// (neither the view nor the group ranks): the rest is refused naming `view`.
#[tokio::test(flavor = "multi_thread")]
async fn a_view_aggregating_a_kept_state_feed_or_ranking_is_refused() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["eve"]).await;
    let grouped = json!({"id": "by_user", "aggregation": {"format": "{{ user_id }}"}});
    ok(api.post(VIEWS, &grouped).await, StatusCode::CREATED).await;
    let ranked = json!({"id": "ranked_groups", "aggregation": {"format": "{{ user_id }}"}, "ranking": ranking()});
    ok(api.post(VIEWS, &ranked).await, StatusCode::CREATED).await;
    for (fid, view) in [
        ("notification/feeds/eve", "by_user"),
        ("story/feeds/eve", "by_user"),
        ("user/feeds/eve", "ranked_groups"),
        ("foryou/feeds/eve", "by_user"),
    ] {
        let resp =
            api.post(&format!("/api/v2/feeds/feed_groups/{fid}"), &json!({"user_id": "eve", "view": view})).await;
        assert_bad(&resp, "view");
    }
}
