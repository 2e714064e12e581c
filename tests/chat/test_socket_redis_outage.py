"""Sockets while Redis is down (a private redis-server, stopped and restarted empty): a new socket
gets a clear CONNECT_ERROR at once and connects once Redis is back; a message sent meanwhile
reaches its recipient on another process after Redis returns instead of being dropped."""

from __future__ import annotations

import pytest

from chat.models import Message
from tests.support.redis_server import private_redis
from tests.support.sockets import daphne_server, make_match, make_user
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)

UNAVAILABLE = {"connected": False, "error": "Service temporarily unavailable, please retry", "data": None}


@pytest.fixture
def redis_server():
    with private_redis() as server:
        yield server


def test_a_new_socket_gets_connect_error_while_redis_is_down_and_connects_once_it_is_back(redis_server, js):
    user = make_user("Ada")
    with daphne_server(REDIS_URL=redis_server.url) as server:
        assert js.connect("first", server.base_url, token=mint_token(user))["connected"] is True
        redis_server.stop()

        assert js.connect("during", server.base_url, token=mint_token(user)) == UNAVAILABLE
        assert js.connect("again", server.base_url, token=mint_token(user)) == UNAVAILABLE
        assert js.notes("during", "disconnect") == []  # refused with an answer, not reset

        redis_server.start()
        wait_until(
            lambda: js.connect(f"after-{len(js.notes())}", server.base_url, token=mint_token(user))[
                "connected"
            ],
            what="a socket to connect with Redis back",
        )
        assert "Exception inside application" not in server.log()


def test_a_message_sent_while_redis_is_down_reaches_the_recipient_on_another_process(redis_server, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    with daphne_server(REDIS_URL=redis_server.url) as one, daphne_server(REDIS_URL=redis_server.url) as two:
        js.connect("alice", one.base_url, token=mint_token(alice))
        js.connect("bob", two.base_url, token=mint_token(bob))
        before = js.emit("alice", "send_message", {"matchId": match, "text": "before", "tempId": "t1"})
        assert js.wait_event("bob", "new_message") == [before["message"]]

        redis_server.stop()
        during = js.emit("alice", "send_message", {"matchId": match, "text": "during", "tempId": "t2"})
        assert during["success"] is True
        assert Message.objects.filter(text="during").count() == 1
        redis_server.start()  # empty: group memberships and presence are gone

        assert js.wait_event("bob", "new_message", count=2, timeout=20) == [during["message"]]
        assert [args[0]["text"] for args in js.events("bob", "new_message")] == ["before", "during"]
        after = js.emit("alice", "send_message", {"matchId": match, "text": "after", "tempId": "t3"})
        assert js.wait_event("bob", "new_message", count=3) == [after["message"]]
