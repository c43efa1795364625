"""Follows: follow, unfollow, query_follows, and activity fan-out."""

from getstream.models import ActivityRequest, SortParamRequest

from sdkhelpers import activity_ids, api_error, assert_recent_ns, fid, raw


def _pair(client, make_users):
    """alice (user feed) and bob (timeline feed), both created."""
    alice, bob = make_users("alice", "bob")
    client.feeds.feed("user", alice).get_or_create(user_id=alice)
    client.feeds.feed("timeline", bob).get_or_create(user_id=bob)
    return alice, bob


def _post(client, author, text):
    return client.feeds.add_activity(
        type="post", feeds=[fid("user", author)], user_id=author, text=text
    ).data.activity.id


def _timeline(client, bob, **kw):
    return client.feeds.feed("timeline", bob).get_or_create(user_id=bob, **kw)


def test_follow_returns_follow(client, make_users):
    alice, bob = _pair(client, make_users)
    resp = client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice),
                               custom={"reason": "friend"})
    assert resp.status_code() == 201
    f = resp.data.follow
    assert f.source_feed.feed == fid("timeline", bob)
    assert f.target_feed.feed == fid("user", alice)
    assert f.status == "accepted"
    assert f.push_preference in ("all", "none")
    assert f.custom == {"reason": "friend"}
    body = raw(resp)["follow"]
    assert_recent_ns(body["created_at"])
    assert_recent_ns(body["updated_at"])

    tl = _timeline(client, bob).data
    assert tl.feed.following_count == 1
    assert [x.target_feed.feed for x in tl.following] == [fid("user", alice)]
    user_feed = client.feeds.feed("user", alice).get_or_create(user_id=alice).data
    assert user_feed.feed.follower_count == 1
    assert [x.source_feed.feed for x in user_feed.followers] == [fid("timeline", bob)]


def test_duplicate_follow_is_400(client, make_users):
    alice, bob = _pair(client, make_users)
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    with api_error(400, 4):
        client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))


def test_follow_malformed_fid_is_400(client, make_users):
    alice, bob = _pair(client, make_users)
    with api_error(400, 4):
        client.feeds.follow(source="timeline-without-colon", target=fid("user", alice))


def test_follow_activity_copy_limit_out_of_range_is_400(client, make_users):
    alice, bob = _pair(client, make_users)
    with api_error(400, 4):
        client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice),
                            activity_copy_limit=1001)


def test_fan_out_new_activities_newest_first(client, make_users):
    alice, bob = _pair(client, make_users)
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    ids = [_post(client, alice, f"post {i}") for i in range(3)]
    tl = _timeline(client, bob)
    assert activity_ids(tl) == ids[::-1]
    assert [a.text for a in tl.data.activities] == ["post 2", "post 1", "post 0"]
    assert all(a.user.id == alice for a in tl.data.activities)


def test_follow_copies_existing_activities_by_default(client, make_users):
    alice, bob = _pair(client, make_users)
    ids = [_post(client, alice, f"old {i}") for i in range(3)]
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    assert activity_ids(_timeline(client, bob)) == ids[::-1]


def test_follow_activity_copy_limit(client, make_users):
    alice, bob = _pair(client, make_users)
    ids = [_post(client, alice, f"old {i}") for i in range(3)]
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice),
                        activity_copy_limit=1)
    assert activity_ids(_timeline(client, bob)) == [ids[-1]], "only the most recent one is copied"


def test_follow_activity_copy_limit_zero_copies_nothing(client, make_users):
    alice, bob = _pair(client, make_users)
    for i in range(2):
        _post(client, alice, f"old {i}")
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice),
                        activity_copy_limit=0)
    assert activity_ids(_timeline(client, bob)) == []
    new = _post(client, alice, "new")
    assert activity_ids(_timeline(client, bob)) == [new], "later activities still fan out"


def test_fanned_out_activity_tracks_updates_and_deletes(client, make_users):
    alice, bob = _pair(client, make_users)
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    aid = _post(client, alice, "draft")
    client.feeds.update_activity_partial(id=aid, user_id=alice, set={"text": "final"})
    tl = _timeline(client, bob).data.activities
    assert [(a.id, a.text) for a in tl] == [(aid, "final")]
    client.feeds.delete_activity(id=aid)
    assert activity_ids(_timeline(client, bob)) == []
    client.feeds.restore_activity(id=aid, user_id=alice)
    assert activity_ids(_timeline(client, bob)) == [aid]


def test_follow_copies_at_most_1000_by_default(client, make_users):
    alice, bob = _pair(client, make_users)
    f = fid("user", alice)
    for batch in range(11):  # 1010 activities in alice's feed
        client.feeds.upsert_activities(activities=[
            ActivityRequest(type="post", feeds=[f], user_id=alice, text=f"b{batch}-{i}")
            for i in range(100 if batch < 10 else 10)
        ])
    client.feeds.follow(source=fid("timeline", bob), target=f)
    seen, nxt = [], None
    for _ in range(20):
        resp = _timeline(client, bob, limit=100, next=nxt)
        seen += activity_ids(resp)
        nxt = raw(resp).get("next")
        if not nxt:
            break
    assert len(seen) == len(set(seen)) == 1000


