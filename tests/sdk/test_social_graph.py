"""Social graph through the SDK: follow requests (accept/reject with
backfill), update_follow, batch follows and unfollows, follow
notifications, query_follows filters, feed members and invites, own_*
fields, own_batch, membership levels unlocking tag activities and
change_feed_visibility."""

import time

from getstream.models import FeedMemberRequest, FollowRequest, SortParamRequest, UnfollowPair

from sdkhelpers import api_error, fid, notification_activities, raw


def _feed(client, group, owner, **data):
    client.feeds.feed(group, owner).get_or_create(user_id=owner, data=data or None)
    return fid(group, owner)


def _post(client, author, text, feed_group="user", **kw):
    return client.feeds.add_activity(
        type="post", feeds=[fid(feed_group, author)], user_id=author, text=text, **kw
    ).data.activity.id


def activity_ids(activities):
    return [a.id for a in activities]


def _timeline(client, user):
    return client.feeds.feed("timeline", user).get_or_create(user_id=user).data


def _followers_world(client, make_users, copy_limit=None):
    """alice owns a followers-only feed with 5 posts; bob asks to follow it."""
    alice, bob = make_users("alice", "bob")
    from getstream.models import FeedInput

    client.feeds.feed("user", alice).get_or_create(user_id=alice, data=FeedInput(visibility="followers"))
    _feed(client, "timeline", bob)
    posts = [_post(client, alice, f"p{i}") for i in range(5)]
    kw = {} if copy_limit is None else {"activity_copy_limit": copy_limit}
    return alice, bob, posts, kw


def test_follow_request_is_pending_until_accepted_then_backfills(client, user_client, make_users):
    alice, bob, posts, _ = _followers_world(client, make_users)
    f = user_client(bob).feeds.follow(source=fid("timeline", bob), target=fid("user", alice),
                                      activity_copy_limit=3).data.follow
    assert f.status == "pending"
    assert activity_ids(_timeline(client, bob).activities) == []
    # Pending requests are not followers yet.
    assert client.feeds.feed("user", alice).get_or_create(user_id=alice).data.feed.follower_count == 0
    pending = client.feeds.query_follows(filter={"target_feed": fid("user", alice), "status": "pending"}).data.follows
    assert [p.source_feed.feed for p in pending] == [fid("timeline", bob)]

    # Only the target's owner answers.
    with api_error(403, 17):
        user_client(bob).feeds.accept_follow(source=fid("timeline", bob), target=fid("user", alice))
    resp = user_client(alice).feeds.accept_follow(
        source=fid("timeline", bob), target=fid("user", alice), follower_role="feed_member"
    )
    accepted = resp.data.follow
    assert accepted.status == "accepted"
    assert accepted.follower_role == "feed_member"
    assert isinstance(raw(resp)["follow"]["request_accepted_at"], int)
    # The 3 newest of alice's posts, newest first.
    assert activity_ids(_timeline(client, bob).activities) == posts[::-1][:3]
    feed = client.feeds.feed("user", alice).get_or_create(user_id=alice).data
    assert feed.feed.follower_count == 1
    # Accepting twice is an input error.
    with api_error(400, 4):
        client.feeds.accept_follow(source=fid("timeline", bob), target=fid("user", alice))


def test_rejected_follow_request_copies_nothing(client, user_client, make_users):
    alice, bob, _, _ = _followers_world(client, make_users)
    user_client(bob).feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    resp = user_client(alice).feeds.reject_follow(source=fid("timeline", bob), target=fid("user", alice))
    body = raw(resp)["follow"]
    assert body["status"] == "rejected"
    assert isinstance(body["request_rejected_at"], int)
    assert activity_ids(_timeline(client, bob).activities) == []
    # Only pending requests can be rejected.
    with api_error(400, 4):
        client.feeds.reject_follow(source=fid("timeline", bob), target=fid("user", alice))
    # New activities do not reach a rejected follower.
    _post(client, alice, "later")
    assert activity_ids(_timeline(client, bob).activities) == []


