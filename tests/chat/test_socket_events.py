"""`mark_read`, `typing`, `get_online_status`, `ping`, unknown events and oversized payloads."""

from __future__ import annotations

import time

import pytest

from chat.models import Message, ReadReceipt, TypingIndicator, UserStatus
from tests.support.jsclient import JsClient, JsClientError
from tests.support.sockets import connect_users as _connect
from tests.support.sockets import make_match, make_user
from vlvt.http.api import iso

pytestmark = pytest.mark.django_db(transaction=True)


def _received(js: JsClient, name: str) -> list[tuple[str, list]]:
    return [(e, a) for e, a in js.received(name) if e != "user_status_changed"]


def _message(match: str, sender: str, text: str, status: str = "sent") -> str:
    return Message.objects.create(match_id=match, sender_id=sender, text=text, status=status).id


# --- mark_read ------------------------------------------------------------------------------------


def test_mark_read_acks_the_ids_and_tells_the_sender(daphne, js, pair):
    alice, bob, match = pair
    m1, m2 = _message(match, alice, "one"), _message(match, alice, "two")
    own = _message(match, bob, "bob's own")
    _connect(js, daphne, alice=alice, bob=bob)

    ack = js.emit("bob", "mark_read", {"matchId": match})

    assert ack == {"success": True, "count": 2, "messageIds": [m1, m2]}
    read_at = Message.objects.get(pk=m1).read_at
    assert js.wait_event("alice", "messages_read") == [
        {"matchId": match, "messageIds": [m1, m2], "readBy": bob, "readAt": iso(read_at)}
    ]
    assert set(Message.objects.filter(status="read").values_list("id", flat=True)) == {m1, m2}
    assert Message.objects.get(pk=own).status == "sent"
    assert set(ReadReceipt.objects.values_list("message_id", "user_id")) == {(m1, bob), (m2, bob)}
    js.emit("bob", "ping")
    assert _received(js, "bob") == []


def test_mark_read_of_chosen_ids_only(daphne, js, pair):
    alice, bob, match = pair
    m1, m2 = _message(match, alice, "one"), _message(match, alice, "two")
    _connect(js, daphne, alice=alice, bob=bob)

    ack = js.emit("bob", "mark_read", {"matchId": match, "messageIds": [m2, "msg_unknown"]})

    assert ack == {"success": True, "count": 1, "messageIds": [m2]}
    assert Message.objects.get(pk=m1).status == "sent"
    assert js.wait_event("alice", "messages_read")[0]["messageIds"] == [m2]


def test_mark_read_with_nothing_unread_sends_no_event(daphne, js, pair):
    alice, bob, match = pair
    _message(match, alice, "already", status="read")
    Message.objects.update(read_at=Message.objects.get().created_at)
    _connect(js, daphne, alice=alice, bob=bob)

    assert js.emit("bob", "mark_read", {"matchId": match}) == {"success": True, "count": 0, "messageIds": []}
    js.emit("alice", "ping")
    assert _received(js, "alice") == []


@pytest.mark.parametrize(
    "payload, error",
    [
        (None, "Invalid read receipt data"),
        ([1, 2], "Invalid read receipt data"),
        ("match", "Invalid read receipt data"),
        ({"matchId": "MATCH", "messageIds": "msg_1"}, "Invalid read receipt data"),
        ({"matchId": "MATCH", "messageIds": [1, 2]}, "Invalid read receipt data"),
        ({"matchId": "MATCH", "messageIds": {"a": 1}}, "Invalid read receipt data"),
        ({}, "Match not found"),
        ({"matchId": 5}, "Match not found"),
        ({"matchId": "match_nope"}, "Match not found"),
    ],
)
def test_mark_read_bad_payloads(daphne, js, pair, payload, error):
    alice, bob, match = pair
    if isinstance(payload, dict) and payload.get("matchId") == "MATCH":
        payload = {**payload, "matchId": match}
    _message(match, alice, "unread")
    _connect(js, daphne, alice=alice, bob=bob)

    assert js.emit("bob", "mark_read", payload) == {"success": False, "error": error}
    assert set(js.emit("bob", "ping")) == {"timestamp"}
    js.emit("alice", "ping")
    assert Message.objects.get().status == "sent" and ReadReceipt.objects.count() == 0
    assert _received(js, "alice") == []


def test_mark_read_by_a_stranger_is_unauthorized(daphne, js, pair):
    alice, _, match = pair
    _message(match, alice, "private")
    mallory = make_user("Mallory")
    _connect(js, daphne, mallory=mallory, alice=alice)

    assert js.emit("mallory", "mark_read", {"matchId": match}) == {"success": False, "error": "Unauthorized"}
    js.emit("alice", "ping")
    assert Message.objects.get().status == "sent" and _received(js, "alice") == []


# --- typing ---------------------------------------------------------------------------------------


def test_typing_acks_and_tells_the_other_participant_only(daphne, js, pair):
    alice, bob, match = pair
    _connect(js, daphne, alice=alice, alice2=alice, bob=bob)

    assert js.emit("alice", "typing", {"matchId": match, "isTyping": True}) == {"success": True}
    assert js.wait_event("bob", "user_typing") == [{"matchId": match, "userId": alice, "isTyping": True}]
    assert js.emit("alice", "typing", {"matchId": match, "isTyping": False}) == {"success": True}
    assert js.wait_event("bob", "user_typing", count=2) == [
        {"matchId": match, "userId": alice, "isTyping": False}
    ]

    row = TypingIndicator.objects.get()
    assert (row.match_id, row.user_id, row.is_typing) == (match, alice, False)
    js.emit("alice2", "ping")
    assert _received(js, "alice") == [] and _received(js, "alice2") == []


