"""Engine.IO and presence timings, from Django settings (vlvt/settings.py reads them from the
environment). The defaults are the original server's (Engine.IO) or ours; tests shorten them by
environment."""

from __future__ import annotations

from django.conf import settings


def ping_interval_ms() -> int:
    return settings.SOCKET_PING_INTERVAL_MS


def ping_timeout_ms() -> int:
    return settings.SOCKET_PING_TIMEOUT_MS


def connect_timeout_ms() -> int:
    """How long an Engine.IO connection may stay without a Socket.IO CONNECT (`connectTimeout`)."""
    return settings.SOCKET_CONNECT_TIMEOUT_MS


def refresh_ms() -> int:
    """How often a connected socket re-asserts its Redis state (group memberships, presence)."""
    return settings.SOCKET_REFRESH_MS


def process_ttl_ms() -> int:
    """How long a process's presence liveness key lives without a refresh: its sockets count as
    connected until then. Refreshed on socket heartbeats, so it must exceed the ping interval well."""
    return settings.PRESENCE_PROCESS_TTL_MS


def undelivered_push_seconds() -> float:
    """How long a publication that Redis did not take waits in the retry queue before its new
    messages go to their recipients as a push (chat.realtime.layer)."""
    return settings.SOCKET_UNDELIVERED_PUSH_SECONDS


def queue_max_events() -> int:
    """The most events one socket may have waiting to be handled; more are refused."""
    return settings.SOCKET_QUEUE_MAX_EVENTS


def queue_max_bytes() -> int:
    """The most packet characters one socket may have waiting to be handled (a packet is at most
    SOCKET_PAYLOAD_LIMIT, 64 KB); more are refused."""
    return settings.SOCKET_QUEUE_MAX_BYTES


def queue_flood_limit() -> int:
    """Events refused for a full queue, since it was last empty, before the socket is closed."""
    return settings.SOCKET_QUEUE_FLOOD_LIMIT
