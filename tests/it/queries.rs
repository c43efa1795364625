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
