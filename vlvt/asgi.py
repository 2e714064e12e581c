"""`daphne vlvt.asgi:application`: the composition of the ASGI application, one wrapper a line."""
from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vlvt.settings")

from vlvt.handlers import get_application  # noqa: E402

django_application = get_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.routing import websocket_upgrade_checks, websocket_urlpatterns  # noqa: E402
from vlvt.shutdown import daphne as graceful_daphne  # noqa: E402
from vlvt.shutdown.asgi import ShutdownMiddleware  # noqa: E402

# Daphne's CLI builds our GracefulServer (answers refused upgrades itself); no signal handler on import
graceful_daphne.install(upgrade_checks=websocket_upgrade_checks)

application = ShutdownMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_application,
            "websocket": URLRouter(websocket_urlpatterns),
        }
    )
)
