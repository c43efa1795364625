"""Session fixtures: run the tributary binary, build SDK clients against it,
and fail any test whose responses violate the OpenAPI spec (see specval.py)."""

from __future__ import annotations

import httpx
import jwt
import pytest

import getstream
from getstream.models import UserRequest

import specval
from sdkhelpers import make_client, uid
from tributary_server import start_server

SERVER_LOG = None  # the session server's log, kept when something failed


@pytest.fixture(scope="session")
def server():
    global SERVER_LOG
    srv, stop = start_server()
    SERVER_LOG = srv.log_path
    yield srv
    stop()


@pytest.fixture(scope="session")
def client(server) -> getstream.Stream:
    """Server-side SDK client (signed with the API secret)."""
    c = make_client(server)
    yield c
    c.close()


@pytest.fixture
def user_client(server, client):
    """Factory: an SDK client authenticated with a user token."""
    made = []

    def _make(user_id: str) -> getstream.Stream:
        token = jwt.encode({"user_id": user_id}, server.api_secret, algorithm="HS256")
        c = make_client(server, token=token)
        made.append(c)
        return c

    yield _make
    for c in made:
        c.close()


@pytest.fixture(scope="session")
def http(server) -> httpx.Client:
    """Raw httpx client (responses are spec-validated too)."""
    c = httpx.Client(
        base_url=server.base_url,
        transport=specval.ValidatingTransport(),
        timeout=15.0,
    )
    yield c
    c.close()


@pytest.fixture(scope="session")
def server_token(server) -> str:
    return jwt.encode({}, server.api_secret, algorithm="HS256")


@pytest.fixture
def make_users(client):
    """Create users with unique ids; returns their ids in order."""

    def _make(*names: str, **fields):
        users = {}
        ids = []
        for n in names:
            i = uid(n)
            ids.append(i)
            users[i] = UserRequest(id=i, name=n, **fields)
        client.update_users(users=users)
        return ids if len(ids) != 1 else ids[0]

    return _make


# ---------------------------------------------------------------------------
# spec-violation plumbing: violations recorded by ValidatingTransport during
# a test's setup or call make that test fail.


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    specval.VIOLATIONS.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    if not specval.VIOLATIONS:
        return
    seen = []
    for v in specval.VIOLATIONS:
        if v not in seen:
            seen.append(v)
    specval.VIOLATIONS.clear()
    msg = "response(s) violate the OpenAPI spec:\n  " + "\n  ".join(seen[:25])
    if len(seen) > 25:
        msg += f"\n  ... and {len(seen) - 25} more"
    if outcome.excinfo is not None:
        exc = outcome.excinfo[1]
        msg += f"\n(the test also failed with: {type(exc).__name__}: {str(exc)[:500]})"
    outcome.force_exception(pytest.fail.Exception(msg, pytrace=False))


def pytest_configure(config):
    # the suite signs deliberately weak/foreign tokens
    config.addinivalue_line("filterwarnings", "ignore::jwt.warnings.InsecureKeyLengthWarning")


def pytest_sessionstart(session):
    specval.get_spec()


def pytest_terminal_summary(terminalreporter):
    if specval.get_spec() is not None:
        terminalreporter.write_line(
            f"spec validation: {specval.CHECKED['count']} responses checked against "
            f"{specval.spec_path()}"
        )
    if SERVER_LOG is not None:
        if terminalreporter.stats.get("failed") or terminalreporter.stats.get("error"):
            terminalreporter.write_line(f"server log: {SERVER_LOG}")
        else:
            SERVER_LOG.unlink(missing_ok=True)
    if specval.get_spec() is None:
        terminalreporter.write_line(
            "spec validation: SKIPPED (feeds-serverside-api.json not found; set TRIBUTARY_SPEC)"
        )
