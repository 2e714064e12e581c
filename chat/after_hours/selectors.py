"""Reads of After Hours chat: the state of a match (one statement), history, read-receipt ids."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db import connection
from django.utils import timezone

from chat.errors import NOT_PART_OF_MATCH, ChatError
from chat.models import AfterHoursMessage
from vlvt.http.api import iso

HISTORY_PAGE = 50
# The original's check (docs/contract.md, "After Hours chat"): any 8-4-4-4-12 hex string, case-insensitive.
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def parse_uuid(value: Any) -> str | None:
    """The canonical (lower-case) form of a UUID (match and message ids), or None if it is not one."""
    if not isinstance(value, str) or not _UUID.match(value):
        return None
    return str(uuid.UUID(value))


def match_not_found() -> ChatError:
    return ChatError(404, "Match not found")


def not_participant() -> ChatError:
    return ChatError(403, NOT_PART_OF_MATCH, ack_error="Unauthorized")


@dataclass(frozen=True, slots=True)
class MatchState:
    id: str
    user_1: str
    user_2: str
    declined: bool
    expired: bool
    converted_to: str | None
    blocked: bool  # a block between the two users, either direction
    user1_vote: bool
    user2_vote: bool

    @property
    def active(self) -> bool:
        return not self.declined and not self.expired

    def has(self, user_id: str) -> bool:
        return user_id in (self.user_1, self.user_2)

    def partner_of(self, user_id: str) -> str:
        return self.user_2 if user_id == self.user_1 else self.user_1

    def participant(self, user_id: str) -> str:
        """The partner of `user_id`; the not-participant error otherwise."""
        if not self.has(user_id):
            raise not_participant()
        return self.partner_of(user_id)


# The match, its state and the block check in one round trip (every socket event needs them).
_STATE_SQL = """
SELECT a.user_id_1, a.user_id_2, a.declined_by IS NOT NULL, a.expires_at <= %(now)s, a.converted_to_match_id,
       EXISTS (SELECT 1 FROM blocks b
                WHERE (b.user_id = a.user_id_1 AND b.blocked_user_id = a.user_id_2)
                   OR (b.user_id = a.user_id_2 AND b.blocked_user_id = a.user_id_1)),
       coalesce(a.user1_save_vote, false), coalesce(a.user2_save_vote, false)
  FROM after_hours_matches a
 WHERE a.id = %(id)s
"""
_LOCKS = {"": "", "share": " FOR SHARE OF a", "update": " FOR UPDATE OF a"}


def match_state(*, match_id: str, lock: Literal["", "share", "update"] = "") -> MatchState | None:
    """None when the match does not exist. `lock` row-locks it (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL + _LOCKS[lock], {"id": match_id, "now": timezone.now()})
        row = cursor.fetchone()
    if row is None:
        return None
    u1, u2, declined, expired, converted_to, blocked, vote1, vote2 = row
    return MatchState(
        match_id, u1, u2, bool(declined), bool(expired), converted_to, bool(blocked), vote1, vote2
    )


def match_for(*, match_id: str, user_id: str) -> MatchState:
    """The match of a participant: 404 if it does not exist, 403 if the caller is not in it."""
    state = match_state(match_id=match_id)
    if state is None:
        raise match_not_found()
    state.participant(user_id)
    return state


def message_wire(row: AfterHoursMessage | Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(row, AfterHoursMessage):
        return {
            "id": str(row["id"]),
            "matchId": str(row["match_id"]),
            "senderId": row["sender_id"],
            "text": row["text"],
            "timestamp": iso(row["created_at"]),
        }
    return {
        "id": str(row.id),
        "matchId": str(row.match_id),
        "senderId": row.sender_id,
        "text": row.text,
        "timestamp": iso(row.created_at),
    }


def messages_history(*, match_id: str, before: datetime | None) -> dict[str, Any]:
    """Up to 50 messages older than `before`, newest first (the original's order, not reversed);
    `hasMore` is the original's guess: a full page."""
    rows = AfterHoursMessage.objects.filter(match__pk=match_id)
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    page = list(
        rows.order_by("-created_at", "-id").values("id", "match_id", "sender_id", "text", "created_at")[
            :HISTORY_PAGE
        ]
    )
    return {"messages": [message_wire(row) for row in page], "hasMore": len(page) == HISTORY_PAGE}


def partner_message_ids(*, match_id: str, sender_id: str, ids: list[str]) -> list[str]:
    """The ids among `ids` (in their order, once each) of messages `sender_id` sent in this match:
    what a read receipt may relay (docs/contract.md, D25: never ids of other matches)."""
    wanted = list(dict.fromkeys(i for i in (parse_uuid(x) for x in ids) if i is not None))
    if not wanted:
        return []
    found = {
        str(pk)
        for pk in AfterHoursMessage.objects.filter(
            pk__in=wanted, match__pk=match_id, sender_id=sender_id
        ).values_list("id", flat=True)
    }
    return [i for i in wanted if i in found]


def partner_message_ids_all(*, match_id: str, sender_id: str) -> list[str]:
    """Every message `sender_id` sent in this match so far, oldest first (a read receipt without ids)."""
    rows = (
        AfterHoursMessage.objects.filter(match__pk=match_id, sender_id=sender_id)
        .order_by("created_at", "id")
        .values_list("id", flat=True)
    )
    return [str(pk) for pk in rows]
