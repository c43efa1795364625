//! Concurrent partial updates of one record each keep their change: the
//! change applies to the row as it is when written, never to a stale copy
//! (no lost updates), on either store (`TRIBUTARY_TEST_STORE=postgres`).

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Client, TestServer};

const WRITERS: usize = 50;

/// Sends every request at once; each must answer `ok`.
async fn race(api: &Client, method: Method, path: &str, bodies: Vec<Value>, ok: StatusCode) {
    let sends = bodies.into_iter().map(|body| {
        let (api, method) = (api.clone(), method.clone());
        async move { api.send(method, path, Some(body.to_string().into_bytes())).await }
    });
    for (status, body) in join_all(sends).await {
        assert_eq!(status, ok, "{path}: {body}");
    }
}

/// `set` bodies for `custom.k<i>`, one per writer, merged into `extra`.
fn key_sets(extra: Value) -> Vec<Value> {
    (0..WRITERS)
        .map(|i| {
            let mut body = extra.clone();
            body["set"] = json!({ format!("custom.k{i}"): i });
            body
        })
        .collect()
}

fn assert_all_keys(custom: &Value) {
    let missing: Vec<usize> = (0..WRITERS).filter(|i| custom[format!("k{i}")] != json!(i)).collect();
    assert!(missing.is_empty(), "keys lost: {missing:?} in {custom}");
}

