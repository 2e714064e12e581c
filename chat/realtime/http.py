"""HTTP requests to `/socket.io/`: this server speaks Engine.IO over WebSocket only.

The official server with `transports: ['websocket']` answers every HTTP request there (long-polling
handshakes, polls, posts) from `Server.verify` with 400 and `{code, message}`; so does this view.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from chat.realtime import protocol
from vlvt.api import json_response


@csrf_exempt
def engineio_http(request: HttpRequest) -> HttpResponse:
    query = {k: request.GET.get(k, "") for k in request.GET}
    code = protocol.handshake_error(query, is_upgrade=False, method=request.method or "GET")
    return json_response(protocol.error_body(code if code is not None else protocol.BAD_REQUEST), status=400)
