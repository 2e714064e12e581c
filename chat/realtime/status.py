"""The `user_status` row written on presence transitions (reference §3.6).

Lives with the realtime code because only presence transitions write it; the reads are
`chat.selectors.online_statuses`.
"""
from __future__ import annotations

from django.utils import timezone

from chat.models import UserStatus


def user_status_record(*, user_id: str, is_online: bool, socket_id: str | None) -> None:
    """Upsert the user's status; `last_seen_at` is the time of this transition."""
    now = timezone.now()
    UserStatus.objects.bulk_create(
        [UserStatus(user_id=user_id, is_online=is_online, last_seen_at=now, socket_id=socket_id, updated_at=now)],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["is_online", "last_seen_at", "socket_id", "updated_at"],
    )
