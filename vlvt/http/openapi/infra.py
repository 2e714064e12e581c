"""OpenAPI description of the infrastructure routes of `vlvt/urls.py` (health, readiness, CSRF
token, security.txt, the Engine.IO HTTP answer, and the API description itself)."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_TS = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "tags": ["infrastructure"], "responses": responses, **extra}


_CHECK = _obj(["status", "latencyMs"], status={"enum": ["ok", "error"]}, latencyMs={"type": "integer"})
_API_VERSIONS = _obj(
    ["currentVersion", "minimumVersion", "supportedVersions", "deprecatedVersions"],
    currentVersion={"type": "integer"},
    minimumVersion={"type": "integer"},
    supportedVersions={"type": "array", "items": {"type": "integer"}},
    deprecatedVersions={"type": "array", "items": {"type": "integer"}},
)

SCHEMAS: dict[str, Any] = {
    "HttpError": {
        "type": "object",
        "required": ["success", "error"],
        "description": "An error answered by the HTTP conventions before any route (CSRF, body limits, malformed JSON)",
        "properties": {"success": {"const": False}, "error": _STR, "code": _STR},
    },
    "Health": _obj(
        ["status", "service", "timestamp", "checks", "api"],
        status={"enum": ["ok", "degraded"]},
        service={"const": "vlvt"},
        timestamp=_TS,
        checks=_obj(["database", "redis"], database=_CHECK, redis=_CHECK),
        api=_API_VERSIONS,
    ),
    "Readiness": _obj(["status"], status={"enum": ["ready", "draining"]}),
    "EngineIoError": _obj(
        ["code", "message"],
        code={
            "type": "integer",
            "description": "Engine.IO error code (0 unknown transport, 3 bad request, ...)",
        },
        message=_STR,
    ),
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": _op(
            "Liveness and dependencies: PostgreSQL and Redis are checked on every call",
            {
                "200": _json(_ref("Health"), "Both dependencies answer"),
                "503": _json(_ref("Health"), "PostgreSQL or Redis does not answer (status degraded)"),
            },
        ),
    },
    "/ready": {
        "get": _op(
            "Readiness for a load balancer: 503 from the moment the process starts draining",
            {"200": _json(_ref("Readiness"), "Accepting work"), "503": _json(_ref("Readiness"), "Draining")},
        ),
    },
    "/csrf-token": {
        "get": _op(
            "A fresh double-submit CSRF token, in the body and in the `csrf-token` cookie (for requests "
            "without a Bearer token)",
            {
                "200": {
                    **_json(
                        _obj(["success", "csrfToken"], success={"const": True}, csrfToken=_STR), "The token"
                    ),
                    "headers": {
                        "Set-Cookie": {"schema": _STR, "description": "csrf-token=<token>; SameSite=Strict"}
                    },
                }
            },
        ),
    },
    "/.well-known/security.txt": {
        "get": _op(
            "The security contact (RFC 9116)",
            {"200": {"description": "security.txt", "content": {"text/plain": {"schema": _STR}}}},
        ),
    },
    "/socket.io/": {
        "get": _op(
            "The realtime endpoint speaks Engine.IO v4 over WebSocket only (upgrade with `?EIO=4&transport=websocket` "
            "and the token in the Socket.IO `auth.token`); a plain HTTP request, such as a long-polling "
            "handshake, is refused as the official server with `transports: ['websocket']` refuses it",
            {"400": _json(_ref("EngineIoError"), "Not a WebSocket upgrade")},
            parameters=[
                {"name": "EIO", "in": "query", "required": False, "schema": _STR},
                {"name": "transport", "in": "query", "required": False, "schema": _STR},
            ],
        ),
        "post": _op(
            "Long-polling sends are refused the same way (WebSocket only)",
            {"400": _json(_ref("EngineIoError"), "Not a WebSocket upgrade")},
        ),
    },
    "/openapi.json": {
        "get": _op(
            "This description (OpenAPI 3.1)", {"200": _json({"type": "object"}, "The OpenAPI document")}
        ),
    },
    "/docs": {
        "get": _op(
            "This description as a browsable page",
            {"200": {"description": "HTML page", "content": {"text/html": {"schema": _STR}}}},
        ),
    },
}
