"""The process's shared Redis clients; each registers its close with the shutdown coordinator."""

from __future__ import annotations

import threading

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from vlvt.lazy import Lazy
from vlvt.server.shutdown import Stage, register_closer

# redis-py retries a failed connection or command 3 times with backoffs of about 1, 2 and 4 s:
# with Redis stopped, every operation of the realtime layer then took ~7 s to fail (a new
# socket's CONNECT ended in a reset). Two quick retries ride out a blip; an outage fails in
# about a quarter of a second and the callers' own fallbacks take over.
CONNECT_TIMEOUT = 1.0


def quick_retry() -> AsyncRetry:
    return AsyncRetry(ExponentialBackoff(cap=0.2, base=0.05), 2)


_lock = threading.Lock()


def _new_sync_client() -> redis.Redis:
    client = redis.Redis.from_url(
        settings.REDIS_URL, health_check_interval=30, client_name=settings.DB_APPLICATION_NAME
    )
    register_closer("redis (sync client)", client.close, stage=Stage.REDIS)
    return client


def _new_async_client() -> aioredis.Redis:
    # A bounded pool that waits for a free connection instead of failing under a burst
    # (redis-py 8's default pool refuses past 100 connections).
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.REDIS_URL,
        max_connections=200,
        timeout=10,
        health_check_interval=30,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=quick_retry(),
        client_name=settings.DB_APPLICATION_NAME,
    )
    client = aioredis.Redis(connection_pool=pool)
    register_closer("redis (async client)", client.aclose, stage=Stage.REDIS)
    return client


_sync: Lazy[redis.Redis] = Lazy(_new_sync_client)
_async: Lazy[aioredis.Redis] = Lazy(_new_async_client)


def sync_redis() -> redis.Redis:
    """Thread-safe client (a connection pool) for sync code: rate limits, locks, idempotency."""
    return _sync.get()


def async_redis() -> aioredis.Redis:
    """Client for code on the server's event loop (consumers, the After Hours bridge)."""
    return _async.get()


_short: dict[tuple[str, str], redis.Redis] = {}


def short_timeout_redis(purpose: str, *, timeout: float, **options: object) -> redis.Redis:
    """A sync client of its own for `purpose` ("rate limit", "readiness", ...): `timeout` seconds to
    connect and per command and no retries, so a hung Redis fails its caller in that time instead of
    the shared client's seconds. One per purpose and REDIS_URL, closed at shutdown; `options` go to
    redis-py (`max_connections`, `health_check_interval`)."""
    key = (purpose, settings.REDIS_URL)
    client = _short.get(key)
    if client is None:
        with _lock:
            client = _short.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_connect_timeout=timeout,
                    socket_timeout=timeout,
                    retry=Retry(NoBackoff(), 0),
                    client_name=settings.DB_APPLICATION_NAME,
                    **options,
                )
                register_closer(f"redis ({purpose} client)", client.close, stage=Stage.REDIS)
                _short[key] = client
    return client
