"""The chat client events (docs/contract.md, "Chat socket events"), registered with the transport's
`@handler` when ChatConfig.ready() imports this module; After Hours' are in
`chat.after_hours.socket_handlers`.

Shape errors (the original crashed on these; there is no original wording):

| event | payload not an object / bad field type |
|---|---|
| send_message | `Invalid message data` (also a non-string, non-integer tempId) |
| mark_read | `Invalid read receipt data` (messageIds present but not a list of strings) |
| typing | `Invalid typing data` (isTyping not a boolean) |
| get_online_status | `User IDs required` (userIds missing, empty or not a list) |

A matchId that is missing or not a string is `Match not found`, as in the original.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError, transaction

from chat.errors import ChatError
from chat.realtime import presence, registry
from chat.realtime.handlers import Ack, EventContext, db, error, handler
from chat.realtime.throttle import publish, publish_many
from chat.selectors import online_statuses
from chat.services.delivery import adeliver_or_push, deliver_or_push
from chat.services.messages import message_send, messages_mark_read, prepare_send, typing_set
from vlvt.database import loop_connection

logger = logging.getLogger("vlvt.realtime")


async def call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a service off the event loop; a ChatError becomes its ack (returned, not raised)."""
    try:
        return await db(fn)(**kwargs)
    except ChatError as exc:
        return exc.ack()


# (sender, match id) -> the match's other user, as learnt from earlier sends: a match's two users
# never change. Only a guess: a message is marked early only if its send names the same recipient.
_RECIPIENTS: dict[tuple[str, str], str] = {}
_RECIPIENTS_MAX = 50_000


async def send_messages(ctx: EventContext, items: list[Any]) -> list[Ack]:
    """`send_message` for events queued on one socket: one trip to a database thread for all of
    them, each sent in turn exactly as alone; the created ones fan out after the acks, in order,
    one publication per recipient.

    A message whose recipient has a socket on this process is stored as delivered by its own
    insert (no second crossing, no second statement); after the publication the decision is
    checked as `chat.services.delivery` makes it: a recipient no longer on this process by then
    takes the usual delivered-or-push path (a push, if gone everywhere)."""
    here = {
        recipient
        for data in items
        if isinstance(data, dict)
        and isinstance(match_id := data.get("matchId"), str)
        and (recipient := _RECIPIENTS.get((ctx.user_id, match_id))) is not None
        and registry.has_sockets(recipient)
    }
    results = await _send_on_loop(ctx.user_id, items, here)
    created = [r for r in results if not isinstance(r, dict) and r.created]
    if created:  # a resend of a known tempId was fanned out the first time
        if len(_RECIPIENTS) >= _RECIPIENTS_MAX:
            _RECIPIENTS.clear()
        for r in created:
            _RECIPIENTS[(ctx.user_id, r.message["matchId"])] = r.recipient_id

        async def fan_out() -> None:
            by_recipient: dict[str, list[tuple[str, Any]]] = {}
            for r in created:
                by_recipient.setdefault(r.recipient_id, []).append(("new_message", r.message))
            for recipient_id, emits in by_recipient.items():
                await publish_many(recipient_id, emits)
            for r in created:
                if r.delivered and registry.has_sockets(r.recipient_id):
                    continue  # stored as delivered, and its socket is still here
                ctx.consumer.note_sent(r.recipient_id, r.message["id"])

        ctx.defer(fan_out)
    return [r if isinstance(r, dict) else r.ack() for r in results]


async def _send_on_loop(sender_id: str, items: list[Any], here: set[str]) -> list[Any]:
    """`_send_each` from the event loop, on a connection of its own pool (vlvt.database), with no
    thread between. Several sends commit together in one transaction without a savepoint each
    (`arun` unguarded): when a statement of it fails, the transaction is rolled back and the whole
    batch goes to a database thread, where `_send_each` sends each in a savepoint of its own; a
    failure costs the batch a second trip, never a message. The few sends that need a look-up (a
    resend of a stored tempId, a match deleted meanwhile) go to the thread the same way,
    afterwards; nothing else waits for them."""
    try:
        async with loop_connection() as conn:
            results = await _send_batch_on_loop(conn, sender_id, items, here)
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:  # PostgreSQL unreachable
        logger.warning(
            "socket event handler failed: database unavailable (%s)", exc, extra={"event": "send_message"}
        )
        return [error("Failed to send message")] * len(items)
    except Exception:  # nothing of the batch was stored
        logger.exception("socket event handler failed", extra={"event": "send_message"})
        return [error("Failed to send message")] * len(items)
    rest = [i for i, result in enumerate(results) if result is None]
    if rest:
        for i, result in zip(
            rest, await db(_send_each)(sender_id, [items[i] for i in rest], here), strict=True
        ):
            results[i] = result
    return results


