"""Celery work of After Hours: every BullMQ queue of the original (docs/contract.md,
"Schedules").

Tasks take ids and JSON primitives, re-read the database and act only on what is still due, so a
duplicate delivery (acks_late, a worker that died) or a job left over from before an extension is
a no-op; nothing is ever cancelled. The periodic schedules live in `vlvt/celery.py`; the delayed
jobs are enqueued here, always after the transaction that caused them commits.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from celery import Task, shared_task
from django.db import transaction
from django.utils import timezone

from profiles.after_hours import conf

log = logging.getLogger(__name__)


# --- periodic (beat) --------------------------------------------------------------------------------


@shared_task(name="after_hours.matching_sweep", ignore_result=True)
def matching_sweep() -> None:
    """Match every waiting session (the original's 30 s cycle), in one set-based run."""
    from profiles.after_hours.services import matching  # cycle: via services.matches, enqueues these tasks

    matching.matching_run()


@shared_task(name="after_hours.overdue_sweep", ignore_result=True)
def overdue_sweep() -> None:
    """Close sessions and time out matches whose delayed job was lost (docs/contract.md, D15)."""
    from profiles.after_hours.services import (
        matches,  # cycle: services.matches enqueues these tasks
        sessions,  # cycle: services.sessions enqueues these tasks
    )

    sessions.sessions_expire()
    matches.matches_auto_decline()


@shared_task(name="after_hours.daily_cleanup", ignore_result=True)
def daily_cleanup() -> None:
    """The original's 04:00 UTC job: close forgotten sessions, forget old declines (docs/contract.md,
    "Schedules")."""
    from profiles.after_hours.services import sessions  # cycle: services.sessions enqueues these tasks

    sessions.sessions_daily_cleanup()


# --- delayed ----------------------------------------------------------------------------------------


@shared_task(name="after_hours.match_sessions", ignore_result=True)
def match_sessions(session_ids: list[str]) -> None:
    """Event-driven matching for these sessions (after a start, a decline or an auto-decline)."""
    from profiles.after_hours.services import matching  # cycle: via services.matches, enqueues these tasks

    matching.matching_run(session_ids=[UUID(s) for s in session_ids])


@shared_task(name="after_hours.session_expire", ignore_result=True)
def session_expire(session_id: str) -> None:
    from profiles.after_hours.services import sessions  # cycle: services.sessions enqueues these tasks

    retry_in = sessions.session_expire_if_due(session_id=UUID(session_id))
    if retry_in is not None:
        session_expire.apply_async(args=(session_id,), countdown=retry_in)


@shared_task(name="after_hours.session_warn", ignore_result=True)
def session_warn(session_id: str) -> None:
    from profiles.after_hours.services import sessions  # cycle: services.sessions enqueues these tasks

    retry_in = sessions.session_warn_if_due(session_id=UUID(session_id))
    if retry_in is not None:
        session_warn.apply_async(args=(session_id,), countdown=retry_in)


@shared_task(name="after_hours.auto_decline", ignore_result=True)
def auto_decline(match_ids: list[str]) -> None:
    """Time out these matches if still unanswered (docs/contract.md, D13)."""
    from profiles.after_hours.services import matches  # cycle: services.matches enqueues these tasks

    matches.matches_auto_decline(match_ids=[UUID(m) for m in match_ids])


# --- enqueueing (after commit) ----------------------------------------------------------------------


def _after_commit(task: Task, **options: Any) -> None:
    transaction.on_commit(lambda: task.apply_async(**options), robust=True)


def _seconds_until(when: datetime) -> float:
    return max(0.0, (when - timezone.now()).total_seconds())


def schedule_session_jobs(session_id: UUID, expires_at: datetime) -> None:
    """The expiry job at `expires_at` and the warning before it; an extension calls this again
    and the earlier jobs find nothing due when they run."""
    _after_commit(session_expire, args=[str(session_id)], countdown=_seconds_until(expires_at))
    warn_at = expires_at - timedelta(seconds=conf.warning_lead())
    if warn_at > timezone.now():
        _after_commit(session_warn, args=[str(session_id)], countdown=_seconds_until(warn_at))


def schedule_matching(session_ids: list[UUID], delay_setting: str) -> None:
    if session_ids:
        ids = [str(s) for s in dict.fromkeys(session_ids)]
        _after_commit(match_sessions, args=[ids], countdown=conf.seconds(delay_setting))


def schedule_auto_decline(match_ids: list[UUID]) -> None:
    """One delayed job for every match created in one transaction (they share their creation time)."""
    if match_ids:
        ids = [str(m) for m in match_ids]
        _after_commit(
            auto_decline,
            args=[ids],
            countdown=conf.seconds("AFTER_HOURS_AUTO_DECLINE_SECONDS"),
            argsrepr=f"[<{len(ids)} match ids>]",  # Celery's default repr of 5,000 ids is slow and useless
        )
