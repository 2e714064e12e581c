"""DateProposalService, as the app calls it (chat host, unversioned paths): propose, list, respond,
confirm, cancel; every field DateProposal.fromJson reads."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chat.models import DateProposal
from tests.chat.rest_support import make_match, make_user
from tests.client import dart

pytestmark = pytest.mark.django_db

PROPOSAL = {
    "id": "String",
    "matchId": "String",
    "proposerId": "String",
    "proposerName": "String?",
    "placeId": "String?",
    "placeName": "String",
    "placeAddress": "String?",
    "proposedDate": "DateTime",
    "proposedTime": "String",
    "note": "String?",
    "status": "String",
    "respondedAt": "DateTime?",
    "completedAt": "DateTime?",
    "proposerConfirmed": "bool?",
    "recipientConfirmed": "bool?",
    "createdAt": "DateTime",
}


def proposals(client, match_id: str) -> list[dict]:
    """loadProposals: every proposal of the match, read as DateProposal.fromJson does."""
    reply = client.get(f"/dates/{match_id}")
    assert reply.status == 200, reply
    found = []
    for raw in dart.cast(reply.body["proposals"], "List", "proposals"):
        values = dart.read(raw, **PROPOSAL)
        # placeLat/placeLng: double.tryParse(json['placeLat'].toString()), any JSON type
        values["placeLat"] = None if raw.get("placeLat") is None else float(str(raw["placeLat"]))
        values["placeLng"] = None if raw.get("placeLng") is None else float(str(raw["placeLng"]))
        found.append(values)
    return found


@pytest.fixture
def pair():
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    return alice, bob, make_match(alice, bob)


def propose(app, alice: str, match_id: str, day: date) -> dict:
    body = {
        "matchId": match_id,
        "placeName": "Blue Note",
        "proposedDate": day.isoformat(),  # toIso8601String().split('T')[0]
        "proposedTime": "19:30",
        "placeId": "ChIJ123",
        "placeAddress": "131 W 3rd St",
        "placeLat": 40.7308,
        "placeLng": -74.0006,
        "note": "Jazz?",
    }
    reply = app(alice).post("/dates", body)
    assert reply.status == 200, reply  # createProposal accepts 200 only
    assert reply.body["success"] is True
    return reply.body["proposal"]


def test_propose_and_list(app, pair):
    alice, bob, match_id = pair
    day = date.today() + timedelta(days=3)
    propose(app, alice, match_id, day)
    [proposal] = proposals(app(bob), match_id)
    assert {
        k: proposal[k] for k in ("matchId", "proposerId", "placeName", "proposedTime", "note", "status")
    } == {
        # A TIME column, as the original: formattedTime splits on ':' and shows 7:30 PM.
        "matchId": match_id,
        "proposerId": alice,
        "placeName": "Blue Note",
        "proposedTime": "19:30:00",
        "note": "Jazz?",
        "status": "pending",
    }
    assert proposal["proposedDate"].startswith(day.isoformat())
    assert (proposal["placeLat"], proposal["placeLng"]) == (40.7308, -74.0006)
    assert proposal["proposerName"] == "Alice"


def test_accept_then_both_confirm(app, pair):
    alice, bob, match_id = pair
    proposal_id = propose(app, alice, match_id, date.today() + timedelta(days=1))["id"]
    reply = app(bob).put(f"/dates/{proposal_id}/respond", {"response": "accepted"})
    assert (reply.status, reply.body["success"]) == (200, True), reply
    dart.cast(reply.body.get("message"), "String?", "message")
    assert proposals(app(alice), match_id)[0]["status"] == "accepted"

    first = app(alice).put(f"/dates/{proposal_id}/confirm")
    assert (first.status, first.body["success"]) == (200, True), first
    assert dart.read(first.body, completed="bool?", ticketAwarded="bool?", message="String?")[
        "completed"
    ] in (False, None)
    second = app(bob).put(f"/dates/{proposal_id}/confirm")
    assert dart.read(second.body, completed="bool?", ticketAwarded="bool?")["completed"] is True
    [done] = proposals(app(alice), match_id)
    assert (done["status"], done["proposerConfirmed"], done["recipientConfirmed"]) == (
        "completed",
        True,
        True,
    )


def test_decline_and_cancel(app, pair):
    alice, bob, match_id = pair
    first = propose(app, alice, match_id, date.today() + timedelta(days=2))["id"]
    reply = app(bob).put(f"/dates/{first}/respond", {"response": "declined"})
    assert (reply.status, reply.body["success"]) == (200, True), reply
    second = propose(app, alice, match_id, date.today() + timedelta(days=4))["id"]
    reply = app(alice).delete(f"/dates/{second}")
    assert (reply.status, reply.body["success"]) == (200, True), reply
    assert {str(k): v for k, v in DateProposal.objects.values_list("id", "status")} == {
        first: "declined",
        second: "cancelled",
    }
