"""After Hours sessions: start, end, extend, and the scheduled expiry, warning and cleanup."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from profiles.after_hours import conf, events, tasks
from profiles.after_hours.fuzz import fuzz_location
from profiles.after_hours.services.matches import matches_end_for_users
from profiles.after_hours.sql import update_returning
from profiles.models import AfterHoursProfile, AfterHoursSession, DeviceFingerprint
from vlvt.http.api import ApiError
from vlvt.redis import sync_redis

log = logging.getLogger(__name__)

PROFILE_REQUIRED = partial(
    ApiError, 400, "After Hours profile required before starting session", code="PROFILE_REQUIRED"
)
SESSION_ALREADY_ACTIVE = partial(
    ApiError, 409, "Active session already exists", code="SESSION_ALREADY_ACTIVE"
)
# A job that wakes up this close before its moment re-queues itself for the exact time instead of
# dropping the work (ETA timers and clocks of different processes are not perfectly aligned).
_EARLY_TOLERANCE_SECONDS = 5.0


def session_start(
    *,
    user_id: str,
    duration_minutes: int,
    latitude: float,
    longitude: float,
    device_fingerprint: dict[str, Any] | None = None,
) -> AfterHoursSession:
    """Open a session at a fuzzed point; 400 without an After Hours profile, 409 while one is open.

    The partial unique index decides between concurrent starts (409, never a 500). An open
    session that already ran out is closed here first (docs/contract.md, D15: a lost expiry job must not
    lock the user out until the next sweep).
    """
    with transaction.atomic():
        if not AfterHoursProfile.objects.filter(pk=user_id).exists():
            raise PROFILE_REQUIRED()
        sessions_expire(user_ids=[user_id])
        if AfterHoursSession.objects.filter(user_id=user_id, ended_at__isnull=True).exists():
            raise SESSION_ALREADY_ACTIVE()
        fuzzed_lat, fuzzed_lng = fuzz_location(latitude, longitude)
        now = timezone.now()
        try:
            with transaction.atomic():
                session = AfterHoursSession.objects.create(
                    user_id=user_id,
                    started_at=now,
                    created_at=now,
                    expires_at=now + timedelta(seconds=duration_minutes * conf.minute()),
                    latitude=latitude,
                    longitude=longitude,
                    fuzzed_latitude=fuzzed_lat,
                    fuzzed_longitude=fuzzed_lng,
                )
        except IntegrityError:
            raise SESSION_ALREADY_ACTIVE() from None
        if device_fingerprint:
            _fingerprint_store(user_id=user_id, session_id=session.id, fingerprint=device_fingerprint)
        tasks.schedule_session_jobs(session.id, session.expires_at)
        tasks.schedule_matching([session.id], "AFTER_HOURS_MATCH_DELAY_AFTER_START_SECONDS")
    return session


_FINGERPRINT_FIELDS = (
    ("deviceId", "device_id", 255),
    ("deviceModel", "device_model", 100),
    ("platform", "platform", 20),
)


def _fingerprint_store(*, user_id: str, session_id: UUID, fingerprint: dict[str, Any]) -> None:
    """As the original's storeDeviceFingerprint: falsy fields become NULL. Over-long values are cut
    to the column instead of failing the insert, and a failure never fails the session start."""
    values: dict[str, str | None] = {}
    for key, column, length in _FINGERPRINT_FIELDS:
        value = fingerprint.get(key)
        values[column] = str(value)[:length] if value not in (None, "", 0, False) else None
    try:
        with transaction.atomic():
            DeviceFingerprint.objects.create(user_id=user_id, session_id=session_id, **values)
    except DatabaseError:
        log.warning("device fingerprint not stored", exc_info=True)


def session_end(*, user_id: str) -> UUID:
    """Close the user's open session now; its match ends and the partner hears of it
    (docs/contract.md, D14)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE after_hours_sessions SET ended_at = %s WHERE user_id = %s AND ended_at IS NULL RETURNING id",
                [timezone.now(), user_id],
            )
            row = cursor.fetchone()
        if row is None:
            raise ApiError(404, "No active session found")
        matches_end_for_users(user_ids=[user_id], reason="session_ended")
    return row[0]


@dataclass(frozen=True, slots=True)
class Extended:
    id: UUID
    expires_at: datetime


