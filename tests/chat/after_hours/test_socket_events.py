"""The `after_hours:*` socket events (docs/contract.md, "After Hours socket events", D19, D25) with
the official socket.io-client against a real Daphne: every ack and error, the emitted events and
who gets them."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import AfterHoursMessage, Message
from profiles.models import Block
from tests.chat.after_hours.conftest import ah_message, make_ah_match, make_user
from tests.chat.rest_support import make_match as make_permanent_match
from tests.support.jsclient import JsClient
from tests.support.sockets import connect_users as connect
from tests.support.sockets import module_daphne
from vlvt.http.api import iso
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = "00000000-0000-4000-8000-000000000000"
EXPIRED = {"success": False, "error": "Match has expired", "code": "MATCH_EXPIRED"}


daphne = module_daphne()  # one server for the module; each test's rows are flushed after it


@pytest.fixture
def pair():
    alice, bob = make_user("Alice"), make_user("Bob")
    return alice, bob, make_ah_match(alice, bob)


def chat_events(js: JsClient, name: str) -> list[tuple[str, list]]:
    return [(e, a) for e, a in js.received(name) if e != "user_status_changed"]


def settle() -> None:
    time.sleep(0.4)  # room for a (wrong) extra event before counting what a socket received


def message_row(message_id: str) -> tuple:
    m = AfterHoursMessage.objects.get(pk=message_id)
    return str(m.match_id), m.sender_id, m.text


# --- join_chat / leave_chat -----------------------------------------------------------------------


def test_join_and_leave_ack_with_the_match_id(daphne, js, pair):
    alice, _, match = pair
    connect(js, daphne, alice=alice)
    assert js.emit("alice", "after_hours:join_chat", {"matchId": match}) == {
        "success": True,
        "matchId": match,
    }
    assert js.emit("alice", "after_hours:leave_chat", {"matchId": match}) == {
        "success": True,
        "matchId": match,
    }
    # leaving needs no membership and no row (as the original: UUID check only)
    assert js.emit("alice", "after_hours:leave_chat", {"matchId": MISSING}) == {
        "success": True,
        "matchId": MISSING,
    }


def test_join_checks_membership_only(daphne, js):
    alice, bob = make_user(), make_user()
    ended = make_ah_match(alice, bob, expires_at=timezone.now() - timedelta(hours=1), declined_by=bob)
    connect(js, daphne, alice=alice)
    assert js.emit("alice", "after_hours:join_chat", {"matchId": ended}) == {
        "success": True,
        "matchId": ended,
    }


@pytest.mark.parametrize("event", ["after_hours:join_chat", "after_hours:leave_chat"])
@pytest.mark.parametrize("payload", [{"matchId": "not-a-uuid"}, {"matchId": 7}, {}, None, [1], "x"])
def test_join_and_leave_reject_bad_ids(daphne, js, pair, event, payload):
    connect(js, daphne, alice=pair[0])
    assert js.emit("alice", event, payload) == {"success": False, "error": "Invalid match ID format"}


def test_join_of_someone_elses_or_a_missing_match_is_unauthorized(daphne, js, pair):
    _, _, match = pair
    connect(js, daphne, eve=make_user("Eve"))
    for match_id in (match, MISSING):
        assert js.emit("eve", "after_hours:join_chat", {"matchId": match_id}) == {
            "success": False,
            "error": "Unauthorized",
        }


# --- send_message ----------------------------------------------------------------------------------


def test_send_stores_acks_and_reaches_each_socket_once(daphne, js, pair):
    """Recipient sockets in and out of the room get one copy each; the sender's other socket in the
    room gets one; the sending socket has its ack; a socket outside the room and strangers get none."""
    alice, bob, match = pair
    eve = make_user("Eve")
    connect(js, daphne, a1=alice, a2=alice, a3=alice, b1=bob, b2=bob, eve=eve)
    for name in ("a1", "a2", "b1"):
        assert js.emit(name, "after_hours:join_chat", {"matchId": match})["success"] is True

    ack = js.emit(
        "a1", "after_hours:send_message", {"matchId": match, "text": "  hello there  ", "tempId": "t-1"}
    )

    message = ack["message"]
    assert ack == {
        "success": True,
        "message": {
            "id": message["id"],
            "matchId": match,
            "senderId": alice,
            "text": "hello there",
            "timestamp": iso(AfterHoursMessage.objects.get(pk=message["id"]).created_at),
            "tempId": "t-1",
        },
    }
    assert message_row(message["id"]) == (match, alice, "hello there")
    marker = js.emit("a1", "after_hours:send_message", {"matchId": match, "text": "marker"})["message"]
    for name in ("b1", "b2", "a2"):
        js.wait_event(name, "after_hours:new_message", count=2)
        assert chat_events(js, name) == [
            ("after_hours:new_message", [message]),
            ("after_hours:new_message", [marker]),
        ]
    settle()
    assert chat_events(js, "a1") == chat_events(js, "a3") == chat_events(js, "eve") == []


def test_a_message_without_temp_id_has_none_and_each_side_can_send(daphne, js, pair):
    alice, bob, match = pair
    connect(js, daphne, alice=alice, bob=bob)
    ack = js.emit("bob", "after_hours:send_message", {"matchId": match, "text": "hi"})
    assert set(ack["message"]) == {"id", "matchId", "senderId", "text", "timestamp"}
    assert js.wait_event("alice", "after_hours:new_message") == [ack["message"]]
    back = js.emit(
        "alice", "after_hours:send_message", {"matchId": match.upper(), "text": "yo", "tempId": 42}
    )
    assert (back["message"]["matchId"], back["message"]["tempId"]) == (match, 42)
    assert js.wait_event("bob", "after_hours:new_message") == [back["message"]]


def test_a_send_right_after_connecting_is_handled(daphne, js, pair):
    alice, bob, match = pair
    connect(js, daphne, bob=bob)
    first = [
        {"event": "after_hours:send_message", "args": [{"matchId": match, "text": "first!"}], "ack": True}
    ]
    js.connect("alice", daphne.base_url, token=mint_token(alice), emit_on_connect=first)
    ack = js.wait_note("alice", "ack")[0]["value"]
    assert ack["success"] is True
    assert js.wait_event("bob", "after_hours:new_message") == [ack["message"]]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (None, "Invalid match ID"),
        ([1, 2], "Invalid match ID"),
        ({"text": "hi"}, "Invalid match ID"),
        ({"matchId": "abc", "text": "hi"}, "Invalid match ID"),
        ({"matchId": "{match}"}, "Message text required"),
        ({"matchId": "{match}", "text": "   "}, "Message text required"),
        ({"matchId": "{match}", "text": 12}, "Message text required"),
        ({"matchId": "{match}", "text": "x" * 2001}, "Message too long (max 2000 characters)"),
        ({"matchId": "{match}", "text": "😀" * 1001}, "Message too long (max 2000 characters)"),
        ({"matchId": "{match}", "text": "hi", "tempId": {"a": 1}}, "Invalid message data"),
        ({"matchId": "{match}", "text": "a\u0000b"}, "Invalid message data"),
        ({"matchId": MISSING, "text": "hi"}, "Match not found"),
    ],
)
def test_send_rejections(daphne, js, pair, payload, error):
    alice, bob, match = pair
    connect(js, daphne, alice=alice, bob=bob)
    if isinstance(payload, dict) and payload.get("matchId") == "{match}":
        payload = {**payload, "matchId": match}
    assert js.emit("alice", "after_hours:send_message", payload) == {"success": False, "error": error}
    settle()
    assert (AfterHoursMessage.objects.count(), chat_events(js, "bob")) == (0, [])


def test_exactly_2000_characters_is_accepted(daphne, js, pair):
    alice, _, match = pair
    connect(js, daphne, alice=alice)
    assert (
        js.emit("alice", "after_hours:send_message", {"matchId": match, "text": "x" * 2000})["success"]
        is True
    )


@pytest.mark.parametrize("state", ["expired", "declined", "auto-declined"])
def test_send_on_an_ended_match_is_match_expired(daphne, js, state):
    alice, bob = make_user(), make_user()
    past = timezone.now() - timedelta(seconds=1)
    match = {
        "expired": lambda: make_ah_match(alice, bob, expires_at=past),
        "declined": lambda: make_ah_match(alice, bob, declined_by=bob),
        "auto-declined": lambda: make_ah_match(alice, bob, expires_at=past, declined_by=None),
    }[state]()
    connect(js, daphne, alice=alice, bob=bob)
    assert js.emit("alice", "after_hours:send_message", {"matchId": match, "text": "still there?"}) == EXPIRED
    settle()
    assert (AfterHoursMessage.objects.count(), chat_events(js, "bob")) == (0, [])


@pytest.mark.parametrize("blocker", ["sender", "recipient"])
def test_send_across_a_block_is_refused(daphne, js, pair, blocker):
    alice, bob, match = pair
    Block.objects.create(
        user_id=alice if blocker == "sender" else bob, blocked_user_id=bob if blocker == "sender" else alice
    )
    connect(js, daphne, alice=alice, bob=bob)
    assert js.emit("alice", "after_hours:send_message", {"matchId": match, "text": "hey"}) == {
        "success": False,
        "error": "Unable to send message",
    }
    settle()
    assert (AfterHoursMessage.objects.count(), chat_events(js, "bob")) == (0, [])


def test_after_a_block_over_rest_the_partner_gets_match_expired(daphne, js, pair):
    import httpx

    alice, bob, match = pair
    connect(js, daphne, bob=bob)
    response = httpx.post(
        f"{daphne.base_url}/api/v1/after-hours/matches/{match}/block",
        headers={"Authorization": f"Bearer {mint_token(alice)}"},
    )
    assert response.json() == {"success": True, "message": "User blocked"}
    assert js.emit("bob", "after_hours:send_message", {"matchId": match, "text": "why?"}) == EXPIRED


def test_a_message_after_conversion_also_lands_in_the_permanent_match(daphne, js):
    alice, bob = make_user(), make_user()
    permanent = make_permanent_match(alice, bob)
    match = make_ah_match(alice, bob, votes=(True, True), converted_to=permanent)
    connect(js, daphne, alice=alice)
    ack = js.emit("alice", "after_hours:send_message", {"matchId": match, "text": "see you tomorrow"})
    copy = Message.objects.get(match_id=permanent)
    assert (copy.sender_id, copy.text, iso(copy.created_at)) == (
        alice,
        "see you tomorrow",
        ack["message"]["timestamp"],
    )


# --- typing ----------------------------------------------------------------------------------------


def test_typing_is_relayed_to_the_partner(daphne, js, pair):
    alice, bob, match = pair
    connect(js, daphne, alice=alice, bob=bob)
    assert js.emit("alice", "after_hours:typing", {"matchId": match, "isTyping": True}) == {"success": True}
    assert js.wait_event("bob", "after_hours:user_typing") == [
        {"matchId": match, "userId": alice, "isTyping": True}
    ]
    assert js.emit("alice", "after_hours:typing", {"matchId": match, "isTyping": False}) == {"success": True}
    assert js.wait_event("bob", "after_hours:user_typing", count=2) == [
        {"matchId": match, "userId": alice, "isTyping": False}
    ]
    settle()
    assert chat_events(js, "alice") == []


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (None, "Invalid match ID"),
        ({"matchId": "zzz", "isTyping": True}, "Invalid match ID"),
        ({"matchId": "{match}", "isTyping": "yes"}, "Invalid typing data"),
        ({"matchId": "{match}"}, "Invalid typing data"),
        ({"matchId": MISSING, "isTyping": True}, "Match not found"),
    ],
)
def test_typing_rejections(daphne, js, pair, payload, error):
    alice, bob, match = pair
    connect(js, daphne, alice=alice, bob=bob)
    if isinstance(payload, dict) and payload.get("matchId") == "{match}":
        payload = {**payload, "matchId": match}
    assert js.emit("alice", "after_hours:typing", payload) == {"success": False, "error": error}
    settle()
    assert chat_events(js, "bob") == []


def test_typing_on_an_expired_match_still_relays_but_not_across_a_block(daphne, js):
    alice, bob, carol = make_user(), make_user(), make_user()
    expired = make_ah_match(alice, bob, expires_at=timezone.now() - timedelta(minutes=1))
    blocked = make_ah_match(alice, carol)
    Block.objects.create(user_id=carol, blocked_user_id=alice)
    connect(js, daphne, alice=alice, bob=bob, carol=carol)
    assert js.emit("alice", "after_hours:typing", {"matchId": expired, "isTyping": True}) == {"success": True}
    js.wait_event("bob", "after_hours:user_typing")
    assert js.emit("alice", "after_hours:typing", {"matchId": blocked, "isTyping": True}) == {"success": True}
    settle()
    assert chat_events(js, "carol") == []


def test_typing_is_rate_limited_per_user(daphne, js, pair):
    alice, _, match = pair
    connect(js, daphne, a1=alice, a2=alice)
    for i in range(10):
        assert js.emit(
            "a1" if i % 2 else "a2", "after_hours:typing", {"matchId": match, "isTyping": True}
        ) == {"success": True}
    denied = js.emit("a1", "after_hours:typing", {"matchId": match, "isTyping": True})
    assert (denied["success"], denied["code"]) == (False, "RATE_LIMIT_EXCEEDED")
    assert js.wait_event("a1", "rate_limit_error")[0]["eventName"] == "after_hours:typing"


# --- mark_read -------------------------------------------------------------------------------------


def test_mark_read_relays_only_ids_of_the_partners_messages_in_this_match(daphne, js, pair):
    alice, bob, match = pair
    other = make_ah_match(alice, make_user())
    from_bob = [str(ah_message(match, bob, f"b{i}").id) for i in range(2)]
    from_alice = str(ah_message(match, alice, "mine").id)
    elsewhere = str(ah_message(other, alice, "other match").id)
    connect(js, daphne, alice=alice, bob=bob)

    ids = [from_bob[1], elsewhere, from_alice, "garbage", from_bob[0], from_bob[1], str(uuid.uuid4())]
    ack = js.emit("alice", "after_hours:mark_read", {"matchId": match, "messageIds": ids})

    assert set(ack) == {"success", "readAt"} and ack["success"] is True
    assert js.wait_event("bob", "after_hours:messages_read") == [
        {"matchId": match, "messageIds": [from_bob[1], from_bob[0]], "readBy": alice, "readAt": ack["readAt"]}
    ]


def test_mark_read_without_ids_reads_everything_the_partner_sent_so_far(daphne, js, pair):
    """The mobile app sends no messageIds: every message of the partner in this match, oldest first."""
    alice, bob, match = pair
    now = timezone.now()
    from_alice = [
        str(ah_message(match, alice, f"a{i}", created_at=now + timedelta(seconds=i)).id) for i in (2, 0, 1)
    ]
    ah_message(match, bob, "mine")
    ah_message(make_ah_match(alice, make_user()), alice, "other match")
    connect(js, daphne, alice=alice, bob=bob)
    ack = js.emit("bob", "after_hours:mark_read", {"matchId": match})
    assert js.wait_event("alice", "after_hours:messages_read") == [
        {
            "matchId": match,
            "messageIds": [from_alice[1], from_alice[2], from_alice[0]],
            "readBy": bob,
            "readAt": ack["readAt"],
        }
    ]


def test_mark_read_with_an_empty_list_relays_an_empty_list(daphne, js, pair):
    alice, bob, match = pair
    ah_message(match, alice, "unread")
    connect(js, daphne, alice=alice, bob=bob)
    ack = js.emit("bob", "after_hours:mark_read", {"matchId": match, "messageIds": []})
    assert js.wait_event("alice", "after_hours:messages_read") == [
        {"matchId": match, "messageIds": [], "readBy": bob, "readAt": ack["readAt"]}
    ]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (None, "Invalid match ID"),
        ({"matchId": "1234"}, "Invalid match ID"),
        ({"matchId": "{match}", "messageIds": "all"}, "Invalid read receipt data"),
        ({"matchId": "{match}", "messageIds": [1, 2]}, "Invalid read receipt data"),
        ({"matchId": MISSING}, "Match not found"),
    ],
)
def test_mark_read_rejections(daphne, js, pair, payload, error):
    alice, bob, match = pair
    connect(js, daphne, alice=alice, bob=bob)
    if isinstance(payload, dict) and payload.get("matchId") == "{match}":
        payload = {**payload, "matchId": match}
    assert js.emit("alice", "after_hours:mark_read", payload) == {"success": False, "error": error}
    settle()
    assert chat_events(js, "bob") == []


# --- outsiders -------------------------------------------------------------------------------------


def test_a_user_outside_the_match_can_neither_join_send_nor_read(daphne, js, pair):
    import httpx

    alice, bob, match = pair
    ah_message(match, alice, "private")
    eve = make_user("Eve")
    connect(js, daphne, eve=eve, alice=alice, bob=bob)
    unauthorized = {"success": False, "error": "Unauthorized"}

    assert js.emit("eve", "after_hours:join_chat", {"matchId": match}) == unauthorized
    assert js.emit("eve", "after_hours:send_message", {"matchId": match, "text": "let me in"}) == unauthorized
    assert js.emit("eve", "after_hours:mark_read", {"matchId": match}) == unauthorized
    assert js.emit("eve", "after_hours:typing", {"matchId": match, "isTyping": True}) == unauthorized
    history = httpx.get(
        f"{daphne.base_url}/after-hours/messages/{match}",
        headers={"Authorization": f"Bearer {mint_token(eve)}"},
    )
    assert (history.status_code, history.json()) == (
        403,
        {"success": False, "error": "Forbidden: You are not part of this match"},
    )

    # nor does she overhear the pair (she never got into the room)
    js.emit("alice", "after_hours:join_chat", {"matchId": match})
    sent = js.emit("alice", "after_hours:send_message", {"matchId": match, "text": "just us"})
    js.wait_event("bob", "after_hours:new_message")
    settle()
    assert chat_events(js, "eve") == []
    assert AfterHoursMessage.objects.filter(match_id=match).count() == 2 and sent["success"]
