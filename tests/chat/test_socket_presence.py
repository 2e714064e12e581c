"""Presence per user across sockets (docs/contract.md, D22): transitions only, to match partners only."""

from __future__ import annotations

import time

import pytest

from chat.models import UserStatus
from tests.support.jsclient import JsClient
from tests.support.sockets import daphne_server, make_match, make_user
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token
from vlvt.redis import sync_redis

pytestmark = pytest.mark.django_db(transaction=True)


def live_sockets(user_id: str) -> int:
    return sync_redis().hlen(f"presence:user:{user_id}")


def statuses(js: JsClient, name: str) -> list[tuple[str, bool]]:
    return [(a[0]["userId"], a[0]["isOnline"]) for a in js.events(name, "user_status_changed")]


def test_first_socket_marks_online_and_tells_partners_only(daphne, js):
    alice, bob, carol, stranger = (make_user(n) for n in ("Alice", "Bob", "Carol", "Stranger"))
    make_match(alice, bob)
    make_match(carol, alice)
    for name, user in (("bob", bob), ("carol", carol), ("stranger", stranger)):
        js.connect(name, daphne.base_url, token=mint_token(user))
    js.clear()

    sid = js.connect("alice", daphne.base_url, token=mint_token(alice))["id"]

    payload = js.wait_event("bob", "user_status_changed")[0]
    assert payload == {"userId": alice, "isOnline": True, "timestamp": payload["timestamp"]}
    assert js.wait_event("carol", "user_status_changed") == [payload]
    js.emit("stranger", "ping")
    js.emit("alice", "ping")
    assert js.received("stranger") == []
    assert [s for s in statuses(js, "alice") if s[0] == alice] == []  # (bob's and carol's may come)
    row = UserStatus.objects.get(pk=alice)
    assert (row.is_online, row.socket_id) == (True, sid)
    assert live_sockets(alice) == 1


def test_a_second_socket_changes_nothing_and_only_the_last_disconnect_goes_offline(daphne, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    make_match(alice, bob)
    js.connect("bob", daphne.base_url, token=mint_token(bob))
    js.connect("phone", daphne.base_url, token=mint_token(alice))
    js.wait_event("bob", "user_status_changed")

    js.connect("tablet", daphne.base_url, token=mint_token(alice))
    js.emit("tablet", "ping")
    assert live_sockets(alice) == 2
    js.disconnect("phone")
    wait_until(lambda: live_sockets(alice) == 1, what="the phone's socket to be forgotten")
    time.sleep(0.3)  # room for a (wrong) offline broadcast to arrive

    assert statuses(js, "bob") == [(alice, True)]
    assert UserStatus.objects.get(pk=alice).is_online is True
    assert js.emit("bob", "get_online_status", {"userIds": [alice]})["statuses"][0]["isOnline"] is True

    js.disconnect("tablet")

    js.wait_event("bob", "user_status_changed", count=2)
    assert statuses(js, "bob") == [(alice, True), (alice, False)]
    row = wait_until(lambda: UserStatus.objects.filter(pk=alice, is_online=False).first(), what="offline row")
    assert row.socket_id is None
    assert live_sockets(alice) == 0


def test_sockets_left_by_a_crashed_process_do_not_keep_a_user_online(daphne, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    make_match(alice, bob)
    # A process that died without disconnecting its sockets: its liveness key has expired.
    sync_redis().hset(f"presence:user:{alice}", "stale-socket", "dead-host:1:deadbeef")
    js.connect("bob", daphne.base_url, token=mint_token(bob))

    js.connect("alice", daphne.base_url, token=mint_token(alice))
    assert js.wait_event("bob", "user_status_changed")[0]["isOnline"] is True
    js.disconnect("alice")

    assert js.wait_event("bob", "user_status_changed", count=2)[0]["isOnline"] is False
    assert live_sockets(alice) == 0


def test_socketio_disconnect_packet_runs_the_disconnect_logic(daphne, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    make_match(alice, bob)
    js.connect("bob", daphne.base_url, token=mint_token(bob))
    js.connect("alice", daphne.base_url, token=mint_token(alice))

    js.disconnect("alice")  # the client sends a Socket.IO DISCONNECT, then closes the transport

    assert js.wait_event("bob", "user_status_changed", count=2)[0] == {
        "userId": alice,
        "isOnline": False,
        "timestamp": js.events("bob", "user_status_changed")[1][0]["timestamp"],
    }
    assert js.wait_disconnect("alice")["reason"] == "io client disconnect"


def test_groups_and_presence_come_back_after_redis_loses_its_data():
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    with daphne_server(SOCKET_PING_INTERVAL_MS="100", SOCKET_REFRESH_MS="300") as server, JsClient() as js:
        js.connect("bob", server.base_url, token=mint_token(bob))
        js.connect("alice", server.base_url, token=mint_token(alice))
        js.wait_event("bob", "user_status_changed")

        sync_redis().flushdb()  # a Redis restart without persistence: groups and presence are gone

        # each socket adds itself to its groups, then to presence, on its next refresh
        wait_until(lambda: live_sockets(alice) == 1 and live_sockets(bob) == 1, what="presence back")
        sent = js.emit("alice", "send_message", {"matchId": match, "text": "still here"})
        assert js.wait_event("bob", "new_message") == [sent["message"]]
        assert js.state("alice")["connected"] and js.state("bob")["connected"]


def test_a_token_of_a_user_without_a_row_does_not_spoil_anyone_elses_presence(daphne, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    make_match(alice, bob)
    js.connect("bob", daphne.base_url, token=mint_token(bob))
    # connected in the same instant: their presence writes share a batch
    js.connect("ghost", daphne.base_url, token=mint_token("email_deleted_user"), wait=False)
    js.connect("alice", daphne.base_url, token=mint_token(alice), wait=False)

    assert js.wait_event("bob", "user_status_changed")[0]["userId"] == alice
    assert wait_until(
        lambda: UserStatus.objects.filter(pk=alice, is_online=True).exists(), what="alice online"
    )
    assert not UserStatus.objects.filter(pk="email_deleted_user").exists()
    assert "presence transition failed" not in daphne.log()
