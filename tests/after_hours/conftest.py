"""Fixtures of the After Hours tests: members who pass the gate, a JSON client, the events heard on
the real Redis channel and the Celery messages waiting in the real broker (no worker runs here
unless a test starts one)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from profiles.models import (
    AfterHoursPreferences,
    AfterHoursProfile,
    AfterHoursSession,
    Profile,
    User,
    UserSubscription,
)
from vlvt.http.auth import mint_token
from vlvt.redis import sync_redis


@pytest.fixture(autouse=True)
def events_channel(settings) -> str:
    """A channel of this test's own: Redis pub/sub ignores the database number, so on a shared
    Redis the real channel would mix our events with other test runs' (and feed their bridges)."""
    settings.AFTER_HOURS_EVENTS_CHANNEL = f"after_hours:events:test:{uuid.uuid4().hex}"
    return settings.AFTER_HOURS_EVENTS_CHANNEL


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Photos go to a fresh local directory (no R2 settings: the filesystem storage)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.R2_ACCOUNT_ID = ""
    settings.R2_ACCESS_KEY_ID = ""
    settings.R2_SECRET_ACCESS_KEY = ""
    return settings.MEDIA_ROOT


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
    user = User.objects.create(
        id=user_id,
        provider="email",
        email=f"{user_id}@example.com",
        id_verified=verified,
        after_hours_consent=consent,
    )
    if premium:
        UserSubscription.objects.create(user=user, is_active=True, product_id="premium")
    if main_profile:
        Profile.objects.create(
            user=user, name=name or user_id.title(), age=age, gender=gender, photos=[], interests=[]
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


class Api:
    """A JSON client with a bearer token; on_commit callbacks run as after a real commit."""

    def __init__(self, user_id: str | None, capture: Any) -> None:
        self.client = Client()
        self.user_id = user_id
        self.capture = capture

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {mint_token(self.user_id)}"} if self.user_id else {}
        return {**auth, **extra}

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **extra: Any
    ):
        kwargs: dict[str, Any] = {"headers": self._headers(headers or {}), **extra}
        if body is not None:
            kwargs.update(
                data=body if isinstance(body, str | bytes) else json.dumps(body),
                content_type="application/json",
            )
        with self.capture(execute=True):
            return getattr(self.client, method.lower())(path, **kwargs)

    def get(self, path: str, **extra: Any):
        return self.request("GET", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any):
        return self.request("POST", path, body, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any):
        return self.request("PATCH", path, body, **extra)

    def upload(self, path: str, files: dict[str, Any]):
        with self.capture(execute=True):
            return self.client.post(path, data=files, headers=self._headers({}))


@pytest.fixture
def api(django_capture_on_commit_callbacks):
    return lambda user_id=None: Api(user_id, django_capture_on_commit_callbacks)


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
def listener(events_channel):
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
