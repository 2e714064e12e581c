"""`send_message` over the real wire: acks, fan-out to the right sockets only, delivered or push."""

from __future__ import annotations

import base64
import json
import re

import pytest

from chat.models import Message
from chat.realtime import presence
from profiles.models import Block, UserSubscription
from tests.support.jsclient import JsClient
from tests.support.sockets import make_match, make_user
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token
from vlvt.redis import sync_redis

pytestmark = pytest.mark.django_db(transaction=True)

MSG_ID = re.compile(r"^msg_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _wire(row: Message, temp_id=None) -> dict:
    from vlvt.http.api import iso

    body = {
        "id": row.id,
        "matchId": row.match_id,
        "senderId": row.sender_id,
        "text": row.text,
        "status": "sent",
        "createdAt": iso(row.created_at),
    }
    if temp_id is not None:
        body["tempId"] = temp_id
    return body


def _received(js: JsClient, name: str) -> list[tuple[str, list]]:
    """What a socket received, leaving out presence (partners come online around these tests)."""
    return [(e, a) for e, a in js.received(name) if e not in ("user_status_changed", "user_typing")]


def fanned_out(js: JsClient, sender: str, recipient: str, match: str) -> None:
    """Wait until everything `sender`'s socket fanned out to `recipient` so far has arrived.

    Fan-out runs after the ack, in order, on one task per socket: a typing event sent now reaches
    the recipient after all of it.
    """
    seen = len(js.events(recipient, "user_typing"))
    js.emit(sender, "typing", {"matchId": match, "isTyping": False})
    js.wait_event(recipient, "user_typing", count=seen + 1)


def _push_tasks() -> list[tuple[str, str]]:
    """(recipient, message id) of every push_new_message task waiting in the Celery queue."""
    tasks = []
    for raw in sync_redis().lrange("celery", 0, -1):
        envelope = json.loads(raw)
        if envelope["headers"]["task"] == "chat.tasks.push_new_message":
            args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
            tasks.append(tuple(args))
    return tasks


def test_send_acks_the_stored_message_and_the_recipient_alone_receives_it(daphne, js, pair):
    alice, bob, match = pair
    carol = make_user("Carol")
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    js.connect("alice2", daphne.base_url, token=mint_token(alice))
    js.connect("bob", daphne.base_url, token=mint_token(bob))
    js.connect("carol", daphne.base_url, token=mint_token(carol))

    ack = js.emit("alice", "send_message", {"matchId": match, "text": "  Hello Bob  ", "tempId": "t-1"})

    row = Message.objects.get()
    assert MSG_ID.match(row.id) and ISO_MS.match(ack["message"]["createdAt"])
    assert ack == {"success": True, "message": _wire(row, "t-1")}
    assert row.text == "Hello Bob" and row.sender_id == alice and row.match_id == match
    assert js.wait_event("bob", "new_message") == [_wire(row, "t-1")]
    fanned_out(js, "alice", "bob", match)
    js.emit("alice2", "ping")
    js.emit("carol", "ping")
    assert _received(js, "bob") == [("new_message", [_wire(row, "t-1")])]
    assert _received(js, "alice") == [] and _received(js, "alice2") == [] and _received(js, "carol") == []


def test_online_recipient_gets_delivered_status_and_no_push(daphne, js, pair):
    alice, bob, match = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    js.connect("bob", daphne.base_url, token=mint_token(bob))

    ack = js.emit("alice", "send_message", {"matchId": match, "text": "hi"})
    js.wait_event("bob", "new_message")

    row = wait_until(lambda: Message.objects.filter(status="delivered").first(), what="delivered")
    assert ack["message"]["status"] == "sent" and "tempId" not in ack["message"]
    assert row.delivered_at is not None
    assert _push_tasks() == []


def test_later_messages_to_a_recipient_on_this_process_are_delivered_then_pushed_once_gone(daphne, js, pair):
    """The second send of a match learnt its recipient from the first: with the recipient's
    socket on this process it is marked delivered in the send's own trip to the database; once
    the socket is gone, the next message takes the push."""
    alice, bob, match = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    js.connect("bob", daphne.base_url, token=mint_token(bob))

    first = js.emit("alice", "send_message", {"matchId": match, "text": "one"})
    second = js.emit("alice", "send_message", {"matchId": match, "text": "two"})
    js.wait_event("bob", "new_message", count=2)
    wait_until(lambda: Message.objects.filter(status="delivered").count() == 2, what="both delivered")
    assert first["message"]["status"] == second["message"]["status"] == "sent"

    js.disconnect("bob")
    wait_until(lambda: not presence.online_users([bob]), what="bob's socket gone from presence")
    third = js.emit("alice", "send_message", {"matchId": match, "text": "three"})

    tasks = wait_until(_push_tasks, what="the push task")
    row = Message.objects.get(pk=third["message"]["id"])
    assert row.status == "sent" and row.delivered_at is None
    assert tasks == [(bob, row.id)]
    assert Message.objects.filter(status="delivered").count() == 2


def test_offline_recipient_stays_sent_and_gets_a_push(daphne, js, pair):
    alice, bob, match = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))

    ack = js.emit("alice", "send_message", {"matchId": match, "text": "are you there?"})

    tasks = wait_until(_push_tasks, what="the push task")
    row = Message.objects.get()
    assert ack == {"success": True, "message": _wire(row)}
    assert row.status == "sent" and row.delivered_at is None
    assert tasks == [(bob, row.id)]


