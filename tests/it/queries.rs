//! QueryActivities paging at size: 1,000 activities in pages of 25 come back
//! each exactly once, in order, while new activities keep arriving (both
//! stores).

use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn paging_1000_activities_returns_each_once_in_order_while_inserting() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["author"]).await;
    let mut expected = Vec::new();
    for batch in 0..10 {
        let activities: Vec<_> = (0..100)
            .map(|i| {
                json!({"id": format!("p{batch:02}{i:03}"), "type": "post", "feeds": ["user:author"],
                            "filter_tags": ["paged"], "user_id": "author"})
            })
            .collect();
        let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({"activities": activities})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        expected.extend(body["activities"].as_array().expect("activities").iter().map(|a| a["id"].clone()));
    }
    let mut expected: Vec<String> = expected.iter().map(|v| v.as_str().expect("id").to_string()).collect();

    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut body = json!({"filter": {"filter_tags": {"$contains": "paged"}}, "limit": 25});
    let mut extra = 0;
    loop {
        let (status, page) = api.post("/api/v2/feeds/activities/query", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{page}");
        seen.extend(
            page["activities"]
                .as_array()
                .expect("activities")
                .iter()
                .map(|a| (a["created_at"].as_i64().expect("created_at"), a["id"].as_str().expect("id").to_string())),
        );
        // Someone keeps posting while we page.
        let (status, _) = api
            .post(
                "/api/v2/feeds/activities",
                &json!({"id": format!("late{extra}"), "type": "post", "feeds": ["user:author"],
                        "filter_tags": ["paged"], "user_id": "author"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        extra += 1;
        match page["next"].as_str() {
            Some(next) => body["next"] = json!(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1000, "every activity once, none of those added meanwhile");
    // Newest first, ties (a batch shares one timestamp) by id: strictly
    // decreasing, so nothing repeats and nothing is out of place.
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "pages are in (created_at, id) descending order");
    let mut ids: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected, "exactly the 1,000 activities that existed when paging began");
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize].clone()
    }
}

/// One valid filter of the activity language, nested at most `depth` more.
fn valid_condition(rng: &mut Rng, depth: u32) -> serde_json::Value {
    let date = json!("2025-07-30T12:00:00Z");
    let choices = [
        json!({"id": {"$in": ["a", "b"]}}),
        json!({"user_id": "someone"}),
        json!({"activity_type": {"$in": ["post", "photo"]}}),
        json!({"feed": "user:someone"}),
        json!({"created_at": {"$gte": date}}),
        json!({"expires_at": {"$exists": false}}),
        json!({"filter_tags": ["a", "b"]}),
        json!({"interest_tags": {"$contains": "cats"}}),
        json!({"custom.a.b": {"$gt": 3}}),
        json!({"custom.a": {"$in": [1, "x", true]}}),
        json!({"custom.list": {"$contains": "x"}}),
        json!({"custom": {"$contains": {"a": [1, {"b": null}]}}}),
        json!({"custom": {"$path_exists": "a.b"}}),
        json!({"search_data": {"$in": [{"x": 1}, {"y": {"z": "w"}}]}}),
        json!({"text": {"$q": "hello world"}}),
        json!({"text": {"$autocomplete": "hel"}}),
        json!({"hidden": true}),
        json!({"popularity": {"$lt": 10}}),
        json!({"within_bounds": {"ne_lat": 1, "ne_lng": 170, "sw_lat": -1, "sw_lng": -170}}),
        json!({"near": {"$eq": {"lat": 10, "lng": 20, "distance": 5}}}),
    ];
    let leaf = rng.pick(&choices);
    match rng.next() % 5 {
        0 if depth > 0 => json!({"$and": [leaf, valid_condition(rng, depth - 1)]}),
        1 if depth > 0 => json!({"$or": [leaf, valid_condition(rng, depth - 1)]}),
        _ => leaf,
    }
}

/// Anything shaped like JSON, most of it nonsense for a filter.
fn random_value(rng: &mut Rng, depth: u32) -> serde_json::Value {
    let keys =
        ["id", "custom.a", "custom", "search_data", "near", "text", "$and", "$or", "$in", "$contains", "$q", "zz"];
    match rng.next() % if depth > 2 { 5 } else { 7 } {
        0 => serde_json::Value::Null,
        1 => json!(rng.next().is_multiple_of(2)),
        2 => json!((rng.next() % 200) as i64 - 100),
        3 => json!(rng.pick(&keys)),
        4 => json!("2025-07-30T12:00:00Z"),
        5 => json!((0..rng.next() % 3).map(|_| random_value(rng, depth + 1)).collect::<Vec<_>>()),
        _ => serde_json::Value::Object(
            (0..rng.next() % 3).map(|_| (rng.pick(&keys).to_string(), random_value(rng, depth + 1))).collect(),
        ),
    }
}

/// Property test of the filter language over real HTTP and the real store:
/// generated valid filters always answer 201, random ones 201 or a 400
/// `APIError` with code 4 — never a 500.
#[tokio::test(flavor = "multi_thread")]
async fn generated_filters_are_answered_never_500() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["someone"]).await;
    api.add_activity("someone", &["user:someone"], json!({"text": "hello world", "custom": {"a": {"b": 5}}})).await;
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..150 {
        let filter = valid_condition(&mut rng, 4);
        let (status, body) = api.post("/api/v2/feeds/activities/query", &json!({"filter": filter})).await;
        assert_eq!(status, StatusCode::CREATED, "{filter}: {body}");
    }
    let endpoints = ["/api/v2/feeds/activities/query", "/api/v2/polls/query", "/api/v2/feeds/collections/query"];
    for i in 0..300 {
        let filter = random_value(&mut rng, 0);
        let path = endpoints[i % endpoints.len()];
        let (status, body) = api.post(path, &json!({"filter": filter})).await;
        match status {
            StatusCode::CREATED => {}
            StatusCode::BAD_REQUEST => assert_eq!(body["code"], 4, "{path} {filter}: {body}"),
            other => panic!("{path} {filter}: {other} {body}"),
        }
    }
}

