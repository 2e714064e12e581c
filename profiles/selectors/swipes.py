"""Likes received and sent (docs/contract.md, "Swipes"). No block filter, as the original."""

from __future__ import annotations

from typing import Any

from django.db import connection

# The other person's column of `swipes`, and the user's own; column names, never input.
_LIKES = (
    "SELECT s.{other} AS user_id, s.created_at, p.name, p.age, p.photos FROM swipes s "
    "JOIN profiles p ON p.user_id = s.{other} "
    "WHERE s.{own} = %s AND s.action = 'like' ORDER BY s.created_at DESC"
)


def likes_received(*, user_id: str) -> list[dict[str, Any]]:
    """Who liked the user, newest first: rows of (user_id, created_at, name, age, photos)."""
    return _rows(_LIKES.format(other="user_id", own="target_user_id"), user_id)


def likes_sent(*, user_id: str) -> list[dict[str, Any]]:
    """Whom the user liked, newest first, rows as `likes_received`."""
    return _rows(_LIKES.format(other="target_user_id", own="user_id"), user_id)


def _rows(sql: str, user_id: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
