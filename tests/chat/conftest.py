"""Fixtures of the chat tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.push import RecordingPush, push_recorder
from tests.support.sockets import make_match, make_user


@pytest.fixture
def pair() -> tuple[str, str, str]:
    """Alice and Bob, both able to message, and their match: (alice, bob, match id)."""
    alice, bob = make_user("Alice"), make_user("Bob")
    return alice, bob, make_match(alice, bob)


@pytest.fixture
def recording_push() -> Iterator[RecordingPush]:
    """The FCM backend replaced by a recorder."""
    with push_recorder() as backend:
        yield backend


@pytest.fixture
def push_queue(monkeypatch, recording_push: RecordingPush) -> RecordingPush:
    """Pushes queued for the worker, run in-process against the recording FCM backend."""
    from profiles import tasks

    monkeypatch.setattr(tasks.push_send, "delay", lambda *a: tasks.push_send(*a))
    return recording_push
