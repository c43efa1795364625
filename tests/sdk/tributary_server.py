"""Start and stop a `tributary serve` process for the SDK tests."""

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
import pytest

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_BIN = REPO / "target" / "debug" / "tributary"

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


_CONTROLLED_ENV = ("TRIBUTARY_ADDR", "TRIBUTARY_DATA_DIR", "TRIBUTARY_API_KEY",
                   "TRIBUTARY_API_SECRET", "TRIBUTARY_DATABASE_URL", "TRIBUTARY_CONFIG",
                   "TRIBUTARY_PUSH_WEBHOOK_URL", "TRIBUTARY_TRANSLATION_URL")


def _psql(url: str, sql: str) -> None:
    """Runs one statement on PostgreSQL with the psql client (each SDK run
    lives in a schema of its own)."""
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def start_server(credentials: bool = True, database_url: bool = True, extra_env: dict | None = None):
    """Start `tributary serve` on a free port with a fresh data dir.

    With credentials=False no API key/secret is passed, so the server
    generates them into <data_dir>/credentials.json (README quick start).
    extra_env adds settings (e.g. TRIBUTARY_RATE_LIMITS).
    Returns (Server, stop_callable).
    """
    binary = Path(os.environ.get("TRIBUTARY_BIN", str(DEFAULT_BIN)))
    if not binary.is_file():
        pytest.fail(
            f"server binary not found at {binary}; run `cargo build` or set TRIBUTARY_BIN",
            pytrace=False,
        )
    data_dir = tempfile.mkdtemp(prefix="tributary-sdk-")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED_ENV}
    env.update(TRIBUTARY_ADDR=f"127.0.0.1:{port}", TRIBUTARY_DATA_DIR=data_dir)
    # Webhooks to loopback receivers only: tests and the fuzz run configure
    # hooks to hosts that must never be contacted.
    env.update(TRIBUTARY_WEBHOOK_HOSTS="127.0.0.1,localhost")
    if credentials:
        env.update(TRIBUTARY_API_KEY=API_KEY, TRIBUTARY_API_SECRET=API_SECRET)
    env.update(extra_env or {})
    schema = None
    if database_url and os.environ.get("TRIBUTARY_SDK_DATABASE_URL"):
        base = os.environ["TRIBUTARY_SDK_DATABASE_URL"]
        schema = f"sdk_{os.getpid()}_{secrets.token_hex(4)}"
        _psql(base, f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in base else "?"
        env["TRIBUTARY_DATABASE_URL"] = f"{base}{sep}options=-c%20search_path%3D{schema}"
    fd, log_name = tempfile.mkstemp(prefix="tributary-sdk-server-", suffix=".log")
    log_path = Path(log_name)
    log = os.fdopen(fd, "wb")
    proc = subprocess.Popen(
        [str(binary), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
    )
    srv = Server(f"http://127.0.0.1:{port}", API_KEY if credentials else None,
                 API_SECRET if credentials else None, log_path)
    srv.data_dir = Path(data_dir)

    def stop():
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
        if schema:
            _psql(os.environ["TRIBUTARY_SDK_DATABASE_URL"], f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{srv.base_url}/health", timeout=1.0).status_code == 200:
                return srv, stop
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    tail = srv.log_tail()
    stop()
    pytest.fail(
        f"tributary did not answer GET /health with 200 within 30 s "
        f"(exit code {proc.returncode}). Server log tail:\n{tail}",
        pytrace=False,
    )
