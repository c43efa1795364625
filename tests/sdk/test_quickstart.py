"""The README quick start, through the official SDK."""

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from getstream.models import UserRequest

from sdkhelpers import raw, uid
from tributary_server import start_server

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def test_readme_quick_start_flow(client):
    """The quick-start steps on the shared server (unique ids, spec-validated)."""
    # 1. create users alice and bob
    alice, bob = uid("alice"), uid("bob")
    users = client.update_users(users={
        alice: UserRequest(id=alice, name="Alice"),
        bob: UserRequest(id=bob, name="Bob"),
    }).data.users
    assert users[alice].name == "Alice" and users[bob].name == "Bob"

    # 2. get_or_create user:alice and timeline:bob
    alice_feed = client.feeds.feed("user", alice)
    bob_timeline = client.feeds.feed("timeline", bob)
    assert alice_feed.get_or_create(user_id=alice).data.created is True
    assert bob_timeline.get_or_create(user_id=bob).data.created is True

    # 3. bob's timeline follows alice's user feed
    follow = client.feeds.get_or_create_follow(
        source=bob_timeline.get_feed_identifier(),
        target=alice_feed.get_feed_identifier(),
    ).data.follow
    assert follow.status == "accepted"
    assert follow.source_feed.feed == f"timeline:{bob}"
    assert follow.target_feed.feed == f"user:{alice}"

    # 4. alice posts an activity
    activity = client.feeds.add_activity(
        type="post",
        feeds=[alice_feed.get_feed_identifier()],
        text="Hello from Alice",
        user_id=alice,
    ).data.activity

    # 5. bob's timeline returns it
    timeline = bob_timeline.get_or_create(user_id=bob)
    acts = timeline.data.activities
    assert [a.id for a in acts] == [activity.id]
    assert [f"{a.user.name}: {a.text}" for a in acts] == ["Alice: Hello from Alice"]
    assert isinstance(raw(timeline)["activities"][0]["created_at"], int)


def test_stream_quick_start_unchanged(client):
    """Stream's own quick start, as its docs give it (only base_url differs):
    get_or_create with user_id creates the user, no update_users first."""
    john = uid("john")
    assert client.feeds.feed("user", john).get_or_create(user_id=john).data.created is True
    activity = client.feeds.add_activity(type="post", feeds=[f"user:{john}"], text="Hello", user_id=john).data.activity
    assert activity.user.id == john and activity.text == "Hello"
    assert client.query_users(payload={"filter_conditions": {"id": john}}).data.users[0].role == "user"


def _readme_snippet() -> str:
    text = README.read_text()
    m = re.search(r"## Quick start.*?<<'PY'\n(.*?)\nPY\n", text, re.S)
    if not m:
        pytest.fail("README.md has no `<<'PY' ... PY` quick-start snippet", pytrace=False)
    return m.group(1)


@pytest.fixture(scope="module")
def fresh_server():
    """A server started like the README does: no key/secret given, so it
    generates credentials into <data dir>/credentials.json."""
    srv, stop = start_server(credentials=False, database_url=False)
    yield srv
    stop()
    srv.log_path.unlink(missing_ok=True)


def test_readme_quick_start_snippet_runs_verbatim(fresh_server):
    creds_file = fresh_server.data_dir / "credentials.json"
    assert creds_file.is_file(), "server must write generated credentials to its data dir"
    creds = json.loads(creds_file.read_text())
    assert creds["api_key"] and creds["api_secret"]

    code = _readme_snippet()
    assert 'open("data/credentials.json")' in code and "http://127.0.0.1:7400" in code
    code = code.replace('"data/credentials.json"', repr(str(creds_file)))
    code = code.replace("http://127.0.0.1:7400", fresh_server.base_url)

    def run():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md quick start", "exec"), {"__name__": "__readme__"})
        return out.getvalue()

    assert run() == "Alice: Hello from Alice\n"
    # "Each run posts once more, so a second run prints the line twice."
    assert run() == "Alice: Hello from Alice\n" * 2
