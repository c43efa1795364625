//! Feeds read through activity selectors (both stores): the built-in
//! `foryou` mixes what the reader follows with popular activities, a
//! `query` selector makes a topic feed, configuration is checked when
//! written, and pages of a selected feed neither repeat nor skip while new
//! activities arrive.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_api_error, ids_of, Client, TestServer};

async fn bookmark(api: &Client, activity: &str, users: &[&str]) {
    for user in users {
        let (status, body) =
            api.post(&format!("/api/v2/feeds/activities/{activity}/bookmarks"), &json!({"user_id": user})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

fn sources(read: &Value) -> Vec<(String, String)> {
    read["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .map(|a| (a["id"].as_str().expect("id").to_string(), a["selector_source"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn foryou_mixes_following_and_popular() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob", "cy", "dee", "eve"]).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "ann-quiet"})).await;
    api.add_activity("bob", &["user:bob"], json!({"id": "bob-hit"})).await;
    api.add_activity("bob", &["user:bob"], json!({"id": "bob-quiet"})).await;
    bookmark(&api, "bob-hit", &["cy", "dee"]).await; // popularity 6
    bookmark(&api, "bob-quiet", &["cy"]).await; // popularity 3, under the default 5

    // A reader who follows nobody sees what is popular.
    let read = api.read_feed("foryou:eve", "eve", json!({})).await;
    assert_eq!(sources(&read), [("bob-hit".to_string(), "popular".to_string())], "{read}");
    assert_eq!(read["activities"][0]["popularity"], 6);

    // Following ann adds her activities, named by their selector.
    api.follow("foryou:eve", "user:ann", json!({})).await;
    let read = api.read_feed("foryou:eve", "eve", json!({})).await;
    let mut got = sources(&read);
    got.sort();
    assert_eq!(
        got,
        [("ann-quiet".to_string(), "following".to_string()), ("bob-hit".to_string(), "popular".to_string())],
        "{read}"
    );
    // Read with eve's own token: the same feed.
    let (status, body) = srv.user("eve").post("/api/v2/feeds/feed_groups/foryou/feeds/eve", &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["activities"].as_array().map(Vec::len), Some(2), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn popular_never_surfaces_what_the_reader_cannot_open() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob", "cy", "eve"]).await;
    let (status, body) = api
        .post("/api/v2/feeds/feed_groups/user/feeds/ann", &json!({"user_id": "ann", "data": {"visibility": "private"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    api.add_activity("ann", &["user:ann"], json!({"id": "secret"})).await;
    api.add_activity("bob", &["user:bob"], json!({"id": "private-post", "visibility": "private"})).await;
    api.add_activity("bob", &["user:bob"], json!({"id": "open"})).await;
    for id in ["secret", "private-post", "open"] {
        bookmark(&api, id, &["bob", "cy"]).await;
    }
    assert_eq!(ids_of(&api.read_feed("foryou:eve", "eve", json!({})).await), ["open"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_selector_pages_without_repeats_or_gaps() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "eve"]).await;
    let group = json!({"id": "topics", "activity_selectors": [
        {"type": "query", "filter": {"filter_tags": {"$contains": "rust"}}}]});
    let (status, body) = api.post("/api/v2/feeds/feed_groups", &group).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let activities: Vec<_> = (0..60)
        .map(|i| {
            let tags = if i % 3 == 0 { json!(["go"]) } else { json!(["rust"]) };
            json!({"id": format!("t{i:02}"), "type": "post", "feeds": ["user:ann"], "user_id": "ann", "filter_tags": tags})
        })
        .collect();
    let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({"activities": activities})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let mut seen = Vec::new();
    let mut params = json!({"limit": 15});
    loop {
        let page = api.read_feed("topics:eve", "eve", params.clone()).await;
        seen.extend(ids_of(&page));
        // New matching activities keep arriving; the pages do not shift.
        api.add_activity("ann", &["user:ann"], json!({"filter_tags": ["rust"]})).await;
        match page["next"].as_str() {
            Some(next) => params["next"] = json!(next),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..60).filter(|i| i % 3 != 0).map(|i| format!("t{i:02}")).collect();
    expected.sort_by(|a, b| b.cmp(a)); // one batch, one instant: ties newest id first
    assert_eq!(seen, expected, "each match once, in order");

    // And back: `prev` from the last page returns the page before it.
    let first = api.read_feed("topics:eve", "eve", json!({"limit": 15})).await;
    let second = api.read_feed("topics:eve", "eve", json!({"limit": 15, "next": first["next"]})).await;
    let back = api.read_feed("topics:eve", "eve", json!({"limit": 15, "prev": second["prev"]})).await;
    assert_eq!(ids_of(&back), ids_of(&first));
}

#[tokio::test(flavor = "multi_thread")]
async fn selector_configuration_is_checked_when_written() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let cases = [
        (json!([{"type": "popular", "min_popularity": 0}]), "activity_selectors.min_popularity"),
        (json!([{"type": "popular", "cutoff_window": "10m"}]), "activity_selectors.cutoff_window"),
        (json!([{"type": "query"}]), "activity_selectors.filter"),
        (json!([{"type": "query", "filter": {"no_such_field": 1}}]), "activity_selectors.filter"),
    ];
    for (selectors, field) in cases {
        let (status, body) =
            api.post("/api/v2/feeds/feed_groups", &json!({"id": "bad", "activity_selectors": selectors})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{selectors}: {body}");
        assert_api_error(&body, StatusCode::BAD_REQUEST, 4);
        assert!(body["exception_fields"][field].is_string(), "{field}: {body}");
    }
}

/// The group's ranking expression orders the read: one that inverts recency
/// puts the oldest first, `external_ranking` inputs from the read change the
/// order, `score` shows on each activity, and `external_ranking` without a
/// ranking is refused rather than ignored (both stores).
#[tokio::test(flavor = "multi_thread")]
async fn a_ranking_expression_orders_the_read() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "eve"]).await;
    for (name, score) in [("oldest_first", "-time"), ("weighted", "custom.weight * w")] {
        let group = json!({"id": name, "activity_selectors": [{"type": "following"}],
                           "ranking": {"type": "expression", "score": score, "defaults": {"w": 1}}});
        let (status, body) = api.post("/api/v2/feeds/feed_groups", &group).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        api.follow(&format!("{name}:eve"), "user:ann", json!({})).await;
    }
    for (id, weight) in [("light", 1), ("middle", 2), ("heavy", 3)] {
        api.add_activity("ann", &["user:ann"], json!({"id": id, "custom": {"weight": weight}})).await;
    }
    let newest_first = ids_of(&api.read_feed("user:ann", "eve", json!({})).await);
    assert_eq!(newest_first, ["heavy", "middle", "light"]);

    let read = api.read_feed("oldest_first:eve", "eve", json!({})).await;
    assert_eq!(ids_of(&read), ["light", "middle", "heavy"], "-time inverts recency: {read}");
    let scores: Vec<f64> = read["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .map(|a| a["score"].as_f64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] > w[1]) && scores[0] < 0.0, "scores shown: {scores:?}");

    assert_eq!(ids_of(&api.read_feed("weighted:eve", "eve", json!({})).await), ["heavy", "middle", "light"]);
    let flipped = api.read_feed("weighted:eve", "eve", json!({"external_ranking": {"w": -1}})).await;
    assert_eq!(ids_of(&flipped), ["light", "middle", "heavy"], "external_ranking reaches the expression");
    assert_eq!(flipped["activities"][0]["score"], -1.0);

    let (status, body) = api
        .post("/api/v2/feeds/feed_groups/user/feeds/ann", &json!({"user_id": "eve", "external_ranking": {"w": 2}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["external_ranking"].is_string(), "{body}");
}

/// A ranked feed of 500 activities read in pages of 25: every activity once,
/// in score order, none repeated or skipped (both stores).
#[tokio::test(flavor = "multi_thread")]
async fn a_ranked_feed_of_500_pages_without_repeats_or_gaps() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "eve"]).await;
    let group = json!({"id": "ranked", "activity_selectors": [{"type": "query", "filter": {"activity_type": "post"}}],
                       "ranking": {"type": "expression", "score": "custom.n - trunc(custom.n / 7) * 7"}});
    let (status, body) = api.post("/api/v2/feeds/feed_groups", &group).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for batch in 0..5 {
        let activities: Vec<_> = (0..100)
            .map(|i| {
                let n = batch * 100 + i;
                json!({"id": format!("r{n:03}"), "type": "post", "feeds": ["user:ann"], "user_id": "ann",
                       "custom": {"n": n}})
            })
            .collect();
        let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({"activities": activities})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut seen: Vec<(f64, String)> = Vec::new();
    let mut params = json!({"limit": 25});
    loop {
        let page = api.read_feed("ranked:eve", "eve", params.clone()).await;
        for a in page["activities"].as_array().expect("activities") {
            seen.push((a["score"].as_f64().expect("score"), a["id"].as_str().expect("id").to_string()));
        }
        match page["next"].as_str() {
            Some(next) => params["next"] = json!(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 500, "every activity once");
    let mut ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 500, "no repeats");
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "in score order");
    assert_eq!(seen[0].0, 6.0);
}

/// `view=` reads a feed through a feed view: its ranking and selectors
/// replace the group's for that read; an unknown view is a 404, and a view
/// that aggregates an aggregated group differently is refused (both stores).
#[tokio::test(flavor = "multi_thread")]
async fn a_feed_view_replaces_the_groups_ranking_for_one_read() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "eve"]).await;
    api.follow("timeline:eve", "user:ann", json!({})).await;
    for id in ["first", "second", "third"] {
        api.add_activity("ann", &["user:ann"], json!({"id": id})).await;
    }
    let view = json!({"id": "oldest", "ranking": {"type": "expression", "score": "-time"}});
    let (status, body) = api.post("/api/v2/feeds/feed_views", &view).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let view = json!({"id": "grouped", "aggregation": {"format": "{{ user_id }}"}});
    let (status, body) = api.post("/api/v2/feeds/feed_views", &view).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    assert_eq!(ids_of(&api.read_feed("timeline:eve", "eve", json!({})).await), ["third", "second", "first"]);
    let viewed = api.read_feed("timeline:eve", "eve", json!({"view": "oldest"})).await;
    assert_eq!(ids_of(&viewed), ["first", "second", "third"], "{viewed}");
    let page = api.read_feed("timeline:eve", "eve", json!({"view": "oldest", "limit": 1})).await;
    let (status, body) = api
        .post("/api/v2/feeds/feed_groups/timeline/feeds/eve", &json!({"user_id": "eve", "next": page["next"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a view's cursor is not the plain read's: {body}");

    let (status, body) =
        api.post("/api/v2/feeds/feed_groups/timeline/feeds/eve", &json!({"user_id": "eve", "view": "nope"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A view's own aggregation groups the flat feed at read time (tests/it/feed_views.rs).
    let grouped = api.read_feed("timeline:eve", "eve", json!({"view": "grouped"})).await;
    assert_eq!(grouped["aggregated_activities"][0]["group"], "ann", "{grouped}");
    assert_eq!(grouped["aggregated_activities"][0]["activity_count"], 3, "{grouped}");
    // A view that aggregates an aggregated feed by another format is refused.
    let (status, body) = api
        .post("/api/v2/feeds/feed_groups/notification/feeds/eve", &json!({"user_id": "eve", "view": "grouped"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["view"].is_string(), "{body}");
    // Nor can a view re-rank an aggregated (notification) feed.
    let (status, body) = api
        .post("/api/v2/feeds/feed_groups/notification/feeds/eve", &json!({"user_id": "eve", "view": "oldest"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["view"].is_string(), "{body}");
}

async fn create_group(api: &Client, group: Value) {
    let (status, body) = api.post("/api/v2/feeds/feed_groups", &group).await;
    assert_eq!(status, StatusCode::CREATED, "{group}: {body}");
}

/// `proximity` selects located activities near the reader, newest first:
/// around the reading user's stored `custom.lat`/`custom.lng` within the
/// selector's `params.distance`, or inside the read's `near` /
/// `within_bounds` filter; nothing for a reader with neither; private
/// activities never; mixed with `following` each names its source (both
/// stores).
#[tokio::test(flavor = "multi_thread")]
async fn proximity_selects_what_is_near_the_reader() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob", "cy"]).await;
    let (status, body) = api
        .post("/api/v2/users", &json!({"users": {"eve": {"id": "eve", "custom": {"lat": 52.37, "lng": 4.89}}}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    create_group(
        &api,
        json!({"id": "nearby", "activity_selectors": [{"type": "proximity", "params": {"distance": 10}}]}),
    )
    .await;
    create_group(&api, json!({"id": "local", "activity_selectors": [{"type": "following"}, {"type": "proximity"}]}))
        .await;
    let at = |lat: f64, lng: f64| json!({"lat": lat, "lng": lng});
    api.add_activity("ann", &["user:ann"], json!({"id": "utrecht", "location": at(52.09, 5.12)})).await; // ~35 km
    api.add_activity("ann", &["user:ann"], json!({"id": "here", "location": at(52.36, 4.90)})).await; // ~1 km
    api.add_activity("bob", &["user:bob"], json!({"id": "paris", "location": at(48.86, 2.35)})).await;
    api.add_activity("bob", &["user:bob"], json!({"id": "nowhere"})).await;
    api.add_activity(
        "bob",
        &["user:bob"],
        json!({"id": "secret-here", "location": at(52.37, 4.89), "visibility": "private"}),
    )
    .await;
    api.add_activity("cy", &["user:cy"], json!({"id": "cy-far", "location": at(-33.87, 151.21)})).await;

    // Within 10 km of eve's stored location.
    assert_eq!(ids_of(&api.read_feed("nearby:eve", "eve", json!({})).await), ["here"]);
    // The read's own location wins over the stored one.
    let near = json!({"filter": {"near": {"$eq": {"lat": 52.37, "lng": 4.89, "distance": 50}}}});
    assert_eq!(ids_of(&api.read_feed("nearby:eve", "eve", near).await), ["here", "utrecht"]);
    let paris =
        json!({"filter": {"within_bounds": {"$eq": {"ne_lat": 49.0, "ne_lng": 2.5, "sw_lat": 48.7, "sw_lng": 2.2}}}});
    assert_eq!(ids_of(&api.read_feed("nearby:eve", "eve", paris).await), ["paris"]);
    // A reader with no stored location and no location filter: nothing near.
    assert_eq!(ids_of(&api.read_feed("nearby:bob", "bob", json!({})).await), Vec::<String>::new());

    // Mixed with following: cy's far post through the follow, the near one by proximity.
    api.follow("local:eve", "user:cy", json!({})).await;
    let mut got = sources(&api.read_feed("local:eve", "eve", json!({})).await);
    got.sort();
    let expected: Vec<(String, String)> = [("cy-far", "following"), ("here", "proximity"), ("utrecht", "proximity")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, expected, "the default radius is 50 km");

    let (status, body) = api
        .post(
            "/api/v2/feeds/feed_groups",
            &json!({"id": "bad", "activity_selectors": [{"type": "proximity", "params": {"distance": -1}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["activity_selectors.params"].is_string(), "{body}");
}

/// QueryActivities' `near` across the antimeridian, through the location
/// index: a point just east of 180° is near one just west of it (both stores).
#[tokio::test(flavor = "multi_thread")]
async fn near_reaches_across_the_antimeridian() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann"]).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "west", "location": {"lat": -17.0, "lng": 179.95}})).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "east", "location": {"lat": -17.0, "lng": -179.95}})).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "far", "location": {"lat": -17.0, "lng": 178.0}})).await;
    let (status, body) = api
        .post(
            "/api/v2/feeds/activities/query",
            &json!({"filter": {"near": {"$eq": {"lat": -17.0, "lng": 179.99, "distance": 20}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut ids = ids_of(&body);
    ids.sort();
    assert_eq!(ids, ["east", "west"], "{body}");
}

/// `follow_suggestion` selects the activities of the feeds suggested to the
/// reader (GetFollowSuggestions' ranking) that the reader may read: not
/// the feeds already followed, not a `followers`-only feed; mixed with
/// `following` each names its source (both stores).
#[tokio::test(flavor = "multi_thread")]
async fn follow_suggestion_selects_from_suggested_feeds() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob", "cy", "eve"]).await;
    create_group(&api, json!({"id": "discover", "activity_selectors": [{"type": "follow_suggestion"}]})).await;
    create_group(
        &api,
        json!({"id": "mixed", "activity_selectors": [{"type": "following"}, {"type": "follow_suggestion"}]}),
    )
    .await;
    let (status, body) = api
        .post("/api/v2/feeds/feed_groups/user/feeds/cy", &json!({"user_id": "cy", "data": {"visibility": "followers"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    api.add_activity("ann", &["user:ann"], json!({"id": "ann-post"})).await;
    api.add_activity("bob", &["user:bob"], json!({"id": "bob-1"})).await;
    api.add_activity("bob", &["user:bob"], json!({"id": "bob-2"})).await;
    api.add_activity("cy", &["user:cy"], json!({"id": "cy-followers-only"})).await;
    api.follow("timeline:eve", "user:ann", json!({})).await;
    api.follow("timeline:ann", "user:bob", json!({})).await;

    // The suggestions themselves: bob (followed by ann, whom eve follows), then cy.
    let (status, body) = api.get("/api/v2/feeds/feed_groups/user/follow_suggestions?user_id=eve").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let suggested: Vec<&str> =
        body["suggestions"].as_array().expect("suggestions").iter().filter_map(|s| s["feed"].as_str()).collect();
    assert!(suggested.contains(&"user:bob") && suggested.contains(&"user:cy"), "{body}");

    assert_eq!(ids_of(&api.read_feed("discover:eve", "eve", json!({})).await), ["bob-2", "bob-1"]);

    api.follow("mixed:eve", "user:ann", json!({})).await;
    let mut got = sources(&api.read_feed("mixed:eve", "eve", json!({})).await);
    got.sort();
    let expected: Vec<(String, String)> =
        [("ann-post", "following"), ("bob-1", "follow_suggestion"), ("bob-2", "follow_suggestion")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(got, expected);

    // Once eve follows bob he is no longer suggested, nor are his posts.
    api.follow("timeline:eve", "user:bob", json!({})).await;
    assert_eq!(ids_of(&api.read_feed("discover:eve", "eve", json!({})).await), Vec::<String>::new());
}
