"""After Hours chat REST: history, save vote, block, report (docs/contract.md, "After Hours chat
routes", D25)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chat.models import AfterHoursMessage, Message, ReadReceipt, Report
from profiles.models import AfterHoursMatch, Block, Match
from tests.chat.after_hours.conftest import ah_message, make_ah_match, make_user
from tests.chat.rest_support import Api, EventProbe
from tests.chat.rest_support import make_match as make_permanent_match
from vlvt.http.api import iso

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def pair():
    alice, bob = make_user("Alice", token=True), make_user("Bob", token=True)
    return alice, bob, make_ah_match(alice, bob)


def _wire(m: AfterHoursMessage) -> dict:
    return {
        "id": str(m.id),
        "matchId": str(m.match_id),
        "senderId": m.sender_id,
        "text": m.text,
        "timestamp": iso(m.created_at),
    }


def _state(match_id: str) -> tuple:
    m = AfterHoursMatch.objects.get(pk=match_id)
    return m.user1_save_vote, m.user2_save_vote, m.converted_to_match_id, m.declined_by_id


# --- GET /after-hours/messages/:matchId ----------------------------------------------------------


def test_history_is_newest_first_and_available_on_every_prefix(client, pair):
    alice, bob, match = pair
    first = ah_message(match, alice, "first", created_at=T0)
    second = ah_message(match, bob, "second", created_at=T0 + timedelta(seconds=5))
    ah_message(make_ah_match(alice, make_user()), alice, "another match")
    expected = (200, {"success": True, "messages": [_wire(second), _wire(first)], "hasMore": False})
    for prefix in ("/after-hours", "/api/after-hours", "/api/v1/after-hours"):
        assert Api(client, bob).get(f"{prefix}/messages/{match}") == expected


def test_history_pages_by_fifty_before_a_timestamp(client, pair):
    alice, bob, match = pair
    rows = [ah_message(match, alice, f"m{i}", created_at=T0 + timedelta(seconds=i)) for i in range(60)]
    status, body = Api(client, alice).get(f"/after-hours/messages/{match}")
    assert (status, body["hasMore"], len(body["messages"])) == (200, True, 50)
    assert [m["text"] for m in body["messages"]] == [f"m{i}" for i in range(59, 9, -1)]
    oldest = body["messages"][-1]["timestamp"]
    status, body = Api(client, alice).get(f"/after-hours/messages/{match}?before={oldest}")
    assert (status, body) == (
        200,
        {"success": True, "messages": [_wire(r) for r in rows[9::-1]], "hasMore": False},
    )


def test_history_stays_readable_after_expiry_and_decline(client):
    alice, bob = make_user(), make_user()
    match = make_ah_match(alice, bob, expires_at=timezone.now() - timedelta(days=2), declined_by=bob)
    message = ah_message(match, alice, "still here")
    assert Api(client, alice).get(f"/after-hours/messages/{match}") == (
        200,
        {"success": True, "messages": [_wire(message)], "hasMore": False},
    )


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/after-hours/messages/not-a-uuid", 400, "Invalid match ID format"),
        (
            "/after-hours/messages/{match}?before=yesterday",
            400,
            "Invalid before timestamp. Use ISO 8601 format.",
        ),
        (f"/after-hours/messages/{MISSING}", 404, "Match not found"),
    ],
)
def test_history_rejections(client, pair, path, status, error):
    alice, _, match = pair
    assert Api(client, alice).get(path.format(match=match)) == (status, {"success": False, "error": error})


def test_history_of_someone_elses_match_is_403(client, pair):
    _, _, match = pair
    ah_message(match, pair[0], "private")
    outsider = make_user()
    assert Api(client, outsider).get(f"/after-hours/messages/{match}") == (
        403,
        {"success": False, "error": "Forbidden: You are not part of this match"},
    )


def test_routes_need_a_token(client, pair):
    _, _, match = pair
    for method, path in (
        ("get", f"/after-hours/messages/{match}"),
        ("post", f"/after-hours/matches/{match}/save"),
    ):
        status, body = getattr(Api(client), method)(path, headers={"Authorization": "Bearer nope"})
        assert (status, body) == (401, {"success": False, "error": "Invalid token"})


def test_wrong_method_is_405(client, pair):
    alice, _, match = pair
    assert Api(client, alice).get(f"/after-hours/matches/{match}/save")[0] == 405


# --- POST /after-hours/matches/:matchId/save ------------------------------------------------------


def test_first_vote_records_it_and_tells_only_the_partner(client, pair, push_queue):
    alice, bob, match = pair
    probe = EventProbe(alice, bob)
    before = timezone.now()

    status, body = Api(client, alice).post(f"/after-hours/matches/{match}/save")

    assert (status, body) == (200, {"success": True, "mutualSave": False, "permanentMatchId": None})
    assert _state(match) == (True, False, None, None)
    assert probe.events(alice, wait=0.2) == []
    [(event, data)] = probe.events(bob)
    assert (event, data["matchId"], data["savedBy"]) == ("after_hours:partner_saved", match, alice)
    assert before <= datetime.fromisoformat(data["timestamp"]) <= timezone.now()
    assert push_queue.by_token() == {
        f"fcm-{bob}": (
            "Someone wants to save your chat!",
            "Alice wants to keep chatting after After Hours ends. Save them back to create a match!",
            {
                "type": "after_hours_partner_saved",
                "afterHoursMatchId": match,
                "partnerName": "Alice",
                "click_action": "FLUTTER_NOTIFICATION_CLICK",
            },
            "after_hours",
        )
    }
    assert Match.objects.count() == 0


def test_mutual_save_converts_keeping_order_and_original_timestamps(client, pair, push_queue):
    alice, bob, match = pair
    sent = [
        ah_message(match, alice, "hey", created_at=T0),
        ah_message(match, bob, "hi!", created_at=T0 + timedelta(milliseconds=1)),
        ah_message(match, alice, "same second", created_at=T0 + timedelta(milliseconds=1, microseconds=1)),
        ah_message(match, bob, "later", created_at=T0 + timedelta(minutes=3)),
    ]
    Api(client, bob).post(f"/after-hours/matches/{match}/save")
    probe = EventProbe(alice, bob)
    push_queue.sent.clear()

    status, body = Api(client, alice).post(f"/after-hours/matches/{match}/save")

    permanent = Match.objects.get()
    assert (status, body) == (200, {"success": True, "mutualSave": True, "permanentMatchId": permanent.id})
    assert (permanent.user_1_id, permanent.user_2_id, permanent.source) == (alice, bob, "after_hours")
    assert permanent.id.startswith("match_")
    assert _state(match) == (True, True, permanent.id, None)
    copied = list(Message.objects.filter(match_id=permanent.id).order_by("created_at", "id"))
    assert [(m.sender_id, m.text, m.created_at) for m in copied] == [
        (m.sender_id, m.text, m.created_at) for m in sent
    ]
    assert all(m.id.startswith("msg_") and m.status == "read" for m in copied)
    receipts = {(r.message_id, r.user_id) for r in ReadReceipt.objects.all()}
    assert receipts == {(m.id, bob if m.sender_id == alice else alice) for m in copied}
    assert AfterHoursMessage.objects.filter(match_id=match).count() == 4  # the originals stay
    for user in (alice, bob):
        [(event, data)] = probe.events(user)
        assert event == "after_hours:match_saved"
        assert (data["afterHoursMatchId"], data["permanentMatchId"]) == (match, permanent.id)
        assert data["matchId"] == match  # the mobile app's name for afterHoursMatchId
        assert set(data) == {"afterHoursMatchId", "permanentMatchId", "timestamp", "matchId"}
    assert push_queue.by_token() == {
        f"fcm-{alice}": _mutual_push(permanent.id, "Bob"),
        f"fcm-{bob}": _mutual_push(permanent.id, "Alice"),
    }


def _mutual_push(permanent_id: str, partner: str) -> tuple:
    return (
        "Your After Hours chat is saved!",
        f"You and {partner} both saved each other. You can now chat anytime!",
        {
            "type": "after_hours_match_saved",
            "permanentMatchId": permanent_id,
            "partnerName": partner,
            "click_action": "FLUTTER_NOTIFICATION_CLICK",
        },
        "matches",
    )


def test_revotes_change_nothing_and_tell_nobody(client, pair, push_queue):
    alice, bob, match = pair
    Api(client, alice).post(f"/after-hours/matches/{match}/save")
    probe = EventProbe(alice, bob)
    push_queue.sent.clear()
    assert Api(client, alice).post(f"/after-hours/matches/{match}/save") == (
        200,
        {"success": True, "mutualSave": False, "permanentMatchId": None},
    )
    Api(client, bob).post(f"/after-hours/matches/{match}/save")
    probe.events(alice), probe.events(bob)
    push_queue.sent.clear()
    permanent_id = Match.objects.get().id
    for user in (alice, bob):
        assert Api(client, user).post(f"/after-hours/matches/{match}/save") == (
            200,
            {"success": True, "mutualSave": True, "permanentMatchId": permanent_id},
        )
    assert (probe.events(alice, wait=0.2), probe.events(bob, wait=0.2), push_queue.sent) == ([], [], [])
    assert (Match.objects.count(), Message.objects.count()) == (1, 0)


@pytest.mark.parametrize("order", ["same", "reverse"])
def test_an_existing_permanent_match_of_the_pair_is_reused(client, pair, order):
    alice, bob, match = pair
    existing = make_permanent_match(alice, bob) if order == "same" else make_permanent_match(bob, alice)
    ah_message(match, alice, "hello again", created_at=T0)
    Api(client, alice).post(f"/after-hours/matches/{match}/save")

    status, body = Api(client, bob).post(f"/after-hours/matches/{match}/save")

    assert (status, body) == (200, {"success": True, "mutualSave": True, "permanentMatchId": existing})
    assert list(Match.objects.values_list("id", flat=True)) == [existing]
    assert list(Message.objects.filter(match_id=existing).values_list("text", "created_at")) == [
        ("hello again", T0)
    ]
    assert _state(match)[2] == existing


def test_names_default_to_someone(client, push_queue):
    alice, bob = make_user(None, token=True), make_user("Bob", profile=False, token=True)
    match = make_ah_match(alice, bob)
    Api(client, bob).post(f"/after-hours/matches/{match}/save")
    assert push_queue.by_token()[f"fcm-{alice}"][1].startswith("Someone wants to keep chatting")


@pytest.mark.parametrize("blocker", ["alice", "bob"])
def test_a_blocked_pair_cannot_save(client, pair, blocker, push_queue):
    alice, bob, match = pair
    users = {"alice": alice, "bob": bob}
    Block.objects.create(user_id=users[blocker], blocked_user_id=bob if blocker == "alice" else alice)
    Api(client, bob).post(f"/after-hours/matches/{match}/save")  # refused as well
    assert Api(client, alice).post(f"/after-hours/matches/{match}/save") == (
        409,
        {"success": False, "error": "This match can no longer be saved", "code": "MATCH_NOT_SAVEABLE"},
    )
    assert _state(match) == (False, False, None, None)
    assert (Match.objects.count(), push_queue.sent) == (0, [])


def test_a_declined_match_cannot_be_saved_even_after_the_other_vote(client):
    alice, bob = make_user(), make_user()
    match = make_ah_match(alice, bob, votes=(False, True), declined_by=alice)
    assert Api(client, alice).post(f"/after-hours/matches/{match}/save")[0] == 409
    assert (_state(match), Match.objects.count()) == ((False, True, None, alice), 0)


def test_an_expired_match_can_still_be_saved(client):
    alice, bob = make_user(), make_user()
    match = make_ah_match(alice, bob, expires_at=timezone.now() - timedelta(hours=1), votes=(True, False))
    status, body = Api(client, bob).post(f"/after-hours/matches/{match}/save")
    assert (status, body["mutualSave"]) == (200, True)


def test_an_unmatched_conversion_is_not_revived(client, pair):
    alice, bob, match = pair
    Api(client, alice).post(f"/after-hours/matches/{match}/save")
    permanent_id = Api(client, bob).post(f"/after-hours/matches/{match}/save")[1]["permanentMatchId"]
    assert Api(client, alice).delete(f"/matches/{permanent_id}")[0] == 200  # converted_to_match_id SET NULL
    assert _state(match) == (True, True, None, None)
    assert Api(client, bob).post(f"/after-hours/matches/{match}/save")[0] == 409
    assert Match.objects.count() == 0


@pytest.mark.parametrize(
    ("match_id", "user", "status", "error"),
    [
        ("nope", "alice", 400, "Invalid match ID format"),
        (MISSING, "alice", 404, "Match not found"),
        ("{match}", "outsider", 403, "Forbidden: You are not part of this match"),
    ],
)
def test_save_rejections(client, pair, match_id, user, status, error):
    alice, _, match = pair
    caller = alice if user == "alice" else make_user()
    assert Api(client, caller).post(f"/after-hours/matches/{match_id.format(match=match)}/save") == (
        status,
        {"success": False, "error": error},
    )
    assert _state(match) == (False, False, None, None)


# --- POST /after-hours/matches/:matchId/block -----------------------------------------------------


def test_block_blocks_declines_and_ends_permanent_matches_of_the_pair(client, pair):
    alice, bob, match = pair
    permanent = make_permanent_match(bob, alice)
    assert Api(client, alice).post(f"/after-hours/matches/{match}/block", {"reason": "rude"}) == (
        200,
        {"success": True, "message": "User blocked"},
    )
    block = Block.objects.get()
    assert (block.user_id, block.blocked_user_id, block.reason) == (alice, bob, "rude")
    assert _state(match)[3] == alice
    assert not Match.objects.filter(pk=permanent).exists()


def test_block_is_idempotent_and_declines_an_expired_match_too(client):
    alice, bob = make_user(), make_user()
    match = make_ah_match(alice, bob, expires_at=timezone.now() - timedelta(minutes=1))
    Block.objects.create(user_id=alice, blocked_user_id=bob, reason="earlier")
    assert Api(client, alice).post(f"/api/v1/after-hours/matches/{match}/block")[0] == 200
    assert Api(client, alice).post(f"/after-hours/matches/{match}/block")[0] == 200
    assert list(Block.objects.values_list("reason", flat=True)) == ["earlier"]
    assert _state(match)[3] == alice


@pytest.mark.parametrize(
    ("match_id", "body", "status", "error"),
    [
        ("nope", {}, 400, "Invalid match ID format"),
        ("{match}", {"reason": 5}, 400, "Reason must be a string"),
        ("{match}", {"reason": "x" * 501}, 400, "Reason must be at most 500 characters"),
        (MISSING, {}, 404, "Match not found"),
    ],
)
def test_block_rejections_write_nothing(client, pair, match_id, body, status, error):
    alice, _, match = pair
    assert Api(client, alice).post(f"/after-hours/matches/{match_id.format(match=match)}/block", body) == (
        status,
        {"success": False, "error": error},
    )
    assert (Block.objects.count(), _state(match)[3]) == (0, None)


def test_block_by_an_outsider_is_403(client, pair):
    _, _, match = pair
    assert Api(client, make_user()).post(f"/after-hours/matches/{match}/block")[0] == 403
    assert (Block.objects.count(), _state(match)[3]) == (0, None)


# --- POST /after-hours/matches/:matchId/report ----------------------------------------------------


def test_report_files_it_blocks_and_declines(client, pair):
    alice, bob, match = pair
    assert Api(client, bob).post(
        f"/after-hours/matches/{match}/report", {"reason": "harassment", "details": "kept insisting"}
    ) == (200, {"success": True, "message": "Report submitted"})
    report = Report.objects.get()
    assert (report.reporter_id, report.reported_user_id, report.reason, report.details, report.status) == (
        bob,
        alice,
        "after_hours:harassment",
        "kept insisting",
        "pending",
    )
    assert report.id.startswith("report_")
    assert list(Block.objects.values_list("user_id", "blocked_user_id", "reason")) == [
        (bob, alice, "Reported: harassment")
    ]
    assert _state(match)[3] == bob


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "Reason is required"),
        ({"reason": ""}, "Reason is required"),
        (
            {"reason": "rude"},
            "Invalid reason. Must be one of: inappropriate, harassment, spam, underage, other",
        ),
        (
            {"reason": ["spam"]},
            "Invalid reason. Must be one of: inappropriate, harassment, spam, underage, other",
        ),
        ({"reason": "spam", "details": "x" * 1001}, "Details must be at most 1000 characters"),
        ({"reason": "spam", "details": 3}, "Details must be a string"),
    ],
)
def test_report_rejections_write_nothing(client, pair, body, error):
    alice, _, match = pair
    assert Api(client, alice).post(f"/after-hours/matches/{match}/report", body) == (
        400,
        {"success": False, "error": error},
    )
    assert (Report.objects.count(), Block.objects.count(), _state(match)[3]) == (0, 0, None)


def test_report_is_one_transaction(client, pair, monkeypatch):
    """If blocking fails, the report and the decline are rolled back with it (no half-done report)."""
    from chat.after_hours.services import safety

    alice, _, match = pair

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(safety, "block_create", broken)
    assert Api(client, alice).post(f"/after-hours/matches/{match}/report", {"reason": "spam"}) == (
        500,
        {"success": False, "error": "Failed to submit report"},
    )
    assert (Report.objects.count(), _state(match)[3]) == (0, None)


def test_reports_share_the_five_a_day_limit_with_post_reports(client, pair):
    alice, bob, match = pair
    for _ in range(3):
        assert (
            Api(client, alice).post(
                "/reports", {"reporterId": alice, "reportedUserId": bob, "reason": "spam"}
            )[0]
            == 200
        )
    for _ in range(2):
        assert Api(client, alice).post(f"/after-hours/matches/{match}/report", {"reason": "spam"})[0] == 200
    assert Api(client, alice).post(f"/after-hours/matches/{match}/report", {"reason": "spam"}) == (
        429,
        {"success": False, "error": "Too many reports submitted, please try again tomorrow"},
    )
    assert Report.objects.count() == 5


def test_nul_characters_are_a_400(client, pair):
    alice, _, match = pair
    status, _ = Api(client, alice).post(
        f"/after-hours/matches/{match}/report", {"reason": "spam", "details": "a\x00b"}
    )
    assert status == 400
    assert Report.objects.count() == 0


def test_unknown_after_hours_paths_still_reach_the_after_hours_router(client):
    status, _ = Api(client, make_user()).get(f"/after-hours/matches/{uuid.uuid4()}/nothing")
    assert status in (403, 404)  # the After Hours gate, then 404: not one of ours


def test_the_routes_share_a_per_user_budget(client, pair):
    alice, bob, match = pair
    for _ in range(60):
        assert Api(client, alice).get(f"/after-hours/messages/{match}")[0] == 200
    assert Api(client, alice).post(f"/after-hours/matches/{match}/save") == (
        429,
        {"success": False, "error": "Too many requests, please slow down"},
    )
    assert Api(client, bob).get(f"/after-hours/messages/{match}")[0] == 200  # per user, not per address
    assert _state(match) == (False, False, None, None)
