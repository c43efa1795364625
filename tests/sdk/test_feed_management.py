"""Feed management: query_feeds, create_feeds_batch, delete_feeds_batch,
get_feed_counts and get_follow_suggestions."""

from getstream.models import FeedInput, FeedRequest, Location, SortParamRequest

from sdkhelpers import api_error, assert_http_error, fid, raw, uid, wait_task


def _group(client, visibility=None):
    g = uid("fg")
    client.feeds.create_feed_group(id=g, default_visibility=visibility)
    return g


def _batch(client, group, specs):
    """Create feeds `(feed_id, owner, fields)` in one batch; returns their fids."""
    reqs = [FeedRequest(feed_group_id=group, feed_id=f, created_by_id=o, **kw) for f, o, kw in specs]
    resp = client.feeds.create_feeds_batch(feeds=reqs)
    assert resp.status_code() == 201
    return [fid(group, f) for f, _, _ in specs]


def _ids(resp):
    return [f["id"] for f in raw(resp)["feeds"]]


def _query(client, group, flt=None, **kw):
    """Feed ids of a query scoped to one group (tests share the server)."""
    scoped = {"group_id": group} if flt is None else {"$and": [{"group_id": group}, flt]}
    return _ids(client.feeds.query_feeds(filter=scoped, **kw))


# -- CreateFeedsBatch -------------------------------------------------------


def test_create_feeds_batch_creates_and_keeps_existing(client, make_users):
    ann, bob = make_users("ann", "bob")
    g = _group(client, visibility="public")
    client.feeds.feed(g, "old").get_or_create(user_id=ann, data=FeedInput(name="Old name"))
    resp = client.feeds.create_feeds_batch(feeds=[
        FeedRequest(feed_group_id=g, feed_id="one", created_by_id=bob, name="One", description="first",
                    filter_tags=["a", "b"], custom={"k": 1}, location=Location(lat=1.5, lng=2.5),
                    visibility="private"),
        FeedRequest(feed_group_id=g, feed_id="old", created_by_id=bob, name="New name"),
        FeedRequest(feed_group_id=g, feed_id="two", created_by_id=ann),
    ])
    assert resp.status_code() == 201
    feeds = raw(resp)["feeds"]
    assert [f["feed"] for f in feeds] == [fid(g, "one"), fid(g, "old"), fid(g, "two")]
    one, old, two = feeds
    assert (one["group_id"], one["id"], one["created_by"]["id"]) == (g, "one", bob)
    assert (one["name"], one["description"], one["visibility"]) == ("One", "first", "private")
    assert one["filter_tags"] == ["a", "b"] and one["custom"] == {"k": 1}
    assert one["location"] == {"lat": 1.5, "lng": 2.5}
    assert (old["name"], old["created_by"]["id"]) == ("Old name", ann)  # unchanged
    assert two["visibility"] == "public"  # the group's default
    assert (two["activity_count"], two["follower_count"], two["member_count"]) == (0, 0, 0)

    # Idempotent: sending the same batch again changes nothing.
    again = raw(client.feeds.create_feeds_batch(feeds=[
        FeedRequest(feed_group_id=g, feed_id="one", created_by_id=ann, name="Other"),
    ]))["feeds"]
    assert again[0]["name"] == "One" and again[0]["created_at"] == one["created_at"]


def test_create_feeds_batch_is_all_or_nothing(client, make_users):
    ann = make_users("ann")
    g = _group(client)
    ok = FeedRequest(feed_group_id=g, feed_id="ok", created_by_id=ann)
    with api_error(400, 4):  # unknown creator
        client.feeds.create_feeds_batch(feeds=[ok, FeedRequest(feed_group_id=g, feed_id="x", created_by_id=uid("ghost"))])
    with api_error(404, 16):  # unknown group
        client.feeds.create_feeds_batch(feeds=[ok, FeedRequest(feed_group_id=uid("nogroup"), feed_id="x", created_by_id=ann)])
    with api_error(400, 4):  # no creator
        client.feeds.create_feeds_batch(feeds=[ok, FeedRequest(feed_group_id=g, feed_id="x")])
    with api_error(400, 4):  # listed twice
        client.feeds.create_feeds_batch(feeds=[ok, ok])
    with api_error(400, 4):  # bad visibility
        client.feeds.create_feeds_batch(feeds=[ok, FeedRequest(feed_group_id=g, feed_id="x", created_by_id=ann,
                                                               visibility="secret")])
    with api_error(400, 4):  # name too long
        client.feeds.create_feeds_batch(feeds=[FeedRequest(feed_group_id=g, feed_id="x", created_by_id=ann,
                                                           name="n" * 256)])
    with api_error(400, 4):
        client.feeds.create_feeds_batch(feeds=[])
    too_many = [FeedRequest(feed_group_id=g, feed_id=f"f{i}", created_by_id=ann) for i in range(1001)]
    with api_error(400, 4):
        client.feeds.create_feeds_batch(feeds=too_many)
    assert _query(client, g) == []

    ghost = uid("ghost")
    resp = client.feeds.create_feeds_batch(
        feeds=[ok, FeedRequest(feed_group_id=g, feed_id="x", created_by_id=ghost)], create_users=True)
    assert [f["created_by"]["id"] for f in raw(resp)["feeds"]] == [ann, ghost]
    assert sorted(_query(client, g)) == ["ok", "x"]


