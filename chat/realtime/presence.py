"""Presence per user across sockets and processes (docs/contract.md, D22).

Redis holds the truth: `presence:user:<id>` is a hash of the user's live socket ids, each mapped to
the id of the process serving it. A user goes online when the hash gets its first socket and
offline when it loses its last one, wherever that socket was; only those transitions write
`user_status` and tell the user's match partners (`user_status_changed`).

Each process keeps `presence:proc:<process id>` alive while it serves sockets (every add sets it,
and socket heartbeats refresh it; PRESENCE_PROCESS_TTL_MS). Sockets of a process whose key has
expired (it crashed: no disconnect ran) are dead: they never count, and they are deleted by the
next add or remove on the user's hash, or by the periodic sweep (`sweep_dead_sockets`,
chat.presence), which finds the users they kept online. Whoever deletes entries reports the
transition it causes (a count only leaves dead entries out), so a crash's offline transition is
never lost: add and remove report to their socket's consumer, the sweep through
`presence:offline_pending`. Every connected socket adds itself again every minute (see the
consumer's refresh), so the hashes come back if Redis loses its data, and a process that was only
slow (its key expired while it stalled) puts its users back online.

The database write and the broadcast happen after the Redis change, so two transitions of one
user (a disconnect here, a connect elsewhere) can reach PostgreSQL in the other order; each writer
therefore re-reads the socket count after writing and writes again until the row agrees with Redis.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time

from chat.realtime import conf
from chat.realtime.throttle import redis_slots
from vlvt.redis import async_redis, short_timeout_redis

logger = logging.getLogger("vlvt.realtime")

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
_PROC_PREFIX = "presence:proc:"
_USER_PREFIX = "presence:user:"
OFFLINE_PENDING = "presence:offline_pending"  # users the sweep left without sockets, to mark offline
_last_refresh = 0.0
# The delivered-or-push lookup gives up after this long. A hung Redis (frozen, failing over) held
# a request thread, or one of the realtime layer's Redis slots (`redis_slots`), per lookup for the
# whole outage: the publications of every socket queued for a slot behind them, and were still
# queued seconds after Redis answered again. A lookup that fails leaves its decision to the
# channel layer (chat.services.delivery), so giving up early loses nothing.
LOOKUP_TIMEOUT = 1.0  # as the layer's REMOTE_TIMEOUT: a loaded Redis is not taken for a hung one

# KEYS[1] the user's socket hash, KEYS[2] OFFLINE_PENDING. ARGV[1] process key prefix, ARGV[2] op
# ('add'|'remove'|'count'|'prune'), ARGV[3] socket id (for 'prune' the user id), ARGV[4] process id,
# ARGV[5] process key TTL in ms. An add proves the process alive (its key is set first, so its own
# sockets are never dead). Sockets of processes without a key are dead: 'count' leaves them out,
# the other ops delete them. A prune that deletes a user's last sockets adds the user to KEYS[2],
# in the same step, so exactly one sweep sees that transition. Returns {live sockets now, whether
# the op changed the hash (for 'prune': how many sockets it deleted)}.
_UPDATE = """
if ARGV[2] == 'add' then
  redis.call('SET', ARGV[1] .. ARGV[4], '1', 'PX', tonumber(ARGV[5]))
end
local fields = redis.call('HGETALL', KEYS[1])
local live, dead = 0, 0
for i = 1, #fields, 2 do
  if redis.call('EXISTS', ARGV[1] .. fields[i + 1]) == 1 then
    live = live + 1
  elseif ARGV[2] ~= 'count' then
    dead = dead + redis.call('HDEL', KEYS[1], fields[i])
  end
end
local changed = 0
if ARGV[2] == 'count' then
  return {live, 0}
elseif ARGV[2] == 'add' then
  changed = redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
elseif ARGV[2] == 'remove' then
  changed = redis.call('HDEL', KEYS[1], ARGV[3])
elseif ARGV[2] == 'prune' then
  changed = dead
  if dead > 0 and live == 0 then
    redis.call('SADD', KEYS[2], ARGV[3])
  end
end
return {redis.call('HLEN', KEYS[1]), changed}
"""
_script = None
_sync_script = None


def _user_key(user_id: str) -> str:
    return _USER_PREFIX + user_id


async def keep_process_alive(force: bool = False) -> None:
    """Refresh this process's liveness key (called from socket heartbeats, at most every 20 s, or
    a quarter of the key's life if that is shorter)."""
    global _last_refresh
    now = time.monotonic()
    ttl_ms = conf.process_ttl_ms()
    if not force and now - _last_refresh < min(20.0, ttl_ms / 4000):
        return
    _last_refresh = now
    try:
        await async_redis().set(_PROC_PREFIX + PROCESS_ID, "1", px=ttl_ms)
    except Exception:
        _last_refresh = 0.0
        logger.exception("presence: process liveness refresh failed")


