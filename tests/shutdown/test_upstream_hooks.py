"""Every private upstream hook (vlvt.server.upstream) and the Daphne and Twisted behaviour
vlvt.server.shutdown.daphne relies on (listed in its docstring), held to what the project expects of
them against the installed libraries: a real HTTPChannel of our factory on an in-memory transport,
fed bytes as the reactor would, a real listening port, real Redis. If a pinned upstream changes
one of them, a test here fails."""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import importlib
import json
import os
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg_pool
import pytest
from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async
from channels_redis.core import RedisChannelLayer
from daphne import cli
from django.core.signals import request_finished
from django.http import HttpResponse
from kombu import Connection
from kombu.transport import redis as kombu_redis
from psycopg.pq import Format
from psycopg_pool import pool as psycopg_pool_module
from psycopg_pool import pool_async as psycopg_async_pool_module
from psycopg_pool.base import AttemptWithBackoff
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware
from twisted.internet import abstract, tcp
from twisted.internet.address import IPv4Address
from twisted.internet.asyncioreactor import AsyncioSelectorReactor
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.web import http

from vlvt.http.middleware import body_limit
from vlvt.server import upstream
from vlvt.server.broker import Transport
from vlvt.server.shutdown import daphne as graceful_daphne
from vlvt.server.shutdown.daphne import GracefulServer, GracefulWebRequest, TrackingHTTPFactory

JSON_LIMIT = 10 * 1024
MULTIPART_LIMIT = 10 * 1024 * 1024 + 64 * 1024


class _Server:
    """What Daphne's WebRequest asks of its server before the request is processed."""

    server_name = None

    def __init__(self) -> None:
        self.connections: dict = {}

    def protocol_connected(self, protocol) -> None:
        self.connections[protocol] = {}

    def protocol_disconnected(self, protocol) -> None:
        self.connections.pop(protocol, None)


@pytest.fixture
def installed(monkeypatch):
    """The server as vlvt/asgi.py installs it (with the HTTP layer's body limits); undone after."""
    monkeypatch.setattr(cli.CommandLineInterface, "server_class", cli.CommandLineInterface.server_class)
    monkeypatch.setattr(graceful_daphne, "_installed", graceful_daphne._Installed())
    graceful_daphne.install_graceful_server(body_limit=body_limit)


@pytest.fixture
def connection(installed):
    factory = TrackingHTTPFactory(_Server())
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
    protocol.makeConnection(transport)
    yield protocol, transport
    protocol.connectionLost(None)


def _head(framing: str, content_type: str = "application/json", extra: str = "") -> bytes:
    return (
        f"POST /swipes HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n{framing}\r\n{extra}\r\n"
    ).encode()


def _answer(transport: StringTransport) -> tuple[bytes, dict]:
    head, _, body = transport.value().partition(b"\r\n\r\n")
    return head, json.loads(body)


@pytest.mark.parametrize(
    ("content_type", "limit", "error"),
    [
        ("application/json", JSON_LIMIT, "Request body too large"),
        ("multipart/form-data; boundary=x", MULTIPART_LIMIT, "File too large"),
    ],
)
def test_a_declared_length_over_the_limit_is_answered_before_any_body_or_100_continue(
    connection, content_type, limit, error
):
    protocol, transport = connection

    protocol.dataReceived(
        _head(f"Content-Length: {limit + 1}", content_type, "Expect: 100-continue\r\n") + b"x" * 100
    )

    head, body = _answer(transport)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head and b"100 Continue" not in transport.value()
    assert body == {"success": False, "error": error}
    assert transport.disconnecting
    request = upstream.http_channel(protocol).requests[0]
    assert isinstance(request, GracefulWebRequest) and request.content.getvalue() == b""


def test_a_declared_length_at_the_limit_is_read(connection):
    protocol, transport = connection

    protocol.dataReceived(
        _head(f"Content-Length: {JSON_LIMIT}", extra="Expect: 100-continue\r\n") + b"x" * 100
    )

    assert transport.value() == b"HTTP/1.1 100 Continue\r\n\r\n"
    request = upstream.http_channel(protocol).requests[0]
    request.content.seek(0)
    assert request.content.read() == b"x" * 100
    assert not transport.disconnecting