/// Posts `count` activities by `author` to their user feed, in batches, with
/// `extra` merged into each; ids are `{prefix}{i:05}`.
async fn post_many(api: &crate::support::Client, author: &str, prefix: &str, count: usize, extra: serde_json::Value) {
    let ids: Vec<usize> = (0..count).collect();
    for chunk in ids.chunks(100) {
        let activities: Vec<_> = chunk
            .iter()
            .map(|i| {
                let mut a = json!({"id": format!("{prefix}{i:05}"), "type": "post",
                                   "feeds": [format!("user:{author}")], "user_id": author});
                a.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
                a
            })
            .collect();
        let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({"activities": activities})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

/// Follows `key` cursors from `body` until none is left; returns the ids of
/// every page, in page order, and the last page.
async fn pages(
    api: &crate::support::Client,
    mut body: serde_json::Value,
    key: &str,
) -> (Vec<Vec<String>>, serde_json::Value) {
    let mut out = Vec::new();
    loop {
        let (status, page) = api.post("/api/v2/feeds/activities/query", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{page}");
        let ids = page["activities"].as_array().expect("activities").iter();
        out.push(ids.map(|a| a["id"].as_str().expect("id").to_string()).collect());
        assert!(out.len() < 100, "paging ends");
        match page[key].as_str() {
            Some(cursor) => body[key] = json!(cursor),
            None => return (out, page),
        }
    }
}

/// A filter no index narrows examines at most `SCAN_BUDGET` activities per
/// request: rare matches behind more non-matching activities than that come
/// back over several pages, some short or empty, each exactly once and in
/// order, forwards and backwards.
#[tokio::test(flavor = "multi_thread")]
async fn unindexed_filters_scan_a_bounded_window_and_page_through_every_match() {
    use tributary::core::scan::SCAN_BUDGET;
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["author"]).await;
    let rare = json!({"filter_tags": ["rare"]});
    // Oldest first: 2 matches, a budget and a half of others, 1 match, more
    // than a budget of others, 2 matches, a few others.
    post_many(&api, "author", "m0-", 2, rare.clone()).await;
    post_many(&api, "author", "x1-", SCAN_BUDGET * 3 / 2, json!({})).await;
    post_many(&api, "author", "m1-", 1, rare.clone()).await;
    post_many(&api, "author", "x2-", SCAN_BUDGET + 100, json!({})).await;
    post_many(&api, "author", "m2-", 2, rare.clone()).await;
    post_many(&api, "author", "x3-", 50, json!({})).await;
    let newest_first = ["m2-00001", "m2-00000", "m1-00000", "m0-00001", "m0-00000"];

    let filter = json!({"filter_tags": {"$contains": "rare"}});
    let (forward, last) = pages(&api, json!({"filter": filter, "limit": 2}), "next").await;
    let seen: Vec<&str> = forward.iter().flatten().map(String::as_str).collect();
    assert_eq!(seen, newest_first, "every match once, newest first: {forward:?}");
    assert!(forward.iter().any(|p| p.len() < 2), "the budget cut some pages short: {forward:?}");
    assert!(forward.len() >= 3, "more than two budgets of activities take several pages: {forward:?}");

    // Back from the last page: every match before it, each once.
    let prev = last["prev"].as_str().expect("the last page has a prev cursor");
    let (backward, first) = pages(&api, json!({"filter": filter, "limit": 2, "prev": prev}), "prev").await;
    let mut seen_back: Vec<String> = Vec::new();
    for page in backward {
        // Pages come newer and newer, each in page order (newest first).
        seen_back.splice(0..0, page);
    }
    let last_ids: Vec<String> = forward.last().expect("pages").clone();
    let before: Vec<String> = newest_first.iter().map(|s| s.to_string()).filter(|id| !last_ids.contains(id)).collect();
    assert_eq!(seen_back, before, "prev pages return the matches before the last page, each once");
    assert!(first.get("prev").is_none(), "nothing before the first match: {first}");
}

/// An indexed equality (`user_id`) is not budgeted: its matches fill the
/// page however many other activities are newer.
#[tokio::test(flavor = "multi_thread")]
async fn indexed_filters_fill_their_pages_past_the_budget() {
    use tributary::core::scan::SCAN_BUDGET;
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["quiet", "loud"]).await;
    post_many(&api, "quiet", "q-", 3, json!({})).await;
    post_many(&api, "loud", "l-", SCAN_BUDGET + 100, json!({})).await;
    let (status, page) =
        api.post("/api/v2/feeds/activities/query", &json!({"filter": {"user_id": "quiet"}, "limit": 3})).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let ids: Vec<&str> =
        page["activities"].as_array().expect("activities").iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, ["q-00002", "q-00001", "q-00000"]);
    assert!(page.get("next").is_none(), "nothing more: {page}");
}

