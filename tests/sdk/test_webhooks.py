"""Webhooks checked with the SDK's own helpers: a local http.server receiver
gets the events of a configured hook, and `client.verify_signature` /
`client.verify_and_parse_webhook` (getstream.webhook) accept X-Signature,
for plain and gzip bodies. App settings are app-wide, so the test clears
what it set."""

from __future__ import annotations

import http.server
import threading
import time

from getstream.models import ActivityAddedEvent, EventHook

from sdkhelpers import uid


class Receiver:
    """Records every POST (headers, raw body) and answers 200."""

    def __init__(self):
        self.hits: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.hits.append((headers, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def find(self, predicate):
        with self.lock:
            return next((h for h in self.hits if predicate(h)), None)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def post_until_delivered(client, author: str, receiver: Receiver, predicate, timeout: float = 30.0):
    """A hook is picked up within a few seconds and starts with the events
    written after that, so post until one arrives that matches."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.feeds.add_activity(type="post", feeds=[f"user:{author}"], text=uid("hook"), user_id=author)
        for _ in range(10):
            hit = receiver.find(predicate)
            if hit:
                return hit
            time.sleep(0.05)
    raise AssertionError(f"no matching webhook within {timeout} s; got {len(receiver.hits)} requests")


def test_webhook_signatures_verify_with_the_sdk(client, make_users):
    author = make_users("hooked")
    receiver = Receiver()
    hook = EventHook(hook_type="webhook", enabled=True, webhook_url=receiver.url,
                     event_types=["feeds.activity.added"])
    try:
        client.update_app(event_hooks=[hook])
        headers, body = post_until_delivered(client, author, receiver, lambda h: True)
        signature = headers["x-signature"]
        assert headers["content-type"] == "application/json"
        assert headers["x-api-key"] == client.api_key
        assert headers["x-webhook-id"] and headers["x-webhook-attempt"] == "1"
        assert client.verify_signature(body, signature)
        assert not client.verify_signature(body + b" ", signature)
        event = client.verify_and_parse_webhook(body, signature)
        assert isinstance(event, ActivityAddedEvent)
        assert event.fid == f"user:{author}" and event.activity.user.id == author

        # Compressed: the SDK gunzips, then checks the signature of the JSON.
        client.update_app(enable_hook_payload_compression=True)
        headers, body = post_until_delivered(
            client, author, receiver, lambda h: h[0].get("content-encoding") == "gzip")
        assert body[:2] == b"\x1f\x8b"
        event = client.verify_and_parse_webhook(body, headers["x-signature"])
        assert isinstance(event, ActivityAddedEvent) and event.fid == f"user:{author}"
        assert not client.verify_signature(body, headers["x-signature"]), "signed before compression"
    finally:
        client.update_app(event_hooks=[], enable_hook_payload_compression=False)
        receiver.close()
