"""Authentication, authorization and transport-level error envelopes."""

import json
import time

import jwt
import pytest

from sdkhelpers import make_client
from sdkhelpers import api_error, assert_http_error, fid, keep_alive_probe, uid


def _token(secret, claims=None, alg="HS256"):
    return jwt.encode(claims if claims is not None else {}, secret, algorithm=alg)


def _auth(token):
    return {"Authorization": token, "stream-auth-type": "jwt"}


# --- success paths ----------------------------------------------------------


def test_server_token_from_sdk_is_accepted(client):
    # Python 7.x signs an empty claim set as the server token.
    assert jwt.decode(client.token, options={"verify_signature": False}) == {}
    resp = client.feeds.list_feed_groups()
    assert resp.status_code() == 200
    assert "user" in resp.data.groups


def test_server_token_with_server_claim_is_accepted(server, http):
    # Go/PHP SDKs sign {"server": true}.
    token = _token(server.api_secret, {"server": True})
    r = http.get(
        "/api/v2/feeds/feed_groups", params={"api_key": server.api_key}, headers=_auth(token)
    )
    assert r.status_code == 200, r.text
    assert "timeline" in r.json()["groups"]


def test_user_token_can_read_own_feed(server, client, user_client, make_users):
    alice = make_users("alice")
    uc = user_client(alice)
    resp = uc.feeds.feed("user", alice).get_or_create()
    assert resp.status_code() == 201
    feed = resp.data.feed
    assert feed.feed == fid("user", alice)
    assert feed.created_by.id == alice


def test_user_token_acts_as_token_user(client, user_client, make_users):
    alice, bob = make_users("alice", "bob")
    ua, ub = user_client(alice), user_client(bob)
    ua.feeds.feed("user", alice).get_or_create()
    ub.feeds.feed("timeline", bob).get_or_create()
    f = ub.feeds.follow(source=fid("timeline", bob), target=fid("user", alice)).data.follow
    assert f.status == "accepted"
    a = ua.feeds.add_activity(type="post", feeds=[fid("user", alice)], text="mine").data.activity
    assert a.user.id == alice
    tl = ub.feeds.feed("timeline", bob).get_or_create().data.activities
    assert [x.id for x in tl] == [a.id]


def test_unknown_and_null_request_fields_are_ignored(server, http, server_token, make_users):
    alice = make_users("alice")
    r = http.post(
        "/api/v2/feeds/activities",
        params={"api_key": server.api_key},
        headers={**_auth(server_token), "Content-Type": "application/json"},
        content=json.dumps({
            "type": "post", "feeds": [fid("user", alice)], "user_id": alice,
            "text": None, "some_future_field": {"x": 1},
        }),
    )
    assert r.status_code == 201, r.text
    assert r.json()["activity"]["user"]["id"] == alice


# --- 401 --------------------------------------------------------------------


def test_wrong_api_key_is_401_code_2(server):
    c = make_client(server, api_key="not-the-key", api_secret=server.api_secret)
    with api_error(401, 2):
        c.feeds.list_feed_groups()


def test_missing_api_key_is_401(server, http, server_token):
    r = http.get("/api/v2/feeds/feed_groups", headers=_auth(server_token))
    assert_http_error(r, 401)


def test_bad_signature_is_401_code_43(server):
    c = make_client(server, token=_token("some-other-secret"))
    with api_error(401, 43):
        c.feeds.list_feed_groups()


def test_bad_signature_user_token_is_401_code_43(server):
    c = make_client(server, token=_token("some-other-secret", {"user_id": "mallory"}))
    with api_error(401, 43):
        c.feeds.query_follows(filter={"source_feed": "timeline:mallory"})


