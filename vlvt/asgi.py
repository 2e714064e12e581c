"""`daphne vlvt.asgi:application`: the composition of the ASGI application, one wrapper a line."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vlvt.settings")

from vlvt.server.handlers import get_application  # noqa: E402

django_application = get_application()

from chat.routing import websocket_routes, websocket_upgrade_checks  # noqa: E402
from vlvt.http.middleware import body_limit  # noqa: E402
from vlvt.server.heap import settle_heap  # noqa: E402
from vlvt.server.routing import PathRouter, ProtocolRouter  # noqa: E402
from vlvt.server.shutdown.asgi import ShutdownMiddleware  # noqa: E402
from vlvt.server.shutdown.daphne import install_graceful_server  # noqa: E402

# Daphne's command line imports this module before it builds its server: this call makes it build
# our GracefulServer instead (upgrade checks answered by the server, bodies over their limit
# refused unread, the graceful drain). Idempotent; installs no signal handler.
install_graceful_server(upgrade_checks=websocket_upgrade_checks, body_limit=body_limit)

# The routers return the application's own coroutine (no routing frames kept per connection).
application = ShutdownMiddleware(
    ProtocolRouter(
        {
            "http": django_application,
            "websocket": PathRouter(websocket_routes),
        }
    )
)

# Last: everything the process keeps is loaded now (vlvt/server/heap.py).
settle_heap()
