"""Swipes and the classic matches they create (docs/contract.md, "Swipes", D9 and D10).

Both users' swipes on one pair are serialised by a transaction-scoped advisory lock on the
unordered pair: whichever like commits second sees the first and creates the match, so two users
liking each other at the same moment produce exactly one match. The match insert still relies on
the unordered-pair unique index (ON CONFLICT DO NOTHING) as the last word, and the push carries
the id of the row that exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper

from profiles.models import new_match_id
from profiles.push import match_message, push_notify
from profiles.services.tickets import ticket_award_once
from vlvt.http.api import ApiError

ACTIONS = frozenset({"like", "pass"})


@dataclass(frozen=True, slots=True)
class SwipeResult:
    action: str
    is_match: bool
    match_id: str | None = None
    match_created: bool = False


def _target_visible_locked(cursor: CursorWrapper, user_id: str, target_user_id: str) -> bool:
    """The target has a profile and neither user blocked the other (docs/contract.md, D9); in the
    same round trip, the pair's lock is taken (for an invisible target too: it is released with
    the transaction that then answers 404)."""
    low, high = sorted((user_id, target_user_id))
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM profiles WHERE user_id = %s) AND NOT EXISTS ("
        " SELECT 1 FROM blocks WHERE (user_id = %s AND blocked_user_id = %s)"
        " OR (user_id = %s AND blocked_user_id = %s)),"
        " pg_advisory_xact_lock(hashtextextended(%s, 7))",
        [target_user_id, user_id, target_user_id, target_user_id, user_id, f"swipe:{low}:{high}"],
    )
    return bool(cursor.fetchone()[0])


def swipe_record(*, user_id: str, target_user_id: str, action: str) -> SwipeResult:
    try:
        return _swipe(user_id, target_user_id, action)
    except IntegrityError:
        # The caller's `users` row is gone (a still-valid token of a deleted account).
        raise ApiError(400, "Invalid user reference") from None


def _swipe(user_id: str, target_user_id: str, action: str) -> SwipeResult:
    with transaction.atomic(), connection.cursor() as cursor:
        if not _target_visible_locked(cursor, user_id, target_user_id):
            # A block is not revealed: the target is simply not there for this user.
            raise ApiError(404, "Target user not found")
        # The upsert and the reverse-like check in one statement. Its snapshot is taken after the
        # lock was granted (the statement above), so a reverse like committed by the transaction
        # that held the lock before is seen: whichever like commits second finds the first.
        cursor.execute(
            "WITH upsert AS ("
            " INSERT INTO swipes (user_id, target_user_id, action, created_at) VALUES (%s, %s, %s, now())"
            " ON CONFLICT (user_id, target_user_id) DO UPDATE SET action = EXCLUDED.action, created_at = now()"
            " RETURNING 1)"
            " SELECT %s = 'like' AND EXISTS ("
            "  SELECT 1 FROM swipes WHERE user_id = %s AND target_user_id = %s AND action = 'like')"
            " FROM upsert",
            [user_id, target_user_id, action, action, target_user_id, user_id],
        )
        if not cursor.fetchone()[0]:
            return SwipeResult(action=action, is_match=False)
        return _mutual_like(cursor, user_id, target_user_id)


def _mutual_like(cursor: CursorWrapper, user_id: str, target_user_id: str) -> SwipeResult:
    names = _names(cursor, user_id, target_user_id)
    if len(names) < 2:
        # As the original: without both profiles there is no match row and no push.
        return SwipeResult(action="like", is_match=True)
    match_id, created = _match_for_pair(cursor, user_id, target_user_id)
    if created:
        for user in (user_id, target_user_id):
            ticket_award_once(user_id=user, reason="first_match", reference_id=match_id)
        # Each user is told the other's name; sent after commit by a Celery task.
        push_notify(
            user_id=user_id, message=match_message(match_id=match_id, matched_user_name=names[target_user_id])
        )
        push_notify(
            user_id=target_user_id, message=match_message(match_id=match_id, matched_user_name=names[user_id])
        )
    return SwipeResult(action="like", is_match=True, match_id=match_id, match_created=created)


def _names(cursor: CursorWrapper, user_id: str, target_user_id: str) -> dict[str, str]:
    cursor.execute("SELECT user_id, name FROM profiles WHERE user_id IN (%s, %s)", [user_id, target_user_id])
    return {uid: name for uid, name in cursor.fetchall()}


def _match_for_pair(cursor: CursorWrapper, user_id: str, target_user_id: str) -> tuple[str, bool]:
    """(id, created): insert the pair's match unless one exists in either order."""
    cursor.execute(
        "INSERT INTO matches (id, user_id_1, user_id_2) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
        [new_match_id(), user_id, target_user_id],
    )
    row = cursor.fetchone()
    if row is not None:
        return row[0], True
    cursor.execute(
        "SELECT id FROM matches WHERE LEAST(user_id_1, user_id_2) = LEAST(%s, %s) "
        "AND GREATEST(user_id_1, user_id_2) = GREATEST(%s, %s)",
        [user_id, target_user_id, user_id, target_user_id],
    )
    return cursor.fetchone()[0], False
