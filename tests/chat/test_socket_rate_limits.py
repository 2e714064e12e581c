"""Socket rate limits: per user and event, across sockets and reconnects (docs/contract.md, D21)."""

from __future__ import annotations

import pytest

from chat.models import Message, TypingIndicator
from profiles.models import UserSubscription
from tests.support.jsclient import JsClient
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)


def _typing(js: JsClient, name: str, match: str, is_typing: bool = True):
    return js.emit(name, "typing", {"matchId": match, "isTyping": is_typing})


def _assert_limited(js: JsClient, name: str, ack: dict, event: str, limit: int, window_ms: int) -> None:
    retry = ack.get("retryAfterMs")
    assert ack == {
        "success": False,
        "error": "Rate limit exceeded",
        "code": "RATE_LIMIT_EXCEEDED",
        "retryAfterMs": retry,
    }
    assert isinstance(retry, int) and 0 < retry <= window_ms
    # the event reaches the socket before its ack
    assert js.events(name, "rate_limit_error")[-1] == [
        {
            "error": "Rate limit exceeded",
            "code": "RATE_LIMIT_EXCEEDED",
            "eventName": event,
            "retryAfterMs": retry,
            "limit": limit,
        }
    ]


def test_eleventh_typing_in_ten_seconds_is_refused_and_not_handled(daphne, js, pair):
    alice, bob, match = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    js.connect("bob", daphne.base_url, token=mint_token(bob))
    for _ in range(10):
        assert _typing(js, "alice", match) == {"success": True}

    ack = _typing(js, "alice", match, is_typing=False)

    _assert_limited(js, "alice", ack, "typing", 10, 10_000)
    assert [e for e, _ in js.received("alice") if e != "user_status_changed"] == ["rate_limit_error"]
    js.wait_event("bob", "user_typing", count=10)
    # a message fanned out after them all: once bob has it, any 11th user_typing would have come
    js.emit("alice", "send_message", {"matchId": match, "text": "barrier"})
    js.wait_event("bob", "new_message")
    assert len(js.events("bob", "user_typing")) == 10
    assert TypingIndicator.objects.get().is_typing is True  # the refused one changed nothing
    assert js.state("alice")["connected"] is True


def test_refused_event_without_an_ack_still_gets_the_error_event(daphne, js, pair):
    alice, _, match = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    for _ in range(10):
        _typing(js, "alice", match)

    js.emit("alice", "typing", {"matchId": match, "isTyping": True}, ack=False)

    payload = js.wait_event("alice", "rate_limit_error")[0]
    assert payload["eventName"] == "typing" and payload["limit"] == 10


def test_the_budget_is_per_user_across_sockets_and_reconnects(daphne, js, pair):
    alice, bob, match = pair
    js.connect("phone", daphne.base_url, token=mint_token(alice))
    js.connect("tablet", daphne.base_url, token=mint_token(alice))
    for _ in range(5):
        assert _typing(js, "phone", match) == {"success": True}
        assert _typing(js, "tablet", match) == {"success": True}
    js.disconnect("phone")
    js.disconnect("tablet")

    js.connect("again", daphne.base_url, token=mint_token(alice))
    _assert_limited(js, "again", _typing(js, "again", match), "typing", 10, 10_000)

    js.connect("bob", daphne.base_url, token=mint_token(bob))
    assert _typing(js, "bob", match) == {"success": True}  # another user has a budget of their own
    assert js.emit("again", "mark_read", {"matchId": match}) == {
        "success": True,
        "count": 0,
        "messageIds": [],
    }


def test_thirty_first_message_in_a_minute_is_refused(daphne, js, pair):
    alice, _, match = pair
    UserSubscription.objects.create(user_id=alice, is_active=True)  # no daily cap in the way
    js.connect("alice", daphne.base_url, token=mint_token(alice))
    for i in range(30):
        assert js.emit("alice", "send_message", {"matchId": match, "text": f"m{i}"})["success"] is True

    ack = js.emit("alice", "send_message", {"matchId": match, "text": "too fast"})

    _assert_limited(js, "alice", ack, "send_message", 30, 60_000)
    assert Message.objects.count() == 30


def test_ping_has_no_limit(daphne, js, pair):
    alice, _, _ = pair
    js.connect("alice", daphne.base_url, token=mint_token(alice))

    for _ in range(70):
        assert set(js.emit("alice", "ping")) == {"timestamp"}
    assert js.events("alice", "rate_limit_error") == []
