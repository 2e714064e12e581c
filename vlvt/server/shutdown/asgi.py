"""The shutdown-aware ASGI wrapper that `vlvt/asgi.py` puts around the whole application.

While running it only counts. Once the coordinator starts draining (after the optional drain
delay) it answers new HTTP requests with 503 + `Connection: close` + `Retry-After`, refuses new
WebSocket handshakes, marks responses of in-flight requests `Connection: close`, and closes every
WebSocket with a real close frame (1001, going away) as soon as its application is idle in
`receive()` with no event in hand (see `ACTIVITY`) -- i.e. every event it received has been handled
and acked. The close handshake then delivers `websocket.disconnect`, so each consumer's disconnect
logic (groups, presence) runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

from vlvt.server.shutdown import coordinator
from vlvt.server.shutdown.coordinator import ShutdownCoordinator, State

logger = logging.getLogger("vlvt.shutdown")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GOING_AWAY = 1001
# Scope key of a WebSocket's activity reporter: an application that handles received events on
# tasks of its own calls `begin()` when it starts such work and `end()` when it has none left, so
# the socket counts as idle only when it waits in receive() with no event in hand.
ACTIVITY = "vlvt.activity"
RETRY_AFTER_SECONDS = b"5"
_REFUSED_BODY = b'{"success":false,"error":"Server is shutting down, please retry"}'


class _Socket:
    """One open WebSocket: whether its application waits in receive() with nothing queued and no
    event in hand (its `ACTIVITY` reports)."""

    __slots__ = ("send", "queue", "waiting", "busy", "idle", "close_scheduled", "closing")

    def __init__(self, send: Send, receive: Receive) -> None:
        self.send = send
        # Daphne hands each application `asyncio.Queue.get`; its queue tells us about frames that
        # arrived but are not consumed yet.
        self.queue: asyncio.Queue[Any] | None = getattr(receive, "__self__", None)
        self.waiting = 0
        self.busy = 0
        self.idle = asyncio.Event()
        self.close_scheduled = False
        self.closing = False

    def is_idle(self) -> bool:
        return self.waiting > 0 and self.busy == 0 and (self.queue is None or self.queue.empty())

    def begin(self) -> None:
        self.busy += 1
        self.idle.clear()

    def end(self) -> None:
        self.busy -= 1
        if self.is_idle():
            self.idle.set()


class ShutdownMiddleware:
    def __init__(
        self, app: ASGIApp, shutdown: ShutdownCoordinator | None = None, drain_delay: float | None = None
    ) -> None:
        self.app = app
        self._shutdown = shutdown
        self._drain_delay = drain_delay
        self.refusing = False
        self.http_in_flight = 0
        self.http_finished_while_draining = 0
        self.http_refused = 0
        self.sockets: dict[int, _Socket] = {}
        self.sockets_closed = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._registered = False

    # -- wiring -------------------------------------------------------------------------------
    @property
    def shutdown(self) -> ShutdownCoordinator:
        if self._shutdown is None:
            self._shutdown = coordinator()
        return self._shutdown

    def _register(self) -> None:
        if self._registered:
            return
        self._registered = True
        self._loop = asyncio.get_running_loop()
        self.shutdown.add_reporter("http_requests", lambda: self.http_in_flight)
        self.shutdown.add_reporter("websockets", lambda: len(self.sockets))
        self.shutdown.on_shutdown(self._on_shutdown)
        if not self.shutdown.accepting:
            self.refusing = True

    def _on_shutdown(self, reason: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self.refusing = True
            return
        loop.call_soon_threadsafe(self._schedule_stop_accepting)

    def _schedule_stop_accepting(self) -> None:
        delay = self._drain_delay
        if delay is None:
            delay = settings.SHUTDOWN_DRAIN_DELAY
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self.stop_accepting)
        else:
            self.stop_accepting()

    def stop_accepting(self) -> None:
        """Refuse new work and start closing sockets (each once its application is idle)."""
        self.refusing = True
        for socket in list(self.sockets.values()):
            asyncio.ensure_future(self._close_when_idle(socket))

    def in_flight(self) -> int:
        return self.http_in_flight + len(self.sockets)

    # -- ASGI -----------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            self._register()
            await self._http(scope, receive, send)
        elif kind == "websocket":
            self._register()
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.refusing:
            self.http_refused += 1
            await _refuse_http(send)
            return
        self.http_in_flight += 1

        forced = False

        async def send_wrapper(message: Message) -> None:
            nonlocal forced
            if forced:
                return
            if message["type"] == "http.response.start" and self.shutdown.state is State.DONE:
                # Past the deadline: the watchdog has ended this process's database sessions, so
                # whatever this response says (often a 500 from the ended session) did not commit.
                forced = True
                await _refuse_http(send)
                return
            if message["type"] == "http.response.start" and self.refusing:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.http_in_flight -= 1
            if self.refusing:
                self.http_finished_while_draining += 1

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.refusing:
            self.http_refused += 1
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": GOING_AWAY})
            return
        socket = _Socket(send, receive)
        scope[ACTIVITY] = socket
        key = id(socket)
        self.sockets[key] = socket

        async def receive_wrapper() -> Message:
            socket.waiting += 1
            if socket.is_idle():
                socket.idle.set()
            try:
                return await receive()
            finally:
                socket.waiting -= 1
                socket.idle.clear()

        async def send_wrapper(message: Message) -> None:
            if socket.closing and message["type"] in {"websocket.send", "websocket.close"}:
                return  # the close frame is out; the socket only waits for its disconnect now
            if message["type"] == "websocket.accept" and self.refusing:
                # Accepted while we stop: accept, then close at once so the client reconnects
                # elsewhere and the consumer still sees its disconnect.
                await send(message)
                asyncio.ensure_future(self._close_when_idle(socket))
                return
            await send(message)

        try:
            if self.refusing:
                asyncio.ensure_future(self._close_when_idle(socket))
            await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            self.sockets.pop(key, None)
            if socket.closing:
                self.sockets_closed += 1

    async def _close_when_idle(self, socket: _Socket) -> None:
        if socket.close_scheduled:
            return
        socket.close_scheduled = True
        # `idle` is set each time the application waits in receive() with nothing queued; the
        # timeout only guards against a missed wake-up.
        while not socket.is_idle():
            socket.idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(socket.idle.wait(), timeout=0.5)
        socket.closing = True
        try:
            await socket.send({"type": "websocket.close", "code": GOING_AWAY})
        except Exception as exc:  # the transport may already be gone; its disconnect still comes
            logger.debug("shutdown: close frame not sent: %r", exc)


# The answer to a request refused while draining (or cut off at the deadline): 503, retry later.
REFUSED_START: Message = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(_REFUSED_BODY)).encode()),
        (b"connection", b"close"),
        (b"retry-after", RETRY_AFTER_SECONDS),
    ],
}
REFUSED_BODY: Message = {"type": "http.response.body", "body": _REFUSED_BODY}
# The same answer as raw HTTP/1.1, for the server to write straight onto a connection.
REFUSED_RAW = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    + b"".join(name + b": " + value + b"\r\n" for name, value in REFUSED_START["headers"])
    + b"\r\n"
    + _REFUSED_BODY
)


async def _refuse_http(send: Send) -> None:
    await send(REFUSED_START)
    await send(REFUSED_BODY)
