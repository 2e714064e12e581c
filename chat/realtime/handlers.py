"""Socket event handlers: parse the payload, call one chat service, shape the ack, then fan out.

A handler is `async def h(ctx, data) -> ack | None`, registered with `@handler(name, failure=...)`.
`data` is the event's first argument, whatever the client sent: each handler checks its shape
before touching a field (docs/contract.md, D19), so null, a list or a wrong type gets an error ack and the
socket stays up. Work that must follow the ack goes through `ctx.defer(...)` (events to other
users: the socket's fan-out task, in order) or `ctx.later(...)` (database follow-ups: the socket's
background task, in order); the next event does not wait for either. An exception becomes
`{success:false, error:<failure>}`, the original's catch-all.

Shape errors (the original crashed on these; there is no original wording):

| event | payload not an object / bad field type |
|---|---|
| send_message | `Invalid message data` (also a non-string, non-integer tempId) |
| mark_read | `Invalid read receipt data` (messageIds present but not a list of strings) |
| typing | `Invalid typing data` (isTyping not a boolean) |
| get_online_status | `User IDs required` (userIds missing, empty or not a list) |

A matchId that is missing or not a string is `Match not found`, as in the original.

The After Hours events register here too, from their own module, with the same decorator.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.utils import timezone

from chat.realtime import presence
from chat.realtime.throttle import publish, publish_many
from vlvt.http.api import iso

if TYPE_CHECKING:
    from chat.realtime.consumer import SocketIOConsumer

logger = logging.getLogger("vlvt.realtime")

Ack = dict[str, Any]
Handler = Callable[["EventContext", Any], Awaitable[Ack | None]]
BatchHandler = Callable[["EventContext", list[Any]], Awaitable[list[Ack]]]


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    fn: Handler
    failure: str  # the ack when the handler raises
    batch: BatchHandler | None = None  # several queued events of this name at once, in order


HANDLERS: dict[str, HandlerSpec] = {}


def handler(name: str, *, failure: str, batch: BatchHandler | None = None) -> Callable[[Handler], Handler]:
    """Register `fn` for client event `name` (rate limits are looked up by name in ratelimit.LIMITS).

    With `batch`, consecutive events of this name that queued up on one socket are handled by one
    `batch(ctx, [data, ...])` call, which returns their acks in order; it must mean exactly what
    calling `fn` for each in turn means."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = HandlerSpec(fn, failure, batch)
        return fn

    return register


class EventContext:
    """What a handler may do with the socket that sent the event."""

    __slots__ = ("consumer", "user_id", "socket_id", "deferred", "background")

    def __init__(self, consumer: SocketIOConsumer, user_id: str, socket_id: str) -> None:
        self.consumer = consumer
        self.user_id = user_id
        self.socket_id = socket_id
        self.deferred: list[Callable[[], Awaitable[Any]]] = []
        self.background: list[Callable[[], Awaitable[Any]]] = []

    def defer(self, fn: Callable[[], Awaitable[Any]]) -> None:
        """Run `fn()` after the ack (publishing events to others), in order with the socket's
        other fan-out; the disconnect logic waits for it."""
        self.deferred.append(fn)

    def later(self, fn: Callable[[], Awaitable[Any]]) -> None:
        """Run `fn()` after the ack on the socket's background task, in order with the socket's
        other background work (database follow-ups); the disconnect logic waits for it."""
        self.background.append(fn)

    async def emit(self, event: str, data: Any) -> None:
        """An event to this socket only."""
        await self.consumer.emit(event, data)

    async def join(self, group: str) -> None:
        await self.consumer.join(group)

    async def leave(self, group: str) -> None:
        await self.consumer.leave(group)


def db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """A chat service or selector, called off the event loop.

    Not thread-sensitive: each call is self-contained (its own transaction, its pooled connection
    returned when it ends), so sockets' database work runs in parallel instead of queueing on one
    thread.
    """
    return database_sync_to_async(fn, thread_sensitive=False)


def _error(message: str) -> Ack:
    return {"success": False, "error": message}