async fn get(api: &Client, path: &str) -> Value {
    let (status, body) = api.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn setup_activity(api: &Client, custom: Value) -> String {
    api.create_users(&["ann"]).await;
    let activity = api.add_activity("ann", &["user:ann"], json!({ "text": "hi", "custom": custom })).await;
    activity["id"].as_str().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_activity_partial_updates_keep_every_key() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let id = setup_activity(&api, json!({})).await;
    let path = format!("/api/v2/feeds/activities/{id}");
    race(&api, Method::PATCH, &path, key_sets(json!({ "user_id": "ann" })), StatusCode::OK).await;
    assert_all_keys(&get(&api, &path).await["activity"]["custom"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_activity_sets_and_unsets_all_apply() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let old: serde_json::Map<String, Value> = (0..WRITERS).map(|i| (format!("old{i}"), json!(i))).collect();
    let id = setup_activity(&api, Value::Object(old)).await;
    let path = format!("/api/v2/feeds/activities/{id}");
    // Even writers remove an old key, odd ones add a new key.
    let bodies = (0..WRITERS)
        .map(|i| match i % 2 {
            0 => json!({ "user_id": "ann", "unset": [format!("custom.old{i}")] }),
            _ => json!({ "user_id": "ann", "set": { format!("custom.new{i}"): i } }),
        })
        .collect();
    race(&api, Method::PATCH, &path, bodies, StatusCode::OK).await;
    let custom = get(&api, &path).await["activity"]["custom"].clone();
    for i in 0..WRITERS {
        if i % 2 == 0 {
            assert!(custom.get(format!("old{i}")).is_none(), "old{i} was unset: {custom}");
        } else {
            assert_eq!(custom[format!("old{i}")], json!(i), "old{i} kept: {custom}");
            assert_eq!(custom[format!("new{i}")], json!(i), "new{i} set: {custom}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_activity_batch_partial_updates_keep_every_key() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let id = setup_activity(&api, json!({})).await;
    let bodies = (0..WRITERS)
        .map(|i| json!({ "changes": [{ "activity_id": id, "set": { format!("custom.k{i}"): i } }] }))
        .collect();
    race(&api, Method::PATCH, "/api/v2/feeds/activities/batch/partial", bodies, StatusCode::OK).await;
    assert_all_keys(&get(&api, &format!("/api/v2/feeds/activities/{id}")).await["activity"]["custom"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_comment_partial_updates_keep_every_key() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let activity = setup_activity(&api, json!({})).await;
    let body = json!({ "object_id": activity, "object_type": "activity", "comment": "hey", "user_id": "ann" });
    let (status, created) = api.post("/api/v2/feeds/comments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v2/feeds/comments/{}", created["comment"]["id"].as_str().expect("id"));
    let partial = format!("{path}/partial");
    race(&api, Method::POST, &partial, key_sets(json!({ "user_id": "ann" })), StatusCode::CREATED).await;
    assert_all_keys(&get(&api, &path).await["comment"]["custom"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_user_partial_updates_keep_every_key() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann"]).await;
    let bodies =
        (0..WRITERS).map(|i| json!({ "users": [{ "id": "ann", "set": { format!("custom.k{i}"): i } }] })).collect();
    race(&api, Method::PATCH, "/api/v2/users", bodies, StatusCode::OK).await;
    let (status, last) =
        api.patch("/api/v2/users", &json!({ "users": [{ "id": "ann", "set": { "custom.last": true } }] })).await;
    assert_eq!(status, StatusCode::OK, "{last}");
    assert_all_keys(&last["users"]["ann"]["custom"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_poll_partial_updates_and_new_options_all_apply() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann"]).await;
    let (status, created) = api
        .post("/api/v2/polls", &json!({ "name": "lunch?", "user_id": "ann", "options": [{ "text": "soup" }] }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v2/polls/{}", created["poll"]["id"].as_str().expect("id"));
    race(&api, Method::PATCH, &path, key_sets(json!({})), StatusCode::OK).await;
    assert_all_keys(&get(&api, &path).await["poll"]["custom"]);
    let options = (0..WRITERS).map(|i| json!({ "text": format!("dish {i}") })).collect();
    race(&api, Method::POST, &format!("{path}/options"), options, StatusCode::CREATED).await;
    assert_eq!(get(&api, &path).await["poll"]["options"].as_array().map(Vec::len), Some(WRITERS + 1));
}

/// Rounds of: `reset`, then half the writers change one field and half
/// another at once; `check` sees the record after each round (both changes
/// must stay). A lost update needs the last write to have read before any
/// write of the other field, hence several rounds.
async fn race_two_fields(
    api: &Client,
    method: Method,
    path: &str,
    writes: [Value; 3],
    ok: StatusCode,
    check: impl Fn(&Value),
) {
    let [reset, a, b] = writes;
    for _ in 0..10 {
        let (status, body) = api.send(method.clone(), path, Some(reset.to_string().into_bytes())).await;
        assert_eq!(status, ok, "{path}: {body}");
        let bodies = (0..WRITERS).map(|i| if i % 2 == 0 { a.clone() } else { b.clone() }).collect();
        race(api, method.clone(), path, bodies, ok).await;
        let (status, body) = api.send(method.clone(), path, Some(a.to_string().into_bytes())).await;
        assert_eq!(status, ok, "{path}: {body}");
        check(&body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_feed_updates_of_different_fields_all_apply() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann"]).await;
    api.read_feed("user:ann", "ann", json!({})).await;
    let path = "/api/v2/feeds/feed_groups/user/feeds/ann";
    let writes = [
        json!({ "name": "", "description": "" }),
        json!({ "name": "Ann's" }),
        json!({ "description": "all about Ann" }),
    ];
    race_two_fields(&api, Method::PUT, path, writes, StatusCode::CREATED, |feed| {
        assert_eq!(feed["feed"]["name"], "Ann's", "{feed}");
        assert_eq!(feed["feed"]["description"], "all about Ann", "{feed}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_follow_updates_of_different_fields_all_apply() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["fan", "star"]).await;
    api.follow("timeline:fan", "user:star", json!({})).await;
    let pair = json!({ "source": "timeline:fan", "target": "user:star" });
    let with = |extra: Value| {
        let mut body = pair.clone();
        body.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
        body
    };
    let writes = [
        with(json!({ "custom": {}, "push_preference": "none" })),
        with(json!({ "custom": { "note": "fav" } })),
        with(json!({ "push_preference": "all" })),
    ];
    race_two_fields(&api, Method::PATCH, "/api/v2/feeds/follows", writes, StatusCode::OK, |follow| {
        assert_eq!(follow["follow"]["custom"], json!({ "note": "fav" }), "{follow}");
        assert_eq!(follow["follow"]["push_preference"], "all", "{follow}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_bookmark_folder_updates_of_different_fields_all_apply() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let activity = setup_activity(&api, json!({})).await;
    let (status, created) = api
        .post(
            &format!("/api/v2/feeds/activities/{activity}/bookmarks"),
            &json!({ "user_id": "ann", "new_folder": { "name": "later" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let folder = created["bookmark"]["folder"]["id"].as_str().expect("folder id").to_string();
    let path = format!("/api/v2/feeds/bookmark_folders/{folder}");
    let writes = [
        json!({ "user_id": "ann", "name": "later", "custom": {} }),
        json!({ "user_id": "ann", "name": "read later" }),
        json!({ "user_id": "ann", "custom": { "c": 1 } }),
    ];
    race_two_fields(&api, Method::PATCH, &path, writes, StatusCode::OK, |folder| {
        assert_eq!(folder["bookmark_folder"]["name"], "read later", "{folder}");
        assert_eq!(folder["bookmark_folder"]["custom"], json!({ "c": 1 }), "{folder}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bookmark_move_keeps_concurrent_custom_edits() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let first = setup_activity(&api, json!({})).await;
    let (status, created) = api
        .post(
            &format!("/api/v2/feeds/activities/{first}/bookmarks"),
            &json!({ "user_id": "ann", "new_folder": { "name": "inbox" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let inbox = created["bookmark"]["folder"]["id"].as_str().expect("folder id").to_string();
    for round in 0..10 {
        let activity = api.add_activity("ann", &["user:ann"], json!({ "text": format!("round {round}") })).await;
        let id = activity["id"].as_str().expect("id");
        let path = format!("/api/v2/feeds/activities/{id}/bookmarks");
        let (status, body) = api.post(&path, &json!({ "user_id": "ann", "folder_id": inbox })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // One writer moves the bookmark to a new folder, the others edit
        // its `custom` where it is (404 once it has moved).
        let bodies = (0..WRITERS).map(|i| match i {
            0 => json!({ "user_id": "ann", "folder_id": inbox, "new_folder": { "name": format!("moved {round}") } }),
            _ => json!({ "user_id": "ann", "folder_id": inbox, "custom": { "c": i } }),
        });
        let sends = bodies.map(|body| {
            let (api, path) = (api.clone(), path.clone());
            async move { api.send(Method::PATCH, &path, Some(body.to_string().into_bytes())).await }
        });
        let answers = join_all(sends).await;
        for (status, body) in &answers {
            assert!(
                *status == StatusCode::OK || *status == StatusCode::NOT_FOUND && answers[0].0 == StatusCode::OK,
                "{status}: {body}"
            );
        }
        let edited = answers[1..].iter().any(|(status, _)| *status == StatusCode::OK);
        let (status, found) =
            api.post("/api/v2/feeds/bookmarks/query", &json!({ "filter": { "object_id": id } })).await;
        assert_eq!(status, StatusCode::CREATED, "{found}");
        let bookmarks = found["bookmarks"].as_array().expect("bookmarks");
        assert_eq!(bookmarks.len(), 1, "{found}");
        assert_eq!(bookmarks[0]["folder"]["name"], format!("moved {round}"), "{found}");
        let custom = &bookmarks[0]["custom"];
        assert_eq!(edited, custom.get("c").is_some(), "an edit before the move was lost: {custom}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_member_upserts_of_different_fields_all_apply() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob"]).await;
    api.read_feed("user:ann", "ann", json!({})).await;
    let path = "/api/v2/feeds/feed_groups/user/feeds/ann/members";
    let upsert = |member: Value| json!({ "operation": "upsert", "members": [member] });
    let writes = [
        upsert(json!({ "user_id": "bob", "role": "member", "custom": {} })),
        upsert(json!({ "user_id": "bob", "role": "moderator" })),
        upsert(json!({ "user_id": "bob", "custom": { "c": 1 } })),
    ];
    race_two_fields(&api, Method::PATCH, path, writes, StatusCode::OK, |changes| {
        assert_eq!(changes["updated"][0]["role"], "moderator", "{changes}");
        assert_eq!(changes["updated"][0]["custom"], json!({ "c": 1 }), "{changes}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_upserts_of_a_new_member_all_apply_once() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob"]).await;
    api.read_feed("user:ann", "ann", json!({})).await;
    let path = "/api/v2/feeds/feed_groups/user/feeds/ann/members";
    for _ in 0..10 {
        let (status, body) =
            api.patch(path, &json!({ "operation": "remove", "members": [{ "user_id": "bob" }] })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let bodies = (0..WRITERS)
            .map(|i| match i % 2 {
                0 => json!({ "operation": "upsert", "members": [{ "user_id": "bob", "role": "moderator" }] }),
                _ => json!({ "operation": "upsert", "members": [{ "user_id": "bob", "custom": { "c": 1 } }] }),
            })
            .collect();
        race(&api, Method::PATCH, path, bodies, StatusCode::OK).await;
        let (status, listed) = api.post(&format!("{path}/query"), &json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{listed}");
        let members = listed["members"].as_array().expect("members");
        assert_eq!(members.len(), 1, "{listed}");
        assert_eq!(members[0]["role"], "moderator", "{listed}");
        assert_eq!(members[0]["custom"], json!({ "c": 1 }), "{listed}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn comment_partial_updates_racing_delete_and_restore_keep_every_key() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let activity = setup_activity(&api, json!({})).await;
    let body = json!({ "object_id": activity, "object_type": "activity", "comment": "hey", "user_id": "ann" });
    let (status, created) = api.post("/api/v2/feeds/comments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v2/feeds/comments/{}", created["comment"]["id"].as_str().expect("id"));
    let partial = format!("{path}/partial");
    for round in 0..5 {
        let bodies: Vec<Value> = (0..WRITERS / 2)
            .map(|i| json!({ "user_id": "ann", "set": { format!("custom.r{round}k{i}"): i } }))
            .collect();
        let delete_and_restore = async {
            let (status, body) = api.delete(&path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let (status, body) = api.post(&format!("{path}/restore"), &json!({})).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        };
        tokio::join!(race(&api, Method::POST, &partial, bodies, StatusCode::CREATED), delete_and_restore);
        let comment = get(&api, &path).await["comment"].clone();
        assert_eq!(comment["status"], "active", "{comment}");
        let missing: Vec<usize> =
            (0..WRITERS / 2).filter(|i| comment["custom"][format!("r{round}k{i}")] != json!(i)).collect();
        assert!(missing.is_empty(), "round {round}: keys lost: {missing:?} in {comment}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invite_answer_keeps_concurrent_member_upserts() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["ann", "bob"]).await;
    api.read_feed("user:ann", "ann", json!({})).await;
    let path = "/api/v2/feeds/feed_groups/user/feeds/ann/members";
    for _ in 0..15 {
        let reset = [
            json!({ "operation": "remove", "members": [{ "user_id": "bob" }] }),
            json!({ "operation": "upsert", "members": [{ "user_id": "bob", "invite": true }] }),
        ];
        for body in reset {
            let (status, body) = api.patch(path, &body).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let accept = format!("{path}/accept");
        let upserts = (0..WRITERS).map(|i| {
            let body = json!({ "operation": "upsert", "members": [{ "user_id": "bob", "custom": { "c": i } }] });
            let api = api.clone();
            async move { api.patch(path, &body).await }
        });
        let answer_body = json!({ "user_id": "bob" });
        let (upserted, (status, accepted)) = tokio::join!(join_all(upserts), api.post(&accept, &answer_body));
        assert_eq!(status, StatusCode::CREATED, "{accepted}");
        for (status, changes) in &upserted {
            assert_eq!(*status, StatusCode::OK, "{changes}");
        }
        assert_kept_latest(&accepted["member"], upserted.iter().map(|(_, changes)| &changes["updated"][0]));
    }
}

/// `answer`, a write racing `writes` (records as each saved them), kept the
/// `custom.c` of the last of them committed before it — versions
/// (`updated_at`) rise in commit order.
fn assert_kept_latest<'a>(answer: &Value, writes: impl Iterator<Item = &'a Value>) {
    let version = |record: &Value| record["updated_at"].as_i64().expect("updated_at");
    let before = writes.filter(|w| version(w) < version(answer)).max_by_key(|w| version(w));
    let expected = before.and_then(|w| w["custom"].get("c"));
    assert_eq!(answer["custom"].get("c"), expected, "lost: {before:?} before {answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_accept_keeps_concurrent_follow_updates() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["star"]).await;
    let body = json!({ "user_id": "star", "data": { "visibility": "followers" } });
    let (status, created) = api.post("/api/v2/feeds/feed_groups/user/feeds/star", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for round in 0..15 {
        let fan = format!("fan{round}");
        api.create_users(&[fan.as_str()]).await;
        let pair = json!({ "source": format!("timeline:{fan}"), "target": "user:star" });
        assert_eq!(api.follow(&format!("timeline:{fan}"), "user:star", json!({})).await["follow"]["status"], "pending");
        let updates = (0..WRITERS).map(|i| {
            let mut body = pair.clone();
            body["custom"] = json!({ "c": i });
            let api = api.clone();
            async move { api.patch("/api/v2/feeds/follows", &body).await }
        });
        let (updated, (status, accepted)) =
            tokio::join!(join_all(updates), api.post("/api/v2/feeds/follows/accept", &pair));
        assert_eq!(status, StatusCode::CREATED, "{accepted}");
        for (status, changed) in &updated {
            assert_eq!(*status, StatusCode::OK, "{changed}");
        }
        assert_kept_latest(&accepted["follow"], updated.iter().map(|(_, changed)| &changed["follow"]));
    }
}
