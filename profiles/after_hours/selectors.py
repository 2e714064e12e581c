"""After Hours reads: the gate, the routes' reads, and the matching engine's set-based loads."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Now
from django.utils import timezone

from profiles import storage
from profiles.after_hours import conf
from profiles.after_hours.matching import ANY, EARTH_RADIUS_KM, Point, Seeker, gender_key, pair_key
from profiles.models import (
    AfterHoursPreferences,
    AfterHoursProfile,
    AfterHoursSession,
    Profile,
    User,
    UserSubscription,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_DISTANCE_KM = 10
DEFAULT_MIN_AGE = 18
DEFAULT_MAX_AGE = 99


# --- the gate -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Access:
    premium: bool
    id_verified: bool
    consent: bool


def access_get(*, user_id: str) -> Access:
    """The three gate facts in one query. A missing users row has no subscription either."""
    active_subscription = UserSubscription.objects.filter(user_id=OuterRef("pk"), is_active=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=Now())
    )
    row = (
        User.objects.filter(pk=user_id)
        .annotate(premium=Exists(active_subscription))
        .values_list("premium", "id_verified", "after_hours_consent")
        .first()
    )
    if row is None:
        return Access(premium=False, id_verified=False, consent=False)
    return Access(premium=bool(row[0]), id_verified=bool(row[1]), consent=bool(row[2]))


# --- profile, preferences, session ----------------------------------------------------------------


def photo_url(value: str | None) -> str | None:
    """A stored key as a (presigned) URL; '' and resolution errors give null, as the original."""
    if not value:
        return None
    if storage.is_passthrough(value):
        return value
    try:
        return storage.photo_storage().url(value)
    except Exception:
        log.warning("after hours photo url resolution failed", exc_info=True)
        return None


@dataclass(frozen=True, slots=True)
class ProfileView:
    profile: AfterHoursProfile
    name: str | None
    age: int | None


def profile_get(*, user_id: str) -> ProfileView | None:
    """The After Hours profile with the main profile's name and age (both rows required)."""
    profile = (
        AfterHoursProfile.objects.filter(pk=user_id, user__profile__isnull=False)
        .annotate(main_name=F("user__profile__name"), main_age=F("user__profile__age"))
        .first()
    )
    if profile is None:
        return None
    return ProfileView(profile=profile, name=profile.main_name, age=profile.main_age)


@dataclass(frozen=True, slots=True)
class MainProfile:
    name: str | None
    age: int | None


def main_profile_get(*, user_id: str) -> MainProfile:
    """The main profile's name and age (both None without a main profile)."""
    row = Profile.objects.filter(pk=user_id).values_list("name", "age").first()
    return MainProfile(*row) if row else MainProfile(None, None)


def preferences_get(*, user_id: str) -> AfterHoursPreferences | None:
    return AfterHoursPreferences.objects.filter(pk=user_id).first()


def open_session_get(*, user_id: str) -> AfterHoursSession | None:
    """The user's unclosed session (at most one, by the partial unique index), expired or not."""
    return AfterHoursSession.objects.filter(user_id=user_id, ended_at__isnull=True).first()


# --- current match, nearby count ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrentMatch:
    id: UUID
    created_at: datetime
    expires_at: datetime
    name: str | None
    age: int | None
    photo_url: str
    description: str | None
    latitude: float  # the partner's fuzzed point
    longitude: float


_CURRENT_MATCH_SQL = """
SELECT m.id, m.created_at, m.expires_at, p.name, p.age, ahp.photo_url, ahp.description,
       s.fuzzed_latitude::float8, s.fuzzed_longitude::float8
FROM after_hours_matches m
JOIN after_hours_sessions s
  ON s.user_id = CASE WHEN m.user_id_1 = %(user)s THEN m.user_id_2 ELSE m.user_id_1 END
 AND s.ended_at IS NULL
JOIN profiles p ON p.user_id = s.user_id
JOIN after_hours_profiles ahp ON ahp.user_id = s.user_id
WHERE (m.user_id_1 = %(user)s OR m.user_id_2 = %(user)s)
  AND m.declined_by IS NULL AND m.expires_at > %(now)s
ORDER BY m.created_at DESC, m.id
LIMIT 1
"""


def current_match_get(*, user_id: str) -> CurrentMatch | None:
    """The newest undeclined, unexpired match whose partner still has an unclosed session."""
    with connection.cursor() as cursor:
        cursor.execute(_CURRENT_MATCH_SQL, {"user": user_id, "now": timezone.now()})
        row = cursor.fetchone()
    return CurrentMatch(*row) if row else None


@dataclass(frozen=True, slots=True)
class NearbyOrigin:
    latitude: float
    longitude: float
    max_distance_km: int


