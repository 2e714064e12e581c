"""The served OpenAPI description matches the URL resolver: every route documented with its
methods, nothing documented that is not routed; and it is served as JSON and as a page."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from vlvt.http.auth import mint_token
from vlvt.http.openapi import REF_PREFIX, document

# Not part of the API: the staff admin and its static files (HTML for people, not clients), and the
# After Hours catch-all that answers 404 for unknown After Hours paths.
UNDOCUMENTED = {"/admin/", "/static/{}", "/after-hours/{}"}
# Included twice in vlvt/urls.py: the same routes under a second prefix (said in the description).
ALIASES = {"/api/after-hours/": "/after-hours/"}

_CONVERTER = re.compile(r"<(?:\w+:)?\w+>")
_GROUP = re.compile(r"\(\?P<\w+>[^)]*\)")
_PLACEHOLDER = re.compile(r"{\w+}")


def _template(pattern: str) -> str:
    """A Django route or regex as a path with `{}` for each parameter."""
    text = _CONVERTER.sub("{}", _GROUP.sub("{}", pattern))
    return "/" + text.replace("^", "").replace("$", "")


def routed() -> dict[str, set[str] | None]:
    """Every routed path template -> its methods (None: a view that answers any method)."""
    table: dict[str, set[str] | None] = {}

    def walk(patterns: list, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                here = _template(prefix + str(entry.pattern))
                if here in UNDOCUMENTED:
                    continue
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                path = _template(prefix + str(entry.pattern))
                for alias, canonical in ALIASES.items():
                    if path.startswith(alias):
                        path = canonical + path[len(alias) :]
                if path in UNDOCUMENTED:
                    continue
                methods = getattr(entry.callback, "allowed_methods", None)
                table[path] = None if methods is None else {m.lower() for m in methods} - {"head", "options"}

    walk(get_resolver().url_patterns, "")
    return table


def documented() -> dict[str, set[str]]:
    return {_PLACEHOLDER.sub("{}", path): set(ops) for path, ops in document()["paths"].items()}


def test_every_route_is_documented_and_every_documented_path_is_routed():
    routes, docs = routed(), documented()
    assert sorted(set(routes) - set(docs)) == [], "routes missing from the OpenAPI description"
    assert sorted(set(docs) - set(routes)) == [], "documented paths that no route serves"


def test_every_method_is_documented():
    docs = documented()
    for path, methods in routed().items():
        if methods is None:  # e.g. /socket.io/ answers every method the same way
            assert docs[path], path
        else:
            assert docs[path] == methods, path


def test_every_operation_has_a_summary_responses_and_resolvable_references():
    doc = document()
    text = json.dumps(doc)
    for name in re.findall(re.escape(REF_PREFIX) + r"([\w.]+)", text):
        assert name in doc["components"]["schemas"], name
    for path, operations in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in operations.items():
            assert op["summary"] and op["responses"], (path, method)
            assert any(code.startswith("2") or code == "400" for code in op["responses"]), (path, method)
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, method)


def test_every_app_answers_errors_with_the_one_failure_schema():
    schemas = document()["components"]["schemas"]
    assert not [name for name in schemas if "." in name or name.endswith("Failure") and name != "Failure"]
    for path in ("/messages", "/profile", "/after-hours/session", "/after-hours/messages/{matchId}"):
        for op in document()["paths"][path].values():
            assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": REF_PREFIX + "Failure"
            }


@pytest.mark.django_db
def test_the_description_is_served_as_json_and_as_a_page(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == json.loads(json.dumps(document()))
    versioned = client.get("/api/v1/openapi.json")
    assert versioned.status_code == 200 and versioned.json() == response.json()

    page = client.get("/docs")
    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    html = page.content.decode()
    assert '<a href="/openapi.json">' in html and "<script" not in html
    for path in ("/profile/{userId}", "/messages/{matchId}", "/after-hours/session/start", "/health"):
        assert f"<code>{path}</code>" in html, path
    assert client.post("/docs", headers={"Authorization": "Bearer x"}).status_code == 405


def test_a_url_two_routes_fit_documents_the_405_of_the_route_listed_first(client):
    # /profile/photos/location fits PUT /profile/{userId}/location and DELETE /profile/photos/{photoId};
    # the photo route is listed first and answers the PUT with 405, which both operations document.
    with_405 = sorted(
        (path, method)
        for path, operations in document()["paths"].items()
        for method, operation in operations.items()
        if "405" in operation["responses"]
    )
    assert with_405 == [("/profile/photos/{photoId}", "delete"), ("/profile/{userId}/location", "put")]
    token = mint_token("photos")
    response = client.put(
        "/profile/photos/location",
        data={"latitude": 1, "longitude": 2},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 405
    assert response.json()["success"] is False