def test_resend_with_the_same_temp_id_acks_the_original_and_fans_out_once(daphne, js, pair):
    alice, bob, match = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    js.connect("bob", daphne.base_url, token=mint_token(bob))

    first = js.emit("alice", "send_message", {"matchId": match, "text": "once", "tempId": "same"})
    js.wait_event("bob", "new_message")
    wait_until(lambda: Message.objects.filter(status="delivered").exists(), what="delivered")
    again = js.emit("alice", "send_message", {"matchId": match, "text": "once", "tempId": "same"})
    fanned_out(js, "alice", "bob", match)

    assert Message.objects.count() == 1
    # the stored original, as it is now: bob was online, so it has been delivered meanwhile
    assert again == {"success": True, "message": {**first["message"], "status": "delivered"}}
    assert [a for e, a in _received(js, "bob") if e == "new_message"] == [[first["message"]]]


def test_event_sent_the_instant_the_client_connects_is_handled(daphne, js, pair):
    alice, bob, match = pair
    js.connect("bob", daphne.base_url, token=mint_token(bob))
    send = {
        "event": "send_message",
        "args": [{"matchId": match, "text": "from the queue", "tempId": 7}],
        "ack": True,
    }
    ping = {"event": "ping", "args": [], "ack": True}

    js.connect("alice", daphne.base_url, token=mint_token(alice), emit_on_connect=[send, ping])

    acks = js.wait_note("alice", "ack", count=2)
    row = Message.objects.get()
    assert acks[0]["value"] == {"success": True, "message": _wire(row, 7)}
    assert set(acks[1]["value"]) == {"timestamp"}
    assert js.wait_event("bob", "new_message") == [_wire(row, 7)]


@pytest.mark.parametrize(
    "payload, error",
    [
        (None, "Invalid message data"),
        ([], "Invalid message data"),
        (["matchId", "text"], "Invalid message data"),
        ("hello", "Invalid message data"),
        (42, "Invalid message data"),
        ({}, "Invalid message data"),
        ({"matchId": "MATCH", "text": "   "}, "Invalid message data"),
        ({"matchId": "MATCH", "text": 5}, "Invalid message data"),
        ({"matchId": "MATCH", "text": ["hi"]}, "Invalid message data"),
        ({"matchId": 12, "text": "hi"}, "Invalid message data"),
        ({"text": "hi"}, "Invalid message data"),
        ({"matchId": "MATCH", "text": "hi", "tempId": {"x": 1}}, "Invalid message data"),
        ({"matchId": "MATCH", "text": "x" * 5001}, "Message too long (max 5000 characters)"),
        ({"matchId": "match_nope", "text": "hi"}, "Match not found"),
    ],
)
def test_invalid_payloads_get_an_error_ack_and_the_socket_stays_up(daphne, js, pair, payload, error):
    alice, bob, match = pair
    if isinstance(payload, dict) and payload.get("matchId") == "MATCH":
        payload = {**payload, "matchId": match}
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    js.connect("bob", daphne.base_url, token=mint_token(bob))

    ack = js.emit("alice", "send_message", payload)

    assert ack == {"success": False, "error": error}
    assert set(js.emit("alice", "ping")) == {"timestamp"}
    js.emit("bob", "ping")
    assert Message.objects.count() == 0
    assert _received(js, "bob") == []


