"""Moderation writes, used by the Django admin (staff users, not app users)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.functions import Now

from chat.models import Report

# The decisions a moderator can record; `pending` is the state of a report nobody has looked at.
REVIEW_STATUSES = ("reviewed", "resolved", "dismissed")


def report_review(*, report_ids: Iterable[str], status: str, notes: str, reviewer: str) -> int:
    """Record a moderator's decision on reports: status, notes, who and when. Returns rows changed.

    One UPDATE, so a decision on several reports lands for all of them or for none, and the review
    time is the database's clock like every other timestamp of the table.
    """
    if status not in REVIEW_STATUSES:
        raise ValueError(f"unknown review status {status!r}")
    if not reviewer:
        raise ValueError("a review needs the reviewing staff member")
    return Report.objects.filter(pk__in=list(report_ids)).update(
        status=status,
        resolution_notes=notes.strip() or None,
        reviewed_by=reviewer,
        reviewed_at=Now(),
        updated_at=Now(),
    )