async def _run(user_id: str, op: str, socket_id: str = "") -> tuple[int, int]:
    global _script
    client = async_redis()
    if _script is None:
        _script = client.register_script(_UPDATE)
    async with redis_slots():
        count, changed = await _script(
            keys=[_user_key(user_id), OFFLINE_PENDING],
            args=[_PROC_PREFIX, op, socket_id, PROCESS_ID, conf.process_ttl_ms()],
            client=client,
        )
    return int(count), int(changed)


async def socket_added(user_id: str, socket_id: str) -> bool:
    """Register a live socket (again: idempotent); True when that made it the user's first, i.e.
    the user came online."""
    count, added = await _run(user_id, "add", socket_id)
    return bool(added) and count == 1


async def socket_removed(user_id: str, socket_id: str) -> bool:
    """Forget a socket; True when the user has none left anywhere (the user went offline). Also
    True if the entry was gone already (pruned while this process looked dead): the user is
    offline then too, and saying it twice is harmless."""
    count, _ = await _run(user_id, "remove", socket_id)
    return count == 0


async def live_sockets(user_id: str) -> int:
    return (await _run(user_id, "count"))[0]


def online_users(user_ids: list[str]) -> set[str] | None:
    """Those of `user_ids` with a live socket on any process (delivered-or-push), for sync code
    (a request's thread); None when Redis did not answer."""
    global _sync_script
    client = short_timeout_redis("presence lookup", timeout=LOOKUP_TIMEOUT, health_check_interval=30)
    if _sync_script is None:
        _sync_script = client.register_script(_UPDATE)
    try:
        counts = [
            _sync_script(keys=[_user_key(u), OFFLINE_PENDING], args=_count_args(), client=client)[0]
            for u in user_ids
        ]
    except Exception as exc:
        _lookups.failed(exc)
        return None
    _lookups.answered()
    return {user_id for user_id, live in zip(user_ids, counts, strict=True) if int(live) > 0}


async def aonline_users(user_ids: list[str]) -> set[str] | None:
    """`online_users` for code on the event loop (the socket's background task)."""
    try:
        async with asyncio.timeout(LOOKUP_TIMEOUT):
            counts = await asyncio.gather(*(live_sockets(user_id) for user_id in user_ids))
    except Exception as exc:
        _lookups.failed(exc)
        return None
    _lookups.answered()
    return {user_id for user_id, live in zip(user_ids, counts, strict=True) if live > 0}


class _Lookups:
    """One warning when lookups start failing (Redis down: every send would log one, with its
    traceback) and one line when they answer again; while Redis comes back they may fail again
    for a moment (a backlog behind a thawed Redis), which is not a new outage: a failure within
    QUIET_SECONDS of the last warning is not told again, nor its end."""

    QUIET_SECONDS = 30.0
    failing = False
    told = False
    warned_at: float | None = None

    def failed(self, exc: BaseException) -> None:
        if self.failing:
            return
        self.failing = True
        now = time.monotonic()
        self.told = self.warned_at is None or now - self.warned_at >= self.QUIET_SECONDS
        if self.told:
            self.warned_at = now
            logger.warning("presence: lookups fail (%r); delivered-or-push waits for Redis", exc)

    def answered(self) -> None:
        if self.failing:
            self.failing = False
            if self.told:
                logger.warning("presence: lookups answer again")


_lookups = _Lookups()


def _count_args() -> list[str | int]:
    return [_PROC_PREFIX, "count", "", PROCESS_ID, conf.process_ttl_ms()]


async def sweep_dead_sockets(batch: int = 200) -> int:
    """Delete every socket entry of a dead process; users left without sockets join
    OFFLINE_PENDING (see `offline_pending`). Returns how many entries were deleted.

    Safe at any time and to repeat: each user's hash is checked and pruned in one atomic step, and a
    process that is alive keeps its key, so its sockets are never touched."""
    client = async_redis()
    pruned = 0
    users: list[str] = []
    async for key in client.scan_iter(match=_USER_PREFIX + "*", count=500):
        users.append(key.decode()[len(_USER_PREFIX) :])
        if len(users) >= batch:
            pruned += await _prune(users)
            users = []
    return pruned + await _prune(users)


async def _prune(users: list[str]) -> int:
    results = await asyncio.gather(*(_run(user_id, "prune", user_id) for user_id in users))
    return sum(deleted for _, deleted in results)


async def offline_pending() -> list[str]:
    """Users whose last sockets the sweep deleted, not yet marked offline."""
    members = await async_redis().smembers(OFFLINE_PENDING)
    return [member.decode() if isinstance(member, bytes) else member for member in members]


async def offline_done(user_ids: list[str]) -> None:
    if user_ids:
        await async_redis().srem(OFFLINE_PENDING, *user_ids)
