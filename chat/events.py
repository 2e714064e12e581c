"""The one way chat events leave for sockets: a Channels group per user, after the commit.

Every process's socket consumer joins `user_group(user_id)` for each connection and handles the
layer message type `socket.emit` by emitting `event` with `data` to its client. Because the layer
is channels_redis, an event published here reaches the user's sockets on every server process.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EMIT_TYPE = "socket.emit"
# Several events in one layer message, emitted in order (a socket's queued sends fan out so).
EMIT_MANY_TYPE = "socket.emit_many"
# Channels group names: ASCII letters, digits, hyphen, underscore, period; under 100 characters.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def user_group(user_id: str) -> str:
    """`user:<id>` of the original, spelled for Channels (which forbids ':')."""
    safe = _UNSAFE.sub("_", user_id)
    if len(safe) > 90 or safe != user_id:
        # Ids of auth-service are safe already; anything else gets a stable, collision-free name.
        safe = "h" + hashlib.sha256(user_id.encode()).hexdigest()[:40]
    return f"user.{safe}"


def emit_message(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": EMIT_TYPE, "event": event, "data": data}


def send_to_user(user_id: str, event: str, data: dict[str, Any]) -> None:
    """Publish `event` to every socket of `user_id` once the current transaction commits."""
    transaction.on_commit(lambda: _publish(user_id, event, data))


def send_to_users(user_ids: list[str], event: str, data: dict[str, Any]) -> None:
    for user_id in dict.fromkeys(user_ids):
        send_to_user(user_id, event, data)


async def asend_to_user(user_id: str, event: str, data: dict[str, Any]) -> None:
    """For code already on the event loop (the socket consumer) and outside any transaction."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(user_group(user_id), emit_message(event, data))
    except Exception:  # a lost realtime hint must never fail the write that caused it
        logger.exception("chat event publish failed", extra={"event": event})


async def asend_many_to_user(user_id: str, emits: list[tuple[str, Any]]) -> None:
    """`asend_to_user` for several events at once, in order: one layer message. A single event
    goes as `socket.emit`, which every process version understands."""
    if len(emits) == 1:
        await asend_to_user(user_id, *emits[0])
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(
            user_group(user_id), {"type": EMIT_MANY_TYPE, "emits": [list(e) for e in emits]}
        )
    except Exception:
        logger.exception("chat event publish failed", extra={"event": emits[0][0]})


async def undelivered_to_push(group: str, message: dict[str, Any]) -> None:
    """The channel layer's last resort for a publication Redis never took (`ChannelLayer.undelivered`):
    a `new_message` becomes a push to its recipient (the other participant of its match), so a
    message the recipient's sockets never heard of still reaches them; the app fetches the history
    when it opens the conversation."""
    if message.get("type") == EMIT_TYPE:
        emits = [(message.get("event"), message.get("data"))]
    elif message.get("type") == EMIT_MANY_TYPE:
        emits = [tuple(e) for e in message.get("emits", [])]
    else:
        return
    messages = [data for event, data in emits if event == "new_message" and isinstance(data, dict)]
    if messages:
        from channels.db import database_sync_to_async

        await database_sync_to_async(_push_undelivered, thread_sensitive=False)(messages)


def _push_undelivered(messages: list[dict[str, Any]]) -> None:
    from chat import push, selectors

    for data in messages:
        pair = selectors.match_participants(match_id=data["matchId"])
        if pair is not None:
            recipient_id = pair[1] if pair[0] == data["senderId"] else pair[0]
            push.new_message(recipient_id=recipient_id, message_id=data["id"])


def _install_undelivered_hook() -> None:
    from chat.realtime.layer import ChannelLayer

    ChannelLayer.undelivered = staticmethod(undelivered_to_push)


_install_undelivered_hook()


def _publish(user_id: str, event: str, data: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), emit_message(event, data))
    except Exception:
        logger.exception("chat event publish failed", extra={"event": event})
