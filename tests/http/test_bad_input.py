"""Input no route can use is a 400 that changes nothing, on every route of both apps, never a 500:
lone surrogates in any string, deep nesting, numbers beyond the double range (vlvt.http.strictjson)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.apps import apps

from profiles.models import Profile
from tests.after_hours.conftest import make_member
from tests.chat.rest_support import make_match
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db

ME, PARTNER = "bad_input_me", "bad_input_partner"
SURROGATE = "\ud800"  # json.dumps writes it as the escape "\ud800", as a client would
DEEP = json.loads("[" * 500 + "]" * 500)


def error(text: str) -> dict[str, Any]:
    return {"success": False, "error": text}


UNICODE = error("Invalid Unicode in request body (an unpaired surrogate)")
NESTED = error("Request body nested too deeply")
NUMBER = error("Number out of range in request body")


@pytest.fixture
def match_id() -> str:
    make_member(ME)
    make_member(PARTNER)
    return make_match(ME, PARTNER)


def counts() -> dict[str, int]:
    return {
        m._meta.db_table: m._default_manager.count()
        for app in ("profiles", "chat")
        for m in apps.get_app_config(app).get_models()
    }


def send(client, method: str, path: str, body: Any) -> tuple[int, Any]:
    response = getattr(client, method)(
        path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {mint_token(ME)}",
    )
    return response.status_code, response.json()


def string_fields(match_id: str, bad: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """One request per route and string field the routes write, with `bad` in that field."""
    return [
        ("post", "/messages", {"matchId": match_id, "senderId": ME, "text": bad}),
        ("put", f"/messages/{match_id}/mark-read", {"userId": ME, "messageIds": [bad]}),
        ("post", "/blocks", {"userId": ME, "blockedUserId": PARTNER, "reason": bad}),
        ("post", "/reports", {"reporterId": ME, "reportedUserId": PARTNER, "reason": "spam", "details": bad}),
        ("post", "/fcm/register", {"token": bad, "deviceType": "ios"}),
        ("post", "/fcm/unregister", {"token": bad}),
        (
            "post",
            "/dates",
            {"matchId": match_id, "placeName": bad, "proposedDate": "2030-01-01", "proposedTime": "19:00"},
        ),
        ("post", "/matches", {"userId1": ME, "userId2": bad}),
        ("put", f"/profile/{ME}", {"bio": bad}),
        ("post", "/profile", {"name": "Me", "age": 30, "bio": bad}),
        ("post", "/swipes", {"targetUserId": bad, "action": "like"}),
        ("post", "/after-hours/profile", {"description": bad}),
        ("post", "/after-hours/preferences", {"genderSeeking": bad}),
        ("post", "/after-hours/match/decline", {"matchId": bad}),
        ("post", f"/after-hours/matches/{match_id}/report", {"reason": "spam", "details": bad}),
    ]


def test_a_lone_surrogate_in_any_string_field_is_a_400_that_writes_nothing(client, match_id):
    before = counts()
    for key in (SURROGATE, "\udfff", "a\ud83d"):  # high, low, a high one cut from its pair
        for method, path, body in string_fields(match_id, key):
            assert (path, send(client, method, path, body)) == (path, (400, UNICODE))
    assert send(client, "post", "/blocks", {"userId": ME, SURROGATE: PARTNER}) == (400, UNICODE)  # keys too
    assert counts() == before


def test_a_surrogate_pair_is_text_and_stored(client, match_id):
    Profile.objects.filter(user_id=ME).update(bio="Hello there", photos=["photo.jpg"])
    status, body = send(
        client, "post", "/messages", {"matchId": match_id, "senderId": ME, "text": "\ud83d\ude00"}
    )
    assert (status, body["message"]["text"]) == (200, "😀")


def test_deep_nesting_is_a_400_that_writes_nothing(client, match_id):
    before = counts()
    for method, path, body in string_fields(match_id, DEEP):
        assert (path, send(client, method, path, body)) == (path, (400, NESTED))
    assert counts() == before


@pytest.mark.parametrize("number", ["9" * 400, "-" + "9" * 400, "1e400"])
def test_numbers_beyond_the_double_range_are_a_400(client, match_id, number):
    before = counts()
    cases = [
        ("put", f"/profile/{ME}/location", f'{{"latitude": {number}, "longitude": 0}}'),
        ("post", "/after-hours/session/start", f'{{"latitude": 0, "longitude": {number}}}'),
        ("post", "/profiles/search/count", f'{{"maxDistance": {number}}}'),
        ("post", "/after-hours/preferences", f'{{"maxDistanceKm": {number}}}'),
    ]
    for method, path, raw in cases:
        response = getattr(client, method)(
            path, data=raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {mint_token(ME)}"
        )
        assert (path, response.status_code, response.json()) == (path, 400, NUMBER)
    assert counts() == before
