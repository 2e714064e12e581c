"""Reads of the chat domain. Wire shapes (camelCase keys, ISO timestamps) are built here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q

from chat.errors import ChatError
from chat.models import DateProposal, Message, ReadReceipt, Report, UserStatus
from profiles.models import Block, Match, Profile
from vlvt.http.api import iso

# --- matches -------------------------------------------------------------------------------------


def _fetchone(sql: str, params: Any) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _fetchall(sql: str, params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# The reads every chat request makes are plain SQL: building them with the ORM cost more CPU than
# PostgreSQL spends answering them.


def match_participants(*, match_id: str) -> tuple[str, str] | None:
    row = _fetchone("SELECT user_id_1, user_id_2 FROM matches WHERE id = %s", [match_id])
    return (row[0], row[1]) if row else None


def match_wire(match: Match) -> dict[str, Any]:
    return {
        "id": match.id,
        "userId1": match.user_1_id,
        "userId2": match.user_2_id,
        "createdAt": iso(match.created_at),
    }


def matches_for_user(*, user_id: str) -> list[dict[str, Any]]:
    rows = _fetchall(
        """SELECT id, user_id_1, user_id_2, created_at FROM matches
            WHERE user_id_1 = %(user)s OR user_id_2 = %(user)s
            ORDER BY created_at DESC, id""",
        {"user": user_id},
    )
    return [{"id": i, "userId1": u1, "userId2": u2, "createdAt": iso(at)} for i, u1, u2, at in rows]


def match_between(*, user_a: str, user_b: str) -> Match | None:
    """The permanent match of a pair, whichever order it was stored in."""
    return (
        Match.objects.filter(Q(user_1_id=user_a, user_2_id=user_b) | Q(user_1_id=user_b, user_2_id=user_a))
        .order_by("created_at")
        .first()
    )


def match_partner_ids(user_id: str) -> list[str]:
    """Everyone with a permanent match with `user_id` (who hears about their presence)."""
    rows = Match.objects.filter(Q(user_1_id=user_id) | Q(user_2_id=user_id)).values_list(
        "user_1_id", "user_2_id"
    )
    return list(dict.fromkeys(b if a == user_id else a for a, b in rows))


def unread_counts(*, user_id: str) -> dict[str, int]:
    """Per match, the partner's messages I have no read receipt for (only matches with some)."""
    receipt = ReadReceipt.objects.filter(message_id=OuterRef("pk"), user_id=user_id)
    rows = (
        Message.objects.filter(Q(match__user_1_id=user_id) | Q(match__user_2_id=user_id))
        .exclude(sender_id=user_id)
        .filter(~Exists(receipt))
        .values("match_id")
        .annotate(n=Count("*"))
        .order_by("match_id")
    )
    return {row["match_id"]: row["n"] for row in rows}


# --- safety --------------------------------------------------------------------------------------


def blocked_between(*, user_a: str, user_b: str) -> bool:
    return Block.objects.filter(
        Q(user_id=user_a, blocked_user_id=user_b) | Q(user_id=user_b, blocked_user_id=user_a)
    ).exists()


def blocked_users(*, user_id: str) -> list[dict[str, Any]]:
    rows = Block.objects.filter(user_id=user_id).order_by("-created_at", "-id")
    return [
        {
            "id": b.id,
            "userId": b.user_id,
            "blockedUserId": b.blocked_user_id,
            "reason": b.reason,
            "createdAt": iso(b.created_at),
        }
        for b in rows
    ]


def reports_recent(*, status: str | None) -> list[dict[str, Any]]:
    rows = Report.objects.order_by("-created_at", "-id")
    if status is not None:
        rows = rows.filter(status=status)
    return [
        {
            "id": r.id,
            "reporterId": r.reporter_id,
            "reportedUserId": r.reported_user_id,
            "reason": r.reason,
            "details": r.details,
            "status": r.status,
            "createdAt": iso(r.created_at),
        }
        for r in rows[:100]
    ]


# --- the messaging gates -------------------------------------------------------------------------

_GATE_LABELS = {
    "name": "name",
    "age": "age",
    "bio": "bio",
    "photos": "at least one photo",
    "id_verification": "ID verification",
}


@dataclass(frozen=True)
class ProfileGap:
    missing_fields: list[str]
    message: str


