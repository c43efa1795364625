"""translate_activity / translate_comment through the SDK, against a tiny fake
LibreTranslate the test starts: i18n on the responses (checked against the spec),
one provider call per language, and the 400 when no provider is configured."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sdkhelpers import api_error, make_client, uid
from tributary_server import start_server


class _LibreTranslate(BaseHTTPRequestHandler):
    calls: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append((self.path, req))
        body = json.dumps({"translatedText": f"<{req['target']}> {req['q'][::-1]}",
                           "detectedLanguage": {"confidence": 80, "language": "en"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def translating():
    _LibreTranslate.calls = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _LibreTranslate)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    srv, stop = start_server(extra_env={"TRIBUTARY_TRANSLATION_URL": f"http://127.0.0.1:{httpd.server_address[1]}"})
    yield srv
    stop()
    httpd.shutdown()


def test_translate_activity_and_comment(translating):
    client = make_client(translating)
    try:
        ann = uid("ann")
        client.update_users(users={ann: {"id": ann}})
        post = client.feeds.add_activity(type="post", feeds=[f"user:{ann}"], text="hello", user_id=ann).data.activity
        first = client.feeds.translate_activity(id=post.id, language="fr").data.activity
        assert first.i18n == {"fr_text": "<fr> olleh", "language": "en"}
        again = client.feeds.translate_activity(id=post.id, language="fr").data.activity
        assert again.i18n == first.i18n
        assert _LibreTranslate.calls == [
            ("/translate", {"q": "hello", "source": "auto", "target": "fr", "format": "text"})
        ]
        assert client.feeds.get_activity(id=post.id).data.activity.i18n["fr_text"] == "<fr> olleh"

        comment = client.feeds.add_comment(
            object_id=post.id, object_type="activity", comment="thanks", user_id=ann
        ).data.comment
        translated = client.feeds.translate_comment(id=comment.id, language="de").data.comment
        assert translated.i18n == {"de_text": "<de> sknaht", "language": "en"}
        assert len(_LibreTranslate.calls) == 2
        with api_error(400, 4):
            client.feeds.translate_comment(id=comment.id, language="German")
    finally:
        client.close()


def test_reads_project_stored_translations(translating):
    client = make_client(translating)
    try:
        ann = uid("ann")
        client.update_users(users={ann: {"id": ann}})
        post = client.feeds.add_activity(type="post", feeds=[f"user:{ann}"], text="bonjour", user_id=ann).data.activity
        for language in ("fr", "de"):
            client.feeds.translate_activity(id=post.id, language=language)
        calls = len(_LibreTranslate.calls)

        plain = client.feeds.get_activity(id=post.id).data.activity
        assert plain.text == "bonjour" and set(plain.i18n) == {"fr_text", "de_text", "language"}
        read = client.feeds.get_activity(id=post.id, language="de", translate_text=True).data.activity
        assert read.text == "<de> ruojnob"
        assert read.i18n == {"de_text": "<de> ruojnob", "language": "en"}
        kept = client.feeds.get_activity(id=post.id, language="fr").data.activity
        assert kept.text == "bonjour" and kept.i18n == {"fr_text": "<fr> ruojnob", "language": "en"}

        feed = client.feeds.get_or_create_feed(
            feed_group_id="user", feed_id=ann, user_id=ann, language="fr", translate_text=True
        ).data
        assert [(a.id, a.text) for a in feed.activities] == [(post.id, "<fr> ruojnob")]
        found = client.feeds.query_activities(
            filter={"id": post.id}, language="de", translate_text=True, user_id=ann
        ).data.activities
        assert [a.text for a in found] == ["<de> ruojnob"]
        assert len(_LibreTranslate.calls) == calls, "reads call no provider"

        with api_error(400, 4):
            client.feeds.get_activity(id=post.id, language="German")
        with api_error(400, 4):
            client.feeds.get_activity(id=post.id, translate_text=True)
    finally:
        client.close()


def test_without_a_provider_translation_is_refused(client, make_users):
    ann = make_users("ann")
    post = client.feeds.add_activity(type="post", feeds=[f"user:{ann}"], text="hello", user_id=ann).data.activity
    with api_error(400, 4) as e:
        client.feeds.translate_activity(id=post.id, language="fr")
    assert "translation is not configured" in e.value.message
