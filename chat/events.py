"""The one way chat events leave for sockets: a Channels group per user, after the commit.

The groups and the layer messages are the transport's (`chat.realtime.groups`); this module
publishes once the current transaction commits, and turns a `new_message` the channel layer could
not publish into a push (`undelivered_to_push`, installed in ChatConfig.ready()).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from chat import push, selectors
from chat.realtime.groups import EMIT_MANY_TYPE, EMIT_TYPE, emit_message, user_group

logger = logging.getLogger(__name__)

__all__ = ["send_to_user", "send_to_users", "undelivered_to_push", "user_group"]


def send_to_user(user_id: str, event: str, data: dict[str, Any]) -> None:
    """Publish `event` to every socket of `user_id` once the current transaction commits."""
    transaction.on_commit(lambda: _publish(user_id, event, data))


def send_to_users(user_ids: list[str], event: str, data: dict[str, Any]) -> None:
    for user_id in dict.fromkeys(user_ids):
        send_to_user(user_id, event, data)


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
        await database_sync_to_async(_push_undelivered, thread_sensitive=False)(messages)


def _push_undelivered(messages: list[dict[str, Any]]) -> None:
    for data in messages:
        pair = selectors.match_participants(match_id=data["matchId"])
        if pair is not None:
            recipient_id = pair[1] if pair[0] == data["senderId"] else pair[0]
            push.new_message(recipient_id=recipient_id, message_id=data["id"])


def _publish(user_id: str, event: str, data: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), emit_message(event, data))
    except Exception:
        logger.exception("chat event publish failed", extra={"event": event})
