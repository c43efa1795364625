//! Pagination cursors are tamper-evident and bound to the endpoint and
//! query they came from: a valid cursor pages on (with any `limit`); a cursor
//! cut short, altered, from another endpoint or from the same endpoint with
//! another feed/filter/sort is a 400 code 4 "invalid cursor" naming the field
//! it came in (both stores).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestServer};

/// The cursor cut in half and with one character in its middle changed.
fn tampered(cursor: &str) -> [String; 2] {
    let mut flipped = cursor.as_bytes().to_vec();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    [cursor[..cursor.len() / 2].to_string(), String::from_utf8(flipped).expect("ascii cursor")]
}

#[track_caller]
fn assert_invalid_cursor(resp: &(StatusCode, Value), field: &str) {
    assert_error(resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().is_some_and(|m| m.contains("invalid cursor")), "{}", resp.1);
    assert!(resp.1["exception_fields"].get(field).is_some(), "error names `{field}`: {}", resp.1);
}

fn cursor(body: &Value, path: &[&str]) -> String {
    let value = path.iter().fold(body, |v, key| &v[*key]);
    value.as_str().unwrap_or_else(|| panic!("no cursor at {path:?} in {body}")).to_string()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_string())
        .collect()
}

const READ_A: &str = "/api/v2/feeds/feed_groups/user/feeds/a";
const QUERY_ACTIVITIES: &str = "/api/v2/feeds/activities/query";

async fn post_activities(api: &Client, user: &str, tag: &str, n: usize) {
    for _ in 0..n {
        api.add_activity(user, &[&format!("user:{user}")], json!({ "filter_tags": [tag] })).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_read_cursors_are_bound_to_their_feed_filter_and_pager() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "b", "f1", "f2", "f3"]).await;
    post_activities(&api, "a", "t", 5).await;
    post_activities(&api, "b", "t", 3).await;
    for f in ["f1", "f2", "f3"] {
        api.follow(&format!("timeline:{f}"), "user:a", json!({})).await;
    }
    let all = ids(&api.read_feed("user:a", "a", json!({ "limit": 5 })).await["activities"]);

    let first = api.read_feed("user:a", "a", json!({ "limit": 2 })).await;
    let next = cursor(&first, &["next"]);
    // A valid cursor pages on, with another page size.
    let second = api.read_feed("user:a", "a", json!({ "limit": 3, "next": next })).await;
    assert_eq!(ids(&second["activities"]), all[2..5]);
    let prev = cursor(&second, &["prev"]);
    assert_eq!(ids(&api.read_feed("user:a", "a", json!({ "limit": 2, "prev": prev })).await["activities"]), all[..2]);

    for bad in tampered(&next) {
        assert_invalid_cursor(&api.post(READ_A, &json!({ "user_id": "a", "next": bad })).await, "next");
    }
    for bad in tampered(&prev) {
        assert_invalid_cursor(&api.post(READ_A, &json!({ "user_id": "a", "prev": bad })).await, "prev");
    }
    // Another feed, another filter, another endpoint.
    let read_b = api.post("/api/v2/feeds/feed_groups/user/feeds/b", &json!({ "user_id": "b", "next": next })).await;
    assert_invalid_cursor(&read_b, "next");
    let filtered = json!({ "user_id": "a", "next": next, "filter": { "filter_tags": { "$contains": "t" } } });
    assert_invalid_cursor(&api.post(READ_A, &filtered).await, "next");
    assert_invalid_cursor(&api.post(QUERY_ACTIVITIES, &json!({ "next": next })).await, "next");

    // Nested pagers: followers page on, and are their own scope.
    let first = api.read_feed("user:a", "a", json!({ "followers_pagination": { "limit": 1 } })).await;
    assert_eq!(first["followers"].as_array().map(Vec::len), Some(1), "{first}");
    let followers_next = cursor(&first, &["followers_pagination", "next"]);
    let params = json!({ "followers_pagination": { "limit": 2, "next": followers_next } });
    let second = api.read_feed("user:a", "a", params).await;
    assert_eq!(second["followers"].as_array().map(Vec::len), Some(2), "{second}");
    for bad in tampered(&followers_next) {
        let body = json!({ "user_id": "a", "followers_pagination": { "next": bad } });
        assert_invalid_cursor(&api.post(READ_A, &body).await, "followers_pagination");
    }
    let body = json!({ "user_id": "a", "following_pagination": { "next": followers_next } });
    assert_invalid_cursor(&api.post(READ_A, &body).await, "following_pagination");
    let body = json!({ "user_id": "a", "member_pagination": { "next": followers_next } });
    assert_invalid_cursor(&api.post(READ_A, &body).await, "member_pagination");
    let body = json!({ "user_id": "b", "followers_pagination": { "next": followers_next } });
    assert_invalid_cursor(&api.post("/api/v2/feeds/feed_groups/user/feeds/b", &body).await, "followers_pagination");
    // A pager cursor is no activity cursor.
    assert_invalid_cursor(&api.post(READ_A, &json!({ "user_id": "a", "next": followers_next })).await, "next");
}

