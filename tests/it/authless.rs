//! Callers without a user token: anonymous connections (`stream-auth-type:
//! anonymous`) read what the `anonymous` role is granted (feeds, activities,
//! their comments, users) and nothing else;
//! CreateGuest makes `guest` users with a token signed by the server; both
//! can be switched off.

use reqwest::StatusCode;
use serde_json::json;
use tributary::config::AuthlessOptions;

use crate::support::{assert_error, ids_of, TestServer};

const FEED: &str = "/api/v2/feeds/feed_groups/user/feeds";

/// `user:<owner>` with `visibility`, holding a public, a `tag` and a
/// private post, in that order; returns their ids.
async fn feed_with_posts(server: &crate::support::Client, owner: &str, visibility: &str) -> [String; 3] {
    server.create_users(&[owner]).await;
    let (status, body) = server
        .post(&format!("{FEED}/{owner}"), &json!({ "user_id": owner, "data": { "visibility": visibility } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let fid = format!("user:{owner}");
    let open = server.add_activity(owner, &[&fid], json!({ "text": "for everyone" })).await;
    let tag = server
        .add_activity(
            owner,
            &[&fid],
            json!({ "text": "for gold members", "visibility": "tag", "visibility_tag": "gold" }),
        )
        .await;
    let private = server.add_activity(owner, &[&fid], json!({ "text": "for me", "visibility": "private" })).await;
    [open, tag, private].map(|a| a["id"].as_str().expect("id").to_string())
}

#[tokio::test]
async fn anonymous_callers_read_public_and_visible_feeds_only() {
    let srv = TestServer::spawn().await;
    let (server, visitor) = (srv.server(), crate::support::Client::new(&srv.base).anonymous());
    let [open, tag, private] = feed_with_posts(&server, "olga", "public").await;
    let [seen, _, _] = feed_with_posts(&server, "vera", "visible").await;
    let [closed, _, _] = feed_with_posts(&server, "fay", "followers").await;

    // A public feed: its public post whole, the tag post as a preview, never the private one.
    let (status, read) = visitor.post(&format!("{FEED}/olga"), &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{read}");
    assert_eq!(ids_of(&read), [tag.clone(), open.clone()]);
    let preview = &read["activities"][0];
    assert_eq!((preview["preview"].as_bool(), preview.get("text")), (Some(true), None), "{preview}");
    let (status, read) = visitor.post(&format!("{FEED}/vera"), &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{read}");
    assert!(ids_of(&read).contains(&seen));

    let (status, one) = visitor.get(&format!("/api/v2/feeds/activities/{open}")).await;
    assert_eq!((status, one["activity"]["text"].as_str()), (StatusCode::OK, Some("for everyone")));
    assert_error(&visitor.get(&format!("/api/v2/feeds/activities/{private}")).await, StatusCode::NOT_FOUND, 16);
    assert_error(&visitor.get(&format!("/api/v2/feeds/activities/{closed}")).await, StatusCode::FORBIDDEN, 17);
    assert_error(&visitor.post(&format!("{FEED}/fay"), &json!({})).await, StatusCode::FORBIDDEN, 17);

    let query = json!({ "filter": { "user_id": { "$in": ["olga", "vera", "fay"] } }, "limit": 100 });
    let (status, found) = visitor.post("/api/v2/feeds/activities/query", &query).await;
    assert_eq!(status, StatusCode::CREATED, "{found}");
    let mut ids = ids_of(&found);
    ids.sort();
    let (status, all_of_vera) =
        server.post("/api/v2/feeds/activities/query", &json!({ "filter": { "user_id": "vera" } })).await;
    assert_eq!(status, StatusCode::CREATED);
    let vera_readable: Vec<String> = all_of_vera["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .filter(|a| a["visibility"] != "private")
        .map(|a| a["id"].as_str().expect("id").to_string())
        .collect();
    let mut want = vec![open.clone(), tag.clone()];
    want.extend(vera_readable);
    want.sort();
    assert_eq!(ids, want, "public and visible feeds' activities, private ones left out");

    // Feeds it may read, among all of them.
    let (status, feeds) = visitor.post("/api/v2/feeds/feeds/query", &json!({ "filter": { "group_id": "user" } })).await;
    assert_eq!(status, StatusCode::CREATED, "{feeds}");
    let mut fids: Vec<&str> =
        feeds["feeds"].as_array().expect("feeds").iter().filter_map(|f| f["feed"].as_str()).collect();
    fids.sort();
    assert_eq!(fids, ["user:olga", "user:vera"]);

    // Comments of what it may read, not of anything else.
    let comment = json!({ "object_id": open, "object_type": "activity", "comment": "nice", "user_id": "vera" });
    let (status, added) = server.post("/api/v2/feeds/comments", &comment).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let comment_id = added["comment"]["id"].as_str().expect("comment id");
    let (status, thread) = visitor.get(&format!("/api/v2/feeds/comments?object_id={open}&object_type=activity")).await;
    assert_eq!((status, thread["comments"][0]["text"].as_str()), (StatusCode::OK, Some("nice")), "{thread}");
    let (status, one) = visitor.get(&format!("/api/v2/feeds/comments/{comment_id}")).await;
    assert_eq!((status, one["comment"]["id"].as_str()), (StatusCode::OK, Some(comment_id)), "{one}");
    let (status, replies) = visitor.get(&format!("/api/v2/feeds/comments/{comment_id}/replies")).await;
    assert_eq!((status, replies["comments"].clone()), (StatusCode::OK, json!([])), "{replies}");
    let closed_comments = format!("/api/v2/feeds/comments?object_id={closed}&object_type=activity");
    assert_error(&visitor.get(&closed_comments).await, StatusCode::FORBIDDEN, 17);
    // The same rule as for user tokens: a stranger to a followers-only feed reads none of its comments.
    assert_error(&srv.user("una").get(&closed_comments).await, StatusCode::FORBIDDEN, 17);
    let private_comments = format!("/api/v2/feeds/comments?object_id={private}&object_type=activity");
    assert_error(&visitor.get(&private_comments).await, StatusCode::NOT_FOUND, 16);

    let (status, users) =
        visitor.get("/api/v2/users?payload=%7B%22filter_conditions%22%3A%7B%22id%22%3A%22olga%22%7D%7D").await;
    assert_eq!((status, users["users"][0]["id"].as_str()), (StatusCode::OK, Some("olga")), "{users}");
}

#[tokio::test]
async fn anonymous_callers_write_nothing_name_no_one_and_watch_nothing() {
    let srv = TestServer::spawn().await;
    let (server, visitor) = (srv.server(), crate::support::Client::new(&srv.base).anonymous());
    let [open, _, _] = feed_with_posts(&server, "olga", "public").await;
    let refused = [
        visitor.post(&format!("{FEED}/nobody"), &json!({})).await,
        visitor.post(&format!("{FEED}/olga"), &json!({ "user_id": "olga" })).await,
        visitor.post(&format!("{FEED}/olga?connection_id=x"), &json!({ "watch": true })).await,
        visitor
            .post("/api/v2/feeds/activities", &json!({ "type": "post", "feeds": ["user:olga"], "text": "spam" }))
            .await,
        visitor.post(&format!("/api/v2/feeds/activities/{open}/reactions"), &json!({ "type": "like" })).await,
        visitor.get("/api/v2/app").await,
        visitor.get(&format!("/api/v2/feeds/activities/{open}?user_id=olga")).await,
    ];
    for resp in &refused {
        assert_error(resp, StatusCode::FORBIDDEN, 17);
    }
    let (status, read) = server.post(&format!("{FEED}/nobody"), &json!({ "user_id": "olga" })).await;
    assert_eq!((status, read["created"].as_bool()), (StatusCode::CREATED, Some(true)), "the visitor created nothing");
}

#[tokio::test]
async fn the_anonymous_role_reads_what_its_grants_say() {
    let srv = TestServer::spawn().await;
    let (server, visitor) = (srv.server(), crate::support::Client::new(&srv.base).anonymous());
    let [open, _, _] = feed_with_posts(&server, "olga", "public").await;
    let (status, body) =
        server.put("/api/v2/feeds/feed_visibilities/public", &json!({ "grants": { "anonymous": [] } })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_error(&visitor.post(&format!("{FEED}/olga"), &json!({})).await, StatusCode::FORBIDDEN, 17);
    assert_error(&visitor.get(&format!("/api/v2/feeds/activities/{open}")).await, StatusCode::FORBIDDEN, 17);
    let (status, found) =
        visitor.post("/api/v2/feeds/activities/query", &json!({ "filter": { "user_id": "olga" } })).await;
    assert_eq!((status, found["activities"].clone()), (StatusCode::CREATED, json!([])));
    // Signed-in users keep the `user` role's grants.
    let (status, _) = srv.user("una").post(&format!("{FEED}/olga"), &json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn guests_get_a_fresh_guest_user_and_a_working_token() {
    let srv = TestServer::spawn().await;
    let visitor = crate::support::Client::new(&srv.base).anonymous();
    for chosen in [json!({ "role": "admin" }), json!({ "teams": ["red"] }), json!({ "teams_role": { "red": "admin" } })]
    {
        let mut user = json!({ "id": "gus" });
        user.as_object_mut().expect("object").extend(chosen.as_object().expect("object").clone());
        let refused = visitor.post("/api/v2/guest", &json!({ "user": user })).await;
        assert_error(&refused, StatusCode::BAD_REQUEST, 4);
        let field = chosen.as_object().expect("object").keys().next().expect("key").clone();
        assert!(refused.1["message"].as_str().is_some_and(|m| m.contains(&field)), "{}", refused.1);
    }
    let (status, made) =
        visitor.post("/api/v2/guest", &json!({ "user": { "id": "gus", "name": "Gus", "role": "guest" } })).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["user"]["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("gus-") && id.len() > 4, "{id}");
    assert_eq!(made["user"]["role"], "guest");
    assert_eq!(made["user"]["name"], "Gus");
    let guest = crate::support::Client::new(&srv.base).with_token(made["access_token"].as_str().expect("token"));
    let (status, read) = guest.post(&format!("{FEED}/{id}"), &json!({})).await;
    assert_eq!((status, read["feed"]["created_by"]["id"].as_str()), (StatusCode::CREATED, Some(id.as_str())));
    // The same id again is another guest; an existing user's id is never handed out.
    srv.server().create_users(&["ursula"]).await;
    for wanted in ["gus", "ursula", ""] {
        let (status, again) = visitor.post("/api/v2/guest", &json!({ "user": { "id": wanted } })).await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        let again = again["user"]["id"].as_str().expect("id");
        assert!(
            again != id && again != "ursula" && again.starts_with(if wanted.is_empty() { "guest-" } else { wanted })
        );
    }
    assert_error(
        &visitor.post("/api/v2/guest", &json!({ "user": { "id": "bad id!?" } })).await,
        StatusCode::BAD_REQUEST,
        4,
    );
}

#[tokio::test]
async fn guests_and_anonymous_callers_can_be_switched_off() {
    let srv = TestServer::spawn_with_authless(AuthlessOptions { allow_guests: false, allow_anonymous: false }).await;
    let server = srv.server();
    feed_with_posts(&server, "olga", "public").await;
    let visitor = crate::support::Client::new(&srv.base).anonymous();
    assert_error(&visitor.post("/api/v2/guest", &json!({ "user": { "id": "gus" } })).await, StatusCode::FORBIDDEN, 17);
    assert_error(&server.post("/api/v2/guest", &json!({ "user": { "id": "gus" } })).await, StatusCode::FORBIDDEN, 17);
    assert_error(&visitor.post(&format!("{FEED}/olga"), &json!({})).await, StatusCode::FORBIDDEN, 17);
    let (status, _) = srv.user("una").post(&format!("{FEED}/olga"), &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "user tokens are unaffected");
}
