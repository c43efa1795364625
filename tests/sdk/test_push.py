"""Push preferences and devices through the SDK (update_push_notification_preferences,
create_device, list_devices, delete_device), responses checked against the spec, and
a push delivered to a bridge (TRIBUTARY_PUSH_WEBHOOK_URL) verified with the SDK's
signature check; skip_push suppresses it. A feed group's push_notification
(update_feed_group) decides what its feeds push, and a follow's push_preference="all"
asks for a push of every new activity."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from getstream.models import ActivitySelectorConfig, FeedsPreferences, PushNotificationConfig, PushPreferenceInput

from sdkhelpers import api_error, make_client, raw, uid
from tributary_server import start_server


def test_preferences_round_trip(client, make_users, user_client):
    ann = make_users("ann")
    resp = user_client(ann).update_push_notification_preferences(
        preferences=[PushPreferenceInput(feeds_level="all", feeds_preferences=FeedsPreferences(comment="none"))]
    )
    prefs = resp.data.user_preferences[ann]
    assert prefs.feeds_level == "all" and prefs.feeds_preferences.comment == "none"
    assert resp.data.user_channel_preferences == {}

    resp = client.update_push_notification_preferences(
        preferences=[PushPreferenceInput(user_id=ann, feeds_preferences=FeedsPreferences(follow="none"))]
    )
    prefs = raw(resp)["user_preferences"][ann]
    assert prefs["feeds_level"] == "all"
    assert prefs["feeds_preferences"] == {"comment": "none", "follow": "none"}

    with api_error(400, 4) as e:
        client.update_push_notification_preferences(preferences=[PushPreferenceInput(user_id=ann, feeds_level="loud")])
    assert "feeds_level" in e.value.message
    with api_error(400, 4):
        client.update_push_notification_preferences(preferences=[PushPreferenceInput(feeds_level="all")])
    bob = make_users("bob")
    with api_error(403, 17):
        user_client(ann).update_push_notification_preferences(
            preferences=[PushPreferenceInput(user_id=bob, feeds_level="none")]
        )


def test_device_crud_and_ownership(client, make_users, user_client):
    ann, bob = make_users("ann", "bob")
    token = uid("token")
    user_client(ann).create_device(id=token, push_provider="firebase", push_provider_name="fcm")
    client.create_device(id=uid("voip"), push_provider="apn", voip_token=True, user_id=ann)
    devices = client.list_devices(user_id=ann).data.devices
    assert [d.user_id for d in devices] == [ann, ann]
    assert devices[0].id == token and devices[0].push_provider == "firebase"
    assert devices[1].voip is True
    assert user_client(bob).list_devices().data.devices == []
    with api_error(404, 16):
        user_client(bob).delete_device(id=token)
    with api_error(403, 17):
        user_client(bob).list_devices(user_id=ann)
    with api_error(400, 4):
        user_client(ann).create_device(id=uid("t"), push_provider="pigeon")
    user_client(ann).delete_device(id=token)
    assert [d.id for d in user_client(ann).list_devices().data.devices] == [devices[1].id]
    client.delete_device(id=devices[1].id, user_id=ann)
    assert client.list_devices(user_id=ann).data.devices == []


class _Bridge(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, self.headers.get("X-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def bridged():
    _Bridge.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Bridge)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    srv, stop = start_server(
        extra_env={"TRIBUTARY_PUSH_WEBHOOK_URL": f"http://127.0.0.1:{httpd.server_address[1]}/push"}
    )
    yield srv
    stop()
    httpd.shutdown()


def _wait_for(predicate, what):
    deadline = time.time() + 15
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"no {what}; got {[json.loads(b) for b, _ in _Bridge.received]}")


def test_a_reaction_pushes_to_the_authors_devices_unless_skip_push(bridged):
    client = make_client(bridged)
    try:
        ann, bob = uid("ann"), uid("bob")
        client.update_users(users={ann: {"id": ann}, bob: {"id": bob}})
        client.create_device(id=f"{ann}-phone", push_provider="apn", user_id=ann)
        post = client.feeds.add_activity(type="post", feeds=[f"user:{ann}"], text="hi", user_id=ann).data.activity
        client.feeds.add_activity_reaction(activity_id=post.id, type="like", user_id=bob, skip_push=True)
        client.feeds.add_activity_reaction(activity_id=post.id, type="love", user_id=bob)

        def pushes_to_ann():
            return [
                (json.loads(b), b, s) for b, s in _Bridge.received if json.loads(b)["receiver"]["id"] == ann
            ]

        push, body, signature = _wait_for(pushes_to_ann, "push to ann")[0]
        assert client.verify_signature(body, signature)
        assert push["type"] == "push" and push["push_type"] == "reaction"
        assert [d["id"] for d in push["devices"]] == [f"{ann}-phone"]
        # The skipped "like" came first; only the "love" pushed.
        assert push["event"]["reaction"]["type"] == "love"
        time.sleep(0.3)
        assert len(pushes_to_ann()) == 1
    finally:
        client.close()


def test_group_push_configuration_and_follow_push_preference(bridged):
    client = make_client(bridged)
    try:
        ann, bob, cat = uid("ann"), uid("bob"), uid("cat")
        client.update_users(users={u: {"id": u} for u in (ann, bob, cat)})
        for u in (ann, bob, cat):
            client.create_device(id=f"{u}-phone", push_provider="firebase", user_id=u)
        gid = uid("club")
        selectors = [ActivitySelectorConfig(type="current_feed")]
        client.feeds.create_feed_group(id=gid, activity_selectors=selectors)
        # Bob asks for every new activity of ann's club feed; cat asks nothing.
        f = client.feeds.follow(source=f"timeline:{bob}", target=f"{gid}:{ann}", push_preference="all").data.follow
        assert f.push_preference == "all"
        f = client.feeds.follow(source=f"timeline:{cat}", target=f"{gid}:{ann}").data.follow
        assert f.push_preference == "none"
        # A custom group without push_notification pushes nothing: no post, no follow.
        client.feeds.add_activity(type="post", feeds=[f"{gid}:{ann}"], text="quiet", user_id=ann)

        def pushes(receiver, kind):
            found = []
            for body, signature in _Bridge.received:
                push = json.loads(body)
                if push["receiver"]["id"] == receiver and push["push_type"] == kind:
                    found.append((push, body, signature))
            return found

        # The marker: a reaction on bob's user post (built-in defaults push it).
        post = client.feeds.add_activity(type="post", feeds=[f"user:{bob}"], text="mine", user_id=bob).data.activity
        client.feeds.add_activity_reaction(activity_id=post.id, type="like", user_id=cat)
        _wait_for(lambda: pushes(bob, "reaction"), "reaction push to bob")

        resp = client.feeds.update_feed_group(
            id=gid,
            activity_selectors=selectors,
            push_notification=PushNotificationConfig(enable_push=True, push_types=["post", "follow"]),
        )
        assert resp.data.feed_group.push_notification.push_types == ["post", "follow"]
        client.feeds.add_activity(type="post", feeds=[f"{gid}:{ann}"], text="loud", user_id=ann)
        push, body, signature = _wait_for(lambda: pushes(bob, "post"), "post push to bob")[0]
        assert client.verify_signature(body, signature)
        assert push["event"]["activity"]["text"] == "loud"
        assert [d["id"] for d in push["devices"]] == [f"{bob}-phone"]
        client.feeds.follow(source=f"timeline:{bob}", target=f"user:{ann}")
        client.feeds.follow(source=f"foryou:{cat}", target=f"{gid}:{ann}")
        # Both follows push to ann: the user group's by its built-in defaults, the club's as configured.
        _wait_for(lambda: len(pushes(ann, "follow")) == 2, "two follow pushes to ann")
        time.sleep(0.3)
        assert len(pushes(bob, "post")) == 1 and pushes(cat, "post") == []
    finally:
        client.close()
