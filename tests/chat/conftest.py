"""Fixtures of the chat tests."""

from __future__ import annotations

import pytest

from tests.support.sockets import make_match, make_user


@pytest.fixture
def pair() -> tuple[str, str, str]:
    """Alice and Bob, both able to message, and their match: (alice, bob, match id)."""
    alice, bob = make_user("Alice"), make_user("Bob")
    return alice, bob, make_match(alice, bob)
