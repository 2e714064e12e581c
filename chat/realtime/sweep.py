"""Presence after a crash: the periodic sweep (Celery beat, task `chat.presence_sweep`).

A Daphne process that dies without its disconnect logic (SIGKILL, out of memory, a lost machine)
leaves its sockets in Redis presence and its users online in `user_status` (docs/contract.md, "Presence":
the original never corrects that). Its liveness key expires PRESENCE_PROCESS_TTL_MS after its last
heartbeat; the sweep then deletes its sockets and, for each user left without a socket anywhere,
does what a last-socket disconnect does: `handlers.presence_changed` (user_status offline,
`user_status_changed` to the match partners).

Safe to repeat: a user stays in `presence:offline_pending` until a run has written them offline
(or finds them connected again), so a run that dies half-way is finished by the next one. Runs
never overlap (a Redis lock), so a transition is told once. A live process keeps its key, so its
sockets are never touched; one that stalls past the key's life has its users marked offline, and
its sockets put them back online on their next refresh (SOCKET_REFRESH_MS) once it runs again.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from channels.db import database_sync_to_async

from chat.realtime import handlers, presence
from chat.realtime.status import users_marked_online
from vlvt.redis import async_redis

_LOCK = "presence:sweep:lock"
_LOCK_MS = 300_000  # longer than any run; a run that died leaves the lock to expire
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_BATCH = 500


@dataclass(frozen=True, slots=True)
class SweepResult:
    sockets_deleted: int
    users_offline: int  # written offline and told to their partners
    users_back: int  # connected again meanwhile: their connect wrote them online
    users_pending: int  # left for the next run (the write failed, or they came back meanwhile)


async def presence_sweep() -> SweepResult | None:
    """One sweep over every user in Redis presence; None if another run holds the lock."""
    client = async_redis()
    token = secrets.token_hex(8)
    if not await client.set(_LOCK, token, nx=True, px=_LOCK_MS):
        return None
    try:
        deleted = await presence.sweep_dead_sockets()
        pending = await presence.offline_pending()
        totals = [0, 0, 0]
        for start in range(0, len(pending), _BATCH):
            for i, n in enumerate(await _mark_offline(pending[start : start + _BATCH])):
                totals[i] += n
    finally:
        await client.eval(_RELEASE, 1, _LOCK, token)
    return SweepResult(deleted, *totals)


async def _mark_offline(users: list[str]) -> tuple[int, int, int]:
    live = await asyncio.gather(*(presence.live_sockets(user_id) for user_id in users))
    gone = [user_id for user_id, count in zip(users, live, strict=True) if count == 0]
    # Together, so the writes share one batch (one upsert, one partner query).
    await asyncio.gather(
        *(handlers.presence_changed(user_id, online=False, socket_id=None) for user_id in gone)
    )
    # presence_changed logs a failure and returns; such a user stays pending. (A user who connected
    # while this ran was written online again by it: pending too, and done next run.)
    failed = await database_sync_to_async(users_marked_online)(user_ids=gone)
    await presence.offline_done([user_id for user_id in users if user_id not in failed])
    return len(gone) - len(failed), len(users) - len(gone), len(failed)
