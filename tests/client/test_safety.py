"""SafetyService, as the app calls it (chat host, unversioned paths): blocks, the blocked list of
the safety settings screen, unblock, reports from the profile screen, unmatch."""

from __future__ import annotations

import pytest

from chat.models import Report
from profiles.models import Block, Match
from tests.chat.rest_support import make_match, make_user
from tests.client import dart

pytestmark = pytest.mark.django_db

SUBMITTED = "Report submitted successfully. Our moderation team will review it."


def test_block_with_a_null_reason_then_list_and_unblock(app):
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    reply = app(alice).post("/blocks", {"userId": alice, "blockedUserId": bob, "reason": None})
    assert reply.status in (200, 201), reply
    assert reply.body["success"] is True
    assert Block.objects.filter(user_id=alice, blocked_user_id=bob).exists()

    reply = app(alice).get(f"/blocks/{alice}")
    assert reply.status == 200
    [blocked] = dart.cast(reply.body["blockedUsers"], "List", "blockedUsers")
    assert dart.read(blocked, blockedUserId="String", createdAt="String?")["blockedUserId"] == bob

    reply = app(alice).delete(f"/blocks/{alice}/{bob}")
    assert (reply.status, reply.body["success"]) == (200, True)
    assert not Block.objects.exists()


@pytest.mark.parametrize(
    ("reason", "stored"),
    [
        ("inappropriate", "inappropriate_content"),
        ("harassment", "harassment"),
        ("spam", "spam"),
        ("fake", "fake_profile"),
        ("other", "other"),
    ],
)
def test_report_with_each_reason_of_the_profile_screen(app, reason, stored):
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    body = {"reporterId": alice, "reportedUserId": bob, "reason": reason, "details": None}
    reply = app(alice).post("/reports", body)
    assert (reply.status, reply.body) == (200, {"success": True, "message": SUBMITTED})
    assert list(Report.objects.values_list("reporter_id", "reported_user_id", "reason", "details")) == [
        (alice, bob, stored, None)
    ]


def test_report_from_the_action_sheet_with_details(app):
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    body = {"reporterId": alice, "reportedUserId": bob, "reason": "harassment", "details": "Rude messages"}
    assert app(alice).post("/reports", body).status == 200
    assert Report.objects.get().details == "Rude messages"


def test_unmatch(app):
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    match_id = make_match(alice, bob)
    reply = app(alice).delete(f"/matches/{match_id}")
    assert (reply.status, reply.body["success"]) == (200, True)
    assert not Match.objects.exists()
