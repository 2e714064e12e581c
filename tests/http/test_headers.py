"""Security headers (helmet), CORS (cors) and the correlation id on every response."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.test import AsyncClient

from tests.http.helpers import SECURITY_HEADERS, body, headers_subset
from vlvt.http.middleware import ApiVersionMiddleware, CsrfDoubleSubmitMiddleware, RequestContextMiddleware
from vlvt.server.handlers import PooledThreadASGIHandler

pytestmark = pytest.mark.urls("tests.http.urls")

APP_ORIGIN = "http://localhost:19006"
GENERATED_ID = re.compile(r"err-[0-9]{10}-[0-9a-f]{8}")


def _responses(api, jwt_for):
    return {
        "200": api.get("/t/describe"),
        "404": api.get("/no/such/path"),
        "403 csrf": api.post("/t/echo", "{}", content_type="application/json"),
        "400 version": api.get("/api/v9/t/describe"),
        "400 json": api.post("/t/echo", "{x", content_type="application/json", HTTP_AUTHORIZATION="Bearer x"),
        "413": api.post(
            "/t/echo", "1" * 20000, content_type="application/json", HTTP_AUTHORIZATION="Bearer x"
        ),
        "500": api.get("/t/boom"),
        "204 preflight": api.options("/t/echo"),
        "text": api.get("/.well-known/security.txt"),
    }


def test_every_response_carries_the_helmet_headers(api, jwt_for):
    for name, response in _responses(api, jwt_for).items():
        assert headers_subset(response, SECURITY_HEADERS) == SECURITY_HEADERS, name
        assert "X-Powered-By" not in response, name


def test_every_response_carries_a_correlation_id_and_the_cors_credentials_header(api, jwt_for):
    ids = set()
    for name, response in _responses(api, jwt_for).items():
        assert GENERATED_ID.fullmatch(response["X-Correlation-ID"]), name
        assert response["Access-Control-Allow-Credentials"] == "true", name
        assert response["Vary"] == "Origin", name
        ids.add(response["X-Correlation-ID"])
    assert len(ids) == 9


def test_a_header_set_by_the_view_is_kept(api):
    response = api.get("/t/framed")

    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_incoming_correlation_id_is_reused_and_given_to_the_view(api):
    response = api.get("/t/describe", HTTP_X_CORRELATION_ID="client-trace-42")

    assert response["X-Correlation-ID"] == "client-trace-42"
    assert body(response)["correlationId"] == "client-trace-42"


@pytest.mark.parametrize("incoming", ["x" * 201, "caf\u00e9", "tab\there"])
def test_unsafe_incoming_correlation_id_is_replaced(api, incoming):
    response = api.get("/t/describe", HTTP_X_CORRELATION_ID=incoming)

    assert GENERATED_ID.fullmatch(response["X-Correlation-ID"])
    assert body(response)["correlationId"] == response["X-Correlation-ID"]


def test_allowed_origin_is_echoed_with_credentials(api):
    response = api.get("/t/describe", HTTP_ORIGIN=APP_ORIGIN)

    assert headers_subset(
        response, ["Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Vary"]
    ) == {
        "Access-Control-Allow-Origin": APP_ORIGIN,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }
    # Preflight-only headers are not on ordinary responses.
    assert "Access-Control-Allow-Methods" not in response


def test_other_origin_gets_no_allow_origin(api):
    response = api.get("/t/describe", HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert response["Vary"] == "Origin"


def test_preflight_is_answered_204_before_routing_and_csrf(api):
    response = api.options(
        "/api/v1/after-hours/session",
        HTTP_ORIGIN=APP_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )

    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response
    assert headers_subset(
        response,
        [
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Credentials",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers",
            "Vary",
        ],
    ) == {
        "Access-Control-Allow-Origin": APP_ORIGIN,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type,Authorization,X-Admin-API-Key,X-CSRF-Token,Idempotency-Key",
        "Vary": "Origin",
    }


def test_preflight_from_another_origin_gets_no_allow_origin(api):
    response = api.options(
        "/t/echo", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )

    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response


def test_origin_list_from_settings(api, settings):
    settings.CORS_ORIGINS = ["https://app.getvlvt.vip", "https://admin.getvlvt.vip"]

    admin = api.get("/t/describe", HTTP_ORIGIN="https://admin.getvlvt.vip")
    old_default = api.get("/t/describe", HTTP_ORIGIN=APP_ORIGIN)

    assert admin["Access-Control-Allow-Origin"] == "https://admin.getvlvt.vip"
    assert "Access-Control-Allow-Origin" not in old_default


def test_wildcard_origin_in_development(api, settings):
    settings.CORS_ORIGINS = ["*"]

    response = api.get("/t/describe", HTTP_ORIGIN="https://anything.example")

    assert response["Access-Control-Allow-Origin"] == "*"


def test_headers_on_the_async_path():
    response = async_to_sync(AsyncClient().get)("/t/async", headers={"Origin": APP_ORIGIN})

    assert response.status_code == 200
    assert headers_subset(response, SECURITY_HEADERS) == SECURITY_HEADERS
    assert response["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert GENERATED_ID.fullmatch(response["X-Correlation-ID"])
    assert response["X-API-Legacy-Route"] == "true"


def test_the_middleware_is_sync_only_as_the_server_runs_it():
    """The server's handler builds the chain for sync use and runs it on the request's thread: the
    middleware has no async path that production would never run (Django adapts it under
    AsyncClient, as the async-path tests above show)."""
    for cls in (RequestContextMiddleware, CsrfDoubleSubmitMiddleware, ApiVersionMiddleware):
        assert cls.sync_capable and not cls.async_capable
    assert not iscoroutinefunction(PooledThreadASGIHandler()._middleware_chain)  # type: ignore[attr-defined]  # Django's private chain, not in the stubs


@pytest.mark.django_db
def test_the_conventions_cost_no_database_query(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api.get("/api/v1/t/describe", HTTP_ORIGIN=APP_ORIGIN)
    assert response.status_code == 200
