"""Presence per user across sockets and processes (DECISIONS 22).

Redis holds the truth: `presence:user:<id>` is a hash of the user's live socket ids, each mapped to
the id of the process serving it. A user goes online when the hash gets its first socket and
offline when it loses its last one, wherever that socket was; only those transitions write
`user_status` and tell the user's match partners (`user_status_changed`).

Each process keeps `presence:proc:<process id>` alive while it serves sockets. Sockets of a
process whose key has expired (it crashed: no disconnect ran) are pruned whenever the user's hash
is next touched, so a crash cannot leave a user "connected" in Redis for ever.

The database write and the broadcast happen after the Redis change, so two transitions of one
user (a disconnect here, a connect elsewhere) can reach PostgreSQL in the other order; each writer
therefore re-reads the socket count after writing and writes again until the row agrees with Redis.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import time

from chat.realtime.throttle import redis_slots
from vlvt.redis import async_redis

logger = logging.getLogger("vlvt.realtime")

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
_PROC_PREFIX = "presence:proc:"
_PROC_TTL_SECONDS = 90
_PROC_REFRESH_SECONDS = 20
_last_refresh = 0.0

# KEYS[1] the user's socket hash. ARGV[1] process key prefix, ARGV[2] op ('add'|'remove'|'count'),
# ARGV[3] socket id, ARGV[4] process id. Prunes sockets of dead processes, applies the op and
# returns the number of live sockets left.
_UPDATE = """
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if redis.call('EXISTS', ARGV[1] .. fields[i + 1]) == 0 then
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
if ARGV[2] == 'add' then
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
elseif ARGV[2] == 'remove' then
  redis.call('HDEL', KEYS[1], ARGV[3])
end
return redis.call('HLEN', KEYS[1])
"""
_script = None


def _user_key(user_id: str) -> str:
    return f"presence:user:{user_id}"


async def keep_process_alive(force: bool = False) -> None:
    """Refresh this process's liveness key (called on connect and from socket heartbeats)."""
    global _last_refresh
    now = time.monotonic()
    if not force and now - _last_refresh < _PROC_REFRESH_SECONDS:
        return
    _last_refresh = now
    try:
        await async_redis().set(_PROC_PREFIX + PROCESS_ID, "1", ex=_PROC_TTL_SECONDS)
    except Exception:
        _last_refresh = 0.0
        logger.exception("presence: process liveness refresh failed")


async def _run(user_id: str, op: str, socket_id: str = "") -> int:
    global _script
    client = async_redis()
    if _script is None:
        _script = client.register_script(_UPDATE)
    async with redis_slots():
        count = await _script(keys=[_user_key(user_id)], args=[_PROC_PREFIX, op, socket_id, PROCESS_ID], client=client)
    return int(count)


async def socket_added(user_id: str, socket_id: str) -> bool:
    """Register a live socket; True when it is the user's first (the user came online)."""
    await keep_process_alive(force=_last_refresh == 0.0)
    return await _run(user_id, "add", socket_id) == 1


async def socket_removed(user_id: str, socket_id: str) -> bool:
    """Forget a socket; True when it was the user's last anywhere (the user went offline)."""
    return await _run(user_id, "remove", socket_id) == 0


async def live_sockets(user_id: str) -> int:
    return await _run(user_id, "count")


async def is_online(user_id: str) -> bool:
    """Whether the user has a connected socket on any process (for delivered-or-push)."""
    try:
        return await live_sockets(user_id) > 0
    except Exception:
        logger.exception("presence: lookup failed; treating the user as offline")
        return False
