"""Engine.IO timings. The defaults are the original server's; tests shorten them by environment."""
from __future__ import annotations

from functools import cache

from vlvt.env import env_int


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