/// `popularity` is kept on the activity row by the stores' triggers: after
/// every kind of counted write (reactions, comments soft and hard deleted,
/// bookmarks, shares soft and hard deleted) the popularity a query filters
/// and sorts on is the one the response shows (both stores).
#[tokio::test(flavor = "multi_thread")]
async fn popularity_follows_every_counted_write() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob", "cy"]).await;
    let post = api.add_activity("ann", &["user:ann"], json!({"id": "pop"})).await;
    assert_eq!(post["popularity"], 0, "{post}");
    api.add_activity("ann", &["user:ann"], json!({"id": "quiet"})).await;

    let check = |expected: i64| {
        let api = api.clone();
        async move {
            let (status, got) = api.get("/api/v2/feeds/activities/pop").await;
            assert_eq!(status, StatusCode::OK, "{got}");
            assert_eq!(got["activity"]["popularity"], expected, "response popularity");
            let filter = json!({"filter": {"id": {"$in": ["pop", "quiet"]},
                                           "popularity": {"$gte": expected, "$lte": expected}}});
            let (status, page) = api.post("/api/v2/feeds/activities/query", &filter).await;
            assert_eq!(status, StatusCode::CREATED, "{page}");
            let ids: Vec<_> =
                page["activities"].as_array().expect("activities").iter().map(|a| a["id"].clone()).collect();
            let want = if expected == 0 { json!(["pop", "quiet"]) } else { json!(["pop"]) };
            let mut ids = ids;
            ids.sort_by_key(|v| v.as_str().unwrap_or_default().to_string());
            assert_eq!(json!(ids), want, "the indexed popularity matches the response ({expected})");
            // Fractional bounds against the integer column: each operator as on the number line.
            let x = expected as f64;
            for (op, bound, holds) in [
                ("$gt", x - 0.5, true),
                ("$gte", x + 0.5, false),
                ("$lt", x + 0.5, true),
                ("$lte", x - 0.5, false),
                ("$eq", x + 0.5, false),
                ("$eq", x, true),
            ] {
                let filter = json!({"filter": {"id": "pop", "popularity": {op: bound}}});
                let (status, page) = api.post("/api/v2/feeds/activities/query", &filter).await;
                assert_eq!(status, StatusCode::CREATED, "{page}");
                let found = page["activities"].as_array().is_some_and(|a| a.len() == 1);
                assert_eq!(found, holds, "popularity {expected} {op} {bound}: {page}");
            }
            let sorted = json!({"filter": {"id": {"$in": ["pop", "quiet"]}},
                                "sort": [{"field": "popularity", "direction": -1}]});
            let (_, page) = api.post("/api/v2/feeds/activities/query", &sorted).await;
            if expected > 0 {
                assert_eq!(page["activities"][0]["id"], "pop", "sorted by popularity: {page}");
            }
        }
    };

    for user in ["bob", "cy"] {
        let (s, b) =
            api.post("/api/v2/feeds/activities/pop/reactions", &json!({"type": "like", "user_id": user})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    check(2).await;
    let (s, b) = api.delete("/api/v2/feeds/activities/pop/reactions/like?user_id=bob").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    check(1).await;

    let mut comments = Vec::new();
    for text in ["one", "two", "three"] {
        let body = json!({"object_id": "pop", "object_type": "activity", "comment": text, "user_id": "bob"});
        let (s, b) = api.post("/api/v2/feeds/comments", &body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        comments.push(b["comment"]["id"].as_str().expect("comment id").to_string());
    }
    check(7).await;
    let (s, b) = api.delete(&format!("/api/v2/feeds/comments/{}", comments[0])).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    check(5).await;
    let (s, b) = api.delete(&format!("/api/v2/feeds/comments/{}?hard_delete=true", comments[1])).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    check(3).await;

    for user in ["bob", "cy"] {
        let (s, b) = api.post("/api/v2/feeds/activities/pop/bookmarks", &json!({"user_id": user})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    check(9).await;
    let (s, b) = api.delete("/api/v2/feeds/activities/pop/bookmarks?user_id=cy").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    check(6).await;

    for (user, id) in [("bob", "share1"), ("cy", "share2")] {
        let feed = format!("user:{user}");
        api.add_activity(user, &[&feed], json!({"id": id, "parent_id": "pop"})).await;
    }
    check(12).await;
    let (s, b) = api.delete("/api/v2/feeds/activities/share1").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    check(9).await;
    let (s, b) = api.delete("/api/v2/feeds/activities/share2?hard_delete=true").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    check(6).await;
}

/// `text $q` through the trigram index gives what the plain scan gave:
/// rare words, words that changed with an edit, deleted activities, short
/// words the index cannot look up, case, and a word too common to narrow
/// (more than 1,000 matches) (both stores).
#[tokio::test(flavor = "multi_thread")]
async fn text_search_through_the_index_matches_substrings() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann"]).await;
    for batch in 0..11 {
        let activities: Vec<_> = (0..100)
            .map(|i| {
                json!({"id": format!("c{batch:02}{i:03}"), "type": "post", "feeds": ["user:ann"], "user_id": "ann",
                       "text": format!("common words number {i}")})
            })
            .collect();
        let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({"activities": activities})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for (id, text) in [
        ("zebra", "A Zebrafish swims by"),
        ("ox", "an ox and a yak"),
        ("edited", "before the edit: marmalade"),
        ("gone", "a vanishing quokka"),
    ] {
        api.add_activity("ann", &["user:ann"], json!({"id": id, "text": text})).await;
    }
    let search = |q: &'static str| {
        let api = api.clone();
        async move {
            let body = json!({"filter": {"text": {"$q": q}}, "limit": 25});
            let (status, page) = api.post("/api/v2/feeds/activities/query", &body).await;
            assert_eq!(status, StatusCode::CREATED, "{page}");
            let mut ids: Vec<String> = page["activities"]
                .as_array()
                .expect("activities")
                .iter()
                .map(|a| a["id"].as_str().expect("id").to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(search("zebraFISH").await, ["zebra"], "case-insensitive, inside a word");
    assert_eq!(search("bra swims").await, ["zebra"], "every word, as substrings");
    assert_eq!(search("ox yak").await, ["ox"], "a word too short for the index still filters");
    assert!(search("zebra yak").await.is_empty(), "every word must match");
    assert_eq!(search("marmalade").await, ["edited"]);

    let (status, body) = api
        .put(
            "/api/v2/feeds/activities/edited",
            &json!({"type": "post", "feeds": ["user:ann"], "user_id": "ann", "text": "after the edit: chutney"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(search("marmalade").await.is_empty(), "the old text left the index");
    assert_eq!(search("chutney").await, ["edited"], "the new text is found");

    let (status, body) = api.delete("/api/v2/feeds/activities/gone?hard_delete=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(search("quokka").await.is_empty(), "a deleted activity is not found");

    // 1,100 matches: too many to narrow, so the query walks by time.
    let common = search("common words").await;
    assert_eq!(common.len(), 25, "a page of the common word: {common:?}");
    assert!(common.iter().all(|id| id.starts_with("c10")), "the newest batch first: {common:?}");
}
