"""AfterHoursChatService, AfterHoursSafetyService and the After Hours half of SocketService, as the
app uses them against a real Daphne (chat host): history, sending with a tempId, typing, read
receipts without ids, saving by both (partner_saved, then match_saved filtered on `matchId`),
block and report from the chat screen's menu."""

from __future__ import annotations

import pytest

from chat.models import Report
from profiles.models import AfterHoursMatch, Block, Match
from tests.chat.after_hours.conftest import make_ah_match, make_user
from tests.client import dart
from tests.client.conftest import Remote
from tests.support.sockets import connect_users

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(daphne, js):
    """Alice and Bob in an After Hours match, both connected and in its chat room."""
    alice, bob = make_user("Alice"), make_user("Bob")
    match_id = make_ah_match(alice, bob)
    for name, user in (("alice", alice), ("bob", bob)):
        connect_users(js, daphne, **{name: user})
        js.emit(name, "after_hours:join_chat", {"matchId": match_id}, ack=False)  # joinAfterHoursChat: no ack
    return alice, bob, match_id


def send(js, name: str, match_id: str, text: str, temp_id: str) -> dict:
    """sendAfterHoursMessage: the ack's `message`, read by Message.fromJson."""
    ack = js.emit(name, "after_hours:send_message", {"matchId": match_id, "text": text, "tempId": temp_id})
    assert ack["success"] is True, ack
    return dart.message(dart.cast(ack["message"], "Map", "message"))


def test_messages_typing_and_read_receipts(daphne, js, chat):
    alice, bob, match_id = chat
    sent = send(js, "alice", match_id, "Still up?", "temp_1733570000001")
    assert (sent["matchId"], sent["senderId"], sent["text"]) == (match_id, alice, "Still up?")
    [payload] = js.wait_event("bob", "after_hours:new_message")
    assert dart.message(payload)["id"] == sent["id"]

    js.emit("bob", "after_hours:typing", {"matchId": match_id, "isTyping": True}, ack=False)
    [typing] = js.wait_event("alice", "after_hours:user_typing")
    assert typing["matchId"] == match_id
    assert dart.read(typing, userId="String?", isTyping="bool?") == {"userId": bob, "isTyping": True}

    # The chat screen marks read without ids whenever a message arrives.
    ack = js.emit("bob", "after_hours:mark_read", {"matchId": match_id})
    assert ack["success"] is True
    [read] = js.wait_event("alice", "after_hours:messages_read")
    assert read["matchId"] == match_id
    assert dart.cast(read["messageIds"], "List?", "messageIds") == [sent["id"]]

    # getMessageHistory on reopening the chat (chat host, /api/after-hours/...)
    reply = Remote(daphne.base_url, bob).get(f"/api/after-hours/messages/{match_id}")
    assert reply.status == 200 and reply.body["success"] is True
    history = [dart.message(m) for m in dart.cast(reply.body["messages"], "List", "messages")]
    assert [(m["id"], m["text"]) for m in history] == [(sent["id"], "Still up?")]
    reply = Remote(daphne.base_url, bob).get(
        f"/api/after-hours/messages/{match_id}?before=2000-01-01T00:00:00.000"
    )
    assert reply.body["messages"] == []


def test_save_by_both_and_the_mutual_save_seen_by_the_first_saver(daphne, js, chat):
    alice, bob, match_id = chat
    first = Remote(daphne.base_url, alice).post(f"/api/after-hours/matches/{match_id}/save")
    assert first.status == 200, first
    assert dart.read(first.body, success="bool", mutualSave="bool?", permanentMatchId="String?") == {
        "success": True,
        "mutualSave": False,
        "permanentMatchId": None,
    }
    [partner_saved] = js.wait_event("bob", "after_hours:partner_saved")
    assert partner_saved["matchId"] == match_id  # the chat screen's filter

    second = Remote(daphne.base_url, bob).post(f"/api/after-hours/matches/{match_id}/save")
    permanent = Match.objects.get()
    assert dart.read(second.body, success="bool", mutualSave="bool?", permanentMatchId="String?") == {
        "success": True,
        "mutualSave": True,
        "permanentMatchId": permanent.id,
    }
    for name in ("alice", "bob"):
        [saved] = js.wait_event(name, "after_hours:match_saved")
        assert dart.read(saved, matchId="String?", permanentMatchId="String?") == {
            "matchId": match_id,
            "permanentMatchId": permanent.id,
        }
        assert saved["afterHoursMatchId"] == match_id  # the original's name stays


def test_report_from_the_chat_menu_blocks_and_ends_the_match(daphne, chat):
    alice, bob, match_id = chat
    body = {"reason": "inappropriate", "details": "Sent something explicit"}
    reply = Remote(daphne.base_url, alice).post(f"/after-hours/matches/{match_id}/report", body)
    assert (reply.status, reply.body["success"]) == (200, True), reply
    assert list(Report.objects.values_list("reporter_id", "reported_user_id", "reason", "details")) == [
        (alice, bob, "after_hours:inappropriate", "Sent something explicit")
    ]
    assert Block.objects.filter(user_id=alice, blocked_user_id=bob).exists()
    assert AfterHoursMatch.objects.get(pk=match_id).declined_by_id == alice


def test_block_from_the_chat_menu_with_an_empty_body(daphne, chat):
    alice, bob, match_id = chat
    reply = Remote(daphne.base_url, bob).post(f"/after-hours/matches/{match_id}/block", {})
    assert (reply.status, reply.body["success"]) == (200, True), reply
    assert Block.objects.filter(user_id=bob, blocked_user_id=alice).exists()
