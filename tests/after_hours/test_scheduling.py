"""What the Celery tasks do when they run: re-read the database, act only if still due, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.after_hours import tasks
from profiles.after_hours.services.matches import matches_auto_decline
from profiles.after_hours.services.sessions import (
    session_expire_if_due,
    session_warn_if_due,
    sessions_daily_cleanup,
)
from profiles.models import AfterHoursDecline, AfterHoursMatch, AfterHoursSession, DeviceFingerprint
from tests.after_hours.conftest import make_match as _match
from tests.after_hours.conftest import make_member, open_session, queued_tasks
from vlvt.http.api import iso

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a callable with its after-commit work (events, delayed jobs) executed."""

    def _call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return _call


# --- expiry -----------------------------------------------------------------------------------------


def test_expiry_job_closes_a_due_session_once(committed, listener):
    make_member("alice")
    session = open_session("alice", 52.5, 13.4, expires_at=timezone.now() - timedelta(milliseconds=1))
    assert committed(session_expire_if_due, session_id=session.id) is None
    session.refresh_from_db()
    assert session.ended_at == session.expires_at
    assert [(e.type, e.target, e.payload) for e in listener.drain()] == [
        ("after_hours:session_expired", "alice", {"sessionId": str(session.id), "reason": "timeout"})
    ]
    assert committed(session_expire_if_due, session_id=session.id) is None
    assert listener.drain() == []


def test_expiry_job_of_an_extended_session_does_nothing(committed, listener):
    make_member("alice")
    session = open_session("alice", 52.5, 13.4, minutes=15)  # the job was queued for an earlier expiry
    assert committed(session_expire_if_due, session_id=session.id) is None
    session.refresh_from_db()
    assert session.ended_at is None
    assert listener.drain() == []


def test_expiry_job_that_wakes_up_early_asks_to_retry(committed):
    make_member("alice")
    session = open_session("alice", 52.5, 13.4, expires_at=timezone.now() + timedelta(seconds=2))
    retry = committed(session_expire_if_due, session_id=session.id)
    assert 0 < retry <= 2
    session.refresh_from_db()
    assert session.ended_at is None


def test_expiry_ends_the_match_and_tells_the_partner(committed, listener):
    make_member("alice")
    make_member("bob")
    mine = open_session("alice", 52.5, 13.4, expires_at=timezone.now() - timedelta(seconds=1))
    theirs = open_session("bob", 52.5, 13.41)
    match = _match(mine, "alice", "bob", created_ago=60)
    committed(session_expire_if_due, session_id=mine.id)
    match.refresh_from_db()
    assert match.expires_at <= timezone.now() and match.declined_by_id is None
    heard = [(e.type, e.target, e.payload) for e in listener.drain()]
    assert heard == [
        ("after_hours:session_expired", "alice", {"sessionId": str(mine.id), "reason": "timeout"}),
        ("after_hours:match_expired", "bob", {"matchId": str(match.id), "reason": "session_expired"}),
    ]
    [task] = queued_tasks()
    assert (task.task, task.args) == ("after_hours.match_sessions", [[str(theirs.id)]])


# --- warning ----------------------------------------------------------------------------------------


def test_warning_is_sent_once_when_due(committed, listener):
    make_member("alice")
    session = open_session("alice", 52.5, 13.4, minutes=1.5)
    committed(session_warn_if_due, session_id=session.id)
    committed(session_warn_if_due, session_id=session.id)  # a duplicate delivery
    assert [(e.type, e.target, e.payload) for e in listener.drain()] == [
        (
            "after_hours:session_expiring",
            "alice",
            {"sessionId": str(session.id), "expiresAt": iso(session.expires_at), "minutesRemaining": 2},
        )
    ]


def test_warning_moved_by_an_extension_is_not_sent_at_the_old_time(committed, listener):
    make_member("alice")
    session = open_session("alice", 52.5, 13.4, minutes=17)  # was 2 minutes from the end, then +15
    assert committed(session_warn_if_due, session_id=session.id) is None
    assert listener.drain() == []


def test_warning_for_an_ended_or_expired_session_is_dropped(committed, listener):
    make_member("alice")
    session = open_session("alice", 52.5, 13.4, expires_at=timezone.now() - timedelta(seconds=1))
    committed(session_warn_if_due, session_id=session.id)
    AfterHoursSession.objects.filter(pk=session.pk).update(ended_at=timezone.now())
    committed(session_warn_if_due, session_id=session.id)
    assert listener.drain() == []


