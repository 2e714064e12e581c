"""Infrastructure endpoints (docs/contract.md, "Infrastructure routes") and the JSON error handlers.

/health checks PostgreSQL and Redis and advertises the served API versions (docs/contract.md, D5); /ready
is the load balancer's readiness probe, 503 from the moment the process starts draining.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import redis
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import HttpRequest, HttpResponse

from vlvt.http.api import (
    CURRENT_API_VERSION,
    DEPRECATED_API_VERSIONS,
    FILE_TOO_LARGE,
    MINIMUM_API_VERSION,
    SUPPORTED_API_VERSIONS,
    FileTooLarge,
    add_ratelimit_headers,
    endpoint,
    fail,
    iso,
    json_response,
    ok,
)
from vlvt.http.middleware import CSRF_COOKIE, error_text
from vlvt.http.readiness import readiness
from vlvt.redis import short_timeout_redis
from vlvt.server.shutdown import coordinator

logger = logging.getLogger("vlvt.health")

SERVICE_NAME = "vlvt"
API_INFO = {
    "currentVersion": CURRENT_API_VERSION,
    "minimumVersion": MINIMUM_API_VERSION,
    "supportedVersions": list(SUPPORTED_API_VERSIONS),
    "deprecatedVersions": list(DEPRECATED_API_VERSIONS),
}
# A probe must answer quickly even when a dependency hangs.
HEALTH_REDIS_TIMEOUT = 2.0

# RFC 9116, served at /.well-known/security.txt as it is in the file.
SECURITY_TXT = (Path(__file__).parent / "security.txt").read_text()


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _check_database() -> dict[str, object]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure is "error"; the details stay in the log
        logger.error("Health check: database connectivity failed", extra={"error": str(exc)})
        return {"status": "error", "latencyMs": -1}
    return {"status": "ok", "latencyMs": _elapsed_ms(started)}


def _health_redis() -> redis.Redis:
    """A small client of its own with short timeouts and no retries, so a hung Redis makes the
    probe fail in seconds instead of hanging it (the shared client waits much longer)."""
    return short_timeout_redis("health check", timeout=HEALTH_REDIS_TIMEOUT, max_connections=4)


def _check_redis() -> dict[str, object]:
    started = time.perf_counter()
    try:
        _health_redis().ping()
    except Exception as exc:
        logger.error("Health check: redis connectivity failed", extra={"error": str(exc)})
        return {"status": "error", "latencyMs": -1}
    return {"status": "ok", "latencyMs": _elapsed_ms(started)}


@endpoint("GET", auth=False)
def health(request: HttpRequest) -> HttpResponse:
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(check["status"] == "ok" for check in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "service": SERVICE_NAME,
        "timestamp": iso(datetime.now(UTC)),
        "checks": checks,
        "api": API_INFO,
    }
    return json_response(body, status=200 if healthy else 503)


@endpoint("GET", auth=False)
def ready(request: HttpRequest) -> HttpResponse:
    """200 while this process can serve; 503 while it drains, or cannot reach PostgreSQL or Redis
    (vlvt.http.readiness: checked at most once a second, a probe never waits more than half of one)."""
    if not coordinator().accepting:
        return json_response({"status": "draining"}, status=503)
    checks = readiness().current()
    if all(value == "ok" for value in checks.values()):
        return json_response({"status": "ready"})
    return json_response({"status": "unavailable", "checks": checks}, status=503)


@endpoint("GET", auth=False)
def csrf_token(request: HttpRequest) -> HttpResponse:
    """A fresh double-submit token: 32 random bytes, base64url, in the body and a JS-readable cookie."""
    token = secrets.token_urlsafe(32)
    response = ok(csrfToken=token)
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=3600,
        path="/",
        secure=settings.VLVT_ENV == "production",
        httponly=False,
        samesite="Strict",
    )
    return response


@endpoint("GET", auth=False)
def security_txt(request: HttpRequest) -> HttpResponse:
    return HttpResponse(SECURITY_TXT, content_type="text/plain; charset=utf-8")


# --- error handlers (urls.handler400/403/404/500): JSON, never an HTML page ----------------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, FileTooLarge):
        return fail(413, FILE_TOO_LARGE)
    if isinstance(exception, RequestDataTooBig):
        return fail(413, error_text(413))
    return fail(400, error_text(400))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return fail(403, error_text(403))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return fail(404, error_text(404))


def server_error(request: HttpRequest) -> HttpResponse:
    # Django has already logged the exception (django.request, with traceback and correlation id).
    response = fail(500, error_text(500))
    add_ratelimit_headers(request, response)
    return response