def test_update_follow(client, user_client, make_users):
    alice, bob = make_users("alice", "bob")
    _feed(client, "user", alice)
    _feed(client, "timeline", bob)
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    f = user_client(bob).feeds.update_follow(
        source=fid("timeline", bob), target=fid("user", alice), custom={"close": True}, push_preference="none"
    ).data.follow
    assert (f.custom, f.push_preference) == ({"close": True}, "none")
    with api_error(403, 17):
        user_client(bob).feeds.update_follow(source=fid("timeline", bob), target=fid("user", alice),
                                             follower_role="admin")
    f = client.feeds.update_follow(source=fid("timeline", bob), target=fid("user", alice),
                                   follower_role="feed_member").data.follow
    assert f.follower_role == "feed_member" and f.custom == {"close": True}
    with api_error(400, 4):
        client.feeds.update_follow(source=fid("timeline", bob), target=fid("user", alice), push_preference="loud")
    with api_error(404, 16):
        client.feeds.update_follow(source=fid("timeline", alice), target=fid("user", bob))


def test_follow_batch_and_get_or_create_follows(client, make_users):
    a, b, c, me = make_users("a", "b", "c", "me")
    for u in (a, b, c):
        _post(client, u, f"hello from {u}")
    _feed(client, "timeline", me)
    src = fid("timeline", me)
    first = client.feeds.follow_batch(follows=[FollowRequest(source=src, target=fid("user", a)),
                                               FollowRequest(source=src, target=fid("user", b))]).data
    assert sorted(x.target_feed.feed for x in first.created) == sorted([fid("user", a), fid("user", b)])
    again = client.feeds.get_or_create_follows(follows=[FollowRequest(source=src, target=fid("user", b)),
                                                        FollowRequest(source=src, target=fid("user", c))]).data
    assert [x.target_feed.feed for x in again.created] == [fid("user", c)]
    assert [x.target_feed.feed for x in again.follows] == [fid("user", b), fid("user", c)]
    tl = _timeline(client, me)
    assert tl.feed.following_count == 3
    assert len(tl.activities) == 3
    with api_error(400, 4):
        client.feeds.follow_batch(follows=[])
    with api_error(400, 4):
        client.feeds.follow_batch(follows=[FollowRequest(source=src, target=src)])
    too_many = [FollowRequest(source=src, target=fid("user", f"x{i}")) for i in range(1001)]
    with api_error(400, 4):
        client.feeds.follow_batch(follows=too_many)


def test_unfollow_variants(client, make_users):
    a, b, me = make_users("a", "b", "me")
    pa, pb = _post(client, a, "a1"), _post(client, b, "b1")
    _feed(client, "timeline", me)
    src = fid("timeline", me)
    client.feeds.follow_batch(follows=[FollowRequest(source=src, target=fid("user", a)),
                                       FollowRequest(source=src, target=fid("user", b))])
    # UnfollowBatch is all or nothing.
    with api_error(404, 16):
        client.feeds.unfollow_batch(follows=[UnfollowPair(source=src, target=fid("user", a)),
                                             UnfollowPair(source=src, target=fid("user", "nobody"))])
    assert _timeline(client, me).feed.following_count == 2
    # GetOrCreateUnfollows skips what is not followed; keep_history per pair.
    gone = client.feeds.get_or_create_unfollows(follows=[
        UnfollowPair(source=src, target=fid("user", a), keep_history=True),
        UnfollowPair(source=src, target=fid("user", "nobody")),
    ]).data.follows
    assert [f.target_feed.feed for f in gone] == [fid("user", a)]
    tl = _timeline(client, me)
    assert tl.feed.following_count == 1
    assert sorted(activity_ids(tl.activities)) == sorted([pa, pb])
    r = client.feeds.get_or_create_unfollow(source=src, target=fid("user", b)).data
    assert r.deleted is True and r.follow.target_feed.feed == fid("user", b)
    assert activity_ids(_timeline(client, me).activities) == [pa]
    r = client.feeds.get_or_create_unfollow(source=src, target=fid("user", b))
    assert raw(r)["deleted"] is False


