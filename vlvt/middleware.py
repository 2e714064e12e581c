"""HTTP conventions shared by both apps (reference §1): placeholder pass-throughs, see issue 2."""
from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

GetResponse = Callable[[HttpRequest], HttpResponse]


class RequestContextMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class CsrfDoubleSubmitMiddleware(RequestContextMiddleware):
    pass


class ApiVersionMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith("/api/v1/"):
            request.path_info = path[7:]
        return self.get_response(request)
