"""OpenAPI 3.1 description of the After Hours chat routes, for the project's document (issue 7)
to merge with chat/openapi.py. `tests/chat/after_hours/test_openapi.py` checks it against the
URLconf. The paths are the `/after-hours` ones; each also answers under `/api/after-hours` and
`/api/v1/after-hours`."""

from __future__ import annotations

from typing import Any

from chat.openapi import _STR, _TS, _body, _obj, _ok, _op, _path, _query, _ref

PREFIX = "/after-hours"
_MATCH_ID = _path("matchId", "After Hours match id (a UUID)")
_UUID = {"type": "string", "format": "uuid"}

SCHEMAS: dict[str, Any] = {
    "AfterHoursMessage": _obj(
        ["id", "matchId", "senderId", "text", "timestamp"],
        id=_UUID,
        matchId=_UUID,
        senderId=_STR,
        text=_STR,
        timestamp=_TS,
    ),
}


def _after_hours_op(
    summary: str, responses: dict[str, Any], errors: tuple[int, ...], **extra: Any
) -> dict[str, Any]:
    op = _op(summary, responses, errors, parameters=[_MATCH_ID, *extra.pop("parameters", [])], **extra)
    op["tags"] = ["after-hours-chat"]
    return op


PATHS: dict[str, Any] = {
    f"{PREFIX}/messages/{{matchId}}": {
        "get": _after_hours_op(
            "History of an After Hours chat: up to 50 messages, newest first (also after expiry)",
            _ok(messages={"type": "array", "items": _ref("AfterHoursMessage")}, hasMore={"type": "boolean"}),
            (400, 403, 404),
            parameters=[
                _query("before", {"type": "string", "format": "date-time"}, "only messages older than this")
            ],
        ),
    },
    f"{PREFIX}/matches/{{matchId}}/save": {
        "post": _after_hours_op(
            "Vote to keep the chat; the second vote converts it into a permanent match (messages kept)",
            _ok(mutualSave={"type": "boolean"}, permanentMatchId={"type": ["string", "null"]}),
            (400, 403, 404, 409),
        ),
    },
    f"{PREFIX}/matches/{{matchId}}/block": {
        "post": _after_hours_op(
            "Block the partner and end the chat (permanent matches of the pair are deleted too)",
            _ok(message={"const": "User blocked"}),
            (400, 403, 404),
            requestBody={**_body(_obj(reason={"type": "string", "maxLength": 500})), "required": False},
        ),
    },
    f"{PREFIX}/matches/{{matchId}}/report": {
        "post": _after_hours_op(
            "Report the partner; also blocks them and ends the chat (5 reports a day with POST /reports)",
            _ok(message={"const": "Report submitted"}),
            (400, 403, 404),
            requestBody=_body(
                _obj(
                    ["reason"],
                    reason={"enum": ["inappropriate", "harassment", "spam", "underage", "other"]},
                    details={"type": "string", "maxLength": 1000},
                )
            ),
        ),
    },
}

__all__ = ["PATHS", "PREFIX", "SCHEMAS"]
