"""Blocks and reports (docs/contract.md, "Blocks and reports")."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from chat import events
from chat.errors import ChatError
from chat.models import Report
from profiles.models import AfterHoursMatch, Block, Match, User


def _require_users(*user_ids: str) -> None:
    # The original let the foreign key fail with a 500; an unknown user is a 404 here.
    if User.objects.filter(pk__in=user_ids).count() != len(set(user_ids)):
        raise ChatError(404, "User not found")


def block_create(*, user_id: str, blocked_user_id: str, reason: str | None) -> bool:
    """Block a user; False if they were blocked already (nothing else changes then).

    In one transaction: the block row, every permanent match of the pair (either order) deleted
    (the database cascades their messages, receipts, typing rows and date proposals), and an
    active After Hours match of the pair declined by the blocker.
    """
    if user_id == blocked_user_id:
        raise ChatError(400, "Cannot block yourself")
    if Block.objects.filter(user_id=user_id, blocked_user_id=blocked_user_id).exists():
        return False
    _require_users(user_id, blocked_user_id)
    pair = Q(user_1_id=user_id, user_2_id=blocked_user_id) | Q(user_1_id=blocked_user_id, user_2_id=user_id)
    try:
        with transaction.atomic():
            Block.objects.create(user_id=user_id, blocked_user_id=blocked_user_id, reason=reason or None)
            match_ids = list(Match.objects.filter(pair).values_list("id", flat=True))
            Match.objects.filter(pk__in=match_ids).delete()
            now = timezone.now()
            AfterHoursMatch.objects.filter(pair, declined_by__isnull=True, expires_at__gt=now).update(
                declined_by_id=user_id, declined_at=now
            )
            for match_id in match_ids:
                events.send_to_users([user_id, blocked_user_id], "match_deleted", {"matchId": match_id})
    except IntegrityError:
        # A concurrent request stored the same block first; its transaction did the rest.
        if Block.objects.filter(user_id=user_id, blocked_user_id=blocked_user_id).exists():
            return False
        raise
    return True


def block_delete(*, user_id: str, blocked_user_id: str) -> None:
    """Unblock. Matches deleted by the block stay deleted."""
    deleted, _ = Block.objects.filter(user_id=user_id, blocked_user_id=blocked_user_id).delete()
    if not deleted:
        raise ChatError(404, "Block not found")


def report_create(*, reporter_id: str, reported_user_id: str, reason: str, details: str | None) -> str:
    """File a report for moderation (it does not block anyone). Returns the report id."""
    if reporter_id == reported_user_id:
        raise ChatError(400, "Cannot report yourself")
    _require_users(reporter_id, reported_user_id)
    report = Report.objects.create(
        reporter_id=reporter_id,
        reported_user_id=reported_user_id,
        reason=reason,
        details=details or None,
        status="pending",
    )
    return report.id
