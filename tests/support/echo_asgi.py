"""`daphne tests.support.echo_asgi:application`: our Daphne server (vlvt.server.shutdown.daphne, with
vlvt.server.websocket) around a bare WebSocket application, for tests of the WebSocket layer itself.

Paths: `/echo` accepts (with the first offered subprotocol) and echoes every message; the text
`close <code>` makes it close with that code, `raise` makes it fail. `/reject` closes before
accepting, `/crash` fails before accepting. Every disconnect is printed as `disconnect <code>`.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.settings")

import django  # noqa: E402

django.setup()

from vlvt.server.shutdown import daphne as graceful_daphne  # noqa: E402

graceful_daphne.install_graceful_server()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            if scope["path"] == "/reject":
                await send({"type": "websocket.close"})
            elif scope["path"] == "/crash":
                raise RuntimeError("crash before accept")
            else:
                offered = scope["subprotocols"]
                await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
        elif message["type"] == "websocket.receive":
            text = message.get("text")
            if text is not None and text.startswith("close "):
                await send({"type": "websocket.close", "code": int(text.split()[1])})
            elif text == "raise":
                raise RuntimeError("crash after accept")
            elif text == "scope":
                await send({"type": "websocket.send", "text": repr(sorted(scope.items()))})
            else:
                await send(
                    {"type": "websocket.send", **{k: v for k, v in message.items() if k in ("text", "bytes")}}
                )
        elif message["type"] == "websocket.disconnect":
            print(f"disconnect {message['code']}", flush=True)
            return
