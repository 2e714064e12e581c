"""REST messages: history and pagination, the REST send (same rules as the socket), mark-read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chat.models import Message, ReadReceipt
from profiles.models import Block, Profile, User, UserSubscription
from tests.chat.rest_support import Api, EventProbe, connect_socket, make_match, make_message, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(client):
    alice, bob = make_user("google_alice", name="Alice"), make_user("google_bob", name="Bob")
    match_id = make_match(alice, bob)
    return Api(client, alice), alice, bob, match_id


def ts(ms: int) -> datetime:
    return datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC) + timedelta(microseconds=ms)


# --- GET /messages/:matchId ----------------------------------------------------------------------


def test_history_is_chronological_with_pagination(pair):
    api, alice, bob, match_id = pair
    m1 = make_message(match_id, alice, "one", created_at=ts(1_000))
    m2 = make_message(match_id, bob, "two", created_at=ts(2_000))
    status, body = api.get(f"/messages/{match_id}")
    assert status == 200
    assert body == {
        "success": True,
        "messages": [
            {
                "id": m1.id,
                "matchId": match_id,
                "senderId": alice,
                "text": "one",
                "timestamp": "2026-03-01T12:00:00.001Z",
            },
            {
                "id": m2.id,
                "matchId": match_id,
                "senderId": bob,
                "text": "two",
                "timestamp": "2026-03-01T12:00:00.002Z",
            },
        ],
        "pagination": {
            "limit": 50,
            "hasMore": False,
            "oldestTimestamp": "2026-03-01T12:00:00.001Z",
            "newestTimestamp": "2026-03-01T12:00:00.002Z",
        },
    }


def test_history_also_answers_under_api_v1(pair):
    api, _, _, match_id = pair
    status, body = api.get(f"/api/v1/messages/{match_id}")
    assert (status, body["messages"], body["pagination"]["hasMore"]) == (200, [], False)


def test_empty_history_has_null_timestamps(pair):
    api, _, _, match_id = pair
    assert api.get(f"/messages/{match_id}") == (
        200,
        {
            "success": True,
            "messages": [],
            "pagination": {"limit": 50, "hasMore": False, "oldestTimestamp": None, "newestTimestamp": None},
        },
    )


def test_limit_keeps_the_newest_and_reports_has_more(pair):
    api, alice, _, match_id = pair
    ids = [make_message(match_id, alice, f"m{i}", created_at=ts(i * 1000)).id for i in range(5)]
    status, body = api.get(f"/messages/{match_id}?limit=2")
    assert status == 200
    assert [m["id"] for m in body["messages"]] == ids[3:]
    assert body["pagination"] == {
        "limit": 2,
        "hasMore": True,
        "oldestTimestamp": "2026-03-01T12:00:00.003Z",
        "newestTimestamp": "2026-03-01T12:00:00.004Z",
    }


@pytest.mark.parametrize(
    ("raw", "limit"),
    [("0", 50), ("abc", 50), ("", 50), ("-5", 1), ("1000", 100), ("7.9", 7), ("12abc", 12), (" 3", 3)],
)
def test_limit_parsing_follows_parseint_and_clamps(pair, raw, limit):
    api, _, _, match_id = pair
    status, body = api.get(f"/messages/{match_id}?limit={raw}")
    assert (status, body["pagination"]["limit"]) == (200, limit)


def test_before_cursor_pages_back_without_gaps_or_repeats(pair):
    api, alice, _, match_id = pair
    # Microsecond timestamps inside distinct milliseconds, as the database stores them.
    msgs = [make_message(match_id, alice, f"m{i}", created_at=ts(i * 1000 + 456)) for i in range(5)]
    _, first = api.get(f"/messages/{match_id}?limit=2")
    assert [m["id"] for m in first["messages"]] == [msgs[3].id, msgs[4].id]
    _, second = api.get(f"/messages/{match_id}?limit=2&before={first['pagination']['oldestTimestamp']}")
    assert [m["id"] for m in second["messages"]] == [msgs[1].id, msgs[2].id]
    assert second["pagination"]["hasMore"] is True
    _, third = api.get(f"/messages/{match_id}?limit=2&before={second['pagination']['oldestTimestamp']}")
    assert [m["id"] for m in third["messages"]] == [msgs[0].id]
    assert third["pagination"]["hasMore"] is False


def test_after_cursor_does_not_repeat_the_newest_seen_message(pair):
    """The row at .123456 is shown as .123Z; `after=.123Z` must not return it again."""
    api, alice, bob, match_id = pair
    seen = make_message(match_id, alice, "seen", created_at=ts(123_456))
    _, page = api.get(f"/messages/{match_id}")
    assert page["pagination"]["newestTimestamp"] == "2026-03-01T12:00:00.123Z"
    newer = make_message(match_id, bob, "newer", created_at=ts(124_001))
    _, body = api.get(f"/messages/{match_id}?after={page['pagination']['newestTimestamp']}")
    assert [m["id"] for m in body["messages"]] == [newer.id]
    assert seen.id not in [m["id"] for m in body["messages"]]


def test_after_returns_the_newest_rows_past_the_cursor(pair):
    api, alice, _, match_id = pair
    msgs = [make_message(match_id, alice, f"m{i}", created_at=ts(i * 1000)) for i in range(4)]
    _, body = api.get(f"/messages/{match_id}?after=2026-03-01T12:00:00.000Z&limit=2")
    assert [m["id"] for m in body["messages"]] == [msgs[2].id, msgs[3].id]
    assert body["pagination"]["hasMore"] is True


def test_microsecond_cursor_compares_exactly(pair):
    api, alice, _, match_id = pair
    a = make_message(match_id, alice, "a", created_at=ts(5_100))
    b = make_message(match_id, alice, "b", created_at=ts(5_400))
    _, body = api.get(f"/messages/{match_id}?after=2026-03-01T12:00:00.005100Z")
    assert [m["id"] for m in body["messages"]] == [b.id]
    _, body = api.get(f"/messages/{match_id}?before=2026-03-01T12:00:00.005400Z")
    assert [m["id"] for m in body["messages"]] == [a.id]


@pytest.mark.parametrize(
    "value", ["2026-03-01", "2026-03-01T12:00:00+02:00", "Sun, 01 Mar 2026 12:00:00 GMT"]
)
def test_cursor_formats_date_parse_accepts(pair, value):
    api, _, _, match_id = pair
    status, body = api.get(f"/messages/{match_id}?before={value.replace('+', '%2B')}")
    assert (status, body["success"]) == (200, True)


@pytest.mark.parametrize("name", ["before", "after"])
@pytest.mark.parametrize("value", ["yesterday", "2026-13-45", "12:00", "2026-03-01T25:00:00Z"])
def test_unparseable_cursor_is_400(pair, name, value):
    api, _, _, match_id = pair
    assert api.get(f"/messages/{match_id}?{name}={value}") == (
        400,
        {"success": False, "error": f"Invalid {name} timestamp. Use ISO 8601 format."},
    )


def test_history_of_someone_elses_match_is_403(client):
    carol, dave, eve = make_user(), make_user(), make_user()
    match_id = make_match(carol, dave)
    make_message(match_id, carol, "private")
    forbidden = (403, {"success": False, "error": "Forbidden: You are not part of this match"})
    assert Api(client, eve).get(f"/messages/{match_id}") == forbidden
    assert Api(client, eve).get("/messages/match_does-not-exist") == forbidden


def test_history_requires_a_token(pair):
    _, _, _, match_id = pair
    assert Api(pair[0].client).get(f"/messages/{match_id}") == (
        401,
        {"success": False, "error": "No authorization header provided"},
    )


# --- POST /messages ------------------------------------------------------------------------------


def test_rest_send_stores_and_answers_with_the_rest_shape(pair):
    api, alice, bob, match_id = pair
    probe = EventProbe(bob, alice)
    status, body = api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "  Hello Bob  "})
    assert status == 200
    msg = Message.objects.get()
    assert (msg.text, msg.sender_id, msg.match_id, msg.status, msg.temp_id) == (
        "Hello Bob",
        alice,
        match_id,
        "sent",
        None,
    )
    assert msg.id.startswith("msg_") and len(msg.id) == 40
    assert body == {
        "success": True,
        "message": {
            "id": msg.id,
            "matchId": match_id,
            "senderId": alice,
            "text": "Hello Bob",
            "timestamp": body["message"]["timestamp"],
        },
    }
    assert msg.created_at is not None
    assert (
        body["message"]["timestamp"]
        == msg.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{msg.created_at.microsecond // 1000:03d}Z"
    )
    # The recipient's sockets hear about it (the original REST send was silent); the sender's don't.
    assert probe.events(bob) == [
        (
            "new_message",
            {
                "id": msg.id,
                "matchId": match_id,
                "senderId": alice,
                "text": "Hello Bob",
                "status": "sent",
                "createdAt": body["message"]["timestamp"],
            },
        )
    ]
    assert probe.events(alice, wait=0.05) == []


def test_rest_send_to_an_offline_recipient_queues_a_push(pair, recording_push, monkeypatch):
    api, alice, bob, match_id = pair
    from chat import tasks
    from profiles.models import FcmToken

    FcmToken.objects.create(user_id=bob, token="tok-bob", device_type="ios")
    queued = []
    monkeypatch.setattr(tasks.push_new_message, "delay", lambda *a: queued.append(a))
    status, _ = api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "x" * 150})
    msg = Message.objects.get()
    assert (status, queued) == (200, [(bob, msg.id)])
    tasks.push_new_message(*queued[0])  # what the worker runs
    [(tokens, push)] = recording_push.sent
    assert tokens == ["tok-bob"]
    assert (push.title, push.body, push.android_channel_id) == (
        "New message from Alice",
        "x" * 97 + "...",
        "messages",
    )
    assert push.data == {
        "type": "message",
        "matchId": match_id,
        "senderId": alice,
        "senderName": "Alice",
        "click_action": "FLUTTER_NOTIFICATION_CLICK",
    }
    assert Message.objects.get().status == "sent"


def test_rest_send_to_an_online_recipient_marks_it_delivered(pair, monkeypatch):
    from chat import tasks

    api, alice, bob, match_id = pair
    connect_socket(bob)
    queued = []
    monkeypatch.setattr(tasks.push_new_message, "delay", lambda *a: queued.append(a))
    api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "hi"})
    msg = Message.objects.get()
    assert (msg.status, msg.delivered_at is not None, queued) == ("delivered", True, [])


def test_rest_send_with_a_known_temp_id_returns_the_original(pair):
    api, alice, _, match_id = pair
    first = api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "once", "tempId": "t-1"})
    again = api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "once", "tempId": "t-1"})
    assert first == again
    assert Message.objects.count() == 1


def test_rest_send_retried_with_the_same_idempotency_key_stores_once(pair):
    api, alice, _, match_id = pair
    body = {"matchId": match_id, "senderId": alice, "text": "once"}
    first = api.post("/messages", body, headers={"Idempotency-Key": "retry-1"})
    again = api.post("/messages", body, headers={"Idempotency-Key": "retry-1"})
    assert first == again
    assert first[0] == 200
    assert list(Message.objects.values_list("text", "temp_id")) == [("once", "retry-1")]
    # The header is the socket's tempId: a send with that tempId is the same message.
    assert api.post("/messages", {**body, "tempId": "retry-1"}) == first


@pytest.mark.parametrize(
    ("headers", "temp_id", "error"),
    [
        ({"Idempotency-Key": "a"}, "b", "Idempotency-Key and tempId differ"),
        ({"Idempotency-Key": " "}, None, "Invalid Idempotency-Key header"),
        ({"Idempotency-Key": "k" * 256}, None, "Invalid Idempotency-Key header"),
    ],
)
def test_rest_send_with_a_bad_idempotency_key_is_400_and_stores_nothing(pair, headers, temp_id, error):
    api, alice, _, match_id = pair
    body = {"matchId": match_id, "senderId": alice, "text": "hi", **({"tempId": temp_id} if temp_id else {})}
    assert api.post("/messages", body, headers=headers) == (400, {"success": False, "error": error})
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"matchId": "m", "senderId": "s"},
            [
                ("text", "Message text is required"),
                ("text", "Message text must be between 1 and 500 characters"),
            ],
        ),
        (
            {"matchId": "m", "senderId": "s", "text": "   "},
            [
                ("text", "Message text is required"),
                ("text", "Message text must be between 1 and 500 characters"),
            ],
        ),
        (
            {"matchId": "m", "senderId": "s", "text": "x" * 501},
            [("text", "Message text must be between 1 and 500 characters")],
        ),
        ({"matchId": "m", "senderId": "s", "text": 5}, [("text", "Message text must be a string")]),
        ({"text": "hi"}, [("matchId", "matchId is required"), ("senderId", "senderId is required")]),
        (
            {"text": "hi", "matchId": " ", "senderId": ["s"]},
            [("matchId", "matchId is required"), ("senderId", "senderId must be a string")],
        ),
        (
            {},
            [
                ("text", "Message text is required"),
                ("text", "Message text must be between 1 and 500 characters"),
                ("matchId", "matchId is required"),
                ("senderId", "senderId is required"),
            ],
        ),
    ],
)
def test_rest_send_validation(pair, body, errors):
    api = pair[0]
    assert api.post("/messages", body) == (
        400,
        {"success": False, "errors": [{"field": f, "message": m} for f, m in errors]},
    )
    assert Message.objects.count() == 0


def test_rest_send_allows_exactly_500_characters_after_trim(pair):
    api, alice, _, match_id = pair
    status, body = api.post(
        "/messages", {"matchId": match_id, "senderId": alice, "text": " " + "y" * 500 + " "}
    )
    assert (status, body["message"]["text"]) == (200, "y" * 500)


def test_rest_send_malformed_json_is_400(pair):
    api = pair[0]
    status, body = api.post("/messages", raw=b"{nope")
    assert (status, body) == (400, {"success": False, "error": "Malformed JSON in request body"})


def test_rest_send_as_someone_else_is_403(pair):
    api, _, bob, match_id = pair
    assert api.post("/messages", {"matchId": match_id, "senderId": bob, "text": "spoof"}) == (
        403,
        {"success": False, "error": "Forbidden: Cannot send messages as another user"},
    )
    assert Message.objects.count() == 0


def test_rest_send_outside_the_match_is_403(client):
    a, b, c = make_user(), make_user(), make_user()
    match_id = make_match(a, b)
    forbidden = (403, {"success": False, "error": "Forbidden: You are not part of this match"})
    assert Api(client, c).post("/messages", {"matchId": match_id, "senderId": c, "text": "hi"}) == forbidden
    assert (
        Api(client, c).post("/messages", {"matchId": "match_nope", "senderId": c, "text": "hi"}) == forbidden
    )
    assert Message.objects.count() == 0


@pytest.mark.parametrize("blocker", ["sender", "recipient"])
def test_rest_send_is_refused_across_a_block_either_way(pair, blocker):
    api, alice, bob, match_id = pair
    if blocker == "sender":
        Block.objects.create(user_id=alice, blocked_user_id=bob)
    else:
        Block.objects.create(user_id=bob, blocked_user_id=alice)
    assert api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "hi"}) == (
        403,
        {"success": False, "error": "Unable to send message - user blocked"},
    )
    assert Message.objects.count() == 0


def test_rest_send_profile_gate_lists_missing_fields(pair):
    api, alice, _, match_id = pair
    Profile.objects.filter(pk=alice).update(name="  ", age=None, bio="", photos=[])
    User.objects.filter(pk=alice).update(id_verified=False)
    assert api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "hi"}) == (
        403,
        {
            "success": False,
            "error": "Please complete your profile to start messaging: name, age, bio, at least one photo, ID verification",
            "code": "PROFILE_INCOMPLETE",
            "missingFields": ["name", "age", "bio", "photos", "id_verification"],
        },
    )
    assert Message.objects.count() == 0


def test_rest_send_profile_gate_without_a_profile(client):
    ghost, bob = make_user(profile=False), make_user()
    match_id = make_match(ghost, bob)
    assert Api(client, ghost).post("/messages", {"matchId": match_id, "senderId": ghost, "text": "hi"}) == (
        403,
        {
            "success": False,
            "error": "Profile not found. Please complete your profile setup.",
            "code": "PROFILE_INCOMPLETE",
            "missingFields": ["profile"],
        },
    )


def test_rest_send_only_id_verification_missing(client):
    unverified, bob = make_user(verified=False), make_user()
    match_id = make_match(unverified, bob)
    status, body = Api(client, unverified).post(
        "/messages", {"matchId": match_id, "senderId": unverified, "text": "hi"}
    )
    assert (status, body["error"], body["missingFields"]) == (
        403,
        "Please complete your profile to start messaging: ID verification",
        ["id_verification"],
    )


LIMIT_BODY = {
    "success": False,
    "error": "Daily message limit reached",
    "code": "MESSAGE_LIMIT_REACHED",
    "message": "You've used all 20 messages for today. Upgrade to premium for unlimited messaging!",
}


def test_rest_send_enforces_the_free_daily_cap(pair):
    """docs/contract.md, D23: the REST send no longer bypasses the paywall."""
    api, alice, bob, match_id = pair
    for i in range(20):
        make_message(match_id, alice, f"m{i}")
    make_message(match_id, bob, "the partner's messages do not count")
    make_message(match_id, alice, "yesterday's do not count", created_at=timezone.now() - timedelta(days=1))
    Message.objects.filter(text__startswith="yesterday").update(created_at=timezone.now() - timedelta(days=1))
    assert api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "21st"}) == (
        429,
        LIMIT_BODY,
    )
    assert Message.objects.filter(sender_id=alice).count() == 21


def test_rest_send_cap_counts_today_only(pair):
    api, alice, _, match_id = pair
    yesterday = timezone.now() - timedelta(days=1, hours=1)
    for i in range(20):
        make_message(match_id, alice, f"old{i}", created_at=yesterday)
    status, _ = api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "fresh day"})
    assert status == 200


@pytest.mark.parametrize("expires", [None, timedelta(days=3)])
def test_premium_users_have_no_cap(client, expires):
    rich, bob = make_user(), make_user()
    UserSubscription.objects.create(
        user_id=rich, is_active=True, expires_at=None if expires is None else timezone.now() + expires
    )
    match_id = make_match(rich, bob)
    for i in range(20):
        make_message(match_id, rich, f"m{i}")
    status, _ = Api(client, rich).post("/messages", {"matchId": match_id, "senderId": rich, "text": "21st"})
    assert status == 200


@pytest.mark.parametrize("kind", ["expired", "inactive"])
def test_lapsed_subscriptions_are_capped(client, kind):
    user, bob = make_user(), make_user()
    if kind == "expired":
        UserSubscription.objects.create(
            user_id=user, is_active=True, expires_at=timezone.now() - timedelta(minutes=1)
        )
    else:
        UserSubscription.objects.create(user_id=user, is_active=False, expires_at=None)
    match_id = make_match(user, bob)
    for i in range(20):
        make_message(match_id, user, f"m{i}")
    assert Api(client, user).post("/messages", {"matchId": match_id, "senderId": user, "text": "21st"}) == (
        429,
        LIMIT_BODY,
    )


def test_rest_send_rate_limit_is_30_per_minute_per_user(pair, settings):
    api, alice, _, match_id = pair
    UserSubscription.objects.create(user_id=alice, is_active=True)
    for i in range(30):
        status, _ = api.post("/messages", {"matchId": match_id, "senderId": alice, "text": f"m{i}"})
        assert status == 200
    status, body = api.post("/messages", {"matchId": match_id, "senderId": alice, "text": "31"})
    assert (status, body) == (429, {"success": False, "error": "Too many messages, please slow down"})
    assert Message.objects.count() == 30


# --- PUT /messages/:matchId/mark-read ------------------------------------------------------------


def test_mark_read_marks_the_partners_unread_messages(pair):
    api, alice, bob, match_id = pair
    probe = EventProbe(bob)
    mine = make_message(match_id, alice, "mine")
    b1 = make_message(match_id, bob, "b1", created_at=ts(1_000))
    b2 = make_message(match_id, bob, "b2", created_at=ts(2_000))
    already = make_message(match_id, bob, "read", status="read")
    Message.objects.filter(pk=already.pk).update(read_at=timezone.now())
    status, body = api.put(f"/messages/{match_id}/mark-read", {"userId": alice})
    assert (status, body) == (200, {"success": True, "count": 2, "messageIds": [b1.id, b2.id]})
    rows = {m.id: (m.status, m.read_at is not None) for m in Message.objects.all()}
    assert rows == {
        mine.id: ("sent", False),
        b1.id: ("read", True),
        b2.id: ("read", True),
        already.id: ("read", True),
    }
    assert set(ReadReceipt.objects.values_list("message_id", "user_id")) == {(b1.id, alice), (b2.id, alice)}
    [(event, data)] = probe.events(bob)
    assert event == "messages_read"
    assert data == {
        "matchId": match_id,
        "messageIds": [b1.id, b2.id],
        "readBy": alice,
        "readAt": data["readAt"],
    }
    # Nothing left: a second call changes nothing and tells nobody.
    assert api.put(f"/messages/{match_id}/mark-read", {"userId": alice}) == (
        200,
        {"success": True, "count": 0, "messageIds": []},
    )
    assert probe.events(bob) == []


def test_mark_read_with_message_ids_touches_only_those_of_this_match(pair):
    api, alice, bob, match_id = pair
    other_match = make_match(bob, make_user())
    b1, b2 = make_message(match_id, bob, "b1"), make_message(match_id, bob, "b2")
    elsewhere = make_message(other_match, bob, "elsewhere")
    body = {"userId": alice, "messageIds": [b2.id, elsewhere.id, 42, None]}
    assert api.put(f"/messages/{match_id}/mark-read", body) == (
        200,
        {"success": True, "count": 1, "messageIds": [b2.id]},
    )
    assert Message.objects.get(pk=b1.pk).status == "sent"
    assert Message.objects.get(pk=elsewhere.pk).status == "sent"


def test_mark_read_errors(pair, client):
    api, alice, bob, match_id = pair
    assert api.put(f"/messages/{match_id}/mark-read", {}) == (
        400,
        {"success": False, "error": "userId is required"},
    )
    assert api.put(f"/messages/{match_id}/mark-read") == (
        400,
        {"success": False, "error": "userId is required"},
    )
    assert api.put(f"/messages/{match_id}/mark-read", {"userId": bob}) == (
        403,
        {"success": False, "error": "Forbidden: Cannot mark messages as read for another user"},
    )
    stranger = make_user()
    make_message(match_id, bob, "hidden")
    forbidden = (403, {"success": False, "error": "Forbidden: You are not part of this match"})
    assert Api(client, stranger).put(f"/messages/{match_id}/mark-read", {"userId": stranger}) == forbidden
    assert Api(client, stranger).put("/messages/match_nope/mark-read", {"userId": stranger}) == forbidden
    assert Message.objects.get().status == "sent"
    assert ReadReceipt.objects.count() == 0


def test_cursor_with_an_offset_postgresql_refuses_is_read_in_utc(pair):
    # Found by the fuzz run: -19:57 is a valid ISO 8601 offset but beyond PostgreSQL's 15:59 (500).
    api, alice, _, match_id = pair
    a = make_message(match_id, alice, "a", created_at=ts(5_100))
    status, body = api.get(f"/messages/{match_id}?before=2026-03-01T00:00:00-19:57")
    assert (status, [m["id"] for m in body["messages"]]) == (200, [a.id])
    status, body = api.get(f"/messages/{match_id}?after=2026-03-01T00:00:00-19:57")
    assert (status, body["messages"]) == (200, [])
    assert api.get(f"/messages/{match_id}?before=0001-01-01T00:00:00%2B01:00") == (
        400,
        {"success": False, "error": "Invalid before timestamp. Use ISO 8601 format."},
    )