@pytest.mark.parametrize(
    "payload, error",
    [
        (None, "Invalid typing data"),
        ([True], "Invalid typing data"),
        (True, "Invalid typing data"),
        ({"matchId": "MATCH", "isTyping": "yes"}, "Invalid typing data"),
        ({"matchId": "MATCH"}, "Invalid typing data"),
        ({"matchId": "match_nope", "isTyping": True}, "Match not found"),
        ({"isTyping": True}, "Match not found"),
    ],
)
def test_typing_bad_payloads(daphne, js, pair, payload, error):
    alice, bob, match = pair
    if isinstance(payload, dict) and payload.get("matchId") == "MATCH":
        payload = {**payload, "matchId": match}
    _connect(js, daphne, alice=alice, bob=bob)

    assert js.emit("alice", "typing", payload) == {"success": False, "error": error}
    assert js.state("alice")["connected"] is True
    js.emit("bob", "ping")
    assert TypingIndicator.objects.count() == 0 and _received(js, "bob") == []


def test_typing_by_a_stranger_is_unauthorized(daphne, js, pair):
    _, bob, match = pair
    mallory = make_user("Mallory")
    _connect(js, daphne, mallory=mallory, bob=bob)

    assert js.emit("mallory", "typing", {"matchId": match, "isTyping": True}) == {
        "success": False,
        "error": "Unauthorized",
    }
    js.emit("bob", "ping")
    assert _received(js, "bob") == []


# --- get_online_status ----------------------------------------------------------------------------


def test_online_status_of_matched_users_only(daphne, js, pair):
    alice, bob, _ = pair
    carol = make_user("Carol")  # matched with alice, never connected
    make_match(carol, alice)
    stranger = make_user("Stranger")
    _connect(js, daphne, alice=alice, bob=bob, stranger=stranger)
    deadline = time.monotonic() + 10
    while not UserStatus.objects.filter(pk=bob, is_online=True).exists():  # bob's presence write
        assert time.monotonic() < deadline
        time.sleep(0.02)

    ack = js.emit("alice", "get_online_status", {"userIds": [bob, carol, stranger, "nobody", 42]})

    bob_status = UserStatus.objects.get(pk=bob)
    assert ack == {
        "success": True,
        "statuses": [
            {"userId": bob, "isOnline": True, "lastSeenAt": iso(bob_status.last_seen_at)},
            {"userId": carol, "isOnline": False, "lastSeenAt": None},
        ],
    }


def test_online_status_of_nobody_authorised_is_empty(daphne, js, pair):
    alice, _, _ = pair
    stranger = make_user("Stranger")
    _connect(js, daphne, alice=alice)

    assert js.emit("alice", "get_online_status", {"userIds": [stranger]}) == {"success": True, "statuses": []}


@pytest.mark.parametrize(
    "payload", [None, [], {}, {"userIds": []}, {"userIds": "abc"}, {"userIds": None}, "x"]
)
def test_online_status_needs_user_ids(daphne, js, pair, payload):
    alice, _, _ = pair
    _connect(js, daphne, alice=alice)

    assert js.emit("alice", "get_online_status", payload) == {"success": False, "error": "User IDs required"}
    assert js.state("alice")["connected"] is True


# --- ping, unknown events, payload cap ------------------------------------------------------------


@pytest.mark.parametrize("args", [(), (None,), ({"any": "thing"},), ("text", 1)])
def test_ping_acks_the_server_time_whatever_its_arguments(daphne, js, pair, args):
    alice, _, _ = pair
    _connect(js, daphne, alice=alice)
    before = int(time.time() * 1000)

    ack = js.emit("alice", "ping", *args)

    assert list(ack) == ["timestamp"]
    assert before - 1000 <= ack["timestamp"] <= int(time.time() * 1000) + 1000


def test_ping_without_an_ack_sends_nothing(daphne, js, pair):
    alice, _, _ = pair
    _connect(js, daphne, alice=alice)

    js.emit("alice", "ping", ack=False)
    js.emit("alice", "get_online_status", {"userIds": ["x"]})

    assert _received(js, "alice") == []


def test_unknown_event_is_ignored_without_an_ack_and_the_socket_stays_up(daphne, js, pair):
    alice, _, _ = pair
    _connect(js, daphne, alice=alice)

    with pytest.raises(JsClientError, match="timed out"):
        js.emit("alice", "no_such_event", {"x": 1}, timeout=0.5)

    assert set(js.emit("alice", "ping")) == {"timestamp"}
    assert _received(js, "alice") == []


def test_payload_over_the_cap_gets_an_error_ack_and_is_not_handled(daphne, js, pair):
    alice, bob, match = pair
    _connect(js, daphne, alice=alice, bob=bob)

    ack = js.emit("alice", "send_message", {"matchId": match, "text": "x" * (64 * 1024)})

    assert ack == {"success": False, "error": "Payload too large"}
    assert set(js.emit("alice", "ping")) == {"timestamp"}
    js.emit("bob", "ping")
    assert Message.objects.count() == 0 and _received(js, "bob") == []
