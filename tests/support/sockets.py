"""Realtime test support: a shared Daphne for a module, and chat users and matches.

The suite's conftest gives every test a `daphne` fixture (a fresh server per test) and a `js`
fixture (the official socket.io-client, tests/support/jsclient.py). Tests that use them must be
`@pytest.mark.django_db(transaction=True)`: the server is another process and sees only committed
rows. A module or package whose tests only add rows can share one server instead:

    daphne = module_daphne()
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support.factories import create_user, make_match
from tests.support.jsclient import JsClient
from tests.support.servers import DaphneProcess, daphne_server
from vlvt.http.auth import mint_token

# The socket ack of a free-tier send past the daily cap (docs/contract.md, "Chat socket events").
LIMIT_REACHED_ACK = {
    "success": False,
    "error": "Daily message limit reached",
    "code": "MESSAGE_LIMIT_REACHED",
    "message": "You've used all 20 messages for today. Upgrade to premium for unlimited messaging!",
}

__all__ = [
    "connect_users",
    "daphne_server",
    "events_channel",
    "make_match",
    "make_user",
    "module_daphne",
    "own_events_channel",
]


def own_events_channel() -> str:
    """An After Hours events channel of its own: Redis pub/sub ignores the database number, so on a
    shared Redis the real `after_hours:events` would mix our events with other test runs' (and feed
    their bridges)."""
    return f"after_hours:events:test:{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def events_channel(settings) -> str:
    """The test's own After Hours events channel (autouse where a conftest imports it)."""
    settings.AFTER_HOURS_EVENTS_CHANNEL = own_events_channel()
    return settings.AFTER_HOURS_EVENTS_CHANNEL


def module_daphne() -> Callable[..., Iterator[DaphneProcess]]:
    """A module-scoped `daphne` fixture on an After Hours events channel of its own."""

    @pytest.fixture(scope="module", name="daphne")
    def daphne(django_db_setup, django_db_blocker) -> Iterator[DaphneProcess]:
        with daphne_server(AFTER_HOURS_EVENTS_CHANNEL=own_events_channel()) as server:
            yield server

    return daphne


def make_user(name: str = "Ada", *, complete: bool = True, user_id: str | None = None) -> str:
    """A user (and, when `complete`, a profile that passes the messaging gate); returns the id."""
    user_id = user_id or f"email_{uuid.uuid4().hex[:12]}"
    details = {"name": name, "age": 30, "bio": "Hello there", "photos": ["photo.jpg"]}
    create_user(user_id, id_verified=complete, profile=details if complete else None)
    return user_id


def connect_users(js: JsClient, server: DaphneProcess, **users: str) -> None:
    """One socket per keyword, named by it and authenticated as its user; each must connect."""
    for name, user_id in users.items():
        assert js.connect(name, server.base_url, token=mint_token(user_id))["connected"] is True
