"""psycopg_pool's reconnection, bounded so the pool notices PostgreSQL's return at once.

When PostgreSQL cannot be reached (restarting, failing over), the pool keeps trying to open a
connection with an exponential backoff: 1 s, then 2, 4, 8 s... with no ceiling short of
`reconnect_timeout` (5 minutes). After an outage of a few seconds the next attempt could be
seconds away while PostgreSQL was already answering, and every request waited for it (a 5 s stop
of PostgreSQL gave 2.3 s of 503s after its return). Here the first retry comes after
`INITIAL_DELAY` and the waits never exceed `MAX_DELAY`: a failed attempt costs a refused TCP
connection, so trying a few times a second per process is nothing next to serving again promptly.

psycopg_pool has no option for its backoff; its policy is one class that the pool module names
at call time, so the subclass takes its place there (psycopg_pool is pinned in requirements.txt).
"""

from __future__ import annotations

import time
from typing import Any, Self

import psycopg
from django.conf import settings
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from psycopg_pool import pool as _pool_module
from psycopg_pool import pool_async as _async_pool_module
from psycopg_pool.base import AttemptWithBackoff

from vlvt.server import upstream

INITIAL_DELAY = 0.05
MAX_DELAY = 0.25


class BoundedBackoff(AttemptWithBackoff):
    INITIAL_DELAY = INITIAL_DELAY

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, MAX_DELAY)


def bound_reconnect_backoff() -> None:
    """Make every pool of the process, Django's and the event loop's (vlvt.database), retry
    within MAX_DELAY (idempotent)."""
    upstream.set_pool_backoff(_pool_module, BoundedBackoff)
    upstream.set_pool_backoff(_async_pool_module, BoundedBackoff)


# --- failing fast while PostgreSQL is unreachable ------------------------------------------------
#
# Without this, while PostgreSQL is down every request asks the pool for a connection and waits
# DATABASE_CONNECTION_TIMEOUT_MS for one: the request threads are all taken by waits that can only
# end in a 503, the requests behind them queue on the event loop, and once PostgreSQL is back that
# queue (seconds of requests, most of whose clients gave up) is served first, in order, before any
# new request. The pool knows better: it retries within MAX_DELAY, and each attempt says whether
# the server answered. While its last attempt failed less than DATABASE_FAIL_FAST_MS ago (and none
# succeeded since), a request that would wait for a connection fails at once (the same 503 with
# Retry-After as after the timeout; a socket handler's error ack) while the pool's own attempts
# go on; a connection idle in the pool is still handed out. The window ends by itself, so if the
# pool stopped trying (nothing asked it for a connection), the next request asks and waits as
# before, and its wait makes the pool try again.

# When the last attempt failed (monotonic), None once one succeeded; only attempts that started
# after the last success count: several attempts run side by side (one per lost
# connection), and one begun while PostgreSQL was still starting may fail after another has
# already connected.
_failed_at: float | None = None
_succeeded_at = 0.0


def _attempt_failed(started: float) -> None:
    global _failed_at
    if started > _succeeded_at:
        _failed_at = time.monotonic()


def _attempt_succeeded() -> None:
    global _failed_at, _succeeded_at
    _succeeded_at, _failed_at = time.monotonic(), None


class TrackedConnection(psycopg.Connection[Any]):
    """The pool's connections (`connection_class`): each attempt to open one records whether
    PostgreSQL answered."""

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
        started = time.monotonic()
        try:
            conn = super().connect(conninfo, **kwargs)
        except psycopg.OperationalError:
            _attempt_failed(started)
            raise
        _attempt_succeeded()
        return conn


class TrackedAsyncConnection(psycopg.AsyncConnection[Any]):
    """The same for the event loop's pool (vlvt.database): both pools reach one PostgreSQL, so
    what one learns about it holds for the other."""

    @classmethod
    async def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
        started = time.monotonic()
        try:
            conn = await super().connect(conninfo, **kwargs)
        except psycopg.OperationalError:
            _attempt_failed(started)
            raise
        _attempt_succeeded()
        return conn


class DatabaseUnreachable(psycopg.OperationalError):
    pass


def fail_fast_if_unreachable(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> None:
    """Raise (before asking `pool` for a connection) while its last connection attempt failed
    within the window and it has no idle connection to give."""
    failed_at = _failed_at
    if failed_at is None or time.monotonic() - failed_at >= settings.DATABASE_FAIL_FAST_SECONDS:
        return
    if pool.get_stats().get("pool_available", 0) == 0:
        raise DatabaseUnreachable("PostgreSQL unreachable: the pool's last connection attempt failed")
