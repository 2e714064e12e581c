"""API versioning (docs/contract.md, "Paths and versions" and D5)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tests.http.helpers import body

pytestmark = pytest.mark.urls("tests.http.urls")


def test_versioned_path_is_rewritten_and_marked(api):
    response = api.get("/api/v1/t/describe")

    assert response.status_code == 200
    assert body(response) == {
        "success": True,
        "path": "/api/v1/t/describe",
        "pathInfo": "/t/describe",
        "apiVersion": 1,
        "correlationId": response["X-Correlation-ID"],
    }
    assert response["X-API-Version"] == "v1"
    assert "X-API-Legacy-Route" not in response


def test_unversioned_path_is_a_legacy_route(api):
    response = api.get("/t/describe")

    assert response.status_code == 200
    assert body(response)["pathInfo"] == "/t/describe"
    assert body(response)["apiVersion"] == 1
    assert response["X-API-Version"] == "v1"
    assert response["X-API-Legacy-Route"] == "true"


def test_leading_zeros_name_the_same_version(api):
    response = api.get("/api/v001/t/describe")

    assert response.status_code == 200
    assert body(response)["pathInfo"] == "/t/describe"
    assert response["X-API-Version"] == "v1"


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/api/v2/t/describe", "v2"),
        ("/api/v0/t/describe", "v0"),
        ("/api/v2", "v2"),
        ("/api/v007/matches", "v7"),
        ("/api/v99999999999999999999999/x", "v99999999999999999999999"),
    ],
)
def test_unsupported_version_is_400_advertising_only_supported_versions(api, path, shown):
    response = api.get(path)

    assert response.status_code == 400
    assert body(response) == {
        "success": False,
        "error": f"API version {shown} is not supported",
        "supportedVersions": [1],
        "currentVersion": 1,
    }
    assert "X-API-Version" not in response


def test_bare_version_prefix_is_the_root_which_is_not_found(api):
    response = api.get("/api/v1")

    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Not found"}
    assert response["X-API-Version"] == "v1"


@pytest.mark.parametrize("path", ["/api/vx/t/describe", "/api/v1x/t/describe", "/api/version/t/describe"])
def test_paths_that_only_look_versioned_stay_legacy(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Not found"}
    assert response["X-API-Legacy-Route"] == "true"


def test_unknown_path_under_a_version_gets_the_version_header(api):
    response = api.get("/api/v1/nothing/here")

    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Not found"}
    assert response["X-API-Version"] == "v1"


def test_csrf_runs_before_the_version_check(api, jwt_for):
    without_token = api.post("/api/v2/t/echo", "{}", content_type="application/json")
    with_token = api.post(
        "/api/v2/t/echo", "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {jwt_for('u1')}"
    )

    assert without_token.status_code == 403
    assert body(without_token)["code"] == "CSRF_TOKEN_MISSING"
    assert with_token.status_code == 400
    assert body(with_token)["error"] == "API version v2 is not supported"


def test_versioning_on_the_async_path():
    client = AsyncClient()

    versioned = async_to_sync(client.get)("/api/v1/t/async")
    unsupported = async_to_sync(client.get)("/api/v3/t/async")

    assert versioned.status_code == 200
    assert body(versioned) == {
        "success": True,
        "pathInfo": "/t/async",
        "correlationId": versioned["X-Correlation-ID"],
    }
    assert versioned["X-API-Version"] == "v1"
    assert unsupported.status_code == 400
    assert body(unsupported)["error"] == "API version v3 is not supported"
