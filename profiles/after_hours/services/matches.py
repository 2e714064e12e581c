"""After Hours matches: atomic creation, decline, time-out, and ending with a session.

A match is active while `declined_by IS NULL AND expires_at > now`. Ending one without a decline
(a time-out, or a session that ended) sets `expires_at` to now: no fake user id is ever written
into `declined_by` (docs/contract.md, D13), and decline memory is only written by a real decline.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from profiles.after_hours import conf, events, tasks
from profiles.after_hours.matching import Pairing, haversine_km, round1
from profiles.after_hours.selectors import TEXTS, UUIDS, Card, cards_get, pg_array, photo_url
from profiles.after_hours.sql import update_returning
from profiles.models import AfterHoursSession
from vlvt.http.api import ApiError, iso

log = logging.getLogger(__name__)

NO_ACTIVE_SESSION = partial(ApiError, 400, "No active session", code="NO_ACTIVE_SESSION")
# A delayed time-out that wakes up this much early still applies (timers of processes differ).
_TIMEOUT_TOLERANCE = timedelta(seconds=1)


# --- creation ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreatedMatch:
    id: UUID
    initiator_id: str
    candidate_id: str
    created_at: datetime
    expires_at: datetime
    distance_km: float


_LOCK_SQL = f"""
SELECT id::text FROM after_hours_sessions
WHERE id = ANY({UUIDS.format("%s")}) AND ended_at IS NULL AND expires_at > %s
FOR UPDATE SKIP LOCKED
"""
_BUSY_SQL = f"""
SELECT user_id_1, user_id_2 FROM after_hours_matches
WHERE declined_by IS NULL AND expires_at > %(now)s
  AND (user_id_1 = ANY({TEXTS.format("%(users)s")}) OR user_id_2 = ANY({TEXTS.format("%(users)s")}))