#[tokio::test(flavor = "multi_thread")]
async fn query_activities_cursors_are_bound_to_filter_and_sort() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a"]).await;
    post_activities(&api, "a", "q", 5).await;
    post_activities(&api, "a", "other", 2).await;
    let tagged = json!({ "filter_tags": { "$contains": "q" } });
    let (status, all) = api.post(QUERY_ACTIVITIES, &json!({ "filter": tagged, "limit": 5 })).await;
    assert_eq!(status, StatusCode::CREATED, "{all}");

    let (_, first) = api.post(QUERY_ACTIVITIES, &json!({ "filter": tagged, "limit": 2 })).await;
    let next = cursor(&first, &["next"]);
    let (status, second) = api.post(QUERY_ACTIVITIES, &json!({ "filter": tagged, "limit": 3, "next": next })).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(ids(&second["activities"]), ids(&all["activities"])[2..5]);

    for bad in tampered(&next) {
        assert_invalid_cursor(&api.post(QUERY_ACTIVITIES, &json!({ "filter": tagged, "next": bad })).await, "next");
    }
    let other = json!({ "filter_tags": { "$contains": "other" } });
    assert_invalid_cursor(&api.post(QUERY_ACTIVITIES, &json!({ "filter": other, "next": next })).await, "next");
    assert_invalid_cursor(&api.post(QUERY_ACTIVITIES, &json!({ "next": next })).await, "next");
    let oldest_first = json!({ "filter": tagged, "next": next, "sort": [{ "field": "created_at", "direction": 1 }] });
    assert_invalid_cursor(&api.post(QUERY_ACTIVITIES, &oldest_first).await, "next");
    assert_invalid_cursor(&api.post(READ_A, &json!({ "user_id": "a", "next": next })).await, "next");

    // Offset pages (a popularity sort) are bound the same way.
    let popular = json!([{ "field": "popularity", "direction": -1 }]);
    let (_, first) = api.post(QUERY_ACTIVITIES, &json!({ "filter": tagged, "sort": popular, "limit": 2 })).await;
    let next = cursor(&first, &["next"]);
    let body = json!({ "filter": tagged, "sort": popular, "limit": 3, "next": next });
    let (status, second) = api.post(QUERY_ACTIVITIES, &body).await;
    assert_eq!((status, second["activities"].as_array().map(Vec::len)), (StatusCode::CREATED, Some(3)), "{second}");
    assert_invalid_cursor(&api.post(QUERY_ACTIVITIES, &json!({ "filter": tagged, "next": next })).await, "next");
    let body = json!({ "filter": other, "sort": popular, "next": next });
    assert_invalid_cursor(&api.post(QUERY_ACTIVITIES, &body).await, "next");
}

const QUERY_FOLLOWS: &str = "/api/v2/feeds/follows/query";

