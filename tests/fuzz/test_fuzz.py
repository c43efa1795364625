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
import zlib
from pathlib import Path

import httpx
import jwt
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

import specval
from tributary_server import start_server

REPO = Path(__file__).resolve().parent.parent.parent
ROUTES = REPO / "src" / "http" / "mod.rs"
EXAMPLES = int(os.environ.get("TRIBUTARY_FUZZ_EXAMPLES", "5"))
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


# Ids of the resources `seed` made for the operation under test; the path
# parameter hook below draws from them so that requests reach real data
# instead of stopping at a 404.
SEEDED: dict[str, str] = {}


def seed(base_url: str, api_key: str, auth: dict, tag: str) -> dict[str, str]:
    """Creates a small world (two users, their feeds, a poll with a vote, an
    activity with a comment, reactions, a bookmark in a folder, a follow, a pin,
    a membership level) under ids unique to `tag`, and returns the ids by role."""
    alice, bob = f"fz-{tag}-alice", f"fz-{tag}-bob"
    ids = {
        "activity": f"fz-{tag}-activity",
        "comment": f"fz-{tag}-comment",
        "poll": f"fz-{tag}-poll",
        "option": f"fz-{tag}-option",
        "level": f"fz-{tag}-level",
        "group": "user",
        "feed": alice,
        "source": f"timeline:{bob}",
        "target": f"user:{alice}",
        "reaction": "like",
        "visibility": "public",
    }
    with httpx.Client(base_url=base_url, headers=auth, params={"api_key": api_key}, timeout=15) as c:

        def call(method: str, path: str, body: dict) -> dict:
            r = c.request(method, path, json=body)
            assert r.status_code in (200, 201), f"seeding {method} {path}: {r.status_code} {r.text}"
            return r.json()

        call("POST", "/api/v2/users", {"users": {u: {"id": u, "name": u} for u in (alice, bob)}})
        call("POST", f"/api/v2/feeds/feed_groups/user/feeds/{alice}", {"user_id": alice})
        call("POST", f"/api/v2/feeds/feed_groups/timeline/feeds/{bob}", {"user_id": bob})
        call("POST", "/api/v2/feeds/follows", {"source": ids["source"], "target": ids["target"]})
        call("POST", "/api/v2/polls", {"id": ids["poll"], "name": "q", "user_id": alice,
                                       "options": [{"id": ids["option"], "text": "a"}]})
        call("POST", "/api/v2/feeds/activities", {"id": ids["activity"], "type": "post", "text": "hi",
                                                  "feeds": [ids["target"]], "user_id": alice,
                                                  "poll_id": ids["poll"]})
        call("POST", "/api/v2/feeds/comments", {"id": ids["comment"], "object_id": ids["activity"],
                                                "object_type": "activity", "comment": "c", "user_id": bob})
        call("POST", f"/api/v2/feeds/activities/{ids['activity']}/reactions", {"type": "like", "user_id": bob})
        call("POST", f"/api/v2/feeds/comments/{ids['comment']}/reactions", {"type": "like", "user_id": bob})
        vote = call("POST", f"/api/v2/feeds/activities/{ids['activity']}/polls/{ids['poll']}/vote",
                    {"user_id": bob, "vote": {"option_id": ids["option"]}})
        ids["vote"] = vote["vote"]["id"]
        bookmark = call("POST", f"/api/v2/feeds/activities/{ids['activity']}/bookmarks",
                        {"user_id": bob, "new_folder": {"name": f"fz-{tag}"}})
        ids["folder"] = bookmark["bookmark"]["folder"]["id"]
        call("POST", f"/api/v2/feeds/feed_groups/user/feeds/{alice}/activities/{ids['activity']}/pin",
             {"user_id": alice})
        call("POST", "/api/v2/feeds/membership_levels", {"id": ids["level"], "name": f"fz-{tag}"})
    return ids


def _seeded_role(path: str, name: str) -> str | None:
    """Which seeded id fits path parameter `name` of the route `path`."""
    if name == "id":
        for marker, role in (("/comments/", "comment"), ("/activities/", "activity"),
                             ("/bookmark_folders/", "folder"), ("/membership_levels/", "level")):
            if marker in path:
                return role
        return None
    return {
        "activity_id": "activity", "comment_id": "comment", "poll_id": "poll", "option_id": "option",
        "vote_id": "vote", "folder_id": "folder", "feed_group_id": "group", "feed_id": "feed",
        "type": "reaction", "name": "visibility", "source": "source", "target": "target",
    }.get(name)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the generated requests address the seeded resources."""
    if not path_parameters:
        return st.just(path_parameters)
    path = context.operation.path

    def known() -> dict:
        out = dict(path_parameters)
        for name in out:
            role = _seeded_role(path, name)
            if role and role in SEEDED:
                out[name] = SEEDED[role]
        return out

    return st.one_of(st.just(path_parameters), st.builds(known))


@pytest.fixture
def seeded(request, server, auth):
    tag = f"{zlib.crc32(request.node.name.encode()):08x}"
    SEEDED.clear()
    SEEDED.update(seed(server.base_url, server.api_key, auth, tag))
    yield SEEDED


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz(case, server, auth, session, seeded):
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
