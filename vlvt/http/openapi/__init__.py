"""The project's OpenAPI 3.1 description, served at `/openapi.json` and browsable at `/docs`.

Each app describes its own routes next to them (`PATHS` and `SCHEMAS` in `profiles/openapi.py`,
`chat/openapi.py`, `profiles/after_hours/openapi.py`, `chat/after_hours/openapi.py`); this package
merges them with the infrastructure routes (`vlvt/http/openapi/infra.py`) into one document.
`tests/ops/test_openapi.py` checks it against the URL resolver (every route documented, nothing
documented that is not routed) and `tests/ops/test_openapi_fuzz.py` fuzzes every operation with
schemathesis against a real server.

Component names of different apps may clash (both apps have a `Failure`); a clashing schema that
differs is renamed `<app>.<Name>` and the references of that app follow it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

REF_PREFIX = "#/components/schemas/"
MUTATING = frozenset({"post", "put", "patch", "delete"})

DESCRIPTION = """\
The VLVT backend: the profile and chat services of the VLVT dating app in one API.

* **Versions.** Every route answers at `/x` and at `/api/v1/x` (the response then carries
  `X-API-Version: 1`); an unsupported `/api/vN/...` is a 400. The After Hours routes also answer
  under `/api/after-hours/...` and `/api/v1/after-hours/...`.
* **Authentication.** `Authorization: Bearer <JWT>` (HS256, the user id in the `userId` claim),
  issued by auth-service. 401 bodies: `Access token required`, `Invalid token`, `Token expired`.
* **CSRF.** A mutating request without a Bearer token needs the double-submit token: the
  `csrf-token` cookie and the same value in `X-CSRF-Token` (from `GET /csrf-token`).
* **Errors.** Always JSON: `{success: false, error}` (some with `code`), or
  `{success: false, errors: [{field, message}]}` for invalid input. Malformed JSON 400, a body
  over its limit 413, unknown path 404, wrong method 405, rate limit 429 (with `RateLimit-*` and
  `Retry-After` headers).
* **Realtime.** `/socket.io/` is a Socket.IO v5 endpoint over WebSocket (Engine.IO v4); its events
  are described in the repository's docs/contract.md, not here.
"""


@dataclass
class Source:
    """One app's description: its paths, its schemas, and the source whose schemas it also uses."""

    tag: str
    paths: dict[str, Any]
    schemas: dict[str, Any]
    parent: Source | None = None
    names: dict[str, str] = field(default_factory=dict)  # local schema name -> name in the document

    def resolve(self, name: str) -> str:
        if name in self.names:
            return self.names[name]
        if self.parent is not None:
            return self.parent.resolve(name)
        raise KeyError(f"{self.tag}: unknown schema {name!r}")


def sources() -> list[Source]:
    from chat import openapi as chat
    from chat.after_hours import openapi as after_hours_chat
    from profiles import openapi as profiles
    from profiles.after_hours import openapi as after_hours
    from vlvt.http.openapi import infra

    chat_source = Source("chat", chat.PATHS, chat.SCHEMAS)
    return [
        Source("infrastructure", infra.PATHS, infra.SCHEMAS),
        Source("profiles", profiles.PATHS, profiles.SCHEMAS),
        chat_source,
        Source("after_hours", after_hours.PATHS, after_hours.SCHEMAS),
        # The After Hours chat description is written with chat's helpers: its `Failure` is chat's.
        Source("after_hours_chat", after_hours_chat.PATHS, after_hours_chat.SCHEMAS, parent=chat_source),
    ]


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _rewrite(value: Any, source: Source) -> Any:
    """A deep copy of `value` whose schema references point at the document's names."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            return {**value, "$ref": REF_PREFIX + source.resolve(ref[len(REF_PREFIX) :])}
        return {key: _rewrite(inner, source) for key, inner in value.items()}
    if isinstance(value, list):
        return [_rewrite(inner, source) for inner in value]
    return copy.copy(value)


def merge(all_sources: list[Source]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for source in all_sources:
        for name, schema in source.schemas.items():
            if name not in schemas or _same(schemas[name], schema):
                source.names[name] = name
            else:
                source.names[name] = f"{source.tag}.{name}"
            schemas[source.names[name]] = schema
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for source in all_sources:
        for name, schema in source.schemas.items():
            components[source.names[name]] = _rewrite(schema, source)
        for path, operations in source.paths.items():
            if path in paths:
                raise ValueError(f"{path} is described twice ({source.tag})")
            paths[path] = _rewrite(operations, source)
    _add_conventions(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "VLVT API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/", "description": "Each path also answers under /api/v1"}],
        "tags": [{"name": tag} for tag in _tags(paths)],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


_HTTP_ERROR = {"$ref": REF_PREFIX + "HttpError"}


def _add_conventions(paths: dict[str, Any]) -> None:
    """The answers `vlvt/http/middleware.py` gives before any route runs, on every operation they can
    reach: added where the app's description lacks the status, or allowed next to the app's own
    answer of that status (a 403 is the route's or the CSRF check's)."""
    from vlvt.http.middleware import _CSRF_EXEMPT_PREFIXES

    for path, operations in paths.items():
        for method, op in operations.items():
            if method in MUTATING and not path.startswith(_CSRF_EXEMPT_PREFIXES):
                _allow(
                    op["responses"],
                    "403",
                    "CSRF double-submit check failed (a request without a Bearer token)",
                )
            if "requestBody" in op:
                _allow(op["responses"], "400", "Malformed JSON")
                _allow(op["responses"], "413", "Body over its limit (10 KB JSON, 10 MB upload)")
                if "multipart/form-data" in op["requestBody"].get("content", {}):
                    # Every multipart route decodes an image (profiles.images bounds decodes per process).
                    _allow(
                        op["responses"], "503", "Every image decode slot stayed busy; retry after Retry-After"
                    )


def _allow(responses: dict[str, Any], status: str, description: str) -> None:
    response = responses.get(status)
    if response is None:
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": _HTTP_ERROR}},
        }
        return
    media = response.setdefault("content", {}).setdefault("application/json", {})
    schema = media.get("schema")
    if schema is not None and schema != _HTTP_ERROR:
        media["schema"] = {"anyOf": [schema, _HTTP_ERROR]}
    response["description"] = f"{response.get('description', '')}; or: {description}".lstrip("; ")


def _tags(paths: dict[str, Any]) -> list[str]:
    found = {tag for operations in paths.values() for op in operations.values() for tag in op.get("tags", [])}
    return sorted(found)


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The whole description, built once per process."""
    return merge(sources())


@lru_cache(maxsize=1)
def document_json() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()