#[tokio::test(flavor = "multi_thread")]
async fn query_follows_cursors_are_bound_to_filter() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "b", "f1", "f2", "f3"]).await;
    for f in ["f1", "f2", "f3"] {
        api.follow(&format!("timeline:{f}"), "user:a", json!({})).await;
        api.follow(&format!("timeline:{f}"), "user:b", json!({})).await;
    }
    let of_a = json!({ "target_feed": "user:a" });
    let (_, first) = api.post(QUERY_FOLLOWS, &json!({ "filter": of_a, "limit": 1 })).await;
    let next = cursor(&first, &["next"]);
    let (status, second) = api.post(QUERY_FOLLOWS, &json!({ "filter": of_a, "limit": 2, "next": next })).await;
    assert_eq!((status, second["follows"].as_array().map(Vec::len)), (StatusCode::CREATED, Some(2)), "{second}");
    assert!(second.get("next").is_none_or(Value::is_null), "three follows in pages of 1 then 2: {second}");
    let prev = cursor(&second, &["prev"]);
    let (status, back) = api.post(QUERY_FOLLOWS, &json!({ "filter": of_a, "limit": 1, "prev": prev })).await;
    assert_eq!((status, back["follows"].as_array().map(Vec::len)), (StatusCode::CREATED, Some(1)), "{back}");

    for bad in tampered(&next) {
        assert_invalid_cursor(&api.post(QUERY_FOLLOWS, &json!({ "filter": of_a, "next": bad })).await, "next");
    }
    for bad in tampered(&prev) {
        assert_invalid_cursor(&api.post(QUERY_FOLLOWS, &json!({ "filter": of_a, "prev": bad })).await, "prev");
    }
    let of_b = json!({ "target_feed": "user:b" });
    assert_invalid_cursor(&api.post(QUERY_FOLLOWS, &json!({ "filter": of_b, "next": next })).await, "next");
    assert_invalid_cursor(&api.post(QUERY_FOLLOWS, &json!({ "next": next })).await, "next");
    // The same position from QueryFeeds, or the followers of a feed read,
    // is not a QueryFollows cursor, and the other way round.
    let body = json!({ "user_id": "a", "followers_pagination": { "next": next } });
    assert_invalid_cursor(&api.post(READ_A, &body).await, "followers_pagination");
    assert_invalid_cursor(&api.post("/api/v2/feeds/feeds/query", &json!({ "next": next })).await, "next");
}

