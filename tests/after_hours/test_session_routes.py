"""Session routes: start, end, extend, get (docs/contract.md, "After Hours sessions", D14-D15)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from profiles.after_hours.matching import haversine_km
from profiles.models import AfterHoursMatch, AfterHoursSession, DeviceFingerprint
from tests.after_hours.conftest import make_member, open_session, queued_tasks
from tests.support.race import race
from vlvt.http.api import iso
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db

START = {"duration": 30, "latitude": 40.7128, "longitude": -74.006}


def _close(a, b, seconds=2.0):
    return abs((a - b).total_seconds()) <= seconds


# --- start ------------------------------------------------------------------------------------------


def test_start_session(api, listener):
    make_member("alice")
    before = timezone.now()
    response = api("alice").post("/after-hours/session/start", START)

    assert response.status_code == 201
    session = AfterHoursSession.objects.get(user_id="alice")
    assert response.json() == {
        "success": True,
        "session": {
            "id": str(session.id),
            "startedAt": iso(session.started_at),
            "expiresAt": iso(session.expires_at),
            "durationMinutes": 30,
        },
    }
    assert session.ended_at is None
    assert session.expires_at is not None and session.started_at is not None
    assert session.expires_at - session.started_at == timedelta(minutes=30)
    assert _close(session.started_at, before)
    assert (float(session.latitude), float(session.longitude)) == (40.7128, -74.006)
    fuzzed = (float(session.fuzzed_latitude), float(session.fuzzed_longitude))
    assert fuzzed == (round(fuzzed[0], 3), round(fuzzed[1], 3))
    assert haversine_km(40.7128, -74.006, *fuzzed) <= 0.611
    # Expiry at the end, the warning 2 minutes before, matching 15 s after the start.
    tasks = {t.task: t for t in queued_tasks()}
    assert sorted(tasks) == [
        "after_hours.match_sessions",
        "after_hours.session_expire",
        "after_hours.session_warn",
    ]
    assert tasks["after_hours.session_expire"].args == [str(session.id)]
    assert _close(tasks["after_hours.session_expire"].eta, session.expires_at)
    assert tasks["after_hours.session_warn"].args == [str(session.id)]
    assert _close(tasks["after_hours.session_warn"].eta, session.expires_at - timedelta(minutes=2))
    assert tasks["after_hours.match_sessions"].args == [[str(session.id)]]
    assert _close(tasks["after_hours.match_sessions"].eta, before + timedelta(seconds=15))
    assert listener.drain() == []


def test_duration_is_echoed_as_sent(api):
    make_member("alice")
    response = api("alice").post(
        "/after-hours/session/start", {**START, "duration": "15", "latitude": "40.5"}
    )
    assert response.status_code == 201
    assert response.json()["session"]["durationMinutes"] == "15"
    session = AfterHoursSession.objects.get(user_id="alice")
    assert session.expires_at is not None and session.started_at is not None
    assert session.expires_at - session.started_at == timedelta(minutes=15)
    assert float(session.latitude) == 40.5


def test_start_validation_reports_every_rule(api):
    make_member("alice")
    response = api("alice").post("/after-hours/session/start", {})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": [
            {"field": "duration", "message": "Duration is required"},
            {"field": "duration", "message": "Duration must be 15, 30, or 60 minutes"},
            {"field": "latitude", "message": "Latitude is required"},
            {"field": "latitude", "message": "Invalid latitude: must be between -90 and 90"},
            {"field": "longitude", "message": "Longitude is required"},
            {"field": "longitude", "message": "Invalid longitude: must be between -180 and 180"},
        ],
    }
    response = api("alice").post(
        "/after-hours/session/start", {"duration": 45, "latitude": 91, "longitude": "east"}
    )
    assert response.json()["errors"] == [
        {"field": "duration", "message": "Duration must be 15, 30, or 60 minutes"},
        {"field": "latitude", "message": "Invalid latitude: must be between -90 and 90"},
        {"field": "longitude", "message": "Invalid longitude: must be between -180 and 180"},
    ]
    assert not AfterHoursSession.objects.exists()
    assert queued_tasks() == []


def test_start_needs_an_after_hours_profile(api):
    make_member("alice", ah_profile=False)
    response = api("alice").post("/after-hours/session/start", START)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "After Hours profile required before starting session",
        "code": "PROFILE_REQUIRED",
    }
    assert not AfterHoursSession.objects.exists()


def test_second_start_is_409(api):
    make_member("alice")
    existing = open_session("alice", 40.0, -74.0)
    response = api("alice").post("/after-hours/session/start", START)
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "Active session already exists",
        "code": "SESSION_ALREADY_ACTIVE",
    }
    assert list(AfterHoursSession.objects.values_list("id", flat=True)) == [existing.id]
    assert queued_tasks() == []


def test_start_closes_an_open_session_that_already_ran_out(api, listener):
    make_member("alice")
    stale = open_session("alice", 40.0, -74.0, expires_at=timezone.now() - timedelta(minutes=1))
    response = api("alice").post("/after-hours/session/start", START)
    assert response.status_code == 201
    stale.refresh_from_db()
    assert stale.ended_at == stale.expires_at
    assert [(e.type, e.target, e.payload) for e in listener.drain()] == [
        ("after_hours:session_expired", "alice", {"sessionId": str(stale.id), "reason": "timeout"})
    ]


def test_device_fingerprint_is_stored(api):
    make_member("alice")
    fingerprint = {"deviceId": "dev-1", "deviceModel": "", "platform": "ios" * 10}
    api("alice").post("/after-hours/session/start", {**START, "deviceFingerprint": fingerprint})
    session = AfterHoursSession.objects.get(user_id="alice")
    row = DeviceFingerprint.objects.get()
    assert (row.user_id, row.session_id, row.device_id, row.device_model, row.platform) == (
        "alice",
        session.id,
        "dev-1",
        None,
        ("ios" * 10)[:20],
    )


@pytest.mark.parametrize("fingerprint", [None, {}, "dev", [1]])
def test_no_or_bad_fingerprint_stores_nothing(api, fingerprint):
    make_member("alice")
    assert (
        api("alice")
        .post("/after-hours/session/start", {**START, "deviceFingerprint": fingerprint})
        .status_code
        == 201
    )
    assert not DeviceFingerprint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_give_one_201_and_409s():
    live_threads = 8
    make_member("alice")

    def start(_: int) -> int:
        response = Client().post(
            "/after-hours/session/start",
            START,
            content_type="application/json",
            headers={"Authorization": f"Bearer {mint_token('alice')}"},
        )
        return response.status_code

    results = race(live_threads, start)
    assert sorted(results) == [201] + [409] * (live_threads - 1)
    assert AfterHoursSession.objects.filter(user_id="alice", ended_at__isnull=True).count() == 1


# --- end --------------------------------------------------------------------------------------------


def test_end_session(api, listener):
    make_member("alice")
    session = open_session("alice", 40.0, -74.0)
    response = api("alice").post("/after-hours/session/end")
    assert (response.status_code, response.json()) == (200, {"success": True, "message": "Session ended"})
    session.refresh_from_db()
    assert session.ended_at is not None
    assert listener.drain() == []  # nobody to tell without a match
    assert queued_tasks() == []


def test_end_without_session_is_404(api):
    make_member("alice")
    AfterHoursSession.objects.filter(pk=open_session("alice", 40.0, -74.0).pk).update(ended_at=timezone.now())
    response = api("alice").post("/after-hours/session/end")
    assert (response.status_code, response.json()) == (
        404,
        {"success": False, "error": "No active session found"},
    )


def test_ending_a_session_ends_its_match_and_tells_the_partner(api, listener):
    make_member("alice")
    make_member("bob")
    mine = open_session("alice", 40.0, -74.0)
    theirs = open_session("bob", 40.001, -74.0)
    match = AfterHoursMatch.objects.create(
        session=mine, user_1_id="alice", user_2_id="bob", expires_at=timezone.now() + timedelta(minutes=10)
    )
    response = api("alice").post("/after-hours/session/end")
    assert response.status_code == 200
    match.refresh_from_db()
    assert match.declined_by_id is None and match.expires_at <= timezone.now()
    assert [(e.type, e.target, e.payload) for e in listener.drain()] == [
        ("after_hours:match_expired", "bob", {"matchId": str(match.id), "reason": "session_ended"})
    ]
    [task] = queued_tasks()
    assert (task.task, task.args) == ("after_hours.match_sessions", [[str(theirs.id)]])
    assert _close(task.eta, timezone.now() + timedelta(seconds=5))


# --- extend -----------------------------------------------------------------------------------------


def test_extend_adds_to_the_current_expiry_and_moves_both_jobs(api):
    make_member("alice")
    session = open_session("alice", 40.0, -74.0, minutes=10)
    old_expiry = session.expires_at
    response = api("alice").post("/after-hours/session/extend", {"additionalMinutes": "15"})
    assert response.status_code == 200
    session.refresh_from_db()
    assert session.expires_at == old_expiry + timedelta(minutes=15)
    assert response.json() == {
        "success": True,
        "session": {"id": str(session.id), "expiresAt": iso(session.expires_at), "extendedByMinutes": "15"},
    }
    tasks = {t.task: t for t in queued_tasks()}
    assert sorted(tasks) == ["after_hours.session_expire", "after_hours.session_warn"]
    assert _close(tasks["after_hours.session_expire"].eta, session.expires_at)
    assert _close(tasks["after_hours.session_warn"].eta, session.expires_at - timedelta(minutes=2))


def test_extend_validation(api):
    make_member("alice")
    open_session("alice", 40.0, -74.0)
    response = api("alice").post("/after-hours/session/extend", {})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "additionalMinutes", "message": "Additional minutes required"},
        {"field": "additionalMinutes", "message": "Can extend by 15, 30, or 60 minutes"},
    ]
    response = api("alice").post("/after-hours/session/extend", {"additionalMinutes": 20})
    assert response.json()["errors"] == [
        {"field": "additionalMinutes", "message": "Can extend by 15, 30, or 60 minutes"}
    ]


def test_extend_without_a_live_session_is_404(api):
    make_member("alice")
    response = api("alice").post("/after-hours/session/extend", {"additionalMinutes": 30})
    assert (response.status_code, response.json()) == (
        404,
        {"success": False, "error": "No active session to extend"},
    )
    stale = open_session("alice", 40.0, -74.0, expires_at=timezone.now() - timedelta(seconds=1))
    assert api("alice").post("/after-hours/session/extend", {"additionalMinutes": 30}).status_code == 404
    stale.refresh_from_db()
    assert stale.expires_at < timezone.now()


# --- get --------------------------------------------------------------------------------------------


def test_get_session(api):
    make_member("alice")
    response = api("alice").get("/after-hours/session")
    assert response.json() == {"success": True, "active": False, "session": None}
    session = open_session("alice", 40.0, -74.0, minutes=10)
    body = api("alice").get("/after-hours/session").json()
    remaining = body["session"].pop("remainingSeconds")
    assert 595 <= remaining <= 600 and isinstance(remaining, int)
    assert body == {
        "success": True,
        "active": True,
        "session": {
            "id": str(session.id),
            "startedAt": iso(session.started_at),
            "expiresAt": iso(session.expires_at),
        },
    }


def test_get_expired_unclosed_session_is_inactive_with_the_session(api):
    make_member("alice")
    session = open_session("alice", 40.0, -74.0, expires_at=timezone.now() - timedelta(seconds=30))
    assert api("alice").get("/api/v1/after-hours/session").json() == {
        "success": True,
        "active": False,
        "session": {
            "id": str(session.id),
            "startedAt": iso(session.started_at),
            "expiresAt": iso(session.expires_at),
            "remainingSeconds": 0,
        },
    }
