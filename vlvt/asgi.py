"""`daphne vlvt.asgi:application`: the composition of the ASGI application, one wrapper a line."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vlvt.settings")

from vlvt.server.handlers import get_application  # noqa: E402

django_application = get_application()

from chat.routing import websocket_routes, websocket_upgrade_checks  # noqa: E402
from vlvt.server.heap import settle_heap  # noqa: E402
from vlvt.server.routing import PathRouter, ProtocolRouter  # noqa: E402
from vlvt.server.shutdown import daphne as graceful_daphne  # noqa: E402
from vlvt.server.shutdown.asgi import ShutdownMiddleware  # noqa: E402

# Daphne's CLI builds our GracefulServer (answers refused upgrades itself); no signal handler on import
graceful_daphne.install(upgrade_checks=websocket_upgrade_checks)

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
