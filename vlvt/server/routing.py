"""ASGI routers for `vlvt/asgi.py` that stay out of a connection's stack.

Channels' `ProtocolTypeRouter` and `URLRouter` (and `as_asgi`) are coroutines that await the
application: every WebSocket's task keeps their three frames, plus URLRouter's copy of the scope
with its `url_route`, for as long as the socket is open (about 1.9 KB per idle socket). These
routers return the application's own coroutine instead, so a connection's stack is the middleware
and the consumer. Otherwise they route the same way: an unknown scope type or path is a ValueError
inside the connection's application, as with Channels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

# Called as (scope, receive, send). Django, Channels and this project each declare the scope
# differently (a dict, TypedDicts, a MutableMapping), so the parameters are left open here.
ASGIApp = Callable[..., Awaitable[None]]


class ProtocolRouter:
    """By scope type, like channels.routing.ProtocolTypeRouter."""

    __slots__ = ("applications",)

    def __init__(self, applications: Mapping[str, ASGIApp]) -> None:
        self.applications = dict(applications)

    def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        application = self.applications.get(scope["type"])
        if application is None:
            raise ValueError(f"No application configured for scope type {scope['type']!r}")
        return application(scope, receive, send)


class PathRouter:
    """By exact path, like channels.routing.URLRouter with `path("<route>", ...)` routes: the path
    after `root_path`, without its leading slash. A consumer's `as_asgi()` application is replaced by
    the consumer instance itself."""

    __slots__ = ("routes",)

    def __init__(self, routes: Mapping[str, ASGIApp]) -> None:
        self.routes = dict(routes)

    def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        path = scope.get("path_remaining", scope.get("path_info") or scope["path"])
        root_path = scope.get("root_path", "")
        if root_path:
            if not path.startswith(root_path):
                raise ValueError(f"No route found for path {path!r}.")
            path = path[len(root_path) :]
        application = self.routes.get(path.lstrip("/"))
        if application is None:
            raise ValueError(f"No route found for path {path!r}.")
        consumer_class = getattr(application, "consumer_class", None)
        if consumer_class is not None:
            initkwargs: dict[str, Any] = getattr(application, "consumer_initkwargs", {})
            return consumer_class(**initkwargs)(scope, receive, send)
        return application(scope, receive, send)
