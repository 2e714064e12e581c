"""Sends racing on many sockets of one user: the daily cap and tempId idempotency hold."""

from __future__ import annotations

import pytest

from chat.models import Message
from tests.support.sockets import LIMIT_REACHED_ACK, make_match, make_user
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_25_sends_at_once_on_25_sockets_of_a_free_user_store_exactly_20(daphne, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    token = mint_token(alice)
    for i in range(25):
        js.connect(f"s{i}", daphne.base_url, token=token)
    js.connect("bob", daphne.base_url, token=mint_token(bob))

    acks = js.emit_all([(f"s{i}", "send_message", [{"matchId": match, "text": f"m{i}"}]) for i in range(25)])

    assert sorted(a["success"] for a in acks) == [False] * 5 + [True] * 20
    assert [a for a in acks if not a["success"]] == [LIMIT_REACHED_ACK] * 5
    assert Message.objects.filter(sender_id=alice).count() == 20
    stored = {m["message"]["id"] for m in acks if m["success"]}
    assert stored == set(Message.objects.values_list("id", flat=True))
    received = js.wait_note("bob", "event", event="new_message", count=20)
    assert {n["args"][0]["id"] for n in received} == stored


def test_one_temp_id_sent_at_once_from_two_sockets_stores_one_message(daphne, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    token = mint_token(alice)
    js.connect("phone", daphne.base_url, token=token)
    js.connect("tablet", daphne.base_url, token=token)
    payload = {"matchId": match, "text": "once", "tempId": "same-temp-id"}

    first, second = js.emit_all([("phone", "send_message", [payload]), ("tablet", "send_message", [payload])])

    row = Message.objects.get()
    assert first["success"] and second["success"]
    assert first["message"]["id"] == second["message"]["id"] == row.id
    assert first["message"]["tempId"] == second["message"]["tempId"] == "same-temp-id"


def test_events_sent_back_to_back_on_one_socket_are_handled_in_order(daphne, js):
    """Events queued on one socket while it is busy go to the database together (one batch); each
    is still the same send with its own answer, in order: the cap counts only stored messages."""
    alice, bob, carol, dave = make_user("Alice"), make_user("Bob"), make_user("Carol"), make_user("Dave")
    match = make_match(alice, bob)
    strangers = make_match(carol, dave)
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    js.connect("bob", daphne.base_url, token=mint_token(bob))
    payloads: list = [{"matchId": match, "text": f"m{i}", "tempId": f"t{i}"} for i in range(25)]
    payloads[3] = None
    payloads[7] = {"matchId": strangers, "text": "not mine"}

    acks = js.emit_all([("alice", "send_message", [p]) for p in payloads])

    assert acks[3] == {"success": False, "error": "Invalid message data"}
    assert acks[7] == {"success": False, "error": "Unauthorized"}
    sent = [i for i in range(25) if i not in (3, 7)]
    assert [acks[i]["message"]["text"] for i in sent[:20]] == [f"m{i}" for i in sent[:20]]
    assert [acks[i] for i in sent[20:]] == [LIMIT_REACHED_ACK] * 3
    stored = list(Message.objects.order_by("created_at").values_list("id", "text", "temp_id"))
    assert stored == [(acks[i]["message"]["id"], f"m{i}", f"t{i}") for i in sent[:20]]
    received = js.wait_note("bob", "event", event="new_message", count=20)
    assert [n["args"][0]["text"] for n in received] == [f"m{i}" for i in sent[:20]]
    assert js.emit("alice", "ping")["timestamp"] > 0  # the socket is still up


def test_a_batch_with_a_known_temp_id_stores_only_the_new_ones(daphne, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    first = js.emit("alice", "send_message", {"matchId": match, "text": "hello", "tempId": "t0"})

    acks = js.emit_all(
        [
            ("alice", "send_message", [{"matchId": match, "text": f"m{i}", "tempId": f"t{i}"}])
            for i in range(3)
        ]
    )

    assert acks[0] == first  # the resend is answered with the stored original
    assert [a["message"]["text"] for a in acks[1:]] == ["m1", "m2"]
    assert list(Message.objects.order_by("created_at").values_list("text", flat=True)) == [
        "hello",
        "m1",
        "m2",
    ]
