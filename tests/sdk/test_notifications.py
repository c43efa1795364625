"""Notification feeds and aggregation: groups rendered from the feed group's
`aggregation.format` when activities are written (the built-in notification
group's type-per-day default, custom formats), their counts, read/seen state
with `notification_status`, and `mark_activity`."""

import json
from datetime import datetime, timezone

from getstream.models import ActivityRequest, AggregationConfig, EnrichmentOptions, NotificationConfig

from sdkhelpers import api_error, assert_recent_ns, raw, uid


def _today():
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def _bell(client, user, **kw):
    """The user's notification feed read (created on first read)."""
    return raw(client.feeds.feed("notification", user).get_or_create(user_id=user, **kw))


def _notify(client, recipient, actor, kind, **kw):
    return client.feeds.add_activity(type=kind, feeds=[f"notification:{recipient}"], user_id=actor, **kw).data.activity


def _groups(body):
    return {g["group"]: g for g in body["aggregated_activities"]}


def test_the_notification_group_aggregates_by_type_per_day(client, make_users):
    alice, bob, carol, dave = make_users("alice", "bob", "carol", "dave")
    _bell(client, alice)
    likes = [_notify(client, alice, actor, "like") for actor in (bob, carol, dave, bob)]
    comment = _notify(client, alice, carol, "comment", text="nice")

    body = _bell(client, alice)
    day = _today()
    assert [g["group"] for g in body["aggregated_activities"]] == [f"comment-{day}", f"like-{day}"], \
        "groups come newest-updated first"
    like = _groups(body)[f"like-{day}"]
    assert (like["activity_count"], like["user_count"], like["user_count_truncated"]) == (4, 3, False)
    assert [a["id"] for a in like["activities"]] == [a.id for a in reversed(likes)], "members newest first"
    assert like["activities"][0]["user"]["id"] == bob
    assert like["created_at"] == raw_created(client, likes[0].id)
    assert like["updated_at"] == raw_created(client, likes[-1].id)
    assert like["score"] == 0 and like["is_read"] is False and like["is_seen"] is False
    assert _groups(body)[f"comment-{day}"]["activities"][0]["id"] == comment.id
    status = body["notification_status"]
    assert (status["unread"], status["unseen"]) == (2, 2)
    for absent in ("read_activities", "seen_activities", "last_read_at", "last_seen_at"):
        assert absent not in status
    # As for a new Stream app, the groups' activities are listed flat only with include_flat_activities.
    assert body["activities"] == []
    flat_on = _bell(client, alice, enrichment_options=EnrichmentOptions(include_flat_activities=True))
    assert [a["id"] for a in flat_on["activities"]] == [comment.id] + [a.id for a in reversed(likes)]
    assert len(flat_on["aggregated_activities"]) == 2


def raw_created(client, activity_id):
    return raw(client.feeds.get_activity(id=activity_id))["activity"]["created_at"]


def test_reaction_notifications_group_in_the_authors_bell(client, make_users):
    alice, *fans = make_users("alice", "f1", "f2", "f3")
    post = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, text="hi").data.activity
    for fan in fans:
        client.feeds.add_activity_reaction(activity_id=post.id, type="like", user_id=fan,
                                           create_notification_activity=True)
    groups = _bell(client, alice)["aggregated_activities"]
    assert [g["group"] for g in groups] == [f"reaction-{_today()}"]
    assert (groups[0]["activity_count"], groups[0]["user_count"]) == (3, 3)
    assert {a["user"]["id"] for a in groups[0]["activities"]} == set(fans)


