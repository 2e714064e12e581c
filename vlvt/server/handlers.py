"""Django's ASGI handler with reusable request threads and one thread hop per request.

Django runs each request's synchronous work (sync views, sync middleware, signal receivers) on a
thread of its own: the stock handler enters a fresh `ThreadSensitiveContext`, for which asgiref
starts a new thread and then a second thread to join it, for every request. Here each request
borrows a single-thread executor from a free list and returns it afterwards, so a request costs
no thread start-up; the semantics are the same (one thread per request at a time, and the
request's database connection goes back to the pool at the end of the request, since
CONN_MAX_AGE is 0: a reused thread carries no connection over).

There are at most as many executors as the database pool has connections (DATABASE_POOL_MAX: a
request thread holds at most one, so more threads would only queue on the pool); a request that
finds none free waits on the event loop with its body already read, holding no thread.
(Unbounded, every concurrent request kept a thread for good: 400 requests during a database
outage left 378 threads behind.) The probes (`/health`, `/ready`) have a lane of their own of
PROBE_THREADS executors: during a database outage every request thread waits out the pool's
connection timeout, and a probe queued behind them would answer a load balancer or a kubelet
seconds late, or not before it gives up.

The stock handler then crosses to that thread three times per request (the `request_started`
receivers, the view, `response.close()` with the `request_finished` receivers) and runs two tasks
(the response, and a watch for the client going away that cancels it). Every middleware of the
project is sync-capable and every view is sync, so here the middleware chain is built for sync
use and a request crosses once: `request_started`, the chain and the view, and the close of a
complete response, in that order, on the request's thread; only reading the body and sending the
response happen on the event loop. (A streaming response is closed after it was sent, as Django
does.) A client that goes away meanwhile no longer cancels anything: a sync view runs to its end
in any case, and Daphne drops a response for a closed connection.

The crossing is the executor's own `run_in_executor` with a copy of the task's context, not
asgiref's thread-sensitive `sync_to_async` (about half the CPU per crossing: no context copied
back, no executor lookup, no Local storage re-homed). What asgiref's crossing set up that the
request's code needs is set here: the serving loop recorded in the request thread
(`upstream.run_async_to_sync_on`), so `async_to_sync` there (the channel layer's publish of the
REST send, Django's own) runs on the serving loop, and a thread-sensitive `sync_to_async` inside it
comes back to the request's thread. Context variables set on the request's thread stay there (no
code reads them on the event loop after the view), and the request thread sees no asgiref `Local`
value set on the event loop (none is set there before the view). A streaming response is read
inside a `ThreadSensitiveContext` of the request's executor, as Django reads its sync iterator
with a thread-sensitive `sync_to_async`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import SyncToAsync, ThreadSensitiveContext
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpResponseBase
from django.urls import set_script_prefix

from vlvt.server import upstream

DEFAULT_THREADS = 20
PROBE_THREADS = 2
PROBE_PATHS = frozenset({"/health", "/ready"})


# The answer to a request that waited longer than the lane's bound for a thread: nothing of it ran.
SHED_RETRY_AFTER = b"1"
SHED_BODY = b'{"success":false,"error":"Service temporarily unavailable, please retry"}'
SHED_START = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(SHED_BODY)).encode()),
        (b"retry-after", SHED_RETRY_AFTER),
    ],
}


class LaneWaitExceeded(Exception):
    """No thread of the lane came free within its bound."""


class ThreadLane:
    """At most `size` single-thread executors, reused; made on first use, on the serving loop. A
    request that waits longer than `max_wait` seconds for one (None: no bound) is not served."""

    def __init__(self, size: int, name: str, max_wait: float | None = None) -> None:
        self.size = size
        self.name = name
        self.max_wait = max_wait
        self.shed = 0
        self._idle: list[ThreadPoolExecutor] = []
        self._free: asyncio.Semaphore | None = None

    @contextlib.asynccontextmanager
    async def executor(self) -> AsyncIterator[ThreadPoolExecutor]:
        if self._free is None:
            self._free = asyncio.Semaphore(self.size)
        try:
            async with asyncio.timeout(self.max_wait):
                await self._free.acquire()
        except TimeoutError:
            self.shed += 1
            raise LaneWaitExceeded from None
        try:
            executor = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix=self.name)
            try:
                yield executor
            finally:
                self._idle.append(executor)
        finally:
            self._free.release()


class PooledThreadASGIHandler(ASGIHandler):
    def __init__(self, threads: int | None = None) -> None:
        # ASGIHandler.__init__ would build the async middleware chain, only to be replaced.
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = threads or request_threads()
        self._requests = ThreadLane(self.threads, "request", max_wait=request_queue_timeout())
        self._probes = ThreadLane(PROBE_THREADS, "probe")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # The body first, on the event loop: a request waiting for a thread keeps it in a spooled
        # file (FILE_UPLOAD_MAX_MEMORY_SIZE in memory, the rest on disk), not in Daphne's queue.
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        lane = self._probes if scope["path"] in PROBE_PATHS else self._requests
        try:
            async with lane.executor() as executor:
                await self.respond(scope, body_file, send, executor)
        except LaneWaitExceeded:
            await send(SHED_START)
            await send({"type": "http.response.body", "body": SHED_BODY})
        finally:
            body_file.close()

    async def respond(
        self, scope: dict[str, Any], body_file: Any, send: Any, executor: ThreadPoolExecutor
    ) -> None:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        response = await loop.run_in_executor(executor, context.run, self._respond, scope, body_file, loop)
        if not response.streaming:
            await self.send_response(response, send)
            return
        # A streaming response's sync iterator is read with asgiref's thread-sensitive
        # sync_to_async (Django's send_response): the context routes it to this request's thread,
        # where the response is closed too.
        async with ThreadSensitiveContext(executor=executor):
            await self.send_response(response, send)
        await loop.run_in_executor(executor, context.run, response.close)

    def _respond(
        self, scope: dict[str, Any], body_file: Any, loop: asyncio.AbstractEventLoop
    ) -> HttpResponseBase:
        """On the request's thread: what Django's handler does between reading and sending."""
        upstream.run_async_to_sync_on(SyncToAsync, loop, os.getpid())
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error = self.create_request(scope, body_file)
        if request is None:
            assert error is not None  # Django makes either the request or the response refusing it
            response = error
        else:
            response = self.get_response(request)
            upstream.set_finished_sender(response, self.__class__)
        if not response.streaming:
            response.close()  # request_finished: the request's database connection goes back
        return response


def request_threads() -> int:
    """DATABASE_POOL_MAX (the pool's `max_size`), or 20 without a pool."""
    options = settings.DATABASES["default"].get("OPTIONS")
    pool = options.get("pool") if isinstance(options, dict) else None
    return int(pool.get("max_size", DEFAULT_THREADS)) if isinstance(pool, dict) else DEFAULT_THREADS


def request_queue_timeout() -> float | None:
    """REQUEST_QUEUE_TIMEOUT_MS in seconds; None (0 in the setting) for no bound."""
    timeout_ms = settings.REQUEST_QUEUE_TIMEOUT_MS
    return timeout_ms / 1000 if timeout_ms > 0 else None


def get_application() -> PooledThreadASGIHandler:
    django.setup(set_prefix=False)
    return PooledThreadASGIHandler()