async def _send_batch_on_loop(
    conn: psycopg.AsyncConnection[Any], sender_id: str, items: list[Any], here: set[str]
) -> list[Any]:
    """Each item's ack or SendResult, None for those left to the thread (all of them when a
    statement failed and the batch was rolled back)."""
    batch = len(items) > 1
    try:
        async with conn.transaction() if batch else nullcontext():
            return [await _send_one_on_loop(conn, sender_id, data, here, guarded=not batch) for data in items]
    except (psycopg.OperationalError, psycopg.InterfaceError):
        raise
    except psycopg.Error as exc:  # rolled back: nothing of the batch was stored
        logger.warning(
            "socket send failed on the event loop (%r): sent again from a database thread",
            exc,
            extra={"event": "send_message"},
        )
        return [None] * len(items)


async def _send_one_on_loop(
    conn: psycopg.AsyncConnection[Any], sender_id: str, data: Any, here: set[str], *, guarded: bool
) -> Any:
    """`_send_one` on the event loop's connection; None when only the thread can tell."""
    if not isinstance(data, dict):
        return error("Invalid message data")
    try:
        send = prepare_send(
            sender_id=sender_id,
            match_id=data.get("matchId"),
            text=data.get("text"),
            temp_id=data.get("tempId"),
            delivered_to=here,
        )
        return await send.arun(conn, capped=True, guarded=guarded)
    except ChatError as exc:
        return exc.ack()


def _send_each(sender_id: str, items: list[Any], here: set[str]) -> list[Any]:
    """Several sends commit together (one WAL flush instead of one per message; nothing is acked
    before the commit), each in a savepoint of its own so a rejected one changes nothing else.
    A new message to a recipient in `here` is stored as delivered."""
    if len(items) == 1:
        return [_send_one(sender_id, items[0], here)]
    try:
        with transaction.atomic():
            results = []
            for data in items:
                try:
                    with transaction.atomic():
                        results.append(_send_one(sender_id, data, here))
                except Exception:  # this one's savepoint is rolled back; the others stand
                    logger.exception("socket event handler failed", extra={"event": "send_message"})
                    results.append(error("Failed to send message"))
            return results
    except (OperationalError, InterfaceError) as exc:  # PostgreSQL unreachable: a line, no traceback
        logger.warning(
            "socket event handler failed: database unavailable (%s)", exc, extra={"event": "send_message"}
        )
        return [error("Failed to send message")] * len(items)
    except Exception:  # the commit failed: nothing of the batch was stored
        logger.exception("socket event handler failed", extra={"event": "send_message"})
        return [error("Failed to send message")] * len(items)


def _send_one(sender_id: str, data: Any, here: set[str]) -> Any:
    if not isinstance(data, dict):
        return error("Invalid message data")
    try:
        return message_send(
            sender_id=sender_id,
            match_id=data.get("matchId"),
            text=data.get("text"),
            temp_id=data.get("tempId"),
            delivered_to=here,
        )
    except ChatError as exc:
        return exc.ack()


@handler("send_message", failure="Failed to send message", batch=send_messages)
async def send_message(ctx: EventContext, data: Any) -> Ack:
    return (await send_messages(ctx, [data]))[0]


async def messages_sent(sent: list[tuple[str, str]]) -> None:
    """After `new_message` went out: delivered or push (chat.services.delivery) for everything the
    socket sent since the last batch; presence is asked here, on the event loop. When every
    recipient is online (the common case) the delivered mark is written from the event loop too;
    otherwise the decision goes to a database thread, where pushes are queued."""
    online = await presence.aonline_users(list(dict.fromkeys(r for r, _ in sent)))
    if not await adeliver_or_push(sent=sent, online=online):
        await db(deliver_or_push)(sent=sent, online=online)


@handler("mark_read", failure="Failed to mark messages as read")
async def mark_read(ctx: EventContext, data: Any) -> Ack:
    if not isinstance(data, dict):
        return error("Invalid read receipt data")
    ids = data.get("messageIds")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        return error("Invalid read receipt data")
    result = await call(
        messages_mark_read, user_id=ctx.user_id, match_id=data.get("matchId"), message_ids=ids
    )
    if isinstance(result, dict):
        return result
    if result.count:
        ctx.defer(lambda: publish(result.notify_user_id, "messages_read", result.event()))
    return result.ack()


@handler("typing", failure="Failed to update typing status")
async def typing(ctx: EventContext, data: Any) -> Ack:
    if not isinstance(data, dict):
        return error("Invalid typing data")
    result = await call(
        typing_set, user_id=ctx.user_id, match_id=data.get("matchId"), is_typing=data.get("isTyping")
    )
    if isinstance(result, dict):
        return result
    ctx.defer(lambda: publish(result.recipient_id, "user_typing", result.payload))
    return result.ack()


@handler("get_online_status", failure="Failed to get online status")
async def get_online_status(ctx: EventContext, data: Any) -> Ack:
    user_ids = data.get("userIds") if isinstance(data, dict) else None
    if not isinstance(user_ids, list) or not user_ids:
        return error("User IDs required")
    statuses = await db(online_statuses)(viewer_id=ctx.user_id, user_ids=user_ids)
    return {"success": True, "statuses": statuses}


@handler("ping", failure="Failed to ping")
async def ping(ctx: EventContext, data: Any) -> Ack:
    return {"timestamp": int(time.time() * 1000)}
