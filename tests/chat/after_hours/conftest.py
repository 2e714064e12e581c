"""Fixtures of the After Hours chat tests: users, After Hours matches and messages, each test on an
After Hours events channel of its own (push capture: tests/chat/conftest.py)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from chat.models import AfterHoursMessage
from profiles.models import AfterHoursMatch, AfterHoursSession
from tests.support.factories import create_user
from tests.support.sockets import events_channel  # noqa: F401  (autouse in this package)

_seq = itertools.count(1)


def make_user(name: str | None = "Ada", *, profile: bool = True, token: bool = False) -> str:
    user_id = f"google_ahchat_{next(_seq):05d}_{uuid.uuid4().hex[:6]}"
    details = {"name": name, "age": 30, "bio": "Night owl", "photos": ["p/1.jpg"]}
    create_user(
        user_id,
        provider="google",
        id_verified=True,
        profile=details if profile else None,
        fcm_token=f"fcm-{user_id}" if token else None,
    )
    return user_id


def make_ah_match(
    user_1: str,
    user_2: str,
    *,
    expires_at: datetime | None = None,
    declined_by: str | None = None,
    votes: tuple[bool, bool] = (False, False),
    converted_to: str | None = None,
) -> str:
    """An After Hours match (10 minutes to go unless told otherwise) on a closed session of user_1."""
    now = timezone.now()
    session = AfterHoursSession.objects.create(
        user_id=user_1,
        expires_at=now + timedelta(hours=1),
        ended_at=now,  # closed, so a user may have several matches without tripping "one open session"
        latitude=0,
        longitude=0,
        fuzzed_latitude=0,
        fuzzed_longitude=0,
    )
    match = AfterHoursMatch.objects.create(
        session=session,
        user_1_id=user_1,
        user_2_id=user_2,
        expires_at=expires_at or now + timedelta(minutes=10),
        declined_by_id=declined_by,
        declined_at=now if declined_by else None,
        user1_save_vote=votes[0],
        user2_save_vote=votes[1],
        converted_to_match_id=converted_to,
    )
    return str(match.id)


def ah_message(
    match_id: str, sender_id: str, text: str = "hi", *, created_at: datetime | None = None
) -> AfterHoursMessage:
    message = AfterHoursMessage.objects.create(match_id=match_id, sender_id=sender_id, text=text)
    if created_at is not None:
        AfterHoursMessage.objects.filter(pk=message.pk).update(created_at=created_at)
        message.refresh_from_db()
    return message
