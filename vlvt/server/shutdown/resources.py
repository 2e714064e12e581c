"""Closers for the resources every serving process has: the channel layer and the database.

Registered by the serving process (Daphne server, Celery worker) when it starts serving, never
on import.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import channel_layers
from django.conf import settings
from django.db import connections

from vlvt.database import own_connection
from vlvt.server.shutdown import Stage, register_closer

logger = logging.getLogger("vlvt.shutdown")


async def close_channel_layers() -> None:
    """Close the channel layer's Redis pools (never `flush`: other processes share the data)."""
    for alias in list(channel_layers.backends):
        layer = channel_layers.backends[alias]
        close = getattr(layer, "close_pools", None)
        if close is not None:
            await close()


def close_channel_layers_sync() -> None:
    async_to_sync(close_channel_layers)()


def close_databases() -> None:
    """Close this thread's connections and every pool (the pool owns all the other threads')."""
    for conn in connections.all(initialized_only=True):
        conn.close()
    for alias in connections:
        close_pool = getattr(connections[alias], "close_pool", None)
        if close_pool is not None:
            close_pool()


def terminate_own_backends() -> None:
    """At the forced deadline: end this process's PostgreSQL sessions from a fresh connection, so a
    write blocked when the process dies is rolled back instead of committing later."""
    with own_connection("watchdog", connect_timeout=2) as conn:
        rows = conn.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            [settings.DB_APPLICATION_NAME],
        ).fetchall()
    logger.error("shutdown: terminated %d database session(s) of this process", len(rows))


def register_process_resources(*, asynchronous: bool) -> None:
    register_closer(
        "channel layer",
        close_channel_layers if asynchronous else close_channel_layers_sync,
        stage=Stage.CHANNEL_LAYER,
    )
    register_closer("database connections", close_databases, stage=Stage.DATABASE)