# The characters Python's `str.strip()` removes (those `str.isspace()` accepts): PostgreSQL's
# `btrim(x)` alone removes only spaces. A name or bio of nothing else is blank. In SQL as a Unicode
# escape literal (every one of them is below U+10000).
BLANK = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
_BLANK_SQL = "U&'" + "".join(f"\\{ord(c):04X}" for c in BLANK) + "'"


def profile_gap(missing: list[str] | None) -> ProfileGap | None:
    """`missing`: the gate's fields that the sender's profile lacks (SEND_CONTEXT's `missing`), in
    the gate's order; None when there is no profile."""
    if missing is None:
        return ProfileGap(["profile"], "Profile not found. Please complete your profile setup.")
    if not missing:
        return None
    labels = ", ".join(_GATE_LABELS[f] for f in missing)
    return ProfileGap(list(missing), f"Please complete your profile to start messaging: {labels}")


# What a send checks, one row per match (none: no such match): its two users, a block either way,
# the profile gate's missing fields (NULL: no profile; a name or bio is missing when blank, the age
# when under 18, photos when none, ID verification unless true) and the sender's plan. Parameters:
# sender, match, now. chat.services.messages inserts from it in the same statement.
SEND_CONTEXT = f"""
SELECT m.user_id_1, m.user_id_2,
       EXISTS (SELECT 1 FROM blocks b
                WHERE (b.user_id = m.user_id_1 AND b.blocked_user_id = m.user_id_2)
                   OR (b.user_id = m.user_id_2 AND b.blocked_user_id = m.user_id_1)) AS blocked,
       CASE WHEN p.user_id IS NOT NULL THEN array_remove(ARRAY[
            CASE WHEN coalesce(btrim(p.name, {_BLANK_SQL}), '') = '' THEN 'name' END,
            CASE WHEN p.age IS NULL OR p.age < 18 THEN 'age' END,
            CASE WHEN coalesce(btrim(p.bio, {_BLANK_SQL}), '') = '' THEN 'bio' END,
            CASE WHEN coalesce(cardinality(p.photos), 0) = 0 THEN 'photos' END,
            CASE WHEN u.id_verified IS NOT TRUE THEN 'id_verification' END]::text[], NULL)
       END AS missing,
       EXISTS (SELECT 1 FROM user_subscriptions s
                WHERE s.user_id = %(sender)s AND s.is_active
                  AND (s.expires_at IS NULL OR s.expires_at > %(now)s)) AS premium
  FROM matches m
  LEFT JOIN profiles p ON p.user_id = %(sender)s
  LEFT JOIN users u ON u.id = %(sender)s
 WHERE m.id = %(match)s
"""


# --- messages ------------------------------------------------------------------------------------

ONE_MS = timedelta(milliseconds=1)


def _after_bound(cursor: datetime) -> tuple[str, datetime]:
    # Bodies carry milliseconds while rows keep microseconds. A whole-millisecond cursor names the
    # millisecond a returned message was shown at, so "after" starts at the next millisecond;
    # otherwise the message at 12:00:00.123456, shown as .123Z, would come back again.
    if cursor.microsecond % 1000 == 0:
        return "created_at >= %(after)s", cursor + ONE_MS
    return "created_at > %(after)s", cursor


