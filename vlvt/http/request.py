"""The request a view is handed: Django's request with what the HTTP layer sets on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest

if TYPE_CHECKING:
    from vlvt.http.auth import TokenUser


class ApiRequest(HttpRequest):
    """A type only: the object is Django's own request, with these attributes set on it on its way.

    correlation_id, api_version   the request middleware, on every request
    user_id, token_user           `endpoint()`, on a route that authenticates
    _vlvt_json                    the parsed JSON body, once something read it
    _vlvt_ratelimit_headers       the `RateLimit-*` headers of the route's last limiter
    """

    correlation_id: str
    api_version: int
    user_id: str
    token_user: TokenUser
    _vlvt_json: Any
    _vlvt_ratelimit_headers: dict[str, str]


def api_request(request: HttpRequest) -> ApiRequest:
    """`request` typed as what it is once the HTTP layer has set the attributes on it."""
    return cast(ApiRequest, request)
