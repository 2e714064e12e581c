"""Small factories and an HTTP helper for the chat REST tests (real PostgreSQL, real Redis)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

from django.test import Client, TestCase
from django.utils import timezone

from chat.models import Message
from profiles.models import Match, Profile, Swipe, User, UserSubscription
from vlvt.http.auth import mint_token

_seq = itertools.count(1)


def make_user(
    user_id: str | None = None,
    *,
    profile: bool = True,
    verified: bool = True,
    name: str | None = "Alex",
    premium: bool = False,
    referred_by: str | None = None,
) -> str:
    user_id = user_id or f"google_{next(_seq):06d}"
    User.objects.create(
        id=user_id,
        provider="google",
        email=f"{user_id}@example.com",
        id_verified=verified,
        referred_by_id=referred_by,
    )
    if profile:
        Profile.objects.create(user_id=user_id, name=name, age=29, bio="Coffee and hikes", photos=["p/1.jpg"])
    if premium:
        UserSubscription.objects.create(user_id=user_id, is_active=True, expires_at=None)
    return user_id


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
    return Message.objects.create(
        match_id=match_id,
        sender_id=sender_id,
        text=text,
        status=status,
        created_at=created_at or timezone.now(),
    )


def like(user_id: str, target_id: str, action: str = "like") -> None:
    Swipe.objects.create(user_id=user_id, target_user_id=target_id, action=action)


class Api:
    """The Django test client speaking JSON with a Bearer token for `user_id`."""

    def __init__(self, client: Client, user_id: str | None = None) -> None:
        self.client = client
        self.user_id = user_id

    def as_user(self, user_id: str) -> Api:
        return Api(self.client, user_id)

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.user_id is not None:
            out.setdefault("Authorization", f"Bearer {mint_token(self.user_id)}")
        return out

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {"headers": self._headers(headers)}
        if data is not None and method != "GET":
            kwargs.update(data=data, content_type="application/json")
        # Each request's on-commit work (events, pushes) runs as it would after a real commit; the
        # test itself sits inside a transaction that never commits.
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = getattr(self.client, method.lower())(path, **kwargs)
        content = response.content
        return response.status_code, (json.loads(content) if content else None)

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.call("PUT", path, body, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.call("DELETE", path, body, **kw)


class EventProbe:
    """Listens on the real channel layer to what `chat.events` sends each user's sockets."""

    def __init__(self, *user_ids: str) -> None:
        import uuid

        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        from chat.events import user_group

        layer = get_channel_layer()
        assert layer is not None
        self.layer = layer
        self.channels = {}
        for user_id in user_ids:
            name = f"test.probe.{uuid.uuid4().hex}"
            async_to_sync(self.layer.group_add)(user_group(user_id), name)
            self.channels[user_id] = name

    def events(self, user_id: str, *, wait: float = 0.3) -> list[tuple[str, Any]]:
        """Everything sent to `user_id` so far, as (event, data), waiting `wait` s for stragglers."""
        import asyncio

        from asgiref.sync import async_to_sync

        async def drain() -> list[tuple[str, Any]]:
            out: list[tuple[str, Any]] = []
            while True:
                try:
                    msg = await asyncio.wait_for(self.layer.receive(self.channels[user_id]), wait)
                except TimeoutError:
                    return out
                assert msg["type"] == "socket.emit"
                out.append((msg["event"], msg["data"]))

        return async_to_sync(drain)()
