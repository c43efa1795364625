"""Session fixtures: run the tributary binary, build SDK clients against it,
and fail any test whose responses violate the OpenAPI spec (see specval.py)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import jwt
import pytest

import getstream
from getstream.models import UserRequest

import specval
from sdkhelpers import make_client, uid

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_BIN = REPO / "target" / "debug" / "tributary"

SERVER_LOG = None  # kept after the run for post-mortems

API_KEY = "tributary-sdk-key"
API_SECRET = "sdk-secret-" + secrets.token_hex(32)


def _die_with_parent():  # pragma: no cover - runs in the child before exec
    """Linux: SIGTERM the server if the pytest process dies without cleanup."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base_url: str, api_key: str, api_secret: str, log_path: Path):
        self.base_url = base_url
        self.api_key = api_key
        self.api_secret = api_secret
        self.log_path = log_path

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


@pytest.fixture(scope="session")
def server():
    binary = Path(os.environ.get("TRIBUTARY_BIN", str(DEFAULT_BIN)))
    if not binary.is_file():
        pytest.fail(
            f"server binary not found at {binary}; run `cargo build` or set TRIBUTARY_BIN",
            pytrace=False,
        )
    data_dir = tempfile.mkdtemp(prefix="tributary-sdk-")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        TRIBUTARY_ADDR=f"127.0.0.1:{port}",
        TRIBUTARY_DATA_DIR=data_dir,
        TRIBUTARY_API_KEY=API_KEY,
        TRIBUTARY_API_SECRET=API_SECRET,
    )
    if os.environ.get("TRIBUTARY_SDK_DATABASE_URL"):
        env["TRIBUTARY_DATABASE_URL"] = os.environ["TRIBUTARY_SDK_DATABASE_URL"]
    log_path = Path(tempfile.gettempdir()) / "tributary-sdk-server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(binary), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
    )
    srv = Server(f"http://127.0.0.1:{port}", API_KEY, API_SECRET, log_path)
    deadline = time.monotonic() + 30
    ready = False
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            r = httpx.get(f"{srv.base_url}/health", timeout=1.0)
            if r.status_code == 200:
                ready = True
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    if not ready:
        proc.kill()
        proc.wait()
        log.close()
        tail = srv.log_tail()
        shutil.rmtree(data_dir, ignore_errors=True)
        pytest.fail(
            f"tributary did not answer GET /health with 200 within 30 s "
            f"(exit code {proc.returncode}). Server log tail:\n{tail}",
            pytrace=False,
        )
    global SERVER_LOG
    SERVER_LOG = log_path
    yield srv
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    shutil.rmtree(data_dir, ignore_errors=True)


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
        terminalreporter.write_line(f"server log: {SERVER_LOG}")
    if specval.get_spec() is None:
        terminalreporter.write_line(
            "spec validation: SKIPPED (feeds-serverside-api.json not found; set TRIBUTARY_SPEC)"
        )
