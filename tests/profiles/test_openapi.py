"""The profiles OpenAPI description covers exactly the routes of profiles/urls.py, with their methods."""

from __future__ import annotations

import re

from profiles import openapi
from profiles.urls import urlpatterns
from vlvt.http.api import allowed_methods

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_CAMEL = {"user_id": "userId", "photo_id": "photoId", "key": "key"}


def routes() -> dict[str, set[str]]:
    table = {}
    for pattern in urlpatterns:
        path = "/" + _CONVERTER.sub(lambda m: "{" + _CAMEL[m.group(1)] + "}", str(pattern.pattern))
        methods = {m.lower() for m in allowed_methods(pattern.callback)} - {"head", "options"}
        table[path] = methods
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
    text = repr(openapi.document())
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in openapi.SCHEMAS


def test_document_is_a_valid_openapi_shape():
    doc = openapi.document()
    assert doc["openapi"].startswith("3.1")
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "200" in op["responses"], (path, method)
            assert op["summary"]
