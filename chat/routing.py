"""WebSocket routes: the Socket.IO-compatible endpoint (Engine.IO over WebSocket only)."""

from django.urls import path

from chat.realtime.consumer import SocketIOConsumer
from chat.realtime.http import refuse_upgrade

# Exact paths (vlvt.server.routing.PathRouter, which `vlvt/asgi.py` serves); the same as Django URL
# patterns for Channels' URLRouter.
websocket_routes = {
    "socket.io/": SocketIOConsumer.as_asgi(),
}
websocket_urlpatterns = [
    path(route, application)  # type: ignore[arg-type]  # Channels routes ASGI applications with Django's path(), typed for views only
    for route, application in websocket_routes.items()
]

# Checks the Daphne server runs on a WebSocket upgrade to the path before any application starts:
# check(scope) returns the raw HTTP response refusing the upgrade, or None to go on. The consumer
# makes the same checks (a bare 403) when the application runs on another server.
websocket_upgrade_checks = {
    "/socket.io/": refuse_upgrade,
}
