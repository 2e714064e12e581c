"""Engine.IO and presence timings, from Django settings (vlvt/settings.py reads them from the
environment). The defaults are the original server's (Engine.IO) or ours; tests shorten them by
environment. Each is read when called, so a test's settings override applies at once."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings


def _setting(name: str, doc: str) -> Callable[[], int]:
    def read() -> int:
        return getattr(settings, name)

    read.__name__ = read.__qualname__ = name.lower()
    read.__doc__ = doc
    return read


ping_interval_ms = _setting("SOCKET_PING_INTERVAL_MS", "The Engine.IO ping interval (`pingInterval`).")
ping_timeout_ms = _setting("SOCKET_PING_TIMEOUT_MS", "How long a ping waits for its pong (`pingTimeout`).")
connect_timeout_ms = _setting(
    "SOCKET_CONNECT_TIMEOUT_MS",
    "How long an Engine.IO connection may stay without a Socket.IO CONNECT (`connectTimeout`).",
)
refresh_ms = _setting(
    "SOCKET_REFRESH_MS",
    "How often a connected socket re-asserts its Redis state (group memberships, presence).",
)
process_ttl_ms = _setting(
    "PRESENCE_PROCESS_TTL_MS",
    "How long a process's presence liveness key lives without a refresh: its sockets count as "
    "connected until then. Refreshed on socket heartbeats, so it must exceed the ping interval well.",
)
queue_max_events = _setting(
    "SOCKET_QUEUE_MAX_EVENTS", "The most events one socket may have waiting to be handled; more are refused."
)
queue_max_bytes = _setting(
    "SOCKET_QUEUE_MAX_BYTES",
    "The most packet characters one socket may have waiting to be handled (a packet is at most "
    "SOCKET_PAYLOAD_LIMIT, 64 KB); more are refused.",
)
queue_flood_limit = _setting(
    "SOCKET_QUEUE_FLOOD_LIMIT",
    "Events refused for a full queue, since it was last empty, before the socket is closed.",
)


def undelivered_push_seconds() -> float:
    """How long a publication that Redis did not take waits in the retry queue before its new
    messages go to their recipients as a push (chat.realtime.layer)."""
    return settings.SOCKET_UNDELIVERED_PUSH_SECONDS
