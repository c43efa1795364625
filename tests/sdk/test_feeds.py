"""Feeds: get_or_create_feed, update_feed, delete_feed, activity pagination."""

from getstream.models import ActivityRequest, FeedInput, Location

from sdkhelpers import activity_ids, api_error, assert_recent_ns, fid, raw, uid, wait_task


def test_get_or_create_feed_creates_then_returns_existing(client, make_users):
    owner = make_users("owner")
    feed_id = uid("f")
    resp = client.feeds.get_or_create_feed(
        feed_group_id="user",
        feed_id=feed_id,
        user_id=owner,
        data=FeedInput(
            name="Owner's feed",
            description="all about owner",
            filter_tags=["news", "sports"],
            custom={"theme": "dark"},
            location=Location(lat=59.91, lng=10.75),
        ),
    )
    assert resp.status_code() == 201
    d = resp.data
    assert d.created is True
    f = d.feed
    assert f.feed == fid("user", feed_id)
    assert f.group_id == "user" and f.id == feed_id
    assert f.created_by.id == owner
    assert f.name == "Owner's feed"
    assert f.description == "all about owner"
    assert f.filter_tags == ["news", "sports"]
    assert f.custom == {"theme": "dark"}
    assert (f.location.lat, f.location.lng) == (59.91, 10.75)
    assert f.visibility == "visible"  # default of the built-in user group
    assert (f.activity_count, f.follower_count, f.following_count, f.member_count, f.pin_count) == (0, 0, 0, 0, 0)
    assert d.activities == [] and d.followers == [] and d.following == []
    assert d.members == [] and d.pinned_activities == [] and d.aggregated_activities == []
    body = raw(resp)
    assert "next" not in body and "prev" not in body
    assert_recent_ns(body["feed"]["created_at"])
    assert_recent_ns(body["feed"]["updated_at"])

    again = client.feeds.feed("user", feed_id).get_or_create(
        user_id=owner, data=FeedInput(name="ignored")
    )
    assert again.data.created is False
    assert again.data.feed.name == "Owner's feed"
    assert raw(again)["feed"]["created_at"] == body["feed"]["created_at"]


def test_get_or_create_feed_unknown_group_is_404(client, make_users):
    owner = make_users("owner")
    with api_error(404, 16):
        client.feeds.feed(uid("nogroup"), uid("f")).get_or_create(user_id=owner)


def test_get_or_create_feed_limit_over_100_is_400(client, make_users):
    owner = make_users("owner")
    with api_error(400, 4):
        client.feeds.feed("user", uid("f")).get_or_create(user_id=owner, limit=101)


def test_get_or_create_feed_garbage_cursor_is_400(client, make_users):
    owner = make_users("owner")
    with api_error(400, 4):
        client.feeds.feed("user", owner).get_or_create(user_id=owner, next="garbage!!")


def test_feed_activities_newest_first(client, make_users):
    owner = make_users("owner")
    feed = client.feeds.feed("user", owner)
    feed.get_or_create(user_id=owner)
    ids = []
    for i in range(3):
        r = client.feeds.add_activity(type="post", feeds=[feed.get_feed_identifier()],
                                      text=f"post {i}", user_id=owner)
        ids.append(r.data.activity.id)
    resp = feed.get_or_create(user_id=owner)
    assert activity_ids(resp) == ids[::-1]
    assert [a.text for a in resp.data.activities] == ["post 2", "post 1", "post 0"]
    assert resp.data.feed.activity_count == 3


def test_feed_pagination_default_25_and_cursors(client, make_users):
    owner = make_users("owner")
    feed_id = uid("page")
    f = fid("user", feed_id)
    client.feeds.feed("user", feed_id).get_or_create(user_id=owner)
    up = client.feeds.upsert_activities(
        activities=[
            ActivityRequest(type="post", feeds=[f], text=f"n{i}", user_id=owner, id=uid("a"))
            for i in range(30)
        ]
    )
    all_ids = {a.id for a in up.data.activities}
    assert len(all_ids) == 30

    feed = client.feeds.feed("user", feed_id)
    p1 = feed.get_or_create(user_id=owner)
    b1 = raw(p1)
    assert len(b1["activities"]) == 25, "default page size is 25"
    assert isinstance(b1.get("next"), str) and b1["next"]
    assert "prev" not in b1, "prev must be absent on the first page"
    assert p1.data.feed.activity_count == 30

    p2 = feed.get_or_create(user_id=owner, next=b1["next"])
    b2 = raw(p2)
    assert len(b2["activities"]) == 5
    assert "next" not in b2, "next must be absent on the last page"
    assert isinstance(b2.get("prev"), str) and b2["prev"]
    ids1, ids2 = activity_ids(p1), activity_ids(p2)
    assert not set(ids1) & set(ids2)
    assert set(ids1) | set(ids2) == all_ids

    back = feed.get_or_create(user_id=owner, prev=b2["prev"])
    assert activity_ids(back) == ids1

    everything = feed.get_or_create(user_id=owner, limit=100)
    be = raw(everything)
    assert len(be["activities"]) == 30
    assert "next" not in be and "prev" not in be

    small = raw(feed.get_or_create(user_id=owner, limit=10))
    assert len(small["activities"]) == 10 and small.get("next")


def test_update_feed(client, make_users):
    owner = make_users("owner")
    feed_id = uid("f")
    feed = client.feeds.feed("user", feed_id)
    created = feed.get_or_create(user_id=owner, data=FeedInput(name="old", custom={"a": 1}))
    resp = client.feeds.update_feed(
        feed_group_id="user",
        feed_id=feed_id,
        name="new name",
        description="new description",
        custom={"b": 2},
        filter_tags=["x"],
    )
    assert resp.status_code() == 201
    f = resp.data.feed
    assert f.feed == fid("user", feed_id)
    assert f.name == "new name"
    assert f.description == "new description"
    assert f.custom == {"b": 2}
    assert f.filter_tags == ["x"]
    assert f.created_by.id == owner
    assert raw(resp)["feed"]["updated_at"] >= raw(created)["feed"]["updated_at"]

    again = feed.get_or_create(user_id=owner).data.feed
    assert (again.name, again.description, again.custom) == ("new name", "new description", {"b": 2})

    other = make_users("other")
    moved = feed.update(created_by_id=other).data.feed
    assert moved.created_by.id == other


def test_update_unknown_feed_is_404(client):
    with api_error(404, 16):
        client.feeds.update_feed(feed_group_id="user", feed_id=uid("nofeed"), name="x")


def test_delete_feed_returns_completed_task(client, make_users):
    owner = make_users("owner")
    feed_id = uid("f")
    client.feeds.feed("user", feed_id).get_or_create(user_id=owner)
    resp = client.feeds.delete_feed(feed_group_id="user", feed_id=feed_id)
    assert resp.status_code() == 200
    assert resp.data.task_id
    wait_task(client, resp.data.task_id)
    with api_error(404, 16):
        client.feeds.update_feed(feed_group_id="user", feed_id=feed_id, name="x")


def test_delete_unknown_feed_is_404(client):
    with api_error(404, 16):
        client.feeds.delete_feed(feed_group_id="user", feed_id=uid("nofeed"))