def test_create_feeds_batch_is_server_only(user_client, make_users):
    ann = make_users("ann")
    with api_error(403, 17):
        user_client(ann).feeds.create_feeds_batch(
            feeds=[FeedRequest(feed_group_id="user", feed_id=ann, created_by_id=ann)])


# -- QueryFeeds -------------------------------------------------------------


def _world(client, make_users):
    """A group of five feeds with names, tags, places, follows and posts.
    Posts fan out: bergen has 3 activities, nyc 3 + 1 and oslo (following
    both) 4."""
    ann, bob, cat = make_users("annabel", "bob", "cat")
    g = _group(client)
    # One batch each, so creation times (the default order) differ.
    specs = [
        ("oslo", ann, dict(name="Cooking with Ann", description="Norwegian food", filter_tags=["food", "nordic"],
                           location=Location(lat=59.91, lng=10.75))),
        ("bergen", bob, dict(name="Cook Book Club", description="rainy recipes", filter_tags=["food"],
                             location=Location(lat=60.39, lng=5.32))),
        ("nyc", cat, dict(name="Gardening", description="city gardens", filter_tags=["garden"],
                          location=Location(lat=40.71, lng=-74.0))),
        ("quiet", cat, dict(name="Quiet corner", visibility="public")),
        ("hidden", ann, dict(name="Ann's secrets", visibility="private")),
    ]
    for spec in specs:
        _batch(client, g, [spec])
    f = lambda i: fid(g, i)  # noqa: E731
    client.feeds.follow(source=f("oslo"), target=f("bergen"))
    client.feeds.follow(source=f("nyc"), target=f("bergen"))
    client.feeds.follow(source=f("oslo"), target=f("nyc"))
    for text in ("a", "b", "c"):
        client.feeds.add_activity(type="post", feeds=[f("bergen")], user_id=bob, text=text)
    client.feeds.add_activity(type="post", feeds=[f("nyc")], user_id=cat, text="d")
    return g, ann, bob, cat


