"""Block and report from an After Hours chat (docs/contract.md, "After Hours chat routes" and D25).

Everything happens in one transaction with the After Hours row locked: the block (the same block
as `POST /blocks`: permanent matches of the pair are deleted too, which the original's After Hours
block forgot), the report, and the decline of the match. The original declined "fire and forget"
after answering, so a message could still get through after a block; here a send either committed
before the decline or sees it (the send share-locks the same row).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from chat.after_hours import selectors
from chat.after_hours.selectors import match_not_found
from chat.services.safety import block_create, report_create
from profiles.models import AfterHoursMatch

REPORT_REASONS = ("inappropriate", "harassment", "spam", "underage", "other")


def _lock_partner(match_id: str, user_id: str) -> str:
    state = selectors.match_state(match_id=match_id, lock="update")
    if state is None:
        raise match_not_found()
    return state.participant(user_id)


def _block_and_decline(user_id: str, other_id: str, match_id: str, reason: str | None) -> None:
    block_create(user_id=user_id, blocked_user_id=other_id, reason=reason)  # False: blocked already
    AfterHoursMatch.objects.filter(pk=match_id, declined_by__isnull=True).update(
        declined_by_id=user_id, declined_at=timezone.now()
    )


def match_block(*, user_id: str, match_id: str, reason: str | None) -> None:
    """Block the partner and decline the match (both idempotent)."""
    with transaction.atomic():
        other_id = _lock_partner(match_id, user_id)
        _block_and_decline(user_id, other_id, match_id, reason)


def match_report(*, user_id: str, match_id: str, reason: str, details: str | None) -> str:
    """File a report (`after_hours:<reason>`), then block and decline as `match_block` does."""
    with transaction.atomic():
        other_id = _lock_partner(match_id, user_id)
        report_id = report_create(
            reporter_id=user_id, reported_user_id=other_id, reason=f"after_hours:{reason}", details=details
        )
        _block_and_decline(user_id, other_id, match_id, f"Reported: {reason}")
    return report_id