def test_unfollow_removes_activities(client, make_users):
    alice, bob = _pair(client, make_users)
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    _post(client, alice, "hello")
    assert len(activity_ids(_timeline(client, bob))) == 1
    resp = client.feeds.unfollow(source=fid("timeline", bob), target=fid("user", alice))
    assert resp.status_code() == 200
    assert resp.data.follow.source_feed.feed == fid("timeline", bob)
    assert resp.data.follow.target_feed.feed == fid("user", alice)
    tl = _timeline(client, bob).data
    assert tl.activities == []
    assert tl.feed.following_count == 0 and tl.following == []
    _post(client, alice, "after unfollow")
    assert activity_ids(_timeline(client, bob)) == []


def test_unfollow_keep_history(client, make_users):
    alice, bob = _pair(client, make_users)
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    kept = _post(client, alice, "keep me")
    client.feeds.unfollow(source=fid("timeline", bob), target=fid("user", alice),
                          keep_history=True)
    assert activity_ids(_timeline(client, bob)) == [kept]
    _post(client, alice, "not fanned out")
    assert activity_ids(_timeline(client, bob)) == [kept]


def test_unfollow_unknown_follow_is_404(client, make_users):
    alice, bob = _pair(client, make_users)
    with api_error(404, 16):
        client.feeds.unfollow(source=fid("timeline", bob), target=fid("user", alice))


def _fan(client, make_users, n=3):
    """timeline:<reader> follows user:<t0..tn-1> in order; returns (reader, targets)."""
    reader = make_users("reader")
    client.feeds.feed("timeline", reader).get_or_create(user_id=reader)
    targets = []
    for i in range(n):
        t = make_users(f"target{i}")
        client.feeds.feed("user", t).get_or_create(user_id=t)
        client.feeds.follow(source=fid("timeline", reader), target=fid("user", t))
        targets.append(t)
    return reader, targets


def test_query_follows_by_source_and_target(client, make_users):
    reader, targets = _fan(client, make_users)
    src = fid("timeline", reader)
    resp = client.feeds.query_follows(filter={"source_feed": src})
    assert resp.status_code() == 201
    got = resp.data.follows
    assert sorted(f.target_feed.feed for f in got) == sorted(fid("user", t) for t in targets)
    assert all(f.source_feed.feed == src for f in got)
    assert "next" not in raw(resp)

    by_target = client.feeds.query_follows(filter={"target_feed": fid("user", targets[1])}).data.follows
    assert [(f.source_feed.feed, f.target_feed.feed) for f in by_target] == [
        (src, fid("user", targets[1]))]

    many = client.feeds.query_follows(
        filter={"target_feed": {"$in": [fid("user", targets[0]), fid("user", targets[2])]}}
    ).data.follows
    assert sorted(f.target_feed.feed for f in many) == sorted(
        [fid("user", targets[0]), fid("user", targets[2])])

    src_in = client.feeds.query_follows(filter={"source_feed": {"$in": [src]}}).data.follows
    assert len(src_in) == 3


def test_query_follows_sort_and_pagination(client, make_users):
    reader, targets = _fan(client, make_users)
    src = fid("timeline", reader)
    expected = [fid("user", t) for t in targets]

    asc = client.feeds.query_follows(
        filter={"source_feed": src}, sort=[SortParamRequest(field="created_at", direction=1)]
    ).data.follows
    assert [f.target_feed.feed for f in asc] == expected
    desc = client.feeds.query_follows(
        filter={"source_feed": src}, sort=[SortParamRequest(field="created_at", direction=-1)]
    ).data.follows
    assert [f.target_feed.feed for f in desc] == expected[::-1]

    sort = [SortParamRequest(field="created_at", direction=1)]
    p1 = client.feeds.query_follows(filter={"source_feed": src}, sort=sort, limit=2)
    b1 = raw(p1)
    assert [f.target_feed.feed for f in p1.data.follows] == expected[:2]
    assert isinstance(b1.get("next"), str) and b1["next"]
    assert "prev" not in b1
    p2 = client.feeds.query_follows(filter={"source_feed": src}, sort=sort, limit=2,
                                    next=b1["next"])
    b2 = raw(p2)
    assert [f.target_feed.feed for f in p2.data.follows] == expected[2:]
    assert "next" not in b2
    assert isinstance(b2.get("prev"), str) and b2["prev"]
    back = client.feeds.query_follows(filter={"source_feed": src}, sort=sort, limit=2,
                                      prev=b2["prev"])
    assert [f.target_feed.feed for f in back.data.follows] == expected[:2]


def test_query_follows_limit_over_100_is_400(client):
    with api_error(400, 4):
        client.feeds.query_follows(filter={"source_feed": "timeline:x"}, limit=101)


def test_query_follows_unknown_filter_field_is_400(client):
    with api_error(400, 4):
        client.feeds.query_follows(filter={"no_such_field": "x"})


def test_query_follows_unknown_sort_field_is_400(client):
    with api_error(400, 4):
        client.feeds.query_follows(filter={"source_feed": "timeline:x"},
                                   sort=[SortParamRequest(field="no_such_field", direction=1)])


def test_query_follows_garbage_cursor_is_400(client):
    with api_error(400, 4):
        client.feeds.query_follows(filter={"source_feed": "timeline:x"}, next="garbage!!")
