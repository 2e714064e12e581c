"""The chat services as the socket consumer calls them: socket acks, fan-out, presence reads."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from chat import events, services
from chat.models import Message, TypingIndicator, UserStatus
from chat.services import ChatError
from profiles.models import Block, Profile, User
from tests.chat.rest_support import EventProbe, connect_socket, make_match, make_message, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    a, b = make_user(), make_user()
    return a, b, make_match(a, b)


def ack_of(fn, **kwargs):
    try:
        return fn(**kwargs).ack()
    except ChatError as exc:
        return exc.ack()


# --- message_send --------------------------------------------------------------------------------


def test_send_ack_shape_with_temp_id(pair):
    a, b, match_id = pair
    result = services.message_send(sender_id=a, match_id=match_id, text="  hey  ", temp_id="tmp-1")
    msg = Message.objects.get()
    assert msg.created_at is not None
    created = msg.created_at.astimezone(UTC)
    assert result.ack() == {
        "success": True,
        "message": {
            "id": msg.id,
            "matchId": match_id,
            "senderId": a,
            "text": "hey",
            "status": "sent",
            "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "tempId": "tmp-1",
        },
    }
    assert (result.recipient_id, result.created, msg.temp_id) == (b, True, "tmp-1")


def test_send_without_temp_id_has_no_temp_id_key(pair):
    a, _, match_id = pair
    assert "tempId" not in services.message_send(sender_id=a, match_id=match_id, text="x").message


def test_numeric_and_long_temp_ids(pair):
    a, _, match_id = pair
    first = services.message_send(sender_id=a, match_id=match_id, text="n", temp_id=1700000000123)
    assert first.message["tempId"] == 1700000000123
    assert (
        services.message_send(sender_id=a, match_id=match_id, text="n", temp_id=1700000000123).created
        is False
    )
    long_id = "t" * 200
    services.message_send(sender_id=a, match_id=match_id, text="l", temp_id=long_id)
    again = services.message_send(sender_id=a, match_id=match_id, text="l", temp_id=long_id)
    assert (again.created, again.message["tempId"]) == (False, long_id)
    assert set(Message.objects.values_list("temp_id", flat=True)) == {
        "1700000000123",
        hashlib.sha256(long_id.encode()).hexdigest(),
    }


def test_the_same_temp_id_in_another_match_or_by_the_partner_is_a_new_message(pair):
    a, b, match_id = pair
    other = make_match(a, make_user())
    services.message_send(sender_id=a, match_id=match_id, text="1", temp_id="same")
    assert services.message_send(sender_id=b, match_id=match_id, text="2", temp_id="same").created
    assert services.message_send(sender_id=a, match_id=other, text="3", temp_id="same").created
    assert Message.objects.count() == 3


def test_a_replay_returns_the_current_state_of_the_original(pair):
    a, b, match_id = pair
    first = services.message_send(sender_id=a, match_id=match_id, text="x", temp_id="t")
    services.messages_mark_read(user_id=b, match_id=match_id)
    replay = services.message_send(sender_id=a, match_id=match_id, text="x", temp_id="t")
    assert replay.message == {**first.message, "status": "read"}


@pytest.mark.parametrize(
    ("kwargs", "ack"),
    [
        ({"match_id": None, "text": "hi"}, "Invalid message data"),
        ({"match_id": "", "text": "hi"}, "Invalid message data"),
        ({"text": "   "}, "Invalid message data"),
        ({"text": None}, "Invalid message data"),
        ({"text": 5}, "Invalid message data"),
        ({"text": "hi", "temp_id": {"x": 1}}, "Invalid message data"),
        ({"text": "hi", "temp_id": True}, "Invalid message data"),
        ({"text": "x" * 5001}, "Message too long (max 5000 characters)"),
        ({"match_id": "match_missing", "text": "hi"}, "Match not found"),
    ],
)
def test_send_rejections_ack(pair, kwargs, ack):
    a, _, match_id = pair
    args = {"sender_id": a, "match_id": match_id, **kwargs}
    assert ack_of(services.message_send, **args) == {"success": False, "error": ack}
    assert Message.objects.count() == 0


def test_send_allows_5000_raw_characters(pair):
    a, _, match_id = pair
    assert services.message_send(sender_id=a, match_id=match_id, text="z" * 5000).created


def test_send_by_an_outsider_acks_unauthorized(pair):
    _, _, match_id = pair
    assert ack_of(services.message_send, sender_id=make_user(), match_id=match_id, text="hi") == {
        "success": False,
        "error": "Unauthorized",
    }


def test_send_across_a_block_does_not_say_block(pair):
    a, b, match_id = pair
    Block.objects.create(user_id=b, blocked_user_id=a)
    assert ack_of(services.message_send, sender_id=a, match_id=match_id, text="hi") == {
        "success": False,
        "error": "Unable to send message",
    }


def test_send_profile_gate_and_cap_acks(pair):
    a, b, match_id = pair
    Profile.objects.filter(pk=a).update(bio=None)
    assert ack_of(services.message_send, sender_id=a, match_id=match_id, text="hi") == {
        "success": False,
        "error": "Please complete your profile to start messaging: bio",
        "code": "PROFILE_INCOMPLETE",
        "missingFields": ["bio"],
    }
    Profile.objects.filter(pk=a).update(bio="ok")
    for i in range(20):
        make_message(match_id, a, str(i))
    assert ack_of(services.message_send, sender_id=a, match_id=match_id, text="hi") == {
        "success": False,
        "error": "Daily message limit reached",
        "code": "MESSAGE_LIMIT_REACHED",
        "message": "You've used all 20 messages for today. Upgrade to premium for unlimited messaging!",
    }
    # A caller may waive the cap (e.g. system messages).
    assert services.message_send(sender_id=a, match_id=match_id, text="hi", enforce_daily_cap=False).created


def test_the_socket_send_itself_publishes_nothing(pair):
    a, b, match_id = pair
    probe = EventProbe(b)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.message_send(sender_id=a, match_id=match_id, text="hi")
    assert probe.events(b) == []


# --- fan-out and delivered -----------------------------------------------------------------------


def test_fan_out_to_an_online_recipient(pair):
    a, b, match_id = pair
    probe = EventProbe(a, b)
    connect_socket(b)
    result = services.message_send(sender_id=a, match_id=match_id, text="hi", temp_id="t9")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.message_fan_out(result=result)
    assert probe.events(b) == [("new_message", result.message)]
    assert probe.events(a, wait=0.05) == []
    msg = Message.objects.get()
    assert (msg.status, msg.delivered_at is not None) == ("delivered", True)


def test_fan_out_to_an_offline_recipient_queues_a_push(pair, monkeypatch):
    from chat import tasks

    a, b, match_id = pair
    queued = []
    monkeypatch.setattr(tasks.push_new_message, "delay", lambda *args: queued.append(args))
    UserStatus.objects.create(user_id=b, is_online=False)  # was online once
    result = services.message_send(sender_id=a, match_id=match_id, text="hi")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.message_fan_out(result=result)
    assert queued == [(b, result.message["id"])]
    assert Message.objects.get().status == "sent"


def test_fan_out_goes_by_sockets_not_by_a_status_row(pair, monkeypatch):
    """Delivered-or-push asks Redis presence (chat.services.delivery): a `user_status` row left
    online (a crashed process's user before the sweep) has no socket to deliver to."""
    from chat import tasks

    a, b, match_id = pair
    queued = []
    monkeypatch.setattr(tasks.push_new_message, "delay", lambda *args: queued.append(args))
    UserStatus.objects.create(user_id=b, is_online=True, socket_id="s1")
    result = services.message_send(sender_id=a, match_id=match_id, text="hi")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.message_fan_out(result=result)
    assert queued == [(b, result.message["id"])]
    assert Message.objects.get().status == "sent"


def test_fan_out_never_downgrades_a_message_read_meanwhile(pair, monkeypatch):
    from chat import tasks

    a, b, match_id = pair
    queued = []
    monkeypatch.setattr(tasks.push_new_message, "delay", lambda *args: queued.append(args))
    connect_socket(b)
    result = services.message_send(sender_id=a, match_id=match_id, text="hi")
    Message.objects.filter(pk=result.message["id"]).update(status="read")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.message_fan_out(result=result)
    assert (Message.objects.get().status, Message.objects.get().delivered_at, queued) == ("read", None, [])


def test_message_push_is_skipped_without_a_sender_name(pair, monkeypatch):
    from chat import tasks
    from profiles import push

    a, b, match_id = pair
    Profile.objects.filter(pk=a).update(name=None)
    calls = []
    monkeypatch.setattr(push, "push_send_to_user", lambda **kw: calls.append(kw))
    msg = make_message(match_id, a, "x")
    tasks.push_new_message(b, msg.id)
    tasks.push_new_message(b, "msg_gone")
    assert calls == []


def test_delivered_never_downgrades_a_read_message(pair):
    a, _, match_id = pair
    sent, read = make_message(match_id, a, "s"), make_message(match_id, a, "r", status="read")
    assert services.messages_mark_delivered(message_ids=[sent.id, read.id]) == 1
    assert services.messages_mark_delivered(message_ids=[sent.id]) == 0
    assert dict(Message.objects.values_list("id", "status")) == {sent.id: "delivered", read.id: "read"}


# --- mark read and typing ------------------------------------------------------------------------


def test_mark_read_result_and_event(pair):
    a, b, match_id = pair
    m = make_message(match_id, a, "hi")
    result = services.messages_mark_read(user_id=b, match_id=match_id, message_ids=[m.id])
    assert result.ack() == {"success": True, "count": 1, "messageIds": [m.id]}
    assert result.notify_user_id == a
    event = result.event()
    assert event == {"matchId": match_id, "messageIds": [m.id], "readBy": b, "readAt": event["readAt"]}
    read_at = Message.objects.get().read_at
    assert read_at is not None
    read_at = read_at.astimezone(UTC)
    assert event["readAt"] == read_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{read_at.microsecond // 1000:03d}Z"


def test_mark_read_acks_for_bad_matches(pair):
    _, _, match_id = pair
    assert ack_of(services.messages_mark_read, user_id=make_user(), match_id=match_id) == {
        "success": False,
        "error": "Unauthorized",
    }
    assert ack_of(services.messages_mark_read, user_id=make_user(), match_id="match_x") == {
        "success": False,
        "error": "Match not found",
    }
    assert ack_of(services.messages_mark_read, user_id=make_user(), match_id=None) == {
        "success": False,
        "error": "Match not found",
    }


def test_typing_is_upserted_and_addressed_to_the_partner(pair):
    a, b, match_id = pair
    result = services.typing_set(user_id=a, match_id=match_id, is_typing=True)
    assert (result.ack(), result.recipient_id, result.payload) == (
        {"success": True},
        b,
        {"matchId": match_id, "userId": a, "isTyping": True},
    )
    services.typing_set(user_id=a, match_id=match_id, is_typing=False)
    assert list(TypingIndicator.objects.values_list("match_id", "user_id", "is_typing")) == [
        (match_id, a, False)
    ]


def test_typing_rejections(pair):
    _, _, match_id = pair
    outsider = make_user()
    assert ack_of(services.typing_set, user_id=outsider, match_id=match_id, is_typing=True) == {
        "success": False,
        "error": "Unauthorized",
    }
    assert ack_of(services.typing_set, user_id=outsider, match_id="nope", is_typing=True) == {
        "success": False,
        "error": "Match not found",
    }
    assert ack_of(services.typing_set, user_id=outsider, match_id=match_id, is_typing="yes") == {
        "success": False,
        "error": "Invalid typing data",
    }
    assert TypingIndicator.objects.count() == 0


# --- presence reads ------------------------------------------------------------------------------


def test_online_statuses_only_for_match_partners_in_request_order():
    me, online, offline, never, stranger = (make_user() for _ in range(5))
    for partner in (online, offline, never):
        make_match(partner, me)
    seen = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    UserStatus.objects.create(user_id=online, is_online=True, last_seen_at=seen)
    UserStatus.objects.create(user_id=offline, is_online=False, last_seen_at=seen - timedelta(hours=1))
    UserStatus.objects.create(user_id=stranger, is_online=True, last_seen_at=seen)
    statuses = services.online_statuses(
        viewer_id=me,
        user_ids=[never, stranger, offline, online, online, 7, me],  # type: ignore[list-item]  # a non-string id on purpose
    )
    assert statuses == [
        {"userId": never, "isOnline": False, "lastSeenAt": None},
        {"userId": offline, "isOnline": False, "lastSeenAt": "2026-01-05T09:00:00.000Z"},
        {"userId": online, "isOnline": True, "lastSeenAt": "2026-01-05T10:00:00.000Z"},
    ]
    assert services.online_statuses(viewer_id=me, user_ids=[stranger]) == []


@pytest.mark.parametrize("user_ids", [[], None, "abc", {"a": 1}])
def test_online_statuses_needs_a_list(user_ids):
    with pytest.raises(ChatError) as exc:
        services.online_statuses(viewer_id=make_user(), user_ids=user_ids)
    assert exc.value.ack() == {"success": False, "error": "User IDs required"}


def test_match_partner_ids():
    me, a, b = make_user(), make_user(), make_user()
    make_match(me, a)
    make_match(b, me)
    make_match(a, b)
    assert sorted(services.match_partner_ids(me)) == sorted([a, b])
    assert services.match_partner_ids(make_user()) == []


# --- the event funnel ----------------------------------------------------------------------------


def test_user_group_names_are_valid_and_stable():
    assert events.user_group("google_123.abc-d") == "user.google_123.abc-d"
    odd = events.user_group("apple|weird id:é")
    assert odd == events.user_group("apple|weird id:é")
    assert odd.startswith("user.h") and len(odd) < 100 and odd != events.user_group("apple|weird id:e")


def test_events_wait_for_the_commit():
    from django.db import transaction

    me = make_user()
    probe = EventProbe(me)
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks, transaction.atomic():
        events.send_to_user(me, "ping_test", {"n": 1})
    assert probe.events(me, wait=0.1) == []
    for cb in callbacks:
        cb()
    assert probe.events(me) == [("ping_test", {"n": 1})]


def test_timestamps_use_the_app_clock_to_the_microsecond(pair):
    a, _, match_id = pair
    before = timezone.now()
    services.message_send(sender_id=a, match_id=match_id, text="t")
    after = timezone.now()
    created_at = Message.objects.get().created_at
    assert created_at is not None
    assert before <= created_at <= after


# --- the profile gate, decided in the send's SQL ---------------------------------------------------


def _python_gate(profile: dict[str, Any] | None, verified: bool | None) -> list[str] | None:
    """The gate as the original states it, in Python: the reference the SQL must agree with."""
    if profile is None:
        return None
    missing = []
    if not (profile["name"] or "").strip():
        missing.append("name")
    if profile["age"] is None or profile["age"] < 18:
        missing.append("age")
    if not (profile["bio"] or "").strip():
        missing.append("bio")
    if not profile["photos"]:
        missing.append("photos")
    if verified is not True:
        missing.append("id_verification")
    return missing


_WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]
_GATE_CASES: list[dict[str, Any]] = (
    [{"name": ws} for ws in _WHITESPACE]
    + [{"bio": f" {ws}\t"} for ws in _WHITESPACE]
    + [
        {"name": None},
        {"name": ""},
        {"name": "\u200b"},  # a zero-width space is not whitespace to Python: a name
        {"name": "\ufeff"},
        {"name": " Al "},
        {"bio": None},
        {"bio": "\u3000ok\u3000"},
        {"age": None},
        {"age": 18},  # the table's check keeps ages under 18 out
        {"photos": None},
        {"photos": []},
        {"photos": [""]},
        {"name": "", "age": None, "bio": "", "photos": []},
    ]
)


@pytest.mark.parametrize("verified", [True, False, None])
def test_the_send_gate_in_sql_agrees_with_the_python_rule(pair, verified):
    a, _, match_id = pair
    User.objects.filter(pk=a).update(id_verified=verified)
    base: dict[str, Any] = {"name": "Alex", "age": 29, "bio": "Coffee and hikes", "photos": ["p/1.jpg"]}
    for case in [{}, *_GATE_CASES]:
        profile = {**base, **case}
        Profile.objects.filter(pk=a).update(**profile)
        missing = _python_gate(profile, verified)
        try:
            result = services.message_send(sender_id=a, match_id=match_id, text="hi", enforce_daily_cap=False)
        except ChatError as exc:
            assert missing, (case, exc.ack())
            assert exc.ack()["missingFields"] == missing, case
        else:
            assert result.created and missing == [], case
    Profile.objects.filter(pk=a).delete()
    assert ack_of(services.message_send, sender_id=a, match_id=match_id, text="hi")["missingFields"] == [
        "profile"
    ]
