"""Engine.IO and presence timings. The defaults are the original server's (Engine.IO) or ours; tests
shorten them by environment."""

from __future__ import annotations

from functools import cache

from vlvt.env import env_float, env_int


@cache
def ping_interval_ms() -> int:
    return env_int("SOCKET_PING_INTERVAL_MS", 25_000)


@cache
def ping_timeout_ms() -> int:
    return env_int("SOCKET_PING_TIMEOUT_MS", 60_000)


@cache
def connect_timeout_ms() -> int:
    """How long an Engine.IO connection may stay without a Socket.IO CONNECT (`connectTimeout`)."""
    return env_int("SOCKET_CONNECT_TIMEOUT_MS", 45_000)


@cache
def refresh_ms() -> int:
    """How often a connected socket re-asserts its Redis state (group memberships, presence)."""
    return env_int("SOCKET_REFRESH_MS", 60_000)


@cache
def process_ttl_ms() -> int:
    """How long a process's presence liveness key lives without a refresh: its sockets count as
    connected until then. Refreshed on socket heartbeats, so it must exceed the ping interval well."""
    return env_int("PRESENCE_PROCESS_TTL_MS", 90_000)


def presence_sweep_seconds() -> float:
    """How often beat runs the presence sweep (read when the schedule is built, not cached)."""
    return env_float("PRESENCE_SWEEP_SECONDS", 60.0)


@cache
def queue_max_events() -> int:
    """The most events one socket may have waiting to be handled; more are refused."""
    return env_int("SOCKET_QUEUE_MAX_EVENTS", 1024)


@cache
def queue_max_bytes() -> int:
    """The most packet characters one socket may have waiting to be handled (a packet is at most
    SOCKET_PAYLOAD_LIMIT, 64 KB); more are refused."""
    return env_int("SOCKET_QUEUE_MAX_BYTES", 1024 * 1024)


@cache
def queue_flood_limit() -> int:
    """Events refused for a full queue, since it was last empty, before the socket is closed."""
    return env_int("SOCKET_QUEUE_FLOOD_LIMIT", 1024)
