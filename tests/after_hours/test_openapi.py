"""The After Hours OpenAPI description covers exactly the routes of profiles/after_hours/urls.py."""

from __future__ import annotations

import re

from profiles.after_hours import openapi
from profiles.after_hours.urls import urlpatterns
from vlvt.http.api import allowed_methods


def routes() -> dict[str, set[str]]:
    table = {}
    for pattern in urlpatterns:
        if pattern.callback.__name__ == "unknown":  # the gated 404 for every other path
            continue
        methods = {m.lower() for m in allowed_methods(pattern.callback)} - {"head", "options"}
        table[f"{openapi.PREFIX}/{pattern.pattern}"] = methods
    return table


def test_every_route_and_method_is_documented():
    assert {path: set(ops) for path, ops in openapi.PATHS.items()} == routes()


def test_every_schema_reference_resolves():
    for name in re.findall(r"#/components/schemas/(\w+)", repr(openapi.document())):
        assert name in openapi.SCHEMAS


def test_document_shape():
    doc = openapi.document()
    assert doc["openapi"].startswith("3.1")
    created = {
        ("/after-hours/profile", "post"),
        ("/after-hours/preferences", "post"),
        ("/after-hours/session/start", "post"),
    }
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["security"] == openapi.BEARER
            assert ("201" if (path, method) in created else "200") in op["responses"], (path, method)
            assert {"401", "403", "429", "500"} <= set(op["responses"])
