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
