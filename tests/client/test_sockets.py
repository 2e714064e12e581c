"""SocketService, as the app uses it: the official socket.io-client against a real Daphne, with
`auth: {token}` and the payloads the Dart code emits; every event and ack read as the app reads
them (Message.fromJson, UserStatus.fromJson, the chat screen's map reads)."""

from __future__ import annotations

import pytest

from tests.client import dart
from tests.support.sockets import connect_users, make_match, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(daphne, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    match_id = make_match(alice, bob)
    connect_users(js, daphne, alice=alice, bob=bob)
    return alice, bob, match_id


def test_send_message_ack_and_the_partners_new_message(js, chat):
    alice, bob, match_id = chat
    ack = js.emit(
        "alice", "send_message", {"matchId": match_id, "text": "Hi Bob", "tempId": "temp_1733570000000"}
    )
    assert ack["success"] is True
    sent = dart.message(dart.cast(ack["message"], "Map", "message"))
    assert (sent["matchId"], sent["senderId"], sent["text"]) == (match_id, alice, "Hi Bob")

    [payload] = js.wait_event("bob", "new_message")
    received = dart.message(payload)
    assert (received["id"], received["senderId"], received["text"]) == (sent["id"], alice, "Hi Bob")


def test_mark_read_without_ids_as_the_chat_screen_sends_it(js, chat):
    alice, bob, match_id = chat
    sent = js.emit("alice", "send_message", {"matchId": match_id, "text": "Read me", "tempId": "temp_2"})[
        "message"
    ]
    js.wait_event("bob", "new_message")
    ack = js.emit("bob", "mark_read", {"matchId": match_id})
    assert dart.cast(ack["success"], "bool", "success") is True

    [read] = js.wait_event("alice", "messages_read")
    assert read["matchId"] == match_id
    assert dart.cast(read["messageIds"], "List?", "messageIds") == [sent["id"]]


def test_typing_reaches_the_partner(js, chat):
    alice, bob, match_id = chat
    js.emit("alice", "typing", {"matchId": match_id, "isTyping": True}, ack=False)  # emit, no ack
    [typing] = js.wait_event("bob", "user_typing")
    assert typing["matchId"] == match_id
    assert dart.read(typing, userId="String?", isTyping="bool?") == {"userId": alice, "isTyping": True}


def test_status_changes_and_online_status(js, chat):
    alice, bob, _ = chat
    # Alice connected first: she hears Bob come online (his presence is recorded by then).
    [online] = js.wait_event("alice", "user_status_changed")
    change = dart.read(online, **dart.USER_STATUS)
    assert (change["userId"], change["isOnline"]) == (bob, True)
    dart.cast(online["timestamp"], "DateTime", "timestamp")
    # The original sends `timestamp`, not the `lastSeenAt` UserStatus reads (nullable: no break).
    assert change["lastSeenAt"] is None

    ack = js.emit("alice", "get_online_status", {"userIds": [bob]})
    assert ack["success"] is True
    [status] = [dart.read(s, **dart.USER_STATUS) for s in dart.cast(ack["statuses"], "List", "statuses")]
    assert (status["userId"], status["isOnline"]) == (bob, True)

    js.disconnect("bob")
    [offline] = js.wait_event("alice", "user_status_changed", count=2)
    assert dart.read(offline, **dart.USER_STATUS) == {"userId": bob, "isOnline": False, "lastSeenAt": None}
