"""After Hours messages: send (stored); typing and read receipts (relayed only, as the original).

Checks run in the original's order (docs/contract.md, "After Hours socket events") and raise
`ChatError`; `exc.ack()` is the socket ack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat.after_hours import selectors
from chat.after_hours.selectors import MatchState, match_not_found, parse_uuid
from chat.errors import ChatError
from chat.models import AfterHoursMessage, Message
from vlvt.http.api import iso

MAX_LENGTH = 2000
ABSENT: Any = object()  # a payload without `tempId` (the ack then has none either)


def _match_id(value: Any) -> str:
    match_id = parse_uuid(value)
    if match_id is None:
        raise ChatError(400, "Invalid match ID")
    return match_id


def _js_length(text: str) -> int:
    """`text.length` as the original counted it (UTF-16 code units: an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def match_expired() -> ChatError:
    return ChatError(410, "Match has expired", code="MATCH_EXPIRED")


@dataclass(frozen=True, slots=True)
class SentMessage:
    message: dict[str, Any]  # the ack's `message` and the `after_hours:new_message` payload
    recipient_id: str

    def ack(self) -> dict[str, Any]:
        return {"success": True, "message": self.message}


def _check_text(text: Any, temp_id: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatError(400, "Message text required")
    if _js_length(text) > MAX_LENGTH:
        raise ChatError(400, f"Message too long (max {MAX_LENGTH} characters)")
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        raise ChatError(400, "Invalid message data")
    if (
        temp_id is not ABSENT
        and temp_id is not None
        and (isinstance(temp_id, bool) or not isinstance(temp_id, str | int))
    ):
        raise ChatError(400, "Invalid message data")
    return text.strip()


def message_send(*, sender_id: str, match_id: Any, text: Any, temp_id: Any = ABSENT) -> SentMessage:
    """Store a message of an active match (not declined, not expired, no block either way).

    The match row is share-locked until the insert commits, so a block, report or decline that
    committed first is always seen (docs/contract.md, D25) and none can slip in between check and insert.
    A message in a match already converted into a permanent one is also written there, so the
    permanent chat keeps the whole conversation.
    """
    canonical = _match_id(match_id)
    clean = _check_text(text, temp_id)
    with transaction.atomic():
        state = selectors.match_state(match_id=canonical, lock="share")
        if state is None:
            raise match_not_found()
        recipient_id = state.participant(sender_id)
        if not state.active:
            raise match_expired()
        if state.blocked:
            raise ChatError(403, "Unable to send message")
        row = AfterHoursMessage.objects.create(match_id=canonical, sender_id=sender_id, text=clean)
        if state.converted_to is not None:
            Message.objects.create(
                match_id=state.converted_to,
                sender_id=sender_id,
                text=clean,
                created_at=row.created_at,
                status="sent",
            )
    message = selectors.message_wire(row)
    if temp_id is not ABSENT:
        message["tempId"] = temp_id
    return SentMessage(message, recipient_id)


# --- relays (nothing stored) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Relay:
    """An event for the partner (`recipient_id` None: nobody is told, e.g. across a block)."""

    recipient_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)


def _participant_state(match_id: str, user_id: str) -> MatchState:
    state = selectors.match_state(match_id=match_id)
    if state is None:
        raise match_not_found()
    state.participant(user_id)
    return state


def typing_relay(*, user_id: str, match_id: Any, is_typing: Any) -> Relay:
    """`after_hours:user_typing` for the partner (no expiry check, as the original)."""
    canonical = _match_id(match_id)
    if not isinstance(is_typing, bool):
        raise ChatError(400, "Invalid typing data")
    state = _participant_state(canonical, user_id)
    partner = None if state.blocked else state.partner_of(user_id)
    return Relay(partner, {"matchId": canonical, "userId": user_id, "isTyping": is_typing})


def read_relay(*, user_id: str, match_id: Any, message_ids: Any) -> Relay:
    """`after_hours:messages_read` for the partner, carrying only ids of the partner's messages of
    this match (the original passed any client-supplied ids through). Without `messageIds` (the
    mobile app sends none) it means every message the partner sent so far."""
    canonical = _match_id(match_id)
    if message_ids is not None and not (
        isinstance(message_ids, list) and all(isinstance(i, str) for i in message_ids)
    ):
        raise ChatError(400, "Invalid read receipt data")
    state = _participant_state(canonical, user_id)
    partner_id = state.partner_of(user_id)
    if message_ids is None:
        ids = selectors.partner_message_ids_all(match_id=canonical, sender_id=partner_id)
    else:
        ids = selectors.partner_message_ids(match_id=canonical, sender_id=partner_id, ids=message_ids)
    payload = {"matchId": canonical, "messageIds": ids, "readBy": user_id, "readAt": iso(timezone.now())}
    return Relay(None if state.blocked else partner_id, payload)


def join_check(*, user_id: str, match_id: Any) -> str:
    """The canonical id of a match the caller may open (membership only, as the original)."""
    canonical = parse_uuid(match_id)
    if canonical is None:
        raise ChatError(400, "Invalid match ID format")
    state = selectors.match_state(match_id=canonical)
    if state is None or not state.has(user_id):
        raise ChatError(403, "Unauthorized")
    return canonical
