"""Races, with real threads on committed data: the daily cap, tempId idempotency, date confirmation."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from django.test import Client

from chat.models import DateProposal, Message
from chat.services import ChatError, date_proposal_confirm, message_send
from profiles.models import Block, TicketLedger, UserSubscription
from tests.chat.rest_support import Api, make_match, make_proposal, make_user
from tests.support.race import race

pytestmark = pytest.mark.django_db(transaction=True)

JULY_FIRST_AT_EIGHT = {"proposed_date": date(2026, 7, 1), "proposed_time": time(20, 0)}


def test_25_parallel_sends_by_a_free_user_store_exactly_20():
    sender, other = make_user(), make_user()
    match_id = make_match(sender, other)
    results = race(25, lambda i: message_send(sender_id=sender, match_id=match_id, text=f"msg {i}"))
    sent = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, ChatError)]
    assert (len(sent), len(refused)) == (20, 5)
    assert all(
        r.ack()
        == {
            "success": False,
            "error": "Daily message limit reached",
            "code": "MESSAGE_LIMIT_REACHED",
            "message": "You've used all 20 messages for today. Upgrade to premium for unlimited messaging!",
        }
        for r in refused
    )
    assert Message.objects.filter(sender_id=sender).count() == 20
    assert sorted(r.message["id"] for r in sent) == sorted(Message.objects.values_list("id", flat=True))


def test_25_parallel_rest_sends_by_a_free_user_store_exactly_20():
    sender, other = make_user(), make_user()
    match_id = make_match(sender, other)
    results = race(
        25,
        lambda i: Api(Client(), sender).post(
            "/messages", {"matchId": match_id, "senderId": sender, "text": f"m{i}"}
        ),
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 20 + [429] * 5
    assert Message.objects.count() == 20


def test_the_cap_is_per_sender():
    a, b = make_user(), make_user()
    match_id = make_match(a, b)
    results = race(30, lambda i: message_send(sender_id=(a, b)[i % 2], match_id=match_id, text="hi"))
    assert sum(not isinstance(r, Exception) for r in results) == 30
    assert (Message.objects.filter(sender_id=a).count(), Message.objects.filter(sender_id=b).count()) == (
        15,
        15,
    )


@pytest.mark.parametrize("premium", [False, True])
def test_parallel_resends_of_one_temp_id_store_one_message(premium):
    """Free users serialise on the cap lock; premium ones race to the unique index. Both hold."""
    sender, other = make_user(), make_user()
    if premium:
        UserSubscription.objects.create(user_id=sender, is_active=True)
    match_id = make_match(sender, other)
    results = race(
        10, lambda i: message_send(sender_id=sender, match_id=match_id, text="only once", temp_id="tmp-42")
    )
    assert not [r for r in results if isinstance(r, Exception)]
    stored = Message.objects.get()
    assert stored.temp_id == "tmp-42"
    assert {r.message["id"] for r in results} == {stored.id}
    assert sum(r.created for r in results) == 1
    assert all(r.message["tempId"] == "tmp-42" for r in results)


def test_a_resend_after_the_cap_is_reached_still_returns_the_original():
    sender, other = make_user(), make_user()
    match_id = make_match(sender, other)
    first = message_send(sender_id=sender, match_id=match_id, text="kept", temp_id="t-1")
    for i in range(19):
        message_send(sender_id=sender, match_id=match_id, text=f"fill {i}")
    again = message_send(sender_id=sender, match_id=match_id, text="kept", temp_id="t-1")
    assert (again.created, again.message) == (False, first.message)
    assert Message.objects.count() == 20


def test_concurrent_confirmations_complete_the_date_exactly_once():
    """docs/contract.md, D27: the original could leave both flags set and the date never completed."""
    rounds = 8
    proposer, recipient = make_user(), make_user()
    match_id = make_match(proposer, recipient)
    ids = [
        make_proposal(match_id, proposer, status="accepted", place_name=f"P{i}", **JULY_FIRST_AT_EIGHT).id
        for i in range(rounds)
    ]
    for proposal_id in ids:

        def confirm(i: int, pid: str = str(proposal_id)) -> dict[str, Any]:
            return date_proposal_confirm(user_id=(proposer, recipient)[i], proposal_id=pid)

        results = race(2, confirm)
        assert not [r for r in results if isinstance(r, Exception)]
        assert sorted(r["completed"] for r in results) == [False, True]
    for row in DateProposal.objects.all():
        assert (
            row.status,
            row.proposer_confirmed,
            row.recipient_confirmed,
            row.completed_at is not None,
        ) == (
            "completed",
            True,
            True,
            True,
        )
    tickets = list(TicketLedger.objects.values_list("user_id", "reference_id"))
    assert sorted(tickets) == sorted((u, str(p)) for p in ids for u in (proposer, recipient))


def test_the_same_user_confirming_twice_at_once_is_recorded_once():
    proposer, recipient = make_user(), make_user()
    match_id = make_match(proposer, recipient)
    p = make_proposal(match_id, proposer, status="accepted", place_name="P", **JULY_FIRST_AT_EIGHT)
    results = race(4, lambda i: date_proposal_confirm(user_id=proposer, proposal_id=str(p.id)))
    ok = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, ChatError)]
    assert (len(ok), [r.error for r in refused]) == (1, ["You have already confirmed this date"] * 3)
    assert TicketLedger.objects.count() == 0


def test_concurrent_proposals_leave_one_pending():
    a, b = make_user(), make_user()
    match_id = make_match(a, b)
    body = {"matchId": match_id, "placeName": "Bar", "proposedDate": "2026-07-01", "proposedTime": "20:00"}
    results = race(6, lambda i: Api(Client(), (a, b)[i % 2]).post("/dates", body))
    assert sorted(status for status, _ in results) == [200] + [400] * 5
    assert DateProposal.objects.filter(status="pending").count() == 1


def test_concurrent_identical_blocks_store_one_block():
    a, b = make_user(), make_user()
    make_match(a, b)
    results = race(5, lambda i: Api(Client(), a).post("/blocks", {"userId": a, "blockedUserId": b}))
    messages = sorted(body["message"] for status, body in results if status == 200)
    assert len(messages) == 5
    assert messages.count("User blocked successfully") == 1
    assert Block.objects.count() == 1


def test_concurrent_confirmations_of_one_mutual_like_create_one_match():
    from profiles.models import Match
    from tests.chat.rest_support import like

    a, b = make_user(), make_user()
    like(a, b)
    like(b, a)
    results = race(
        6,
        lambda i: Api(Client(), (a, b)[i % 2]).post(
            "/matches", {"userId1": (a, b)[i % 2], "userId2": (b, a)[i % 2]}
        ),
    )
    assert [status for status, _ in results] == [200] * 6
    match = Match.objects.get()
    assert {body["match"]["id"] for _, body in results} == {match.id}
    assert sorted(body.get("alreadyExists", False) for _, body in results) == [False] + [True] * 5
