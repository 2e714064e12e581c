"""Graceful shutdown for `daphne vlvt.asgi:application`.

`vlvt/asgi.py` calls `install_graceful_server()`, which makes Daphne's command line build a
`GracefulServer` instead of its stock Server (the command stays the same: Daphne imports the
application module before it builds the server). On the first SIGTERM/SIGINT it stops listening
at once, lets accepted requests finish, closes every WebSocket with a close frame after its
consumer is idle (see vlvt.server.shutdown.asgi), waits for every application instance, then
closes the resources in order and exits 0. The coordinator's watchdog exits 1 at SHUTDOWN_TIMEOUT
whatever the event loop is doing.

Stock Daphne, for contrast: Twisted's own SIGTERM handler stops the reactor, in-flight
applications are cancelled, sockets are dropped without a close frame, and the listening socket
keeps accepting until the reactor is gone.

The server also answers WebSocket upgrades that the application would refuse (`install`'s
`upgrade_checks`, by path) with the check's own HTTP response, before any application starts:
through ASGI, Daphne can only refuse an upgrade with a bare 403. Accepted upgrades become
vlvt.server.websocket connections instead of autobahn protocols, and every application instance reads
from a vlvt.server.websocket.Inbox instead of an asyncio.Queue: a third of the memory per idle socket.

Several processes sharing one listening socket (`--fd`) take its connections one at a time and
evenly (vlvt.server.balance): Twisted accepts up to a hundred per wake-up, so the first process to
wake took a whole burst, and even one at a time the race split 50 keep-alive clients 17/33 for as
long as they stayed connected. A process now accepts only while no live peer on the socket holds
fewer connections.

Request bodies are refused past their limit before they are read: Twisted buffers a whole body
(to a temporary file past 100 KB) before the request reaches Daphne, which then queues all of it
in memory for the application, so the application's 413 came after the damage (a 300 MB
declared body left 535 MB of temporary files). A declared `Content-Length` over the limit (the
`body_limit` given to `install_graceful_server`, by content type) is answered 413 with the
project's JSON error body and the connection closed as soon as the headers are in, reading none
of the body; a chunked body is cut off the same way once it passes the limit.

Upstream internals this module relies on (Daphne 4.2.3 and Twisted 26.10.0 are pinned; the private
ones are named in vlvt.server.upstream, and tests/shutdown/test_upstream_hooks.py fails if one of
them changes):
* `Server.run`, `create_application` and `listen_success` overridden with Daphne's own bodies;
* Twisted's `Port.doRead`, which accepts `upstream.limit_accepts` connections per wake-up, and
  `Port.transport` (the accepted connection's class, `tcp.Server`; vlvt.server.balance);
* `Request.gotLength(length)`, which `HTTPChannel` calls once the headers are in, before any of
  the body is read and before it answers `Expect: 100-continue` (from the request's headers), and
  `Request.handleContentChunk(data)`, which gets every piece of the body as it arrives, de-chunked.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from daphne import cli
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from daphne.utils import HEADER_NAME_RE, INVALID_HEADER_VALUE_BYTES, parse_x_forwarded_for
from django.conf import settings
from twisted.internet import reactor as installed_reactor
from twisted.internet.endpoints import serverFromString
from twisted.logger import ILogObserver, STDLibLogObserver, globalLogBeginner
from zope.interface import provider

from vlvt.server import balance, upstream, websocket
from vlvt.server.shutdown import coordinator
from vlvt.server.shutdown.asgi import REFUSED_BODY, REFUSED_RAW, REFUSED_START
from vlvt.server.shutdown.resources import register_process_resources, terminate_own_backends

if TYPE_CHECKING:
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor

logger = logging.getLogger("vlvt.shutdown")
request_log = logging.getLogger("vlvt.request")
# Daphne runs on Twisted's asyncio reactor (installed before this module is imported).
reactor = cast("AsyncioSelectorReactor", installed_reactor)

_POLL_SECONDS = 0.005


def _too_large(error: str) -> bytes:
    body = json.dumps({"success": False, "error": error}, separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 413 Content Too Large\r\ncontent-type: application/json; charset=utf-8\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# An upgrade check: (a scope with the upgrade's `query_string` and `headers`) -> the raw HTTP
# response refusing it, or None to start the application.
UpgradeCheck = Callable[[dict[str, Any]], bytes | None]
# A body limit: (media type, lower-case, without parameters) -> (the most body bytes, the 413's error).
BodyLimit = Callable[[str], tuple[int, str]]


def no_body_limit(media_type: str) -> tuple[int, str]:
    return 2**63, ""


@dataclass
class _Installed:
    """What `install_graceful_server` was given."""

    upgrade_checks: dict[str, UpgradeCheck] = field(default_factory=dict)
    body_limit: BodyLimit = no_body_limit


_installed = _Installed()


def _upgrade_refusal(scope: dict[str, Any]) -> bytes | None:
    path, root_path = scope["path"], scope["root_path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    check = _installed.upgrade_checks.get(path)
    if check is None:
        return None
    try:
        return check(scope)
    except Exception:  # the application makes its own checks
        logger.exception("WebSocket upgrade check failed")
        return None


# At most this many connections are taken from the backlog when listening stops (the kernel's
# backlog is capped by somaxconn, 4,096 by default).
_BACKLOG_ACCEPTS = 10_000


class GracefulWebRequest(WebRequest):
    path: bytes  # Twisted's request line target

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Daphne hands the raw body to the application. Twisted's own multipart parsing (into
        # `request.args`, unused) would only hold an upload twice in memory and answer a malformed
        # body with a bare, non-JSON 400 before the application could see it.
        upstream.keep_form_bodies_unparsed(self)
        self._body_limit = 0
        self._body_error = ""
        self._body_received = 0
        self._body_refused = False

    # -- request bodies: refused past their limit before they are read ---------------------------
    def gotLength(self, length: int | None) -> None:
        content_type = (self.requestHeaders.getRawHeaders(b"content-type") or [b""])[0]
        media_type = content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
        self._body_limit, self._body_error = _installed.body_limit(media_type)
        if length is not None and length > self._body_limit:
            self._refuse_body(declared=length)
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._body_refused:
            return  # what arrived with the refused headers, before the connection closed
        self._body_received += len(data)
        if self._body_received > self._body_limit:  # a chunked body past the limit
            self._refuse_body(declared=None)
            return
        super().handleContentChunk(data)

    def _refuse_body(self, *, declared: int | None) -> None:
        self._body_refused = True
        self.content = io.BytesIO()  # Twisted's requestReceived still seeks it
        # Twisted answers `Expect: 100-continue` right after gotLength: not after our answer.
        self.requestHeaders.removeHeader(b"expect")
        request_log.warning(
            "Request body over its limit refused before reading",
            # (Twisted parses the request line only once the body is in: no method or path yet.)
            extra={"status": 413, "limit": self._body_limit, "declared": declared},
        )
        channel = self.channel
        channel.persistent = False
        channel.transport.write(_too_large(self._body_error))
        channel.loseConnection()  # stops reading; the rest of the body is never read

    def process(self) -> Any:
        if self._body_refused:
            return None  # answered already
        upgrade = self.requestHeaders.getRawHeaders(b"upgrade")
        if not upgrade or upgrade[0].lower() != b"websocket":
            return super().process()
        # A WebSocket: our lean connection (vlvt.server.websocket) instead of Daphne's autobahn protocol,
        # after the same request checks as Daphne's `process`.
        self.request_start = time.time()
        error = self._invalid_upgrade()
        if error is not None:
            self.basic_error(400, b"Bad Request", error)
            return None
        transport = self.transport
        http_protocol = getattr(transport, "wrappedProtocol", None) or getattr(transport, "protocol", None)
        websocket.hand_over(self, refuse=_upgrade_refusal)
        factory = getattr(self.server, "http_factory", None)
        if isinstance(factory, TrackingHTTPFactory):
            factory.protocols.discard(http_protocol)  # the WebSocket connection owns the transport now
        return None

    def _invalid_upgrade(self) -> str | None:
        for name, values in self.requestHeaders.getAllRawHeaders():
            if not HEADER_NAME_RE.fullmatch(name):
                return "Invalid header name"
            if any(INVALID_HEADER_VALUE_BYTES.intersection(value) for value in values):
                return "Invalid header value"
        if hasattr(self.client, "host") and hasattr(self.client, "port"):
            self.client_addr = [str(self.client.host), self.client.port]
            self.server_addr = [str(self.host.host), self.host.port]
        self.client_scheme = "https" if self.isSecure() else "http"
        if self.server.proxy_forwarded_address_header:
            self.client_addr, self.client_scheme = parse_x_forwarded_for(
                self.requestHeaders,
                self.server.proxy_forwarded_address_header,
                self.server.proxy_forwarded_port_header,
                self.server.proxy_forwarded_proto_header,
                self.client_addr,
                self.client_scheme,
            )
        try:
            self.path.decode("ascii")
        except UnicodeDecodeError:
            self.path = b"/"
            return "Invalid characters in path"
        self.query_string = self.uri.split(b"?", 1)[1] if b"?" in self.uri else b""
        try:
            self.query_string.decode("ascii")
        except UnicodeDecodeError:
            return "Invalid query string"
        return None

    def finish(self) -> None:
        # Twisted decides keep-alive from the request alone; a response that says
        # `Connection: close` (every response while draining) must really end the connection.
        if self.responseHeaders.getRawHeaders(b"connection") == [b"close"] and self.channel is not None:
            self.channel.persistent = False
        super().finish()


class TrackingHTTPFactory(HTTPFactory):
    """Remembers every HTTP connection, so idle keep-alive ones can be closed when draining."""

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        # Weak: a closed connection's protocol goes with it (a strong set kept every connection
        # the process ever had until the drain).
        self.protocols: weakref.WeakSet[Any] = weakref.WeakSet()
        # Twisted's own access line (the combined log format, built for every request) goes to
        # Twisted's log, which the server discards below verbosity 2; Daphne writes its own.
        self._twisted_access_log = getattr(server, "verbosity", 1) > 1

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = GracefulWebRequest
        self.protocols.add(protocol)
        return protocol

    def log(self, request: Any) -> None:
        if self._twisted_access_log:
            super().log(request)

    def live_channels(self) -> list[Any]:
        """HTTP connections still open and not upgraded to a WebSocket."""
        live = []
        for protocol in list(self.protocols):
            channel = upstream.http_channel(protocol)
            transport = getattr(channel, "transport", None)
            if transport is None or getattr(transport, "disconnected", False):
                self.protocols.discard(protocol)
            elif getattr(transport, "protocol", protocol) is protocol:
                live.append(channel)
            else:
                self.protocols.discard(protocol)  # upgraded: the WebSocket protocol owns it now
        return live


@provider(ILogObserver)
def _discard(event: Mapping[str, Any]) -> None:
    """A log observer that keeps nothing."""


class GracefulServer(Server):
    def run(self) -> None:
        # Daphne's Server.run, with our factories, our signal handlers instead of Twisted's, and
        # the listening ports kept so that draining can close them.
        self.connections: dict[Any, dict[str, Any]] = {}
        self.ports: list[Any] = []
        self.http_factory = TrackingHTTPFactory(
            self
        )  # upgrades go to vlvt.server.websocket, not a ws_factory
        if self.verbosity <= 1:
            globalLogBeginner.beginLoggingTo([_discard], redirectStandardIO=False, discardBuffer=True)
        else:
            globalLogBeginner.beginLoggingTo([STDLibLogObserver(__name__)])
        reactor.callLater(1, self.application_checker)
        reactor.callLater(2, self.timeout_checker)
        for description in self.endpoints:
            listener = serverFromString(reactor, str(description)).listen(self.http_factory)
            listener.addCallback(self.listen_success)
            listener.addErrback(self.listen_error)
            self.listeners.append(listener)
        asyncio.set_event_loop(upstream.reactor_event_loop(reactor))

        shutdown = coordinator()
        shutdown.before_forced_exit(self._at_deadline)
        shutdown.add_reporter("connections", lambda: len(self.connections))
        shutdown.on_shutdown(lambda reason: reactor.callFromThread(self._begin_drain))
        register_process_resources(asynchronous=True)
        # Installed before the first connection is accepted: a signal during start-up is queued
        # as a drain for when the reactor runs, instead of killing the process outright.
        self._install_signal_handlers()
        if not self.abort_start:
            if self.ready_callable:
                self.ready_callable()
            reactor.run(installSignalHandlers=False)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> websocket.Inbox | None:
        # Daphne's, with an Inbox for the application's receive() instead of an asyncio.Queue
        # (3 KB less per connection) and a WebSocket connection's own send() instead of a partial.
        details = self.connections.get(protocol)
        if details is None:
            return None
        assert "application_instance" not in details
        inbox = websocket.Inbox()
        scope.setdefault("asgi", websocket.ASGI_VERSION)
        send = getattr(protocol, "asgi_send", None) or partial(self.handle_reply, protocol)
        instance = self.application(scope=scope, receive=inbox.get, send=send)
        details["application_instance"] = asyncio.ensure_future(instance, loop=asyncio.get_event_loop())
        return inbox

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        if upstream.limits_accepts(port):
            balance.accept_evenly(port, reactor, place=settings.CPU_AFFINITY == "auto")
        super().listen_success(port)

    # -- signals ------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        reactor.callWhenRunning(
            logger.info, "vlvt: serving, pid %s; SIGTERM/SIGINT drain and exit", os.getpid()
        )

    # -- draining ------------------------------------------------------------------------------
    def _begin_drain(self) -> None:
        asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        try:
            if settings.SHUTDOWN_DRAIN_DELAY > 0:
                await asyncio.sleep(settings.SHUTDOWN_DRAIN_DELAY)
            self._stop_listening()
            counts = await self._finish_in_flight()
            coordinator().drained(**counts)
            await coordinator().close_resources()  # a failing closer is logged, the rest still run
        except Exception:
            logger.exception("shutdown: draining failed")
            coordinator().finish(1)
            return
        coordinator().finish(0)

    def _stop_listening(self) -> None:
        for port in self.ports:
            # Connections the kernel already completed sit in the accept backlog: closing the
            # socket would reset them. Take them first; their requests get a proper 503.
            if getattr(port, "connected", False) and hasattr(port, "doRead"):
                try:
                    upstream.limit_accepts(port, _BACKLOG_ACCEPTS)
                    getattr(port, "accept_backlog", port.doRead)()
                except Exception as exc:
                    logger.warning("shutdown: accepting the backlog failed: %r", exc)
            balance.leave(port)  # the peers on the socket stop leaving connections for this one
            port.stopListening()
        self.ports.clear()
        logger.info("shutdown: stopped listening")
        # Keep-alive connections stay open while requests are in flight: a request arriving on
        # one is answered 503 + `Connection: close` by the ASGI wrapper. They are closed when
        # the drain is over.

    async def _finish_in_flight(self) -> dict[str, int]:
        started = time.monotonic()
        waited_for = self._busy_applications()
        peak = waited_for
        poll = _POLL_SECONDS
        while waited_for:
            await asyncio.sleep(poll)
            poll = min(poll * 2, 0.01)  # at most 10 ms late, cheap enough with thousands of sockets
            waited_for = self._busy_applications()
        refused = self._refuse_partial_requests()
        await self._wait_connections_closed()
        return {
            "applications_waited_for": peak,
            "partial_requests_refused": refused,
            "waited_ms": int((time.monotonic() - started) * 1000),
        }

    async def _wait_connections_closed(self, grace: float = 1.0) -> None:
        """Let the last responses flush before the process exits; abort what will not close."""
        deadline = time.monotonic() + grace
        while self.http_factory.live_channels() and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_SECONDS)
        for channel in self.http_factory.live_channels():
            channel.transport.abortConnection()

    def _busy_applications(self) -> int:
        busy = 0
        for details in list(self.connections.values()):
            instance = details.get("application_instance")
            if instance is not None and not instance.done():
                busy += 1
        return busy

    def _refuse_partial_requests(self) -> int:
        """Connections whose request is still arriving get a 503 and are closed; never waited for."""
        refused = 0
        for channel in self.http_factory.live_channels():
            if channel.requests and not channel.transport.disconnecting:  # (not one answered 413)
                refused += 1
                channel.transport.write(REFUSED_RAW)
            channel.transport.loseConnection()
        return refused

    # -- the deadline ---------------------------------------------------------------------------
    def _at_deadline(self) -> None:
        """On the watchdog's thread, when SHUTDOWN_TIMEOUT has passed: end this process's database
        sessions (nothing cut off can commit later), then answer every request still in flight
        with a 503 + `Retry-After` (true now: its transaction is gone) and send every open
        WebSocket a close frame (1001), so no client sees its connection die without an answer.
        On the reactor's thread when it still runs; straight onto the sockets when it is stuck."""
        try:
            terminate_own_backends()
        except Exception as exc:
            logger.error("shutdown: ending this process's database sessions failed: %r", exc)
        done = threading.Event()
        reactor.callFromThread(self._answer_everyone, done)
        if not done.wait(_DEADLINE_ANSWER_SECONDS):
            logger.error("shutdown: the event loop is stuck; answering on the sockets directly")
            self._answer_everyone_raw()

    def _answer_everyone(self, done: threading.Event) -> None:
        answered = closed = 0
        for protocol in list(self.connections):
            try:
                if isinstance(protocol, websocket.WebSocketConnection):
                    if protocol.state is websocket.OPEN:
                        protocol.close(GOING_AWAY)
                        closed += 1
                elif (
                    isinstance(protocol, WebRequest)
                    and not protocol.finished
                    and protocol.channel is not None
                ):
                    if not upstream.response_started(protocol):
                        protocol.handle_reply(REFUSED_START)
                        protocol.handle_reply(REFUSED_BODY)
                        answered += 1
                    else:  # half a response is out: only ending the connection is left
                        protocol.channel.transport.loseConnection()
            except Exception as exc:
                logger.error("shutdown: answering %r at the deadline failed: %r", protocol, exc)
        answered += self._refuse_partial_requests()
        logger.error(
            "shutdown: at the deadline answered %d request(s) 503 and closed %d socket(s)", answered, closed
        )
        self._when_flushed(done, time.monotonic() + _DEADLINE_ANSWER_SECONDS / 2)

    def _when_flushed(self, done: threading.Event, until: float) -> None:
        """Set `done` once what was written has left the process (or at `until`)."""
        pending = [
            transport
            for transport in _transports(self.connections, self.http_factory)
            if upstream.has_unsent_data(transport)
        ]
        if pending and time.monotonic() < until:
            reactor.callLater(0.01, self._when_flushed, done, until)
        else:
            done.set()

    def _answer_everyone_raw(self) -> None:
        for protocol in list(self.connections):
            transport = getattr(protocol, "transport", None)
            sock = getattr(transport, "socket", None)
            if sock is None:
                continue
            if isinstance(protocol, websocket.WebSocketConnection):
                data = _CLOSE_FRAME_GOING_AWAY if protocol.state is websocket.OPEN else b""
            elif isinstance(protocol, WebRequest) and not upstream.response_started(protocol):
                data = REFUSED_RAW
            else:
                data = b""
            try:
                if data:
                    sock.send(data)
            except OSError:
                pass


