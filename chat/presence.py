"""Presence transitions, told: `user_status` written and the match partners told
(`user_status_changed`) when a user's first socket anywhere comes or their last one goes
(docs/contract.md, "Presence"), whether a socket's consumer sees it (the transport's
`HOOKS.presence_changed`, set in ChatConfig.ready()) or the periodic sweep after a crash does.

The sweep (Celery beat, task `chat.presence_sweep`): a Daphne process that dies without its
disconnect logic (SIGKILL, out of memory, a lost machine) leaves its sockets in Redis presence and
its users online in `user_status` (the original never corrects that). Its liveness key expires
PRESENCE_PROCESS_TTL_MS after its last heartbeat; the sweep then deletes its sockets and, for each
user left without a socket anywhere, does what a last-socket disconnect does.

Safe to repeat: a user stays in `presence:offline_pending` until a run has written them offline
(or finds them connected again), so a run that dies half-way is finished by the next one. Runs
never overlap (a Redis lock), so a transition is told once. A live process keeps its key, so its
sockets are never touched; one that stalls past the key's life has its users marked offline, and
its sockets put them back online on their next refresh (SOCKET_REFRESH_MS) once it runs again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.utils import timezone

from chat.realtime import presence
from chat.realtime.handlers import db
from chat.realtime.throttle import publish
from chat.services.presence import presence_record_many, users_marked_online
from vlvt.http.api import iso
from vlvt.redis import async_redis

logger = logging.getLogger("vlvt.realtime")


class _PresenceWrites:
    """Transitions of all sockets of this process, written in batches: whatever arrived while a
    batch was being written is the next batch (one upsert and one partner query for all)."""

    MAX_BATCH = 500

    def __init__(self) -> None:
        self._pending: dict[str, tuple[bool, str | None, list[asyncio.Future[list[str]]]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def record(self, user_id: str, online: bool, socket_id: str | None) -> list[str]:
        """Write the user's status; returns their match partners."""
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        waiting = self._pending[user_id][2] if user_id in self._pending else []
        waiting.append(future)
        self._pending[user_id] = (online, socket_id, waiting)  # the latest transition wins
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._pending:
                users = list(self._pending)[: self.MAX_BATCH]
                batch = {u: self._pending.pop(u) for u in users}
                try:
                    partners = await db(presence_record_many)(
                        changes=[(u, on, sid) for u, (on, sid, _) in batch.items()]
                    )
                except Exception as exc:
                    for _, _, futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                for user_id, (_, _, futures) in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(partners.get(user_id, []))
        finally:
            self._task = None


_presence_writes = _PresenceWrites()


async def presence_changed(user_id: str, *, online: bool, socket_id: str | None) -> None:
    """Write `user_status` and tell the partners, until the row agrees with Redis (see presence)."""
    for _ in range(3):
        try:
            partners = await _presence_writes.record(user_id, online, socket_id if online else None)
            payload = {"userId": user_id, "isOnline": online, "timestamp": iso(timezone.now())}
            for partner_id in partners:
                await publish(partner_id, "user_status_changed", payload)
            now_online = await presence.live_sockets(user_id) > 0
        except Exception:
            logger.exception("presence transition failed")
            return
        if now_online == online:
            return
        online, socket_id = now_online, None


# --- the sweep after a crash ---------------------------------------------------------------------

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
    await asyncio.gather(*(presence_changed(user_id, online=False, socket_id=None) for user_id in gone))
    # presence_changed logs a failure and returns; such a user stays pending. (A user who connected
    # while this ran was written online again by it: pending too, and done next run.)
    failed = await database_sync_to_async(users_marked_online)(user_ids=gone)
    await presence.offline_done([user_id for user_id in users if user_id not in failed])
    return len(gone) - len(failed), len(users) - len(gone), len(failed)
