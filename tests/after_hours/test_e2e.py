"""End to end: HTTP requests here, a real `celery -A vlvt worker -B` (worker and beat) in a
subprocess, the real broker and a real subscriber on `after_hours:events`.

Timings are shortened through the AFTER_HOURS_* settings (environment of the worker and of this
process): a session "minute" lasts a second, so a 15-minute session runs out in 15 s, its warning
comes two seconds (two "minutes") before the end, and the broker's visibility timeout is a few
seconds, so delayed messages are redelivered while they wait (and must still act once).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.after_hours.matching import haversine_km, round1
from profiles.models import AfterHoursMatch, AfterHoursSession
from tests.after_hours.conftest import make_member
from tests.support.servers import beat_workers
from vlvt.http.api import iso

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

MINUTE = 1.0
FAST = {
    "AFTER_HOURS_MINUTE_SECONDS": str(MINUTE),
    "AFTER_HOURS_MATCH_DELAY_AFTER_START_SECONDS": "1",
    "AFTER_HOURS_MATCH_DELAY_AFTER_DECLINE_SECONDS": "1",
    "AFTER_HOURS_MATCH_DELAY_AFTER_AUTO_DECLINE_SECONDS": "1",
    "AFTER_HOURS_AUTO_DECLINE_SECONDS": "60",
    "AFTER_HOURS_MATCH_TTL_SECONDS": "120",
    "AFTER_HOURS_SWEEP_SECONDS": "3600",  # off unless a test turns it on
    "AFTER_HOURS_OVERDUE_SWEEP_SECONDS": "3600",
}


@pytest.fixture
def timings(settings):
    """This process (the HTTP side) uses the same timings as the worker."""
    for name, value in FAST.items():
        setattr(settings, name, float(value))
    return settings


@pytest.fixture
def workers(tmp_path, events_channel):
    def start(**overrides: str):
        env = {
            **FAST,
            "AFTER_HOURS_EVENTS_CHANNEL": events_channel,
            "CELERY_VISIBILITY_TIMEOUT": "3",
            "DB_APPLICATION_NAME": f"vlvt-ah-celery-{uuid.uuid4().hex[:8]}",
            **overrides,
        }
        return start_worker("--concurrency", "2", **env)

    with beat_workers(tmp_path) as start_worker:
        yield start


def members(*names: str) -> None:
    for name in names:
        make_member(name, prefs={"max_distance_km": 10}, description=f"{name} here")


def start_session(api, user: str, lat: float, lng: float, duration: int = 15) -> AfterHoursSession:
    response = api(user).post(
        "/after-hours/session/start", {"duration": duration, "latitude": lat, "longitude": lng}
    )
    assert response.status_code == 201, response.content
    return AfterHoursSession.objects.get(pk=response.json()["session"]["id"])


def of_type(heard, kind):
    return [h for h in heard if h.type == kind]


def _match_payload(match: AfterHoursMatch, other: str, distance: float) -> dict:
    assert match.created_at is not None and match.expires_at is not None
    auto_decline_at = min(
        match.created_at + timedelta(seconds=float(FAST["AFTER_HOURS_AUTO_DECLINE_SECONDS"])),
        match.expires_at,
    )
    profile = {
        "userId": other,
        "name": other.title(),
        "age": 30,
        "photoUrl": None,
        "description": f"{other} here",
        "distance": distance,
    }
    flat = {"id": str(match.id), "otherUserId": other, "name": other.title(), "age": 30, "photoUrl": None}
    return {
        "matchId": str(match.id),
        "expiresAt": iso(match.expires_at),
        "autoDeclineAt": iso(auto_decline_at),
        "profile": profile,
        **flat,
        "bio": f"{other} here",
        "distance": distance,
    }


def test_two_compatible_sessions_are_matched_and_both_hear_it(api, timings, workers, listener):
    members("alice", "bob")
    workers()
    mine = start_session(api, "alice", 52.52, 13.405, duration=60)
    theirs = start_session(api, "bob", 52.525, 13.405, duration=60)

    heard = listener.collect(lambda h: len(of_type(h, "after_hours:match")) >= 2, timeout=30)

    match = AfterHoursMatch.objects.get()
    distance = round1(
        haversine_km(
            float(mine.fuzzed_latitude),
            float(mine.fuzzed_longitude),
            float(theirs.fuzzed_latitude),
            float(theirs.fuzzed_longitude),
        )
    )
    matches = {h.target: h.payload for h in of_type(heard, "after_hours:match")}
    assert matches == {
        "alice": _match_payload(match, "bob", distance),
        "bob": _match_payload(match, "alice", distance),
    }
    # 60 "minutes" are 60 s here: the earlier session's end comes before the 120 s match limit.
    assert match.expires_at == min(mine.expires_at, theirs.expires_at)
    time.sleep(2)  # a duplicate delivery of the matching job must not match them again
    assert of_type(listener.drain(), "after_hours:match") == []
    assert AfterHoursMatch.objects.count() == 1


def test_the_beat_sweep_matches_waiting_sessions(api, timings, workers, listener):
    members("alice", "bob")
    timings.AFTER_HOURS_MATCH_DELAY_AFTER_START_SECONDS = 3600.0  # no event-driven matching
    workers(AFTER_HOURS_SWEEP_SECONDS="1", AFTER_HOURS_MATCH_DELAY_AFTER_START_SECONDS="3600")
    start_session(api, "alice", 52.52, 13.405, duration=60)
    start_session(api, "bob", 52.53, 13.405, duration=60)
    heard = listener.collect(lambda h: len(of_type(h, "after_hours:match")) >= 2, timeout=30)
    assert sorted(h.target for h in of_type(heard, "after_hours:match")) == ["alice", "bob"]


def test_a_short_session_is_warned_then_expires(api, timings, workers, listener):
    members("alice")
    workers()
    session = start_session(api, "alice", 52.52, 13.405)  # 15 "minutes" = 15 s

    heard = listener.collect(lambda h: of_type(h, "after_hours:session_expired"), timeout=30)
    time.sleep(1.5)  # redelivered copies of either job must stay silent
    heard += listener.drain()

    session.refresh_from_db()
    assert session.ended_at == session.expires_at
    assert [(h.type, h.target, h.payload) for h in heard if h.type.startswith("after_hours:session")] == [
        (
            "after_hours:session_expiring",
            "alice",
            {"sessionId": str(session.id), "expiresAt": iso(session.expires_at), "minutesRemaining": 2},
        ),
        ("after_hours:session_expired", "alice", {"sessionId": str(session.id), "reason": "timeout"}),
    ]


def test_an_extended_session_is_not_expired_at_the_old_time(api, timings, workers, listener):
    members("alice")
    workers()
    session = start_session(api, "alice", 52.52, 13.405)
    old_expiry = session.expires_at
    response = api("alice").post("/after-hours/session/extend", {"additionalMinutes": 15})
    assert response.status_code == 200

    # Past the old expiry (and its old warning time), with the old jobs long due:
    while timezone.now() < old_expiry + timedelta(seconds=2):
        time.sleep(0.1)
    early = [h for h in listener.drain() if h.type.startswith("after_hours:session")]
    session.refresh_from_db()
    assert session.ended_at is None
    assert session.expires_at == old_expiry + timedelta(seconds=15 * MINUTE)
    assert early == []

    heard = listener.collect(lambda h: of_type(h, "after_hours:session_expired"), timeout=30)
    session.refresh_from_db()
    assert session.ended_at == session.expires_at
    assert [(h.type, h.payload) for h in heard if h.type.startswith("after_hours:session")] == [
        (
            "after_hours:session_expiring",
            {"sessionId": str(session.id), "expiresAt": iso(session.expires_at), "minutesRemaining": 2},
        ),
        ("after_hours:session_expired", {"sessionId": str(session.id), "reason": "timeout"}),
    ]


def test_the_periodic_sweep_closes_a_session_whose_worker_died(api, timings, workers, listener):
    members("alice")
    first = workers()
    session = start_session(api, "alice", 52.52, 13.405)
    first.wait_for_log("Task after_hours.session_expire[", timeout=15)  # received, waiting for its ETA

    # The worker holding the delayed expiry dies before it is due; the message stays unacknowledged
    # in the broker and, with a production visibility timeout, is not redelivered for hours.
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    second = workers(CELERY_VISIBILITY_TIMEOUT=str(4 * 3600), AFTER_HOURS_OVERDUE_SWEEP_SECONDS="1")

    heard = listener.collect(lambda h: of_type(h, "after_hours:session_expired"), timeout=40)
    session.refresh_from_db()
    assert session.ended_at == session.expires_at
    assert [(h.type, h.payload) for h in of_type(heard, "after_hours:session_expired")] == [
        ("after_hours:session_expired", {"sessionId": str(session.id), "reason": "timeout"})
    ]
    log = second.log()
    assert "after_hours.overdue_sweep" in log
    assert "Task after_hours.session_expire[" not in log  # the lost job never came back
