"""Stories: `story:<author>` feeds of expiring posts, `stories:<reader>`
following them with one group per author (members oldest first), expired
stories leaving every read (QueryActivities' `include_expired_activities`
is the archive view), `mark_watched` per reading user with `is_watched` on
activities and groups, and `stories.skip_watched`."""

import json
import time
from datetime import datetime, timedelta, timezone

from getstream.models import AggregationConfig, StoriesConfig

from sdkhelpers import api_error, raw, uid


def _at(**delta):
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


def _story(client, author, expires_at=None, **kw):
    expires_at = expires_at or _at(days=1)
    return client.feeds.add_activity(type="story", feeds=[f"story:{author}"], user_id=author,
                                     expires_at=expires_at, **kw).data.activity.id


def _read(client, group, owner, reader=None):
    return raw(client.feeds.feed(group, owner).get_or_create(user_id=reader or owner))


def _follow_stories(client, source, authors):
    for author in authors:
        client.feeds.feed("story", author).get_or_create(user_id=author)
        client.feeds.follow(source=source, target=f"story:{author}")


def _groups(body):
    return {g["group"]: g for g in body["aggregated_activities"]}


def _watched(activities):
    return [(a["id"], a["is_watched"]) for a in activities]


def test_a_stories_flow_with_three_authors(client, user_client, make_users):
    reader, ann, bob, cat = make_users("reader", "ann", "bob", "cat")
    client.feeds.feed("stories", reader).get_or_create(user_id=reader)
    _follow_stories(client, f"stories:{reader}", [ann, bob, cat])
    ann1 = _story(client, ann, text="morning")
    ann2 = _story(client, ann, text="noon")
    bob1 = _story(client, bob)
    bob_gone = _story(client, bob, expires_at=_at(hours=-1))
    _story(client, cat, expires_at=_at(minutes=-5))

    body = _read(client, "stories", reader)
    groups = _groups(body)
    assert set(groups) == {ann, bob}, "cat's only story expired: no group"
    assert [g["group"] for g in body["aggregated_activities"]] == [bob, ann], "newest-updated author first"
    assert [a["id"] for a in groups[ann]["activities"]] == [ann1, ann2], "stories oldest first"
    assert (groups[ann]["activity_count"], groups[ann]["user_count"]) == (2, 1)
    assert [a["id"] for a in groups[bob]["activities"]] == [bob1] and groups[bob]["activity_count"] == 1
    assert groups[ann]["is_watched"] is False and groups[bob]["is_watched"] is False
    assert _watched(groups[ann]["activities"]) == [(ann1, False), (ann2, False)]
    # The author's own story feed drops the expired story too.
    assert _watched(_read(client, "story", bob, reader)["activities"]) == [(bob1, False)]

    stories = client.feeds.feed("stories", reader)
    stories.mark_activity(user_id=reader, mark_watched=[ann1])
    groups = _groups(_read(client, "stories", reader))
    assert groups[ann]["is_watched"] is False, "one live story is still unwatched"
    assert _watched(groups[ann]["activities"]) == [(ann1, True), (ann2, False)]

    # With the reader's own token, on the feed they own.
    user_client(reader).feeds.mark_activity(feed_group_id="stories", feed_id=reader, mark_watched=[ann2, bob_gone])
    groups = _groups(_read(client, "stories", reader))
    assert groups[ann]["is_watched"] is True
    assert groups[bob]["is_watched"] is False, "watching an expired story does not watch the live one"
    # Watched is the reader's, whichever feed shows the story; the author has watched nothing.
    assert _watched(_read(client, "story", ann, reader)["activities"]) == [(ann2, True), (ann1, True)]
    assert _watched(_read(client, "story", ann)["activities"]) == [(ann2, False), (ann1, False)]
    with api_error(403, 17):
        user_client(reader).feeds.mark_activity(feed_group_id="story", feed_id=ann, mark_watched=[ann1])

    # The archive: expired stories, asked for, server-side.
    feed_filter = {"feed": f"story:{bob}"}
    live = raw(client.feeds.query_activities(filter=feed_filter))["activities"]
    assert [a["id"] for a in live] == [bob1]
    archive = raw(client.feeds.query_activities(filter=feed_filter, include_expired_activities=True))["activities"]
    assert sorted(a["id"] for a in archive) == sorted([bob1, bob_gone])

    # GetActivity and QueryActivities show the reading user's watched state;
    # a server-side read naming nobody does not.
    assert raw(client.feeds.get_activity(id=ann1, user_id=reader))["activity"]["is_watched"] is True
    assert raw(user_client(reader).feeds.get_activity(id=bob1))["activity"]["is_watched"] is False
    assert "is_watched" not in raw(client.feeds.get_activity(id=ann1))["activity"]
    mine = raw(user_client(reader).feeds.query_activities(filter={"feed": f"story:{ann}"}))["activities"]
    assert sorted(_watched(mine)) == sorted([(ann1, True), (ann2, True)])
    assert all("is_watched" not in a for a in raw(client.feeds.query_activities(filter=feed_filter))["activities"])


