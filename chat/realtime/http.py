"""HTTP answers at `/socket.io/`: this server speaks Engine.IO over WebSocket only.

The official server with `transports: ['websocket']` answers every HTTP request there (long-polling
handshakes, polls, posts) from `Server.verify` with 400 and `{code, message}`; so does the view.

WebSocket upgrades it refuses are answered by the Daphne server itself (`refuse_upgrade`, wired in
`chat.routing`), before any application starts: an ASGI application can refuse a WebSocket only
with Daphne's bare 403.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from chat.realtime import protocol
from chat.realtime.auth import origin_allowed
from vlvt.http.api import json_response

logger = logging.getLogger("vlvt.realtime")


@csrf_exempt
def engineio_http(request: HttpRequest) -> HttpResponse:
    query = {k: request.GET.get(k, "") for k in request.GET}
    code = protocol.handshake_error(query, is_upgrade=False, method=request.method or "GET")
    return json_response(protocol.error_body(code if code is not None else protocol.BAD_REQUEST), status=400)


def refuse_upgrade(scope: dict[str, Any]) -> bytes | None:
    """The raw response refusing this WebSocket upgrade to `/socket.io/`, or None to accept it.

    `scope` has the upgrade's `query_string` and `headers`. A transport other than websocket and a
    session id get the official server's 400 (`Server.verify`, then `abortUpgrade`). So does an
    Engine.IO revision other than 4, which the official server checks only after it has sent 101
    Switching Protocols (it then writes the same 400 onto the upgraded socket and drops it); here
    the 400 comes instead of the 101, and clients see a failed handshake either way. An Origin not
    in CORS_ORIGIN (docs/contract.md, D4, not in the original) gets 403 with the message "Forbidden".
    """
    code = protocol.handshake_error(protocol.query_params(scope), is_upgrade=True)
    status = 400
    if code is None and not origin_allowed(scope):
        code, status = protocol.FORBIDDEN, 403
    if code is None:
        return None
    logger.info("socket upgrade refused: %s (%d)", protocol.ERROR_MESSAGES[code], status)
    return protocol.upgrade_refusal(status, code)