def test_query_feeds_filters(client, make_users):
    g, ann, bob, cat = _world(client, make_users)
    q = lambda flt: sorted(_query(client, g, flt))  # noqa: E731
    assert q(None) == ["bergen", "hidden", "nyc", "oslo", "quiet"]
    assert q({"id": "oslo"}) == ["oslo"]
    assert q({"id": {"$in": ["oslo", "nyc", "nope"]}}) == ["nyc", "oslo"]
    assert q({"feed": fid(g, "bergen")}) == ["bergen"]
    assert q({"feed": {"$in": [fid(g, "bergen"), fid(g, "quiet")]}}) == ["bergen", "quiet"]
    assert q({"created_by_id": ann}) == ["hidden", "oslo"]
    assert q({"created_by_id": {"$in": [bob, cat]}}) == ["bergen", "nyc", "quiet"]
    assert q({"visibility": "private"}) == ["hidden"]
    assert q({"visibility": {"$in": ["public", "private"]}}) == ["hidden", "quiet"]
    assert q({"name": "Gardening"}) == ["nyc"]
    assert q({"name": {"$q": "cooking"}}) == ["oslo"]
    assert q({"name": {"$autocomplete": "coo"}}) == ["bergen", "oslo"]
    assert q({"description": {"$q": "recipes"}}) == ["bergen"]
    assert q({"created_by.name": {"$autocomplete": "anna"}}) == ["hidden", "oslo"]
    assert q({"created_by.name": "bob"}) == ["bergen"]
    assert q({"filter_tags": ["food", "nordic"]}) == ["oslo"]
    assert q({"filter_tags": {"$in": ["nordic", "garden"]}}) == ["nyc", "oslo"]
    assert q({"filter_tags": {"$contains": "food"}}) == ["bergen", "oslo"]
    assert q({"follower_count": {"$gte": 2}}) == ["bergen"]
    assert q({"follower_count": 1}) == ["nyc"]
    assert q({"following_count": {"$gt": 1}}) == ["oslo"]
    assert q({"activity_count": 3}) == ["bergen"]
    assert q({"activity_count": {"$gte": 1, "$lt": 4}}) == ["bergen"]
    assert q({"activity_count": {"$gt": 3}}) == ["nyc", "oslo"]
    assert q({"following_feeds": {"$in": [fid(g, "bergen")]}}) == ["nyc", "oslo"]
    assert q({"following_users": {"$in": [cat]}}) == ["oslo"]
    assert q({"near": {"$eq": {"lat": 59.9, "lng": 10.7, "distance": 50}}}) == ["oslo"]
    assert q({"within_bounds": {"$eq": {"ne_lat": 62, "ne_lng": 12, "sw_lat": 58, "sw_lng": 4}}}) == ["bergen", "oslo"]
    assert q({"$or": [{"id": "quiet"}, {"name": {"$q": "garden"}}]}) == ["nyc", "quiet"]

    feeds = {f["id"]: f for f in raw(client.feeds.query_feeds(filter={"group_id": g}))["feeds"]}
    created = feeds["nyc"]["created_at"]
    assert q({"created_at": {"$gt": created}}) == sorted(i for i, f in feeds.items() if f["created_at"] > created)
    assert q({"updated_at": {"$lte": feeds["oslo"]["updated_at"]}}) == sorted(
        i for i, f in feeds.items() if f["updated_at"] <= feeds["oslo"]["updated_at"])
    # Responses are full, enriched feeds.
    assert (feeds["bergen"]["follower_count"], feeds["bergen"]["activity_count"]) == (2, 3)
    assert feeds["oslo"]["following_count"] == 2
    assert feeds["oslo"]["created_by"]["name"] == "annabel"


def test_query_feeds_counts_only_accepted_follows(client, make_users):
    ann, bob = make_users("ann", "bob")
    g = _group(client)
    _batch(client, g, [("closed", ann, dict(visibility="followers")), ("fan", bob, {}), ("friend", bob, {})])
    resp = client.feeds.follow(source=fid(g, "fan"), target=fid(g, "closed"))
    assert resp.data.follow.status == "pending"
    assert _query(client, g, {"follower_count": {"$gt": 0}}) == []
    assert _query(client, g, {"following_count": {"$gt": 0}}) == []
    assert _query(client, g, {"following_feeds": {"$in": [fid(g, "closed")]}}) == []
    client.feeds.follow(source=fid(g, "friend"), target=fid(g, "closed"), status="accepted")
    assert _query(client, g, {"follower_count": 1}) == ["closed"]
    assert _query(client, g, {"following_count": {"$gt": 0}}) == ["friend"]
    assert _query(client, g, {"following_feeds": {"$in": [fid(g, "closed")]}}) == ["friend"]


def test_query_feeds_sort_and_paging(client, make_users):
    g, ann, bob, cat = _world(client, make_users)
    default = _query(client, g)
    assert default == ["hidden", "quiet", "nyc", "bergen", "oslo"]  # newest first
    asc = _query(client, g, sort=[SortParamRequest(field="created_at", direction=1)])
    assert asc == default[::-1]
    by_followers = _query(client, g, sort=[SortParamRequest(field="follower_count", direction=-1),
                                           SortParamRequest(field="created_at", direction=1)])
    assert by_followers == ["bergen", "nyc", "oslo", "quiet", "hidden"]
    by_activities = _query(client, g, sort=[SortParamRequest(field="activity_count", direction=-1),
                                            SortParamRequest(field="created_at", direction=1)])
    assert by_activities == ["oslo", "nyc", "bergen", "quiet", "hidden"]
    by_following = _query(client, g, sort=[SortParamRequest(field="following_count", direction=-1)])
    assert by_following[:2] == ["oslo", "nyc"]
    by_updated = _query(client, g, sort=[SortParamRequest(field="updated_at", direction=-1)])
    assert sorted(by_updated) == sorted(default)

    seen, page = [], client.feeds.query_feeds(filter={"group_id": g}, limit=2)
    pages = 0
    while True:
        pages += 1
        seen += _ids(page)
        nxt = raw(page).get("next")
        if not nxt:
            break
        page = client.feeds.query_feeds(filter={"group_id": g}, limit=2, next=nxt)
    assert (seen, pages) == (default, 3)
    back = client.feeds.query_feeds(filter={"group_id": g}, limit=2, prev=raw(page)["prev"])
    assert _ids(back) == default[2:4]
    first = raw(client.feeds.query_feeds(filter={"group_id": g}, limit=2))
    assert "prev" not in first


