"""Fixtures of the After Hours tests: members who pass the gate, a JSON client, the events heard on
the real Redis channel and the Celery messages waiting in the real broker (no worker runs here
unless a test starts one)."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from profiles.models import (
    AfterHoursMatch,
    AfterHoursPreferences,
    AfterHoursProfile,
    AfterHoursSession,
    User,
)
from tests.support.api import Api
from tests.support.factories import create_user
from tests.support.media import media_root  # noqa: F401  (autouse in this package)
from tests.support.sockets import events_channel  # noqa: F401  (autouse in this package)
from vlvt.redis import sync_redis


def make_member(
    user_id: str,
    *,
    gender: str | None = "Female",
    age: int | None = 30,
    name: str | None = None,
    premium: bool = True,
    verified: bool = True,
    consent: bool = True,
    ah_profile: bool = True,
    description: str | None = None,
    prefs: dict[str, Any] | None = None,
    main_profile: bool = True,
) -> User:
    """A user who passes the gate (unless told otherwise), with the profiles matching needs."""
    profile: dict[str, Any] = {
        "name": name or user_id.title(),
        "age": age,
        "gender": gender,
        "photos": [],
        "interests": [],
    }
    user = create_user(
        user_id,
        id_verified=verified,
        after_hours_consent=consent,
        profile=profile if main_profile else None,
        subscription={"product_id": "premium"} if premium else None,
    )
    if ah_profile:
        AfterHoursProfile.objects.create(user=user, photo_url="", description=description)
    if prefs is not None:
        defaults = {"seeking_gender": "Any", "max_distance_km": 10, "min_age": 18, "max_age": 99}
        AfterHoursPreferences.objects.create(user=user, **{**defaults, **prefs})
    return user


def open_session(
    user_id: str,
    lat: float,
    lng: float,
    *,
    minutes: float = 30,
    started: datetime | None = None,
    expires_at: datetime | None = None,
) -> AfterHoursSession:
    """A session at exactly (lat, lng) (fuzzed = exact, so distances are known)."""
    now = timezone.now()
    return AfterHoursSession.objects.create(
        user_id=user_id,
        started_at=started or now,
        expires_at=expires_at or now + timedelta(minutes=minutes),
        latitude=lat,
        longitude=lng,
        fuzzed_latitude=lat,
        fuzzed_longitude=lng,
    )


def make_match(
    session: AfterHoursSession, user_1: str, user_2: str, *, minutes: float = 10, created_ago: float = 0
) -> AfterHoursMatch:
    """An After Hours match on `session`, made `created_ago` seconds ago, expiring in `minutes`."""
    now = timezone.now()
    return AfterHoursMatch.objects.create(
        session=session,
        user_1_id=user_1,
        user_2_id=user_2,
        created_at=now - timedelta(seconds=created_ago),
        expires_at=now + timedelta(minutes=minutes),
    )


@pytest.fixture
def api():
    """`api(user_id)`: the shared JSON client as that user (no token without one); each request's
    on-commit work runs as after a real commit."""
    return lambda user_id=None: Api(user_id, run_on_commit=True)


@dataclass
class Heard:
    type: str
    target: str
    payload: dict[str, Any]
    timestamp: str


class EventListener:
    """A real subscriber on the After Hours channel (subscribed before the test acts)."""

    def __init__(self, channel: str) -> None:
        self.pubsub = sync_redis().pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.pubsub.get_message(timeout=1.0)  # the subscribe confirmation

    def drain(self, wait: float = 0.2) -> list[Heard]:
        heard: list[Heard] = []
        while True:
            message = self.pubsub.get_message(timeout=wait)
            if message is None:
                return heard
            body = json.loads(message["data"])
            assert set(body) == {"type", "targetUserId", "payload", "timestamp"}
            heard.append(Heard(body["type"], body["targetUserId"], body["payload"], body["timestamp"]))

    def collect(self, until, timeout: float) -> list[Heard]:
        """Everything heard until `until(heard)` holds (AssertionError after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        heard: list[Heard] = []
        while not until(heard):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; heard {[(h.type, h.target) for h in heard]}")
            heard.extend(self.drain(wait=0.1))
        return heard

    def close(self) -> None:
        self.pubsub.close()


@pytest.fixture
def listener(events_channel):  # noqa: F811 - the fixture imported above
    subscriber = EventListener(events_channel)
    yield subscriber
    subscriber.close()


@dataclass
class Queued:
    task: str
    args: list[Any]
    eta: datetime | None


def queued_tasks() -> list[Queued]:
    """Messages waiting in the broker's default queue, oldest first."""
    found = []
    for raw in reversed(sync_redis().lrange("celery", 0, -1)):
        message = json.loads(raw)
        headers = message["headers"]
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        eta = datetime.fromisoformat(headers["eta"]) if headers.get("eta") else None
        found.append(Queued(headers["task"], args, eta))
    return found
