"""The HTTP conventions every view uses: flat JSON bodies, errors, auth, rate limits, methods.

A view is a plain function `view(request, **url_kwargs) -> HttpResponse`; `endpoint()` wraps it
with the method check (405 JSON), JWT auth (`request.user_id`), the route's rate limiters (run after
auth, as the original) and turns `ApiError` into its JSON response.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, overload
from uuid import UUID

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.http.response import HttpResponseBase

from vlvt.http import strictjson
from vlvt.http.auth import AuthFailure, authenticate_header
from vlvt.http.request import ApiRequest, api_request

logger = logging.getLogger("vlvt.api")

if TYPE_CHECKING:
    from vlvt.http.openapi.declare import Operation
    from vlvt.http.ratelimit import Limiter

View = Callable[..., HttpResponseBase]  # a file download is a streaming response
Response = TypeVar("Response", bound=HttpResponseBase)

# API versions: advertise only the versions that are served (docs/contract.md, D5).
CURRENT_API_VERSION = 1
MINIMUM_API_VERSION = 1
SUPPORTED_API_VERSIONS: tuple[int, ...] = (1,)
DEPRECATED_API_VERSIONS: tuple[int, ...] = ()

BODY_TOO_LARGE = "Request body too large"
FILE_TOO_LARGE = "File too large"
MALFORMED_JSON = "Malformed JSON in request body"
TOO_MANY_FIELDS = "Too many fields in request body"
TOO_MANY_FILES = "Too many files"


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: datetime | None) -> str | None: ...


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with milliseconds and Z, as node serialises a Date."""
    if value is None:
        return None
    # isoformat truncates to the millisecond as Date does; "+00:00" becomes "Z". (strftime cost
    # 5% of a history page's CPU.)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


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


_NO_BODY = object()


# What a body no route could use gets (vlvt.http.strictjson), in the shape of the malformed-JSON 400.
_JSON_PROBLEMS = {
    "malformed": MALFORMED_JSON,
    "unicode": "Invalid Unicode in request body (an unpaired surrogate)",
    "depth": "Request body nested too deeply",
    "number": "Number out of range in request body",
}


def parse_json(raw: bytes) -> Any:
    """Strict JSON as JSON.parse reads it; ApiError 400 for anything malformed, and for lone
    surrogates, deep nesting and numbers beyond the double range (vlvt.http.strictjson)."""
    try:
        return strictjson.loads(raw)
    except strictjson.JsonInputError as exc:
        raise ApiError(400, _JSON_PROBLEMS[exc.problem]) from None


