//! Interests (both stores): the `text_interest_tags` processor tags what is
//! added to its groups, a reader's interests come from what they react to
//! and comment on (`GetUserInterests`), the `interest` selector and
//! `interest_score` use them, a read's `interest_weights` adjust them, and
//! `include_score_vars` shows what a ranked read's score read.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_api_error, ids_of, Client, TestServer};

async fn create_group(api: &Client, group: Value) {
    let (status, body) = api.post("/api/v2/feeds/feed_groups", &group).await;
    assert_eq!(status, StatusCode::CREATED, "{group}: {body}");
}

async fn react(api: &Client, activity: &str, user: &str) {
    let (status, body) = api
        .post(&format!("/api/v2/feeds/activities/{activity}/reactions"), &json!({"type": "like", "user_id": user}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn comment(api: &Client, activity: &str, user: &str) {
    let body = json!({"object_id": activity, "object_type": "activity", "comment": "nice", "user_id": user});
    let (status, body) = api.post("/api/v2/feeds/comments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn tags(activity: &Value) -> Vec<String> {
    activity["interest_tags"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tagger_tags_activities_on_add_and_on_update_when_asked() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann"]).await;
    create_group(
        &api,
        json!({"id": "journal", "activity_selectors": [{"type": "current_feed"}],
               "activity_processors": [{"type": "text_interest_tags"}]}),
    )
    .await;

    // Added to a tagging group: the caller's tags, then the tagger's.
    let added = api
        .add_activity(
            "ann",
            &["journal:ann"],
            json!({"id": "a1", "text": "Three pizza recipes for dinner", "interest_tags": ["mine", "food"]}),
        )
        .await;
    assert_eq!(tags(&added), ["mine", "food"], "{added}");
    let added = api.add_activity("ann", &["journal:ann", "user:ann"], json!({"text": "Our football match"})).await;
    assert_eq!(tags(&added), ["sports"], "{added}");
    // Elsewhere nothing is tagged.
    let plain = api.add_activity("ann", &["user:ann"], json!({"text": "Our football match"})).await;
    assert!(tags(&plain).is_empty(), "{plain}");

    // Updates re-run the processor only when asked and the text changed.
    let (status, body) = api
        .put("/api/v2/feeds/activities/a1", &json!({"text": "A concert with my band", "interest_tags": ["mine"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(tags(&body["activity"]), ["mine"], "{body}");
    let (status, body) = api
        .put(
            "/api/v2/feeds/activities/a1",
            &json!({"text": "A concert with my band", "interest_tags": ["mine"], "run_activity_processors": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(tags(&body["activity"]), ["mine"], "the text did not change: {body}");
    let (status, body) = api
        .patch(
            "/api/v2/feeds/activities/a1",
            &json!({"set": {"text": "Hiking in the mountains"}, "run_activity_processors": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(tags(&body["activity"]), ["mine", "nature"], "{body}");
    let (status, body) = api
        .put(
            "/api/v2/feeds/activities/a1",
            &json!({"text": "Guitar lessons", "interest_tags": [], "run_activity_processors": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(tags(&body["activity"]), ["music", "education"], "{body}");

    // Processor types are checked when the group is written.
    for (processors, field) in [
        (json!([{"type": "image_topic"}]), "activity_processors.type"),
        (json!([{"type": "dummy", "model": "big"}]), "activity_processors.model"),
        (json!((0..11).map(|_| json!({"type": "dummy"})).collect::<Vec<_>>()), "activity_processors"),
    ] {
        let (status, body) =
            api.post("/api/v2/feeds/feed_groups", &json!({"id": "bad", "activity_processors": processors})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{processors}: {body}");
        assert_api_error(&body, StatusCode::BAD_REQUEST, 4);
        assert!(body["exception_fields"][field].is_string(), "{field}: {body}");
    }
    create_group(&api, json!({"id": "placeholders", "activity_processors": [{"type": "default"}, {"type": "dummy"}]}))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_interests_come_from_reactions_and_comments() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "eve", "zed"]).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "m1", "interest_tags": ["music"]})).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "m2", "interest_tags": ["music", "tech"]})).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "f1", "interest_tags": ["food"]})).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "gone", "interest_tags": ["art"]})).await;
    react(&api, "m1", "eve").await;
    comment(&api, "m1", "eve").await; // the same activity counts once
    comment(&api, "m2", "eve").await;
    react(&api, "gone", "eve").await;
    let (status, body) = api.delete("/api/v2/feeds/activities/gone").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    react(&api, "f1", "zed").await;

    let (status, body) = api.get("/api/v2/feeds/users/eve/interests").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["interests"], json!([{"tag": "music", "count": 2}, {"tag": "tech", "count": 1}]), "{body}");
    assert!(body["duration"].is_string());
    let (_, body) = api.get("/api/v2/feeds/users/eve/interests?limit=1").await;
    assert_eq!(body["interests"], json!([{"tag": "music", "count": 2}]), "{body}");
    let (_, body) = api.get("/api/v2/feeds/users/nobody/interests").await;
    assert_eq!(body["interests"], json!([]), "{body}");

    let (status, body) = api.get("/api/v2/feeds/users/eve/interests?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["limit"].is_string(), "{body}");
    // A user reads their own interests only.
    let (status, body) = srv.user("eve").get("/api/v2/feeds/users/eve/interests").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["interests"][0]["tag"], "music");
    let (status, body) = srv.user("zed").get("/api/v2/feeds/users/eve/interests").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_interest_selector_reads_what_matches_the_readers_interests() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "eve", "new"]).await;
    create_group(&api, json!({"id": "mine", "activity_selectors": [{"type": "interest"}]})).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "liked", "interest_tags": ["music"]})).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "song", "interest_tags": ["music", "art"]})).await;
    api.add_activity("ann", &["user:ann"], json!({"id": "soup", "interest_tags": ["food"]})).await;
    api.add_activity(
        "ann",
        &["user:ann"],
        json!({"id": "secret", "interest_tags": ["music"], "visibility": "private"}),
    )
    .await;
    api.add_activity("ann", &["user:ann"], json!({"id": "untagged"})).await;
    react(&api, "liked", "eve").await;

    assert_eq!(ids_of(&api.read_feed("mine:eve", "eve", json!({})).await), ["song", "liked"]);
    // A reader without interests gets nothing from this selector.
    assert!(ids_of(&api.read_feed("mine:new", "new", json!({})).await).is_empty());
    // The read's weights join the computed ones, or replace them.
    let read = api.read_feed("mine:eve", "eve", json!({"interest_weights": {"food": 0.5}})).await;
    assert_eq!(ids_of(&read), ["soup", "song", "liked"]);
    let read = api
        .read_feed("mine:eve", "eve", json!({"interest_weights": {"food": 1}, "overwrite_interest_weights": true}))
        .await;
    assert_eq!(ids_of(&read), ["soup"]);
    // A weight of 0 or less does not select.
    let read = api.read_feed("mine:eve", "eve", json!({"interest_weights": {"music": -1}})).await;
    assert!(ids_of(&read).is_empty(), "{read}");

    // interest_weights where nothing reads interests, or malformed: 400.
    for (fid, params, field) in [
        ("user:ann", json!({"interest_weights": {"food": 1}}), "interest_weights"),
        ("user:ann", json!({"overwrite_interest_weights": true}), "overwrite_interest_weights"),
        ("mine:eve", json!({"interest_weights": {"food": "lots"}}), "interest_weights"),
    ] {
        let (group, id) = fid.split_once(':').unwrap();
        let mut params = params;
        params["user_id"] = json!("eve");
        let (status, body) = api.post(&format!("/api/v2/feeds/feed_groups/{group}/feeds/{id}"), &params).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{params}: {body}");
        assert!(body["exception_fields"][field].is_string(), "{field}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn interests_reorder_the_built_in_foryou_and_score_vars_show_why() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob", "eve"]).await;
    api.follow("foryou:eve", "user:ann", json!({})).await;
    // foryou tags what is posted to it; ann's posts reach eve by fan-out,
    // tagged by the caller here.
    api.add_activity(
        "ann",
        &["user:ann"],
        json!({"id": "gig", "text": "A jazz concert tonight",
        "interest_tags": ["music"]}),
    )
    .await;
    api.add_activity("ann", &["user:ann"], json!({"id": "meal", "text": "Pizza night", "interest_tags": ["food"]}))
        .await;
    assert_eq!(ids_of(&api.read_feed("foryou:eve", "eve", json!({})).await), ["meal", "gig"], "newest first");

    // eve engages with music elsewhere: the older music post moves up.
    let other =
        api.add_activity("bob", &["foryou:bob"], json!({"id": "album", "text": "New album from my band"})).await;
    assert_eq!(tags(&other), ["music"], "the foryou group tags on add: {other}");
    react(&api, "album", "eve").await;
    let read = api.read_feed("foryou:eve", "eve", json!({"enrichment_options": {"include_score_vars": true}})).await;
    assert_eq!(ids_of(&read), ["album", "gig", "meal"], "{read}");
    let gig = &read["activities"][1];
    assert_eq!(gig["score_vars"]["interest_score"], json!(0.5), "{gig}");
    assert_eq!(gig["score_vars"]["popularity"], json!(0.0), "{gig}");
    assert!(gig["score_vars"]["time"].as_f64().is_some_and(|t| t > 1e9), "{gig}");
    assert_eq!(read["activities"][2]["score_vars"]["interest_score"], json!(0.0));
    assert_eq!(gig["selector_source"], "following");
    assert_eq!(read["activities"][0]["selector_source"], "interest");
    // Without the option, no score_vars; on an unranked feed neither.
    let read = api.read_feed("foryou:eve", "eve", json!({})).await;
    assert!(read["activities"][0].get("score_vars").is_none(), "{read}");
    let read = api.read_feed("user:ann", "eve", json!({"enrichment_options": {"include_score_vars": true}})).await;
    assert!(read["activities"][0].get("score_vars").is_none(), "{read}");

    // The read's weights go over the computed ones.
    let read = api.read_feed("foryou:eve", "eve", json!({"interest_weights": {"food": 2}})).await;
    assert_eq!(ids_of(&read)[0], "meal", "{read}");
}
