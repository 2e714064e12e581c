"""The project's routes plus small test-only views for the HTTP conventions (tests/http)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.urls import path

from vlvt.http.api import ApiError, FileTooLarge, endpoint, json_body, ok
from vlvt.http.ratelimit import Limiter, client_ip
from vlvt.http.request import ApiRequest
from vlvt.urls import handler400, handler403, handler404, handler500  # noqa: F401 (the JSON handlers)
from vlvt.urls import urlpatterns as project_urlpatterns

LIMITED = Limiter("test-limited", 60, 3, "Too many test requests")
FAST = Limiter("test-fast", 1, 2, "Slow down, test")
PER_USER = Limiter("test-user", 60, 2, "Too many per user", per_user=True)


@endpoint("GET", "POST", auth=False)
def describe(request: ApiRequest) -> HttpResponse:
    """What the view sees after the middleware: paths, version, correlation id."""
    return ok(
        path=request.path,
        pathInfo=request.path_info,
        apiVersion=request.api_version,
        correlationId=request.correlation_id,
    )


@endpoint("POST", "PUT", "PATCH", "DELETE", auth=False)
def echo(request: ApiRequest) -> HttpResponse:
    return ok(body=json_body(request))


@endpoint("POST", "PUT", "PATCH", "DELETE")
def echo_auth(request: ApiRequest) -> HttpResponse:
    return ok(userId=request.user_id, body=json_body(request))


@endpoint("POST", auth=False)
def upload(request: ApiRequest) -> HttpResponse:
    photo = request.FILES.get("photo")
    return ok(size=photo.size if photo else None, name=request.POST.get("name"))


@endpoint("GET", "POST", auth=False, limiters=[LIMITED])
def limited(request: ApiRequest) -> HttpResponse:
    if request.GET.get("fail"):
        raise ApiError(400, "Failed on purpose")
    if request.GET.get("crash"):
        raise RuntimeError("crash on purpose")
    return ok(ip=client_ip(request))


@endpoint("GET", auth=False, limiters=[FAST])
def fast_limited(request: ApiRequest) -> HttpResponse:
    return ok()


@endpoint("POST", limiters=[PER_USER])
def user_limited(request: ApiRequest) -> HttpResponse:
    return ok(userId=request.user_id)


def boom(request: ApiRequest) -> HttpResponse:
    # The message carries the caller's Authorization header: the log must mask it.
    raise RuntimeError(f"boom with {request.META.get('HTTP_AUTHORIZATION', 'no header')}")


def suspicious(request: ApiRequest) -> HttpResponse:
    raise SuspiciousOperation("tampered input")


def forbidden(request: ApiRequest) -> HttpResponse:
    raise PermissionDenied("no")


def missing(request: ApiRequest) -> HttpResponse:
    raise Http404("no such thing")


def too_big(request: ApiRequest) -> HttpResponse:
    raise RequestDataTooBig("too big")


def file_too_big(request: ApiRequest) -> HttpResponse:
    raise FileTooLarge("file too big")


def html_405(request: ApiRequest) -> HttpResponse:
    return HttpResponseNotAllowed(["GET"])


def html_400(request: ApiRequest) -> HttpResponse:
    return HttpResponseBadRequest("<h1>Bad Request</h1>")


def framed(request: ApiRequest) -> HttpResponse:
    response = ok()
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


def log_something(request: ApiRequest) -> HttpResponse:
    logging.getLogger("tests.http").info(
        "view log line", extra={"accessToken": "tok-123-secret", "matchId": "match_1"}
    )
    return ok()


async def async_view(request: ApiRequest) -> HttpResponse:
    logging.getLogger("tests.http").info("async view log line")
    return ok(pathInfo=request.path_info, correlationId=request.correlation_id)


urlpatterns = [
    path("t/describe", describe),
    path("t/echo", echo),
    path("t/echo-auth", echo_auth),
    path("t/upload", upload),
    path("t/limited", limited),
    path("t/fast", fast_limited),
    path("t/user-limited", user_limited),
    path("t/boom", boom),
    path("t/suspicious", suspicious),
    path("t/forbidden", forbidden),
    path("t/missing", missing),
    path("t/too-big", too_big),
    path("t/file-too-big", file_too_big),
    path("t/html-405", html_405),
    path("t/html-400", html_400),
    path("t/framed", framed),
    path("t/log", log_something),
    path("t/async", async_view),
    path("webhooks/t", echo),
    path("api/internal/t", echo),
    *project_urlpatterns,
]
