"""OpenAPI description of the infrastructure routes of `vlvt/urls.py` (health, readiness, CSRF
token, security.txt, the Engine.IO HTTP answer, and the API description itself)."""

from __future__ import annotations

from typing import Any

from vlvt.http.openapi.declare import STR, TS, json_response, obj, ref


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "tags": ["infrastructure"], "responses": responses, **extra}


_CHECK = obj(["status", "latencyMs"], status={"enum": ["ok", "error"]}, latencyMs={"type": "integer"})
_API_VERSIONS = obj(
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
        "properties": {"success": {"const": False}, "error": STR, "code": STR},
    },
    "Health": obj(
        ["status", "service", "timestamp", "checks", "api"],
        status={"enum": ["ok", "degraded"]},
        service={"const": "vlvt"},
        timestamp=TS,
        checks=obj(["database", "redis"], database=_CHECK, redis=_CHECK),
        api=_API_VERSIONS,
    ),
    "Readiness": obj(["status"], status={"enum": ["ready", "draining"]}),
    "EngineIoError": obj(
        ["code", "message"],
        code={
            "type": "integer",
            "description": "Engine.IO error code (0 unknown transport, 3 bad request, ...)",
        },
        message=STR,
    ),
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": _op(
            "Liveness and dependencies: PostgreSQL and Redis are checked on every call",
            {
                "200": json_response(ref("Health"), "Both dependencies answer"),
                "503": json_response(ref("Health"), "PostgreSQL or Redis does not answer (status degraded)"),
            },
        ),
    },
    "/ready": {
        "get": _op(
            "Readiness for a load balancer: 503 from the moment the process starts draining",
            {
                "200": json_response(ref("Readiness"), "Accepting work"),
                "503": json_response(ref("Readiness"), "Draining"),
            },
        ),
    },
    "/csrf-token": {
        "get": _op(
            "A fresh double-submit CSRF token, in the body and in the `csrf-token` cookie (for requests "
            "without a Bearer token)",
            {
                "200": {
                    **json_response(
                        obj(["success", "csrfToken"], success={"const": True}, csrfToken=STR), "The token"
                    ),
                    "headers": {
                        "Set-Cookie": {"schema": STR, "description": "csrf-token=<token>; SameSite=Strict"}
                    },
                }
            },
        ),
    },
    "/.well-known/security.txt": {
        "get": _op(
            "The security contact (RFC 9116)",
            {"200": {"description": "security.txt", "content": {"text/plain": {"schema": STR}}}},
        ),
    },
    "/socket.io/": {
        "get": _op(
            "The realtime endpoint speaks Engine.IO v4 over WebSocket only (upgrade with `?EIO=4&transport=websocket` "
            "and the token in the Socket.IO `auth.token`); a plain HTTP request, such as a long-polling "
            "handshake, is refused as the official server with `transports: ['websocket']` refuses it",
            {"400": json_response(ref("EngineIoError"), "Not a WebSocket upgrade")},
            parameters=[
                {"name": "EIO", "in": "query", "required": False, "schema": STR},
                {"name": "transport", "in": "query", "required": False, "schema": STR},
            ],
        ),
        "post": _op(
            "Long-polling sends are refused the same way (WebSocket only)",
            {"400": json_response(ref("EngineIoError"), "Not a WebSocket upgrade")},
        ),
    },
    "/openapi.json": {
        "get": _op(
            "This description (OpenAPI 3.1)",
            {"200": json_response({"type": "object"}, "The OpenAPI document")},
        ),
    },
    "/docs": {
        "get": _op(
            "This description as a browsable page",
            {"200": {"description": "HTML page", "content": {"text/html": {"schema": STR}}}},
        ),
    },
}
