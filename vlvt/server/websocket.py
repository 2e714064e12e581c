"""WebSockets on our Daphne server: one small object per connection instead of autobahn's.

Stock Daphne hands an upgrade to autobahn's `WebSocketServerProtocol` and keeps the upgraded HTTP
request alive beside it; with Daphne's per-connection `asyncio.Queue` that came to about 17 KB of
the 28 KB an idle Socket.IO connection cost (an instance dict of ~100 attributes, traffic
statistics, a UTF-8 validator and maskers, the parsed handshake, Deferreds, four deques). Here
the upgraded connection is one slotted `WebSocketConnection`, the application's inbox is an
`Inbox`, and the HTTP request is dropped once it has handed over its transport.

The RFC 6455 framing (parsing, unmasking, UTF-8 validation, close codes, serialising) is
wsproto's sans-IO `Connection` in server mode, created when the application accepts; this module
only writes the 101 answer (Daphne already parsed the upgrade request), moves bytes between the
transport and wsproto, and maps wsproto's events to the application's messages.

What is implemented is what Daphne offered through autobahn: RFC 6455 version 13 only, no
extensions (Daphne negotiated none), text and binary messages (fragmented or not), ping/pong,
the close handshake, Daphne's limits (message and frame size -> 1009, checked here as wsproto
hands over the payload; invalid UTF-8 -> 1007 and protocol errors -> 1002, from wsproto), its
timeouts (the application must accept within `websocket_connect_timeout`; an idle connection
is pinged every `ping_interval` and dropped without a pong within `ping_timeout`;
`websocket_timeout` closes it; a close frame unanswered for `CLOSE_TIMEOUT` drops it), checked
by Daphne's 2-second `timeout_checker` instead of one timer per connection, and Daphne's
protocol interface (`handle_reply`, `check_timeouts`, `handle_exception`) and access-log
actions.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

from twisted.internet.interfaces import IProtocol
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import CloseConnection, Message, Ping, Pong
from zope.interface import implementer

from vlvt.server import upstream

logger = logging.getLogger("vlvt.websocket")

CONNECTING = ConnectionState.CONNECTING
OPEN = ConnectionState.OPEN
CLOSED = ConnectionState.CLOSED
_RECEIVING = (ConnectionState.OPEN, ConnectionState.LOCAL_CLOSING)  # wsproto still parses frames
CLOSE_TIMEOUT = 5.0  # seconds for the client to answer our close frame
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_VALID_CLOSE_CODES = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))
ASGI_VERSION = {"version": "3.0"}  # one dict for every scope (Daphne made one per connection)
_NO_SUBPROTOCOLS: tuple[str, ...] = ()

# Values that repeat across connections (header names, the path, the query string, the server
# address, the common headers) are kept once for the process instead of once per socket: every
# scope holds them for the life of its connection.
_SHARED_MAX = 2048
_SHARED_VALUE_MAX = 256
_shared: dict[Any, Any] = {}
_SHARED_HEADER_VALUES = frozenset(
    (b"host", b"connection", b"upgrade", b"sec-websocket-version", b"sec-websocket-extensions", b"origin",
     b"user-agent", b"accept-encoding", b"accept-language", b"cache-control", b"pragma")
)  # fmt: skip


def _share(value: Any, size: int) -> Any:
    """The process's copy of `value` (`size` bytes long): at most _SHARED_MAX short values are
    kept, so clients sending ever new values cannot grow the cache."""
    if size <= _SHARED_VALUE_MAX and len(_shared) < _SHARED_MAX:
        return _shared.setdefault(value, value)
    return _shared.get(value, value)


# A connection stops reading from its client while its application has this much unread
# (`Inbox.full`), and reads again once the application has read it all: a client that sends
# faster than the application handles its messages is held back by TCP instead of queueing here.
INBOX_MAX_MESSAGES = 64
INBOX_MAX_BYTES = 1024 * 1024


def _size(message: Any) -> int:
    """The payload length of an ASGI message (characters of a text message, bytes otherwise)."""
    if type(message) is not dict:
        return 0
    payload = message.get("text") or message.get("bytes")
    return len(payload) if payload else 0


class Inbox:
    """What Daphne's `asyncio.Queue` is to an application instance (`put_nowait`, `get`,
    `empty`, `qsize`), without its four deques (3 KB per connection). Items never leave it
    except through a `get()` that returns them, so a cancelled `get()` loses nothing."""

    __slots__ = ("_items", "_waiter", "_bytes", "_on_empty")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        # The future a waiting get() sleeps on; a list of them only when several wait at once.
        self._waiter: asyncio.Future[None] | list[asyncio.Future[None]] | None = None
        self._bytes = 0  # payload length of the queued messages
        self._on_empty: Callable[[], None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        self._bytes += _size(item)
        waiter, self._waiter = self._waiter, None
        for future in waiter if isinstance(waiter, list) else (waiter,):
            if future is not None and not future.done():
                future.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            current = self._waiter
            if current is None:
                self._waiter = waiter
            elif isinstance(current, list):
                current.append(waiter)
            else:
                self._waiter = [current, waiter]
            try:
                await waiter
            finally:
                self._forget(waiter)
        items = self._items
        item = items.pop(0)
        self._bytes -= _size(item)
        if not items:
            self._items = None
            on_empty, self._on_empty = self._on_empty, None
            if on_empty is not None:
                on_empty()
        return item

    def full(self) -> bool:
        items = self._items
        return items is not None and (len(items) >= INBOX_MAX_MESSAGES or self._bytes >= INBOX_MAX_BYTES)

    def when_empty(self, callback: Callable[[], None]) -> bool:
        """Call `callback()` once the application has read everything queued; False (and nothing
        changes) when a callback is already waiting."""
        if self._on_empty is not None:
            return False
        self._on_empty = callback
        return True

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        current = self._waiter
        if current is waiter:
            self._waiter = None
        elif isinstance(current, list) and waiter in current:
            current.remove(waiter)
            if not current:
                self._waiter = None

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def idle(self) -> bool:
        """Whether the application waits in `get()` with nothing queued (what the shutdown
        wrapper waits for before it closes a socket)."""
        return self._waiter is not None and not self._items


def _header_values(request: Any, name: bytes) -> list[bytes]:
    return request.requestHeaders.getRawHeaders(name) or []


def _tokens(values: list[bytes]) -> set[bytes]:
    return {token.strip().lower() for value in values for token in value.split(b",")}


def handshake_error(request: Any) -> tuple[int, str, list[tuple[str, str]]] | None:
    """(status, reason, headers) refusing an invalid RFC 6455 upgrade request, or None."""
    if request.method != b"GET":
        return 405, "Method Not Allowed", [("Allow", "GET")]
    if request.clientproto != b"HTTP/1.1":
        return 505, "HTTP Version Not Supported", []
    if not _header_values(request, b"host"):
        return 400, "Bad Request", []
    if b"upgrade" not in _tokens(_header_values(request, b"connection")):
        return 400, "Bad Request", []
    if _header_values(request, b"sec-websocket-version") != [b"13"]:
        return 400, "Bad Request", [("Sec-WebSocket-Version", "13")]
    keys = _header_values(request, b"sec-websocket-key")
    try:
        if len(keys) != 1 or len(base64.b64decode(keys[0], validate=True)) != 16:
            return 400, "Bad Request", []
    except ValueError:
        return 400, "Bad Request", []
    return None


def error_response(status: int, reason: str, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The bare HTTP error autobahn wrote for a refused handshake."""
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def scope_headers(request: Any) -> tuple[list[tuple[bytes, bytes]], str | None]:
    """The ASGI headers (lower-case names, one pair per value, none with `_`: CVE-2015-0219, as
    Daphne) and a `Daphne-Root-Path` if the request had one."""
    headers = []
    root_path = None
    for raw_name, values in request.requestHeaders.getAllRawHeaders():
        name = raw_name.lower()
        if b"_" in name:
            continue
        if name == b"daphne-root-path":
            root_path = unquote(values[-1].decode("latin-1"))
            continue
        name = _share(name, len(name))
        shared = name in _SHARED_HEADER_VALUES
        for value in values:
            headers.append(_share((name, value), len(value)) if shared else (name, value))
    return headers, root_path