def test_a_story_leaves_the_reads_when_it_expires(client, make_users):
    reader, ann = make_users("reader", "ann")
    client.feeds.feed("stories", reader).get_or_create(user_id=reader)
    _follow_stories(client, f"stories:{reader}", [ann])
    brief = _story(client, ann, expires_at=_at(seconds=2))
    assert [a["id"] for a in _read(client, "story", ann)["activities"]] == [brief]
    group, = _read(client, "stories", reader)["aggregated_activities"]
    assert [a["id"] for a in group["activities"]] == [brief]
    time.sleep(2.5)
    assert _read(client, "story", ann)["activities"] == []
    assert _read(client, "stories", reader)["aggregated_activities"] == []


def test_skip_watched_drops_watched_stories_and_then_empty_groups(client, make_users):
    grouped, flat = uid("stories"), uid("story")
    skip = StoriesConfig(track_watched=True, skip_watched=True)
    client.feeds.create_feed_group(id=grouped, aggregation=AggregationConfig(format="{{ user_id }}"), stories=skip)
    client.feeds.create_feed_group(id=flat, stories=skip)
    reader, ann, bob = make_users("reader", "ann", "bob")
    for group in (grouped, flat):
        client.feeds.feed(group, reader).get_or_create(user_id=reader)
        _follow_stories(client, f"{group}:{reader}", [ann, bob])
    ann1, ann2, bob1 = _story(client, ann), _story(client, ann), _story(client, bob)

    client.feeds.feed(grouped, reader).mark_activity(user_id=reader, mark_watched=[ann1])
    groups = _groups(_read(client, grouped, reader))
    assert [a["id"] for a in groups[ann]["activities"]] == [ann2] and groups[ann]["activity_count"] == 1
    assert groups[ann]["is_watched"] is False
    client.feeds.feed(grouped, reader).mark_activity(user_id=reader, mark_watched=[ann2])
    assert list(_groups(_read(client, grouped, reader))) == [bob], "all of ann's stories are watched"
    # Marks are the reader's: the flat feed skips them as well, newest first as flat feeds read.
    assert [a["id"] for a in _read(client, flat, reader)["activities"]] == [bob1]
    # Another reader has watched nothing.
    other = make_users("other")
    client.feeds.feed(grouped, other).get_or_create(user_id=other)
    _follow_stories(client, f"{grouped}:{other}", [ann])
    group, = _read(client, grouped, other)["aggregated_activities"]
    assert [a["id"] for a in group["activities"]] == [ann1, ann2]


def test_marks_a_group_does_not_track_are_refused(client, make_users):
    untracked = uid("story")
    client.feeds.create_feed_group(id=untracked, stories=StoriesConfig(track_watched=False))
    reader, ann = make_users("reader", "ann")
    client.feeds.feed(untracked, reader).get_or_create(user_id=reader)
    story = _story(client, ann)
    with api_error(400, 4) as ei:
        client.feeds.mark_activity(feed_group_id=untracked, feed_id=reader, user_id=reader, mark_watched=[story])
    assert "mark_watched" in json.loads(ei.value.raw_response_body)["exception_fields"]
    client.feeds.feed("stories", reader).get_or_create(user_id=reader)
    with api_error(400, 4) as ei:
        client.feeds.mark_activity(feed_group_id="stories", feed_id=reader, user_id=reader, mark_all_read=True)
    assert "mark_all_read" in json.loads(ei.value.raw_response_body)["exception_fields"]
    # No is_watched where nothing is tracked.
    client.feeds.follow(source=f"{untracked}:{reader}", target=f"story:{ann}")
    activity, = _read(client, untracked, reader)["activities"]
    assert "is_watched" not in activity
