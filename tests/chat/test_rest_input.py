"""Bad input never reaches the database as a 500 (docs/contract.md, D1): NUL characters, wrong shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chat import services
from chat.models import Message
from chat.services import ChatError
from profiles.models import Block, FcmToken
from tests.chat.rest_support import Api, make_match, make_message, make_user

pytestmark = pytest.mark.django_db

BAD = (400, {"success": False, "error": "Invalid characters in request"})


@pytest.fixture
def ctx(client):
    me, other = make_user(), make_user()
    return Api(client, me), me, make_match(me, other)


def test_nul_in_a_path_is_400(ctx):
    api, me, match_id = ctx
    assert api.get("/messages/abc%00def") == BAD
    assert api.get(f"/matches/{me}%00") == BAD
    assert api.delete("/dates/%00") == BAD
    assert api.put(f"/messages/{match_id}%00/mark-read", {"userId": me}) == BAD


def test_nul_in_a_query_is_400(ctx, settings):
    api, _, match_id = ctx
    settings.ADMIN_API_KEY = "k"
    assert api.get(f"/messages/{match_id}?before=2026-01-01T00:00:00%00") == BAD
    assert api.get("/reports?status=%00", headers={"X-Admin-API-Key": "k"}) == BAD


def test_nul_in_a_body_is_400_and_writes_nothing(ctx):
    api, me, match_id = ctx
    assert api.post("/messages", {"matchId": match_id, "senderId": me, "text": "a\u0000b"}) == BAD
    assert api.post("/blocks", {"userId": me, "blockedUserId": "x\u0000"}) == BAD
    assert api.post("/fcm/register", {"token": "a\u0000", "deviceType": "ios"}) == BAD
    assert (
        api.post(
            "/dates",
            {
                "matchId": match_id,
                "placeName": "a\u0000",
                "proposedDate": "2026-01-01",
                "proposedTime": "10:00",
            },
        )
        == BAD
    )
    assert api.put(f"/messages/{match_id}/mark-read", {"userId": me, "messageIds": ["m\u0000"]}) == BAD
    assert (Message.objects.count(), Block.objects.count(), FcmToken.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"null"])
def test_a_body_that_is_not_an_object_is_400(ctx, raw):
    api, _, _ = ctx
    assert api.post("/blocks", raw=raw) == (
        400,
        {"success": False, "error": "Request body must be a JSON object"},
    )


def test_socket_payloads_with_nul_get_error_acks(ctx):
    _, me, match_id = ctx
    cases: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
        (
            services.message_send,
            {"sender_id": me, "match_id": match_id, "text": "a\x00"},
            "Invalid message data",
        ),
        (
            services.message_send,
            {"sender_id": me, "match_id": match_id, "text": "a", "temp_id": "t\x00"},
            "Invalid message data",
        ),
        (services.message_send, {"sender_id": me, "match_id": "m\x00", "text": "a"}, "Match not found"),
        (services.typing_set, {"user_id": me, "match_id": "m\x00", "is_typing": True}, "Match not found"),
        (services.messages_mark_read, {"user_id": me, "match_id": "\x00"}, "Match not found"),
    ]
    for fn, kwargs, error in cases:
        with pytest.raises(ChatError) as exc:
            fn(**kwargs)
        assert exc.value.ack() == {"success": False, "error": error}
    assert Message.objects.count() == 0


def test_nul_ids_in_lists_are_ignored(ctx):
    _, me, match_id = ctx
    other = [u for u in services.match_partner_ids(me)][0]
    msg = make_message(match_id, other, "x")
    result = services.messages_mark_read(user_id=me, match_id=match_id, message_ids=["bad\x00", msg.id])
    assert result.message_ids == [msg.id]
    assert services.online_statuses(viewer_id=me, user_ids=["\x00", other]) == [
        {"userId": other, "isOnline": False, "lastSeenAt": None}
    ]
