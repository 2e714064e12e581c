"""REST safety: blocks (create in one transaction, delete, list), reports and the admin listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chat.models import DateProposal, Message, Report
from profiles.models import AfterHoursMatch, AfterHoursSession, Block, Match
from tests.chat.rest_support import Api, EventProbe, make_match, make_message, make_user

pytestmark = pytest.mark.django_db


def ah_match(
    a: str, b: str, *, expires_in: timedelta = timedelta(minutes=5), declined_by: str | None = None
) -> AfterHoursMatch:
    session = AfterHoursSession.objects.create(
        user_id=a,
        expires_at=timezone.now() + timedelta(hours=1),
        ended_at=timezone.now(),
        latitude=1,
        longitude=1,
        fuzzed_latitude=1,
        fuzzed_longitude=1,
    )
    return AfterHoursMatch.objects.create(
        session=session,
        user_1_id=a,
        user_2_id=b,
        expires_at=timezone.now() + expires_in,
        declined_by_id=declined_by,
    )


# --- POST /blocks --------------------------------------------------------------------------------


def test_block_deletes_matches_either_order_and_declines_after_hours(client):
    me, them, bystander = make_user(), make_user(), make_user()
    m1 = make_match(me, them)
    make_message(m1, them, "gone")
    DateProposal.objects.create(
        match_id=m1, proposer_id=me, place_name="Bar", proposed_date="2026-05-01", proposed_time="20:00"
    )
    keep = make_match(me, bystander)
    active = ah_match(them, me)
    expired = ah_match(me, them, expires_in=timedelta(minutes=-1))
    other_ah = ah_match(me, bystander)
    probe = EventProbe(me, them)
    status, body = Api(client, me).post(
        "/blocks", {"userId": me, "blockedUserId": them, "reason": "  rude  "}
    )
    assert (status, body) == (200, {"success": True, "message": "User blocked successfully"})
    block = Block.objects.get()
    assert (block.user_id, block.blocked_user_id, block.reason) == (me, them, "rude")
    assert block.id.startswith("block_")
    assert list(Match.objects.values_list("id", flat=True)) == [keep]
    assert (Message.objects.count(), DateProposal.objects.count()) == (0, 0)
    for row in (active, expired, other_ah):
        row.refresh_from_db()
    assert (active.declined_by_id, active.declined_at is not None) == (me, True)
    assert (expired.declined_by_id, other_ah.declined_by_id) == (None, None)
    assert probe.events(them) == [("match_deleted", {"matchId": m1})]
    assert probe.events(me, wait=0.05) == [("match_deleted", {"matchId": m1})]


def test_block_of_a_converted_after_hours_match(client):
    """The original failed with 500 here (and kept the block row); now it all happens together."""
    me, them = make_user(), make_user()
    match_id = make_match(them, me, source="after_hours")
    ah = ah_match(me, them, expires_in=timedelta(minutes=-30))
    AfterHoursMatch.objects.filter(pk=ah.pk).update(converted_to_match_id=match_id)
    assert Api(client, me).post("/blocks", {"userId": me, "blockedUserId": them}) == (
        200,
        {"success": True, "message": "User blocked successfully"},
    )
    assert (Block.objects.count(), Match.objects.count()) == (1, 0)
    assert AfterHoursMatch.objects.get(pk=ah.pk).converted_to_match_id is None


def test_block_twice_says_already_blocked_and_changes_nothing(client):
    me, them = make_user(), make_user()
    api = Api(client, me)
    api.post("/blocks", {"userId": me, "blockedUserId": them})
    make_match(me, them)  # e.g. restored by an operator: a repeat block must not touch it
    assert api.post("/blocks", {"userId": me, "blockedUserId": them, "reason": "again"}) == (
        200,
        {"success": True, "message": "User already blocked"},
    )
    assert (Block.objects.count(), Block.objects.get().reason, Match.objects.count()) == (1, None, 1)


def test_block_as_someone_else_is_403(client):
    me, a, b = make_user(), make_user(), make_user()
    make_match(a, b)
    assert Api(client, me).post("/blocks", {"userId": a, "blockedUserId": b}) == (
        403,
        {"success": False, "error": "Forbidden: Can only block users as yourself"},
    )
    assert (Block.objects.count(), Match.objects.count()) == (0, 1)


def test_block_an_unknown_user_is_404(client):
    me = make_user()
    assert Api(client, me).post("/blocks", {"userId": me, "blockedUserId": "google_nobody"}) == (
        404,
        {"success": False, "error": "User not found"},
    )
    assert Block.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [("userId", "userId is required"), ("blockedUserId", "blockedUserId is required")]),
        ({"userId": "a", "blockedUserId": " a"}, [("blockedUserId", "Cannot block yourself")]),
        (
            {"userId": "a", "blockedUserId": "b", "reason": "x" * 501},
            [("reason", "reason must be at most 500 characters")],
        ),
        ({"userId": "a", "blockedUserId": "b", "reason": 7}, [("reason", "reason must be a string")]),
        (
            {"userId": "a", "blockedUserId": {"id": "b"}},
            [("blockedUserId", "blockedUserId must be a string")],
        ),
    ],
)
def test_block_validation(client, body, errors):
    me = make_user("a")
    assert Api(client, me).post("/blocks", body) == (
        400,
        {"success": False, "errors": [{"field": f, "message": m} for f, m in errors]},
    )
    assert Block.objects.count() == 0


def test_block_rate_limit_is_10_per_hour(client):
    me = make_user()
    api = Api(client, me)
    for _ in range(10):
        api.post("/blocks", {"userId": me, "blockedUserId": "google_nobody"})
    assert api.post("/blocks", {"userId": me, "blockedUserId": "google_nobody"}) == (
        429,
        {"success": False, "error": "Too many block actions, please try again later"},
    )


# --- DELETE /blocks/:userId/:blockedUserId, GET /blocks/:userId ----------------------------------


def test_unblock_and_list(client):
    me, a, b = make_user(), make_user(), make_user()
    Block.objects.create(
        user_id=me, blocked_user_id=a, reason="spam", created_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    Block.objects.filter(user_id=me, blocked_user_id=a).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    second = Block.objects.create(user_id=me, blocked_user_id=b)
    Block.objects.filter(pk=second.pk).update(created_at=datetime(2026, 1, 2, 8, 0, 0, 250000, tzinfo=UTC))
    Block.objects.create(user_id=a, blocked_user_id=me)
    api = Api(client, me)
    first_id = Block.objects.get(user_id=me, blocked_user_id=a).id
    assert api.get(f"/blocks/{me}") == (
        200,
        {
            "success": True,
            "blockedUsers": [
                {
                    "id": second.id,
                    "userId": me,
                    "blockedUserId": b,
                    "reason": None,
                    "createdAt": "2026-01-02T08:00:00.250Z",
                },
                {
                    "id": first_id,
                    "userId": me,
                    "blockedUserId": a,
                    "reason": "spam",
                    "createdAt": "2026-01-01T00:00:00.000Z",
                },
            ],
        },
    )
    assert api.delete(f"/blocks/{me}/{a}") == (
        200,
        {"success": True, "message": "User unblocked successfully"},
    )
    assert api.delete(f"/blocks/{me}/{a}") == (404, {"success": False, "error": "Block not found"})
    assert set(Block.objects.values_list("user_id", "blocked_user_id")) == {(me, b), (a, me)}


def test_unblock_does_not_restore_matches(client):
    me, them = make_user(), make_user()
    make_match(me, them)
    api = Api(client, me)
    api.post("/blocks", {"userId": me, "blockedUserId": them})
    api.delete(f"/blocks/{me}/{them}")
    assert (Block.objects.count(), Match.objects.count()) == (0, 0)


def test_someone_elses_blocks_are_403(client):
    me, other, x = make_user(), make_user(), make_user()
    Block.objects.create(user_id=other, blocked_user_id=x)
    api = Api(client, me)
    assert api.get(f"/blocks/{other}") == (
        403,
        {"success": False, "error": "Forbidden: Cannot access other users' blocked list"},
    )
    assert api.delete(f"/blocks/{other}/{x}") == (
        403,
        {"success": False, "error": "Forbidden: Can only unblock users for yourself"},
    )
    assert Block.objects.count() == 1


# --- POST /reports -------------------------------------------------------------------------------


def test_report_is_stored_pending(client):
    me, them = make_user(), make_user()
    match_id = make_match(me, them)
    assert Api(client, me).post(
        "/reports",
        {"reporterId": me, "reportedUserId": them, "reason": " harassment ", "details": "  said things  "},
    ) == (
        200,
        {"success": True, "message": "Report submitted successfully. Our moderation team will review it."},
    )
    report = Report.objects.get()
    assert report.id.startswith("report_")
    assert (report.reporter_id, report.reported_user_id, report.reason, report.details, report.status) == (
        me,
        them,
        "harassment",
        "said things",
        "pending",
    )
    # A report does not block.
    assert (Block.objects.count(), Match.objects.filter(pk=match_id).count()) == (0, 1)


def test_report_errors(client):
    me, them = make_user(), make_user()
    api = Api(client, me)
    assert api.post("/reports", {"reporterId": them, "reportedUserId": me, "reason": "spam"}) == (
        403,
        {"success": False, "error": "Forbidden: Can only submit reports as yourself"},
    )
    assert api.post("/reports", {"reporterId": me, "reportedUserId": "google_nobody", "reason": "spam"}) == (
        404,
        {"success": False, "error": "User not found"},
    )
    assert Report.objects.count() == 0


@pytest.mark.parametrize(
    ("sent", "stored"), [("inappropriate", "inappropriate_content"), ("fake", "fake_profile")]
)
def test_the_apps_report_reasons_are_stored_as_the_reasons_they_stand_for(client, sent, stored):
    """The app's profile screen sends `inappropriate` and `fake`; the original refused both (the report was lost)."""
    me, them = make_user(), make_user()
    body = {"reporterId": me, "reportedUserId": them, "reason": sent, "details": None}
    assert Api(client, me).post("/reports", body) == (
        200,
        {"success": True, "message": "Report submitted successfully. Our moderation team will review it."},
    )
    assert list(Report.objects.values_list("reason", "details", "status")) == [(stored, None, "pending")]


