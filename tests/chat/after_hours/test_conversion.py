"""Save votes under concurrency (real transactions on several connections, contract D25): a match
converts exactly once, messages keep their order and original timestamps, a pair keeps one match,
and a send never slips in after a decline."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from chat.after_hours import services
from chat.errors import ChatError
from chat.models import AfterHoursMessage, Message
from profiles.models import AfterHoursMatch, Match
from tests.chat.after_hours.conftest import ah_message, make_ah_match, make_user
from tests.chat.rest_support import EventProbe
from tests.chat.rest_support import make_match as make_permanent_match
from tests.support.race import at_once

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def vote(user_id: str, match_id: str) -> Callable[[], services.SaveResult]:
    return lambda: services.save_vote(user_id=user_id, match_id=match_id)


def test_both_votes_at_the_same_moment_convert_exactly_once(push_queue):
    for _ in range(8):
        alice, bob = make_user("Alice", token=True), make_user("Bob", token=True)
        match = make_ah_match(alice, bob)
        texts = [
            ah_message(match, alice if i % 2 else bob, f"line {i}", created_at=T0 + timedelta(seconds=i))
            for i in range(5)
        ]
        probe = EventProbe(alice, bob)
        push_queue.sent.clear()

        results = at_once(vote(alice, match), vote(bob, match))

        permanent = Match.objects.get(user_1_id=alice, user_2_id=bob)
        assert sorted((r.mutual_save, r.permanent_match_id, r.fresh) for r in results) == [
            (False, None, True),
            (True, permanent.id, True),
        ]
        row = AfterHoursMatch.objects.get(pk=match)
        assert (row.user1_save_vote, row.user2_save_vote, row.converted_to_match_id) == (
            True,
            True,
            permanent.id,
        )
        copied = Message.objects.filter(match_id=permanent.id).order_by("created_at", "id")
        assert [(m.sender_id, m.text, m.created_at) for m in copied] == [
            (t.sender_id, t.text, t.created_at) for t in texts
        ]
        first_voter = alice if results[0].fresh and not results[0].mutual_save else bob
        other = bob if first_voter == alice else alice
        # (each commit publishes on its own thread, so the two may arrive in either order)
        assert sorted(e for e, _ in probe.events(other)) == [
            "after_hours:match_saved",
            "after_hours:partner_saved",
        ]
        assert [e for e, _ in probe.events(first_voter)] == ["after_hours:match_saved"]
        assert sorted(m.data["type"] for _, m in push_queue.sent) == [
            "after_hours_match_saved",
            "after_hours_match_saved",
            "after_hours_partner_saved",
        ]


def test_the_same_vote_twice_at_once_counts_once(push_queue):
    alice, bob = make_user(token=True), make_user(token=True)
    match = make_ah_match(alice, bob)
    results = at_once(vote(alice, match), vote(alice, match), vote(alice, match))
    assert sorted(r.fresh for r in results) == [False, False, True]
    assert all((r.mutual_save, r.permanent_match_id) == (False, None) for r in results)
    assert [m.data["type"] for _, m in push_queue.sent] == ["after_hours_partner_saved"]


def test_a_pair_with_a_match_in_reverse_order_keeps_one_match():
    alice, bob = make_user(), make_user()
    existing = make_permanent_match(bob, alice)
    match = make_ah_match(alice, bob, votes=(True, False))
    ah_message(match, alice, "we meet again", created_at=T0)

    result = services.save_vote(user_id=bob, match_id=match)

    assert (result.mutual_save, result.permanent_match_id) == (True, existing)
    assert list(Match.objects.values_list("id", "user_1_id", "user_2_id")) == [(existing, bob, alice)]
    assert list(Message.objects.values_list("match_id", "text", "created_at")) == [
        (existing, "we meet again", T0)
    ]


def test_two_after_hours_matches_of_a_pair_converting_at_once_share_one_permanent_match():
    alice, bob = make_user(), make_user()
    first = make_ah_match(alice, bob, votes=(True, False))
    second = make_ah_match(bob, alice, votes=(True, False))
    ah_message(first, alice, "first night", created_at=T0)
    ah_message(second, bob, "second night", created_at=T0 + timedelta(days=1))

    results = at_once(vote(bob, first), vote(alice, second))

    [permanent] = Match.objects.all()
    assert [(r.mutual_save, r.permanent_match_id) for r in results] == [
        (True, permanent.id),
        (True, permanent.id),
    ]
    assert set(AfterHoursMatch.objects.values_list("converted_to_match_id", flat=True)) == {permanent.id}
    texts = (
        Message.objects.filter(match_id=permanent.id).order_by("created_at").values_list("text", flat=True)
    )
    assert list(texts) == ["first night", "second night"]


def test_a_send_waiting_on_a_block_in_progress_sees_the_decline():
    """The send share-locks the match row: while a block (or report, or decline) holds it, the send
    waits, and once the decline commits it answers MATCH_EXPIRED instead of storing the message."""
    alice, bob = make_user(), make_user()
    match = make_ah_match(alice, bob)
    outcome: dict[str, Any] = {}
    started = threading.Event()

    def send() -> None:
        started.set()
        try:
            outcome["result"] = services.message_send(sender_id=bob, match_id=match, text="wait for me")
        except ChatError as exc:
            outcome["result"] = exc.ack()
        finally:
            connections.close_all()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM after_hours_matches WHERE id = %s FOR UPDATE", [match])
        sender = threading.Thread(target=send)
        sender.start()
        started.wait(5)
        sender.join(0.5)
        assert sender.is_alive()  # blocked behind the lock
        AfterHoursMatch.objects.filter(pk=match).update(declined_by_id=alice, declined_at=timezone.now())
    sender.join(10)

    assert outcome["result"] == {"success": False, "error": "Match has expired", "code": "MATCH_EXPIRED"}
    assert AfterHoursMessage.objects.count() == 0
