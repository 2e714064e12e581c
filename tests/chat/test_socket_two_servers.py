"""Two Daphne processes sharing Redis and PostgreSQL: events, receipts and presence cross over."""

from __future__ import annotations

import signal
import time

import pytest

from chat.models import Message, UserStatus
from tests.support.jsclient import JsClient
from tests.support.sockets import daphne_server
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token
from vlvt.redis import sync_redis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def servers():
    with daphne_server() as one, daphne_server() as two:
        yield one, two


def statuses(js: JsClient, name: str) -> list[tuple[str, bool]]:
    return [(a[0]["userId"], a[0]["isOnline"]) for a in js.events(name, "user_status_changed")]


def test_messages_typing_and_receipts_flow_both_ways(servers, js, pair):
    one, two = servers
    alice, bob, match = pair
    js.connect("alice", one.base_url, token=mint_token(alice))
    js.connect("bob", two.base_url, token=mint_token(bob))

    to_bob = js.emit("alice", "send_message", {"matchId": match, "text": "from one", "tempId": "a1"})
    assert js.wait_event("bob", "new_message") == [to_bob["message"]]
    to_alice = js.emit("bob", "send_message", {"matchId": match, "text": "from two", "tempId": "b1"})
    assert js.wait_event("alice", "new_message") == [to_alice["message"]]

    assert js.emit("alice", "typing", {"matchId": match, "isTyping": True}) == {"success": True}
    assert js.wait_event("bob", "user_typing") == [{"matchId": match, "userId": alice, "isTyping": True}]
    assert js.emit("bob", "typing", {"matchId": match, "isTyping": True}) == {"success": True}
    assert js.wait_event("alice", "user_typing") == [{"matchId": match, "userId": bob, "isTyping": True}]

    read_by_bob = js.emit("bob", "mark_read", {"matchId": match})
    assert read_by_bob == {"success": True, "count": 1, "messageIds": [to_bob["message"]["id"]]}
    assert js.wait_event("alice", "messages_read")[0]["messageIds"] == [to_bob["message"]["id"]]
    read_by_alice = js.emit("alice", "mark_read", {"matchId": match})
    assert read_by_alice == {"success": True, "count": 1, "messageIds": [to_alice["message"]["id"]]}
    assert js.wait_event("bob", "messages_read")[0]["readBy"] == alice

    # each recipient was online on the other process, so both messages were delivered (then read)
    rows = {m.id: m for m in Message.objects.all()}
    assert all(m.delivered_at is not None and m.status == "read" for m in rows.values())
    chat_events = lambda name: [e for e, _ in js.received(name) if e != "user_status_changed"]  # noqa: E731
    assert chat_events("alice") == ["new_message", "user_typing", "messages_read"]
    assert chat_events("bob") == ["new_message", "user_typing", "messages_read"]


def test_presence_holds_while_one_of_two_sockets_on_different_processes_disconnects(servers, js, pair):
    one, two = servers
    alice, bob, _ = pair
    js.connect("bob", two.base_url, token=mint_token(bob))
    js.connect("alice-one", one.base_url, token=mint_token(alice))
    js.wait_event("bob", "user_status_changed")
    js.connect("alice-two", two.base_url, token=mint_token(alice))
    js.emit("alice-two", "ping")
    assert sync_redis().hlen(f"presence:user:{alice}") == 2

    js.disconnect("alice-one")
    wait_until(lambda: sync_redis().hlen(f"presence:user:{alice}") == 1, what="one socket left")
    time.sleep(0.3)  # room for a (wrong) offline broadcast

    assert statuses(js, "bob") == [(alice, True)]
    assert UserStatus.objects.get(pk=alice).is_online is True
    assert js.emit("bob", "get_online_status", {"userIds": [alice]})["statuses"][0]["isOnline"] is True
    # a message now is delivered to the socket left on the other process
    sent = js.emit("bob", "send_message", {"matchId": _match(alice, bob), "text": "still there?"})
    assert js.wait_event("alice-two", "new_message") == [sent["message"]]

    js.disconnect("alice-two")

    js.wait_event("bob", "user_status_changed", count=2)
    assert statuses(js, "bob") == [(alice, True), (alice, False)]
    wait_until(lambda: UserStatus.objects.filter(pk=alice, is_online=False).exists(), what="alice offline")


def test_a_server_shutting_down_closes_its_sockets_and_marks_its_users_offline(servers, js, pair):
    one, two = servers
    alice, bob, match = pair
    js.connect("bob", two.base_url, token=mint_token(bob))
    js.connect("alice", one.base_url, token=mint_token(alice))
    js.wait_event("bob", "user_status_changed")
    js.emit("alice", "send_message", {"matchId": match, "text": "bye"})

    one.signal(signal.SIGTERM)

    closed = js.wait_disconnect("alice")
    assert (closed["reason"], closed["code"]) == ("transport close", 1001)
    assert js.wait_event("bob", "user_status_changed", count=2)[0]["isOnline"] is False
    assert one.wait(timeout=15) == 0
    assert UserStatus.objects.get(pk=alice).is_online is False
    assert sync_redis().hlen(f"presence:user:{alice}") == 0
    assert "presence transition failed" not in one.log() and "Traceback" not in one.log()


def _match(a: str, b: str) -> str:
    from chat.selectors import match_between

    match = match_between(user_a=a, user_b=b)
    assert match is not None
    return match.id
