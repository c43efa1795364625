"""Schema-driven fuzzing of every operation the server serves.

The official spec (`feeds-serverside-api.json`, read at run time from the
shared reference folder and never copied into the repository) drives
schemathesis: each operation listed in the `operations!` table of
`src/http/mod.rs` gets generated requests, valid and invalid, signed with a
server token. A route added to that table is fuzzed without touching this
file.

Every response must:
  * not be a 5xx;
  * carry the content type and body schema the spec documents for its status
    (schemathesis' own checks);
  * pass the SDK suite's stricter contract (`specval`): 2xx with the status
    the spec documents and integer-nanosecond timestamps, every non-2xx an
    `APIError` whose StatusCode equals the HTTP status.
After the last operation the server process must still be running and answer
`GET /health` with 200.

The run is bounded and reproducible: a fixed seed, derandomized generation,
no example database, `TRIBUTARY_FUZZ_EXAMPLES` (default below) examples per
operation and generation mode.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import jwt
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

import specval
from tributary_server import start_server

REPO = Path(__file__).resolve().parent.parent.parent
ROUTES = REPO / "src" / "http" / "mod.rs"
EXAMPLES = int(os.environ.get("TRIBUTARY_FUZZ_EXAMPLES", "20"))
SEED = 11

# `OperationId: method "path" => status handler;` lines of the `operations!` table.
_ROUTE_LINE = re.compile(r'^\s*(\w+): (get|post|put|patch|delete) "([^"]+)" => (\d{3}) ', re.M)


def served_operations() -> dict[str, tuple[str, str, int]]:
    """operationId -> (METHOD, path, success status), from the route table."""
    source = ROUTES.read_text()
    table = source[source.index("operations! {"):]
    ops = {m[1]: (m[2].upper(), m[3], int(m[4])) for m in _ROUTE_LINE.finditer(table)}
    assert ops, f"no routes parsed from {ROUTES}"
    return ops


def _load_spec() -> dict:
    path = specval.spec_path()
    if path is None:
        pytest.fail(
            "feeds-serverside-api.json not found (set TRIBUTARY_SPEC); the fuzz run needs it",
            pytrace=False,
        )
    return json.loads(path.read_text())


SERVED = served_operations()
RAW_SPEC = _load_spec()

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(RAW_SPEC, config=CONFIG).include(operation_id=list(SERVED))


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_served_operation_is_in_the_spec():
    """A route the spec does not know would silently escape the fuzz run."""
    in_spec = {}
    for path, item in RAW_SPEC["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                in_spec[op["operationId"]] = (method.upper(), _shape(path))
    # The route table names path parameters its own way ({poll} vs {poll_id}).
    wrong = {
        name: (method, path)
        for name, (method, path, _) in SERVED.items()
        if in_spec.get(name) != (method, _shape(path))
    }
    assert not wrong, f"served operations missing from the spec or at another route: {wrong}"


@schemathesis.check
def wire_contract(ctx, response, case):
    """The SDK suite's contract (specval): documented 2xx status, integer
    timestamps, `duration`; every error an APIError with a matching StatusCode."""
    spec = specval.get_spec()
    raw_path = response.request.path_url.split("?", 1)[0]
    problems = spec.check(case.method.upper(), raw_path, response.status_code, response.content)
    if problems:
        raise AssertionError("\n".join(problems))
    return None


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, wire_contract]


@pytest.fixture(scope="module")
def server():
    srv, stop = start_server()
    yield srv
    stop()


@pytest.fixture(scope="module")
def auth(server):
    token = jwt.encode({}, server.api_secret, algorithm="HS256")
    return {"stream-auth-type": "jwt", "Authorization": token}


@pytest.fixture(scope="module")
def session():
    with requests.Session() as s:
        yield s


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz(case, server, auth, session):
    case.call_and_validate(
        base_url=server.base_url,
        session=session,
        headers=auth,
        params={"api_key": server.api_key},
        checks=CHECKS,
        timeout=30,
    )


def test_server_survived(server):
    """Runs after the fuzzing above (pytest keeps file order)."""
    assert httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200
