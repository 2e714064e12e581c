"""HTTP conventions shared by both apps (docs/contract.md, "Conventions").

Three middleware, in settings order, stand in for the original's Express chain:

RequestContextMiddleware    helmet, cors, the body parsers, correlation id and request logger:
                            security and CORS headers on every response (any OPTIONS is answered
                            204 here), the correlation id (response header, contextvar for logs),
                            "Request started"/"Request completed", body limits (413) and malformed
                            JSON (400) before CSRF or auth run, the Host check, and no HTML error
                            page ever leaving the process.
CsrfDoubleSubmitMiddleware  the double-submit cookie check, before routing (so a mutating request
                            without a Bearer token gets the CSRF 403 before any 401).
ApiVersionMiddleware        /api/vN/x -> /x with X-API-Version, 400 for unsupported versions.

Each one is sync only (the server's handler runs the whole chain on the request's thread), does
no I/O, and takes what can be computed once from `_Config` (rebuilt when a test overrides a setting).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.files.uploadhandler import FileUploadHandler
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from vlvt.http.api import (
    BODY_TOO_LARGE,
    CURRENT_API_VERSION,
    FILE_TOO_LARGE,
    SUPPORTED_API_VERSIONS,
    ApiError,
    FileTooLarge,
    fail,
    is_json_content_type,
    parse_json,
    read_body,
)
from vlvt.http.request import api_request
from vlvt.logs import correlation_id
from vlvt.server import upstream

GetResponse = Callable[[HttpRequest], Any]
HeaderEntries = tuple[tuple[str, tuple[str, str]], ...]

request_log = logging.getLogger("vlvt.request")
security_log = logging.getLogger("vlvt.security")

# --- response headers, computed once -------------------------------------------------------------


def _entries(*pairs: tuple[str, str]) -> HeaderEntries:
    """(name, value) pairs in the shape Django's header store keeps them: lower name -> pair."""
    return tuple((name.lower(), (name, value)) for name, value in pairs)


# helmet 8 as both services configured it: its defaults, their CSP directives merged into helmet's
# default policy (connect-src as chat-service, which also serves the WebSocket), HSTS with preload,
# frameguard deny, Referrer-Policy strict-origin-when-cross-origin.
SECURITY_HEADERS = _entries(
    (
        "Content-Security-Policy",
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
        "frame-ancestors 'self';img-src 'self' data: https:;object-src 'none';script-src 'self';"
        "script-src-attr 'none';style-src 'self' 'unsafe-inline';upgrade-insecure-requests;"
        "connect-src 'self' wss: https:",
    ),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Origin-Agent-Cluster", "?1"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-DNS-Prefetch-Control", "off"),
    ("X-Download-Options", "noopen"),
    ("X-Frame-Options", "DENY"),
    ("X-Permitted-Cross-Domain-Policies", "none"),
    ("X-XSS-Protection", "0"),
)
CORS_METHODS = "GET,POST,PUT,PATCH,DELETE,OPTIONS"  # PATCH added (docs/contract.md, D4)
CORS_HEADERS = "Content-Type,Authorization,X-Admin-API-Key,X-CSRF-Token,Idempotency-Key"
_CORS_CREDENTIALS = _entries(("Access-Control-Allow-Credentials", "true"))
_CORS_PREFLIGHT = _entries(
    ("Access-Control-Allow-Methods", CORS_METHODS), ("Access-Control-Allow-Headers", CORS_HEADERS)
)
_LEGACY_HEADERS = _entries(("X-API-Version", "v1"), ("X-API-Legacy-Route", "true"))
_VERSION_HEADERS = {v: _entries(("X-API-Version", f"v{v}")) for v in SUPPORTED_API_VERSIONS}


if upstream.header_store(HttpResponse()) is not None:

    def add_headers(response: HttpResponseBase, entries: HeaderEntries) -> None:
        """Set each header unless the view already did; the values are known-good constants, so
        they go straight into Django's header store (one dict write each, no re-validation)."""
        store = upstream.header_store(response)
        assert store is not None
        for key, pair in entries:
            if key not in store:
                store[key] = pair

else:  # pragma: no cover - a Django whose header store changed shape

    def add_headers(response: HttpResponseBase, entries: HeaderEntries) -> None:
        for _, (name, value) in entries:
            response.headers.setdefault(name, value)


