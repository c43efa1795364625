"""activity_feedback (hide → hidden and gone from that user's feed reads)
and track_activity_metrics (metrics map, per-user quota → allowed: false)."""

from concurrent.futures import ThreadPoolExecutor

from getstream.models import TrackActivityMetricsEvent

from sdkhelpers import api_error, raw, uid


def _post(client, author, text="post"):
    return client.feeds.add_activity(type="post", feeds=[f"user:{author}"], text=text, user_id=author).data.activity


def test_hide_feedback_hides_for_that_user_only(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    for reader in (bob, carol):
        client.feeds.follow(source=f"timeline:{reader}", target=f"user:{alice}")
    a, b = _post(client, alice, "a"), _post(client, alice, "b")

    resp = client.feeds.activity_feedback(activity_id=a.id, hide=True, user_id=bob)
    assert resp.data.activity_id == a.id

    bob_tl = client.feeds.feed("timeline", bob).get_or_create(user_id=bob).data.activities
    carol_tl = client.feeds.feed("timeline", carol).get_or_create(user_id=carol).data.activities
    assert [x.id for x in bob_tl] == [b.id]
    assert [x.id for x in carol_tl] == [b.id, a.id]
    assert raw(client.feeds.get_activity(id=a.id, user_id=bob))["activity"]["hidden"] is True
    assert raw(client.feeds.get_activity(id=a.id, user_id=carol))["activity"]["hidden"] is False

    client.feeds.activity_feedback(activity_id=a.id, hide=False, user_id=bob)
    bob_tl = client.feeds.feed("timeline", bob).get_or_create(user_id=bob).data.activities
    assert [x.id for x in bob_tl] == [b.id, a.id]
    client.feeds.activity_feedback(activity_id=a.id, show_more=True, user_id=bob)


def test_feedback_bad_input(client, make_users):
    alice = make_users("alice")
    a = _post(client, alice)
    with api_error(404, 16):
        client.feeds.activity_feedback(activity_id=uid("missing"), hide=True, user_id=alice)
    with api_error(400, 4):
        client.feeds.activity_feedback(activity_id=a.id, user_id=alice)
    with api_error(400, 4):
        client.feeds.activity_feedback(activity_id=a.id, hide=True)


def test_track_activity_metrics_counts_and_reports(client, make_users):
    alice, bob = make_users("alice", "bob")
    a = _post(client, alice)
    missing = uid("missing")
    resp = client.feeds.track_activity_metrics(user_id=bob, events=[
        TrackActivityMetricsEvent(activity_id=a.id, metric="views"),
        TrackActivityMetricsEvent(activity_id=a.id, metric="clicks", delta=3),
        TrackActivityMetricsEvent(activity_id=missing, metric="views"),
    ])
    results = raw(resp)["results"]
    assert [(r["activity_id"], r["metric"], r["allowed"]) for r in results] == [
        (a.id, "views", True), (a.id, "clicks", True), (missing, "views", False)]
    assert "error" in results[2]
    got = raw(client.feeds.get_activity(id=a.id))["activity"]
    assert got["metrics"] == {"views": 1, "clicks": 3}


def test_metric_quota_answers_allowed_false(client, make_users):
    alice, bob = make_users("alice", "bob")
    a = _post(client, alice)
    events = [TrackActivityMetricsEvent(activity_id=a.id, metric="views") for _ in range(12)]
    results = raw(client.feeds.track_activity_metrics(user_id=bob, events=events))["results"]
    assert [r["allowed"] for r in results] == [True] * 10 + [False] * 2
    assert raw(client.feeds.get_activity(id=a.id))["activity"]["metrics"] == {"views": 10}


def test_concurrent_metric_events_are_counted_exactly(client, make_users):
    alice = make_users("alice")
    viewers = make_users(*[f"v{i}" for i in range(20)])
    a = _post(client, alice)

    def view(user):
        return client.feeds.track_activity_metrics(
            user_id=user, events=[TrackActivityMetricsEvent(activity_id=a.id, metric="views")])

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(view, viewers * 2))
    assert raw(client.feeds.get_activity(id=a.id))["activity"]["metrics"] == {"views": 40}


def test_track_metrics_bad_input(client, make_users):
    alice = make_users("alice")
    a = _post(client, alice)
    with api_error(400, 4):
        client.feeds.track_activity_metrics(user_id=alice, events=[])
    with api_error(400, 4):
        client.feeds.track_activity_metrics(
            user_id=alice, events=[TrackActivityMetricsEvent(activity_id=a.id, metric="bad-name!")])
    with api_error(400, 4):
        client.feeds.track_activity_metrics(events=[TrackActivityMetricsEvent(activity_id=a.id, metric="views")])