def _transports(connections: dict[Any, Any], factory: TrackingHTTPFactory) -> list[Any]:
    found = [getattr(p, "transport", None) for p in list(connections)]
    found += [getattr(c, "transport", None) for c in factory.live_channels()]
    return [t for t in found if t is not None]


GOING_AWAY = 1001
# A close frame (FIN + close opcode, 2-byte payload 1001), for when the event loop cannot send one.
_CLOSE_FRAME_GOING_AWAY = b"\x88\x02\x03\xe9"
_DEADLINE_ANSWER_SECONDS = 1.0


def _on_signal(signum: int, frame: Any) -> None:
    coordinator().request_shutdown(signal.Signals(signum).name)


def install_graceful_server(
    *, upgrade_checks: Mapping[str, UpgradeCheck] | None = None, body_limit: BodyLimit | None = None
) -> None:
    """Make `daphne vlvt.asgi:application` build a GracefulServer, which runs `upgrade_checks`
    (path -> check) on WebSocket upgrades and refuses bodies past `body_limit` (no limit without
    one) before reading them. Idempotent: a second call replaces the first one's settings. Installs
    no signal handler."""
    _installed.upgrade_checks = dict(upgrade_checks or {})
    _installed.body_limit = body_limit or no_body_limit
    upstream.set_server_class(cli.CommandLineInterface, GracefulServer)