# --- settings-derived configuration ----------------------------------------------------------------

_WATCHED = {
    "CORS_ORIGINS",
    "ALLOWED_HOSTS",
    "DEBUG",
    "JSON_BODY_LIMIT",
    "PHOTO_UPLOAD_LIMIT",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
}
_PROBE_PATHS = frozenset({"/health", "/ready"})
# A multipart body carries one photo of at most PHOTO_UPLOAD_LIMIT plus its envelope and a few
# small fields; anything past this is refused before it is parsed.
MULTIPART_ENVELOPE = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Config:
    origins: frozenset[str]
    any_origin: bool
    check_host: bool
    json_limit: int
    file_limit: int
    multipart_limit: int
    debug: bool


def _build_config() -> _Config:
    origins = frozenset(settings.CORS_ORIGINS)
    return _Config(
        origins=origins,
        any_origin="*" in origins,
        check_host="*" not in settings.ALLOWED_HOSTS,
        json_limit=settings.JSON_BODY_LIMIT,
        file_limit=settings.PHOTO_UPLOAD_LIMIT,
        multipart_limit=settings.PHOTO_UPLOAD_LIMIT + MULTIPART_ENVELOPE,
        debug=settings.DEBUG,
    )


_config: _Config | None = None


def config() -> _Config:
    global _config
    if _config is None:
        _config = _build_config()
    return _config


def _settings_changed(*, setting: str, **_: Any) -> None:
    global _config
    if setting in _WATCHED:
        _config = None


setting_changed.connect(_settings_changed, dispatch_uid="vlvt.http.middleware.config")


# --- shared middleware shape ---------------------------------------------------------------------


class _Middleware:
    """Sync only: the server's handler (vlvt.server.handlers) builds the middleware chain for sync
    use and runs it on the request's thread, so an async path would never run in production."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        raise NotImplementedError


# --- request context: correlation id, logging, headers, CORS, body limits -----------------------


def new_correlation_id() -> str:
    return f"err-{int(time.time())}-{os.urandom(4).hex()}"


def _incoming_correlation_id(request: HttpRequest) -> str:
    value = request.META.get("HTTP_X_CORRELATION_ID")
    # Reused as the original does, but only when it is safe to echo and to log.
    if value and len(value) <= 200 and value.isascii() and value.isprintable():
        return value
    return new_correlation_id()


class _FileSizeLimit(FileUploadHandler):
    """First upload handler of every multipart request: a file past the limit stops the upload
    (-> 413) while it streams in, as multer's `fileSize` limit did, before anything is stored."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            raise FileTooLarge(f"uploaded file exceeds {self.limit} bytes")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _preflight() -> HttpResponse:
    response = HttpResponse(status=204)
    del response["Content-Type"]
    add_headers(response, _CORS_PREFLIGHT)
    return response


def body_limit(content_type: str | None) -> tuple[int, str]:
    """The most body bytes a request may carry and the 413's error text, by its content type
    (lower-case, without parameters): a multipart upload one photo and its envelope, anything else
    the JSON limit. The server refuses past it before reading (vlvt/server/shutdown/daphne.py)."""
    cfg = config()
    if content_type == "multipart/form-data":
        return cfg.multipart_limit, FILE_TOO_LARGE
    return cfg.json_limit, BODY_TOO_LARGE


def _check_body(request: HttpRequest, cfg: _Config) -> HttpResponse | None:
    """The Express body parsers' limits and errors, as JSON: 413 before reading an oversized body
    (by Content-Length), 400 for malformed JSON; a parsed JSON body is kept for `json_body`."""
    content_type = request.content_type
    multipart = content_type == "multipart/form-data"
    length = request.META.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            size = -1
        if size < 0:
            return fail(400, "Invalid Content-Length header")
        limit, error = body_limit(content_type)
        if size > limit:
            return fail(413, error)
    if multipart:
        handlers = request.upload_handlers
        assert isinstance(handlers, list)  # frozen only once the body is read
        handlers.insert(0, _FileSizeLimit(request, cfg.file_limit))
    elif content_type and is_json_content_type(content_type):
        try:
            raw = read_body(request)
            if raw.strip():
                api_request(request)._vlvt_json = parse_json(raw)
        except ApiError as exc:
            return exc.response()
    return None