def test_follow_notification_and_its_withdrawal(client, make_users):
    alice, bob = make_users("alice", "bob")
    _feed(client, "user", alice)
    _feed(client, "timeline", bob)
    resp = client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice),
                               create_notification_activity=True)
    assert raw(resp)["notification_created"] is True
    notes = notification_activities(client, alice)
    assert [(n["type"], n["user"]["id"]) for n in notes] == [("follow", bob)]
    ctx = notification_activities(client, alice)[0]
    assert ctx["notification_context"]["trigger"]["type"] == "follow"
    assert ctx["notification_context"]["target"]["id"] == fid("user", alice)
    client.feeds.unfollow(source=fid("timeline", bob), target=fid("user", alice), delete_notification_activity=True)
    assert notification_activities(client, alice) == []


def test_query_follows_filters(client, make_users):
    ann, ben, cyd = make_users("ann", "ben", "cyd")
    for u in (ann, ben, cyd):
        _feed(client, "user", u)
        _feed(client, "timeline", u)
    pairs = [(ann, ben), (ann, cyd), (ben, cyd), (cyd, ann)]
    for s, t in pairs:
        client.feeds.follow(source=fid("timeline", s), target=fid("user", t))
    client.feeds.follow(source=fid("user", ann), target=fid("user", ben), status="pending")

    def q(flt, **kw):
        return [(f.source_feed.feed, f.target_feed.feed, f.status)
                for f in client.feeds.query_follows(filter=flt, **kw).data.follows]

    mine = [fid("user", u) for u in (ann, ben, cyd)] + [fid("timeline", u) for u in (ann, ben, cyd)]
    scope = {"$or": [{"source_feed": {"$in": mine}}]}
    assert len(q(scope)) == 5
    assert q({"$and": [scope, {"status": "pending"}]}) == [(fid("user", ann), fid("user", ben), "pending")]
    assert len(q({"$and": [scope, {"status": {"$in": ["accepted"]}}]})) == 4
    assert {t for _, t, _ in q({"source_fid": fid("timeline", ann)})} == {fid("user", ben), fid("user", cyd)}
    assert q({"target_fid": fid("user", ann)}) == [(fid("timeline", cyd), fid("user", ann), "accepted")]
    assert len(q({"target_id": cyd})) == 2
    assert {s for s, _, _ in q({"source_id": ann})} == {fid("timeline", ann), fid("user", ann)}
    assert len(q({"source_created_by_name": "cyd", "target_feed": {"$in": mine}})) == 1
    assert len(q({"target_created_by_name": {"$in": ["ben"]}, "source_feed": {"$in": mine}})) == 2
    newest = q({"source_feed": {"$in": mine}}, sort=[SortParamRequest(field="created_at", direction=-1)], limit=1)
    assert newest == [(fid("user", ann), fid("user", ben), "pending")]
    assert q({"source_feed": {"$in": mine}, "created_at": {"$gt": "2000-01-01T00:00:00Z"}}).__len__() == 5
    with api_error(400, 4):
        client.feeds.query_follows(filter={"status": {"$gt": "a"}})


