"""Rate limits of profile-service (docs/contract.md, "Rate limits"), kept in Redis: budgets, shared
buckets, per-user keys, messages."""

from __future__ import annotations

import pytest

from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits_on(settings):
    settings.RATE_LIMITS_ENABLED = True


def assert_limited(response, message: str, limit: int, window: int) -> None:
    assert response.status_code == 429
    assert response.json() == {"success": False, "error": message}
    assert response["RateLimit-Limit"] == str(limit)
    assert response["RateLimit-Remaining"] == "0"
    assert response["RateLimit-Policy"] == f"{limit};w={window}"
    assert 0 < int(response["Retry-After"]) <= window


def test_general_limiter_is_one_bucket_per_ip_across_its_routes(api):
    make_user("alice")
    make_user("bob")
    routes = [
        lambda: api("alice").get("/profile/bob"),
        lambda: api("bob").get("/swipes/sent"),
        lambda: api("alice").get("/verification/prompt"),
        lambda: api("bob").post("/profiles/search/count", {}),
    ]
    for n in range(100):
        response = routes[n % len(routes)]()
        assert response.status_code == 200, n
    assert response["RateLimit-Remaining"] == "0"
    assert_limited(
        api("alice").get("/swipes/received"),
        "Too many requests from this IP, please try again after 15 minutes",
        100,
        900,
    )
    # Another client address has its own bucket.
    other_ip = api("alice").get("/swipes/received", REMOTE_ADDR="10.1.2.3")
    assert other_ip.status_code == 200


def test_profile_creation_limit_is_three_an_hour_per_ip(api):
    for n in range(3):
        make_user(f"u{n}", profile=False)
        assert api(f"u{n}").post("/profile", {"name": "Some One", "age": 30}).status_code == 200
    make_user("u3", profile=False)
    assert_limited(
        api("u3").post("/profile", {"name": "Some One", "age": 30}),
        "Too many profile creation attempts, please try again later",
        3,
        3600,
    )


def test_discovery_limit(api):
    make_user("alice")
    for _ in range(60):
        assert api("alice").get("/profiles/discover").status_code == 200
    assert_limited(
        api("alice").get("/profiles/discover"), "Too many discovery requests, please slow down", 60, 60
    )


@pytest.mark.parametrize(
    ("limit", "window", "message", "call"),
    [
        (
            20,
            900,
            "Too many profile updates, please try again later",
            lambda api, u: api(u).put(f"/profile/{u}", {"bio": "x"}),
        ),
        (
            5,
            3600,
            "Too many sensitive action attempts, please try again later",
            lambda api, u: api(u).delete(f"/profile/{u}-not-mine"),
        ),
        (
            100,
            900,
            "Too many swipe actions, please slow down",
            lambda api, u: api(u).post("/swipes", {"targetUserId": "target", "action": "pass"}),
        ),
    ],
)
def test_per_user_limiters(api, limit, window, message, call):
    make_user("alice")
    make_user("bob")
    make_user("target")
    for _ in range(limit):
        assert call(api, "alice").status_code in (200, 403)
    assert_limited(call(api, "alice"), message, limit, window)
    # The same address, another user: a fresh budget.
    assert call(api, "bob").status_code in (200, 403)


def test_photo_upload_limit_counts_failed_requests_too(api):
    make_user("alice")
    for _ in range(10):
        assert api("alice").post("/profile/photos/upload", {}).status_code == 400
    assert_limited(
        api("alice").post("/profile/photos/upload", {}),
        "Too many photo uploads, please try again later",
        10,
        3600,
    )


def test_internal_cleanup_has_no_limiter(client):
    for _ in range(120):
        assert (
            client.post(
                "/api/internal/cleanup-photos", data="{}", content_type="application/json"
            ).status_code
            == 403
        )