# --- auto-decline -----------------------------------------------------------------------------------


def test_auto_decline_times_out_an_unanswered_match(committed, listener):
    make_member("alice")
    make_member("bob")
    mine = open_session("alice", 52.5, 13.4)
    theirs = open_session("bob", 52.5, 13.41)
    match = _match(mine, "alice", "bob", created_ago=300)
    assert committed(matches_auto_decline, match_ids=[match.id]) == [match.id]
    match.refresh_from_db()
    assert match.declined_by_id is None and match.declined_at is None  # no fake decliner
    assert match.expires_at <= timezone.now()
    assert not AfterHoursDecline.objects.exists()
    assert sorted(
        (e.type, e.target, e.payload["matchId"], e.payload["reason"]) for e in listener.drain()
    ) == [
        ("after_hours:match_expired", "alice", str(match.id), "timeout"),
        ("after_hours:match_expired", "bob", str(match.id), "timeout"),
    ]
    [task] = queued_tasks()
    assert task.task == "after_hours.match_sessions" and sorted(task.args[0]) == sorted(
        [str(mine.id), str(theirs.id)]
    )
    assert task.eta is not None
    assert abs((task.eta - timezone.now() - timedelta(seconds=5)).total_seconds()) < 2
    assert committed(matches_auto_decline, match_ids=[match.id]) == []  # idempotent


def test_auto_decline_leaves_answered_and_recent_matches(committed, listener):
    make_member("alice")
    make_member("bob")
    make_member("carol")
    mine = open_session("alice", 52.5, 13.4)
    declined = _match(mine, "alice", "bob", created_ago=400)
    AfterHoursMatch.objects.filter(pk=declined.pk).update(declined_by="alice", declined_at=timezone.now())
    recent = _match(mine, "alice", "carol", created_ago=100)
    assert committed(matches_auto_decline) == []
    assert listener.drain() == []
    recent.refresh_from_db()
    assert recent.expires_at > timezone.now()


# --- sweeps -----------------------------------------------------------------------------------------


def test_overdue_sweep_closes_what_lost_jobs_left_open(committed, listener):
    make_member("alice")
    make_member("bob")
    make_member("carol")
    overdue = open_session("alice", 52.5, 13.4, expires_at=timezone.now() - timedelta(minutes=3))
    bob = open_session("bob", 52.5, 13.41)
    carol = open_session("carol", 52.5, 13.42)
    stale = _match(bob, "bob", "carol", created_ago=900)
    committed(tasks.overdue_sweep)
    overdue.refresh_from_db()
    stale.refresh_from_db()
    assert overdue.ended_at == overdue.expires_at
    assert stale.expires_at <= timezone.now()
    heard = sorted((e.type, e.target) for e in listener.drain())
    assert heard == [
        ("after_hours:match_expired", "bob"),
        ("after_hours:match_expired", "carol"),
        ("after_hours:session_expired", "alice"),
    ]
    assert carol.ended_at is None


def test_daily_cleanup(committed, listener):
    make_member("alice")
    make_member("bob")
    forgotten = open_session("alice", 52.5, 13.4, expires_at=timezone.now() - timedelta(hours=5))
    live = open_session("bob", 52.5, 13.41)
    old = AfterHoursDecline.objects.create(user_id="alice", declined_user_id="bob", session=forgotten)
    AfterHoursDecline.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=7, minutes=1)
    )
    recent = AfterHoursDecline.objects.create(user_id="bob", declined_user_id="alice", session=live)
    DeviceFingerprint.objects.create(user_id="bob", session=live, device_id="d1")

    report = committed(sessions_daily_cleanup)

    # The foreign key (ON DELETE SET NULL) leaves no orphan fingerprint to delete, as in the original.
    assert (report.sessions_closed, report.declines_deleted, report.fingerprints_deleted) == (1, 1, 0)
    forgotten.refresh_from_db()
    assert forgotten.ended_at == forgotten.expires_at
    assert list(AfterHoursDecline.objects.values_list("id", flat=True)) == [recent.id]
    assert list(DeviceFingerprint.objects.values_list("device_id", flat=True)) == ["d1"]
    assert [e.type for e in listener.drain()] == ["after_hours:session_expired"]
