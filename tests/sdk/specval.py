"""Validate every HTTP response the suite receives against the OpenAPI spec.

The spec is read at test time from the shared reference folder (it is never
copied into the repository).  ``ValidatingTransport`` wraps httpx's transport;
every response it sees is checked and violations are appended to
``VIOLATIONS``, which ``conftest.py`` turns into a failure of the test that
triggered them.

Spec quirks handled here:
  * ``format: date-time`` fields are typed ``number`` in the spec but must be
    JSON integers (nanoseconds) on the wire -> validated as ``integer``.
    Optional (non-required) date-time fields may also be ``null``
    (wire.md 3.1: "omit or null when unset").
  * ``nullable: true`` (OpenAPI 3.0) -> ``null`` is allowed there, including
    through a ``$ref`` to a nullable schema.
  * ``$ref`` siblings (description, x-stream-*) are ignored, as in OAS 3.0.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote

import httpx
import jsonschema
from jsonschema import validators

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# Violations recorded since the current test started (see conftest.py).
VIOLATIONS: List[str] = []
# Number of responses validated in this session (reported at the end).
CHECKED = {"count": 0}

_KEEP = ("type", "required", "enum")


def spec_path() -> Optional[Path]:
    candidates = []
    if os.environ.get("TRIBUTARY_SPEC"):
        candidates.append(Path(os.environ["TRIBUTARY_SPEC"]))
    candidates += [
        REPO.parent / "shared" / "spec" / "feeds-serverside-api.json",
        Path("/work/shared/spec/feeds-serverside-api.json"),
    ]
    for c in candidates:
        if c.is_file():
            return c
    return None


def _convert(node: Any, *, optional_ts: bool = False) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema (2020-12) object."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        ref = {"$ref": f"#/$defs/{name}"}
        if optional_ts:
            return {"anyOf": [ref, {"type": "null"}]}
        return ref
    out: Dict[str, Any] = {}
    for k in _KEEP:
        if k in node:
            out[k] = node[k]
    if node.get("format") == "date-time":
        out["type"] = "integer"
    if "properties" in node:
        req = set(node.get("required", []))
        out["properties"] = {
            name: _convert(
                sub,
                optional_ts=(
                    name not in req
                    and isinstance(sub, dict)
                    and sub.get("format") == "date-time"
                ),
            )
            for name, sub in node["properties"].items()
        }
    if "items" in node:
        out["items"] = _convert(node["items"])
    ap = node.get("additionalProperties")
    if isinstance(ap, dict):
        out["additionalProperties"] = _convert(ap)
    elif isinstance(ap, bool):
        out["additionalProperties"] = ap
    for comb in ("oneOf", "anyOf", "allOf"):
        if comb in node:
            out[comb] = [_convert(s) for s in node[comb]]
    if node.get("nullable") or optional_ts:
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]
    return out


def _is_strict_int(_checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", _is_strict_int
    ),
)


class Spec:
    def __init__(self, raw: dict):
        self.defs = {
            name: _convert(s) for name, s in raw["components"]["schemas"].items()
        }
        self._validators: Dict[str, Any] = {}
        # (method, [segments], operation)
        self.routes: List[Tuple[str, List[str], dict]] = []
        for path, item in raw["paths"].items():
            segs = path.strip("/").split("/")
            for method, op in item.items():
                if method.lower() in ("get", "post", "put", "patch", "delete"):
                    self.routes.append((method.upper(), segs, op))

    @classmethod
    def load(cls) -> Optional["Spec"]:
        p = spec_path()
        if p is None:
            return None
        with open(p) as f:
            return cls(json.load(f))

    def validator(self, name: str):
        v = self._validators.get(name)
        if v is None:
            v = _Validator({"$defs": self.defs, "$ref": f"#/$defs/{name}"})
            self._validators[name] = v
        return v

    def match(self, method: str, raw_path: str):
        """Return (operation or None, path_exists, template)."""
        segs = [unquote(s) for s in raw_path.strip("/").split("/")]
        best = None
        best_score = -1
        path_exists = False
        for m, tsegs, op in self.routes:
            if len(tsegs) != len(segs):
                continue
            score = 0
            ok = True
            for t, s in zip(tsegs, segs):
                if t.startswith("{") and t.endswith("}"):
                    if s == "":
                        ok = False
                        break
                elif t == s:
                    score += 1
                else:
                    ok = False
                    break
            if not ok:
                continue
            path_exists = True
            if m == method and score > best_score:
                best, best_score = (op, "/" + "/".join(tsegs)), score
        if best is None:
            return None, path_exists, None
        return best[0], True, best[1]

    def check(self, method: str, raw_path: str, status: int, body: bytes) -> List[str]:
        op, _, template = self.match(method, raw_path)
        where = f"{method} {raw_path} -> {status}"
        if op is None and status < 400:
            return []  # e.g. /health: not part of the API contract
        errs: List[str] = []
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return [f"{where}: body is not JSON: {body[:200]!r}"]
        if data is None:
            return [f"{where}: empty body (spec requires a JSON object)"]
        if status >= 400:
            schema_name = "APIError"
            if isinstance(data, dict) and data.get("StatusCode") != status:
                errs.append(
                    f"{where}: APIError.StatusCode={data.get('StatusCode')!r} "
                    f"does not equal the HTTP status"
                )
        else:
            declared = sorted(c for c in op["responses"] if c.startswith("2"))
            if str(status) not in op["responses"]:
                errs.append(
                    f"{where}: spec ({op['operationId']}) declares success status "
                    f"{'/'.join(declared)}, server sent {status}"
                )
                code = declared[0] if declared else None
            else:
                code = str(status)
            if code is None:
                return errs
            content = op["responses"][code].get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            ref = schema.get("$ref")
            if not ref:
                return errs
            schema_name = ref.rsplit("/", 1)[-1]
            if not isinstance(data, dict) or not isinstance(data.get("duration"), str):
                errs.append(f"{where}: success body lacks string `duration`")
        v = self.validator(schema_name)
        found = sorted(v.iter_errors(data), key=lambda e: list(e.absolute_path))
        for e in found[:8]:
            loc = "/".join(str(p) for p in e.absolute_path) or "<root>"
            msg = e.message
            if len(msg) > 240:
                msg = msg[:240] + "..."
            errs.append(f"{where}: [{schema_name}] at {loc}: {msg}")
        if len(found) > 8:
            errs.append(f"{where}: ... {len(found) - 8} more schema errors")
        return errs


_SPEC: Optional[Spec] = None
_SPEC_LOADED = False


def get_spec() -> Optional[Spec]:
    global _SPEC, _SPEC_LOADED
    if not _SPEC_LOADED:
        _SPEC_LOADED = True
        _SPEC = Spec.load()
        if _SPEC is None:
            print(
                "\n[tributary sdk tests] NOTICE: feeds-serverside-api.json not found "
                "(set TRIBUTARY_SPEC); response spec validation is skipped.\n"
            )
    return _SPEC


class ValidatingTransport(httpx.BaseTransport):
    """httpx transport that validates each response against the spec."""

    def __init__(self):
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        spec = get_spec()
        if spec is not None:
            response.read()
            CHECKED["count"] += 1
            raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
            VIOLATIONS.extend(
                spec.check(request.method, raw_path, response.status_code, response.content)
            )
        return response

    def close(self) -> None:
        self._inner.close()


