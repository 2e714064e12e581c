"""The project's OpenAPI 3.1 description, served at `/openapi.json` and browsable at `/docs`.

Each app describes its own routes (`PATHS` and `SCHEMAS` in `profiles/openapi.py`,
`chat/openapi.py`, `profiles/after_hours/openapi.py`, `chat/after_hours/openapi.py`); this package
merges them with the infrastructure routes (`vlvt/http/openapi/infra.py`) into one document.
`tests/ops/test_openapi.py` checks it against the URL resolver (every route documented, nothing
documented that is not routed) and `tests/ops/test_openapi_fuzz.py` fuzzes every operation with
schemathesis against a real server.

Each app's routes are declared on their views (vlvt/http/openapi/declare.py, which holds the one
set of schema helpers and the one `Failure` schema); a schema name means one schema across apps.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import import_module
from typing import Any

from django.conf import settings

from vlvt.http.middleware import CSRF_EXEMPT_PREFIXES
from vlvt.http.openapi.declare import REF_PREFIX

__all__ = ["REF_PREFIX", "document", "document_json", "merge", "sources"]
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


def sources() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each description's (paths, schemas): the modules settings.OPENAPI_DESCRIPTIONS names, in order
    (named by the settings, as middleware and apps are, so this layer imports no app)."""
    modules = [import_module(name) for name in settings.OPENAPI_DESCRIPTIONS]
    return [(module.PATHS, module.SCHEMAS) for module in modules]


def merge(all_sources: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """One document; a schema name means one schema (the shared ones, such as `Failure`, are the
    same object in every app), and a path is described once."""
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for source_paths, source_schemas in all_sources:
        for name, schema in source_schemas.items():
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"two different schemas are named {name}")
            schemas[name] = schema
        for path, operations in source_paths.items():
            if path in paths:
                raise ValueError(f"{path} is described twice")
            paths[path] = _fresh(operations)
    _add_conventions(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "VLVT API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/", "description": "Each path also answers under /api/v1"}],
        "tags": [{"name": tag} for tag in _tags(paths)],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": _fresh(dict(sorted(schemas.items()))),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _fresh(value: Any) -> Any:
    """A copy sharing no part with `value` or with itself (the declarations reuse schema objects,
    and the conventions below edit the copy in place)."""
    return json.loads(json.dumps(value))


_HTTP_ERROR = {"$ref": REF_PREFIX + "HttpError"}


def _add_conventions(paths: dict[str, Any]) -> None:
    """The answers `vlvt/http/middleware.py` gives before any route runs, on every operation they can
    reach: added where the app's description lacks the status, or allowed next to the app's own
    answer of that status (a 403 is the route's or the CSRF check's)."""
    for path, operations in paths.items():
        shadowed = any(_may_match_same_url(path, other) for other in paths if other != path)
        for method, op in operations.items():
            if shadowed:
                _allow(
                    op["responses"],
                    "405",
                    "The URL is another route's as well (/profile/photos/upload for /profile/photos/{photoId}, "
                    "say), and that route has no such method",
                )
            if method in MUTATING and not path.startswith(CSRF_EXEMPT_PREFIXES):
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


def _may_match_same_url(path: str, other: str) -> bool:
    """Whether a URL meant for `path` can be taken by `other`'s route: it fits both templates and
    `other` has a fixed segment where `path` has a placeholder (`/profile/photos/location` fits
    `/profile/{userId}/location` and `/profile/photos/{photoId}`). Such a URL goes to the route listed
    first, which answers 405 for a method only the other one has."""
    segments, others = path.split("/"), other.split("/")
    if len(segments) != len(others):
        return False
    pairs = list(zip(segments, others, strict=True))
    fits = all(a == b or a.startswith("{") or b.startswith("{") for a, b in pairs)
    return fits and any(a.startswith("{") and not b.startswith("{") for a, b in pairs)


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
