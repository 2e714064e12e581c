"""Messages of permanent matches: send, fan-out, read receipts, typing (delivered:
chat.services.delivery).

Shared by the REST views and the socket consumer (which calls these through
`database_sync_to_async`). Rejections raise `ChatError`: `exc.ack()` is the socket ack, and the
HTTP layer renders `exc.status` / `exc.error`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.pq import TransactionStatus

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

    The checks and the insert are one statement (`_SEND`): it inserts only when membership, blocks,
    the profile gate and the plan all allow it, and returns what it checked, from which the
    rejection is told. A free-tier sender's message is inserted by a second run of it under the
    sender's cap lock, once today's count allows.
    """
    send = prepare_send(
        sender_id=sender_id, match_id=match_id, text=text, temp_id=temp_id, delivered_to=delivered_to
    )
    result = send.run(capped=enforce_daily_cap)
    if fan_out and result.created:
        transaction.on_commit(lambda: message_fan_out(result=result))
    return result


def prepare_send(
    *, sender_id: str, match_id: object, text: object, temp_id: Any, delivered_to: Collection[str] = ()
) -> _Send:
    """A send's input checked (a ChatError when invalid), ready to run: `run()` on Django's
    connection, `arun()` on an asynchronous one from the event loop."""
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
    if "\x00" in match_id:
        raise not_found_match()
    return _Send(sender_id, match_id, text.strip(), _temp_key(temp_id), temp_id, list(delivered_to))


# The send in one statement: SEND_CONTEXT's row, and the insert when it allows one: a participant,
# no block, a complete profile, and a premium sender, or a free-tier one while %(capped)s is false
# or today's count (counted only with a %(limit)s) is under the limit. Stored as delivered when the
# recipient is one the caller named reachable. A resend with a known tempId meets the partial
# unique index and inserts nothing, so the common case needs no look-up first. It starts with its
# name: PostgreSQL shows a statement's first 1,024 bytes in pg_stat_activity, before this one's INSERT.
SEND_STATEMENT_NAME = "/* chat: message send */"
_SEND = f"""{SEND_STATEMENT_NAME}
WITH ctx AS ({selectors.SEND_CONTEXT}),
today AS (
    SELECT count(*) AS sent FROM messages
     WHERE %(limit)s::int IS NOT NULL AND sender_id = %(sender)s AND created_at >= %(midnight)s
),
sent AS (
    INSERT INTO messages (id, match_id, sender_id, text, created_at, status, delivered_at, temp_id)
    SELECT %(id)s, %(match)s, %(sender)s, %(text)s, %(now)s,
           CASE WHEN r.reachable THEN 'delivered' ELSE 'sent' END,
           CASE WHEN r.reachable THEN %(now)s END,
           %(key)s::text
      FROM ctx
     CROSS JOIN LATERAL (
           SELECT CASE WHEN ctx.user_id_1 = %(sender)s THEN ctx.user_id_2 ELSE ctx.user_id_1 END
                  = ANY (%(reachable)s::text[]) AS reachable) r
     WHERE %(sender)s IN (ctx.user_id_1, ctx.user_id_2) AND NOT ctx.blocked AND ctx.missing = '{{}}'
           AND (ctx.premium OR NOT %(capped)s OR (SELECT sent FROM today) < %(limit)s)
    ON CONFLICT (match_id, sender_id, temp_id) WHERE temp_id IS NOT NULL DO NOTHING
    RETURNING status
)
SELECT ctx.user_id_1, ctx.user_id_2, ctx.blocked, ctx.missing, ctx.premium, (SELECT sent FROM today),
       (SELECT status FROM sent)
  FROM ctx
"""


_LOCK_SENDER = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"