_ERROR_TEXT = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: BODY_TOO_LARGE,
    500: "Internal server error",
}


def error_text(status: int) -> str:
    if status in _ERROR_TEXT:
        return _ERROR_TEXT[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_instead_of_html(response: HttpResponseBase) -> HttpResponseBase:
    """Last line of defence: an HTML error page built by Django or a contrib view (a 405 from
    `require_http_methods`, a CSRF failure page, ...) leaves as the JSON error of its status."""
    replacement = fail(response.status_code, error_text(response.status_code))
    for name, value in response.headers.items():
        if name.lower() not in {"content-type", "content-length"}:
            replacement.headers[name] = value
    replacement.cookies = response.cookies
    return replacement


class RequestContextMiddleware(_Middleware):
    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        cid = _incoming_correlation_id(request)
        token = correlation_id.set(cid)
        try:
            cfg = config()
            response = self._before(request, cfg, cid)
            if response is None:
                response = self.get_response(request)
            return self._after(request, response, cfg, cid, started)
        finally:
            correlation_id.reset(token)

    @staticmethod
    def _before(request: HttpRequest, cfg: _Config, cid: str) -> HttpResponse | None:
        api_request(request).correlation_id = cid
        _log_request("Request started", request, cid, userAgent=request.META.get("HTTP_USER_AGENT"))
        if request.method == "OPTIONS":
            return _preflight()  # cors answers every OPTIONS itself, before anything else
        # Probes (Kubernetes sends the pod's address as Host) answer whatever the Host.
        if cfg.check_host and request.path not in _PROBE_PATHS:
            try:
                request.get_host()
            except DisallowedHost:
                security_log.warning(
                    "Request with a disallowed Host header refused", extra={"path": request.path}
                )
                return fail(400, "Invalid Host header")
        return _check_body(request, cfg)

    @staticmethod
    def _after(
        request: HttpRequest, response: HttpResponseBase, cfg: _Config, cid: str, started: float
    ) -> HttpResponseBase:
        if response.status_code >= 400 and not cfg.debug and not response.streaming:
            content_type = response.headers.get("Content-Type", "")
            if content_type.startswith("text/html"):
                response = _json_instead_of_html(response)
        response.headers["X-Correlation-ID"] = cid
        add_headers(response, SECURITY_HEADERS)
        _add_cors(request, response, cfg)
        _log_request(
            "Request completed",
            request,
            cid,
            status=response.status_code,
            durationMs=round((time.perf_counter() - started) * 1000, 1),
        )
        return response


def _log_request(message: str, request: HttpRequest, cid: str, **fields: object) -> None:
    if request_log.isEnabledFor(logging.INFO):
        request_log.info(
            message, extra={"method": request.method, "path": request.path, **fields, "correlationId": cid}
        )


def _add_cors(request: HttpRequest, response: HttpResponseBase, cfg: _Config) -> None:
    """The `cors` package with a list of origins and credentials: the request's Origin echoed
    when it is allowed, `Vary: Origin` always (the answer depends on it)."""
    headers = response.headers
    if cfg.any_origin:
        headers["Access-Control-Allow-Origin"] = "*"
    else:
        origin = request.META.get("HTTP_ORIGIN")
        if origin and origin in cfg.origins:
            headers["Access-Control-Allow-Origin"] = origin
        vary = headers.get("Vary")
        if not vary:
            headers["Vary"] = "Origin"
        elif "origin" not in vary.lower():
            headers["Vary"] = f"{vary}, Origin"
    add_headers(response, _CORS_CREDENTIALS)


# --- CSRF double submit -------------------------------------------------------------------------

CSRF_COOKIE = "csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths with their own protection: webhooks (signatures), the HMAC-authenticated service routes,
# the Django admin (Django's own CSRF protection on every admin view).
CSRF_EXEMPT_PREFIXES = ("/webhooks/", "/api/internal/", "/admin/")
_VERSIONED = re.compile(r"/api/v([0-9]+)(/.*)?", re.DOTALL)


def _unversioned(path: str) -> str:
    if path.startswith("/api/v"):
        match = _VERSIONED.fullmatch(path)
        if match is not None:
            return match.group(2) or "/"
    return path


def _csrf_failure(request: HttpRequest, error: str, code: str, reason: str) -> HttpResponse:
    security_log.warning(
        f"CSRF validation failed: {reason}", extra={"path": request.path, "method": request.method}
    )
    return fail(403, error, code=code)


def csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """None when the request may pass; the original's 403 otherwise."""
    if request.method in _SAFE_METHODS:
        return None
    meta = request.META
    authorization = meta.get("HTTP_AUTHORIZATION")
    if authorization and authorization.startswith("Bearer "):
        return None  # token-authenticated clients send no ambient credentials
    path = _unversioned(request.path_info)
    if path == "/health" or path.startswith(CSRF_EXEMPT_PREFIXES):
        return None
    cookie = request.COOKIES.get(CSRF_COOKIE)
    if not cookie:
        return _csrf_failure(request, "CSRF token missing", "CSRF_TOKEN_MISSING", "missing cookie token")
    header = meta.get("HTTP_X_CSRF_TOKEN")
    if not header:
        return _csrf_failure(
            request, "CSRF token missing from header", "CSRF_HEADER_MISSING", "missing header token"
        )
    if not hmac.compare_digest(
        cookie.encode("utf-8", "surrogatepass"), header.encode("utf-8", "surrogatepass")
    ):
        return _csrf_failure(request, "CSRF token invalid", "CSRF_TOKEN_INVALID", "token mismatch")
    return None


class CsrfDoubleSubmitMiddleware(_Middleware):
    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        rejected = csrf_rejection(request)
        if rejected is not None:
            return rejected
        return self.get_response(request)


# --- API versioning -----------------------------------------------------------------------------


def _route_version(request: HttpRequest) -> HeaderEntries | HttpResponse:
    """Strip a supported /api/vN prefix from `path_info`; the headers the response gets, or the
    400 for an unsupported version."""
    path = request.path_info
    if path.startswith("/api/v"):
        match = _VERSIONED.fullmatch(path)
        if match is not None:
            digits = match.group(1)
            version = int(digits) if len(digits) < 10 else -1
            headers = _VERSION_HEADERS.get(version)
            if headers is None:
                return fail(
                    400,
                    f"API version v{digits.lstrip('0') or '0'} is not supported",
                    supportedVersions=list(SUPPORTED_API_VERSIONS),
                    currentVersion=CURRENT_API_VERSION,
                )
            request.path_info = match.group(2) or "/"
            api_request(request).api_version = version
            return headers
    api_request(request).api_version = CURRENT_API_VERSION
    return _LEGACY_HEADERS


class ApiVersionMiddleware(_Middleware):
    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        routed = _route_version(request)
        if isinstance(routed, HttpResponse):
            return routed
        response = self.get_response(request)
        add_headers(response, routed)
        return response


__all__ = [
    "ApiVersionMiddleware",
    "CsrfDoubleSubmitMiddleware",
    "RequestContextMiddleware",
    "add_headers",
    "csrf_rejection",
    "new_correlation_id",
]


# --- Django's session/auth/messages stack, for the admin only -----------------------------------


class AdminOnlyStackMiddleware(_Middleware):
    """Session, authentication and messages middleware for `/admin/` requests only.

    The API authenticates with bearer tokens and never uses sessions; under ASGI each of those
    three (sync-only) middlewares costs two thread hops per request, the largest share of an API
    request's overhead. The admin still gets the full stack.
    """

    def __init__(self, get_response: GetResponse) -> None:
        super().__init__(get_response)
        # Imported here: these modules need the app registry, ready once Django builds the chain.
        from django.contrib.auth.middleware import AuthenticationMiddleware
        from django.contrib.messages.middleware import MessageMiddleware
        from django.contrib.sessions.middleware import SessionMiddleware

        # Django's own middleware chain each other so; the stubs' get_response is either sync or async.
        self.admin_chain = SessionMiddleware(AuthenticationMiddleware(MessageMiddleware(get_response)))  # type: ignore[arg-type]  # see above

    def __call__(self, request: HttpRequest) -> Any:
        if request.path_info.startswith("/admin/"):
            return self.admin_chain(request)
        return self.get_response(request)
