"""Match routes: decline, current match, nearby count (docs/contract.md, "After Hours matches", D16)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.models import AfterHoursDecline, AfterHoursMatch, AfterHoursProfile, AfterHoursSession
from tests.after_hours.conftest import make_match as _match
from tests.after_hours.conftest import make_member, open_session, queued_tasks
from vlvt.http.api import iso

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    make_member("alice", prefs={})
    make_member("bob", name="Bob", age=33, prefs={}, description="hello")
    mine = open_session("alice", 52.52, 13.405)
    theirs = open_session("bob", 52.53, 13.405)
    return mine, theirs, _match(mine, "alice", "bob")


# --- decline ----------------------------------------------------------------------------------------


def test_decline(api, pair, listener):
    mine, _, match = pair
    response = api("alice").post("/after-hours/match/decline", {"matchId": str(match.id).upper()})
    assert (response.status_code, response.json()) == (200, {"success": True, "message": "Match declined"})
    match.refresh_from_db()
    assert match.declined_by_id == "alice" and match.declined_at is not None
    decline = AfterHoursDecline.objects.get()
    assert (
        decline.user_id,
        decline.declined_user_id,
        decline.session_id,
        decline.decline_count,
        decline.last_session_id,
    ) == (
        "alice",
        "bob",
        mine.id,
        1,
        mine.id,
    )
    assert listener.drain() == []  # silent for the other user, as the original
    [task] = queued_tasks()
    assert (task.task, task.args) == ("after_hours.match_sessions", [[str(mine.id)]])
    assert task.eta is not None
    assert abs((task.eta - timezone.now() - timedelta(seconds=30)).total_seconds()) < 2


def test_decline_by_the_second_user(api, pair):
    _, theirs, match = pair
    assert api("bob").post("/after-hours/match/decline", {"matchId": str(match.id)}).status_code == 200
    decline = AfterHoursDecline.objects.get()
    assert (decline.user_id, decline.declined_user_id, decline.session_id) == ("bob", "alice", theirs.id)


def test_decline_count_cycles_back_to_one_after_three(api, pair):
    mine, _, match = pair
    AfterHoursDecline.objects.create(user_id="alice", declined_user_id="bob", session=mine, decline_count=2)
    api("alice").post("/after-hours/match/decline", {"matchId": str(match.id)})
    assert AfterHoursDecline.objects.get().decline_count == 3
    again = _match(mine, "bob", "alice")
    AfterHoursMatch.objects.filter(pk=again.pk).update(session=pair[1])
    api("alice").post("/after-hours/match/decline", {"matchId": str(again.id)})
    assert AfterHoursDecline.objects.get().decline_count == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "matchId is required"),
        ({"matchId": ""}, "matchId is required"),
        ({"matchId": None}, "matchId is required"),
        ({"matchId": "match_123"}, "matchId must be a valid UUID"),
        ({"matchId": 123}, "matchId must be a valid UUID"),
        ({"matchId": ["4b6c1f9e-5b43-4b1a-9d36-0a4f3c1d2e5f"]}, "matchId must be a valid UUID"),
    ],
)
def test_decline_validation_answers_the_original_single_error(api, pair, body, error):
    """The original validated this route by hand: one `error`, not express-validator's `errors`."""
    response = api("alice").post("/after-hours/match/decline", body)
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}
    assert not AfterHoursDecline.objects.exists()


def test_decline_without_an_open_session(api, pair):
    mine, _, match = pair
    AfterHoursSession.objects.filter(pk=mine.pk).update(ended_at=timezone.now())
    response = api("alice").post("/after-hours/match/decline", {"matchId": str(match.id)})
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "No active session", "code": "NO_ACTIVE_SESSION"}


def test_decline_unknown_foreign_or_declined_match_is_404(api, pair):
    _, _, match = pair
    make_member("carol")
    open_session("carol", 52.5, 13.4)
    not_found = {"success": False, "error": "Match not found or already declined"}
    for user, match_id in (("alice", str(uuid.uuid4())), ("carol", str(match.id))):
        response = api(user).post("/after-hours/match/decline", {"matchId": match_id})
        assert (response.status_code, response.json()) == (404, not_found)
    assert api("alice").post("/after-hours/match/decline", {"matchId": str(match.id)}).status_code == 200
    response = api("bob").post("/after-hours/match/decline", {"matchId": str(match.id)})
    assert (response.status_code, response.json()) == (404, not_found)
    assert AfterHoursDecline.objects.count() == 1


