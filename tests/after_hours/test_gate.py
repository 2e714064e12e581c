"""The After Hours gate (docs/contract.md, "After Hours gate"): JWT, then subscription, ID
verification, consent; the paths it answers at (D7) and the per-user rate limit (D2)."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from profiles.models import AfterHoursPreferences, UserSubscription
from tests.after_hours.conftest import make_member

pytestmark = pytest.mark.django_db

PREMIUM = {
    "success": False,
    "error": "Premium subscription required for After Hours Mode",
    "code": "PREMIUM_REQUIRED",
    "upgrade": True,
}
VERIFICATION = {
    "success": False,
    "error": "ID verification required for After Hours Mode",
    "code": "VERIFICATION_REQUIRED",
    "requiresVerification": True,
}
CONSENT = {
    "success": False,
    "error": "Location sharing consent required for After Hours Mode",
    "code": "CONSENT_REQUIRED",
    "requiresConsent": True,
}
PREFS_NOT_FOUND = {"success": False, "error": "After Hours preferences not found"}


def test_no_token_is_401_before_the_gate(api):
    response = api(None).get("/after-hours/preferences")
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "No authorization header provided"}


def test_token_without_user_id_is_401(api):
    token = jwt.encode(
        {"provider": "instagram", "isNew": True, "exp": 9999999999}, settings.JWT_SECRET, algorithm="HS256"
    )
    response = api(None).get("/after-hours/preferences", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Invalid token"}


def test_unknown_user_has_no_subscription(api):
    response = api("ghost").get("/after-hours/preferences")
    assert response.status_code == 403
    assert response.json() == PREMIUM


@pytest.mark.parametrize(
    ("is_active", "expires_in"),
    [(False, None), (True, timedelta(minutes=-1)), (False, timedelta(days=30))],
    ids=["inactive", "expired", "inactive-with-future-expiry"],
)
def test_subscription_must_be_active_and_unexpired(api, is_active, expires_in):
    make_member("alice", premium=False)
    expires_at = timezone.now() + expires_in if expires_in is not None else None
    UserSubscription.objects.create(user_id="alice", is_active=is_active, expires_at=expires_at)
    response = api("alice").get("/after-hours/preferences")
    assert response.status_code == 403
    assert response.json() == PREMIUM


def test_lifetime_and_future_subscriptions_pass(api):
    make_member("alice", premium=False)
    make_member("bob", premium=False)
    UserSubscription.objects.create(user_id="alice", is_active=True, expires_at=None)
    UserSubscription.objects.create(
        user_id="bob", is_active=True, expires_at=timezone.now() + timedelta(days=1)
    )
    for user in ("alice", "bob"):
        response = api(user).get("/after-hours/preferences")
        assert (response.status_code, response.json()) == (404, PREFS_NOT_FOUND)


def test_checks_run_in_order(api):
    make_member("none", premium=False, verified=False, consent=False)
    make_member("premium_only", verified=False, consent=False)
    make_member("no_consent", consent=False)
    assert api("none").get("/after-hours/preferences").json() == PREMIUM
    assert api("premium_only").get("/after-hours/preferences").json() == VERIFICATION
    response = api("no_consent").get("/after-hours/preferences")
    assert (response.status_code, response.json()) == (403, CONSENT)


def test_profiles_is_verified_is_not_the_id_verification(api):
    make_member("alice", verified=False)
    from profiles.models import Profile

    Profile.objects.filter(pk="alice").update(is_verified=True)
    assert api("alice").get("/after-hours/preferences").json() == VERIFICATION


def test_gate_fails_closed_on_a_database_error(api):
    make_member("alice")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE user_subscriptions RENAME TO user_subscriptions_gone")
    response = api("alice").get("/after-hours/preferences")
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "error": "Unable to verify After Hours access",
        "code": "AUTH_ERROR",
    }


@pytest.mark.parametrize(
    "prefix", ["/after-hours", "/api/after-hours", "/api/v1/after-hours", "/api/v1/api/after-hours"]
)
def test_routes_answer_at_every_prefix(api, prefix):
    make_member("alice", prefs={"max_distance_km": 25})
    response = api("alice").get(f"{prefix}/preferences")
    assert response.status_code == 200
    assert response.json()["preferences"]["maxDistanceKm"] == 25


def test_gate_runs_on_every_route(api):
    make_member("alice", consent=False)
    routes = [
        ("POST", "profile"),
        ("GET", "profile"),
        ("PATCH", "profile"),
        ("POST", "profile/photo"),
        ("POST", "preferences"),
        ("GET", "preferences"),
        ("PATCH", "preferences"),
        ("POST", "session/start"),
        ("POST", "session/end"),
        ("POST", "session/extend"),
        ("GET", "session"),
        ("POST", "match/decline"),
        ("GET", "match/current"),
        ("GET", "nearby/count"),
    ]
    client = api("alice")
    for method, path in routes:
        response = client.request(method, f"/api/v1/after-hours/{path}", {} if method != "GET" else None)
        assert (method, path, response.status_code, response.json()) == (method, path, 403, CONSENT)
    assert not AfterHoursPreferences.objects.exists()


def test_unknown_after_hours_path_is_gated_then_404(api):
    make_member("alice")
    make_member("bob", consent=False)
    assert api(None).get("/api/after-hours/nope").status_code == 401
    assert api("bob").get("/api/after-hours/nope").json() == CONSENT
    response = api("alice").get("/api/v1/after-hours/nope/deeper")
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Not found"}


def test_wrong_method_is_405(api):
    make_member("alice")
    response = api("alice").request("DELETE", "/after-hours/session/start")
    assert response.status_code == 405
    assert response.json() == {"success": False, "error": "Method not allowed"}


def test_after_hours_routes_are_rate_limited_per_user(api):
    make_member("alice")
    make_member("bob")
    alice = api("alice")
    for _ in range(120):
        assert alice.get("/after-hours/preferences").status_code == 404
    response = alice.get("/after-hours/preferences")
    assert response.status_code == 429
    assert response.json() == {"success": False, "error": "Too many After Hours requests, please slow down"}
    assert response["Retry-After"]
    # One budget per user, not per address: bob (same client address) is unaffected.
    assert api("bob").get("/after-hours/preferences").status_code == 404