def test_query_feeds_bad_input(client):
    for flt in ({"color": "red"}, {"name": {"$in": ["a"]}}, {"follower_count": {"$gt": "many"}},
                {"following_users": "ann"}, {"created_at": {"$gt": "yesterday"}}, {"members": "a"},
                {"member_count": {"$in": [1]}}):
        with api_error(400, 4):
            client.feeds.query_feeds(filter=flt)
    with api_error(400, 4):
        client.feeds.query_feeds(sort=[SortParamRequest(field="name", direction=1)])
    with api_error(400, 4):
        client.feeds.query_feeds(limit=101)
    with api_error(400, 4):
        client.feeds.query_feeds(next="garbage!!")


def test_query_feeds_user_token_sees_readable_feeds(client, user_client, make_users):
    g, ann, bob, cat = _world(client, make_users)
    _batch(client, g, [("fans", bob, dict(visibility="followers")), ("club", bob, dict(visibility="members"))])
    everything = sorted(_query(client, g))
    assert everything == ["bergen", "club", "fans", "hidden", "nyc", "oslo", "quiet"]
    as_ann = sorted(_ids(user_client(ann).feeds.query_feeds(filter={"group_id": g})))
    assert as_ann == ["bergen", "hidden", "nyc", "oslo", "quiet"]
    as_bob = sorted(_ids(user_client(bob).feeds.query_feeds(filter={"group_id": g})))
    assert as_bob == ["bergen", "club", "fans", "nyc", "oslo", "quiet"]


def test_query_feeds_excludes_deleted_feeds(client, make_users):
    ann = make_users("ann")
    g = _group(client)
    _batch(client, g, [("a", ann, {}), ("b", ann, {})])
    client.feeds.delete_feed(feed_group_id=g, feed_id="a")
    assert _query(client, g) == ["b"]


# -- DeleteFeedsBatch -------------------------------------------------------


def test_delete_feeds_batch_soft_then_hard(client, make_users):
    ann = make_users("ann")
    g = _group(client)
    _batch(client, g, [("a", ann, {}), ("b", ann, {}), ("c", ann, {})])
    client.feeds.add_activity(type="post", feeds=[fid(g, "a")], user_id=ann, text="hi")
    resp = client.feeds.delete_feeds_batch(feeds=[fid(g, "a"), fid(g, "b")])
    assert resp.status_code() == 201 and resp.data.task_id
    assert _query(client, g) == ["c"]
    task = wait_task(client, resp.data.task_id)
    assert raw(task)["result"]["hard_delete"] is False
    with api_error(404, 16):  # gone already
        client.feeds.delete_feeds_batch(feeds=[fid(g, "a")])
    # Soft-deleted feeds can be created again.
    again = client.feeds.create_feeds_batch(feeds=[FeedRequest(feed_group_id=g, feed_id="a", created_by_id=ann,
                                                               name="reborn")])
    assert raw(again)["feeds"][0]["name"] == "reborn"

    hard = client.feeds.delete_feeds_batch(feeds=[fid(g, "a"), fid(g, "c")], hard_delete=True)
    wait_task(client, hard.data.task_id)
    assert _query(client, g) == []
    fresh = client.feeds.feed(g, "c").get_or_create(user_id=ann)
    assert fresh.data.created is True


def test_delete_feeds_batch_validation(client, user_client, make_users):
    ann = make_users("ann")
    g = _group(client)
    _batch(client, g, [("a", ann, {})])
    with api_error(404, 16):  # all must exist; nothing is deleted
        client.feeds.delete_feeds_batch(feeds=[fid(g, "a"), fid(g, "missing")])
    assert _query(client, g) == ["a"]
    with api_error(400, 4):
        client.feeds.delete_feeds_batch(feeds=["no-colon"])
    with api_error(400, 4):
        client.feeds.delete_feeds_batch(feeds=[])
    with api_error(400, 4):
        client.feeds.delete_feeds_batch(feeds=[fid(g, f"x{i}") for i in range(101)])
    with api_error(403, 17):
        user_client(ann).feeds.delete_feeds_batch(feeds=[fid(g, "a")])
    with api_error(400, 4):  # purging needs a hard delete
        client.feeds.delete_feeds_batch(feeds=[fid(g, "a")], purge_user_activities=True)
    assert _query(client, g) == ["a"]


