"""Whether this process can serve right now: PostgreSQL and Redis both answer (`GET /ready`).

A load balancer probes every process often, and a process that cannot reach PostgreSQL or Redis
can only answer 500s: it must leave the rotation until they are back. The checks are cheap (a
fresh PostgreSQL connection and `SELECT 1`, a Redis `PING`, each on a worker thread of its own)
and a probe waits at most `READY_TIMEOUT` for them, so a hung dependency makes the answer a
prompt 503 instead of a hung probe. A good outcome is kept for `READY_CACHE_SECONDS`: a storm of
probes costs one check per interval, and probes arriving while a check runs wait for that one. A
bad one only for `READY_RETRY_SECONDS`, so the process is back in rotation as soon as its
dependencies answer again rather than up to a second later.

The PostgreSQL check opens its own connection rather than borrowing one of the pool: the pool
waits `DATABASE_CONNECTION_TIMEOUT_MS` for a connection when the server is gone, and what matters
after a restart is that new connections succeed. A check still running from an earlier probe is
never started twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from vlvt.database import own_connection
from vlvt.redis import short_timeout_redis

logger = logging.getLogger("vlvt.health")

READY_TIMEOUT = 0.5
READY_CACHE_SECONDS = 1.0
READY_RETRY_SECONDS = 0.1
# libpq's smallest connect timeout; the probe itself never waits longer than READY_TIMEOUT.
_PG_CONNECT_TIMEOUT = 2


class Readiness:
    """Named checks (callables that raise when their dependency is unreachable), run at most once
    per `ttl` seconds while all pass, per `retry` seconds while one fails; `current()` maps each
    name to "ok" or "error"."""

    def __init__(
        self, checks: dict[str, Callable[[], object]], *, ttl: float, retry: float, timeout: float
    ) -> None:
        self._checks = checks
        self._ttl = ttl
        self._retry = retry
        self._timeout = timeout
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(len(checks), thread_name_prefix="ready")
        self._futures: dict[str, Future[object]] = {}
        self._result: dict[str, str] | None = None
        self._at = 0.0

    def current(self) -> dict[str, str]:
        # Under the lock: concurrent probes wait for this one check instead of starting their own.
        with self._lock:
            if self._result is not None and time.monotonic() - self._at < self._kept_for(self._result):
                return self._result
            for name, check in self._checks.items():
                future = self._futures.get(name)
                if future is None or future.done():
                    self._futures[name] = self._pool.submit(check)
            futures = dict(self._futures)
            wait(futures.values(), timeout=self._timeout)
            result = {name: _outcome(name, future) for name, future in futures.items()}
            if result != self._result and any(v != "ok" for v in result.values()):
                logger.error("not ready: %s", ", ".join(f"{k}={v}" for k, v in result.items()))
            self._result, self._at = result, time.monotonic()
            return result

    def _kept_for(self, result: dict[str, str]) -> float:
        return self._ttl if all(v == "ok" for v in result.values()) else self._retry


def _outcome(name: str, future: Future[object]) -> str:
    if not future.done():
        return "error"  # slower than a probe may wait: as good as unreachable
    exc = future.exception()
    if exc is not None:
        logger.debug("readiness check %s failed: %r", name, exc)
        return "error"
    return "ok"


def _check_database() -> None:
    with own_connection("ready", connect_timeout=_PG_CONNECT_TIMEOUT) as conn:
        conn.execute("SELECT 1").fetchone()


def _check_redis() -> None:
    short_timeout_redis("readiness", timeout=READY_TIMEOUT, max_connections=2).ping()


_readiness: Readiness | None = None
_readiness_lock = threading.Lock()


def readiness() -> Readiness:
    global _readiness
    if _readiness is None:
        with _readiness_lock:
            if _readiness is None:
                _readiness = Readiness(
                    {"database": _check_database, "redis": _check_redis},
                    ttl=READY_CACHE_SECONDS,
                    retry=READY_RETRY_SECONDS,
                    timeout=READY_TIMEOUT,
                )
    return _readiness
