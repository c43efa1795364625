"""Small helpers shared by the SDK acceptance tests."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from datetime import datetime, timezone

import getstream
import pytest
from getstream.exceptions import StreamApiException

import specval


def uid(prefix: str = "t") -> str:
    """Unique id safe for users, feeds, groups and activities."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def raw(resp) -> dict:
    """The decoded JSON body behind an SDK StreamResponse."""
    return json.loads(resp._StreamResponse__response.content)


def status(resp) -> int:
    return resp.status_code()


def now_ns() -> int:
    return time.time_ns()


def assert_recent_ns(value, slack_s: float = 120.0):
    """An integer nanosecond timestamp close to now."""
    assert isinstance(value, int) and not isinstance(value, bool), (
        f"timestamp must be an integer (ns), got {value!r}"
    )
    assert abs(value - now_ns()) < slack_s * 1e9, f"timestamp {value} not near now"


@contextlib.contextmanager
def api_error(status_code: int, code: int):
    """Expect the SDK to raise StreamApiException with HTTP status and Stream code."""
    with pytest.raises(StreamApiException) as ei:
        yield ei
    e = ei.value
    assert (e.status_code, e.code) == (status_code, code), (
        f"expected HTTP {status_code} / code {code}, got HTTP {e.status_code} / "
        f"code {e.code}: {e.message!r} body={e.raw_response_body[:300]!r}"
    )


def assert_http_error(resp, status_code: int, code=None):
    """Raw httpx response carrying an APIError envelope."""
    assert resp.status_code == status_code, (
        f"expected HTTP {status_code}, got {resp.status_code}: {resp.text[:300]}"
    )
    body = resp.json()
    assert body.get("StatusCode") == status_code
    if code is not None:
        assert body.get("code") == code, f"expected code {code}, got {body!r}"
    return body


def wait_task(client, task_id: str, timeout: float = 10.0):
    """Poll get_task until completed (or fail after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = client.get_task(id=task_id)
        last = r.data.status
        if last == "completed":
            return r
        assert last != "failed", f"task {task_id} failed: {raw(r)}"
        time.sleep(0.1)
    pytest.fail(f"task {task_id} not completed after {timeout}s (last status {last!r})")


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fid(group: str, feed_id: str) -> str:
    return f"{group}:{feed_id}"


def activity_ids(resp) -> list:
    return [a["id"] for a in raw(resp)["activities"]]


def make_client(server, **auth) -> getstream.Stream:
    if not auth:
        auth = {"api_secret": server.api_secret}
    return getstream.Stream(
        api_key=auth.pop("api_key", server.api_key),
        base_url=server.base_url,
        transport=specval.ValidatingTransport(),
        request_timeout=15.0,
        **auth,
    )