def test_delete_feeds_batch_purges_the_owners_activities(client, make_users):
    ann, guest, fan = make_users("ann", "guest", "fan")
    g = _group(client, "public")
    _batch(client, g, [("a", ann, {})])
    own = [client.feeds.add_activity(type="post", feeds=[fid(g, "a")], user_id=ann, text=f"mine {i}").data.activity.id
           for i in range(3)]
    guest_post = client.feeds.add_activity(type="post", feeds=[fid(g, "a"), fid("user", guest)], user_id=guest,
                                           text="guest").data.activity.id
    client.feeds.follow(source=fid("timeline", fan), target=fid(g, "a"))
    timeline = client.feeds.feed("timeline", fan).get_or_create(user_id=fan).data.activities
    assert len(timeline) == 4
    task = client.feeds.delete_feeds_batch(feeds=[fid(g, "a")], hard_delete=True, purge_user_activities=True)
    result = raw(wait_task(client, task.data.task_id))["result"]
    assert result["purged_activities"] == 3
    for aid in own:
        with api_error(404, 16):
            client.feeds.get_activity(aid)
    assert client.feeds.get_activity(guest_post).data.activity.id == guest_post
    # The owner's posts left the fan's timeline too; the guest's copy stays
    # until the follow that brought it is gone.
    left = [a.id for a in client.feeds.feed("timeline", fan).get_or_create(user_id=fan).data.activities]
    assert not set(left) & set(own)


# -- GetFeedCounts ----------------------------------------------------------


def test_get_feed_counts(client, user_client, make_users):
    ann, bob = make_users("ann", "bob")
    g = _group(client)
    _batch(client, g, [("main", ann, {}), ("secret", ann, dict(visibility="private"))])
    a1 = client.feeds.add_activity(type="post", feeds=[fid(g, "main")], user_id=ann, text="one").data.activity
    a2 = client.feeds.add_activity(type="post", feeds=[fid(g, "main")], user_id=ann, text="two").data.activity
    gone = client.feeds.add_activity(type="post", feeds=[fid(g, "main")], user_id=ann, text="gone").data.activity
    c1 = client.feeds.add_comment(comment="c1", object_id=a1.id, object_type="activity", user_id=bob).data.comment
    reply = client.feeds.add_comment(comment="r", parent_id=c1.id, user_id=ann).data.comment
    client.feeds.add_comment(comment="deep", parent_id=reply.id, user_id=bob)
    client.feeds.add_comment(comment="c2", object_id=a2.id, object_type="activity", user_id=bob)
    dropped = client.feeds.add_comment(comment="x", object_id=a2.id, object_type="activity", user_id=bob).data.comment
    client.feeds.delete_comment(id=dropped.id, hard_delete=True)
    client.feeds.add_comment(comment="on deleted", object_id=gone.id, object_type="activity", user_id=bob)
    client.feeds.delete_activity(id=gone.id)

    resp = client.feeds.get_feed_counts(feed_group_id=g, feed_id="main")
    assert resp.status_code() == 200
    body = raw(resp)
    assert (body["activity_count"], body["comment_count"], body["total_count"]) == (2, 4, 6)
    empty = raw(client.feeds.get_feed_counts(feed_group_id=g, feed_id="secret"))
    assert (empty["activity_count"], empty["comment_count"], empty["total_count"]) == (0, 0, 0)

    assert raw(user_client(bob).feeds.get_feed_counts(feed_group_id=g, feed_id="main"))["total_count"] == 6
    with api_error(403, 17):
        user_client(bob).feeds.get_feed_counts(feed_group_id=g, feed_id="secret")
    assert raw(user_client(ann).feeds.get_feed_counts(feed_group_id=g, feed_id="secret"))["total_count"] == 0
    with api_error(404, 16):
        client.feeds.get_feed_counts(feed_group_id=g, feed_id="nope")


# -- GetFollowSuggestions ---------------------------------------------------