def is_json_content_type(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def read_body(request: HttpRequest) -> bytes:
    """The raw body, 413 past the JSON limit (Content-Length absent or understated included)."""
    try:
        raw = request.body
    except RawPostDataException:
        return b""
    except RequestDataTooBig:
        raise ApiError(413, BODY_TOO_LARGE) from None
    if len(raw) > settings.JSON_BODY_LIMIT:
        raise ApiError(413, BODY_TOO_LARGE)
    return raw


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object body; {} when there is none. Bad JSON is a 400, never a 500.

    The request middleware has usually parsed it already (a malformed body is rejected before
    CSRF and auth, as the original's body parser did); the parsed value is reused here.
    """
    cached = getattr(request, "_vlvt_json", _NO_BODY)
    if cached is _NO_BODY:
        cached = _parse_body(request)
        api_request(request)._vlvt_json = cached
    if not isinstance(cached, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return cached


def _parse_body(request: HttpRequest) -> Any:
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        try:
            return {k: v for k, v in request.POST.items()}
        except RequestDataTooBig:
            raise ApiError(413, BODY_TOO_LARGE) from None
        except (TooManyFieldsSent, TooManyFilesSent):
            raise ApiError(400, TOO_MANY_FIELDS) from None
    if content_type and not is_json_content_type(content_type):
        return {}
    raw = read_body(request)
    return parse_json(raw) if raw.strip() else {}


class FileTooLarge(RequestDataTooBig):
    """An uploaded file passed settings.PHOTO_UPLOAD_LIMIT (raised while the upload streams in)."""


def add_ratelimit_headers(request: HttpRequest, response: HttpResponseBase) -> None:
    """Copy the `RateLimit-*` headers `Limiter.hit` left on the request onto the response."""
    headers = getattr(request, "_vlvt_ratelimit_headers", None)
    if headers:
        for name, value in headers.items():
            if name not in response:
                response[name] = value


def method_not_allowed(allowed: Iterable[str]) -> HttpResponse:
    methods = set(allowed) | {"OPTIONS"}
    if "GET" in methods:
        methods.add("HEAD")
    allowed = sorted(methods)
    return json_response(
        {"success": False, "error": "Method not allowed"}, status=405, headers={"Allow": ", ".join(allowed)}
    )


# PostgreSQL unreachable (restarting, failing over), the pool out of connections, a serialization
# failure: the request will succeed if retried in a moment, so it gets 503 + Retry-After (which
# clients and load balancers retry) instead of a 500. Views' own catch-alls let these through.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_TEXT = "Service temporarily unavailable, please retry"
DATABASE_RETRY_AFTER = "1"


def database_unavailable() -> HttpResponse:
    response = fail(503, DATABASE_UNAVAILABLE_TEXT)
    response["Retry-After"] = DATABASE_RETRY_AFTER
    return response


def endpoint(
    *methods: str,
    auth: bool = True,
    limiters: Iterable[Limiter] = (),
    spec: Operation | None = None,
) -> Callable[[View], View]:
    """Declare one handler for the given methods; see `route()` to serve several on one path.

    `spec` is the route's declaration (vlvt/http/openapi/declare.py): what `/openapi.json` says of
    it, and the body fields its view validates with."""
    allowed = {m.upper() for m in methods} or {"GET"}
    limiter_list = tuple(limiters)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in allowed and not (request.method == "HEAD" and "GET" in allowed):
                return method_not_allowed(allowed)
            try:
                if auth:
                    user = authenticate_header(request.META.get("HTTP_AUTHORIZATION"))
                    api_request(request).user_id = user.user_id
                    api_request(request).token_user = user
                for limiter in limiter_list:
                    blocked = limiter.hit(request)
                    if blocked is not None:
                        return blocked
                response = view(request, *args, **kwargs)
            except AuthFailure as exc:
                return fail(exc.status, exc.message)
            except ApiError as exc:
                response = exc.response()
            except ValidationFailed as exc:
                response = validation_failed(exc.errors)
            except FileTooLarge:
                response = fail(413, FILE_TOO_LARGE)
            except RequestDataTooBig:
                response = fail(413, BODY_TOO_LARGE)
            except TooManyFilesSent:
                response = fail(400, TOO_MANY_FILES)
            except TooManyFieldsSent:
                response = fail(400, TOO_MANY_FIELDS)
            except DATABASE_UNAVAILABLE as exc:
                logger.warning("database unavailable: %r", exc, extra={"path": request.path})
                response = database_unavailable()
            if limiter_list:
                add_ratelimit_headers(request, response)
            return response

        # The route's declaration, kept on the function: allowed_methods() and the OpenAPI generator read it.
        vars(wrapper).update(allowed_methods=allowed, spec=spec, auth=auth)
        return wrapper

    return decorate


# The path parameter that names a user. A view taking it declares who it may be: `caller_only` (the
# caller alone) or `any_user`; tests/http/test_caller_only.py holds every route to one of the two.
USER_PARAM = "user_id"


def require_caller(request: HttpRequest, user_id: object, message: str) -> None:
    """ApiError 403 `message` unless `user_id` (from the path or the body) is the authenticated
    caller's: a user acts on their own behalf only."""
    if user_id != api_request(request).user_id:
        raise ApiError(403, message)


def caller_only(
    message: str, *, validate_first: Callable[[ApiRequest], Any] | None = None
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """The route's `<user_id>` must be the caller, else 403 `message`; checked before the view
    runs, so nothing of another user's is read or written.

    `validate_first` is for a route whose original validated the body before the ownership check
    (the 400 wins over the 403): it runs first and its result reaches the view as `data`."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
            if validate_first is not None:
                kwargs["data"] = validate_first(api_request(request))
            require_caller(request, kwargs[USER_PARAM], message)
            return view(request, *args, **kwargs)

        vars(wrapper).update(user_param_rule="caller")  # @wraps carries it up to the route
        return wrapper

    return decorate


def any_user(view: Callable[..., Response]) -> Callable[..., Response]:
    """Declares that the route's `<user_id>` may name any user (reading someone's profile)."""
    vars(view).update(user_param_rule="any")
    return view


def user_param_rule(view: Callable[..., Any]) -> str | None:
    """`"caller"` or `"any"`, as the view declared it with `caller_only` or `any_user`; else None."""
    rule: str | None = getattr(view, "user_param_rule", None)
    return rule


def route(**handlers: View) -> View:
    """One URL, one handler per method: `route(GET=profile_get, PUT=profile_update)`."""
    table = {method.upper(): view for method, view in handlers.items()}
    if "GET" in table:
        table.setdefault("HEAD", table["GET"])

    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        view = table.get(request.method or "")
        if view is None:
            return method_not_allowed(table)
        return view(request, *args, **kwargs)

    vars(dispatch).update(allowed_methods=set(table), views=table)  # kept on the function, as endpoint()'s
    return dispatch


def allowed_methods(view: Callable[..., Any]) -> set[str]:
    """The methods a view made by `endpoint()` or `route()` serves (kept on the function)."""
    methods: set[str] | None = getattr(view, "allowed_methods", None)
    if methods is None:
        raise TypeError(f"{view!r} was not made by endpoint() or route()")
    return methods
