"""Usage statistics through the SDK: query_feeds_usage_stats counts a
scripted day of activity (activities created, follows, API requests) from
counters kept as the work happens, with the spec's date validation."""

from datetime import datetime, timedelta, timezone

import pytest

from sdkhelpers import api_error, raw, uid


def today():
    return datetime.now(timezone.utc).date()


def todays(stats, metric):
    day = today().isoformat()
    values = [d["value"] for d in stats[metric]["daily"] if d["date"] == day]
    assert len(values) == 1, stats[metric]
    return values[0]


def test_a_scripted_day_is_counted(client, make_users):
    alice, bob = make_users("alice", "bob")
    before = raw(client.feeds.query_feeds_usage_stats())  # counted itself: 1 request
    feeds = client.feeds
    feeds.feed("timeline", alice).get_or_create(user_id=alice)  # 1
    feeds.feed("timeline", bob).get_or_create(user_id=bob)  # 1
    posts = [feeds.add_activity(type="post", feeds=[f"user:{alice}"], text=str(i), user_id=alice).data.activity
             for i in range(3)]  # 3 requests, 3 activities
    feeds.upsert_activities(activities=[
        {"type": "post", "feeds": [f"user:{bob}"], "text": "b1", "user_id": bob},
        {"type": "post", "feeds": [f"user:{bob}"], "text": "b2", "user_id": bob},
    ])  # 1 request, 2 activities
    feeds.update_activity(id=posts[0].id, text="edited", user_id=alice)  # 1 request, an edit: no activity
    feeds.follow(source=f"timeline:{alice}", target=f"user:{bob}")  # 1 request, 1 follow
    feeds.follow(source=f"timeline:{bob}", target=f"user:{alice}")  # 1 request, 1 follow
    feeds.add_activity_reaction(activity_id=posts[1].id, type="like", user_id=bob)  # 1 request
    after = raw(client.feeds.query_feeds_usage_stats())  # 1 request

    assert todays(after, "activities") - todays(before, "activities") == 5
    assert todays(after, "follows") - todays(before, "follows") == 2
    assert todays(after, "api_requests") - todays(before, "api_requests") == 11
    assert after["openai_requests"]["total"] == 0
    for metric in ("activities", "follows", "api_requests", "openai_requests"):
        series = after[metric]
        assert len(series["daily"]) == 31, metric
        assert series["daily"][0]["date"] == (today() - timedelta(days=30)).isoformat()
        assert series["daily"][-1]["date"] == today().isoformat()
        assert series["total"] == sum(d["value"] for d in series["daily"])


def test_explicit_ranges(client):
    day = today()
    one = raw(client.feeds.query_feeds_usage_stats(_from=day.isoformat(), to=day.isoformat()))
    assert [d["date"] for d in one["activities"]["daily"]] == [day.isoformat()]
    past = (day - timedelta(days=400)).isoformat()
    old = raw(client.feeds.query_feeds_usage_stats(_from=past, to=past))
    assert old["follows"] == {"daily": [{"date": past, "value": 0}], "total": 0}


@pytest.mark.parametrize("body, field", [
    ({"_from": "2024-13-01"}, "from"),
    ({"_from": "yesterday"}, "from"),
    ({"to": "2024-02-30"}, "to"),
    ({"to": "2024-2-3"}, "to"),
    ({"_from": "2024-03-02", "to": "2024-03-01"}, "from"),
    ({"_from": "2020-01-01", "to": "2024-01-01"}, "from"),
])
def test_bad_dates_are_400_naming_the_field(client, body, field):
    with api_error(400, 4) as e:
        client.feeds.query_feeds_usage_stats(**body)
    assert field in e.value.message


def test_usage_is_server_only(user_client):
    with api_error(403, 17):
        user_client(uid("u")).feeds.query_feeds_usage_stats()
