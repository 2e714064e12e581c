"""The daily After Hours chat cleanup (docs/contract.md, "Schedules"): unconverted matches expired
more than 30 days ago go with their messages, in short batches; converted ones, recent ones and
locked ones stay."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.db import connection, connections, transaction
from django.utils import timezone

from chat.after_hours.services import expired_matches_purge
from chat.after_hours.tasks import after_hours_messages_cleanup
from chat.models import AfterHoursMessage, Message
from profiles.models import AfterHoursMatch
from tests.chat.after_hours.conftest import ah_message, make_ah_match, make_user
from tests.chat.rest_support import make_match as make_permanent_match


def _seed(now):
    """Matches on both sides of the 30-day line; returns (doomed, kept) match ids."""
    alice, bob, carol = make_user(), make_user(), make_user()
    day = timedelta(days=1)
    doomed = [
        make_ah_match(alice, bob, expires_at=now - 31 * day),
        make_ah_match(bob, carol, expires_at=now - 30 * day - timedelta(minutes=1)),
        make_ah_match(carol, alice, expires_at=now - 90 * day, declined_by=carol),
        make_ah_match(alice, carol, expires_at=now - 400 * day),  # no messages at all
    ]
    permanent = make_permanent_match(alice, bob)
    kept = [
        make_ah_match(alice, bob, expires_at=now - 30 * day + timedelta(minutes=1)),
        make_ah_match(bob, carol, expires_at=now - 29 * day, declined_by=bob),
        make_ah_match(alice, bob, expires_at=now - 200 * day, votes=(True, True), converted_to=permanent),
        make_ah_match(carol, bob, expires_at=now + timedelta(minutes=5)),
    ]
    for match in doomed[:3] + kept:
        row = AfterHoursMatch.objects.get(pk=match)
        for i in range(3):
            ah_message(match, row.user_1_id if i % 2 else row.user_2_id, f"line {i}")
    Message.objects.create(match_id=permanent, sender_id=alice, text="kept in the permanent chat")
    return doomed, kept


def _remaining() -> tuple[set[str], dict[str, int]]:
    matches = {str(pk) for pk in AfterHoursMatch.objects.values_list("id", flat=True)}
    per_match: dict[str, int] = {}
    for match_id in AfterHoursMessage.objects.values_list("match_id", flat=True):
        per_match[str(match_id)] = per_match.get(str(match_id), 0) + 1
    return matches, per_match


@pytest.mark.django_db
def test_unconverted_matches_past_thirty_days_go_with_their_messages():
    now = timezone.now()
    doomed, kept = _seed(now)

    stats = expired_matches_purge(now=now)

    matches, messages = _remaining()
    assert matches == set(kept)
    assert messages == {match: 3 for match in kept}
    assert (stats.matches, stats.messages, len(stats.batch_ms)) == (4, 9, 1)
    assert Message.objects.count() == 1
    assert expired_matches_purge(now=now).matches == 0  # a re-run finds nothing


@pytest.mark.django_db
def test_work_is_split_into_bounded_batches():
    now = timezone.now()
    doomed, kept = _seed(now)
    batches = []

    stats = expired_matches_purge(
        now=now, max_matches=2, message_budget=3, on_batch=lambda m, n, ms: batches.append((m, n))
    )

    # each batch holds at most 3 messages (or one match with more), in expiry order
    assert batches == [(2, 3), (1, 3), (1, 3)]
    assert (stats.matches, stats.messages) == (4, 9)
    assert _remaining()[0] == set(kept)


@pytest.mark.django_db(transaction=True)
def test_a_match_locked_by_a_save_in_progress_is_left_for_the_next_run():
    now = timezone.now()
    doomed, kept = _seed(now)
    result = {}

    def purge() -> None:
        try:
            result["stats"] = expired_matches_purge(now=now)
        finally:
            connections.close_all()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM after_hours_matches WHERE id = %s FOR UPDATE", [doomed[0]])
        worker = threading.Thread(target=purge)
        worker.start()
        worker.join(20)
        assert not worker.is_alive()  # skipped the lock instead of waiting on it
    assert _remaining()[0] == set(kept) | {doomed[0]}
    assert result["stats"].matches == 3
    assert expired_matches_purge(now=now).matches == 1


@pytest.mark.django_db
def test_the_celery_task_runs_the_purge_and_is_scheduled_daily_at_three_utc(settings):
    from vlvt.celery import app

    doomed, kept = _seed(timezone.now())
    after_hours_messages_cleanup.apply()
    assert _remaining()[0] == set(kept)

    entry = app.conf.beat_schedule["after-hours-chat-cleanup"]
    assert entry["task"] == after_hours_messages_cleanup.name == "chat.after_hours_messages_cleanup"
    assert entry["schedule"] == crontab(hour=3, minute=0)
    assert settings.CELERY_TIMEZONE == "UTC"
