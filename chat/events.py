"""The one way chat events leave for sockets: a Channels group per user, after the commit.

The groups and the layer messages are the transport's (`chat.realtime.groups`); this module
publishes once the current transaction commits, and follows a `new_message` publication through
the channel layer's retry queue (hooks installed in ChatConfig.ready()): while it waits
(`publication_queued`), once sent after waiting (`publication_retried`: the delivered-or-push
decisions left to it are made then) and when given up (`undelivered_to_push`: a push instead).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from chat import push, selectors
from chat.realtime import presence
from chat.realtime.groups import EMIT_MANY_TYPE, EMIT_TYPE, emit_message, user_group
from chat.services import delivery

logger = logging.getLogger(__name__)

# The pushes of given-up publications run on one thread, in the order the publications were given
# up (the retry queue gives them up oldest first): a recipient's pushes, and their outbox rows
# while the broker is down too, keep the order of the messages. On the default executor two of
# them raced for the broker (or the outbox) and could swap.
_UNDELIVERED_PUSHES = ThreadPoolExecutor(1, thread_name_prefix="undelivered-push")

__all__ = [
    "publication_queued",
    "publication_retried",
    "send_to_user",
    "send_to_users",
    "undelivered_to_push",
    "user_group",
]


def send_to_user(user_id: str, event: str, data: dict[str, Any]) -> None:
    """Publish `event` to every socket of `user_id` once the current transaction commits."""
    transaction.on_commit(lambda: _publish(user_id, event, data))


def send_to_users(user_ids: list[str], event: str, data: dict[str, Any]) -> None:
    for user_id in dict.fromkeys(user_ids):
        send_to_user(user_id, event, data)


def _new_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The `new_message` payloads of a layer message."""
    if message.get("type") == EMIT_TYPE:
        emits = [(message.get("event"), message.get("data"))]
    elif message.get("type") == EMIT_MANY_TYPE:
        emits = [tuple(e) for e in message.get("emits", [])]
    else:
        return []
    return [data for event, data in emits if event == "new_message" and isinstance(data, dict)]


def publication_queued(group: str, message: dict[str, Any]) -> None:
    """The channel layer's `queued` hook: this publication waits for Redis."""
    ids = [data["id"] for data in _new_messages(message)]
    if ids:
        delivery.waiting.held(ids)


def publication_retried(group: str, message: dict[str, Any]) -> Awaitable[None] | None:
    """The channel layer's `retried` hook: a publication that waited has gone out; the
    delivered-or-push decisions left to it are made now (on a task of the layer's), with presence
    answering again."""
    decisions = delivery.waiting.sent([data["id"] for data in _new_messages(message)])
    return _decide(decisions) if decisions else None


async def _decide(decisions: list[tuple[str, str]]) -> None:
    online = await presence.aonline_users(list(dict.fromkeys(r for r, _ in decisions)))
    await database_sync_to_async(delivery.deliver_or_push, thread_sensitive=False)(
        sent=decisions, online=online
    )


async def undelivered_to_push(group: str, message: dict[str, Any]) -> None:
    """The channel layer's last resort for a publication Redis never took (`ChannelLayer.undelivered`):
    a `new_message` becomes a push to its recipient (the other participant of its match), so a
    message the recipient's sockets never heard of still reaches them; the app fetches the history
    when it opens the conversation. Not for a message pushed already while its publication waited."""
    messages = _new_messages(message)
    unpushed = set(delivery.waiting.given_up([data["id"] for data in messages]))
    messages = [data for data in messages if data["id"] in unpushed]
    if messages:
        await database_sync_to_async(_push_undelivered, thread_sensitive=False, executor=_UNDELIVERED_PUSHES)(
            messages
        )


def _push_undelivered(messages: list[dict[str, Any]]) -> None:
    for data in messages:
        pair = selectors.match_participants(match_id=data["matchId"])
        if pair is not None:
            recipient_id = pair[1] if pair[0] == data["senderId"] else pair[0]
            push.new_message(recipient_id=recipient_id, message_id=data["id"])
    logger.warning("channel layer: %d undelivered message(s) pushed instead", len(messages))


def _publish(user_id: str, event: str, data: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), emit_message(event, data))
    except Exception:
        logger.exception("chat event publish failed", extra={"event": event})
