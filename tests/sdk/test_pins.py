"""Pins through the SDK: pin, unpin, query_pinned_activities, and the
pinned_activities / pin_count of a feed read."""

from sdkhelpers import api_error, raw, uid


def _setup(client, make_users, n=3):
    alice = make_users("alice")
    feed = client.feeds.feed("user", alice)
    feed.get_or_create(user_id=alice)
    posts = [
        client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], text=f"post {i}", user_id=alice).data.activity
        for i in range(n)
    ]
    return alice, feed, posts


def test_pin_unpin_and_feed_read(client, make_users):
    alice, feed, (a, b, c) = _setup(client, make_users)
    pinned = raw(client.feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=a.id, user_id=alice))
    assert pinned["feed"] == f"user:{alice}" and pinned["user_id"] == alice
    assert pinned["activity"]["id"] == a.id and isinstance(pinned["created_at"], int)
    client.feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=c.id, user_id=alice)

    read = raw(feed.get_or_create(user_id=alice))
    assert read["feed"]["pin_count"] == 2
    assert [p["activity"]["id"] for p in read["pinned_activities"]] == [c.id, a.id]
    assert read["pinned_activities"][0]["user"]["id"] == alice
    assert [x["id"] for x in read["activities"]] == [c.id, b.id, a.id]  # pins stay in the feed too

    q = client.feeds.query_pinned_activities(feed_group_id="user", feed_id=alice, limit=1)
    assert [p.activity.id for p in q.data.pinned_activities] == [c.id] and q.data.next
    q2 = client.feeds.query_pinned_activities(feed_group_id="user", feed_id=alice, limit=1, next=q.data.next)
    assert [p.activity.id for p in q2.data.pinned_activities] == [a.id] and q2.data.next is None

    unpinned = raw(client.feeds.unpin_activity(feed_group_id="user", feed_id=alice, activity_id=a.id, user_id=alice))
    assert unpinned["activity"]["id"] == a.id
    assert raw(feed.get_or_create(user_id=alice))["feed"]["pin_count"] == 1
    with api_error(404, 16):
        client.feeds.unpin_activity(feed_group_id="user", feed_id=alice, activity_id=a.id, user_id=alice)


def test_pinning_twice_keeps_one_pin_and_deleted_activities_drop_out(client, make_users):
    alice, feed, (a, b, _) = _setup(client, make_users)
    first = raw(client.feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=a.id, user_id=alice))
    again = raw(client.feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=a.id, user_id=alice))
    assert again["created_at"] == first["created_at"]
    client.feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=b.id, user_id=alice)
    client.feeds.delete_activity(id=b.id, hard_delete=True)
    read = raw(feed.get_or_create(user_id=alice))
    assert [p["activity"]["id"] for p in read["pinned_activities"]] == [a.id]
    assert read["feed"]["pin_count"] == 1


def test_pin_bad_input(client, make_users, user_client):
    alice, _, (a, _, _) = _setup(client, make_users)
    bob = make_users("bob")
    client.feeds.feed("user", bob).get_or_create(user_id=bob)
    with api_error(404, 16):
        client.feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=uid("missing"), user_id=alice)
    with api_error(404, 16):
        client.feeds.pin_activity(feed_group_id="user", feed_id=uid("nofeed"), activity_id=a.id, user_id=alice)
    with api_error(400, 4):  # not in that feed
        client.feeds.pin_activity(feed_group_id="user", feed_id=bob, activity_id=a.id, user_id=bob)
    with api_error(400, 4):  # server-side needs a user
        client.feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=a.id)
    with api_error(403, 17):  # only the owner pins
        user_client(bob).feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=a.id)
