"""The ASGI handler (vlvt.server.handlers.PooledThreadASGIHandler) driven through ASGI, as Daphne does:
one crossing to the request's thread for `request_started`, the middleware, the view and the
close of a complete response (`request_finished`, before the response goes out); a streaming
response closed after its body; threads reused."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core import signals
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from vlvt.http.api import endpoint, ok
from vlvt.server.handlers import PooledThreadASGIHandler

EVENTS: list[tuple[str, int]] = []


@endpoint("GET", "POST", auth=False)
def where(request: HttpRequest) -> HttpResponse:
    EVENTS.append(("view", threading.get_ident()))
    return ok(method=request.method, length=len(request.body))


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def parts():
        yield b"one,"
        EVENTS.append(("streaming", threading.get_ident()))
        yield b"two"

    return StreamingHttpResponse(parts(), content_type="text/plain")


HOLDING = threading.Event()
RELEASE = threading.Event()


@endpoint("GET", auth=False)
def hold(request: HttpRequest) -> HttpResponse:
    HOLDING.set()
    RELEASE.wait(30)
    return ok()


SERVING: dict[str, Any] = {}


@endpoint("GET", auth=False)
def publish(request: HttpRequest) -> HttpResponse:
    """As the REST send's channel-layer publish: async code called from the request's thread."""

    async def on_the_loop() -> None:
        SERVING["async_loop"] = asyncio.get_running_loop()
        SERVING["async_thread"] = threading.get_ident()
        SERVING["nested_thread"] = await sync_to_async(threading.get_ident, thread_sensitive=True)()

    SERVING["view_thread"] = threading.get_ident()
    async_to_sync(on_the_loop)()
    return ok()


urlpatterns = [path("where", where), path("stream", stream), path("hold", hold), path("publish", publish)]


def scope(method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": headers or [(b"host", b"testserver")], "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip


async def call(
    handler: PooledThreadASGIHandler, scope: dict[str, Any], body: bytes = b""
) -> list[dict[str, Any]]:
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.Event().wait()  # the client stays
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        EVENTS.append((message["type"], threading.get_ident()))
        sent.append(message)

    await handler(scope, receive, send)
    return sent


@pytest.fixture
def events():
    def started(**kwargs: Any) -> None:
        EVENTS.append(("request_started", threading.get_ident()))

    def finished(**kwargs: Any) -> None:
        EVENTS.append(("request_finished", threading.get_ident()))

    EVENTS.clear()
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    with override_settings(ROOT_URLCONF=__name__):
        yield EVENTS
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


@pytest.mark.django_db
def test_a_request_crosses_to_its_thread_once(events):
    async def scenario() -> tuple[list[dict[str, Any]], int]:
        sent = await call(PooledThreadASGIHandler(), scope("GET", "/where"), b'{"a": 1}')
        return sent, threading.get_ident()

    sent, loop_thread = asyncio.run(scenario())

    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"]) == {"success": True, "method": "GET", "length": 8}
    names = [name for name, _ in events]
    assert names == [
        "request_started",
        "view",
        "request_finished",
        "http.response.start",
        "http.response.body",
    ]
    request_thread = events[0][1]
    assert request_thread != loop_thread
    assert {thread for name, thread in events if not name.startswith("http.")} == {request_thread}
    assert {thread for name, thread in events if name.startswith("http.")} == {loop_thread}


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
def test_a_streaming_response_is_closed_after_its_body(events):
    sent = asyncio.run(call(PooledThreadASGIHandler(), scope("GET", "/stream")))

    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"one,two"
    names = [name for name, _ in events]
    assert names[0] == "request_started"
    assert names[-1] == "request_finished"
    assert names.index("streaming") < names.index("request_finished")


@pytest.mark.django_db
def test_async_code_called_from_the_request_thread_runs_on_the_serving_loop(events):
    """async_to_sync on the request's thread runs its coroutine on the loop serving the request
    (not a loop of its own in another thread), and a thread-sensitive sync_to_async inside that
    coroutine comes back to the request's thread."""
    SERVING.clear()

    async def scenario() -> tuple[list[dict[str, Any]], asyncio.AbstractEventLoop, int]:
        sent = await call(PooledThreadASGIHandler(), scope("GET", "/publish"))
        return sent, asyncio.get_running_loop(), threading.get_ident()

    sent, loop, loop_thread = asyncio.run(scenario())

    assert sent[0]["status"] == 200
    assert SERVING["async_loop"] is loop
    assert SERVING["async_thread"] == loop_thread
    assert SERVING["nested_thread"] == SERVING["view_thread"] != loop_thread


@pytest.mark.django_db
def test_request_threads_are_reused(events):
    async def scenario() -> None:
        handler = PooledThreadASGIHandler()
        for _ in range(3):
            await call(handler, scope("GET", "/where"))

    asyncio.run(scenario())

    assert len({thread for name, thread in events if name == "view"}) == 1


@pytest.mark.django_db
def test_a_request_waiting_for_a_thread_has_its_body_read_meanwhile(events):
    """Bounded threads: the body of a request that waits for one is taken from the server at once
    (into Django's spooled file), instead of staying in the server's queue for as long as it waits."""
    HOLDING.clear()
    RELEASE.clear()
    chunks = [b"a" * 1000, b"b" * 1000, b"c" * 1000]

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        handler = PooledThreadASGIHandler(threads=1)
        first = asyncio.ensure_future(call(handler, scope("GET", "/hold")))
        await asyncio.to_thread(HOLDING.wait, 10)
        all_read = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if not chunks:
                await asyncio.Event().wait()
            chunk = chunks.pop(0)
            if not chunks:
                all_read.set()
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        post = scope(
            "POST", "/where", [(b"host", b"testserver"), (b"authorization", b"Bearer -")]
        )  # no CSRF cookie needed
        second = asyncio.ensure_future(handler(post, receive, send))
        await asyncio.wait_for(all_read.wait(), 10)
        assert not first.done()  # the one thread is still taken
        RELEASE.set()
        await second
        return await first, sent

    first, second = asyncio.run(scenario())

    assert first[0]["status"] == 200
    assert second[0]["status"] == 200
    assert json.loads(second[1]["body"]) == {"success": True, "method": "POST", "length": 3000}