"""
# The expiry is computed here from the sessions just locked, so their latest expiry counts.
_INSERT_SQL = """
INSERT INTO after_hours_matches (session_id, user_id_1, user_id_2, expires_at, created_at)
SELECT p.session_id, p.user_1, p.user_2, LEAST(mine.expires_at, theirs.expires_at, %(ttl_end)s), %(now)s
FROM jsonb_to_recordset(%(pairs)s::jsonb) AS p(session_id uuid, user_1 text, user_2 text, partner_session uuid)
JOIN after_hours_sessions mine ON mine.id = p.session_id
JOIN after_hours_sessions theirs ON theirs.id = p.partner_session
ON CONFLICT DO NOTHING
RETURNING id, user_id_1, user_id_2, expires_at
"""


def matches_create(*, pairings: list[Pairing], now: datetime) -> list[CreatedMatch]:
    """Create the planned matches that still hold, in one transaction and a fixed number of queries.

    Both sessions are locked with SKIP LOCKED (a session another run is matching is skipped, not
    waited for), then re-checked: still open with the matching margin left, and neither user in an
    active match. Everything a concurrent run committed before our locks is visible to that
    check, so two runs can never put one user into two active matches.
    """
    if not pairings:
        return []
    margin = now + timedelta(seconds=conf.matching_margin())
    session_ids = pg_array(s.session_id for p in pairings for s in (p.initiator, p.candidate))
    users = pg_array(s.user_id for p in pairings for s in (p.initiator, p.candidate))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL, [session_ids, margin])
            locked = {row[0] for row in cursor.fetchall()}
            cursor.execute(_BUSY_SQL, {"now": now, "users": users})
            busy = {user for row in cursor.fetchall() for user in row}
            kept = [p for p in pairings if _still_free(p, locked, busy)]
            if not kept:
                return []
            ttl_end = now + timedelta(seconds=conf.seconds("AFTER_HOURS_MATCH_TTL_SECONDS"))
            cursor.execute(_INSERT_SQL, {"pairs": _pairs_json(kept), "ttl_end": ttl_end, "now": now})
            inserted = cursor.fetchall()
        by_pair = {(p.initiator.user_id, p.candidate.user_id): p for p in kept}
        created = [
            CreatedMatch(
                id=match_id,
                initiator_id=user_1,
                candidate_id=user_2,
                created_at=now,
                expires_at=expires_at,
                distance_km=_distance(by_pair[(user_1, user_2)]),
            )
            for match_id, user_1, user_2, expires_at in inserted
        ]
        _announce(created)
        tasks.schedule_auto_decline([m.id for m in created])
    return created


def _still_free(p: Pairing, locked: set[str], busy: set[str]) -> bool:
    sessions_held = p.initiator.session_id in locked and p.candidate.session_id in locked
    return sessions_held and p.initiator.user_id not in busy and p.candidate.user_id not in busy


def _pairs_json(pairings: list[Pairing]) -> str:
    return json.dumps(
        [
            {
                "session_id": p.initiator.session_id,
                "user_1": p.initiator.user_id,
                "user_2": p.candidate.user_id,
                "partner_session": p.candidate.session_id,
            }
            for p in pairings
        ]
    )


def _distance(pairing: Pairing) -> float:
    a, b = pairing.initiator, pairing.candidate
    return round1(haversine_km(a.lat, a.lng, b.lat, b.lng))


def auto_decline_at(created_at: datetime, expires_at: datetime) -> datetime:
    """When an unanswered match times out: 5 minutes after creation, or its expiry if sooner."""
    return min(created_at + timedelta(seconds=conf.seconds("AFTER_HOURS_AUTO_DECLINE_SECONDS")), expires_at)


def _announce(created: list[CreatedMatch]) -> None:
    """after_hours:match to both users, each describing the other (docs/contract.md, "After Hours
    events")."""
    cards = cards_get(user_ids=[u for m in created for u in (m.initiator_id, m.candidate_id)])
    urls: dict[str, str | None] = {user: photo_url(card.photo_url) for user, card in cards.items()}
    batch: list[events.Event] = []
    for m in created:
        common: dict[str, object] = {
            "matchId": str(m.id),
            "expiresAt": iso(m.expires_at),
            "autoDeclineAt": iso(auto_decline_at(m.created_at, m.expires_at)),
        }
        for target, other in ((m.initiator_id, m.candidate_id), (m.candidate_id, m.initiator_id)):
            card = cards.get(other)
            if card is None:
                log.warning("after hours match partner has no profile", extra={"match_id": str(m.id)})
                continue
            batch.append(events.match_found(target, _match_payload(common, m, other, card, urls.get(other))))
    events.publish(batch)


def _match_payload(
    common: dict[str, object], m: CreatedMatch, other: str, card: Card, url: str | None
) -> dict[str, object]:
    """The original's payload (the partner under `profile`) plus the same facts flat, where the
    mobile app reads them (`id`, `otherUserId`, `name`, `age`, `photoUrl`, `bio`, `distance`)."""
    return {
        **common,
        "profile": {
            "userId": other,
            "name": card.name,
            "age": card.age,
            "photoUrl": url,
            "description": card.description,
            "distance": m.distance_km,
        },
        "id": common["matchId"],
        "otherUserId": other,
        "name": card.name,
        "age": card.age,
        "photoUrl": url,
        "bio": card.description,
        "distance": m.distance_km,
    }


# --- decline ----------------------------------------------------------------------------------------

_DECLINE_UPSERT_SQL = """
INSERT INTO after_hours_declines (user_id, declined_user_id, session_id, decline_count, first_declined_at, last_session_id)
VALUES (%(user)s, %(other)s, %(session)s, 1, %(now)s, %(session)s)
ON CONFLICT (user_id, declined_user_id) DO UPDATE SET
  decline_count = CASE WHEN after_hours_declines.decline_count >= 3 THEN 1
                       ELSE after_hours_declines.decline_count + 1 END,
  last_session_id = EXCLUDED.last_session_id
"""


def match_decline(*, user_id: str, match_id: str) -> None:
    """Decline a match of the caller (silently for the other user, as the original), remember the
    decline (docs/contract.md, "Matching": it hides the pair both ways until the daily purge after 7 days) and
    look for someone else after the decline delay."""
    with transaction.atomic():
        session_id = (
            AfterHoursSession.objects.filter(user_id=user_id, ended_at__isnull=True)
            .values_list("id", flat=True)
            .first()
        )
        if session_id is None:
            raise NO_ACTIVE_SESSION()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT user_id_1, user_id_2 FROM after_hours_matches "
                "WHERE id = %s AND (user_id_1 = %s OR user_id_2 = %s) AND declined_by IS NULL FOR UPDATE",
                [match_id, user_id, user_id],
            )
            row = cursor.fetchone()
            if row is None:
                raise ApiError(404, "Match not found or already declined")
            other = row[1] if row[0] == user_id else row[0]
            now = timezone.now()
            cursor.execute(
                _DECLINE_UPSERT_SQL, {"user": user_id, "other": other, "session": session_id, "now": now}
            )
            cursor.execute(
                "UPDATE after_hours_matches SET declined_by = %s, declined_at = %s WHERE id = %s",
                [user_id, now, match_id],
            )
        tasks.schedule_matching([session_id], "AFTER_HOURS_MATCH_DELAY_AFTER_DECLINE_SECONDS")