def test_expired_user_token_is_401_code_40(server):
    claims = {"user_id": "alice", "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}
    c = make_client(server, token=_token(server.api_secret, claims))
    with api_error(401, 40):
        c.feeds.query_follows(filter={"source_feed": "timeline:alice"})


def test_expired_server_token_is_401_code_40(server):
    c = make_client(server, token=_token(server.api_secret, {"exp": int(time.time()) - 60}))
    with api_error(401, 40):
        c.feeds.list_feed_groups()


def test_token_not_valid_yet_is_401_code_41(server):
    claims = {"user_id": "alice", "nbf": int(time.time()) + 3600}
    c = make_client(server, token=_token(server.api_secret, claims))
    with api_error(401, 41):
        c.feeds.query_follows(filter={"source_feed": "timeline:alice"})


def test_token_issued_in_future_is_401_code_42(server):
    claims = {"user_id": "alice", "iat": int(time.time()) + 3600}
    c = make_client(server, token=_token(server.api_secret, claims))
    with api_error(401, 42):
        c.feeds.query_follows(filter={"source_feed": "timeline:alice"})


@pytest.mark.parametrize("alg", ["HS512", "HS384"])
def test_non_hs256_token_is_401_code_5(server, alg):
    c = make_client(server, token=_token(server.api_secret, {}, alg=alg))
    with api_error(401, 5):
        c.feeds.list_feed_groups()


def test_alg_none_token_is_401_code_5(server):
    token = jwt.encode({}, None, algorithm="none")
    c = make_client(server, token=token)
    with api_error(401, 5):
        c.feeds.list_feed_groups()


@pytest.mark.parametrize("token", ["not-a-jwt", "aaa.bbb.ccc"])
def test_malformed_token_is_401_code_5(server, token):
    c = make_client(server, token=token)
    with api_error(401, 5):
        c.feeds.list_feed_groups()


def test_missing_token_is_401_code_5(server, http):
    r = http.get(
        "/api/v2/feeds/feed_groups",
        params={"api_key": server.api_key},
        headers={"stream-auth-type": "jwt"},
    )
    assert_http_error(r, 401, 5)


# --- 403 --------------------------------------------------------------------


def test_user_token_on_server_only_endpoints_is_403_code_17(user_client, make_users):
    alice = make_users("alice")
    uc = user_client(alice)
    with api_error(403, 17):
        uc.feeds.list_feed_groups()
    with api_error(403, 17):
        uc.feeds.create_feed_group(id=uid("fg"))
    with api_error(403, 17):
        uc.feeds.get_feed_group(id="user")
    with api_error(403, 17):
        uc.feeds.delete_feed_group(id="user")
    with api_error(403, 17):
        uc.delete_users(user_ids=[alice])


# --- transport-level errors (raw HTTP) -----------------------------------------


def test_malformed_json_is_400_code_4(server, http, server_token):
    r = http.post(
        "/api/v2/feeds/activities",
        params={"api_key": server.api_key},
        headers={**_auth(server_token), "Content-Type": "application/json"},
        content=b'{"type": "post", "feeds": ["user:x"',
    )
    assert_http_error(r, 400, 4)


def test_wrong_json_type_is_400_code_4(server, http, server_token):
    r = http.post(
        "/api/v2/feeds/activities",
        params={"api_key": server.api_key},
        headers={**_auth(server_token), "Content-Type": "application/json"},
        content=json.dumps({"type": "post", "feeds": "user:x", "user_id": "x"}),
    )
    assert_http_error(r, 400, 4)


def test_unknown_route_is_404_api_error(server, http, server_token):
    r = http.get(
        "/api/v2/feeds/no_such_route",
        params={"api_key": server.api_key},
        headers=_auth(server_token),
    )
    body = assert_http_error(r, 404)
    assert isinstance(body["message"], str) and body["message"]


def test_wrong_method_is_405_api_error(server, http, server_token):
    r = http.patch(
        "/api/v2/feeds/feed_groups",
        params={"api_key": server.api_key},
        headers={**_auth(server_token), "Content-Type": "application/json"},
        content=b"{}",
    )
    assert_http_error(r, 405)


def test_body_over_1mib_is_413_code_22(server, http, server_token):
    big = json.dumps(
        {"type": "post", "feeds": ["user:big"], "user_id": "big", "text": "x" * (1024 * 1024 + 10)}
    )
    r = http.post(
        "/api/v2/feeds/activities",
        params={"api_key": server.api_key},
        headers={**_auth(server_token), "Content-Type": "application/json"},
        content=big,
    )
    assert_http_error(r, 413, 22)


def test_error_envelope_has_all_required_fields(server, http, server_token):
    r = http.get(
        f"/api/v2/feeds/activities/{uid('missing')}",
        params={"api_key": server.api_key},
        headers=_auth(server_token),
    )
    body = assert_http_error(r, 404, 16)
    for key in ("code", "message", "StatusCode", "duration", "more_info", "details"):
        assert key in body, f"APIError lacks {key}: {body}"
    assert body["details"] == []


# --- connection reuse ----------------------------------------------------------
# The SDK keeps a pool of keep-alive connections. A server that answers
# before reading the request body and then drops the connection without
# announcing `Connection: close` makes the SDK's next call on that pooled
# connection fail with "Server disconnected without sending a response".


def _probe_cases(client, make_users):
    author = make_users("author")
    live = client.feeds.add_activity(type="post", feeds=[fid("user", author)], user_id=author,
                                     text="x").data.activity
    body = json.dumps({"user_id": author}).encode()
    return [
        # restore_activity: the SDK always sends a JSON body
        ("POST", f"/api/v2/feeds/activities/{uid('missing')}/restore", body),
        ("POST", f"/api/v2/feeds/activities/{live.id}/restore", body),
        # control: a handler that parses its body
        ("POST", "/api/v2/feeds/activities", json.dumps(
            {"type": "post", "feeds": [], "user_id": author}).encode()),
    ]


def test_keep_alive_connection_survives_late_request_body(server, client, server_token,
                                                          make_users):
    failures = []
    for method, path, body in _probe_cases(client, make_users):
        for _ in range(6):
            status, _, outcome = keep_alive_probe(server, server_token, method, path, body)
            if outcome not in ("reused", "announced-close"):
                failures.append(f"{method} {path} -> {status}: {outcome}")
                break
    assert not failures, "\n".join(failures)


def test_oversized_body_response_announces_close(server, server_token):
    body = json.dumps({"type": "post", "feeds": ["user:big"], "user_id": "big",
                       "text": "x" * (2 * 1024 * 1024)}).encode()
    status, headers, outcome = keep_alive_probe(
        server, server_token, "POST", "/api/v2/feeds/activities", body, body_delay=0)
    assert status == 413
    assert outcome in ("reused", "announced-close"), outcome