def test_custom_formats_with_if_blocks_and_custom_fields(client, make_users):
    gid = uid("agg")
    client.feeds.create_feed_group(
        id=gid,
        aggregation=AggregationConfig(
            format="{{ user_id }}:{% if custom.urgent %}urgent{% else %}{{ type }}{% endif %}",
            activities_sort="created_at_asc"),
    )
    owner, bob, carol = make_users("owner", "bob", "carol")
    feed = client.feeds.feed(gid, owner)
    feed.get_or_create(user_id=owner)
    first = client.feeds.add_activity(type="post", feeds=[f"{gid}:{owner}"], user_id=bob).data.activity
    second = client.feeds.add_activity(type="post", feeds=[f"{gid}:{owner}"], user_id=bob).data.activity
    client.feeds.add_activity(type="post", feeds=[f"{gid}:{owner}"], user_id=bob, custom={"urgent": True})
    client.feeds.add_activity(type="share", feeds=[f"{gid}:{owner}"], user_id=carol)

    body = raw(feed.get_or_create(user_id=owner))
    groups = _groups(body)
    assert set(groups) == {f"{bob}:post", f"{bob}:urgent", f"{carol}:share"}
    assert [a["id"] for a in groups[f"{bob}:post"]["activities"]] == [first.id, second.id], "created_at_asc"
    # A group without notification config tracks no read state.
    assert "notification_status" not in body and "is_read" not in groups[f"{bob}:post"]


def test_followed_feeds_fan_out_into_an_aggregated_feed(client, make_users):
    gid = uid("agg")
    client.feeds.create_feed_group(id=gid, aggregation=AggregationConfig(format="{{ user_id }}"))
    reader, bob, carol = make_users("reader", "bob", "carol")
    client.feeds.feed(gid, reader).get_or_create(user_id=reader)
    for author in (bob, carol):
        client.feeds.feed("user", author).get_or_create(user_id=author)
        client.feeds.follow(source=f"{gid}:{reader}", target=f"user:{author}")
    for author in (bob, bob, carol):
        client.feeds.add_activity(type="post", feeds=[f"user:{author}"], user_id=author)
    groups = raw(client.feeds.feed(gid, reader).get_or_create(user_id=reader))["aggregated_activities"]
    assert [(g["group"], g["activity_count"]) for g in groups] == [(carol, 1), (bob, 2)]

    # A follow's backfill joins what it copies; an unfollow takes it out again.
    dave = make_users("dave")
    client.feeds.add_activity(type="post", feeds=[f"user:{dave}"], user_id=dave)
    client.feeds.follow(source=f"{gid}:{reader}", target=f"user:{dave}")
    groups = raw(client.feeds.feed(gid, reader).get_or_create(user_id=reader))["aggregated_activities"]
    assert sorted((g["group"], g["activity_count"]) for g in groups) == sorted([(carol, 1), (bob, 2), (dave, 1)])
    client.feeds.unfollow(source=f"{gid}:{reader}", target=f"user:{bob}")
    groups = raw(client.feeds.feed(gid, reader).get_or_create(user_id=reader))["aggregated_activities"]
    assert sorted(g["group"] for g in groups) == sorted([carol, dave])


def test_bad_templates_are_refused_at_config_time(client):
    for fmt in ["{{ type ", "{{ verb }}", "{{ time.strftime('%Q') }}"]:
        with api_error(400, 4) as ei:
            client.feeds.create_feed_group(id=uid("agg"), aggregation=AggregationConfig(format=fmt))
        assert "aggregation.format" in json.loads(ei.value.raw_response_body)["exception_fields"]
    gid = uid("agg")
    client.feeds.create_feed_group(id=gid, aggregation=AggregationConfig(format="{{ type }}"))
    with api_error(400, 4):
        client.feeds.update_feed_group(id=gid, aggregation=AggregationConfig(format="{% if %}"))


def test_many_actors_truncate_the_user_count(client, make_users):
    alice = make_users("alice")
    _bell(client, alice)
    actors = make_users(*[f"fan{i}" for i in range(100)]) + make_users(*[f"fan{i}" for i in range(100, 105)])
    client.feeds.upsert_activities(activities=[
        ActivityRequest(type="like", feeds=[f"notification:{alice}"], user_id=actor) for actor in actors[:100]])
    client.feeds.upsert_activities(activities=[
        ActivityRequest(type="like", feeds=[f"notification:{alice}"], user_id=actor) for actor in actors[100:]])
    group, = _bell(client, alice)["aggregated_activities"]
    assert group["activity_count"] == 105
    assert group["user_count"] == 100 and group["user_count_truncated"] is True
    assert len(group["activities"]) == 10, "a read shows each group's 10 newest activities"


