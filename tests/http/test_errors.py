"""Errors are JSON everywhere, never HTML, and bad input is never a 500 (docs/contract.md, D1)."""

from __future__ import annotations

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.http.helpers import body

pytestmark = pytest.mark.urls("tests.http.urls")

BEARER = {"HTTP_AUTHORIZATION": "Bearer x"}  # past CSRF; the test routes here take no auth
TOO_LARGE = {"success": False, "error": "Request body too large"}
FILE_TOO_LARGE = {"success": False, "error": "File too large"}
MALFORMED = {"success": False, "error": "Malformed JSON in request body"}
LIMIT = 10 * 1024
PHOTO_LIMIT = 10 * 1024 * 1024


def _json_post(api, raw, path="/t/echo", **extra):
    return api.post(path, raw, content_type="application/json", **{**BEARER, **extra})


# --- 404 / 405 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nothing", "/api/v1/nothing", "/profile/", "/admin", "/t/describe/"])
def test_unknown_path_is_json_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Not found"}


def test_http404_raised_by_a_view_is_json_404(api):
    response = api.get("/t/missing")

    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Not found"}


def test_wrong_method_is_json_405_with_allow(api):
    response = api.get("/t/echo")

    assert response.status_code == 405
    assert body(response) == {"success": False, "error": "Method not allowed"}
    assert response["Allow"] == "DELETE, OPTIONS, PATCH, POST, PUT"


# --- bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{bad json",
        b'{"a": 1,}',
        b"NaN",
        b'{"a": Infinity}',
        b"\xff\xfe{}",
        b'{"n": ' + b"9" * 5000 + b"}",  # an integer Python refuses to parse
    ],
)
def test_malformed_json_is_400(api, raw):
    response = _json_post(api, raw)

    assert response.status_code == 400
    assert body(response) == MALFORMED


@pytest.mark.parametrize("depth", [33, 500, 5000])  # 5000 exhausts the parser's own recursion
def test_json_nested_too_deeply_is_400(api, depth):
    response = _json_post(api, b"[" * depth + b"]" * depth)

    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "Request body nested too deeply"}


def test_malformed_json_is_refused_before_csrf_and_auth(api):
    # The original's body parser ran before everything else.
    response = api.post("/t/echo-auth", b"{bad", content_type="application/json")

    assert response.status_code == 400
    assert body(response) == MALFORMED


def test_json_that_is_not_an_object_is_400(api):
    response = _json_post(api, b"[1, 2]")

    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "Request body must be a JSON object"}


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_empty_json_body_is_an_empty_object(api, content_type):
    response = api.post("/t/echo", b"", content_type=content_type, **BEARER)

    assert response.status_code == 200
    assert body(response) == {"success": True, "body": {}}


def test_json_body_at_the_limit_is_accepted(api):
    raw = b'{"a":"' + b"x" * (LIMIT - 8) + b'"}'
    assert len(raw) == LIMIT

    response = _json_post(api, raw)

    assert response.status_code == 200
    assert len(body(response)["body"]["a"]) == LIMIT - 8


def test_json_body_over_the_limit_is_413(api):
    raw = b'{"a":"' + b"x" * (LIMIT - 7) + b'"}'

    response = _json_post(api, raw)

    assert response.status_code == 413
    assert body(response) == TOO_LARGE


def test_oversized_body_is_refused_by_content_length_before_csrf_and_routing(api):
    # Content-Length alone decides: the body is never read.
    response = api.post("/no/route", b"{}", content_type="application/json", CONTENT_LENGTH=str(LIMIT + 1))

    assert response.status_code == 413
    assert body(response) == TOO_LARGE


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]
)
def test_other_bodies_over_the_limit_are_413(api, content_type):
    response = api.post("/t/echo", b"a=" + b"x" * LIMIT, content_type=content_type, **BEARER)

    assert response.status_code == 413
    assert body(response) == TOO_LARGE


def test_invalid_content_length_is_400(api):
    response = api.post("/t/echo", b"{}", content_type="application/json", CONTENT_LENGTH="12abc", **BEARER)

    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "Invalid Content-Length header"}