#[tokio::test(flavor = "multi_thread")]
async fn comment_cursors_are_bound_to_object_sort_and_parent() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a"]).await;
    let x = api.add_activity("a", &["user:a"], json!({})).await["id"].as_str().expect("id").to_string();
    let y = api.add_activity("a", &["user:a"], json!({})).await["id"].as_str().expect("id").to_string();
    let comment = |object: &str, parent: Option<&str>| {
        let mut body = json!({ "object_id": object, "object_type": "activity", "comment": "hi", "user_id": "a" });
        if let Some(parent) = parent {
            body["parent_id"] = json!(parent);
        }
        body
    };
    let mut top = Vec::new();
    for _ in 0..4 {
        let (status, body) = api.post("/api/v2/feeds/comments", &comment(&x, None)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        top.push(body["comment"]["id"].as_str().expect("comment id").to_string());
    }
    for object in [&y, &y] {
        api.post("/api/v2/feeds/comments", &comment(object, None)).await;
    }
    // The newest top-level comment gets three replies; another gets two.
    for (parent, n) in [(&top[3], 3), (&top[2], 2)] {
        for _ in 0..n {
            let (status, body) = api.post("/api/v2/feeds/comments", &comment(&x, Some(parent))).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    let comments = |query: String| {
        let api = api.clone();
        async move { api.get(&format!("/api/v2/feeds/comments?object_type=activity&{query}")).await }
    };

    let (status, first) = comments(format!("object_id={x}&limit=2&depth=2&replies_limit=1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let next = cursor(&first, &["next"]);
    let (status, second) = comments(format!("object_id={x}&limit=3&next={next}")).await;
    assert_eq!((status, second["comments"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{second}");
    for bad in tampered(&next) {
        assert_invalid_cursor(&comments(format!("object_id={x}&next={bad}")).await, "next");
    }
    assert_invalid_cursor(&comments(format!("object_id={y}&next={next}")).await, "next");
    assert_invalid_cursor(&comments(format!("object_id={x}&sort=first&next={next}")).await, "next");
    let (_, query_first) =
        api.post("/api/v2/feeds/comments/query", &json!({ "filter": { "object_id": x }, "limit": 2 })).await;
    let query_next = cursor(&query_first, &["next"]);
    assert_invalid_cursor(&comments(format!("object_id={x}&next={query_next}")).await, "next");

    // A thread's `meta.next_cursor` continues that comment's replies.
    let newest = &first["comments"][0];
    assert_eq!(newest["id"].as_str(), Some(top[3].as_str()), "{first}");
    let more = cursor(newest, &["meta", "next_cursor"]);
    let replies = |id: &str, query: String| {
        let (api, path) = (api.clone(), format!("/api/v2/feeds/comments/{id}/replies?{query}"));
        async move { api.get(&path).await }
    };
    let (status, rest) = replies(&top[3], format!("limit=5&next={more}")).await;
    assert_eq!((status, rest["comments"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{rest}");
    for bad in tampered(&more) {
        assert_invalid_cursor(&replies(&top[3], format!("next={bad}")).await, "next");
    }
    assert_invalid_cursor(&replies(&top[2], format!("next={more}")).await, "next");
    assert_invalid_cursor(&replies(&top[3], format!("sort=first&next={more}")).await, "next");
    assert_invalid_cursor(&comments(format!("object_id={x}&next={more}")).await, "next");
    // Replies page on with their own cursors.
    let (_, first) = replies(&top[3], "limit=1".into()).await;
    let next = cursor(&first, &["next"]);
    let (status, second) = replies(&top[3], format!("limit=2&next={next}")).await;
    assert_eq!((status, second["comments"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{second}");
    assert_invalid_cursor(&replies(&top[2], format!("next={next}")).await, "next");
}

const QUERY_FEEDS: &str = "/api/v2/feeds/feeds/query";

#[tokio::test(flavor = "multi_thread")]
async fn offset_list_cursors_are_bound_to_their_list() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "b", "c"]).await;
    for user in ["a", "b", "c"] {
        api.read_feed(&format!("user:{user}"), user, json!({})).await;
        api.read_feed(&format!("timeline:{user}"), user, json!({})).await;
    }
    let users = json!({ "group_id": "user" });
    let (_, first) = api.post(QUERY_FEEDS, &json!({ "filter": users, "limit": 1 })).await;
    let next = cursor(&first, &["next"]);
    let (status, second) = api.post(QUERY_FEEDS, &json!({ "filter": users, "limit": 2, "next": next })).await;
    assert_eq!((status, second["feeds"].as_array().map(Vec::len)), (StatusCode::CREATED, Some(2)), "{second}");

    for bad in tampered(&next) {
        assert_invalid_cursor(&api.post(QUERY_FEEDS, &json!({ "filter": users, "next": bad })).await, "next");
    }
    let timelines = json!({ "group_id": "timeline" });
    assert_invalid_cursor(&api.post(QUERY_FEEDS, &json!({ "filter": timelines, "next": next })).await, "next");
    let newest_last = json!({ "filter": users, "next": next, "sort": [{ "field": "created_at", "direction": 1 }] });
    assert_invalid_cursor(&api.post(QUERY_FEEDS, &newest_last).await, "next");
    assert_invalid_cursor(&api.post(QUERY_FOLLOWS, &json!({ "next": next })).await, "next");
    // The unsigned offsets of earlier versions are refused too.
    let unsigned = "bzF8MQ"; // base64 of "o1|1"
    assert_invalid_cursor(&api.post(QUERY_FEEDS, &json!({ "filter": users, "next": unsigned })).await, "next");
}

#[tokio::test(flavor = "multi_thread")]
async fn cursors_hold_on_every_server_sharing_the_api_secret() {
    // The key derives from the app's secret: a restarted server, or another
    // instance of the app, accepts the cursors the first one handed out.
    let (one, two) = (TestServer::spawn().await, TestServer::spawn().await);
    for srv in [&one, &two] {
        let api = srv.server();
        api.create_users(&["a", "b"]).await;
        api.read_feed("user:a", "a", json!({})).await;
        api.read_feed("user:b", "b", json!({})).await;
    }
    let (_, first) = one.server().post(QUERY_FEEDS, &json!({ "limit": 1 })).await;
    let next = cursor(&first, &["next"]);
    let (status, second) = two.server().post(QUERY_FEEDS, &json!({ "limit": 1, "next": next })).await;
    assert_eq!((status, second["feeds"].as_array().map(Vec::len)), (StatusCode::CREATED, Some(1)), "{second}");
}