def test_marking_by_key_and_all_and_groups_growing_unread_again(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    _bell(client, alice)
    day = _today()
    like, comment, follow = f"like-{day}", f"comment-{day}", f"follow-{day}"
    _notify(client, alice, bob, "like")
    _notify(client, alice, bob, "comment")
    _notify(client, alice, carol, "follow")
    bell = client.feeds.feed("notification", alice)

    bell.mark_activity(user_id=alice, mark_seen=[like, comment])
    body = _bell(client, alice)
    status = body["notification_status"]
    assert (status["unread"], status["unseen"]) == (3, 1)
    assert sorted(status["seen_activities"]) == sorted([like, comment]) and "read_activities" not in status
    assert [g["is_seen"] for g in body["aggregated_activities"]] == [False, True, True]

    bell.mark_activity(user_id=alice, mark_read=[like, "no-such-group"])
    status = _bell(client, alice)["notification_status"]
    assert status["unread"] == 2 and status["read_activities"] == [like]

    bell.mark_activity(user_id=alice, mark_all_read=True)
    body = _bell(client, alice)
    status = body["notification_status"]
    assert status["unread"] == 0 and status["unseen"] == 1
    assert_recent_ns(status["last_read_at"])
    assert "last_seen_at" not in status and "read_activities" not in status
    assert all(g["is_read"] for g in body["aggregated_activities"])

    bell.mark_activity(user_id=alice, mark_all_seen=True)
    assert _bell(client, alice)["notification_status"]["unseen"] == 0

    # A new like joins the read group: it moves to the front, unread and unseen again.
    _notify(client, alice, carol, "like")
    body = _bell(client, alice)
    first = body["aggregated_activities"][0]
    assert (first["group"], first["activity_count"], first["user_count"]) == (like, 2, 2)
    assert first["is_read"] is False and first["is_seen"] is False
    assert [g["is_read"] for g in body["aggregated_activities"][1:]] == [True, True]
    status = body["notification_status"]
    assert (status["unread"], status["unseen"]) == (1, 1)


def test_a_marked_key_is_unmarked_when_its_group_grows(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    _bell(client, alice)
    like = f"like-{_today()}"
    _notify(client, alice, bob, "like")
    client.feeds.feed("notification", alice).mark_activity(user_id=alice, mark_read=[like], mark_seen=[like])
    assert _bell(client, alice)["notification_status"]["unread"] == 0
    _notify(client, alice, carol, "like")
    status = _bell(client, alice)["notification_status"]
    assert (status["unread"], status["unseen"]) == (1, 1)
    assert "read_activities" not in status and "seen_activities" not in status


def test_only_the_owner_marks_with_a_user_token(client, user_client, make_users):
    alice, bob = make_users("alice", "bob")
    _bell(client, alice)
    _notify(client, alice, bob, "like")
    with api_error(403, 17):
        user_client(bob).feeds.mark_activity(feed_group_id="notification", feed_id=alice, mark_all_read=True)
    user_client(alice).feeds.mark_activity(feed_group_id="notification", feed_id=alice, mark_all_read=True)
    assert _bell(client, alice)["notification_status"]["unread"] == 0


def test_marking_what_the_group_does_not_track_is_refused(client, make_users):
    alice = make_users("alice")
    client.feeds.feed("user", alice).get_or_create(user_id=alice)
    _bell(client, alice)
    with api_error(400, 4) as ei:
        client.feeds.mark_activity(feed_group_id="user", feed_id=alice, mark_read=["x"], user_id=alice)
    assert "mark_read" in json.loads(ei.value.raw_response_body)["exception_fields"]
    with api_error(400, 4):
        client.feeds.mark_activity(feed_group_id="notification", feed_id=alice, user_id=alice,
                                   mark_watched=["x"])
    with api_error(400, 4):
        client.feeds.mark_activity(feed_group_id="notification", feed_id=alice, user_id=alice,
                                   mark_read=[f"k{i}" for i in range(101)])
    with api_error(404, 16):
        client.feeds.mark_activity(feed_group_id="notification", feed_id=uid("nobody"), mark_all_read=True)


def test_flat_notification_feeds_mark_activity_ids(client, make_users):
    gid = uid("flat")
    client.feeds.create_feed_group(id=gid, notification=NotificationConfig(track_read=True, track_seen=True))
    alice, bob = make_users("alice", "bob")
    feed = client.feeds.feed(gid, alice)
    feed.get_or_create(user_id=alice)
    one = client.feeds.add_activity(type="like", feeds=[f"{gid}:{alice}"], user_id=bob).data.activity
    client.feeds.add_activity(type="like", feeds=[f"{gid}:{alice}"], user_id=bob)
    body = raw(feed.get_or_create(user_id=alice))
    assert body["aggregated_activities"] == [] and len(body["activities"]) == 2
    assert body["notification_status"]["unread"] == 2
    feed.mark_activity(user_id=alice, mark_read=[one.id])
    status = raw(feed.get_or_create(user_id=alice))["notification_status"]
    assert status["unread"] == 1 and status["read_activities"] == [one.id]


def test_group_pages_stay_stable_while_notifications_arrive(client, make_users):
    alice, bob = make_users("alice", "bob")
    _bell(client, alice)
    for kind in ["k1", "k2", "k3", "k4", "k5"]:
        _notify(client, alice, bob, kind)
    first = _bell(client, alice, limit=2)
    assert [g["group"].split("-")[0] for g in first["aggregated_activities"]] == ["k5", "k4"]
    # k2 grows while the reader pages: it jumps to the front, and the pages behind the cursor do not shift.
    _notify(client, alice, bob, "k2")
    second = _bell(client, alice, limit=2, next=first["next"])
    assert [g["group"].split("-")[0] for g in second["aggregated_activities"]] == ["k3", "k1"]
    assert "next" not in second and second["prev"]
    back = _bell(client, alice, limit=2, prev=second["prev"])
    assert [g["group"].split("-")[0] for g in back["aggregated_activities"]] == ["k5", "k4"]
    assert [g["group"].split("-")[0] for g in _bell(client, alice, limit=2)["aggregated_activities"]] == ["k2", "k5"]


def test_deleting_notifications_leaves_their_groups(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    _bell(client, alice)
    first = _notify(client, alice, bob, "like")
    second = _notify(client, alice, carol, "like")
    client.feeds.delete_activity(id=second.id)
    group, = _bell(client, alice)["aggregated_activities"]
    assert (group["activity_count"], group["user_count"]) == (1, 1), "a soft delete leaves the counts"
    client.feeds.restore_activity(id=second.id)
    group, = _bell(client, alice)["aggregated_activities"]
    assert (group["activity_count"], group["user_count"]) == (2, 2), "a restore comes back"
    client.feeds.delete_activity(id=second.id, hard_delete=True)
    group, = _bell(client, alice)["aggregated_activities"]
    assert (group["activity_count"], group["user_count"]) == (1, 1)
    assert [a["id"] for a in group["activities"]] == [first.id]
    client.feeds.delete_activity(id=first.id)
    body = _bell(client, alice)
    assert body["aggregated_activities"] == [] and body["notification_status"]["unread"] == 0
    client.feeds.delete_activity(id=first.id, hard_delete=True)
    assert _bell(client, alice)["aggregated_activities"] == []


def test_private_activities_stay_out_of_others_groups(client, user_client, make_users):
    gid = uid("agg")
    client.feeds.create_feed_group(id=gid, aggregation=AggregationConfig(format="{{ user_id }}"))
    reader, bob = make_users("reader", "bob")
    client.feeds.feed(gid, reader).get_or_create(user_id=reader)
    client.feeds.feed("user", bob).get_or_create(user_id=bob)
    client.feeds.follow(source=f"{gid}:{reader}", target=f"user:{bob}")
    public = client.feeds.add_activity(type="post", feeds=[f"user:{bob}"], user_id=bob).data.activity
    client.feeds.add_activity(type="post", feeds=[f"user:{bob}"], user_id=bob, visibility="private")
    group, = raw(user_client(reader).feeds.feed(gid, reader).get_or_create())["aggregated_activities"]
    assert [a["id"] for a in group["activities"]] == [public.id]