def nearby_origin_get(*, user_id: str) -> NearbyOrigin | None:
    """The caller's unclosed session joined to its preferences (both needed, as the original)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.fuzzed_latitude::float8, s.fuzzed_longitude::float8, pr.max_distance_km "
            "FROM after_hours_sessions s JOIN after_hours_preferences pr ON pr.user_id = s.user_id "
            "WHERE s.user_id = %s AND s.ended_at IS NULL",
            [user_id],
        )
        row = cursor.fetchone()
    return NearbyOrigin(*row) if row else None


def nearby_count(*, user_id: str, latitude: float, longitude: float, max_distance_km: float) -> int:
    """Other users with an open, unexpired session within `max_distance_km` of the point
    (docs/contract.md, D16: the caller is not counted). Clamped law of cosines, as the original."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(DISTINCT user_id) FROM after_hours_sessions
            WHERE ended_at IS NULL AND expires_at > %(now)s AND user_id <> %(user)s
              AND %(radius)s * acos(LEAST(1.0, GREATEST(-1.0,
                    cos(radians(%(lat)s)) * cos(radians(fuzzed_latitude::float8))
                    * cos(radians(fuzzed_longitude::float8) - radians(%(lng)s))
                    + sin(radians(%(lat)s)) * sin(radians(fuzzed_latitude::float8))))) <= %(max)s
            """,
            {
                "user": user_id,
                "now": timezone.now(),
                "radius": EARTH_RADIUS_KM,
                "lat": latitude,
                "lng": longitude,
                "max": max_distance_km,
            },
        )
        return int(cursor.fetchone()[0])


# --- matching loads (a fixed number of queries per run, whatever the pool size) -------------------

# Every open, unexpired session (what `activeUsersNearby` counts), flagged `waiting` when it can be
# matched: both profiles and preferences, more than the matching margin left, no active match.
_ACTIVE_SQL = f"""
SELECT s.id::text, s.user_id, s.fuzzed_latitude::float8, s.fuzzed_longitude::float8,
       extract(epoch FROM s.started_at)::float8,
       p.gender, p.age, pr.seeking_gender,
       COALESCE(pr.max_distance_km, {DEFAULT_MAX_DISTANCE_KM}), COALESCE(pr.min_age, {DEFAULT_MIN_AGE}),
       COALESCE(pr.max_age, {DEFAULT_MAX_AGE}),
       (ahp.user_id IS NOT NULL AND p.user_id IS NOT NULL AND pr.user_id IS NOT NULL
        AND s.expires_at > %(until)s AND busy.user_id IS NULL) AS waiting
FROM after_hours_sessions s
LEFT JOIN after_hours_profiles ahp ON ahp.user_id = s.user_id
LEFT JOIN profiles p ON p.user_id = s.user_id
LEFT JOIN after_hours_preferences pr ON pr.user_id = s.user_id
LEFT JOIN (
  SELECT user_id_1 AS user_id FROM after_hours_matches WHERE declined_by IS NULL AND expires_at > %(now)s
  UNION
  SELECT user_id_2 FROM after_hours_matches WHERE declined_by IS NULL AND expires_at > %(now)s
) busy ON busy.user_id = s.user_id
WHERE s.ended_at IS NULL AND s.expires_at > %(now)s
"""


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude rectangle; `lng_lo`/`lng_hi` None means every longitude."""

    lat_lo: float
    lat_hi: float
    lng_lo: float | None
    lng_hi: float | None


def box_around(seekers: list[Seeker]) -> Box:
    """The rectangle holding every point within each seeker's search radius of that seeker."""
    lat_lo, lat_hi, lng_lo, lng_hi = 90.0, -90.0, 180.0, -180.0
    every_longitude = False
    for s in seekers:
        radius = s.max_distance_km
        d_lat = math.degrees(radius / EARTH_RADIUS_KM) * 1.000001 + 1e-6
        lo, hi = s.lat - d_lat, s.lat + d_lat
        lat_lo, lat_hi = min(lat_lo, lo), max(lat_hi, hi)
        cos_min = math.cos(math.radians(min(90.0, max(abs(lo), abs(hi)))))
        ratio = math.sin(radius / (2 * EARTH_RADIUS_KM)) / cos_min if cos_min > 1e-9 else 2.0
        if ratio >= 1:
            every_longitude = True
            continue
        d_lng = math.degrees(2 * math.asin(ratio)) * 1.000001 + 1e-6
        if s.lng - d_lng < -180 or s.lng + d_lng > 180:
            every_longitude = True
        lng_lo, lng_hi = min(lng_lo, s.lng - d_lng), max(lng_hi, s.lng + d_lng)
    if every_longitude:
        return Box(lat_lo, lat_hi, None, None)
    return Box(lat_lo, lat_hi, lng_lo, lng_hi)