def test_members_invites_and_queries(client, user_client, make_users):
    owner, m1, m2, m3, outsider = make_users("owner", "m1", "m2", "m3", "outsider")
    _feed(client, "user", owner)
    feeds = client.feeds
    up = feeds.update_feed_members("user", owner, operation="upsert", members=[
        FeedMemberRequest(user_id=m1), FeedMemberRequest(user_id=m2, role="moderator", custom={"k": 1}),
        FeedMemberRequest(user_id=m3, invite=True),
    ]).data
    assert sorted((m.user.id, m.role, m.status) for m in up.added) == sorted(
        [(m1, "feed_member", "member"), (m2, "moderator", "member"), (m3, "feed_member", "pending")])
    assert up.updated == [] and up.removed_ids == []
    read = feeds.feed("user", owner).get_or_create(user_id=owner).data
    assert read.feed.member_count == 2
    assert sorted(m.user.id for m in read.members) == sorted([m1, m2, m3])

    # The invitee answers; nobody else can.
    with api_error(404, 16):
        user_client(outsider).feeds.accept_feed_member_invite(feed_group_id="user", feed_id=owner)
    accepted = user_client(m3).feeds.accept_feed_member_invite(feed_group_id="user", feed_id=owner).data.member
    assert accepted.status == "member" and accepted.invite_accepted_at is not None
    with api_error(400, 4):
        user_client(m3).feeds.reject_feed_member_invite(feed_group_id="user", feed_id=owner)

    # Query with filters, sort and cursors.
    q = feeds.query_feed_members("user", owner, filter={"role": "moderator"}).data.members
    assert [m.user.id for m in q] == [m2]
    q = feeds.query_feed_members("user", owner, filter={"user_name": {"$in": ["m1", "m3"]}},
                                 sort=[SortParamRequest(field="user_id", direction=1)]).data.members
    assert [m.user.id for m in q] == sorted([m1, m3])
    p1 = feeds.query_feed_members("user", owner, limit=2).data
    assert len(p1.members) == 2 and p1.next
    p2 = feeds.query_feed_members("user", owner, limit=2, next=p1.next).data
    assert len(p2.members) == 1
    assert {m.user.id for m in p1.members + p2.members} == {m1, m2, m3}

    # remove, then set replaces everyone.
    rm = feeds.update_feed_members("user", owner, operation="remove", members=[FeedMemberRequest(user_id=m1)]).data
    assert rm.removed_ids == [m1]
    st = feeds.update_feed_members("user", owner, operation="set", members=[
        FeedMemberRequest(user_id=m2, role="feed_member"), FeedMemberRequest(user_id=outsider)]).data
    assert sorted(st.removed_ids) == [m3]
    assert [m.user.id for m in st.added] == [outsider]
    assert [(m.user.id, m.role) for m in st.updated] == [(m2, "feed_member")]
    assert feeds.feed("user", owner).get_or_create(user_id=owner).data.feed.member_count == 2

    # Members filter of QueryFeeds.
    found = feeds.query_feeds(filter={"members": {"$in": [outsider]}, "member_count": {"$gte": 2}}).data.feeds
    assert [f.feed for f in found] == [fid("user", owner)]

    # Bad input and permissions.
    with api_error(400, 4):
        feeds.update_feed_members("user", owner, operation="merge", members=[])
    with api_error(400, 4):
        feeds.update_feed_members("user", owner, operation="upsert", members=[FeedMemberRequest(user_id="ghost")])
    with api_error(403, 17):
        user_client(outsider).feeds.update_feed_members("user", owner, operation="upsert",
                                                        members=[FeedMemberRequest(user_id=m1)])


