"""Rows the tests start from: users (with a profile, a subscription, an FCM token), matches and
messages. Each test package keeps its own defaults (names, bios, id formats its assertions know) in
a thin wrapper; the rows are made here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from chat.models import Message
from profiles.models import FcmToken, Match, Profile, User, UserSubscription


def create_user(
    user_id: str,
    *,
    provider: str = "email",
    profile: dict[str, Any] | None = None,
    subscription: dict[str, Any] | None = None,
    fcm_token: str | None = None,
    **fields: Any,
) -> User:
    """A user (`fields`: the users row's other columns) with, when given, a profile, an active
    subscription and an Android FCM token."""
    user = User.objects.create(id=user_id, provider=provider, email=f"{user_id}@example.com", **fields)
    if profile is not None:
        Profile.objects.create(user=user, **profile)
    if subscription is not None:
        UserSubscription.objects.create(user=user, is_active=True, **subscription)
    if fcm_token is not None:
        FcmToken.objects.create(user=user, token=fcm_token, device_type="android")
    return user


def make_match(user_1: str, user_2: str, *, created_at: datetime | None = None, source: str = "swipe") -> str:
    match = Match.objects.create(user_1_id=user_1, user_2_id=user_2, source=source)
    if created_at is not None:
        Match.objects.filter(pk=match.pk).update(created_at=created_at)
    return match.id


def make_message(
    match_id: str,
    sender_id: str,
    text: str = "hi",
    *,
    created_at: datetime | None = None,
    status: str = "sent",
) -> Message:
    fields = {"text": text, "status": status, "created_at": created_at or timezone.now()}
    return Message.objects.create(match_id=match_id, sender_id=sender_id, **fields)
