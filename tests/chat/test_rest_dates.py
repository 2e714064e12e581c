"""REST date proposals: create, list, respond (counter-proposals validated first), confirm, cancel."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from chat.models import DateProposal
from profiles.models import TicketLedger
from tests.chat.rest_support import Api, make_match, make_proposal, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def couple(client):
    proposer, recipient = make_user(name="Pat"), make_user(name="Rae")
    match_id = make_match(proposer, recipient)
    return Api(client, proposer), Api(client, recipient), proposer, recipient, match_id


proposal = make_proposal


# --- POST /dates ---------------------------------------------------------------------------------


def test_create_returns_the_proposal_in_node_pg_shapes(couple):
    api, _, proposer, _, match_id = couple
    status, body = api.post(
        "/dates",
        {
            "matchId": match_id,
            "placeId": "gp_123",
            "placeName": "Cafe Luna",
            "placeAddress": "1 Main St",
            "placeLat": 40.7128,
            "placeLng": "-74.006",
            "proposedDate": "2026-06-01",
            "proposedTime": "19:30",
            "note": "Coffee?",
        },
    )
    row = DateProposal.objects.get()
    assert row.created_at is not None
    created = row.created_at.astimezone(UTC)
    assert (status, body) == (
        200,
        {
            "success": True,
            "proposal": {
                "id": str(row.id),
                "matchId": match_id,
                "proposerId": proposer,
                "placeId": "gp_123",
                "placeName": "Cafe Luna",
                "placeAddress": "1 Main St",
                "placeLat": "40.71280000",
                "placeLng": "-74.00600000",
                "proposedDate": "2026-06-01T00:00:00.000Z",
                "proposedTime": "19:30:00",
                "note": "Coffee?",
                "status": "pending",
                "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            },
        },
    )
    assert (row.proposed_date, row.proposed_time, row.status) == (date(2026, 6, 1), time(19, 30), "pending")


def test_create_minimal_leaves_optionals_null(couple):
    api, _, _, _, match_id = couple
    status, body = api.post(
        "/dates",
        {"matchId": match_id, "placeName": "Park", "proposedDate": "2026-06-02", "proposedTime": "10:00:00"},
    )
    p = body["proposal"]
    assert (
        status,
        p["placeId"],
        p["placeAddress"],
        p["placeLat"],
        p["placeLng"],
        p["note"],
        p["proposedTime"],
    ) == (
        200,
        None,
        None,
        None,
        None,
        None,
        "10:00:00",
    )


def test_create_refuses_a_second_pending_proposal(couple):
    api, other, _, _, match_id = couple
    body = {"matchId": match_id, "placeName": "Park", "proposedDate": "2026-06-02", "proposedTime": "10:00"}
    assert api.post("/dates", body)[0] == 200
    assert other.post("/dates", body) == (
        400,
        {"success": False, "error": "There is already a pending date proposal for this match"},
    )
    assert DateProposal.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"placeName": ""}, "matchId, placeName, proposedDate, and proposedTime are required"),
        ({"proposedDate": None}, "matchId, placeName, proposedDate, and proposedTime are required"),
        ({"proposedTime": ""}, "matchId, placeName, proposedDate, and proposedTime are required"),
        ({"proposedDate": "next friday"}, "Invalid date format. Use YYYY-MM-DD"),
        ({"proposedDate": "2026-02-30"}, "Invalid date format. Use YYYY-MM-DD"),
        ({"proposedTime": "7pm"}, "Invalid time format. Use HH:MM or HH:MM:SS"),
        ({"proposedTime": "25:00"}, "Invalid time format. Use HH:MM or HH:MM:SS"),
        ({"placeLat": 123}, "placeLat must be a number between -90 and 90"),
        ({"placeLng": "east"}, "placeLng must be a number between -180 and 180"),
        ({"placeName": "x" * 256}, "placeName must be at most 255 characters"),
        ({"note": {"a": 1}}, "note must be a string"),
    ],
)
def test_create_rejects_bad_input_without_writing(couple, extra, error):
    api, _, _, _, match_id = couple
    body = {
        "matchId": match_id,
        "placeName": "Park",
        "proposedDate": "2026-06-02",
        "proposedTime": "10:00",
        **extra,
    }
    assert api.post("/dates", body) == (400, {"success": False, "error": error})
    assert DateProposal.objects.count() == 0


def test_create_in_a_missing_or_foreign_match(client, couple):
    _, _, _, _, match_id = couple
    stranger = Api(client, make_user())
    body = {"placeName": "Park", "proposedDate": "2026-06-02", "proposedTime": "10:00"}
    assert stranger.post("/dates", {"matchId": match_id, **body}) == (
        403,
        {"success": False, "error": "Not authorized for this match"},
    )
    assert stranger.post("/dates", {"matchId": "match_x", **body}) == (
        404,
        {"success": False, "error": "Match not found"},
    )
    assert DateProposal.objects.count() == 0


# --- GET /dates/:matchId -------------------------------------------------------------------------


def test_list_newest_first_with_proposer_names(couple):
    api, _, proposer, recipient, match_id = couple
    old = proposal(match_id, proposer, status="declined", place_lat="51.5")
    new = proposal(match_id, recipient, note="Counter")
    DateProposal.objects.filter(pk=old.pk).update(
        created_at=datetime(2026, 5, 1, tzinfo=UTC), responded_at=datetime(2026, 5, 2, tzinfo=UTC)
    )
    DateProposal.objects.filter(pk=new.pk).update(created_at=datetime(2026, 5, 3, tzinfo=UTC))
    status, body = api.get(f"/dates/{match_id}")
    assert status == 200
    assert body["proposals"][1] == {
        "id": str(old.id),
        "matchId": match_id,
        "proposerId": proposer,
        "proposerName": "Pat",
        "placeId": None,
        "placeName": "Cafe Luna",
        "placeAddress": None,
        "placeLat": "51.50000000",
        "placeLng": None,
        "proposedDate": "2026-06-01T00:00:00.000Z",
        "proposedTime": "19:30:00",
        "note": None,
        "status": "declined",
        "respondedAt": "2026-05-02T00:00:00.000Z",
        "completedAt": None,
        "proposerConfirmed": False,
        "recipientConfirmed": False,
        "createdAt": "2026-05-01T00:00:00.000Z",
    }
    assert [(p["id"], p["proposerName"]) for p in body["proposals"]] == [
        (str(new.id), "Rae"),
        (str(old.id), "Pat"),
    ]


def test_list_drops_proposals_whose_proposer_has_no_profile(client):
    a, b = make_user(), make_user(profile=False)
    match_id = make_match(a, b)
    proposal(match_id, b)
    assert Api(client, a).get(f"/dates/{match_id}") == (200, {"success": True, "proposals": []})


def test_list_errors(client, couple):
    _, _, proposer, _, match_id = couple
    proposal(match_id, proposer)
    stranger = Api(client, make_user())
    assert stranger.get(f"/dates/{match_id}") == (
        403,
        {"success": False, "error": "Not authorized for this match"},
    )
    assert stranger.get("/dates/match_none") == (404, {"success": False, "error": "Match not found"})


# --- PUT /dates/:id/respond ----------------------------------------------------------------------


def test_accept(couple):
    _, recipient_api, proposer, _, match_id = couple
    p = proposal(match_id, proposer)
    assert recipient_api.put(f"/dates/{p.id}/respond", {"response": "accepted"}) == (
        200,
        {"success": True, "message": "Date accepted!", "status": "accepted"},
    )
    p.refresh_from_db()
    assert (p.status, p.responded_at is not None) == ("accepted", True)


def test_decline(couple):
    _, recipient_api, proposer, _, match_id = couple
    p = proposal(match_id, proposer)
    assert recipient_api.put(f"/dates/{p.id}/respond", {"response": "declined"}) == (
        200,
        {"success": True, "message": "Date declined", "status": "declined"},
    )
    assert DateProposal.objects.get().status == "declined"


def test_decline_with_a_counter_proposal(couple):
    _, recipient_api, proposer, recipient, match_id = couple
    p = proposal(
        match_id, proposer, place_id="gp_1", place_address="1 Main", place_lat="40.1", place_lng="-73.2"
    )
    future = (timezone.now() + timedelta(days=3)).date().isoformat()
    status, body = recipient_api.put(
        f"/dates/{p.id}/respond", {"response": "declined", "counterDate": future, "counterTime": "18:15"}
    )
    counter = DateProposal.objects.exclude(pk=p.pk).get()
    assert (status, body) == (
        200,
        {
            "success": True,
            "message": "Proposal declined with counter-offer",
            "counterProposalId": str(counter.id),
        },
    )
    assert DateProposal.objects.get(pk=p.pk).status == "declined"
    assert (
        counter.proposer_id,
        counter.status,
        counter.note,
        counter.proposed_date.isoformat(),
        counter.proposed_time,
    ) == (
        recipient,
        "pending",
        "Counter-proposal: How about this time instead?",
        future,
        time(18, 15),
    )
    assert (
        counter.place_id,
        counter.place_name,
        counter.place_address,
        str(counter.place_lat),
        str(counter.place_lng),
    ) == (
        "gp_1",
        "Cafe Luna",
        "1 Main",
        "40.10000000",
        "-73.20000000",
    )


@pytest.mark.parametrize(
    ("counter", "error"),
    [
        ({"counterDate": "2099-01-01"}, "Counter-proposal requires both counterDate and counterTime"),
        ({"counterTime": "10:00"}, "Counter-proposal requires both counterDate and counterTime"),
        ({"counterDate": "01/02/2099", "counterTime": "10:00"}, "Invalid date format. Use YYYY-MM-DD"),
        ({"counterDate": "2099-01-01", "counterTime": "10am"}, "Invalid time format. Use HH:MM or HH:MM:SS"),
        (
            {"counterDate": "2020-01-01", "counterTime": "10:00"},
            "Counter-proposal date must be a valid future date",
        ),
        (
            {"counterDate": "2099-02-30", "counterTime": "10:00"},
            "Counter-proposal date must be a valid future date",
        ),
        (
            {"counterDate": "2099-01-01", "counterTime": "24:61"},
            "Counter-proposal date must be a valid future date",
        ),
    ],
)
def test_a_bad_counter_proposal_writes_nothing(couple, counter, error):
    """docs/contract.md, D27: the original declined first and validated after."""
    _, recipient_api, proposer, _, match_id = couple
    p = proposal(match_id, proposer)
    assert recipient_api.put(f"/dates/{p.id}/respond", {"response": "declined", **counter}) == (
        400,
        {"success": False, "error": error},
    )
    p.refresh_from_db()
    assert (p.status, p.responded_at, DateProposal.objects.count()) == ("pending", None, 1)


def test_accept_ignores_counter_fields(couple):
    _, recipient_api, proposer, _, match_id = couple
    p = proposal(match_id, proposer)
    assert (
        recipient_api.put(f"/dates/{p.id}/respond", {"response": "accepted", "counterDate": "bad"})[0] == 200
    )
    assert DateProposal.objects.count() == 1


def test_respond_errors(client, couple):
    proposer_api, recipient_api, proposer, _, match_id = couple
    p = proposal(match_id, proposer)
    for body in ({}, {"response": "maybe"}, {"response": ["accepted"]}):
        assert recipient_api.put(f"/dates/{p.id}/respond", body) == (
            400,
            {"success": False, "error": 'response must be "accepted" or "declined"'},
        )
    assert recipient_api.put(f"/dates/{uuid.uuid4()}/respond", {"response": "accepted"}) == (
        404,
        {"success": False, "error": "Date proposal not found"},
    )
    assert recipient_api.put("/dates/not-a-uuid/respond", {"response": "accepted"}) == (
        404,
        {"success": False, "error": "Date proposal not found"},
    )
    assert Api(client, make_user()).put(f"/dates/{p.id}/respond", {"response": "accepted"}) == (
        403,
        {"success": False, "error": "Not authorized for this proposal"},
    )
    assert proposer_api.put(f"/dates/{p.id}/respond", {"response": "accepted"}) == (
        400,
        {"success": False, "error": "Cannot respond to your own proposal"},
    )
    assert DateProposal.objects.get().status == "pending"
    recipient_api.put(f"/dates/{p.id}/respond", {"response": "accepted"})
    assert recipient_api.put(f"/dates/{p.id}/respond", {"response": "declined"}) == (
        400,
        {"success": False, "error": "Proposal has already been responded to"},
    )


# --- PUT /dates/:id/confirm ----------------------------------------------------------------------


def test_confirm_twice_completes_and_awards_tickets_with_referrals(client):
    referrer = make_user()
    proposer, recipient = make_user(referred_by=referrer), make_user()
    match_id = make_match(proposer, recipient)
    p = proposal(match_id, proposer, status="accepted")
    assert Api(client, recipient).put(f"/dates/{p.id}/confirm") == (
        200,
        {
            "success": True,
            "message": "Your confirmation recorded. Waiting for the other person to confirm.",
            "completed": False,
        },
    )
    p.refresh_from_db()
    assert (p.recipient_confirmed, p.proposer_confirmed, p.status, TicketLedger.objects.count()) == (
        True,
        False,
        "accepted",
        0,
    )
    assert Api(client, proposer).put(f"/dates/{p.id}/confirm") == (
        200,
        {
            "success": True,
            "message": "Date confirmed! You both earned a Golden Ticket!",
            "completed": True,
            "ticketAwarded": True,
        },
    )
    p.refresh_from_db()
    assert (p.proposer_confirmed, p.status, p.completed_at is not None) == (True, "completed", True)
    assert sorted(TicketLedger.objects.values_list("user_id", "amount", "reason", "reference_id")) == sorted(
        [
            (proposer, 1, "date_completed", str(p.id)),
            (recipient, 1, "date_completed", str(p.id)),
            (referrer, 1, "referral_bonus", str(p.id)),
        ]
    )


def test_confirm_errors(client, couple):
    proposer_api, _, proposer, _, match_id = couple
    pending = proposal(match_id, proposer)
    assert proposer_api.put(f"/dates/{pending.id}/confirm") == (
        400,
        {"success": False, "error": "Can only confirm accepted dates"},
    )
    DateProposal.objects.filter(pk=pending.pk).update(status="accepted")
    assert Api(client, make_user()).put(f"/dates/{pending.id}/confirm") == (
        403,
        {"success": False, "error": "Not authorized for this proposal"},
    )
    assert proposer_api.put(f"/dates/{uuid.uuid4()}/confirm") == (
        404,
        {"success": False, "error": "Date proposal not found"},
    )
    assert proposer_api.put(f"/dates/{pending.id}/confirm")[0] == 200
    assert proposer_api.put(f"/dates/{pending.id}/confirm") == (
        400,
        {"success": False, "error": "You have already confirmed this date"},
    )
    assert TicketLedger.objects.count() == 0


# --- DELETE /dates/:id ---------------------------------------------------------------------------


def test_cancel_by_the_proposer(couple):
    proposer_api, _, proposer, _, match_id = couple
    p = proposal(match_id, proposer, status="accepted")
    assert proposer_api.delete(f"/dates/{p.id}") == (
        200,
        {"success": True, "message": "Date proposal cancelled"},
    )
    assert DateProposal.objects.get().status == "cancelled"
    assert proposer_api.delete(f"/dates/{p.id}") == (
        400,
        {"success": False, "error": "Cannot cancel this proposal"},
    )


def test_cancel_errors(couple):
    proposer_api, recipient_api, proposer, _, match_id = couple
    p = proposal(match_id, proposer)
    assert recipient_api.delete(f"/dates/{p.id}") == (
        403,
        {"success": False, "error": "Only the proposer can cancel"},
    )
    assert proposer_api.delete(f"/dates/{uuid.uuid4()}") == (
        404,
        {"success": False, "error": "Date proposal not found"},
    )
    done = proposal(match_id, proposer, status="completed")
    assert proposer_api.delete(f"/dates/{done.id}") == (
        400,
        {"success": False, "error": "Cannot cancel this proposal"},
    )
    assert DateProposal.objects.get(pk=p.pk).status == "pending"
