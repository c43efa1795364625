"""App settings through the SDK: GetApp's required fields, and UpdateApp of
the webhook settings (the legacy URL and event hooks). Settings are
app-wide, so the test clears what it set."""

import json

from getstream.models import EventHook

from sdkhelpers import api_error, raw


def test_get_app_and_update_webhooks(client):
    app = client.get_app().data.app
    assert app.id == 1 and app.event_hooks == [] and app.webhook_url == ""

    hook = EventHook(hook_type="webhook", enabled=True, webhook_url="http://127.0.0.1:9/hooks",
                     event_types=["feeds.activity.added"], timeout_ms=3000)
    try:
        client.update_app(webhook_url="http://127.0.0.1:9/legacy", webhook_events=["feeds.follow.created"],
                          event_hooks=[hook])
        app = client.get_app().data.app
        assert app.webhook_url == "http://127.0.0.1:9/legacy"
        assert app.webhook_events == ["feeds.follow.created"]
        [stored] = app.event_hooks
        assert stored.id and stored.hook_type == "webhook" and stored.enabled
        assert stored.webhook_url == "http://127.0.0.1:9/hooks" and stored.timeout_ms == 3000
        assert stored.event_types == ["feeds.activity.added"] and stored.created_at is not None

        # Sent back as read (created_at included), the hook keeps its id.
        client.update_app(event_hooks=app.event_hooks)
        assert raw(client.get_app())["app"]["event_hooks"][0]["id"] == stored.id

        with api_error(400, 4) as ei:
            client.update_app(event_hooks=[EventHook(hook_type="sqs", enabled=True)])
        assert "event_hooks[].hook_type" in json.loads(ei.value.raw_response_body)["exception_fields"]
        with api_error(400, 4) as ei:
            client.update_app(disable_auth_checks=True)
        assert "disable_auth_checks" in json.loads(ei.value.raw_response_body)["exception_fields"]
    finally:
        client.update_app(webhook_url="", webhook_events=[], event_hooks=[])
    assert raw(client.get_app())["app"]["event_hooks"] == []
