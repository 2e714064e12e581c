"""Main profile writes: create, update, delete, location (docs/contract.md, "Profile")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now

from profiles.location import (
    FREE_JUMP_AFTER,
    LOCATION_MIN_GAP,
    PLAUSIBLE_SLACK_KM,
    PLAUSIBLE_SPEED_KMH,
    great_circle_km_sql,
)
from profiles.models import Profile
from profiles.tasks import photos_delete
from profiles.validation import ProfileInput
from vlvt.http.api import ApiError

_UNIQUE_VIOLATION = "23505"
_FK_VIOLATION = "23503"
_CHECK_VIOLATION = "23514"


def _pgcode(exc: IntegrityError) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def profile_create(*, user_id: str, data: ProfileInput) -> Profile:
    try:
        with transaction.atomic():
            return Profile.objects.create(
                user_id=user_id,
                name=data.name,
                age=data.age,
                bio=data.bio,
                photos=data.photos or [],
                interests=data.interests or [],
            )
    except IntegrityError as exc:
        code = _pgcode(exc)
        if code == _UNIQUE_VIOLATION:
            raise ApiError(409, "Profile already exists for this user") from None
        if code == _FK_VIOLATION:
            raise ApiError(400, "Invalid user reference") from None
        if code == _CHECK_VIOLATION:
            raise ApiError(400, "Invalid data: check constraint violated") from None
        raise


def profile_update(*, user_id: str, data: ProfileInput) -> Profile | None:
    """COALESCE semantics of the original: a field absent from the body keeps its value."""
    fields = {
        name: value
        for name, value in (
            ("name", data.name),
            ("age", data.age),
            ("bio", data.bio),
            ("photos", data.photos),
            ("interests", data.interests),
        )
        if value is not None
    }
    try:
        with transaction.atomic():
            updated = Profile.objects.filter(pk=user_id).update(**fields, updated_at=Now())
    except IntegrityError as exc:
        if _pgcode(exc) == _CHECK_VIOLATION:
            raise ApiError(400, "Invalid data: check constraint violated") from None
        raise
    if not updated:
        return None
    return Profile.objects.get(pk=user_id)


def profile_delete(*, user_id: str) -> bool:
    """Delete the row, then its photos and their thumbnails after commit (docs/contract.md, D17)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM profiles WHERE user_id = %s RETURNING photos", [user_id])
            row = cursor.fetchone()
        if row is None:
            return False
        photos: list[str] = list(row[0] or [])
        if photos:
            # Off the request, as the original (which did not await it); the task is idempotent.
            transaction.on_commit(lambda: photos_delete.delay(photos, user_id), robust=True)
    return True


@dataclass(frozen=True, slots=True)
class Location:
    user_id: str
    latitude: Decimal
    longitude: Decimal
    updated_at: datetime


class LocationTooSoon(Exception):
    """The move is refused for now (profiles.location rules); `retry_after` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


_MOVE_KM_SQL = great_circle_km_sql("%(lat)s", "%(lon)s", "latitude", "longitude")
# statement_timestamp(), not now(): the time of this request, even inside a longer transaction.
_ELAPSED_SQL = "(statement_timestamp() - location_updated_at)"
_HOURS_SQL = f"(extract(epoch FROM {_ELAPSED_SQL}) / 3600)"
_MOVE_ALLOWED_SQL = (
    "(location_updated_at IS NULL OR latitude IS NULL OR longitude IS NULL"
    f" OR {_ELAPSED_SQL} >= %(free_jump)s"
    f" OR ({_ELAPSED_SQL} >= %(min_gap)s AND {_MOVE_KM_SQL} <= %(slack)s + %(speed)s * {_HOURS_SQL}))"
)


def profile_set_location(*, user_id: str, latitude: float, longitude: float) -> Location | None:
    """Store the caller's location if the move is allowed (profiles.location): one statement, so
    concurrent updates are judged against each other. None when there is no profile."""
    params: dict[str, Any] = {
        "lat": latitude,
        "lon": longitude,
        "user_id": user_id,
        "free_jump": FREE_JUMP_AFTER,
        "min_gap": LOCATION_MIN_GAP,
        "slack": PLAUSIBLE_SLACK_KM,
        "speed": PLAUSIBLE_SPEED_KMH,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE profiles SET latitude = %(lat)s, longitude = %(lon)s, location_updated_at = statement_timestamp(),"
            f" updated_at = now() WHERE user_id = %(user_id)s AND {_MOVE_ALLOWED_SQL}"
            " RETURNING user_id, latitude, longitude, location_updated_at",
            params,
        )
        row = cursor.fetchone()
        if row is not None:
            return Location(*row)
        cursor.execute(
            f"SELECT extract(epoch FROM {_ELAPSED_SQL}), {_MOVE_KM_SQL} <= %(slack)s + %(speed)s * {_HOURS_SQL}"
            " FROM profiles WHERE user_id = %(user_id)s",
            params,
        )
        refused = cursor.fetchone()
    if refused is None:
        return None
    elapsed, plausible = float(refused[0]), bool(refused[1])
    wait = LOCATION_MIN_GAP if plausible else FREE_JUMP_AFTER
    raise LocationTooSoon(max(1, math.ceil(wait.total_seconds() - elapsed)))
