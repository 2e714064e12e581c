"""Realtime test support: a real Daphne and chat users and matches.

The suite's conftest gives every test a `daphne` fixture (a fresh server per test) and a `js`
fixture (the official socket.io-client, tests/support/jsclient.py). Tests that use them must be
`@pytest.mark.django_db(transaction=True)`: the server is another process and sees only committed
rows. A module or package whose tests only add rows can share one server instead:

    daphne = module_daphne()
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support.servers import DaphneProcess, start_daphne


@contextlib.contextmanager
def daphne_server(**env: str) -> Iterator[DaphneProcess]:
    """`daphne vlvt.asgi:application` on a free port against the test database, stopped after."""
    server = start_daphne(**env)
    try:
        yield server
    finally:
        server.stop()


def module_daphne() -> Callable[..., Iterator[DaphneProcess]]:
    """A module-scoped `daphne` fixture on an After Hours events channel of its own (Redis pub/sub
    ignores the database number, so a shared channel would mix in other runs' events)."""

    @pytest.fixture(scope="module", name="daphne")
    def daphne(django_db_setup, django_db_blocker) -> Iterator[DaphneProcess]:
        with daphne_server(
            AFTER_HOURS_EVENTS_CHANNEL=f"after_hours:events:test:{uuid.uuid4().hex}"
        ) as server:
            yield server

    return daphne


def make_user(name: str = "Ada", *, complete: bool = True, user_id: str | None = None) -> str:
    """A user (and, when `complete`, a profile that passes the messaging gate); returns the id."""
    from profiles.models import Profile, User

    user_id = user_id or f"email_{uuid.uuid4().hex[:12]}"
    User.objects.create(id=user_id, provider="email", email=f"{user_id}@example.com", id_verified=complete)
    if complete:
        Profile.objects.create(user_id=user_id, name=name, age=30, bio="Hello there", photos=["photo.jpg"])
    return user_id


def make_match(user_a: str, user_b: str) -> str:
    from profiles.models import Match

    return Match.objects.create(user_1_id=user_a, user_2_id=user_b).id
