"""Channels groups and the layer messages that carry socket events.

Every process's socket consumer joins `user_group(user_id)` for each connection and handles the
layer message type `socket.emit` by emitting `event` with `data` to its client (`socket.emit_many`:
several, in order). Because the layer is shared through Redis, an event published to a group
reaches the user's sockets on every server process.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger("chat.events")

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
