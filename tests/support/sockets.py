"""Fixtures for realtime tests: a real Daphne, the official JS client, chat users and matches.

In a test module (tests must be `@pytest.mark.django_db(transaction=True)`: the server is another
process and sees only committed rows):

    @pytest.fixture
    def daphne():
        with daphne_server() as server:
            yield server

    @pytest.fixture
    def js():
        with JsClient() as client:
            yield client
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from tests.support.servers import DaphneProcess, start_daphne


@contextlib.contextmanager
def daphne_server(**env: str) -> Iterator[DaphneProcess]:
    """`daphne vlvt.asgi:application` on a free port against the test database, stopped after."""
    server = start_daphne(**env)
    try:
        yield server
    finally:
        server.stop()


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