def subprotocols(headers: list[tuple[bytes, bytes]]) -> list[str] | tuple[str, ...]:
    offered: list[str] = []
    for name, value in headers:
        if name == b"sec-websocket-protocol":
            offered = [p.strip() for p in unquote(value.decode("ascii")).split(",")]
    return offered or _NO_SUBPROTOCOLS


@implementer(IProtocol)
class WebSocketConnection:
    """One upgraded connection: the Twisted protocol of its transport and Daphne's protocol object
    for it (its entry in `server.connections`, `handle_reply`, `check_timeouts`)."""

    __slots__ = (
        "server", "transport", "ws", "path", "inbox", "opened", "last_seen", "deadline",
        "close_code", "_key", "_buffer", "_fragments", "_frame_size", "_message_size",
    )  # fmt: skip

    def __init__(self, server: Any, path: str, key: bytes) -> None:
        self.server = server
        self.transport: Any = None
        self.ws: Connection | None = None  # wsproto's, from the accept until the transport is lost
        self.path = path
        self.inbox: Inbox | None = None
        self.opened = self.last_seen = time.time()
        self.deadline: float | None = None  # a pong or a close frame is due by then
        self.close_code: int | None = None  # what the client's close frame said
        self._key: bytes | None = key  # Sec-WebSocket-Key, until the handshake is answered or refused
        self._buffer: bytes | None = None  # bytes received before the handshake was answered
        self._fragments: list[Any] | None = None  # a message so far (wsproto hands payload over as it comes)
        self._frame_size = 0  # bytes of the current frame so far
        self._message_size = 0  # bytes of the current message so far

    @property
    def state(self) -> ConnectionState:
        """wsproto's state once accepted; CONNECTING until then, CLOSED once refused or lost."""
        if self.ws is not None:
            return self.ws.state
        return CONNECTING if self._key is not None else CLOSED

    # -- Twisted IProtocol ------------------------------------------------------------------------
    def makeConnection(self, transport: Any) -> None:
        self.transport = transport
        self.connectionMade()

    def connectionMade(self) -> None:
        # As autobahn did (tcpNoDelay): small frames such as acks leave at once, without Nagle's
        # wait for the client's delayed ACK.
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)

    def dataReceived(self, data: bytes) -> None:
        ws = self.ws
        if ws is None:  # frames before our 101: kept until the handshake is answered
            if self._key is not None and data:
                self._buffer = data if self._buffer is None else self._buffer + data
            return
        if ws.state not in _RECEIVING:
            return
        ws.receive_data(data)
        self._handle_events(ws)

    def connectionLost(self, reason: Any = None) -> None:
        self.ws = self._key = self._buffer = self._fragments = None
        server = self.server
        if self in server.connections:
            server.protocol_disconnected(self)
        if self.inbox is not None:
            code = self.close_code if self.close_code is not None else 1006
            self.inbox.put_nowait({"type": "websocket.disconnect", "code": code})
        self._log("disconnected")
        self.transport = None

    # -- Daphne's protocol interface --------------------------------------------------------------
    async def asgi_send(self, message: dict[str, Any]) -> None:
        """The application's `send`: messages after the connection is gone are ignored, as Daphne's."""
        if self.ws is not None or self._key is not None:  # neither refused nor lost
            self.handle_reply(message)

    def handle_reply(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "websocket.send":
            self._send_message(message)
        elif kind == "websocket.accept":
            self._accept(message.get("subprotocol"))
        elif kind == "websocket.close":
            if self.state is CONNECTING:
                self.reject()
            else:
                self.close(message.get("code"), message.get("reason"))
        elif kind is None:
            raise ValueError("Message has no type defined")
        else:
            raise ValueError(f"Cannot handle message type {kind}!")

    def handle_exception(self, exception: BaseException) -> None:
        """The application raised: 500 before the handshake is answered, 1011 after."""
        if self.state is CONNECTING:
            self.reject(500, "Internal server error")
        elif self.state is OPEN:
            self.close(1011)

    def check_timeouts(self) -> None:
        server = self.server
        now = time.time()
        state = self.state
        if state is CONNECTING:
            if now - self.opened > server.websocket_connect_timeout:
                self.reject()
        elif state is OPEN:
            if 0 <= server.websocket_timeout < now - self.opened:
                self.close(1000)
            elif self.deadline is not None:
                if now > self.deadline:  # no pong
                    self._abort()
            elif now - self.last_seen > server.ping_interval:
                self.last_seen = now
                assert self.ws is not None  # open: accepted
                self.transport.write(self.ws.send(Ping()))
                if server.ping_timeout:
                    self.deadline = now + server.ping_timeout
        elif self.transport is not None and self.deadline is not None and now > self.deadline:
            self._abort()  # our close frame or the client's went unanswered by the TCP close

    # -- what the application asks for ----------------------------------------------------------
    def _accept(self, subprotocol: str | None) -> None:
        if self.state is not CONNECTING:
            return
        assert self._key is not None  # connecting: the handshake is not answered yet
        accept = base64.b64encode(hashlib.sha1(self._key + _GUID).digest())
        self._key = None
        head = [b"HTTP/1.1 101 Switching Protocols"]
        if self.server.server_name:
            head.append(b"Server: " + self.server.server_name.encode("latin-1"))
        head += [b"Upgrade: WebSocket", b"Connection: Upgrade"]
        if subprotocol:
            head.append(b"Sec-WebSocket-Protocol: " + subprotocol.encode("latin-1"))
        head.append(b"Sec-WebSocket-Accept: " + accept)
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n")
        self.ws = Connection(ConnectionType.SERVER)
        self.last_seen = time.time()
        self._log("connected")
        buffered, self._buffer = self._buffer, None
        if buffered:
            self.dataReceived(buffered)

    def _send_message(self, message: dict[str, Any]) -> None:
        if self.state is CONNECTING:
            raise ValueError("Socket has not been accepted, so cannot send over it")
        data, text = message.get("bytes"), message.get("text")
        if data and text:
            raise ValueError(f"Got invalid WebSocket reply message on {message!r}: both bytes and text")
        ws = self.ws
        if ws is None or ws.state is not OPEN:  # our close frame is out: nothing may follow it
            return
        if data:
            self.transport.write(ws.send(Message(data=data)))
        if text:
            self.transport.write(ws.send(Message(data=text)))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the close handshake; the client's close frame (or CLOSE_TIMEOUT) ends the
        connection, and its disconnect reaches the application."""
        ws = self.ws
        if ws is None or ws.state is not OPEN:
            return
        code = 1000 if code is None else code
        if not (code in _VALID_CLOSE_CODES or 3000 <= code <= 4999):
            raise ValueError(f"invalid WebSocket close code {code}")
        self.transport.write(ws.send(CloseConnection(code, reason or None)))  # reason cut to 123 bytes
        self.deadline = time.time() + CLOSE_TIMEOUT

    def reject(self, status: int = 403, reason: str = "Access denied") -> None:
        """Refuse the handshake (the application closed before accepting), as Daphne did."""
        if self.state is not CONNECTING:
            return
        self._key = self._buffer = None
        self.transport.write(error_response(status, reason))
        self.transport.loseConnection()
        self.server.protocol_disconnected(self)
        self._log("rejected")

    # -- frames (wsproto's events) -----------------------------------------------------------
    def _handle_events(self, ws: Connection) -> None:
        server = self.server
        for event in ws.events():
            if isinstance(event, Message):  # TextMessage or BytesMessage, a frame or part of one
                data = event.data
                size = len(data) if not isinstance(data, str) or data.isascii() else len(data.encode("utf-8"))
                self._frame_size += size
                self._message_size += size
                frame_limit, message_limit = (
                    server.websocket_max_frame_size,
                    server.websocket_max_message_size,
                )
                if (frame_limit and self._frame_size > frame_limit) or (
                    message_limit and self._message_size > message_limit
                ):
                    self._fail(1009, "message too big")
                    return
                if event.frame_finished:
                    self._frame_size = 0
                if event.message_finished:
                    if self._fragments is not None:
                        self._fragments.append(data)
                        data = data[:0].join(self._fragments)
                        self._fragments = None
                    self._message_size = 0
                    self._message(data)
                elif self._fragments is None:
                    self._fragments = [data]
                else:
                    self._fragments.append(data)
            elif isinstance(event, Ping):
                if ws.state is OPEN:
                    self.transport.write(ws.send(event.response()))
            elif isinstance(event, Pong):
                if ws.state is OPEN:
                    self.deadline = None
            elif isinstance(event, CloseConnection):
                if ws.state in _RECEIVING:  # no close frame: wsproto could not parse what came
                    self._fail(int(event.code), event.reason or "")
                else:
                    self._close_received(ws, event.code)
                return

    def _message(self, data: str | bytes) -> None:
        message: dict[str, str | bytes]
        if isinstance(data, str):
            message = {"type": "websocket.receive", "text": data}
        else:
            message = {"type": "websocket.receive", "bytes": data}
        inbox = self.inbox
        if self.state is OPEN and inbox is not None:  # after our close frame, nothing more
            self.last_seen = time.time()
            inbox.put_nowait(message)
            if inbox.full() and inbox.when_empty(self._read_again):
                self.transport.pauseProducing()

    def _read_again(self) -> None:
        if self.transport is not None:
            self.transport.resumeProducing()

    def _close_received(self, ws: Connection, code: int) -> None:
        self.close_code = int(code)
        if ws.state is ConnectionState.REMOTE_CLOSING:  # the client closes: answer with its code
            # (wsproto's own CloseReason for 1005, which it answers with an empty close frame)
            self.transport.write(ws.send(CloseConnection(code)))
        self.deadline = time.time() + CLOSE_TIMEOUT
        self.transport.loseConnection()  # the server ends the TCP connection

    def _fail(self, code: int, reason: str) -> None:
        logger.info("WebSocket connection failed (%d): %s", code, reason)
        ws = self.ws
        if ws is not None and ws.state is OPEN:
            self.transport.write(ws.send(CloseConnection(code)))
        self.close_code = code
        self.deadline = time.time() + CLOSE_TIMEOUT
        self._fragments = None
        self._frame_size = self._message_size = 0
        self.transport.loseConnection()

    def _abort(self) -> None:
        self.deadline = None
        if self.ws is not None and self.ws.state is not CLOSED:
            self.ws.receive_data(None)  # wsproto: the connection is gone (CLOSED)
        self.transport.abortConnection()

    def _log(self, action: str) -> None:
        if self.server.action_logger is None or self.transport is None:
            return
        peer = self.transport.getPeer()
        client = f"{peer.host}:{peer.port}" if hasattr(peer, "host") and hasattr(peer, "port") else None
        self.server.log_action("websocket", action, {"path": self.path, "client": client})

    def __repr__(self) -> str:
        return f"<WebSocketConnection path={self.path!r} state={self.state}>"


def hand_over(request: Any, refuse: Callable[[dict[str, Any]], bytes | None] | None = None) -> None:
    """Turn a Daphne WebRequest that asks for a WebSocket upgrade into a WebSocketConnection and
    start the application; the request and its HTTP channel are left with nothing to hold on to.

    `refuse(scope)` may answer the upgrade with its own raw HTTP response instead (no
    application is started then)."""
    server = request.server
    transport = request.transport
    error = handshake_error(request)
    scope = None if error else _scope(request)
    refusal: bytes | None = None
    if scope is not None and refuse is not None:
        refusal = refuse(scope)
    request.transport = None
    producer = _release(request)
    if refusal is None and error is not None:
        refusal = error_response(*error)
    if refusal is not None:
        transport.write(refusal)
        transport.loseConnection()
        return
    key = request.requestHeaders.getRawHeaders(b"sec-websocket-key")[0]
    assert scope is not None  # made whenever the handshake is valid
    connection = WebSocketConnection(server, scope["path"], key)
    if hasattr(transport, "wrappedProtocol"):  # TLS: the wrapper is the transport
        transport.wrappedProtocol = connection
    else:
        transport.protocol = connection
    connection.makeConnection(transport)
    server.protocol_connected(connection)
    connection.inbox = server.create_application(connection, scope)
    if connection.inbox is not None:
        connection.inbox.put_nowait({"type": "websocket.connect"})
        connection._log("connecting")
    if producer is not None:  # Daphne's upgrade resumed it too: the HTTP channel may have paused it
        producer.resumeProducing()


def _scope(request: Any) -> dict[str, Any]:
    headers, root_path = scope_headers(request)
    raw_path = _share(request.path, len(request.path))
    path = unquote(raw_path.decode("ascii"))
    return {
        "type": "websocket",
        "path": _share(path, len(path)),
        "raw_path": raw_path,
        "root_path": root_path if root_path is not None else request.server.root_path,
        "headers": headers,
        "query_string": _share(request.query_string, len(request.query_string)),
        "client": tuple(request.client_addr) if request.client_addr else None,
        "server": _share(tuple(request.server_addr), 0) if request.server_addr else None,
        "subprotocols": subprotocols(headers),
        "asgi": ASGI_VERSION,
    }


def _release(request: Any) -> Any:
    """The upgraded request is done: out of Daphne's connections, off its HTTP channel, and the
    channel no longer the transport's producer (the channel and request are then garbage).
    Returns the transport's producer interface."""
    request.server.protocol_disconnected(request)
    channel = request.channel
    if channel is None:
        return None
    producer = upstream.network_producer(channel)
    if producer is not None and getattr(producer, "producer", None) is not None:
        producer.unregisterProducer()
    if request in channel.requests:
        channel.requests.remove(request)
    request.channel = None
    return producer