def test_form_body_with_too_many_fields_is_400(api):
    raw = "&".join(f"f{i}=1" for i in range(101))

    response = api.post("/t/echo", raw, content_type="application/x-www-form-urlencoded", **BEARER)

    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "Too many fields in request body"}


def test_form_body_is_read_as_strings(api):
    response = api.post(
        "/t/echo", "age=25&name=Ann", content_type="application/x-www-form-urlencoded", **BEARER
    )

    assert response.status_code == 200
    assert body(response) == {"success": True, "body": {"age": "25", "name": "Ann"}}


# --- multipart ------------------------------------------------------------------------------------


def test_multipart_file_at_the_limit_is_accepted(api):
    photo = SimpleUploadedFile("p.jpg", b"\xff" * PHOTO_LIMIT, content_type="image/jpeg")

    response = api.post("/t/upload", {"photo": photo, "name": "n"}, **BEARER)

    assert response.status_code == 200
    assert body(response) == {"success": True, "size": PHOTO_LIMIT, "name": "n"}


def test_multipart_file_over_the_limit_is_stopped_while_streaming(api):
    # The body is within the multipart allowance (file + envelope); the file itself is 1 byte over.
    photo = SimpleUploadedFile("p.jpg", b"\xff" * (PHOTO_LIMIT + 1), content_type="image/jpeg")

    response = api.post("/t/upload", {"photo": photo}, **BEARER)

    assert response.status_code == 413
    assert body(response) == FILE_TOO_LARGE


def test_multipart_body_far_over_the_limit_is_refused_by_content_length(api):
    photo = SimpleUploadedFile("p.jpg", b"\xff" * (PHOTO_LIMIT + 100 * 1024), content_type="image/jpeg")

    response = api.post("/no/route", {"photo": photo})

    assert response.status_code == 413
    assert body(response) == FILE_TOO_LARGE


def test_multipart_text_fields_keep_the_10kb_limit(api):
    response = api.post("/t/upload", {"name": "x" * (LIMIT + 1)}, **BEARER)

    assert response.status_code == 413
    assert body(response) == TOO_LARGE


# --- exceptions -----------------------------------------------------------------------------------


def test_unhandled_exception_is_json_500_and_logged(api, caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = api.get("/t/boom")

    assert response.status_code == 500
    assert body(response) == {"success": False, "error": "Internal server error"}
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert record.correlationId == response["X-Correlation-ID"]


def test_default_test_client_sees_the_exception():
    # Sanity check of the tests above: without raise_request_exception=False it would raise.
    with pytest.raises(RuntimeError):
        Client().get("/t/boom")


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/t/suspicious", 400, "Bad request"),
        ("/t/forbidden", 403, "Forbidden"),
        ("/t/too-big", 413, "Request body too large"),
        ("/t/file-too-big", 413, "File too large"),
    ],
)
def test_django_exceptions_become_json(api, path, status, error):
    response = api.get(path)

    assert response.status_code == status
    assert body(response) == {"success": False, "error": error}


def test_disallowed_host_is_json_400(api, settings):
    settings.ALLOWED_HOSTS = ["api.getvlvt.vip"]

    refused = api.get("/t/describe", HTTP_HOST="evil.example")
    allowed = api.get("/t/describe", HTTP_HOST="api.getvlvt.vip")

    assert refused.status_code == 400
    assert body(refused) == {"success": False, "error": "Invalid Host header"}
    assert allowed.status_code == 200


def test_html_error_responses_are_turned_into_json(api):
    not_allowed = api.get("/t/html-405")
    bad = api.get("/t/html-400")

    assert not_allowed.status_code == 405
    assert body(not_allowed) == {"success": False, "error": "Method not allowed"}
    assert not_allowed["Allow"] == "GET"
    assert bad.status_code == 400
    assert body(bad) == {"success": False, "error": "Bad request"}


def test_admin_is_still_reachable_and_its_errors_are_json(api):
    login = api.get("/admin/login/")
    post_without_djangos_csrf = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x"})

    assert login.status_code == 200
    assert login["Content-Type"].startswith("text/html")
    # Our double-submit check leaves /admin/ to Django's own CSRF protection, whose HTML failure
    # page leaves as JSON.
    assert post_without_djangos_csrf.status_code == 403
    assert body(post_without_djangos_csrf) == {"success": False, "error": "Forbidden"}
