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


def notification_activities(client, user) -> list:
    """The raw activities of `user`'s notification feed, listed flat
    (`include_flat_activities`: an aggregated read lists only groups otherwise)."""
    from getstream.models import EnrichmentOptions

    read = client.feeds.feed("notification", user).get_or_create(
        user_id=user, enrichment_options=EnrichmentOptions(include_flat_activities=True))
    return raw(read)["activities"]


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


def _read_http_response(sock):
    """Minimal HTTP/1.1 response reader: (status, headers, body) or raises OSError/EOFError."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed before a full response head")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed inside the body")
            rest += chunk
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed inside a chunked body")
            rest += chunk
    return status, headers, rest


def keep_alive_probe(server, token, method, path, body: bytes, body_delay: float = 0.02):
    """Send one request whose body arrives `body_delay` s after its head (as
    httpx does with separate writes under load), read the response, and then
    try a second request on the same connection.

    Returns (status, headers, outcome) where outcome is "reused" when the
    follow-up GET /health got an answer, "announced-close" when the first
    response carried `Connection: close`, or a description of the failure.
    """
    import socket

    host, port = server.base_url.rsplit("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    try:
        head = (
            f"{method} {path}?api_key={server.api_key} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {token}\r\nstream-auth-type: jwt\r\nAccept-Encoding: gzip\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        sock.sendall(head)
        time.sleep(body_delay)
        try:
            sock.sendall(body)
        except OSError:
            pass  # the server may already have answered; read the response anyway
        status, headers, _ = _read_http_response(sock)
        if "close" in headers.get("connection", "").lower():
            return status, headers, "announced-close"
        try:
            sock.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            s2, _, _ = _read_http_response(sock)
            return status, headers, "reused" if s2 == 200 else f"follow-up got {s2}"
        except (OSError, EOFError) as e:
            return status, headers, (
                f"connection closed without `Connection: close` ({type(e).__name__})"
            )
    finally:
        sock.close()
