//! Many concurrent writers on one thing never produce duplicates or lost
//! counts, on either store (`TRIBUTARY_TEST_STORE=postgres` for PostgreSQL).

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestServer};

async fn feed_counts(api: &Client, fid: &str, user: &str) -> Value {
    api.read_feed(fid, user, json!({"limit": 1})).await["feed"].clone()
}

/// Every activity id of a feed, following `next` to the end.
async fn all_ids(api: &Client, fid: &str, user: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut params = json!({"limit": 25});
    loop {
        let page = api.read_feed(fid, user, params.clone()).await;
        ids.extend(crate::support::ids_of(&page));
        match page["next"].as_str() {
            Some(next) => params["next"] = json!(next),
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_follows_of_one_pair_create_exactly_one() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["fan", "star"]).await;
    let body = json!({"source": "timeline:fan", "target": "user:star"});
    let results = join_all((0..50).map(|_| api.post("/api/v2/feeds/follows", &body))).await;
    let created = results.iter().filter(|r| r.0 == StatusCode::CREATED).count();
    assert_eq!(created, 1, "exactly one follow is created");
    for r in results.iter().filter(|r| r.0 != StatusCode::CREATED) {
        assert_error(r, StatusCode::BAD_REQUEST, 4);
    }
    assert_eq!(feed_counts(&api, "user:star", "star").await["follower_count"], 1);
    assert_eq!(feed_counts(&api, "timeline:fan", "fan").await["following_count"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_follows_then_unfollows_leave_exact_counts() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let fans: Vec<String> = (0..20).map(|i| format!("fan{i}")).collect();
    let mut ids: Vec<&str> = fans.iter().map(String::as_str).collect();
    ids.push("star");
    api.create_users(&ids).await;
    let follows = fans.iter().map(|f| {
        let body = json!({"source": format!("timeline:{f}"), "target": "user:star"});
        let api = api.clone();
        async move { api.post("/api/v2/feeds/follows", &body).await }
    });
    assert!(join_all(follows).await.iter().all(|r| r.0 == StatusCode::CREATED));
    // Half unfollow, each twice at once: one succeeds, the other finds nothing.
    let unfollows = fans.iter().take(10).flat_map(|f| {
        let path = format!("/api/v2/feeds/follows/timeline:{f}/user:star");
        [api.clone(), api.clone()].map(|api| {
            let path = path.clone();
            async move { api.delete(&path).await }
        })
    });
    let results = join_all(unfollows).await;
    assert_eq!(results.iter().filter(|r| r.0 == StatusCode::OK).count(), 10);
    assert!(results.iter().filter(|r| r.0 != StatusCode::OK).all(|r| r.0 == StatusCode::NOT_FOUND));
    assert_eq!(feed_counts(&api, "user:star", "star").await["follower_count"], 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_upserts_of_one_activity_id_store_it_once() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["author", "reader"]).await;
    api.follow("timeline:reader", "user:author", json!({})).await;
    let writes = (0..50).map(|i| {
        let body = json!({"id": "same-id", "type": "post", "feeds": ["user:author"], "text": format!("v{i}"),
                          "user_id": "author"});
        let api = api.clone();
        async move { api.post("/api/v2/feeds/activities", &body).await }
    });
    let results = join_all(writes).await;
    assert!(results.iter().all(|r| r.0 == StatusCode::CREATED), "{:?}", results.iter().find(|r| !r.0.is_success()));
    assert_eq!(all_ids(&api, "user:author", "author").await, vec!["same-id"]);
    assert_eq!(all_ids(&api, "timeline:reader", "reader").await, vec!["same-id"]);
    assert_eq!(feed_counts(&api, "user:author", "author").await["activity_count"], 1);
    let created: Vec<&Value> = results.iter().map(|r| &r.1["activity"]["created_at"]).collect();
    assert!(created.windows(2).all(|w| w[0] == w[1]), "every upsert reports the first created_at");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_adds_fan_out_to_every_follower_exactly_once() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let readers: Vec<String> = (0..5).map(|i| format!("reader{i}")).collect();
    let mut ids: Vec<&str> = readers.iter().map(String::as_str).collect();
    ids.push("author");
    api.create_users(&ids).await;
    for r in &readers {
        api.follow(&format!("timeline:{r}"), "user:author", json!({})).await;
    }
    let writes = (0..100).map(|i| {
        let body = json!({"id": format!("a{i}"), "type": "post", "feeds": ["user:author"], "user_id": "author"});
        let api = api.clone();
        async move { api.post("/api/v2/feeds/activities", &body).await }
    });
    assert!(join_all(writes).await.iter().all(|r| r.0 == StatusCode::CREATED));
    for r in &readers {
        let mut got = all_ids(&api, &format!("timeline:{r}"), r).await;
        assert_eq!(got.len(), 100, "timeline:{r}");
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 100, "no duplicates in timeline:{r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_exclusive_reactions_keep_one_per_user() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let users: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    let mut ids: Vec<&str> = users.iter().map(String::as_str).collect();
    ids.push("author");
    api.create_users(&ids).await;
    let activity = api.add_activity("author", &["user:author"], json!({})).await;
    let id = activity["id"].as_str().expect("id").to_string();
    let reactions = users.iter().flat_map(|u| {
        ["like", "love", "wow", "like"].map(|kind| {
            let body = json!({"type": kind, "user_id": u, "enforce_unique": true});
            let (api, path) = (api.clone(), format!("/api/v2/feeds/activities/{id}/reactions"));
            async move { api.post(&path, &body).await }
        })
    });
    assert!(join_all(reactions).await.iter().all(|r| r.0 == StatusCode::CREATED));
    let (_, got) = api.get(&format!("/api/v2/feeds/activities/{id}")).await;
    assert_eq!(got["activity"]["reaction_count"], 10);
    let groups = got["activity"]["reaction_groups"].as_object().expect("groups");
    assert_eq!(groups.values().map(|g| g["count"].as_i64().unwrap_or(0)).sum::<i64>(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_answers_to_follow_requests_keep_counts_exact() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let fans: Vec<String> = (0..15).map(|i| format!("fan{i}")).collect();
    let mut ids: Vec<&str> = fans.iter().map(String::as_str).collect();
    ids.push("star");
    api.create_users(&ids).await;
    let (status, _) = api
        .post(
            "/api/v2/feeds/feed_groups/user/feeds/star",
            &json!({"user_id": "star", "data": {"visibility": "followers"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for f in &fans {
        let follow = api.follow(&format!("timeline:{f}"), "user:star", json!({})).await;
        assert_eq!(follow["follow"]["status"], "pending");
    }
    // Each request is accepted twice and rejected once, all at the same time.
    let answers = fans.iter().flat_map(|f| {
        let body = json!({"source": format!("timeline:{f}"), "target": "user:star"});
        ["accept", "accept", "reject"].map(|verb| {
            let (api, body) = (api.clone(), body.clone());
            async move { api.post(&format!("/api/v2/feeds/follows/{verb}"), &body).await }
        })
    });
    for r in join_all(answers).await {
        assert!(r.0 == StatusCode::CREATED || r.0 == StatusCode::BAD_REQUEST, "{r:?}");
    }
    let (_, listed) =
        api.post("/api/v2/feeds/follows/query", &json!({"filter": {"target_feed": "user:star"}, "limit": 100})).await;
    let accepted = listed["follows"].as_array().expect("follows").iter().filter(|f| f["status"] == "accepted").count();
    assert!(accepted > 0);
    assert_eq!(feed_counts(&api, "user:star", "star").await["follower_count"], accepted);
    let following: usize = join_all(fans.iter().map(|f| {
        let api = api.clone();
        async move { feed_counts(&api, &format!("timeline:{f}"), f).await["following_count"].as_u64().unwrap_or(99) }
    }))
    .await
    .iter()
    .map(|n| *n as usize)
    .sum();
    assert_eq!(following, accepted);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_member_changes_keep_member_count_exact() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let people: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    let mut ids: Vec<&str> = people.iter().map(String::as_str).collect();
    ids.push("club");
    api.create_users(&ids).await;
    let (status, _) = api.post("/api/v2/feeds/feed_groups/user/feeds/club", &json!({"user_id": "club"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let path = "/api/v2/feeds/feed_groups/user/feeds/club/members";
    // Everyone is added twice at once; the first half is also removed.
    let mut changes = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let ops: &[&str] = if i < 10 { &["upsert", "upsert", "remove"] } else { &["upsert", "upsert"] };
        for op in ops {
            let (api, body) = (api.clone(), json!({"operation": op, "members": [{"user_id": p}]}));
            changes.push(async move { api.patch(path, &body).await });
        }
    }
    assert!(join_all(changes).await.iter().all(|r| r.0 == StatusCode::OK));
    let (_, listed) = api.post(&format!("{path}/query"), &json!({"limit": 100})).await;
    let members = listed["members"].as_array().expect("members").len();
    assert_eq!(feed_counts(&api, "user:club", "club").await["member_count"], members);
}

#[tokio::test(flavor = "multi_thread")]
async fn everyone_following_everyone_at_once_never_deadlocks() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let people: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
    api.create_users(&people.iter().map(String::as_str).collect::<Vec<_>>()).await;
    // Mutual follows between user feeds lock the same two counter rows from
    // both sides; batches overlap too.
    let mut calls = Vec::new();
    for a in &people {
        for b in people.iter().filter(|b| *b != a) {
            let body = json!({"source": format!("user:{a}"), "target": format!("user:{b}")});
            let api = api.clone();
            calls.push(async move { api.post("/api/v2/feeds/follows/upsert", &body).await });
        }
    }
    for r in join_all(calls).await {
        assert_eq!(r.0, StatusCode::CREATED, "{r:?}");
    }
    for p in &people {
        let counts = feed_counts(&api, &format!("user:{p}"), p).await;
        assert_eq!((counts["follower_count"].as_i64(), counts["following_count"].as_i64()), (Some(11), Some(11)));
    }
}
