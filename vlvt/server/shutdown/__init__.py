"""Graceful shutdown: one coordinator per process (docs/architecture.md, "Shutdown").

Code that opens a resource registers its closer right there:

    register_closer("redis (sync client)", client.close, stage=Stage.REDIS)

Nothing here installs a signal handler; only a serving process does (vlvt.server.shutdown.daphne for
`daphne vlvt.asgi:application`, vlvt.server.shutdown.celery for workers and beat).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.conf import settings

from vlvt.server.shutdown.coordinator import Closer, ShutdownCoordinator, Stage, State

__all__ = ["Stage", "State", "ShutdownCoordinator", "coordinator", "register_closer"]

_lock = threading.Lock()
_coordinator: ShutdownCoordinator | None = None


def coordinator() -> ShutdownCoordinator:
    global _coordinator
    if _coordinator is None:
        with _lock:
            if _coordinator is None:
                _coordinator = ShutdownCoordinator(timeout=settings.SHUTDOWN_TIMEOUT)
    return _coordinator


def register_closer(name: str, fn: Closer, *, stage: Stage | int) -> Callable[[], None]:
    return coordinator().register(name, fn, stage=stage)
