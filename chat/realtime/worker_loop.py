"""The realtime layer's async code in a Celery worker: one event loop per process.

What that code shares per process (the async Redis client of `vlvt.redis`, the cap on concurrent
Redis work, the batched presence writes) binds to the event loop that first uses it; a loop of its
own per task run (`asyncio.run`, `async_to_sync`) would find it bound to a closed one ("Event loop
is closed"). So every run goes to one loop on a daemon thread, started at the first use in the
process (in a prefork child, after the fork). Its closer, registered then, closes the async Redis
client on that loop before the loop stops (the client's own closer, later, then has nothing left).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from vlvt.redis import async_redis
from vlvt.server.shutdown import Stage, register_closer

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid = 0


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the process's realtime loop; its result, or its exception."""
    return asyncio.run_coroutine_threadsafe(coro, _running_loop()).result()


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="realtime-loop", daemon=True)
            _thread.start()
            _pid = os.getpid()
            register_closer("realtime event loop", _close, stage=Stage.CHANNEL_LAYER)
        return _loop


def _close() -> None:
    global _loop, _thread
    with _lock:
        loop, thread, _loop, _thread = _loop, _thread, None, None
    if loop is None or thread is None:
        return
    try:
        asyncio.run_coroutine_threadsafe(_close_clients(), loop).result(timeout=5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()  # channels_redis flushes this loop's connections here


async def _close_clients() -> None:
    await async_redis().aclose()
