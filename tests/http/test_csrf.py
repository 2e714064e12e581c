"""CSRF double-submit cookie (docs/contract.md, "CSRF and CORS") and GET /csrf-token."""

from __future__ import annotations

import base64
from http.cookies import SimpleCookie

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tests.http.helpers import body

pytestmark = pytest.mark.urls("tests.http.urls")

MISSING = {"success": False, "error": "CSRF token missing", "code": "CSRF_TOKEN_MISSING"}
HEADER_MISSING = {"success": False, "error": "CSRF token missing from header", "code": "CSRF_HEADER_MISSING"}
INVALID = {"success": False, "error": "CSRF token invalid", "code": "CSRF_TOKEN_INVALID"}


def _post(api, path="/t/echo", method="post", **extra):
    return getattr(api, method)(path, '{"a":1}', content_type="application/json", **extra)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_mutating_request_without_cookie_is_refused(api, method):
    response = _post(api, method=method)

    assert response.status_code == 403
    assert body(response) == MISSING


def test_cookie_without_header_is_refused(api):
    api.cookies["csrf-token"] = "abc"

    response = _post(api)

    assert response.status_code == 403
    assert body(response) == HEADER_MISSING


@pytest.mark.parametrize("header", ["abd", "ab", "abcd", "\u00e9bc"])
def test_header_that_differs_from_the_cookie_is_refused(api, header):
    api.cookies["csrf-token"] = "abc"

    response = _post(api, HTTP_X_CSRF_TOKEN=header)

    assert response.status_code == 403
    assert body(response) == INVALID


def test_matching_cookie_and_header_pass(api):
    api.cookies["csrf-token"] = "abc"

    response = _post(api, HTTP_X_CSRF_TOKEN="abc")

    assert response.status_code == 200
    assert body(response) == {"success": True, "body": {"a": 1}}


def test_token_from_the_csrf_token_endpoint_round_trips(api):
    issued = api.get("/csrf-token")
    token = body(issued)["csrfToken"]

    response = _post(api, HTTP_X_CSRF_TOKEN=token)

    assert response.status_code == 200


def test_csrf_token_endpoint_issues_a_random_base64url_token_and_cookie(api):
    response = api.get("/csrf-token")
    other = api.get("/api/v1/csrf-token")

    token = body(response)["csrfToken"]
    assert body(response) == {"success": True, "csrfToken": token}
    assert len(token) == 43 and "=" not in token
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert body(other)["csrfToken"] != token
    assert other["X-API-Version"] == "v1"

    cookie = response.cookies["csrf-token"]
    assert cookie.value == token
    assert cookie["max-age"] == 3600
    assert cookie["path"] == "/"
    assert cookie["samesite"] == "Strict"
    assert cookie["httponly"] == ""
    assert cookie["secure"] == ""
    assert cookie["expires"]


def test_csrf_cookie_is_secure_in_production(api, settings):
    settings.VLVT_ENV = "production"

    response = api.get("/csrf-token")

    header = response.cookies["csrf-token"].OutputString()
    assert "Secure" in header
    assert "HttpOnly" not in header
    parsed = SimpleCookie()
    parsed.load(header)
    assert parsed["csrf-token"].value == body(response)["csrfToken"]


@pytest.mark.parametrize("method", ["get", "head", "options"])
def test_safe_methods_are_not_checked(api, method):
    response = getattr(api, method)("/t/describe")

    assert response.status_code in (200, 204)


def test_bearer_header_skips_the_check_even_with_a_bad_token(api):
    response = _post(api, "/t/echo-auth", HTTP_AUTHORIZATION="Bearer not-a-jwt")

    # CSRF let it through; the route's JWT check answers.
    assert response.status_code == 401
    assert body(response) == {"success": False, "error": "Invalid token"}


def test_valid_bearer_token_passes_without_any_csrf_token(api, jwt_for):
    response = _post(api, "/t/echo-auth", HTTP_AUTHORIZATION=f"Bearer {jwt_for('user_1')}")

    assert response.status_code == 200
    assert body(response) == {"success": True, "userId": "user_1", "body": {"a": 1}}


@pytest.mark.parametrize("authorization", ["bearer abc", "Bearerabc", "Basic dXNlcjpwYXNz", "Token abc"])
def test_other_authorization_schemes_do_not_skip_the_check(api, authorization):
    response = _post(api, "/t/echo-auth", HTTP_AUTHORIZATION=authorization)

    assert response.status_code == 403
    assert body(response) == MISSING


def test_mutating_request_without_bearer_gets_csrf_403_before_the_routes_401(api):
    response = _post(api, "/t/echo-auth")

    assert response.status_code == 403
    assert body(response) == MISSING


def test_csrf_runs_before_routing(api):
    response = _post(api, "/no/such/route")

    assert response.status_code == 403
    assert body(response) == MISSING


@pytest.mark.parametrize("path", ["/webhooks/t", "/api/v1/webhooks/t", "/api/internal/t"])
def test_exempt_paths(api, path):
    response = _post(api, path)

    assert response.status_code == 200
    assert body(response) == {"success": True, "body": {"a": 1}}


def test_health_is_exempt(api):
    response = _post(api, "/health")

    # Past CSRF: the route itself only allows GET.
    assert response.status_code == 405
    assert body(response) == {"success": False, "error": "Method not allowed"}


def test_exempt_prefix_is_a_prefix_not_a_substring(api):
    response = _post(api, "/t/webhooks/x")

    assert response.status_code == 403


def test_csrf_on_the_async_path():
    client = AsyncClient()

    refused = async_to_sync(client.post)("/t/echo", {"a": 1}, content_type="application/json")
    client.cookies["csrf-token"] = "tok"
    passed = async_to_sync(client.post)(
        "/t/echo", {"a": 1}, content_type="application/json", headers={"X-CSRF-Token": "tok"}
    )

    assert refused.status_code == 403
    assert body(refused) == MISSING
    assert passed.status_code == 200
