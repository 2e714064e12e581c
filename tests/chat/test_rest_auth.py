"""Every chat route checks the token first, with the original's 401 bodies (docs/contract.md,
"Authentication")."""

from __future__ import annotations

import pytest

from tests.chat.rest_support import Api

pytestmark = pytest.mark.django_db

ROUTES = [
    ("GET", "/matches/u1"),
    ("POST", "/matches"),
    ("DELETE", "/matches/m1"),
    ("GET", "/matches/u1/unread-counts"),
    ("GET", "/messages/m1"),
    ("POST", "/messages"),
    ("PUT", "/messages/m1/mark-read"),
    ("POST", "/blocks"),
    ("GET", "/blocks/u1"),
    ("DELETE", "/blocks/u1/u2"),
    ("POST", "/reports"),
    ("POST", "/fcm/register"),
    ("POST", "/fcm/unregister"),
    ("POST", "/dates"),
    ("GET", "/dates/m1"),
    ("PUT", "/dates/d1/respond"),
    ("PUT", "/dates/d1/confirm"),
    ("DELETE", "/dates/d1"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Bearer not-a-jwt", "Invalid token"),
        ("Token abc", "Invalid authorization header format. Use: Bearer <token>"),
        ("Bearer ", "No token provided"),
    ],
)
def test_bad_tokens_are_401(client, method, path, header, error):
    got = Api(client).call(method, path, {}, headers={"Authorization": header})
    if method != "GET" and not header.startswith("Bearer "):
        # Only a Bearer header exempts a mutating request from the CSRF check, which runs first.
        assert got == (403, {"success": False, "error": "CSRF token missing", "code": "CSRF_TOKEN_MISSING"})
    else:
        assert got == (401, {"success": False, "error": error})


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "GET"])
def test_no_token_is_401(client, method, path):
    assert Api(client).call(method, path) == (
        401,
        {"success": False, "error": "No authorization header provided"},
    )


def test_expired_token_is_401(client):
    from vlvt.http.auth import mint_token

    token = mint_token("google_someone", expires_in=-10)
    assert Api(client).get("/matches/google_someone", headers={"Authorization": f"Bearer {token}"}) == (
        401,
        {"success": False, "error": "Token expired"},
    )


def test_token_without_exp_is_401(client):
    """auth-service always sets `exp`; a token without one would be valid forever."""
    import jwt
    from django.conf import settings

    token = jwt.encode(
        {"userId": "google_someone", "provider": "google"}, settings.JWT_SECRET, algorithm="HS256"
    )
    assert Api(client).get("/matches/google_someone", headers={"Authorization": f"Bearer {token}"}) == (
        401,
        {"success": False, "error": "Invalid token"},
    )


def test_token_without_user_id_is_401(client):
    """docs/contract.md, D3."""
    import jwt
    from django.conf import settings

    token = jwt.encode({"provider": "google", "exp": 9999999999}, settings.JWT_SECRET, algorithm="HS256")
    assert Api(client).get("/matches/x", headers={"Authorization": f"Bearer {token}"}) == (
        401,
        {"success": False, "error": "Invalid token"},
    )


FAILURES = {
    ("GET", "/matches/u1"): "Failed to retrieve matches",
    ("POST", "/matches"): "Failed to create match",
    ("DELETE", "/matches/m1"): "Failed to delete match",
    ("GET", "/matches/u1/unread-counts"): "Failed to get unread counts",
    ("GET", "/messages/m1"): "Failed to retrieve messages",
    ("POST", "/messages"): "Failed to send message",
    ("PUT", "/messages/m1/mark-read"): "Failed to mark messages as read",
    ("POST", "/blocks"): "Failed to block user",
    ("GET", "/blocks/u1"): "Failed to retrieve blocked users",
    ("DELETE", "/blocks/u1/u2"): "Failed to unblock user",
    ("POST", "/reports"): "Failed to submit report",
    ("POST", "/fcm/register"): "Failed to register FCM token",
    ("POST", "/fcm/unregister"): "Failed to unregister FCM token",
    ("POST", "/dates"): "Failed to create date proposal",
    ("GET", "/dates/m1"): "Failed to get date proposals",
    ("PUT", "/dates/d1/respond"): "Failed to respond to date proposal",
    ("PUT", "/dates/d1/confirm"): "Failed to confirm date",
    ("DELETE", "/dates/d1"): "Failed to cancel date proposal",
}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_unexpected_errors_answer_the_routes_500_message(client, monkeypatch, method, path):
    from chat import validation

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(validation, "has_nul", broken)
    assert Api(client, "google_someone").call(method, path, {}) == (
        500,
        {"success": False, "error": FAILURES[(method, path)]},
    )


def test_admin_listing_unexpected_error(client, monkeypatch, settings):
    from chat import selectors

    settings.ADMIN_API_KEY = "k"
    monkeypatch.setattr(selectors, "reports_recent", lambda **kw: 1 / 0)
    assert Api(client).get("/reports", headers={"X-Admin-API-Key": "k"}) == (
        500,
        {"success": False, "error": "Failed to retrieve reports"},
    )
