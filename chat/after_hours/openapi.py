"""OpenAPI 3.1 description of the After Hours chat routes: the declarations on the views of
chat/after_hours/urls.py and the schema of their messages, with chat's conventions.
`tests/chat/after_hours/test_openapi.py` checks it against the URLconf. The paths are the
`/after-hours` ones; each also answers under `/api/after-hours` and `/api/v1/after-hours`."""

from __future__ import annotations

from typing import Any

from chat.after_hours.urls import urlpatterns
from chat.openapi import USUAL, message
from vlvt.http.openapi.declare import UUID, paths

PREFIX = "/after-hours"

SCHEMAS: dict[str, Any] = {
    "AfterHoursMessage": message(UUID),
}

PATHS: dict[str, Any] = paths(urlpatterns, tag="after-hours-chat", usual=USUAL, prefix=PREFIX)

__all__ = ["PATHS", "PREFIX", "SCHEMAS"]
