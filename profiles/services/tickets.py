"""One-time ticket awards (docs/contract.md, D10): paid at most once per user and reason, even under races.

The partial unique index `ticket_ledger_one_time_award_unique` on (user_id, reason) for
'verification' and 'first_match' makes the insert itself the check; a losing racer inserts nothing.
"""

from __future__ import annotations

from django.db import connection

ONE_TIME_REASONS = frozenset({"verification", "first_match"})


def ticket_award_once(*, user_id: str, reason: str, reference_id: str | None) -> bool:
    """Insert the award unless the user already has one for `reason`; True when it was paid now."""
    if reason not in ONE_TIME_REASONS:
        raise ValueError(f"{reason!r} is not a one-time award")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ticket_ledger (user_id, amount, reason, reference_id) VALUES (%s, 1, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [user_id, reason, reference_id],
        )
        return cursor.fetchone() is not None