@dataclass(frozen=True)
class _Send:
    sender_id: str
    match_id: str
    text: str
    key: str | None
    temp_id: Any
    reachable: list[str]
    message_id: str = field(default_factory=new_message_id)

    def run(self, *, capped: bool) -> SendResult:
        # Outside any transaction the first attempt is one autocommitted statement; inside the
        # caller's a savepoint keeps a failed one from poisoning it.
        with (
            self._match_gone_meanwhile(),
            transaction.atomic() if connection.in_atomic_block else nullcontext(),
        ):
            outcome = self._attempt(capped=capped, limit=None)
        if outcome.result is not None:
            return outcome.result
        if capped and not outcome.premium:
            # A free-tier sender: today's count decides, in the second attempt, under the sender's
            # lock until commit (the count's snapshot is taken after the lock, so two concurrent
            # sends cannot both take the last message of the day).
            with self._match_gone_meanwhile(), transaction.atomic():
                _lock_sender(self.sender_id)
                outcome = self._attempt(capped=True, limit=FREE_DAILY_MESSAGES)
            if outcome.result is not None:
                return outcome.result
        # Allowed but not inserted: this tempId is stored already (the resend gets the original,
        # even once the cap is reached), or the cap is reached.
        replay = self._replay(outcome.recipient_id)
        if replay is not None:
            return replay
        if outcome.sent_today is not None and outcome.sent_today >= FREE_DAILY_MESSAGES:
            raise ChatError(429, "Daily message limit reached", **LIMIT_REACHED)
        raise not_found_match()  # the original was deleted with its match between the two statements

    def _attempt(self, *, capped: bool, limit: int | None) -> _Outcome:
        """Run `_SEND`. A rejection of the checks is raised (a resend of a message stored before it
        gets its original instead)."""
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(_SEND, self._params(now, capped=capped, limit=limit))
            row = cursor.fetchone()
        outcome = self._judge(row, now, limit=limit)
        if outcome.refusal is not None:
            # A resend of a message stored before the block (or the profile change) still gets its
            # original; the rejection is for new messages only.
            replay = self._replay(outcome.recipient_id)
            if replay is not None:
                return replace(outcome, result=replay, refusal=None)
            raise outcome.refusal
        return outcome

    async def arun(
        self, conn: psycopg.AsyncConnection[Any], *, capped: bool, guarded: bool = True
    ) -> SendResult | None:
        """`run()` on an asynchronous connection in autocommit, for the outcomes that need only
        `_SEND` (nearly every send: a new message, its rejection, the daily cap); None for the rare
        ones that need a look-up, which `run()` then tells: a resend of a stored tempId, a match
        deleted between two statements.

        Inside the caller's transaction, `guarded` keeps each statement in a savepoint so that a
        failed one leaves the transaction usable; unguarded, a failed statement raises and the
        caller, whose transaction is then lost, sends again by other means."""
        in_transaction = conn.info.transaction_status != TransactionStatus.IDLE
        try:
            outcome = await self._aattempt(
                conn, capped=capped, limit=None, savepoint=guarded and in_transaction
            )
            if outcome is None or outcome.result is not None:
                return outcome.result if outcome else None
            if capped and not outcome.premium:
                # The cap lock lasts until commit: a transaction of its own, or the caller's.
                async with conn.transaction() if guarded or not in_transaction else nullcontext():
                    await conn.execute(_LOCK_SENDER, [_CAP_LOCK_NAMESPACE, self.sender_id])
                    outcome = await self._aattempt(
                        conn, capped=True, limit=FREE_DAILY_MESSAGES, savepoint=False
                    )
                if outcome is None or outcome.result is not None:
                    return outcome.result if outcome else None
                if (
                    self.key is None
                    and outcome.sent_today is not None
                    and outcome.sent_today >= FREE_DAILY_MESSAGES
                ):
                    raise ChatError(429, "Daily message limit reached", **LIMIT_REACHED)
        except psycopg.IntegrityError:  # the match was deleted meanwhile (the foreign key)
            if not guarded:
                raise
        return None

    async def _aattempt(
        self, conn: psycopg.AsyncConnection[Any], *, capped: bool, limit: int | None, savepoint: bool
    ) -> _Outcome | None:
        now = timezone.now()
        async with conn.transaction() if savepoint else nullcontext():
            cursor = await conn.execute(_SEND, self._params(now, capped=capped, limit=limit))
            outcome = self._judge(await cursor.fetchone(), now, limit=limit)
        if outcome.refusal is not None:
            if self.key is not None:
                return None  # a resend may still get its original: run() looks
            raise outcome.refusal
        return outcome

    def _params(self, now: datetime, *, capped: bool, limit: int | None) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "match": self.match_id,
            "sender": self.sender_id,
            "text": self.text,
            "now": now,
            "key": self.key,
            "reachable": self.reachable,
            "capped": capped,
            "limit": limit,
            "midnight": datetime.combine(now.date(), time.min, tzinfo=UTC) if limit is not None else None,
        }

    def _judge(self, row: Any, now: datetime, *, limit: int | None) -> _Outcome:
        """What `_SEND`'s row says: the new message, or a refusal of the checks (for the caller to
        raise unless a resend gets its original), or nothing inserted though the checks allowed it.
        A missing match or a sender outside it is raised here (nothing to replay there)."""
        if row is None:
            raise not_found_match()
        user_1, user_2, blocked, missing, premium, counted, status = row
        sent_today = counted if limit is not None else None  # without a limit nothing was counted
        if self.sender_id not in (user_1, user_2):
            raise not_participant()
        recipient_id = user_2 if user_1 == self.sender_id else user_1
        if status is not None:
            wire = _wire_fields(
                self.message_id, self.match_id, self.sender_id, self.text, "sent", now, self.temp_id
            )
            created = SendResult(wire, recipient_id, created=True, delivered=status == "delivered")
            return _Outcome(recipient_id, premium, sent_today, created)
        refusal: ChatError | None = None
        if blocked:
            refusal = ChatError(
                403, "Unable to send message - user blocked", ack_error="Unable to send message"
            )
        elif (gap := selectors.profile_gap(missing)) is not None:
            refusal = ChatError(403, gap.message, code="PROFILE_INCOMPLETE", missingFields=gap.missing_fields)
        return _Outcome(recipient_id, premium, sent_today, None, refusal)

    def _replay(self, recipient_id: str) -> SendResult | None:
        return _replay(self.match_id, self.sender_id, self.key, self.temp_id, recipient_id)

    @contextmanager
    def _match_gone_meanwhile(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError:
            # The match was deleted meanwhile (the foreign key).
            if selectors.match_participants(match_id=self.match_id) is None:
                raise not_found_match() from None
            raise


@dataclass(frozen=True)
class _Outcome:
    """One run of `_SEND`: `result` is the new message or a resend's original; without one, the
    checks allowed the message and nothing was inserted (the plan, a known tempId or the cap)."""

    recipient_id: str
    premium: bool
    sent_today: int | None  # counted only when the attempt had a limit
    result: SendResult | None
    refusal: ChatError | None = None  # blocked or the profile gate, unless a resend gets its original


def _lock_sender(sender_id: str) -> None:
    """Serialise this sender's capped sends until commit, so count-then-insert cannot overshoot."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SENDER, [_CAP_LOCK_NAMESPACE, sender_id])


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
