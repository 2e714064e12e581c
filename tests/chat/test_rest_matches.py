"""REST matches: list, confirm a mutual like (contract D24), unmatch, unread counts (D18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chat.models import DateProposal, Message, ReadReceipt, TypingIndicator
from profiles.models import AfterHoursMatch, AfterHoursSession, Block, Match
from tests.chat.rest_support import Api, EventProbe, like, make_match, make_message, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


def wire(match_id: str) -> dict:
    m = Match.objects.get(pk=match_id)
    assert m.created_at is not None
    created = m.created_at.astimezone(UTC)
    return {
        "id": m.id,
        "userId1": m.user_1_id,
        "userId2": m.user_2_id,
        "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
    }


# --- GET /matches/:userId ------------------------------------------------------------------------


def test_list_returns_the_users_matches_either_side(client):
    me, a, b, c = make_user(), make_user(), make_user(), make_user()
    m1 = make_match(me, a, created_at=T0)
    m2 = make_match(b, me, created_at=T0 + timedelta(days=1))
    make_match(a, c)
    status, body = Api(client, me).get(f"/matches/{me}")
    assert status == 200
    assert body == {
        "success": True,
        "matches": [
            {"id": m2, "userId1": b, "userId2": me, "createdAt": "2026-02-02T09:30:00.000Z"},
            {"id": m1, "userId1": me, "userId2": a, "createdAt": "2026-02-01T09:30:00.000Z"},
        ],
    }


def test_list_of_another_user_is_403(client):
    me, other = make_user(), make_user()
    make_match(other, make_user())
    assert Api(client, me).get(f"/matches/{other}") == (
        403,
        {"success": False, "error": "Forbidden: Cannot access other users' matches"},
    )


def test_list_empty(client):
    me = make_user()
    assert Api(client, me).get(f"/api/v1/matches/{me}") == (200, {"success": True, "matches": []})


# --- POST /matches -------------------------------------------------------------------------------


def test_confirm_returns_the_existing_match_in_either_order(client):
    me, them = make_user(), make_user()
    match_id = make_match(them, me)
    for pair in ({"userId1": me, "userId2": them}, {"userId1": them, "userId2": me}):
        assert Api(client, me).post("/matches", pair) == (
            200,
            {"success": True, "match": wire(match_id), "alreadyExists": True},
        )
    assert Match.objects.count() == 1


def test_confirm_creates_the_match_of_a_mutual_like_and_pushes_both(client, push_queue):
    from profiles.models import FcmToken

    me, them = make_user(name="Sam"), make_user(name="Kim")
    FcmToken.objects.create(user_id=me, token="tok-me", device_type="android")
    FcmToken.objects.create(user_id=them, token="tok-them", device_type="ios")
    like(me, them)
    like(them, me)
    status, body = Api(client, me).post("/matches", {"userId1": f"  {me} ", "userId2": them})
    match = Match.objects.get()
    assert (status, body) == (200, {"success": True, "match": wire(match.id)})
    assert (match.user_1_id, match.user_2_id, match.source) == (me, them, "swipe")
    assert match.id.startswith("match_")
    sent = {tokens[0]: (m.title, m.body, m.data) for tokens, m in push_queue.sent}
    assert sent == {
        "tok-me": (
            "🎉 It's a match!",
            "You and Kim liked each other!",
            {
                "type": "match",
                "matchId": match.id,
                "matchedUserName": "Kim",
                "click_action": "FLUTTER_NOTIFICATION_CLICK",
            },
        ),
        "tok-them": (
            "🎉 It's a match!",
            "You and Sam liked each other!",
            {
                "type": "match",
                "matchId": match.id,
                "matchedUserName": "Sam",
                "click_action": "FLUTTER_NOTIFICATION_CLICK",
            },
        ),
    }


def test_confirm_without_both_profiles_creates_but_does_not_push(client, push_queue):
    from profiles.models import FcmToken

    me, them = make_user(), make_user(profile=False)
    FcmToken.objects.create(user_id=me, token="tok-me", device_type="android")
    like(me, them)
    like(them, me)
    status, body = Api(client, me).post("/matches", {"userId1": me, "userId2": them})
    assert (status, body["success"], Match.objects.count(), push_queue.sent) == (200, True, 1, [])


NO_MUTUAL = (403, {"success": False, "error": "Forbidden: A match requires a mutual like"})


@pytest.mark.parametrize(
    "likes", [[], [("me", "them")], [("them", "me")], [("me", "them", "pass"), ("them", "me")]]
)
def test_confirm_without_a_mutual_like_creates_nothing(client, likes):
    """docs/contract.md, D24: no match with an arbitrary user."""
    ids = {"me": make_user(), "them": make_user()}
    for entry in likes:
        like(ids[entry[0]], ids[entry[1]], *entry[2:])
    assert (
        Api(client, ids["me"]).post("/matches", {"userId1": ids["me"], "userId2": ids["them"]}) == NO_MUTUAL
    )
    assert Match.objects.count() == 0


@pytest.mark.parametrize("blocker", ["me", "them"])
def test_confirm_across_a_block_creates_nothing(client, blocker):
    me, them = make_user(), make_user()
    like(me, them)
    like(them, me)
    a, b = (me, them) if blocker == "me" else (them, me)
    Block.objects.create(user_id=a, blocked_user_id=b)
    assert Api(client, me).post("/matches", {"userId1": me, "userId2": them}) == NO_MUTUAL
    assert Match.objects.count() == 0


def test_confirm_must_involve_the_caller(client):
    me, a, b = make_user(), make_user(), make_user()
    like(a, b)
    like(b, a)
    assert Api(client, me).post("/matches", {"userId1": a, "userId2": b}) == (
        403,
        {"success": False, "error": "Forbidden: Can only create matches involving yourself"},
    )
    assert Match.objects.count() == 0


def test_confirm_with_an_unknown_user_is_404(client):
    me = make_user()
    assert Api(client, me).post("/matches", {"userId1": me, "userId2": "google_nobody"}) == (
        404,
        {"success": False, "error": "User not found"},
    )


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [("userId1", "userId1 is required"), ("userId2", "userId2 is required")]),
        ({"userId1": "a"}, [("userId2", "userId2 is required")]),
        ({"userId1": "a", "userId2": " a "}, [("userId2", "Users cannot match with themselves")]),
        ({"userId1": 1, "userId2": "b"}, [("userId1", "userId1 must be a string")]),
    ],
)
def test_confirm_validation(client, body, errors):
    me = make_user()
    assert Api(client, me).post("/matches", body) == (
        400,
        {"success": False, "errors": [{"field": f, "message": m} for f, m in errors]},
    )


def test_confirm_rate_limit_is_15_per_15_minutes_per_user(client):
    me, them = make_user(), make_user()
    make_match(me, them)
    api = Api(client, me)
    for _ in range(15):
        assert api.post("/matches", {"userId1": me, "userId2": them})[0] == 200
    assert api.post("/matches", {"userId1": me, "userId2": them}) == (
        429,
        {"success": False, "error": "Too many match attempts, please try again later"},
    )
    # Per user: someone else behind the same address still gets through.
    assert Api(client, them).post("/matches", {"userId1": me, "userId2": them})[0] == 200


# --- DELETE /matches/:matchId --------------------------------------------------------------------


def test_unmatch_deletes_the_match_and_everything_under_it(client):
    me, them = make_user(), make_user()
    match_id = make_match(me, them)
    msg = make_message(match_id, them, "bye")
    ReadReceipt.objects.create(message_id=msg.id, user_id=me)
    TypingIndicator.objects.create(match_id=match_id, user_id=me, is_typing=True)
    DateProposal.objects.create(
        match_id=match_id,
        proposer_id=me,
        place_name="Cafe",
        proposed_date="2026-05-01",
        proposed_time="19:00",
    )
    keep = make_match(me, make_user())
    make_message(keep, me, "stays")
    probe = EventProbe(me, them)
    assert Api(client, me).delete(f"/matches/{match_id}") == (
        200,
        {"success": True, "message": "Match deleted successfully"},
    )
    assert list(Match.objects.values_list("id", flat=True)) == [keep]
    assert list(Message.objects.values_list("text", flat=True)) == ["stays"]
    assert (ReadReceipt.objects.count(), TypingIndicator.objects.count(), DateProposal.objects.count()) == (
        0,
        0,
        0,
    )
    assert probe.events(them) == [("match_deleted", {"matchId": match_id})]
    assert probe.events(me, wait=0.05) == [("match_deleted", {"matchId": match_id})]


def test_unmatch_of_a_converted_after_hours_match(client):
    """docs/contract.md, D25: `converted_to_match_id` no longer blocks deleting the permanent match."""
    me, them = make_user(), make_user()
    match_id = make_match(me, them, source="after_hours")
    session = AfterHoursSession.objects.create(
        user_id=me, expires_at=timezone.now(), latitude=1, longitude=1, fuzzed_latitude=1, fuzzed_longitude=1
    )
    ah = AfterHoursMatch.objects.create(
        session=session,
        user_1_id=me,
        user_2_id=them,
        expires_at=timezone.now(),
        converted_to_match_id=match_id,
    )
    assert Api(client, them).delete(f"/matches/{match_id}") == (
        200,
        {"success": True, "message": "Match deleted successfully"},
    )
    assert Match.objects.count() == 0
    assert AfterHoursMatch.objects.get(pk=ah.pk).converted_to_match_id is None


def test_unmatch_someone_elses_or_a_missing_match_is_403(client):
    a, b, me = make_user(), make_user(), make_user()
    match_id = make_match(a, b)
    forbidden = (
        403,
        {"success": False, "error": "Forbidden: You are not part of this match or match not found"},
    )
    assert Api(client, me).delete(f"/matches/{match_id}") == forbidden
    assert Api(client, me).delete("/matches/match_missing") == forbidden
    assert Match.objects.count() == 1


def test_unmatch_rate_limit_is_5_per_hour(client):
    me = make_user()
    api = Api(client, me)
    for _ in range(5):
        assert api.delete("/matches/match_missing")[0] == 403
    assert api.delete("/matches/match_missing") == (
        429,
        {"success": False, "error": "Too many sensitive action attempts, please try again later"},
    )


def test_unmatch_budget_is_apart_from_the_profile_delete_budget(client):
    # The two originals counted DELETE /profile and DELETE /matches in separate stores.
    me = make_user()
    api = Api(client, me)
    for _ in range(5):
        assert api.delete(f"/profile/{me}-not-mine")[0] == 403
    assert api.delete(f"/profile/{me}-not-mine")[0] == 429
    assert api.delete("/matches/match_missing")[0] == 403


def test_wrong_method_on_matches_is_405(client):
    me = make_user()
    status, body = Api(client, me).put(f"/matches/{me}", {})
    assert (status, body) == (405, {"success": False, "error": "Method not allowed"})


# --- GET /matches/:userId/unread-counts ----------------------------------------------------------


def test_unread_counts_per_match(client):
    me, a, b, c = make_user(), make_user(), make_user(), make_user()
    m_a, m_b, m_c = make_match(me, a), make_match(b, me), make_match(me, c)
    for text in ("1", "2", "3"):
        make_message(m_a, a, text)
    read = make_message(m_a, a, "read")
    ReadReceipt.objects.create(message_id=read.id, user_id=me)
    make_message(m_a, me, "mine do not count")
    make_message(m_b, b, "one")
    make_message(m_c, me, "all mine")
    make_message(make_match(a, b), a, "not my match")
    assert Api(client, me).get(f"/matches/{me}/unread-counts") == (
        200,
        {"success": True, "unreadCounts": {m_a: 3, m_b: 1}},
    )


def test_unread_counts_follow_mark_read(client):
    me, a = make_user(), make_user()
    match_id = make_match(me, a)
    make_message(match_id, a, "hello")
    api = Api(client, me)
    assert api.get(f"/matches/{me}/unread-counts") == (200, {"success": True, "unreadCounts": {match_id: 1}})
    api.put(f"/messages/{match_id}/mark-read", {"userId": me})
    assert api.get(f"/matches/{me}/unread-counts") == (200, {"success": True, "unreadCounts": {}})


def test_unread_counts_of_another_user_is_403(client):
    me, other = make_user(), make_user()
    assert Api(client, me).get(f"/matches/{other}/unread-counts") == (
        403,
        {"success": False, "error": "Forbidden: Cannot access other users' unread counts"},
    )


def test_general_limiter_is_one_bucket_per_ip_across_routes(client):
    me = make_user()
    match_id = make_match(me, make_user())
    api = Api(client, me)
    for i in range(100):
        path = [f"/matches/{me}", f"/matches/{me}/unread-counts", f"/messages/{match_id}", f"/blocks/{me}"][
            i % 4
        ]
        assert api.get(path)[0] == 200
    message = "Too many requests from this IP, please try again after 15 minutes"
    assert api.get(f"/blocks/{me}") == (429, {"success": False, "error": message})
    # Another user on the same address shares the bucket; another address does not.
    other = Api(client, make_user())
    assert other.get(f"/matches/{other.user_id}") == (429, {"success": False, "error": message})
    status, _ = other.get(f"/matches/{other.user_id}", headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 200
