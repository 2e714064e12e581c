"""Messages of permanent matches: send, fan-out, read receipts, typing (delivered:
chat.services.delivery).

Shared by the REST views and the socket consumer (which calls these through
`database_sync_to_async`). Rejections raise `ChatError`: `exc.ack()` is the socket ack, and the
HTTP layer renders `exc.status` / `exc.error`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from chat import events, selectors
from chat.errors import ChatError, not_found_match, not_participant
from chat.models import Message, ReadReceipt, TypingIndicator, new_message_id
from chat.realtime import presence
from chat.services.delivery import deliver_or_push
from vlvt.http.api import iso

SOCKET_MAX_LENGTH = 5000
FREE_DAILY_MESSAGES = 20
TEMP_ID_COLUMN_LENGTH = 64
# First key of the two-int advisory lock that serialises one free user's sends (cap check + insert).
_CAP_LOCK_NAMESPACE = 0x564C5654  # "VLVT"

LIMIT_REACHED = {
    "code": "MESSAGE_LIMIT_REACHED",
    "message": "You've used all 20 messages for today. Upgrade to premium for unlimited messaging!",
}


@dataclass(frozen=True)
class SendResult:
    """`message` is the wire object of the ack and of `new_message`.

    `created` is False when a resend with a known tempId returned the stored original; nothing was
    written then, and nothing should be fanned out again. `delivered`: stored as delivered (the
    caller named the recipient as reachable, `message_send`'s `delivered_to`); the wire object
    still says "sent", as the send's ack always has.
    """

    message: dict[str, Any]
    recipient_id: str
    created: bool
    delivered: bool = False

    def ack(self) -> dict[str, Any]:
        return {"success": True, "message": self.message}

    def rest(self) -> dict[str, Any]:
        m = self.message
        return {
            "id": m["id"],
            "matchId": m["matchId"],
            "senderId": m["senderId"],
            "text": m["text"],
            "timestamp": m["createdAt"],
        }


def _wire(msg: Message, temp_id: Any) -> dict[str, Any]:
    return _wire_fields(msg.id, msg.match_id, msg.sender_id, msg.text, msg.status, msg.created_at, temp_id)


def _wire_fields(
    message_id: str,
    match_id: str,
    sender_id: str,
    text: str,
    status: str | None,
    created_at: datetime | None,
    temp_id: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": message_id,
        "matchId": match_id,
        "senderId": sender_id,
        "text": text,
        "status": status,
        "createdAt": iso(created_at),
    }
    if temp_id is not None:
        body["tempId"] = temp_id
    return body


def _temp_key(temp_id: Any) -> str | None:
    """The stored form of a client tempId (strings and integers; long ones by digest)."""
    if temp_id is None:
        return None
    if isinstance(temp_id, bool) or not isinstance(temp_id, str | int):
        raise ChatError(400, "Invalid message data")
    key = str(temp_id)
    if "\x00" in key:
        raise ChatError(400, "Invalid message data")
    if not key:
        return None
    if len(key) > TEMP_ID_COLUMN_LENGTH:
        key = hashlib.sha256(key.encode()).hexdigest()
    return key


def _partner(match_id: Any, user_id: str) -> str:
    if not isinstance(match_id, str) or not match_id or "\x00" in match_id:
        raise not_found_match()
    pair = selectors.match_participants(match_id=match_id)
    if pair is None:
        raise not_found_match()
    if user_id not in pair:
        raise not_participant()
    return pair[1] if pair[0] == user_id else pair[0]


def _replay(
    match_id: str, sender_id: str, key: str | None, temp_id: Any, recipient_id: str
) -> SendResult | None:
    if key is None:
        return None
    original = Message.objects.filter(match_id=match_id, sender_id=sender_id, temp_id=key).first()
    if original is None:
        return None
    return SendResult(_wire(original, temp_id), recipient_id, created=False)


def message_send(
    *,
    sender_id: str,
    match_id: object,
    text: object,
    temp_id: str | int | None = None,
    enforce_daily_cap: bool = True,
    fan_out: bool = False,
    delivered_to: Collection[str] = (),
) -> SendResult:
    """The send pipeline, in the original's order (docs/contract.md, "Chat socket events").

    validation -> membership -> blocks both ways -> profile gate -> free-tier daily cap -> insert.
    A resend with a tempId this sender already used in this match returns the stored original,
    even once blocked, gated or capped (the unique index answers it on insert; the rejections
    and the cap look for it first).
    With `fan_out`, the recipient hears about it after the commit (the REST path); the socket
    consumer acks first and fans out itself. A new message whose recipient is in `delivered_to`
    (the socket path: a recipient with a socket on this process) is stored as delivered.
    """
    if (
        not isinstance(match_id, str)
        or not match_id
        or not isinstance(text, str)
        or not text.strip()
        or "\x00" in text
    ):
        raise ChatError(400, "Invalid message data")
    if len(text) > SOCKET_MAX_LENGTH:
        raise ChatError(400, f"Message too long (max {SOCKET_MAX_LENGTH} characters)")
    key = _temp_key(temp_id)
    ctx = selectors.send_context(match_id=match_id, sender_id=sender_id) if "\x00" not in match_id else None
    if ctx is None:
        raise not_found_match()
    if sender_id not in ctx.participants:
        raise not_participant()
    recipient_id = ctx.participants[1] if ctx.participants[0] == sender_id else ctx.participants[0]
    if ctx.blocked or ctx.profile_gap is not None:
        # A resend of a message stored before the block (or the profile change) still gets its
        # original; the rejection is for new messages only.
        replay = _replay(match_id, sender_id, key, temp_id, recipient_id)
        if replay is not None:
            return replay
    if ctx.blocked:
        raise ChatError(403, "Unable to send message - user blocked", ack_error="Unable to send message")
    if ctx.profile_gap is not None:
        gap = ctx.profile_gap
        raise ChatError(403, gap.message, code="PROFILE_INCOMPLETE", missingFields=gap.missing_fields)
    capped = enforce_daily_cap and not ctx.premium
    delivered = recipient_id in delivered_to
    result = _insert(sender_id, match_id, text.strip(), key, temp_id, recipient_id, capped, delivered)
    if fan_out and result.created:
        transaction.on_commit(lambda: message_fan_out(result=result))
    return result


# An uncapped send is this one statement: a resend with a known tempId meets the partial unique
# index and inserts nothing (no row returned), so the common case needs no look-up first.
_INSERT = """
INSERT INTO messages (id, match_id, sender_id, text, created_at, status, delivered_at, temp_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (match_id, sender_id, temp_id) WHERE temp_id IS NOT NULL DO NOTHING
RETURNING id
"""


def _insert(
    sender_id: str,
    match_id: str,
    text: str,
    key: str | None,
    temp_id: Any,
    recipient_id: str,
    capped: bool,
    delivered: bool,
) -> SendResult:
    message_id = new_message_id()
    # A capped send holds the cap lock in a transaction; an uncapped one outside any transaction
    # is one autocommitted INSERT; inside the caller's transaction a savepoint keeps a failed
    # INSERT from poisoning it.
    scope = transaction.atomic() if capped or connection.in_atomic_block else nullcontext()
    try:
        with scope:
            if capped:
                _lock_sender(sender_id)
                # A concurrent twin of this resend may have committed while we waited for the lock.
                replay = _replay(match_id, sender_id, key, temp_id, recipient_id)
                if replay is not None:
                    return replay
                if _sent_today(sender_id) >= FREE_DAILY_MESSAGES:
                    raise ChatError(429, "Daily message limit reached", **LIMIT_REACHED)
            created_at = timezone.now()
            with connection.cursor() as cursor:
                status, delivered_at = ("delivered", created_at) if delivered else ("sent", None)
                cursor.execute(
                    _INSERT, [message_id, match_id, sender_id, text, created_at, status, delivered_at, key]
                )
                inserted = cursor.fetchone() is not None
    except IntegrityError:
        # The match was deleted meanwhile (the foreign key).
        if selectors.match_participants(match_id=match_id) is None:
            raise not_found_match() from None
        raise
    if not inserted:  # this tempId is stored already: the resend gets the original
        replay = _replay(match_id, sender_id, key, temp_id, recipient_id)
        if replay is None:  # deleted with its match between the two statements
            raise not_found_match()
        return replay
    return SendResult(
        _wire_fields(message_id, match_id, sender_id, text, "sent", created_at, temp_id),
        recipient_id,
        created=True,
        delivered=delivered,
    )


def _lock_sender(sender_id: str) -> None:
    """Serialise this sender's capped sends until commit, so count-then-insert cannot overshoot."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_CAP_LOCK_NAMESPACE, sender_id])


def _sent_today(sender_id: str) -> int:
    midnight = datetime.combine(timezone.now().date(), time.min, tzinfo=UTC)
    return Message.objects.filter(sender_id=sender_id, created_at__gte=midnight).count()


def message_fan_out(*, result: SendResult) -> None:
    """After the commit of a REST send: `new_message` to the recipient's sockets, then delivered
    or push (chat.services.delivery)."""
    events.send_to_user(result.recipient_id, "new_message", result.message)
    online = presence.online_users([result.recipient_id])
    deliver_or_push(sent=[(result.recipient_id, result.message["id"])], online=online)


# --- read receipts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadResult:
    match_id: str
    reader_id: str
    message_ids: list[str]
    read_at: datetime
    notify_user_id: str  # the other participant: the sender of the messages just read

    @property
    def count(self) -> int:
        return len(self.message_ids)

    def ack(self) -> dict[str, Any]:
        return {"success": True, "count": self.count, "messageIds": self.message_ids}

    def event(self) -> dict[str, Any]:
        """Payload of `messages_read`, for `notify_user_id` (only worth sending when count > 0)."""
        return {
            "matchId": self.match_id,
            "messageIds": self.message_ids,
            "readBy": self.reader_id,
            "readAt": iso(self.read_at),
        }


def messages_mark_read(
    *, user_id: str, match_id: str, message_ids: list[Any] | None = None, notify: bool = False
) -> ReadResult:
    """Mark the partner's unread messages of a match read (all, or only `message_ids`).

    Writes `status='read', read_at` and a read receipt per message. With `notify`, the partner's
    sockets get `messages_read` after the commit when something changed.
    """
    partner_id = _partner(match_id, user_id)
    now = timezone.now()
    unread = Message.objects.filter(match_id=match_id, sender_id=partner_id).filter(
        Q(status__isnull=True) | ~Q(status="read") | Q(read_at__isnull=True)
    )
    if isinstance(message_ids, list) and message_ids:
        unread = unread.filter(pk__in=[m for m in message_ids if isinstance(m, str) and "\x00" not in m])
    with transaction.atomic():
        ids = list(unread.select_for_update().order_by("created_at", "id").values_list("id", flat=True))
        if ids:
            Message.objects.filter(pk__in=ids).update(status="read", read_at=now)
            ReadReceipt.objects.bulk_create(
                [ReadReceipt(message_id=i, user_id=user_id, read_at=now) for i in ids], ignore_conflicts=True
            )
        result = ReadResult(match_id, user_id, ids, now, partner_id)
        if notify and ids:
            events.send_to_user(partner_id, "messages_read", result.event())
    return result


# --- typing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypingResult:
    recipient_id: str
    payload: dict[str, Any] = field(default_factory=dict)  # `user_typing` for recipient_id

    def ack(self) -> dict[str, Any]:
        return {"success": True}


def typing_set(*, user_id: str, match_id: str, is_typing: bool) -> TypingResult:
    """Record the typing state and say whom to tell (`user_typing` to the other participant)."""
    if not isinstance(is_typing, bool):
        raise ChatError(400, "Invalid typing data")
    partner_id = _partner(match_id, user_id)
    TypingIndicator.objects.bulk_create(
        [TypingIndicator(match_id=match_id, user_id=user_id, is_typing=is_typing, started_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["match", "user"],
        update_fields=["is_typing", "started_at"],
    )
    return TypingResult(partner_id, {"matchId": match_id, "userId": user_id, "isTyping": is_typing})
