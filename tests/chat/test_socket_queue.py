"""A socket's event queue is bounded (count and bytes): a full queue refuses events with the
rate-limit error, and a socket that keeps sending into a full queue is closed (1008).

The queue is held full deterministically: the first event, a `send_message`, waits on a lock
this test holds on the messages table, so every later event queues behind it until released.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection

from chat.models import Message
from chat.services.messages import SEND_STATEMENT_NAME
from tests.support.jsclient import JsClient
from tests.support.sockets import daphne_server, make_match, make_user
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)

LIMITS = {
    "SOCKET_QUEUE_MAX_EVENTS": "4",
    "SOCKET_QUEUE_MAX_BYTES": "6000",
    "SOCKET_QUEUE_FLOOD_LIMIT": "3",
    "RATE_LIMITS_ENABLED": "false",  # only the queue refuses here
}
REFUSED_ACK = {
    "success": False,
    "error": "Rate limit exceeded",
    "code": "RATE_LIMIT_EXCEEDED",
    "retryAfterMs": 1000,
}


def refused_event(name: str) -> list[dict[str, Any]]:
    return [
        {
            "error": "Rate limit exceeded",
            "code": "RATE_LIMIT_EXCEEDED",
            "eventName": name,
            "retryAfterMs": 1000,
            "limit": 4,
        }
    ]


@contextlib.contextmanager
def messages_locked() -> Iterator[None]:
    """No message can be written until the block ends (the server's INSERT waits)."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], host=settings["HOST"], port=settings["PORT"], user=settings["USER"]
    ) as conn:
        conn.execute("LOCK TABLE messages IN EXCLUSIVE MODE")
        yield
        conn.rollback()


def inserts_waiting() -> int:
    """Message sends waiting on the lock (other writes, such as delivered updates, may wait too)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND starts_with(query, %s)",
            [SEND_STATEMENT_NAME],
        )
        return cursor.fetchone()[0]


def start_blocked_send(js: JsClient, name: str, url: str, user: str, match_id: str) -> None:
    """Connect `name` and send one message at once, which waits on the lock."""
    first = {"event": "send_message", "args": [{"matchId": match_id, "text": f"{name}-first"}], "ack": True}
    assert js.connect(name, url, token=mint_token(user), emit_on_connect=[first])["connected"] is True
    wait_until(lambda: inserts_waiting() == 1, timeout=10, what="the first message waiting on the lock")


def emit_in_background(
    js: JsClient, emits: list[tuple[str, str, list[Any]]]
) -> tuple[threading.Thread, list]:
    acks: list = []
    thread = threading.Thread(target=lambda: acks.extend(js.emit_all(emits, timeout=20)))
    thread.start()
    return thread, acks


def test_a_full_queue_refuses_with_the_rate_limit_error_and_a_flooding_socket_is_closed():
    alice, bob = make_user("Alice"), make_user("Bob")
    match_id = make_match(alice, bob)
    with daphne_server(**LIMITS) as server, JsClient() as js:
        # Count: 4 events queue behind the blocked one, the next 3 are refused (and not handled).
        with messages_locked():
            start_blocked_send(js, "a", server.base_url, alice, match_id)
            texts = [f"queued-{i}" for i in range(4)] + [f"refused-{i}" for i in range(3)]
            thread, acks = emit_in_background(
                js, [("a", "send_message", [{"matchId": match_id, "text": text}]) for text in texts]
            )
            js.wait_event("a", "rate_limit_error", count=3)
        thread.join()
        assert [ack.get("success") for ack in acks[:4]] == [True] * 4
        assert [ack["message"]["text"] for ack in acks[:4]] == texts[:4]
        assert acks[4:] == [REFUSED_ACK] * 3
        assert js.events("a", "rate_limit_error") == [refused_event("send_message")] * 3
        assert js.wait_note("a", "ack")[0]["value"]["success"] is True  # the blocked one
        assert sorted(Message.objects.values_list("text", flat=True)) == sorted(["a-first", *texts[:4]])
        assert js.state("a")["connected"] is True  # refused, not flooding: the socket stays

        # Bytes: two 2.5 KB events fill 6,000 characters; the next 3 are refused, and the one after
        # them (a 4th refusal since the queue was last empty) closes the socket.
        with messages_locked():
            start_blocked_send(js, "b", server.base_url, bob, match_id)
            pad = "x" * 2500
            thread, acks = emit_in_background(js, [("b", "ping", [{"pad": pad}])] * 6)
            closed = js.wait_disconnect("b", timeout=20)
        thread.join()
        assert (closed["reason"], closed["code"]) == ("transport close", 1008)
        # The two queued ones were still waiting when the socket closed; the last one never queued.
        assert acks == [{"timeout": True}] * 2 + [REFUSED_ACK] * 3 + [{"timeout": True}]
        assert js.events("b", "rate_limit_error") == [refused_event("ping")] * 3