def test_a_chunked_body_is_cut_off_once_past_the_limit(connection):
    protocol, transport = connection
    protocol.dataReceived(_head("Transfer-Encoding: chunked"))
    piece = b"y" * 4096
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    for _ in range(JSON_LIMIT // len(piece)):
        protocol.dataReceived(chunk)
    assert transport.value() == b"" and not transport.disconnecting
    protocol.dataReceived(chunk)

    head, body = _answer(transport)
    assert head.startswith(b"HTTP/1.1 413 ") and body == {"success": False, "error": "Request body too large"}
    assert transport.disconnecting


# --- asgiref ---------------------------------------------------------------------------------------


def _async_to_sync_in_a_thread(hook: bool) -> dict[str, Any]:
    """From a thread of a plain executor (no asgiref crossing), with or without the hook: which
    loop and thread `async_to_sync` runs its coroutine on, and where a thread-sensitive
    `sync_to_async` inside it runs."""

    async def scenario() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        seen: dict[str, Any] = {"loop": loop, "loop_thread": threading.get_ident()}

        async def inner() -> str:
            seen["ran_on_loop"] = asyncio.get_running_loop()
            seen["ran_on_thread"] = threading.get_ident()
            seen["nested_thread"] = await sync_to_async(threading.get_ident, thread_sensitive=True)()
            return "done"

        def on_thread() -> str:
            if hook:
                upstream.run_async_to_sync_on(SyncToAsync, loop, os.getpid())
            seen["caller_thread"] = threading.get_ident()
            return async_to_sync(inner)()

        with ThreadPoolExecutor(1) as executor:
            seen["result"] = await loop.run_in_executor(executor, contextvars.copy_context().run, on_thread)
        return seen

    return asyncio.run(scenario())


def test_async_to_sync_runs_on_the_loop_set_for_its_thread_and_nested_calls_come_back():
    seen = _async_to_sync_in_a_thread(hook=True)

    assert seen["result"] == "done"
    assert seen["ran_on_loop"] is seen["loop"]
    assert seen["ran_on_thread"] == seen["loop_thread"]
    assert seen["nested_thread"] == seen["caller_thread"]


def test_without_the_loop_set_async_to_sync_makes_a_loop_of_its_own():
    seen = _async_to_sync_in_a_thread(hook=False)

    assert seen["result"] == "done"
    assert seen["ran_on_loop"] is not seen["loop"]
    assert seen["nested_thread"] == seen["caller_thread"]


# --- Daphne -------------------------------------------------------------------------------------


class _RecordingServer:
    built: list[dict] = []
    abort_start = False

    def __init__(self, **kwargs) -> None:
        self.built.append(kwargs)

    def run(self) -> None:
        pass


def test_the_daphne_command_builds_the_server_class_set_while_its_application_module_loads(
    tmp_path, monkeypatch
):
    (tmp_path / "hooked_app.py").write_text(
        "from daphne import cli\n"
        "from vlvt.server import upstream\n"
        "from tests.shutdown.test_upstream_hooks import _RecordingServer\n"
        "upstream.set_server_class(cli.CommandLineInterface, _RecordingServer)\n"
        "async def application(scope, receive, send): pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli.CommandLineInterface, "server_class", cli.CommandLineInterface.server_class)
    monkeypatch.setattr(sys, "path", list(sys.path))  # Daphne's run() puts "." in front
    _RecordingServer.built.clear()

    cli.CommandLineInterface().run(["-v", "0", "-b", "127.0.0.1", "-p", "0", "hooked_app:application"])

    assert len(_RecordingServer.built) == 1
    assert _RecordingServer.built[0]["endpoints"] == ["tcp:port=0:interface=127.0.0.1"]


def test_install_graceful_server_is_idempotent(installed):
    def check(scope):
        return None

    graceful_daphne.install_graceful_server(upgrade_checks={"socket.io/": check}, body_limit=body_limit)
    graceful_daphne.install_graceful_server(upgrade_checks={"socket.io/": check}, body_limit=body_limit)

    assert cli.CommandLineInterface.server_class is GracefulServer
    assert graceful_daphne._installed.upgrade_checks == {"socket.io/": check}
    assert graceful_daphne._installed.body_limit is body_limit


def test_response_started_turns_true_with_the_response_start(connection):
    protocol, transport = connection
    request = GracefulWebRequest(upstream.http_channel(protocol), queued=False)

    before = upstream.response_started(request)
    request.handle_reply({"type": "http.response.start", "status": 204, "headers": []})

    assert before is False and upstream.response_started(request) is True


# --- Twisted ------------------------------------------------------------------------------------


@pytest.fixture
def asyncio_reactor():
    loop = asyncio.new_event_loop()
    yield AsyncioSelectorReactor(loop), loop
    loop.close()


def test_the_reactor_runs_on_its_asyncio_event_loop(asyncio_reactor):
    reactor, loop = asyncio_reactor

    assert upstream.reactor_event_loop(reactor) is loop


class _Counting(Factory):
    def __init__(self) -> None:
        self.built = 0

    def buildProtocol(self, addr):
        self.built += 1
        return Protocol()


def test_a_port_accepts_at_most_the_limit_per_read(asyncio_reactor):
    reactor, _ = asyncio_reactor
    factory = _Counting()
    port = tcp.Port(0, factory, interface="127.0.0.1", reactor=reactor)
    port.startListening()
    clients = [socket.create_connection(("127.0.0.1", port.getHost().port)) for _ in range(3)]
    try:
        assert upstream.limits_accepts(port)
        upstream.limit_accepts(port, 1)
        port.doRead()
        one = factory.built
        upstream.limit_accepts(port, 10)
        port.doRead()
        assert (one, factory.built) == (1, 3)
    finally:
        for client in clients:
            client.close()
        port.stopListening()


class _ArgsSeen(http.Request):
    seen: list[dict] = []

    def process(self) -> None:
        self.seen.append(dict(self.args or {}))


class _FormsUnparsed(_ArgsSeen):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        upstream.keep_form_bodies_unparsed(self)


@pytest.mark.parametrize(("request_class", "args"), [(_ArgsSeen, {b"a": [b"1"]}), (_FormsUnparsed, {})])
def test_form_bodies_are_left_unparsed(request_class, args):
    channel = http.HTTPChannel()
    channel.requestFactory = request_class
    channel.makeConnection(StringTransport())
    _ArgsSeen.seen.clear()

    channel.dataReceived(
        b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 3\r\n\r\na=1"
    )

    assert _ArgsSeen.seen == [args]


def test_the_http_channel_behind_a_factory_protocol_and_its_network_producer(connection):
    protocol, transport = connection

    channel = upstream.http_channel(protocol)
    producer: Any = upstream.network_producer(channel)

    assert isinstance(channel, http.HTTPChannel) and channel is not protocol
    registered = producer.producer
    producer.unregisterProducer()

    assert IPushProducer.providedBy(producer) and registered is channel
    assert transport.producer is None


class _Unsending(abstract.FileDescriptor):
    sends = 0

    def writeSomeData(self, data):
        return self.sends


def test_unsent_data_is_what_was_written_and_has_not_left():
    descriptor = _Unsending(reactor=MemoryReactor())
    descriptor.connected = True
    empty = upstream.has_unsent_data(descriptor)

    descriptor.write(b"xyz")
    written = upstream.has_unsent_data(descriptor)
    descriptor.doWrite()  # nothing leaves: the bytes move to dataBuffer
    stuck = upstream.has_unsent_data(descriptor)
    descriptor.sends = 3
    descriptor.doWrite()

    assert (empty, written, stuck, upstream.has_unsent_data(descriptor)) == (False, True, True, False)


# --- Django ---------------------------------------------------------------------------------------


def test_the_header_store_is_what_a_response_sends():
    response = HttpResponse()
    response["X-One"] = "1"

    store = upstream.header_store(response)
    assert store is not None
    store["x-two"] = ("X-Two", "2")

    assert store["x-one"] == ("X-One", "1")
    assert response["X-Two"] == "2" and b"X-Two: 2" in response.serialize_headers()


def test_the_finished_sender_is_the_request_finished_signals_sender():
    class Handler:
        pass

    senders = []

    def receiver(sender, **kwargs):
        senders.append(sender)

    request_finished.connect(receiver)
    try:
        response = HttpResponse()
        upstream.set_finished_sender(response, Handler)
        response.close()
    finally:
        request_finished.disconnect(receiver)

    assert senders == [Handler]


@pytest.mark.django_db
def test_the_loader_registered_in_the_connection_adapters_is_what_every_cursor_reads_with():
    from django.db import connection

    from vlvt.postgresql.base import TIMESTAMPTZ_OID, UtcTimestamptzLoader

    params = connection.get_connection_params()
    assert (
        upstream.connection_adapters(params).get_loader(TIMESTAMPTZ_OID, Format.TEXT) is UtcTimestamptzLoader
    )
    with connection.cursor() as cursor:
        # Django's create_cursor kept it: its own loader would have been registered on the cursor.
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is UtcTimestamptzLoader
        cursor.execute("SELECT '2026-01-02 03:04:05.6789+05'::timestamptz, NULL::timestamptz")
        assert cursor.fetchone() == (
            datetime.datetime(2026, 1, 1, 22, 4, 5, 678900, tzinfo=datetime.UTC),
            None,
        )


def test_djangos_own_loader_gives_what_psycopgs_gives_with_the_session_in_utc():
    """What the backend's loader replaces: Django's `timestamptz` loader puts its time zone on
    psycopg's pure-Python result; with the session in UTC psycopg's own gives the same value."""
    base_tz_loader = importlib.import_module("django.db.backends.postgresql.psycopg_any").BaseTzLoader

    from vlvt.postgresql.base import TIMESTAMPTZ_OID, UtcTimestamptzLoader

    djangos = type("Djangos", (base_tz_loader,), {"timezone": datetime.UTC})  # as Django registers it

    for text in (b"2026-01-02 03:04:05.6789+00", b"1999-12-31 23:59:59+00", b"2026-03-29 01:30:00.5+00"):
        ours, django_value = (
            UtcTimestamptzLoader(TIMESTAMPTZ_OID).load(text),
            djangos(TIMESTAMPTZ_OID).load(text),
        )
        assert ours == django_value and ours.tzinfo is django_value.tzinfo is datetime.UTC


# --- kombu --------------------------------------------------------------------------------------


def test_kombu_makes_a_client_per_command_and_ours_one_per_channel(redis_url):
    with Connection(redis_url, transport=Transport) as ours, Connection(redis_url) as stock:
        ours_channel: Any = ours.default_channel
        stock_channel: Any = stock.default_channel
        with stock_channel.conn_or_acquire() as first, stock_channel.conn_or_acquire() as second:
            assert first is not second and first.connection_pool is stock_channel.pool
        with ours_channel.conn_or_acquire() as first, ours_channel.conn_or_acquire() as second:
            assert first is second and first.connection_pool is ours_channel.pool
        assert type(stock_channel) is kombu_redis.Channel
        assert upstream.new_redis_client(stock_channel).connection_pool is stock_channel.pool


# --- channels_redis -------------------------------------------------------------------------------


def test_the_group_key_holds_the_groups_channels(redis_url):
    layer = RedisChannelLayer(hosts=[redis_url], prefix="hooktest")

    async def members() -> list[bytes]:
        await layer.group_add("g", "specific.abc!1")
        try:
            connection = layer.connection(layer.consistent_hash("g"))
            return await connection.zrange(upstream.group_key(layer, "g"), 0, -1)
        finally:
            await layer.group_discard("g", "specific.abc!1")
            await layer.close_pools()

    assert async_to_sync(members)() == [b"specific.abc!1"]


def test_channel_keys_by_connection_groups_channels_by_redis_key(redis_url):
    layer = RedisChannelLayer(hosts=[redis_url], prefix="hooktest")
    names = ["specific.abc!1", "specific.abc!2", "other"]

    by_connection, messages, capacities = upstream.channel_keys_by_connection(layer, names, {"type": "t"})

    assert by_connection == {0: ["hooktestspecific.abc!", "hooktestother"]}
    assert layer.deserialize(messages["hooktestspecific.abc!"]) == {
        "type": "t",
        "__asgi_channel__": ["specific.abc!1", "specific.abc!2"],
    }
    assert layer.deserialize(messages["hooktestother"]) == {"type": "t", "__asgi_channel__": ["other"]}
    assert capacities == {"hooktestspecific.abc!": layer.capacity, "hooktestother": layer.capacity}


# --- sentry-sdk ---------------------------------------------------------------------------------


def test_sentrys_asgi3_call_runs_the_application():
    calls = []

    async def application(scope, receive, send):
        calls.append(scope["path"])

    middleware = SentryAsgiMiddleware(application, unsafe_context_data=True)
    scope = {"type": "http", "path": "/x", "method": "GET", "headers": [], "query_string": b""}

    async def nothing(*args):
        return {"type": "http.disconnect"}

    async def run() -> None:
        await upstream.run_sentry_asgi(middleware, scope, nothing, nothing)

    async_to_sync(run)()

    assert calls == ["/x"]


# --- psycopg_pool -------------------------------------------------------------------------------


def recording_backoff(monkeypatch, module: Any) -> threading.Event:
    """`module`'s backoff class replaced through the hook by one that records its use."""
    used = threading.Event()

    class Recording(AttemptWithBackoff):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            used.set()

    monkeypatch.setattr(module, "AttemptWithBackoff", module.AttemptWithBackoff)
    upstream.set_pool_backoff(module, Recording)
    return used


def test_the_pool_reconnects_with_the_backoff_class_set_in_its_module(monkeypatch):
    used = recording_backoff(monkeypatch, psycopg_pool_module)
    pool = psycopg_pool.ConnectionPool(
        "host=127.0.0.1 port=1 connect_timeout=1", min_size=1, open=False, reconnect_timeout=30
    )
    pool.open(wait=False)
    try:
        assert used.wait(30)
    finally:
        pool.close(timeout=0)


def test_the_async_pool_reconnects_with_the_backoff_class_set_in_its_module(monkeypatch):
    used = recording_backoff(monkeypatch, psycopg_async_pool_module)

    async def attempt() -> bool:
        pool = psycopg_pool.AsyncConnectionPool(
            "host=127.0.0.1 port=1 connect_timeout=1", min_size=1, open=False, reconnect_timeout=30
        )
        await pool.open(wait=False)
        try:
            return await asyncio.to_thread(used.wait, 30)
        finally:
            await pool.close(timeout=0)

    assert asyncio.run(attempt())