def _box_sql(box: Box | None, params: dict[str, Any]) -> str:
    if box is None:
        return ""
    params.update(lat_lo=box.lat_lo, lat_hi=box.lat_hi)
    sql = " AND s.fuzzed_latitude BETWEEN %(lat_lo)s AND %(lat_hi)s"
    if box.lng_lo is not None:
        params.update(lng_lo=box.lng_lo, lng_hi=box.lng_hi)
        sql += " AND s.fuzzed_longitude BETWEEN %(lng_lo)s AND %(lng_hi)s"
    return sql


def _seeker(row: tuple) -> Seeker:
    return Seeker(
        session_id=row[0],
        user_id=row[1],
        lat=row[2],
        lng=row[3],
        started_at=row[4],
        gender=gender_key(row[5]),
        age=row[6],
        seeking=gender_key(row[7]) or ANY,  # 'Any' -> ANY
        max_distance_km=float(row[8]),
        min_age=int(row[9]),
        max_age=int(row[10]),
    )


def pg_array(values: Any) -> str:
    """A list parameter as one PostgreSQL array literal. psycopg renders a Python list of 10,000 ids
    element by element (most of a sweep's binding time) but quotes one string in C; cast in the
    SQL, the literal is still a constant, so large `= ANY(...)` tests stay hashed."""
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


# SQL for "= ANY(<that list>)", as text and as uuid.
TEXTS = "{}::text[]"
UUIDS = "{}::uuid[]"


@dataclass(frozen=True, slots=True)
class Active:
    """One load of the active sessions: who can be matched, and every active point."""

    seekers: list[Seeker]
    rows: list[tuple]

    def points(self) -> list[Point]:
        return [Point(row[1], row[2], row[3]) for row in self.rows]


def active_sessions(
    *, now: datetime, session_ids: list[UUID] | None = None, box: Box | None = None
) -> Active:
    """Open, unexpired sessions (optionally only these, or only inside `box`); `seekers` are the
    ones waiting to be matched (see `_ACTIVE_SQL`)."""
    params: dict[str, Any] = {"now": now, "until": now + timedelta(seconds=conf.matching_margin())}
    sql = _ACTIVE_SQL + _box_sql(box, params)
    if session_ids is not None:
        params["ids"] = pg_array(str(i) for i in session_ids)
        sql += " AND s.id = ANY(" + UUIDS.format("%(ids)s") + ")"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return Active(seekers=[_seeker(row) for row in rows if row[11]], rows=rows)


_EXCLUSIONS_SQL = """
SELECT user_id, blocked_user_id FROM blocks
 WHERE (user_id = ANY({a}) AND blocked_user_id = ANY({b})) OR (blocked_user_id = ANY({a}) AND user_id = ANY({b}))
UNION ALL
SELECT user_id, declined_user_id FROM after_hours_declines
 WHERE decline_count < 3
   AND ((user_id = ANY({a}) AND declined_user_id = ANY({b})) OR (declined_user_id = ANY({a}) AND user_id = ANY({b})))
UNION ALL
SELECT user_id_1, user_id_2 FROM after_hours_matches WHERE session_id = ANY({sessions})
""".format(a=TEXTS.format("%(a)s"), b=TEXTS.format("%(b)s"), sessions=UUIDS.format("%(sessions)s"))


def match_exclusions(*, initiators: list[Seeker], pool: list[Seeker]) -> set[tuple[str, str]]:
    """Unordered user pairs that must not be matched: blocks and live declines (either direction,
    the decline memory of docs/contract.md, "Matching") and pairs already matched during one of the
    current sessions."""
    params = {
        "a": pg_array(s.user_id for s in initiators),
        "b": pg_array(s.user_id for s in pool),
        "sessions": pg_array(s.session_id for s in pool),
    }
    with connection.cursor() as cursor:
        cursor.execute(_EXCLUSIONS_SQL, params)
        return {pair_key(a, b) for a, b in cursor.fetchall()}


@dataclass(frozen=True, slots=True)
class Card:
    """What a match shows of a user: main profile name and age, the After Hours photo and text."""

    name: str | None
    age: int | None
    photo_url: str
    description: str | None


def cards_get(*, user_ids: list[str]) -> dict[str, Card]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ahp.user_id, p.name, p.age, ahp.photo_url, ahp.description "
            "FROM after_hours_profiles ahp JOIN profiles p ON p.user_id = ahp.user_id "
            "WHERE ahp.user_id = ANY(" + TEXTS.format("%s") + ")",
            [pg_array(user_ids)],
        )
        return {row[0]: Card(*row[1:]) for row in cursor.fetchall()}