def test_follow_suggestions_rank_friends_of_friends_then_popularity(client, user_client, make_users):
    me, f1, f2, x, y, z, w = make_users("me", "f1", "f2", "x", "y", "z", "w")
    g = _group(client)
    tl = lambda u: fid("timeline", u)  # noqa: E731
    for u in (me, f1, f2, x, y):
        client.feeds.feed("timeline", u).get_or_create(user_id=u)
    _batch(client, g, [("me", me, {}), ("f1", f1, {}), ("f2", f2, {}), ("a", x, {}), ("b", y, {}),
                       ("c", z, {}), ("p", w, {}), ("secret", w, dict(visibility="private")),
                       ("pending", w, dict(visibility="followers"))])
    # I follow f1 and f2; they follow a (both) and b (f1 only).
    for target in ("f1", "f2"):
        client.feeds.follow(source=tl(me), target=fid(g, target))
    client.feeds.follow(source=tl(f1), target=fid(g, "a"))
    client.feeds.follow(source=fid(g, "f2"), target=fid(g, "a"))
    client.feeds.follow(source=tl(f1), target=fid(g, "b"))
    client.feeds.follow(source=tl(f1), target=fid(g, "secret"))
    # p is popular (3 followers), c has one; neither is followed by a friend.
    for u in (x, y, f1):
        client.feeds.follow(source=tl(u) if u != f1 else fid(g, "f1"), target=fid(g, "p"))
    client.feeds.follow(source=tl(x), target=fid(g, "c"))
    # A follow request still pending is not suggested again.
    client.feeds.follow(source=tl(me), target=fid(g, "pending"))

    resp = client.feeds.get_follow_suggestions(feed_group_id=g, user_id=me)
    assert resp.status_code() == 200
    body = raw(resp)
    assert body["algorithm_used"] == "friends_of_friends"
    got = [s["id"] for s in body["suggestions"]]
    # p is followed by f1 (a friend) too, so it ranks with b; p is more popular.
    assert got == ["a", "p", "b", "c"]
    a, p, b, c = body["suggestions"]
    assert a["reason"] == "followed by 2 people you follow"
    assert a["algorithm_scores"] == {"friends_of_friends": 2, "popularity": 2}
    assert b["reason"] == "followed by 1 person you follow"
    assert c["reason"] == "popular" and c["algorithm_scores"] == {"friends_of_friends": 0, "popularity": 1}
    scores = [s["recommendation_score"] for s in body["suggestions"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert (a["feed"], a["created_by"]["id"], a["follower_count"]) == (fid(g, "a"), x, 2)

    limited = raw(client.feeds.get_follow_suggestions(feed_group_id=g, user_id=me, limit=2))
    assert [s["id"] for s in limited["suggestions"]] == ["a", "p"]
    mine = raw(user_client(me).feeds.get_follow_suggestions(feed_group_id=g))
    assert [s["id"] for s in mine["suggestions"]] == got

    # A newcomer follows nobody: the most followed feeds, as "popular".
    newcomer = make_users("new")
    fresh = raw(client.feeds.get_follow_suggestions(feed_group_id=g, user_id=newcomer, limit=3))
    assert fresh["algorithm_used"] == "popular"
    assert [s["id"] for s in fresh["suggestions"]] == ["p", "a", "b"]
    assert all(s["reason"] == "popular" for s in fresh["suggestions"])


def test_follow_suggestions_validation(client, user_client, make_users, http, server, server_token):
    me, other = make_users("me", "other")
    g = _group(client)
    with api_error(400, 4):  # server-side needs a user
        client.feeds.get_follow_suggestions(feed_group_id=g)
    with api_error(404, 16):
        client.feeds.get_follow_suggestions(feed_group_id=uid("nogroup"), user_id=me)
    with api_error(400, 4):
        client.feeds.get_follow_suggestions(feed_group_id=g, user_id=me, limit=101)
    with api_error(403, 17):
        user_client(me).feeds.get_follow_suggestions(feed_group_id=g, user_id=other)
    assert raw(client.feeds.get_follow_suggestions(feed_group_id=g, user_id=me))["suggestions"] == []
    resp = http.get(f"/api/v2/feeds/feed_groups/{g}/follow_suggestions",
                    params={"api_key": server.api_key, "user_id": me, "limit": "lots"},
                    headers={"Authorization": server_token, "stream-auth-type": "jwt"})
    assert_http_error(resp, 400, 4)
