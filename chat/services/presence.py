"""The `user_status` writes of presence transitions (docs/contract.md, "Presence"), in batches,
and the check the presence sweep makes of its own writes. The transitions themselves (when, and
telling the partners) are `chat.presence`; the reads are `chat.selectors`.
"""

from __future__ import annotations

import contextlib

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from chat.models import UserStatus
from profiles.models import Match, User


def presence_record_many(*, changes: list[tuple[str, bool, str | None]]) -> dict[str, list[str]]:
    """Many users' transitions in one statement (connect and disconnect storms: a deploy, a
    shutdown), and the match partners of each, in one query; returns {user: partners}.

    A token may name a user without a `users` row (deleted meanwhile): such rows are left out, so
    one stale token cannot fail the whole batch."""
    users = [user_id for user_id, _, _ in changes]
    existing = set(User.objects.filter(pk__in=users).values_list("pk", flat=True))
    now = timezone.now()
    rows = [
        UserStatus(user_id=user_id, is_online=online, last_seen_at=now, socket_id=socket_id, updated_at=now)
        for user_id, online, socket_id in changes
        if user_id in existing
    ]
    try:
        _upsert(rows)
    except IntegrityError:  # a user deleted since the check: write the others one by one
        for row in rows:
            with contextlib.suppress(IntegrityError):
                _upsert([row])
    partners: dict[str, list[str]] = {user_id: [] for user_id in users}
    pairs = Match.objects.filter(Q(user_1_id__in=users) | Q(user_2_id__in=users)).values_list(
        "user_1_id", "user_2_id"
    )
    for a, b in pairs:
        if a in partners and b not in partners[a]:
            partners[a].append(b)
        if b in partners and a not in partners[b]:
            partners[b].append(a)
    return partners


def _upsert(rows: list[UserStatus]) -> None:
    with transaction.atomic():
        UserStatus.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["is_online", "last_seen_at", "socket_id", "updated_at"],
        )


def users_marked_online(*, user_ids: list[str]) -> set[str]:
    """Those of `user_ids` whose `user_status` row says online."""
    return set(
        UserStatus.objects.filter(user_id__in=user_ids, is_online=True).values_list("user_id", flat=True)
    )
