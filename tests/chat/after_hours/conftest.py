"""Fixtures of the After Hours chat tests: users, After Hours matches and messages, push capture."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from chat.models import AfterHoursMessage
from profiles.models import AfterHoursMatch, AfterHoursSession, FcmToken, Profile, User
from profiles.push import PushMessage, set_push_backend

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def events_channel(settings) -> str:
    """A channel of this test's own: Redis pub/sub ignores the database number, so on a shared Redis
    the real `after_hours:events` would mix our events with other test runs' (and their bridges')."""
    settings.AFTER_HOURS_EVENTS_CHANNEL = f"after_hours:events:test:{uuid.uuid4().hex}"
    return settings.AFTER_HOURS_EVENTS_CHANNEL


def make_user(name: str | None = "Ada", *, profile: bool = True, token: bool = False) -> str:
    user_id = f"google_ahchat_{next(_seq):05d}_{uuid.uuid4().hex[:6]}"
    User.objects.create(id=user_id, provider="google", email=f"{user_id}@example.com", id_verified=True)
    if profile:
        Profile.objects.create(user_id=user_id, name=name, age=30, bio="Night owl", photos=["p/1.jpg"])
    if token:
        FcmToken.objects.create(user_id=user_id, token=f"fcm-{user_id}", device_type="android")
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


class RecordingPush:
    """The FCM backend (what leaves the machine), recording what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[str], PushMessage]] = []

    def send(self, tokens, message):
        self.sent.append((tokens, message))
        return ["sent"] * len(tokens)

    def by_token(self) -> dict[str, tuple[str, str, dict[str, str], str]]:
        return {tokens[0]: (m.title, m.body, m.data, m.android_channel_id) for tokens, m in self.sent}


@pytest.fixture
def push_queue(monkeypatch):
    """Pushes queued for the worker, run in-process against a recording FCM backend."""
    from profiles import tasks

    backend = RecordingPush()
    set_push_backend(backend)
    monkeypatch.setattr(tasks.push_send, "delay", lambda *a: tasks.push_send(*a))
    yield backend
    set_push_backend(None)
