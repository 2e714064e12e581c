"""Socket event rate limits: a sliding window per user and event name, in Redis (docs/contract.md, D21).

The window semantics are the original `socket-rate-limiter`'s (a log of event times; an event is
allowed while fewer than `max_events` fall in the last `window_ms`; denied events are not recorded;
`retryAfterMs` = oldest time in the window + window - now), but the log lives in a Redis sorted set
per user, so every socket and process of a user shares it and reconnecting does not reset it.
Time is Redis's clock, the one clock all processes share.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass

from django.conf import settings

from chat.realtime.throttle import redis_slots
from vlvt.http.ratelimit import STORE_RETRY_SECONDS, STORE_TIMEOUT, StoreOutage
from vlvt.redis import async_redis

logger = logging.getLogger("vlvt.realtime")


@dataclass(frozen=True, slots=True)
class SocketLimit:
    max_events: int
    window_ms: int


# docs/contract.md, "Socket rate limits"; `ping`, `after_hours:join_chat` and `after_hours:leave_chat`
# have no limit.
LIMITS: dict[str, SocketLimit] = {
    "send_message": SocketLimit(30, 60_000),
    "typing": SocketLimit(10, 10_000),
    "mark_read": SocketLimit(60, 60_000),
    "get_online_status": SocketLimit(30, 60_000),
    "after_hours:send_message": SocketLimit(30, 60_000),
    "after_hours:typing": SocketLimit(10, 10_000),
    "after_hours:mark_read": SocketLimit(60, 60_000),
}

# KEYS[1] the user's log for one event; ARGV: window ms, max events, a unique member.
# Returns {1, 0} when allowed (and recorded), {0, retryAfterMs} when denied (not recorded).
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(0, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
"""

_script = None
_members = itertools.count()
# Fails open as the HTTP limiter does (vlvt.http.ratelimit): a hung Redis costs an event STORE_TIMEOUT
# once, then the limit is skipped for STORE_RETRY_SECONDS.
outage = StoreOutage(STORE_RETRY_SECONDS)


def _key(event: str, user_id: str) -> str:
    return f"srl:{event}:{user_id}"


async def check(event: str, user_id: str, member_prefix: str) -> int | None:
    """None when the event may run; otherwise retryAfterMs. Fails open if Redis is unreachable."""
    limit = LIMITS.get(event)
    if limit is None or not settings.RATE_LIMITS_ENABLED or outage.skipping():
        return None
    global _script
    client = async_redis()
    if _script is None:
        _script = client.register_script(_SLIDING_WINDOW)
    member = f"{member_prefix}:{next(_members)}"
    try:
        async with redis_slots():
            async with asyncio.timeout(STORE_TIMEOUT):  # the call only, not the wait for a slot
                allowed, retry_after = await _script(
                    keys=[_key(event, user_id)],
                    args=[limit.window_ms, limit.max_events, member],
                    client=client,
                )
    except Exception as exc:
        outage.failed()
        logger.error(
            "socket rate limit check failed; allowing the event", extra={"event": event, "error": repr(exc)}
        )
        return None
    return None if int(allowed) else int(retry_after)


def error_payload(event: str, retry_after_ms: int) -> dict[str, object]:
    """The `rate_limit_error` event the offending socket receives."""
    return {
        "error": "Rate limit exceeded",
        "code": "RATE_LIMIT_EXCEEDED",
        "eventName": event,
        "retryAfterMs": retry_after_ms,
        "limit": LIMITS[event].max_events,
    }


# A full event queue (chat.realtime.consumer) is told as a rate limit: the app already backs off
# on it. Its queue drains within about this long under normal load.
QUEUE_FULL_RETRY_MS = 1000


def queue_full_payload(event: str, limit: int) -> dict[str, object]:
    """The `rate_limit_error` event for an event refused because the socket's queue is full;
    `limit` is the queue's size in events."""
    return {
        "error": "Rate limit exceeded",
        "code": "RATE_LIMIT_EXCEEDED",
        "eventName": event,
        "retryAfterMs": QUEUE_FULL_RETRY_MS,
        "limit": limit,
    }


def error_ack(retry_after_ms: int) -> dict[str, object]:
    return {
        "success": False,
        "error": "Rate limit exceeded",
        "code": "RATE_LIMIT_EXCEEDED",
        "retryAfterMs": retry_after_ms,
    }