# --- current ----------------------------------------------------------------------------------------


def test_current_without_session(api):
    make_member("alice")
    assert api("alice").get("/after-hours/match/current").json() == {
        "success": True,
        "active": False,
        "status": "no_session",
        "match": None,
    }


def test_current_while_searching(api):
    make_member("alice")
    open_session("alice", 52.52, 13.405)
    assert api("alice").get("/after-hours/match/current").json() == {
        "success": True,
        "active": True,
        "status": "searching",
        "match": None,
    }


def test_current_match_describes_the_partner(api, pair):
    _, _, match = pair
    AfterHoursProfile.objects.filter(pk="bob").update(photo_url="after-hours-photos/bob/x.jpg")
    body = api("alice").get("/after-hours/match/current").json()
    photo = body["match"]["profile"].pop("photoUrl")
    assert photo.startswith("/uploads/after-hours-photos/bob/x.jpg?expires=")
    assert body == {
        "success": True,
        "active": True,
        "status": "matched",
        "match": {
            "id": str(match.id),
            "expiresAt": iso(match.expires_at),
            "autoDeclineAt": iso(match.created_at + timedelta(minutes=5)),
            "profile": {"name": "Bob", "age": 33, "description": "hello", "distanceKm": 1.1},
        },
    }
    # The other way round: alice seen by bob, same distance.
    assert api("bob").get("/after-hours/match/current").json()["match"]["profile"]["distanceKm"] == 1.1


def test_auto_decline_time_is_capped_by_the_expiry(api, pair):
    _, _, match = pair
    AfterHoursMatch.objects.filter(pk=match.pk).update(expires_at=match.created_at + timedelta(minutes=3))
    match.refresh_from_db()
    assert api("alice").get("/after-hours/match/current").json()["match"]["autoDeclineAt"] == iso(
        match.expires_at
    )


@pytest.mark.parametrize("change", ["declined", "expired", "partner_left"])
def test_inactive_matches_are_not_current(api, pair, change):
    _, theirs, match = pair
    if change == "declined":
        AfterHoursMatch.objects.filter(pk=match.pk).update(declined_by="bob", declined_at=timezone.now())
    elif change == "expired":
        AfterHoursMatch.objects.filter(pk=match.pk).update(expires_at=timezone.now())
    else:
        AfterHoursSession.objects.filter(pk=theirs.pk).update(ended_at=timezone.now())
    assert api("alice").get("/after-hours/match/current").json()["status"] == "searching"


# --- nearby count -----------------------------------------------------------------------------------


def test_nearby_count_counts_other_active_users_within_reach(api):
    make_member("alice", prefs={"max_distance_km": 5})
    open_session("alice", 52.52, 13.405)
    for name, lat, state in [
        ("near", 52.55, "open"),  # 3.3 km
        ("edge", 52.56, "open"),  # 4.4 km
        ("far", 52.60, "open"),  # 8.9 km
        ("ended", 52.52, "ended"),
        ("expired", 52.52, "expired"),
    ]:
        make_member(name)
        session = open_session(name, lat, 13.405)
        if state == "ended":
            AfterHoursSession.objects.filter(pk=session.pk).update(ended_at=timezone.now())
        if state == "expired":
            AfterHoursSession.objects.filter(pk=session.pk).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
    response = api("alice").get("/after-hours/nearby/count")
    assert (response.status_code, response.json()) == (200, {"success": True, "count": 2, "maxDistanceKm": 5})


def test_nearby_count_alone_is_zero(api):
    make_member("alice", prefs={})
    open_session("alice", 52.52, 13.405)
    assert api("alice").get("/after-hours/nearby/count").json() == {
        "success": True,
        "count": 0,
        "maxDistanceKm": 10,
    }


@pytest.mark.parametrize("missing", ["session", "preferences"])
def test_nearby_count_needs_a_session_and_preferences(api, missing):
    make_member("alice", prefs=None if missing == "preferences" else {})
    if missing == "preferences":
        open_session("alice", 52.52, 13.405)
    response = api("alice").get("/after-hours/nearby/count")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "No active session", "code": "NO_ACTIVE_SESSION"}


def test_polled_routes_issue_few_queries(api, pair, django_assert_num_queries):
    client = api("alice")
    with django_assert_num_queries(3):  # the gate, the caller's session, the match with its partner
        assert client.get("/after-hours/match/current").json()["status"] == "matched"
    with django_assert_num_queries(2):  # the gate, the session
        assert client.get("/after-hours/session").json()["active"] is True