def session_extend(*, user_id: str, minutes: int) -> Extended:
    """Add `minutes` to the current expiry (not to now); the expiry job and the warning move with it."""
    params: list[Any] = [timedelta(seconds=minutes * conf.minute()), user_id, timezone.now()]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE after_hours_sessions SET expires_at = expires_at + %s "
                "WHERE user_id = %s AND ended_at IS NULL AND expires_at > %s RETURNING id, expires_at",
                params,
            )
            row = cursor.fetchone()
        if row is None:
            raise ApiError(404, "No active session to extend")
        tasks.schedule_session_jobs(row[0], row[1])
    return Extended(id=row[0], expires_at=row[1])


# --- scheduled --------------------------------------------------------------------------------------


def sessions_expire(
    *, session_ids: list[UUID] | None = None, user_ids: list[str] | None = None
) -> list[UUID]:
    """Close every open session whose time is up (optionally only these): `ended_at` is set to the
    expiry, the owner gets session_expired, a current match ends and its partner is told.

    Idempotent: a closed session is never closed again, so each event leaves once.
    """
    sql = "UPDATE after_hours_sessions SET ended_at = expires_at WHERE ended_at IS NULL AND expires_at <= %s"
    params: list[Any] = [timezone.now()]
    if user_ids is not None:
        sql += " AND user_id = ANY(%s)"
        params.append(list(user_ids))
    with transaction.atomic():
        closed = update_returning(sql, params, returning="id, user_id", ids=session_ids)
        if closed:
            events.publish(
                [events.session_expired(user_id, str(session_id)) for session_id, user_id in closed]
            )
            matches_end_for_users(user_ids=[user_id for _, user_id in closed], reason="session_expired")
    if closed:
        log.info("after hours sessions expired", extra={"count": len(closed)})
    return [session_id for session_id, _ in closed]


def session_expire_if_due(*, session_id: UUID) -> float | None:
    """The expiry job. Returns seconds to wait and retry when it woke up just before its time."""
    expires_at = (
        AfterHoursSession.objects.filter(pk=session_id, ended_at__isnull=True)
        .values_list("expires_at", flat=True)
        .first()
    )
    if expires_at is None:
        return None
    remaining = (expires_at - timezone.now()).total_seconds()
    if remaining > 0:
        # Extended since this job was queued (its own job is queued) - or woke up a hair early.
        return remaining if remaining <= _EARLY_TOLERANCE_SECONDS else None
    sessions_expire(session_ids=[session_id])
    return None


def session_warn_if_due(*, session_id: UUID) -> float | None:
    """The 2-minute warning job: publish session_expiring once per expiry time, if still due."""
    session = (
        AfterHoursSession.objects.filter(pk=session_id, ended_at__isnull=True)
        .only("user_id", "expires_at")
        .first()
    )
    if session is None:
        return None
    now = timezone.now()
    warn_at = session.expires_at - timedelta(seconds=conf.warning_lead())
    early = (warn_at - now).total_seconds()
    if early > 0:
        return early if early <= _EARLY_TOLERANCE_SECONDS else None  # moved by an extension
    if session.expires_at <= now:
        return None  # too late to warn; the expiry takes over
    # One warning per (session, expiry) even if the job is delivered twice.
    marker = f"after_hours:warned:{session_id}:{session.expires_at.timestamp()}"
    ttl = max(1, int(conf.warning_lead()) + 3600)
    if not sync_redis().set(marker, 1, nx=True, ex=ttl):
        return None
    events.publish(
        [events.session_expiring(session.user_id, str(session_id), session.expires_at, conf.WARNING_MINUTES)]
    )
    return None


@dataclass(frozen=True, slots=True)
class CleanupReport:
    sessions_closed: int
    declines_deleted: int
    fingerprints_deleted: int


def sessions_daily_cleanup() -> CleanupReport:
    """The daily job (docs/contract.md, "Schedules"): close forgotten sessions, forget declines
    older than the retention, and drop fingerprints of sessions that no longer exist."""
    closed = sessions_expire()
    retention = timedelta(days=conf.seconds("AFTER_HOURS_DECLINE_RETENTION_DAYS"))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM after_hours_declines WHERE created_at < %s", [timezone.now() - retention])
        declines = cursor.rowcount
        cursor.execute(
            "DELETE FROM device_fingerprints f WHERE f.session_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM after_hours_sessions s WHERE s.id = f.session_id)"
        )
        fingerprints = cursor.rowcount
    report = CleanupReport(len(closed), declines, fingerprints)
    log.info("after hours daily cleanup", extra=asdict(report))
    return report
