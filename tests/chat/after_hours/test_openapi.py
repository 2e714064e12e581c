"""The After Hours chat OpenAPI description covers exactly chat/after_hours/urls.py, with methods."""

from __future__ import annotations

import re

from chat import openapi as chat_openapi
from chat.after_hours import openapi
from chat.after_hours.urls import urlpatterns
from vlvt.http.api import allowed_methods

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def test_every_route_and_method_is_documented():
    routes = {
        openapi.PREFIX + "/" + _CONVERTER.sub("{matchId}", str(p.pattern)): {
            m.lower() for m in allowed_methods(p.callback)
        }
        - {"head"}
        for p in urlpatterns
    }
    assert {path: set(ops) for path, ops in openapi.PATHS.items()} == routes


def test_operations_are_complete_and_references_resolve():
    for path, ops in openapi.PATHS.items():
        for method, op in ops.items():
            assert op["summary"] and "200" in op["responses"] and op["security"], (path, method)
            assert {p["name"] for p in op["parameters"] if p["in"] == "path"} == {"matchId"}
    schemas = {**chat_openapi.SCHEMAS, **openapi.SCHEMAS}
    for name in re.findall(r"#/components/schemas/(\w+)", repr(openapi.PATHS)):
        assert name in schemas
