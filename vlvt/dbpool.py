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

from psycopg_pool import pool as _pool_module
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
    """Make every ConnectionPool of the process retry within MAX_DELAY (idempotent)."""
    upstream.set_pool_backoff(_pool_module, BoundedBackoff)
