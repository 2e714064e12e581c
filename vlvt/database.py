"""PostgreSQL connections of the process's own, outside Django's pool: a fresh connection for a
one-off purpose, and the event loop's pool.

The event loop's pool serves code that runs on the event loop itself, with no thread between it
and PostgreSQL (a socket's `send_message`: chat.socket_handlers). Django's pool serves everything
that runs on a thread (views, services called through `database_sync_to_async`). The two share
what they know of PostgreSQL: while the last attempt of either to connect failed, both fail fast
(vlvt.dbpool). The event loop's pool opens its first connection when first asked, holds at most
DATABASE_LOOP_POOL_MAX, closes idle ones after DATABASE_IDLE_TIMEOUT_MS, and is closed with the
process's other database connections at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from psycopg_pool import AsyncConnectionPool

from vlvt.dbpool import TrackedAsyncConnection, fail_fast_if_unreachable
from vlvt.server.shutdown import Stage, register_closer

# Connection parameters of Django's (pooled) connection that a plain psycopg connection refuses.
_POOL_ONLY = ("pool", "cursor_factory", "context", "prepare_threshold")


def _own_params() -> dict[str, Any]:
    params = connection.get_connection_params()
    for key in _POOL_ONLY:
        params.pop(key, None)
    return params


def own_connection(purpose: str, *, connect_timeout: int) -> psycopg.Connection:
    """A fresh autocommit connection to the default database, named `<DB_APPLICATION_NAME>-<purpose>`
    in pg_stat_activity: it neither waits for the pool nor counts among the process's sessions."""
    params = _own_params()
    params["application_name"] = f"{settings.DB_APPLICATION_NAME}-{purpose}"
    params["connect_timeout"] = connect_timeout
    return psycopg.connect(**params, autocommit=True)


# --- the event loop's pool -----------------------------------------------------------------------

_pool: AsyncConnectionPool[Any] | None = None
_pool_loop: asyncio.AbstractEventLoop | None = None
_closer_registered = False


@asynccontextmanager
async def loop_connection() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection of the event loop's pool, in autocommit (`conn.transaction()` for more than one
    statement), binding parameters on the client as Django's connections do. Raises
    `psycopg.OperationalError` at once while PostgreSQL is known to be unreachable and no idle
    connection is left, and `psycopg_pool.PoolTimeout` (an OperationalError) after
    DATABASE_CONNECTION_TIMEOUT_MS without a connection."""
    pool = await _loop_pool()
    fail_fast_if_unreachable(pool)
    async with pool.connection() as conn:
        yield conn


async def _loop_pool() -> AsyncConnectionPool[Any]:
    global _pool, _pool_loop, _closer_registered
    loop = asyncio.get_running_loop()
    if _pool is not None and _pool_loop is loop:
        return _pool
    # Named as the process's other sessions (DB_APPLICATION_NAME), so that the shutdown watchdog's
    # last resort ends them too.
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        kwargs={**_own_params(), "autocommit": True, "cursor_factory": psycopg.AsyncClientCursor},
        connection_class=TrackedAsyncConnection,
        min_size=0,
        max_size=settings.DATABASE_LOOP_POOL_MAX,
        timeout=settings.DATABASE_CONNECTION_TIMEOUT_SECONDS,
        max_idle=settings.DATABASE_IDLE_TIMEOUT_SECONDS,
        name="event-loop",
        open=False,
    )
    await pool.open(wait=False)
    if _pool is not None and _pool_loop is loop:  # another caller opened one meanwhile
        await pool.close()
        return _pool
    _pool, _pool_loop = pool, loop
    if not _closer_registered:
        register_closer("database (event loop's pool)", close_loop_pool, stage=Stage.DATABASE)
        _closer_registered = True
    return pool


async def close_loop_pool() -> None:
    """Close the event loop's pool (its connections in use are waited for up to 5 s); the next
    `loop_connection()` opens a new one."""
    global _pool, _pool_loop
    pool, _pool, _pool_loop = _pool, None, None
    if pool is not None:
        await pool.close()
