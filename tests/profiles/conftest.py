"""Fixtures of the profile-service tests: users and profiles, an authenticated JSON client, local
photo storage in a temporary MEDIA_ROOT, eager Celery, and recording fakes for what leaves the
machine (FCM, Rekognition)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from profiles.faces import FaceComparison, set_face_comparer
from profiles.models import FcmToken, User
from tests.support.api import Api
from tests.support.factories import create_user
from tests.support.media import media_root  # noqa: F401  (autouse in this package)
from tests.support.push import push_recorder


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
def eager_celery():
    from vlvt.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture(autouse=True)
def push():
    with push_recorder() as recorder:
        yield recorder


@pytest.fixture
def faces():
    fake = FakeFaces()
    set_face_comparer(fake)
    yield fake
    set_face_comparer(None)


def make_user(user_id: str, *, profile: bool = True, **fields: Any) -> User:
    """A user with a profile (`fields` over the defaults) unless `profile` is false."""
    defaults = {"name": user_id.replace("_", " ").title(), "age": 30, "photos": [], "interests": []}
    return create_user(user_id, profile={**defaults, **fields} if profile else None)


def add_token(user_id: str, token: str) -> FcmToken:
    return FcmToken.objects.create(user_id=user_id, token=token, device_type="android")


@pytest.fixture
def api():
    return Api