async def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a service; a ChatError becomes its ack (returned, not raised)."""
    from chat.errors import ChatError

    try:
        return await db(fn)(**kwargs)
    except ChatError as exc:
        return exc.ack()


# --- regular chat (docs/contract.md, "Chat socket events") -----------------------------------------


async def send_messages(ctx: EventContext, items: list[Any]) -> list[Ack]:
    """`send_message` for events queued on one socket: one trip to a database thread for all of
    them, each sent in turn exactly as alone; the created ones fan out after the acks, in order,
    one publication per recipient."""
    results = await db(_send_each)(ctx.user_id, items)
    created = [r for r in results if not isinstance(r, dict) and r.created]
    if created:  # a resend of a known tempId was fanned out the first time

        async def fan_out() -> None:
            by_recipient: dict[str, list[tuple[str, Any]]] = {}
            for r in created:
                by_recipient.setdefault(r.recipient_id, []).append(("new_message", r.message))
            for recipient_id, emits in by_recipient.items():
                await publish_many(recipient_id, emits)
            for r in created:
                ctx.consumer.note_sent(r.recipient_id, r.message["id"])

        ctx.defer(fan_out)
    return [r if isinstance(r, dict) else r.ack() for r in results]


def _send_each(sender_id: str, items: list[Any]) -> list[Any]:
    """Several sends commit together (one WAL flush instead of one per message; nothing is acked
    before the commit), each in a savepoint of its own so a rejected one changes nothing else."""
    from django.db import transaction

    if len(items) == 1:
        return [_send_one(sender_id, items[0])]
    try:
        with transaction.atomic():
            results = []
            for data in items:
                try:
                    with transaction.atomic():
                        results.append(_send_one(sender_id, data))
                except Exception:  # this one's savepoint is rolled back; the others stand
                    logger.exception("socket event handler failed", extra={"event": "send_message"})
                    results.append(_error("Failed to send message"))
            return results
    except Exception:  # the commit failed: nothing of the batch was stored
        logger.exception("socket event handler failed", extra={"event": "send_message"})
        return [_error("Failed to send message")] * len(items)


def _send_one(sender_id: str, data: Any) -> Any:
    from chat.errors import ChatError
    from chat.services.messages import message_send

    if not isinstance(data, dict):
        return _error("Invalid message data")
    try:
        return message_send(
            sender_id=sender_id,
            match_id=data.get("matchId"),
            text=data.get("text"),
            temp_id=data.get("tempId"),
        )
    except ChatError as exc:
        return exc.ack()


@handler("send_message", failure="Failed to send message", batch=send_messages)
async def send_message(ctx: EventContext, data: Any) -> Ack:
    return (await send_messages(ctx, [data]))[0]


async def deliver(sent: list[tuple[str, str]]) -> None:
    """After `new_message` went out: delivered status for recipients online anywhere, a push for
    the others. Batched: one presence check per recipient, one UPDATE for all online ones."""
    from chat.realtime.status import messages_mark_delivered

    by_recipient: dict[str, list[str]] = {}
    for recipient_id, message_id in sent:
        by_recipient.setdefault(recipient_id, []).append(message_id)
    delivered: list[str] = []
    offline: list[tuple[str, str]] = []
    for recipient_id, ids in by_recipient.items():
        if await presence.is_online(recipient_id):
            delivered.extend(ids)
        else:
            offline.extend((recipient_id, i) for i in ids)
    if delivered:
        await db(messages_mark_delivered)(message_ids=delivered)
    if offline:
        await db(_push_all)(offline)


def _push_all(offline: list[tuple[str, str]]) -> None:
    from chat import push

    for recipient_id, message_id in offline:
        push.new_message(recipient_id=recipient_id, message_id=message_id)


@handler("mark_read", failure="Failed to mark messages as read")
async def mark_read(ctx: EventContext, data: Any) -> Ack:
    from chat.services.messages import messages_mark_read

    if not isinstance(data, dict):
        return _error("Invalid read receipt data")
    ids = data.get("messageIds")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        return _error("Invalid read receipt data")
    result = await _call(
        messages_mark_read, user_id=ctx.user_id, match_id=data.get("matchId"), message_ids=ids
    )
    if isinstance(result, dict):
        return result
    if result.count:
        ctx.defer(lambda: publish(result.notify_user_id, "messages_read", result.event()))
    return result.ack()


@handler("typing", failure="Failed to update typing status")
async def typing(ctx: EventContext, data: Any) -> Ack:
    from chat.services.messages import typing_set

    if not isinstance(data, dict):
        return _error("Invalid typing data")
    result = await _call(
        typing_set, user_id=ctx.user_id, match_id=data.get("matchId"), is_typing=data.get("isTyping")
    )
    if isinstance(result, dict):
        return result
    ctx.defer(lambda: publish(result.recipient_id, "user_typing", result.payload))
    return result.ack()


@handler("get_online_status", failure="Failed to get online status")
async def get_online_status(ctx: EventContext, data: Any) -> Ack:
    from chat.selectors import online_statuses

    user_ids = data.get("userIds") if isinstance(data, dict) else None
    if not isinstance(user_ids, list) or not user_ids:
        return _error("User IDs required")
    statuses = await db(online_statuses)(viewer_id=ctx.user_id, user_ids=user_ids)
    return {"success": True, "statuses": statuses}


@handler("ping", failure="Failed to ping")
async def ping(ctx: EventContext, data: Any) -> Ack:
    return {"timestamp": int(time.time() * 1000)}


# --- presence transitions -----------------------------------------------------------------------


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
        from chat.realtime.status import presence_record_many

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
