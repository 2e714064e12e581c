"""Factories (the rows from tests/support/factories.py, with the chat tests' defaults) and the
HTTP client for the chat REST tests (real PostgreSQL, real Redis)."""

from __future__ import annotations

import itertools
import json
from datetime import date, time
from typing import Any

from django.test import Client

from chat.models import DateProposal
from chat.realtime import conf as realtime_conf
from chat.realtime import presence
from profiles.models import Swipe
from tests.support import api as support_api
from tests.support.factories import create_user, make_match, make_message
from vlvt.redis import sync_redis

__all__ = [
    "Api",
    "EventProbe",
    "connect_socket",
    "like",
    "make_match",
    "make_message",
    "make_proposal",
    "make_user",
]

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
    details = {"name": name, "age": 29, "bio": "Coffee and hikes", "photos": ["p/1.jpg"]}
    create_user(
        user_id,
        provider="google",
        id_verified=verified,
        referred_by_id=referred_by,
        profile=details if profile else None,
        subscription={"expires_at": None} if premium else None,
    )
    return user_id


def make_proposal(match_id: str, proposer: str, *, status: str = "pending", **fields: Any) -> DateProposal:
    """A date proposal (at Cafe Luna on 2026-06-01 at 19:30 unless `fields` say otherwise)."""
    defaults = {"place_name": "Cafe Luna", "proposed_date": date(2026, 6, 1), "proposed_time": time(19, 30)}
    return DateProposal.objects.create(
        match_id=match_id, proposer_id=proposer, status=status, **{**defaults, **fields}
    )


def connect_socket(user_id: str, socket_id: str = "s1") -> None:
    """The user online as delivered-or-push sees it: a socket of this (live) process in Redis
    presence, written as a socket's CONNECT writes it."""
    client = sync_redis()
    client.set(presence._PROC_PREFIX + presence.PROCESS_ID, "1", px=realtime_conf.process_ttl_ms())
    client.hset(presence._USER_PREFIX + user_id, socket_id, presence.PROCESS_ID)


def like(user_id: str, target_id: str, action: str = "like") -> None:
    Swipe.objects.create(user_id=user_id, target_user_id=target_id, action=action)


class Api(support_api.Api):
    """The shared client as the chat tests use it: `Api(client, user_id)`, each request's on-commit
    work run, and every answer as (status, parsed JSON body or None)."""

    def __init__(self, client: Client, user_id: str | None = None) -> None:
        super().__init__(user_id, client=client, run_on_commit=True)

    def result(self, response: Any) -> tuple[int, Any]:
        content = response.content
        return response.status_code, (json.loads(content) if content else None)

    call = support_api.Api.request


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