REASONS = "inappropriate_content, harassment, spam, fake_profile, underage, violence_threats, hate_speech, scam, other"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {},
            [
                ("reporterId", "reporterId is required"),
                ("reportedUserId", "reportedUserId is required"),
                ("reason", "reason is required"),
            ],
        ),
        (
            {"reporterId": "r", "reportedUserId": "x", "reason": "rude"},
            [("reason", f"reason must be one of: {REASONS}")],
        ),
        (
            {"reporterId": "r", "reportedUserId": "x", "reason": "spam", "details": "d" * 1001},
            [("details", "details must be at most 1000 characters")],
        ),
        (
            {"reporterId": "r", "reportedUserId": "r", "reason": "spam"},
            [("reportedUserId", "Cannot report yourself")],
        ),
    ],
)
def test_report_validation(client, body, errors):
    me = make_user("r")
    assert Api(client, me).post("/reports", body) == (
        400,
        {"success": False, "errors": [{"field": f, "message": m} for f, m in errors]},
    )


def test_report_rate_limit_is_5_per_day(client):
    me, them = make_user(), make_user()
    api = Api(client, me)
    for _ in range(5):
        assert api.post("/reports", {"reporterId": me, "reportedUserId": them, "reason": "spam"})[0] == 200
    assert api.post("/reports", {"reporterId": me, "reportedUserId": them, "reason": "spam"}) == (
        429,
        {"success": False, "error": "Too many reports submitted, please try again tomorrow"},
    )
    assert Report.objects.count() == 5


