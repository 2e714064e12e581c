"""Every private upstream behaviour the project relies on, named once.

Each hook is one small function or constant: the only place that touches the private attribute,
with the pinned version (requirements.txt) and the behaviour relied on. `tests/shutdown/
test_upstream_hooks.py` holds each one to that behaviour against the installed library, so an
upgrade that changes one fails there first, not in production.

Nothing here imports the libraries: the callers hand in the upstream objects, so importing this
module (from Celery workers, settings or the HTTP layer) loads neither Daphne nor Twisted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any

# --- asgiref 3.13.0 ------------------------------------------------------------------------------


def run_async_to_sync_on(sync_to_async_class: Any, loop: Any, pid: int) -> None:
    """`SyncToAsync.threadlocal.main_event_loop` and `main_event_loop_pid` (what asgiref's
    `sync_to_async` sets on the thread it runs a function in): set in the calling thread with
    `pid` the current process, `async_to_sync` called later in this thread schedules its coroutine
    on `loop` (which must be running in another thread) and waits for it, running meanwhile any
    thread-sensitive `sync_to_async` the coroutine makes in this thread; unset, it would run the
    coroutine on a new event loop in a new thread. `threadlocal.task_context` is cleared: no task
    of this thread's caller is there to pass a cancellation on to."""
    local = sync_to_async_class.threadlocal
    local.main_event_loop = loop
    local.main_event_loop_pid = pid
    local.task_context = None


# --- Daphne 4.2.3 -------------------------------------------------------------------------------


def set_server_class(command_line_class: Any, server_class: type) -> None:
    """`daphne.cli.CommandLineInterface.server_class`: `CommandLineInterface.run` builds the
    server as `self.server_class(...)`, after importing the application module, so setting the
    class attribute makes the stock `daphne` command build `server_class`."""
    command_line_class.server_class = server_class


def response_started(request: Any) -> bool:
    """`daphne.http_protocol.WebRequest._response_started`: false until `handle_reply` has taken
    the application's `http.response.start` (then the status line and headers are out)."""
    return bool(request._response_started)


# --- Twisted 26.10.0 ------------------------------------------------------------------------------


def reactor_event_loop(reactor: Any) -> Any:
    """`AsyncioSelectorReactor._asyncioEventloop`: the asyncio event loop the reactor runs on (the
    reactor Daphne installs), where the ASGI applications' coroutines run."""
    return reactor._asyncioEventloop


def limits_accepts(port: Any) -> bool:
    """Whether `port` is a `twisted.internet.tcp.Port`, whose accepts `limit_accepts` can bound."""
    return hasattr(port, "numberAccepts") and hasattr(port, "doRead")


def limit_accepts(port: Any, count: int) -> None:
    """`tcp.Port.numberAccepts`: the most connections the next `Port.doRead` accepts (Twisted
    changes it after every `doRead`: +20 after a full batch, else the number it accepted)."""
    port.numberAccepts = count


def keep_form_bodies_unparsed(request: Any) -> None:
    """`twisted.web.http.Request._parsePOSTFormSubmission`: when false, `requestReceived` leaves a
    form or multipart body alone (no `request.args` parsed from it, no 400 of Twisted's own)."""
    request._parsePOSTFormSubmission = False


def http_channel(protocol: Any) -> Any:
    """`twisted.web.http._GenericHTTPChannelProtocol._channel`: the `HTTPChannel` behind a protocol
    that `HTTPFactory.buildProtocol` returns (the protocol itself when it is not wrapped)."""
    return getattr(protocol, "_channel", protocol)


def network_producer(channel: Any) -> Any:
    """`twisted.web.http.HTTPChannel._networkProducer`: the transport's push producer, which the
    channel registered itself with in `connectionMade` (None before that)."""
    return getattr(channel, "_networkProducer", None)


def has_unsent_data(transport: Any) -> bool:
    """`twisted.internet.abstract.FileDescriptor.dataBuffer` and `_tempDataBuffer`: what was written
    to the transport and has not left the process yet."""
    return bool(getattr(transport, "dataBuffer", b"") or getattr(transport, "_tempDataBuffer", None))


# --- Django 5.2.19 --------------------------------------------------------------------------------


def header_store(response: Any) -> dict[str, tuple[str, str]] | None:
    """`django.http.response.ResponseHeaders._store`: the dict a response's headers live in, lower-case
    name -> (name as set, value). None if a Django changed its shape."""
    store = getattr(response.headers, "_store", None)
    return store if isinstance(store, dict) else None


def set_finished_sender(response: Any, handler_class: type) -> None:
    """`HttpResponseBase._handler_class`: the sender of the `request_finished` signal that
    `response.close()` sends (Django's handlers set it to their class)."""
    response._handler_class = handler_class


def connection_adapters(conn_params: dict[str, Any]) -> Any:
    """`conn_params["context"]` of the PostgreSQL backend's `get_connection_params()`: the psycopg
    adapters map (`psycopg.adapt.AdaptersMap`) every connection of the wrapper (and of its pool)
    is made with; a loader registered there is what the connections' cursors use. Django's
    `create_cursor` registers its own `timestamptz` loader on each cursor as well, unless the
    connection's loader has a `timezone` attribute equal to the wrapper's `timezone`."""
    return conn_params["context"]


# --- kombu 5.7.0 ----------------------------------------------------------------------------------


def new_redis_client(channel: Any) -> Any:
    """`kombu.transport.redis.Channel._create_client()`: a new redis-py client on the channel's
    connection pool (what `Channel.conn_or_acquire()` yields for every command without a client)."""
    return channel._create_client()


# --- channels_redis 4.3.0 -------------------------------------------------------------------------


def group_key(layer: Any, group: str) -> bytes:
    """`RedisChannelLayer._group_key(group)`: the Redis key (bytes) of the sorted set in which
    `group_add` keeps the group's channels."""
    key: bytes = layer._group_key(group)
    return key


def channel_keys_by_connection(layer: Any, channel_names: Iterable[str], message: Any) -> Any:
    """`RedisChannelLayer._map_channel_keys_to_connection(channel_names, message)`: (connection index
    -> channel keys, channel key -> the message serialised for it with its channels in
    `__asgi_channel__`, channel key -> capacity), as its own `group_send` uses them."""
    return layer._map_channel_keys_to_connection(channel_names, message)


# --- sentry-sdk 2.75.0 ----------------------------------------------------------------------------


def run_sentry_asgi(middleware: Any, scope: Any, receive: Any, send: Any) -> Awaitable[Any]:
    """`SentryAsgiMiddleware._run_asgi3`: the ASGI 3 application call, which its `__init__` sets as
    the instance's `__call__` (an instance attribute, so calling the middleware would not use it)."""
    return middleware._run_asgi3(scope, receive, send)


# --- psycopg_pool 3.3.3 ---------------------------------------------------------------------------


def set_pool_backoff(pool_module: Any, backoff_class: type) -> None:
    """`psycopg_pool.pool.AttemptWithBackoff` (and `psycopg_pool.pool_async`'s): the reconnection
    policy class, which `ConnectionPool` (`AsyncConnectionPool`) looks up in its module each time a
    connection attempt fails."""
    pool_module.AttemptWithBackoff = backoff_class
