"""Presence per user across sockets and processes (DECISIONS 22).

Redis holds the truth: `presence:user:<id>` is a hash of the user's live socket ids, each mapped to
the id of the process serving it. A user goes online when the hash gets its first socket and
offline when it loses its last one, wherever that socket was; only those transitions write
`user_status` and tell the user's match partners (`user_status_changed`).

Each process keeps `presence:proc:<process id>` alive while it serves sockets (every add sets it,
and socket heartbeats refresh it). Sockets of a process whose key has expired (it crashed: no
disconnect ran) are pruned whenever the user's hash is next touched, so a crash cannot leave a
user "connected" in Redis for ever. Every connected socket adds itself again every minute (see the
consumer's refresh), so the hashes come back if Redis loses its data.

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
# ARGV[3] socket id, ARGV[4] process id, ARGV[5] process key TTL. An add proves the process alive
# (its key is set first, so its own sockets are never pruned). Prunes sockets of dead processes,
# applies the op and returns {live sockets now, whether the op changed the hash}.
_UPDATE = """
if ARGV[2] == 'add' then
  redis.call('SET', ARGV[1] .. ARGV[4], '1', 'EX', tonumber(ARGV[5]))
end
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if redis.call('EXISTS', ARGV[1] .. fields[i + 1]) == 0 then
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
local changed = 0
if ARGV[2] == 'add' then
  changed = redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
elseif ARGV[2] == 'remove' then
  changed = redis.call('HDEL', KEYS[1], ARGV[3])
end
return {redis.call('HLEN', KEYS[1]), changed}
"""
_script = None


def _user_key(user_id: str) -> str:
    return f"presence:user:{user_id}"


async def keep_process_alive(force: bool = False) -> None:
    """Refresh this process's liveness key (called from socket heartbeats, at most every 20 s)."""
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


async def _run(user_id: str, op: str, socket_id: str = "") -> tuple[int, bool]:
    global _script
    client = async_redis()
    if _script is None:
        _script = client.register_script(_UPDATE)
    async with redis_slots():
        count, changed = await _script(
            keys=[_user_key(user_id)],
            args=[_PROC_PREFIX, op, socket_id, PROCESS_ID, _PROC_TTL_SECONDS],
            client=client,
        )
    return int(count), bool(changed)


async def socket_added(user_id: str, socket_id: str) -> bool:
    """Register a live socket (again: idempotent); True when that made it the user's first, i.e.
    the user came online."""
    count, added = await _run(user_id, "add", socket_id)
    return added and count == 1


async def socket_removed(user_id: str, socket_id: str) -> bool:
    """Forget a socket; True when the user has none left anywhere (the user went offline). Also
    True if the entry was gone already (pruned while this process looked dead): the user is
    offline then too, and saying it twice is harmless."""
    count, _ = await _run(user_id, "remove", socket_id)
    return count == 0


async def live_sockets(user_id: str) -> int:
    return (await _run(user_id, "count"))[0]


async def is_online(user_id: str) -> bool:
    """Whether the user has a connected socket on any process (for delivered-or-push)."""
    try:
        return await live_sockets(user_id) > 0
    except Exception:
        logger.exception("presence: lookup failed; treating the user as offline")
        return False
