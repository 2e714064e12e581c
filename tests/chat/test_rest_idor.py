"""IDOR: every chat route called by an outsider with another user's ids is refused, changes
nothing and leaks nothing."""

from __future__ import annotations

from datetime import date, time

import pytest

from chat.models import DateProposal, Message, ReadReceipt, Report, TypingIndicator
from profiles.models import Block, FcmToken, Match, TicketLedger
from tests.chat.rest_support import Api, make_match, make_message, make_proposal, make_user

pytestmark = pytest.mark.django_db

TABLES = (Match, Message, ReadReceipt, TypingIndicator, Block, Report, FcmToken, DateProposal, TicketLedger)


def snapshot() -> dict:
    return {model.__name__: sorted(map(repr, model.objects.values())) for model in TABLES}


@pytest.fixture
def world(client):
    v1, v2, attacker = make_user("google_victim1"), make_user("google_victim2"), make_user("google_attacker")
    match_id = make_match(v1, v2)
    make_message(match_id, v2, "secret words")
    FcmToken.objects.create(user_id=v1, token="victim-token", device_type="ios")
    Block.objects.create(user_id=v1, blocked_user_id=make_user("google_blocked"))
    nine = time(21, 0)
    proposal = make_proposal(
        match_id, v2, place_name="Secret Spot", proposed_date=date(2026, 8, 1), proposed_time=nine
    )
    accepted = make_proposal(
        match_id,
        v1,
        status="accepted",
        place_name="Other Spot",
        proposed_date=date(2026, 8, 2),
        proposed_time=nine,
    )
    ids = {"v1": v1, "v2": v2, "match": match_id, "pending": str(proposal.id), "accepted": str(accepted.id)}
    return Api(client, attacker), ids


NOT_IN_MATCH = {"success": False, "error": "Forbidden: You are not part of this match"}
CASES = [
    (
        "GET",
        "/matches/{v1}",
        None,
        403,
        {"success": False, "error": "Forbidden: Cannot access other users' matches"},
    ),
    (
        "POST",
        "/matches",
        {"userId1": "{v1}", "userId2": "{v2}"},
        403,
        {"success": False, "error": "Forbidden: Can only create matches involving yourself"},
    ),
    (
        "DELETE",
        "/matches/{match}",
        None,
        403,
        {"success": False, "error": "Forbidden: You are not part of this match or match not found"},
    ),
    (
        "GET",
        "/matches/{v1}/unread-counts",
        None,
        403,
        {"success": False, "error": "Forbidden: Cannot access other users' unread counts"},
    ),
    ("GET", "/messages/{match}", None, 403, NOT_IN_MATCH),
    ("GET", "/messages/{match}?limit=100&after=2000-01-01", None, 403, NOT_IN_MATCH),
    (
        "POST",
        "/messages",
        {"matchId": "{match}", "senderId": "{v1}", "text": "hi"},
        403,
        {"success": False, "error": "Forbidden: Cannot send messages as another user"},
    ),
    (
        "POST",
        "/messages",
        {"matchId": "{match}", "senderId": "google_attacker", "text": "hi"},
        403,
        NOT_IN_MATCH,
    ),
    (
        "PUT",
        "/messages/{match}/mark-read",
        {"userId": "{v1}"},
        403,
        {"success": False, "error": "Forbidden: Cannot mark messages as read for another user"},
    ),
    ("PUT", "/messages/{match}/mark-read", {"userId": "google_attacker"}, 403, NOT_IN_MATCH),
    (
        "POST",
        "/blocks",
        {"userId": "{v1}", "blockedUserId": "{v2}"},
        403,
        {"success": False, "error": "Forbidden: Can only block users as yourself"},
    ),
    (
        "DELETE",
        "/blocks/{v1}/google_blocked",
        None,
        403,
        {"success": False, "error": "Forbidden: Can only unblock users for yourself"},
    ),
    (
        "GET",
        "/blocks/{v1}",
        None,
        403,
        {"success": False, "error": "Forbidden: Cannot access other users' blocked list"},
    ),
    (
        "POST",
        "/reports",
        {"reporterId": "{v1}", "reportedUserId": "{v2}", "reason": "spam"},
        403,
        {"success": False, "error": "Forbidden: Can only submit reports as yourself"},
    ),
    (
        "GET",
        "/reports",
        None,
        403,
        {"success": False, "error": "Forbidden: Invalid or missing admin API key"},
    ),
    (
        "POST",
        "/dates",
        {"matchId": "{match}", "placeName": "X", "proposedDate": "2026-09-01", "proposedTime": "10:00"},
        403,
        {"success": False, "error": "Not authorized for this match"},
    ),
    ("GET", "/dates/{match}", None, 403, {"success": False, "error": "Not authorized for this match"}),
    (
        "PUT",
        "/dates/{pending}/respond",
        {"response": "accepted"},
        403,
        {"success": False, "error": "Not authorized for this proposal"},
    ),
    (
        "PUT",
        "/dates/{pending}/respond",
        {"response": "declined", "counterDate": "2099-01-01", "counterTime": "10:00"},
        403,
        {"success": False, "error": "Not authorized for this proposal"},
    ),
    (
        "PUT",
        "/dates/{accepted}/confirm",
        None,
        403,
        {"success": False, "error": "Not authorized for this proposal"},
    ),
    ("DELETE", "/dates/{pending}", None, 403, {"success": False, "error": "Only the proposer can cancel"}),
]


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "expected"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES]
)
def test_outsider_is_refused_and_nothing_changes(world, settings, method, path, body, status, expected):
    settings.ADMIN_API_KEY = "admin-key"
    api, ids = world
    before = snapshot()
    got = api.call(method, _fill(path, ids), _fill(body, ids))
    assert got == (status, expected)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "expected"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES]
)
def test_outsider_is_refused_under_api_v1_too(world, settings, method, path, body, status, expected):
    settings.ADMIN_API_KEY = "admin-key"
    api, ids = world
    assert api.call(method, "/api/v1" + _fill(path, ids), _fill(body, ids)) == (status, expected)


def test_push_token_routes_only_touch_the_callers_rows(world):
    api, ids = world
    assert api.post("/fcm/unregister", {"token": "victim-token"}) == (
        200,
        {"success": True, "message": "FCM token unregistered successfully"},
    )
    assert api.post("/fcm/register", {"token": "victim-token", "deviceType": "android"})[0] == 200
    assert sorted(FcmToken.objects.values_list("user_id", "token", "device_type", "is_active")) == [
        ("google_attacker", "victim-token", "android", True),
        (ids["v1"], "victim-token", "ios", True),
    ]


def test_a_partner_cannot_act_for_the_other_side(world, client):
    """Inside the match, ids of the partner still do not work where only `me` is allowed."""
    _, ids = world
    partner = Api(client, ids["v2"])
    assert partner.get(f"/matches/{ids['v1']}")[0] == 403
    assert (
        partner.post("/messages", {"matchId": ids["match"], "senderId": ids["v1"], "text": "spoof"})[0] == 403
    )
    assert partner.put(f"/messages/{ids['match']}/mark-read", {"userId": ids["v1"]})[0] == 403
    assert partner.delete(f"/dates/{ids['accepted']}") == (
        403,
        {"success": False, "error": "Only the proposer can cancel"},
    )
    assert partner.put(f"/dates/{ids['pending']}/respond", {"response": "accepted"}) == (
        400,
        {"success": False, "error": "Cannot respond to your own proposal"},
    )
    assert Message.objects.count() == 1