def match_history(
    *, match_id: str, limit: int, before: datetime | None, after: datetime | None
) -> tuple[tuple[str, str] | None, dict[str, Any]]:
    """The match's two users (None: no such match) and its history page in ascending order: the
    newest `limit` rows inside the cursors, plus pagination. One round trip: the page is read
    beside the match row (a lateral join), so a missing match reads nothing and costs no second
    query; the caller decides from the users whether the page may be shown."""
    where = ["match_id = p.id"]
    params: dict[str, Any] = {"match": match_id, "limit": limit + 1}
    if before is not None:
        # `< .123000` already excludes the whole millisecond the cursor was rounded down from.
        where.append("created_at < %(before)s")
        params["before"] = before
    if after is not None:
        condition, params["after"] = _after_bound(after)
        where.append(condition)
    rows = _fetchall(
        f"""SELECT p.user_id_1, p.user_id_2, m.id, m.match_id, m.sender_id, m.text, m.created_at
              FROM matches p
              LEFT JOIN LATERAL (
                   SELECT id, match_id, sender_id, text, created_at FROM messages WHERE {" AND ".join(where)}
                    ORDER BY created_at DESC, id DESC LIMIT %(limit)s) m ON true
             WHERE p.id = %(match)s""",
        params,
    )
    if not rows:
        return None, {}
    fetched = [row[2:] for row in rows if row[2] is not None]
    has_more = len(fetched) > limit
    messages = [
        {"id": i, "matchId": m, "senderId": s, "text": text, "timestamp": iso(at)}
        for i, m, s, text, at in reversed(fetched[:limit])
    ]
    page = {
        "messages": messages,
        "pagination": {
            "limit": limit,
            "hasMore": has_more,
            "oldestTimestamp": messages[0]["timestamp"] if messages else None,
            "newestTimestamp": messages[-1]["timestamp"] if messages else None,
        },
    }
    return (rows[0][0], rows[0][1]), page


# --- presence ------------------------------------------------------------------------------------


def online_statuses(*, viewer_id: str, user_ids: list[str]) -> list[dict[str, Any]]:
    """Presence of the requested users who have a permanent match with the viewer, in request order.

    Anyone else is silently left out, so presence cannot be used to watch strangers. A matched user
    who has never connected is reported offline with no last-seen time.
    """
    if not isinstance(user_ids, list) or not user_ids:
        raise ChatError(400, "User IDs required")
    wanted = list(
        dict.fromkeys(u for u in user_ids if isinstance(u, str) and u != viewer_id and "\x00" not in u)
    )
    if not wanted:
        return []
    partners = set(
        Match.objects.filter(
            Q(user_1_id=viewer_id, user_2_id__in=wanted) | Q(user_2_id=viewer_id, user_1_id__in=wanted)
        ).values_list("user_1_id", "user_2_id")
    )
    allowed = {b if a == viewer_id else a for a, b in partners}
    rows = {
        s["user_id"]: s
        for s in UserStatus.objects.filter(pk__in=allowed).values("user_id", "is_online", "last_seen_at")
    }
    statuses = []
    for user_id in wanted:
        if user_id not in allowed:
            continue
        row = rows.get(user_id)
        statuses.append(
            {
                "userId": user_id,
                "isOnline": bool(row and row["is_online"]),
                "lastSeenAt": iso(row["last_seen_at"]) if row else None,
            }
        )
    return statuses


# --- date proposals ------------------------------------------------------------------------------


def proposal_wire(p: DateProposal, *, proposer_name: str | None = None, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(p.id),
        "matchId": p.match_id,
        "proposerId": p.proposer_id,
    }
    if full:
        body["proposerName"] = proposer_name
    body.update(
        {
            "placeId": p.place_id,
            "placeName": p.place_name,
            "placeAddress": p.place_address,
            "placeLat": None if p.place_lat is None else str(p.place_lat),
            "placeLng": None if p.place_lng is None else str(p.place_lng),
            # node-pg turns a DATE into local midnight (UTC on the servers) serialised as ISO.
            "proposedDate": f"{p.proposed_date.isoformat()}T00:00:00.000Z",
            "proposedTime": p.proposed_time.strftime("%H:%M:%S"),
            "note": p.note,
            "status": p.status,
        }
    )
    if full:
        body.update(
            {
                "respondedAt": iso(p.responded_at),
                "completedAt": iso(p.completed_at),
                "proposerConfirmed": p.proposer_confirmed,
                "recipientConfirmed": p.recipient_confirmed,
            }
        )
    body["createdAt"] = iso(p.created_at)
    return body


def date_proposals_for_match(*, match_id: str) -> list[dict[str, Any]]:
    """Newest first; as the original's inner join, proposals whose proposer has no profile are left out."""
    names = Profile.objects.filter(pk=OuterRef("proposer_id")).values("name")[:1]
    rows = (
        DateProposal.objects.filter(match_id=match_id)
        .filter(Exists(Profile.objects.filter(pk=OuterRef("proposer_id"))))
        .annotate(proposer_name=names)
        .order_by("-created_at", "-id")
    )
    return [proposal_wire(p, proposer_name=p.proposer_name, full=True) for p in rows]