def test_own_fields_and_own_batch(client, user_client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    _feed(client, "user", alice)
    _feed(client, "user", carol)
    _feed(client, "timeline", bob)
    _feed(client, "user", bob)
    client.feeds.follow(source=fid("timeline", bob), target=fid("user", alice))
    client.feeds.follow(source=fid("user", alice), target=fid("user", bob))  # alice's feed follows bob
    client.feeds.update_feed_members("user", alice, operation="upsert", members=[FeedMemberRequest(user_id=bob)])

    seen = user_client(bob).feeds.feed("user", alice).get_or_create().data.feed
    assert [f.source_feed.feed for f in seen.own_follows] == [fid("timeline", bob)]
    assert seen.own_membership.user.id == bob and seen.own_membership.role == "feed_member"
    assert "read-feed" in seen.own_capabilities and "add-activity" in seen.own_capabilities
    assert "delete-feed" not in seen.own_capabilities
    owner_view = user_client(alice).feeds.feed("user", alice).get_or_create().data.feed
    assert "delete-feed" in owner_view.own_capabilities and owner_view.own_follows == []

    data = client.feeds.own_batch(feeds=[fid("user", alice), fid("user", carol), fid("user", "ghost")],
                                  user_id=bob).data.data
    assert set(data) == {fid("user", alice), fid("user", carol)}
    assert [f.target_feed.feed for f in data[fid("user", alice)].own_follows] == [fid("user", alice)]
    assert data[fid("user", carol)].own_follows == []
    assert data[fid("user", carol)].own_membership is None
    # own_followings: alice's feeds that follow bob's feeds.
    assert [f.source_feed.feed for f in data[fid("user", alice)].own_followings] == [fid("user", alice)]
    only = raw(client.feeds.own_batch(feeds=[fid("user", alice)], user_id=bob, fields=["own_capabilities"]))
    assert set(only["data"][fid("user", alice)]) == {"own_capabilities"}
    with api_error(400, 4):
        client.feeds.own_batch(feeds=[fid("user", alice)], user_id=bob, fields=["own_everything"])
    with api_error(400, 4):
        client.feeds.own_batch(feeds=[], user_id=bob)
    with api_error(400, 4):
        client.feeds.own_batch(feeds=[fid("user", alice)])


def test_membership_levels_unlock_tag_activities(client, user_client, make_users):
    from sdkhelpers import uid

    creator, gold_fan, silver_fan, fan, stranger = make_users("creator", "gold", "silver", "fan", "stranger")
    tag = uid("premium")
    silver, gold = uid("silver"), uid("gold")
    client.feeds.create_membership_level(id=silver, name="Silver", priority=1, tags=[tag])
    client.feeds.create_membership_level(id=gold, name="Gold", priority=2, tags=[])
    _feed(client, "user", creator)
    client.feeds.update_feed_members("user", creator, operation="upsert", members=[
        FeedMemberRequest(user_id=gold_fan, membership_level=gold),
        FeedMemberRequest(user_id=silver_fan, membership_level=silver),
        FeedMemberRequest(user_id=fan),
    ])
    aid = _post(client, creator, "the secret", visibility="tag", visibility_tag=tag)

    def seen_by(user):
        acts = user_client(user).feeds.feed("user", creator).get_or_create().data.activities
        return [(a.id, a.preview, a.text) for a in acts]

    assert seen_by(silver_fan) == [(aid, False, "the secret")]
    assert seen_by(gold_fan) == [(aid, False, "the secret")]  # priority above the bar
    assert seen_by(fan) == [(aid, True, None)]
    assert seen_by(stranger) == [(aid, True, None)]
    members = client.feeds.query_feed_members("user", creator, filter={"user_id": silver_fan}).data.members
    assert members[0].membership_level.id == silver
    with api_error(400, 4):
        client.feeds.update_feed_members("user", creator, operation="upsert",
                                         members=[FeedMemberRequest(user_id=fan, membership_level=uid("none"))])


def _eventually(check, timeout=10.0):
    """Polls `check` until it holds: reconciliation after
    change_feed_visibility is asynchronous, as in Stream."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reconciled in time"
        time.sleep(0.05)


def test_change_feed_visibility_settles_pending_follows(client, user_client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    from getstream.models import FeedInput

    client.feeds.feed("user", alice).get_or_create(user_id=alice, data=FeedInput(visibility="followers"))
    post = _post(client, alice, "hi")
    for u in (bob, carol):
        _feed(client, "timeline", u)
        user_client(u).feeds.follow(source=fid("timeline", u), target=fid("user", alice))
    with api_error(403, 17):
        user_client(bob).feeds.change_feed_visibility("user", alice, visibility="public")
    with api_error(400, 4):
        client.feeds.change_feed_visibility("user", alice, visibility="secret")
    feed = user_client(alice).feeds.change_feed_visibility("user", alice, visibility="visible").data.feed
    assert feed.visibility == "visible"

    def statuses():
        return {f.source_feed.feed: f.status for f in
                client.feeds.query_follows(filter={"target_feed": fid("user", alice)}).data.follows}
    _eventually(lambda: statuses() == {fid("timeline", bob): "accepted", fid("timeline", carol): "accepted"})
    assert activity_ids(_timeline(client, bob).activities) == [post]
    # Tightening to private drops the followers.
    client.feeds.change_feed_visibility("user", alice, visibility="private")
    _eventually(lambda: statuses() == {})
    assert activity_ids(_timeline(client, bob).activities) == []


def test_feed_created_with_members_all_or_nothing(client, make_users):
    from getstream.models import FeedInput

    owner, m1 = make_users("owner", "m1")
    with api_error(400, 4):  # an unknown member: nothing is written
        client.feeds.feed("user", owner).get_or_create(
            user_id=owner, data=FeedInput(members=[FeedMemberRequest(user_id=m1), FeedMemberRequest(user_id="ghost")]))
    assert client.feeds.query_feeds(filter={"feed": fid("user", owner)}).data.feeds == []
    read = client.feeds.feed("user", owner).get_or_create(
        user_id=owner, data=FeedInput(members=[FeedMemberRequest(user_id=m1, invite=True)])).data
    assert read.created is True
    assert [(m.user.id, m.status) for m in read.members] == [(m1, "pending")]
    assert read.feed.member_count == 0
