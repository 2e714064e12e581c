"""The chat OpenAPI description covers exactly the routes of chat/urls.py, with their methods."""

from __future__ import annotations

import re

from chat import openapi
from chat.urls import urlpatterns
from vlvt.http.api import allowed_methods

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_CAMEL = {
    "user_id": "userId",
    "match_id": "matchId",
    "blocked_user_id": "blockedUserId",
    "proposal_id": "proposalId",
    "key": "id",
}


def routes() -> dict[str, set[str]]:
    table = {}
    for pattern in urlpatterns:
        path = "/" + _CONVERTER.sub(lambda m: "{" + _CAMEL[m.group(1)] + "}", str(pattern.pattern))
        table[path] = {m.lower() for m in allowed_methods(pattern.callback)} - {"head", "options"}
    return table


def test_every_route_and_method_is_documented():
    assert {path: set(ops) for path, ops in openapi.PATHS.items()} == routes()


def test_path_parameters_match_the_template():
    for path, ops in openapi.PATHS.items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, method)


def test_every_schema_reference_resolves():
    for name in re.findall(r"#/components/schemas/(\w+)", repr(openapi.document())):
        assert name in openapi.SCHEMAS


def test_document_shape():
    doc = openapi.document()
    assert doc["openapi"] == "3.1.0"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and "200" in op["responses"], (path, method)
            assert ("security" in op) == (not (path == "/reports" and method == "get")), (path, method)