def test_send_with_no_payload_at_all_is_invalid(daphne, js, pair):
    alice, _, _ = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))

    assert js.emit("alice", "send_message") == {"success": False, "error": "Invalid message data"}
    assert js.state("alice")["connected"] is True


def test_exactly_5000_characters_is_accepted(daphne, js, pair):
    alice, _, match = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))

    ack = js.emit("alice", "send_message", {"matchId": match, "text": "y" * 5000})

    assert ack["success"] is True and len(Message.objects.get().text) == 5000


def test_non_participant_is_unauthorized(daphne, js, pair):
    _, bob, match = pair
    mallory = make_user("Mallory")
    js.connect("mallory", daphne.base_url, token=mint_token(mallory))
    js.connect("bob", daphne.base_url, token=mint_token(bob))

    assert js.emit("mallory", "send_message", {"matchId": match, "text": "hi"}) == {
        "success": False,
        "error": "Unauthorized",
    }
    js.emit("bob", "ping")
    assert Message.objects.count() == 0 and _received(js, "bob") == []


@pytest.mark.parametrize("blocker", ["sender", "recipient"])
def test_a_block_either_way_is_unable_to_send(daphne, js, pair, blocker):
    alice, bob, match = pair
    if blocker == "sender":
        Block.objects.create(user_id=alice, blocked_user_id=bob)
    else:
        Block.objects.create(user_id=bob, blocked_user_id=alice)
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    js.connect("bob", daphne.base_url, token=mint_token(bob))

    assert js.emit("alice", "send_message", {"matchId": match, "text": "hi"}) == {
        "success": False,
        "error": "Unable to send message",
    }
    js.emit("bob", "ping")
    assert Message.objects.count() == 0 and _received(js, "bob") == []


def test_incomplete_profile_is_refused_with_the_missing_fields(daphne, js):
    alice, bob = make_user("Alice", complete=False), make_user("Bob")
    match = make_match(alice, bob)
    js.connect("alice", daphne.base_url, token=mint_token(alice))

    assert js.emit("alice", "send_message", {"matchId": match, "text": "hi"}) == {
        "success": False,
        "error": "Profile not found. Please complete your profile setup.",
        "code": "PROFILE_INCOMPLETE",
        "missingFields": ["profile"],
    }
    assert Message.objects.count() == 0


def test_free_user_hits_the_daily_cap_at_twenty(daphne, js, pair):
    alice, _, match = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    for i in range(20):
        assert js.emit("alice", "send_message", {"matchId": match, "text": f"m{i}"})["success"] is True

    assert js.emit("alice", "send_message", {"matchId": match, "text": "one too many"}) == {
        "success": False,
        "error": "Daily message limit reached",
        "code": "MESSAGE_LIMIT_REACHED",
        "message": "You've used all 20 messages for today. Upgrade to premium for unlimited messaging!",
    }
    assert Message.objects.count() == 20


def test_premium_user_is_not_capped(daphne, js, pair):
    alice, _, match = pair
    UserSubscription.objects.create(user_id=alice, is_active=True, expires_at=None)
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    for i in range(21):
        assert js.emit("alice", "send_message", {"matchId": match, "text": f"m{i}"})["success"] is True

    assert Message.objects.count() == 21
