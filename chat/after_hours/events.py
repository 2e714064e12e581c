"""What After Hours chat tells sockets, through the chat funnel (chat.events, chat.realtime.groups);
the events are in docs/contract.md, "After Hours socket events".

`after_hours:new_message` reaches each socket once (docs/contract.md, D25): every socket of the recipient
through their user group, and through the match room only the sender's *other* sockets that have
the chat open (the recipient's sockets and the sending socket skip the room copy; the sender has
its ack). The original sent both copies to everyone in the room.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from channels.layers import get_channel_layer

from chat import events
from chat.realtime import groups
from vlvt.http.api import iso

logger = logging.getLogger(__name__)

NEW_MESSAGE = "after_hours:new_message"
USER_TYPING = "after_hours:user_typing"
MESSAGES_READ = "after_hours:messages_read"
PARTNER_SAVED = "after_hours:partner_saved"
MATCH_SAVED = "after_hours:match_saved"


def match_group(match_id: str) -> str:
    """`after_hours:match:<uuid>` of the original, spelled for Channels (a canonical UUID is safe)."""
    return f"ah_match.{match_id}"


async def new_message(*, message: dict[str, Any], recipient_id: str, sender_channel: str | None) -> None:
    """After the sender's ack: the recipient's sockets, then the sender's other sockets in the room."""
    await groups.asend_to_user(recipient_id, NEW_MESSAGE, message)
    layer = get_channel_layer()
    if layer is None:
        return
    room_copy = {
        **groups.emit_message(NEW_MESSAGE, message),
        "skip_user": recipient_id,
        "skip_channel": sender_channel,
    }
    try:
        await layer.group_send(match_group(message["matchId"]), room_copy)
    except Exception:  # a lost realtime hint must never fail the send that caused it
        logger.exception("after hours room publish failed")


async def user_typing(*, recipient_id: str, payload: dict[str, Any]) -> None:
    await groups.asend_to_user(recipient_id, USER_TYPING, payload)


async def messages_read(*, recipient_id: str, payload: dict[str, Any]) -> None:
    await groups.asend_to_user(recipient_id, MESSAGES_READ, payload)


def partner_saved(*, match_id: str, saver_id: str, partner_id: str, at: datetime) -> None:
    """After commit: the partner hears that the other person wants to keep the chat."""
    events.send_to_user(
        partner_id, PARTNER_SAVED, {"matchId": match_id, "savedBy": saver_id, "timestamp": iso(at)}
    )


def match_saved(*, match_id: str, permanent_match_id: str, user_ids: list[str], at: datetime) -> None:
    """After commit: both users hear that the chat is now a permanent match. `matchId` is the mobile
    app's name for `afterHoursMatchId` (the app ignores the event without it)."""
    payload = {
        "afterHoursMatchId": match_id,
        "permanentMatchId": permanent_match_id,
        "timestamp": iso(at),
        "matchId": match_id,
    }
    events.send_to_users(user_ids, MATCH_SAVED, payload)
