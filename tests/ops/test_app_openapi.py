"""Each app's OpenAPI description (chat's, profiles') covers exactly the routes of its urls.py, with
their methods, path parameters named as in the template, and references that resolve."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest

from chat import openapi as chat_openapi
from chat import urls as chat_urls
from profiles import openapi as profiles_openapi
from profiles import urls as profiles_urls
from vlvt.http.api import allowed_methods

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
# Each app's Django path parameters as its description names them.
APPS = {
    "chat": (
        chat_openapi,
        chat_urls.urlpatterns,
        {
            "user_id": "userId",
            "match_id": "matchId",
            "blocked_user_id": "blockedUserId",
            "proposal_id": "proposalId",
            "key": "id",
        },
    ),
    "profiles": (
        profiles_openapi,
        profiles_urls.urlpatterns,
        {"user_id": "userId", "photo_id": "photoId", "key": "key"},
    ),
}


def routes(urlpatterns: list[Any], camel: dict[str, str]) -> dict[str, set[str]]:
    table = {}
    for pattern in urlpatterns:
        path = "/" + _CONVERTER.sub(lambda m: "{" + camel[m.group(1)] + "}", str(pattern.pattern))
        table[path] = {m.lower() for m in allowed_methods(pattern.callback)} - {"head", "options"}
    return table


@pytest.fixture(params=sorted(APPS))
def app(request: pytest.FixtureRequest) -> tuple[ModuleType, list[Any], dict[str, str]]:
    return APPS[request.param]


def test_every_route_and_method_is_documented(app):
    openapi, urlpatterns, camel = app
    assert {path: set(ops) for path, ops in openapi.PATHS.items()} == routes(urlpatterns, camel)


def test_path_parameters_match_the_template(app):
    openapi, _, _ = app
    for path, ops in openapi.PATHS.items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, method)


def test_every_schema_reference_resolves(app):
    openapi, _, _ = app
    for name in re.findall(r"#/components/schemas/(\w+)", repr(openapi.document())):
        assert name in openapi.SCHEMAS


def test_document_shape(app):
    openapi, _, _ = app
    doc = openapi.document()
    assert doc["openapi"] == "3.1.0"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and "200" in op["responses"], (path, method)


def test_only_the_moderation_list_of_chat_is_open_to_anyone_without_a_token():
    # GET /reports is the moderation service's (its own key); every other chat route needs a Bearer.
    for path, ops in chat_openapi.document()["paths"].items():
        for method, op in ops.items():
            assert ("security" in op) == (not (path == "/reports" and method == "get")), (path, method)
