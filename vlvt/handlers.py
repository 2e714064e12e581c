"""Django's ASGI handler with reusable request threads.

Django runs each request's synchronous work (sync views, sync middleware, signal receivers) on a
thread of its own: the stock handler enters a fresh `ThreadSensitiveContext`, for which asgiref
starts a new thread and then a second thread to join it, for every request. Here each request
borrows a single-thread executor from a free list and returns it afterwards, so a request costs
no thread start-up; the semantics are the same (one thread per request at a time, and
thread-local state such as database connections is closed at the end of the request, since
CONN_MAX_AGE is 0).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler


class PooledThreadASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._idle.append(executor)


def get_application() -> PooledThreadASGIHandler:
    import django

    django.setup(set_prefix=False)
    return PooledThreadASGIHandler()
