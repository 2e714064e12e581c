"""Fixtures of the profile-service tests: users and profiles, an authenticated JSON client, local
photo storage in a temporary MEDIA_ROOT, eager Celery, and recording fakes for what leaves the
machine (FCM, Rekognition)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from profiles.faces import FaceComparison, set_face_comparer
from profiles.models import FcmToken, Profile, User
from profiles.push import Outcome, PushMessage, set_push_backend
from vlvt.http.auth import mint_token


@dataclass
class RecordingPush:
    """FCM stand-in: records every send; tokens listed in `invalid` are reported unregistered."""

    sent: list[tuple[list[str], PushMessage]] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)

    def send(self, tokens: list[str], message: PushMessage) -> list[Outcome]:
        self.sent.append((list(tokens), message))
        return ["invalid_token" if t in self.invalid else "sent" for t in tokens]


@dataclass
class FakeFaces:
    """Rekognition stand-in: answers `similarity`, or raises `error`; records its inputs."""

    similarity: float = 99.0
    error: Exception | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def compare(self, *, source: bytes, target: bytes, threshold: float) -> FaceComparison:
        self.calls.append({"source": source, "target": target, "threshold": threshold})
        if self.error is not None:
            raise self.error
        return FaceComparison(
            similarity=self.similarity, raw={"FaceMatches": [{"Similarity": self.similarity}]}
        )


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Photos go to a fresh local directory (no R2 settings: the filesystem storage)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.R2_ACCOUNT_ID = ""
    settings.R2_ACCESS_KEY_ID = ""
    settings.R2_SECRET_ACCESS_KEY = ""
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def eager_celery():
    from vlvt.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture(autouse=True)
def push():
    recorder = RecordingPush()
    set_push_backend(recorder)
    yield recorder
    set_push_backend(None)


@pytest.fixture
def faces():
    fake = FakeFaces()
    set_face_comparer(fake)
    yield fake
    set_face_comparer(None)


def make_user(user_id: str, *, profile: bool = True, **fields: Any) -> User:
    user = User.objects.create(id=user_id, provider="email", email=f"{user_id}@example.com")
    if profile:
        defaults = {"name": user_id.replace("_", " ").title(), "age": 30, "photos": [], "interests": []}
        Profile.objects.create(user=user, **{**defaults, **fields})
    return user


def add_token(user_id: str, token: str) -> FcmToken:
    return FcmToken.objects.create(user_id=user_id, token=token, device_type="android")


class Api:
    """A test client speaking JSON with a bearer token."""

    def __init__(self, user_id: str | None) -> None:
        self.client = Client()
        self.user_id = user_id

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.user_id)}"} if self.user_id else {}

    def request(self, method: str, path: str, body: Any = None, **extra: Any):
        kwargs: dict[str, Any] = {"headers": {**self._headers(), **extra.pop("headers", {})}, **extra}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method.lower())(path, **kwargs)

    def get(self, path: str, **extra: Any):
        return self.request("GET", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any):
        return self.request("POST", path, body, **extra)

    def put(self, path: str, body: Any = None, **extra: Any):
        return self.request("PUT", path, body, **extra)

    def delete(self, path: str, **extra: Any):
        return self.request("DELETE", path, **extra)

    def upload(self, path: str, files: dict[str, Any], fields: dict[str, str] | None = None):
        return self.client.post(path, data={**files, **(fields or {})}, headers=self._headers())


@pytest.fixture
def api():
    return Api