# --- GET /reports (admin) ------------------------------------------------------------------------


def test_admin_listing_newest_first_with_status_filter(client, settings):
    settings.ADMIN_API_KEY = "s3cret-admin"
    a, b = make_user(), make_user()
    r1 = Report.objects.create(reporter_id=a, reported_user_id=b, reason="spam")
    r2 = Report.objects.create(
        reporter_id=b, reported_user_id=a, reason="other", details="d", status="resolved"
    )
    Report.objects.filter(pk=r1.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    Report.objects.filter(pk=r2.pk).update(created_at=datetime(2026, 1, 2, tzinfo=UTC))
    api = Api(client)
    key = {"X-Admin-API-Key": "s3cret-admin"}
    assert api.get("/reports", headers=key) == (
        200,
        {
            "success": True,
            "reports": [
                {
                    "id": r2.id,
                    "reporterId": b,
                    "reportedUserId": a,
                    "reason": "other",
                    "details": "d",
                    "status": "resolved",
                    "createdAt": "2026-01-02T00:00:00.000Z",
                },
                {
                    "id": r1.id,
                    "reporterId": a,
                    "reportedUserId": b,
                    "reason": "spam",
                    "details": None,
                    "status": "pending",
                    "createdAt": "2026-01-01T00:00:00.000Z",
                },
            ],
        },
    )
    status, body = api.get("/reports?status=pending", headers=key)
    assert (status, [r["id"] for r in body["reports"]]) == (200, [r1.id])


def test_admin_listing_caps_at_100(client, settings):
    settings.ADMIN_API_KEY = "k"
    a, b = make_user(), make_user()
    Report.objects.bulk_create([Report(reporter_id=a, reported_user_id=b, reason="spam") for _ in range(105)])
    status, body = Api(client).get("/reports", headers={"X-Admin-API-Key": "k"})
    assert (status, len(body["reports"])) == (200, 100)


@pytest.mark.parametrize(
    "headers", [{}, {"X-Admin-API-Key": "wrong"}, {"X-Admin-API-Key": "s3cret-admin-but-longer"}]
)
def test_admin_listing_rejects_a_wrong_or_missing_key(client, settings, headers):
    settings.ADMIN_API_KEY = "s3cret-admin"
    assert Api(client).get("/reports", headers=headers) == (
        403,
        {"success": False, "error": "Forbidden: Invalid or missing admin API key"},
    )


def test_admin_listing_ignores_a_user_token(client, settings):
    settings.ADMIN_API_KEY = "s3cret-admin"
    assert Api(client, make_user()).get("/reports") == (
        403,
        {"success": False, "error": "Forbidden: Invalid or missing admin API key"},
    )


def test_admin_listing_unavailable_without_a_key(client, settings):
    settings.ADMIN_API_KEY = ""
    assert Api(client).get("/reports", headers={"X-Admin-API-Key": ""}) == (
        503,
        {"success": False, "error": "Admin endpoints not available"},
    )


def test_admin_key_compare_is_constant_time(monkeypatch, client, settings):
    """docs/contract.md, D28: the comparison goes through hmac.compare_digest."""
    import hmac

    from chat import views

    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(views.hmac, "compare_digest", spy)
    settings.ADMIN_API_KEY = "s3cret-admin"
    Api(client).get("/reports", headers={"X-Admin-API-Key": "guess"})
    assert calls == [(b"guess", b"s3cret-admin")]
