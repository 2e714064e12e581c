"""The HTTP conventions every view uses: flat JSON bodies, errors, auth, rate limits, methods.

A view is a plain function `view(request, **url_kwargs) -> HttpResponse`; `endpoint()` wraps it
with the method check (405 JSON), JWT auth (`request.user_id`), the route's rate limiters (run after
auth, as the original) and turns `ApiError` into its JSON response.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException

from vlvt.auth import AuthFailure, authenticate_header

if TYPE_CHECKING:
    from vlvt.ratelimit import Limiter

View = Callable[..., HttpResponse]


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with milliseconds and Z, as node serialises a Date."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Decimal):
        return str(value)  # node-pg returns NUMERIC as a string
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(body: Any) -> bytes:
    return json.dumps(body, default=_default, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(dumps(body), status=status, content_type="application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def ok(status: int = 200, **body: Any) -> HttpResponse:
    return json_response({"success": True, **body}, status=status)


def fail(status: int, error: str, **extra: Any) -> HttpResponse:
    return json_response({"success": False, "error": error, **extra}, status=status)


def validation_failed(errors: Iterable[tuple[str, str]]) -> HttpResponse:
    return json_response(
        {"success": False, "errors": [{"field": f, "message": m} for f, m in errors]}, status=400
    )


class ApiError(Exception):
    """Raise anywhere under a view to answer with `{success:false, error, **extra}`."""

    def __init__(self, status: int, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.extra = extra

    def response(self) -> HttpResponse:
        return fail(self.status, self.error, **self.extra)


class ValidationFailed(Exception):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object body; {} when there is none. Bad JSON is a 400, never a 500."""
    cached = getattr(request, "_vlvt_json", None)
    if cached is not None:
        return cached
    try:
        raw = request.body
    except RawPostDataException:
        raw = b""
    body: Any = {}
    content_type = request.content_type or ""
    if raw and content_type in {"application/json", ""} or content_type.endswith("+json"):
        try:
            body = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Malformed JSON in request body") from None
    elif content_type == "application/x-www-form-urlencoded":
        body = {k: v for k, v in request.POST.items()}
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    request._vlvt_json = body  # type: ignore[attr-defined]
    return body


def method_not_allowed(allowed: Iterable[str]) -> HttpResponse:
    allowed = sorted(set(allowed) | {"OPTIONS"})
    return json_response(
        {"success": False, "error": "Method not allowed"}, status=405, headers={"Allow": ", ".join(allowed)}
    )


def endpoint(
    *methods: str,
    auth: bool = True,
    limiters: Iterable[Limiter] = (),
) -> Callable[[View], View]:
    """Declare one handler for the given methods; see `route()` to serve several on one path."""
    allowed = {m.upper() for m in methods} or {"GET"}
    limiter_list = tuple(limiters)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed and not (request.method == "HEAD" and "GET" in allowed):
                return method_not_allowed(allowed)
            try:
                if auth:
                    user = authenticate_header(request.headers.get("Authorization"))
                    request.user_id = user.user_id  # type: ignore[attr-defined]
                    request.token_user = user  # type: ignore[attr-defined]
                for limiter in limiter_list:
                    blocked = limiter.hit(request)
                    if blocked is not None:
                        return blocked
                return view(request, *args, **kwargs)
            except AuthFailure as exc:
                return fail(exc.status, exc.message)
            except ApiError as exc:
                return exc.response()
            except ValidationFailed as exc:
                return validation_failed(exc.errors)

        wrapper.allowed_methods = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorate


def route(**handlers: View) -> View:
    """One URL, one handler per method: `route(GET=profile_get, PUT=profile_update)`."""
    table = {method.upper(): view for method, view in handlers.items()}
    if "GET" in table:
        table.setdefault("HEAD", table["GET"])

    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        view = table.get(request.method or "")
        if view is None:
            return method_not_allowed(table)
        return view(request, *args, **kwargs)

    dispatch.allowed_methods = set(table)  # type: ignore[attr-defined]
    return dispatch