# --- ending without a decline -----------------------------------------------------------------------


def matches_auto_decline(*, match_ids: list[UUID] | None = None) -> list[UUID]:
    """Time out unanswered matches older than the auto-decline delay (all due ones, or these).

    Both users get after_hours:match_expired (reason "timeout") and are matched again after the
    auto-decline delay. Idempotent: an expired match is not expired twice.
    """
    now = timezone.now()
    sql = (
        "UPDATE after_hours_matches SET expires_at = %s "
        "WHERE declined_by IS NULL AND expires_at > %s AND created_at <= %s"
    )
    due = now - timedelta(seconds=conf.seconds("AFTER_HOURS_AUTO_DECLINE_SECONDS")) + _TIMEOUT_TOLERANCE
    params: list[Any] = [now, now, due]
    with transaction.atomic():
        expired = update_returning(sql, params, returning="id, user_id_1, user_id_2", ids=match_ids)
        if expired:
            events.publish(
                [
                    events.match_expired(str(mid), user, "timeout")
                    for mid, u1, u2 in expired
                    for user in (u1, u2)
                ]
            )
            _rematch([user for _, u1, u2 in expired for user in (u1, u2)])
    return [row[0] for row in expired]


def matches_end_for_users(*, user_ids: list[str], reason: str) -> list[UUID]:
    """End the active matches of users whose session ended; each partner is told (docs/contract.md, D14)
    with after_hours:match_expired and is matched again after the auto-decline delay."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE after_hours_matches SET expires_at = %(now)s WHERE declined_by IS NULL AND expires_at > %(now)s "
            "AND (user_id_1 = ANY(%(users)s) OR user_id_2 = ANY(%(users)s)) RETURNING id, user_id_1, user_id_2",
            {"users": list(user_ids), "now": timezone.now()},
        )
        ended = cursor.fetchall()
    leaving = set(user_ids)
    partners = [(mid, user) for mid, u1, u2 in ended for user in (u1, u2) if user not in leaving]
    if partners:
        events.publish([events.match_expired(str(mid), user, reason) for mid, user in partners])
        _rematch([user for _, user in partners])
    return [row[0] for row in ended]


def _rematch(user_ids: list[str]) -> None:
    sessions = list(
        AfterHoursSession.objects.filter(user_id__in=set(user_ids), ended_at__isnull=True).values_list(
            "id", flat=True
        )
    )
    tasks.schedule_matching(sessions, "AFTER_HOURS_MATCH_DELAY_AFTER_AUTO_DECLINE_SECONDS")
