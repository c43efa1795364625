"""Rate limits through the SDK: the headers it reads into `rate_limit()`,
the 429 it raises past a limit and recovery, and get_feeds_rate_limits
with its endpoint and platform filters."""

import time
from datetime import datetime, timezone

import jwt
import pytest

from sdkhelpers import api_error, make_client
from tributary_server import start_server


@pytest.fixture(scope="module")
def limited():
    """A server of its own: GetApp takes 2 per 2 s for the app, and each
    user may call GetActivity once a minute."""
    srv, stop = start_server(
        extra_env={"TRIBUTARY_RATE_LIMITS": "app:GetApp=2/2s,user:GetActivity=1/m"}
    )
    yield srv
    stop()


def test_a_limit_is_hit_with_429_code_9_and_recovers(limited):
    client = make_client(limited)
    try:
        first = client.get_app()
        second = client.get_app()
        info = [first.rate_limit(), second.rate_limit()]
        assert [(i.limit, i.remaining) for i in info] == [(2, 1), (2, 0)]
        now = datetime.now(timezone.utc)
        assert 0 <= (info[1].reset - now).total_seconds() <= 3, info[1].reset

        with api_error(429, 9) as raised:
            client.get_app()
        e = raised.value
        assert e.rate_limit_info is not None and e.rate_limit_info.remaining == 0
        assert e.rate_limit_info.limit == 2
        assert e.http_response.headers["retry-after"] == "1"
        assert e.message.startswith("GetApp failed with error:"), e.message

        time.sleep(1.2)  # one request's worth of the bucket refills each second
        again = client.get_app()
        assert again.status_code() == 200
        assert again.rate_limit().remaining == 0
    finally:
        client.close()


def test_each_user_has_a_bucket(limited):
    server_side = make_client(limited)
    users = []
    try:
        server_side.update_users(users={"rl-ann": {"id": "rl-ann"}, "rl-ben": {"id": "rl-ben"}})
        created = server_side.feeds.add_activity(type="post", feeds=["user:rl-ann"], text="hi", user_id="rl-ann")
        activity_id = created.data.activity.id
        for user in ("rl-ann", "rl-ben"):
            token = jwt.encode({"user_id": user}, limited.api_secret, algorithm="HS256")
            users.append(make_client(limited, token=token))
        ann, ben = users
        assert ann.feeds.get_activity(id=activity_id).rate_limit().remaining == 0
        with api_error(429, 9):
            ann.feeds.get_activity(id=activity_id)
        assert ben.feeds.get_activity(id=activity_id).status_code() == 200
        # Server-side calls have no user limit.
        for _ in range(3):
            assert server_side.feeds.get_activity(id=activity_id).status_code() == 200
    finally:
        for c in users + [server_side]:
            c.close()


def test_get_feeds_rate_limits_filters_by_endpoint_and_platform(client):
    resp = client.feeds.get_feeds_rate_limits(server_side=True, endpoints="GetApp,AddActivity")
    assert resp.status_code() == 200
    data = resp.data
    assert data.android is None and data.ios is None and data.web is None and data.unity is None
    assert set(data.server_side) == {"GetApp", "AddActivity"}
    get_app = data.server_side["GetApp"]
    # The default refills 10,000 a second: its use is gone by the next call.
    assert get_app.limit == 600_000 and get_app.remaining <= get_app.limit
    assert get_app.reset >= int(time.time())
    assert resp.rate_limit().limit == 600_000  # the call's own limit, in the headers

    web_only = client.feeds.get_feeds_rate_limits(web=True, endpoints="AddActivity").data
    assert web_only.server_side is None and set(web_only.web) == {"AddActivity"}

    everything = client.feeds.get_feeds_rate_limits().data
    for platform in ("server_side", "android", "ios", "web", "unity"):
        limits = getattr(everything, platform)
        assert "AddActivity" in limits and "GetFeedsRateLimits" in limits, platform


def test_get_feeds_rate_limits_reports_current_use(limited):
    client = make_client(limited)
    try:
        time.sleep(2.1)  # whatever earlier tests used has refilled
        before = client.feeds.get_feeds_rate_limits(server_side=True, endpoints="GetApp").data.server_side["GetApp"]
        assert (before.limit, before.remaining) == (2, 2)
        client.get_app()
        after = client.feeds.get_feeds_rate_limits(server_side=True, endpoints="GetApp").data.server_side["GetApp"]
        assert (after.limit, after.remaining) == (2, 1), after
        assert int(time.time()) <= after.reset <= int(time.time()) + 2
    finally:
        client.close()


def test_get_feeds_rate_limits_is_server_side_only(user_client, make_users):
    user = make_users("rl")
    with api_error(403, 17):
        user_client(user).feeds.get_feeds_rate_limits()
