"""OpenAPI 3.1 description of the chat-service REST routes: the declarations on the views of
chat/urls.py (vlvt/http/openapi/declare.py) and the schemas of their answers.
`tests/chat/test_rest_openapi.py` checks it against the URLconf.

Each route is also served under `/api/v1`; the paths here are the unversioned ones. Two paths
carry one id whose meaning depends on the method (`/matches/{id}`, `/dates/{id}`), as the
original's routes did.
"""

from __future__ import annotations

from typing import Any

from chat.urls import urlpatterns
from vlvt.http.openapi.declare import (
    BEARER,
    FAILURE,
    STR,
    STR_OR_NULL,
    TS,
    TS_OR_NULL,
    UUID,
    app_document,
    obj,
    paths,
)

__all__ = ["BEARER", "PATHS", "SCHEMAS", "document"]

# Every chat route may answer 429 (rate limit) and 500 (the route's own message); 401 with a token.
USUAL = (429, 500)


def message(id_schema: dict[str, Any]) -> dict[str, Any]:
    """A chat message (its id and match id as `id_schema`: strings here, UUIDs in After Hours)."""
    fields = {"id": id_schema, "matchId": id_schema, "senderId": STR, "text": STR, "timestamp": TS}
    return obj(list(fields), **fields)


SCHEMAS: dict[str, Any] = {
    "Failure": FAILURE,
    "Match": obj(["id", "userId1", "userId2", "createdAt"], id=STR, userId1=STR, userId2=STR, createdAt=TS),
    "Message": message(STR),
    "Pagination": obj(
        ["limit", "hasMore", "oldestTimestamp", "newestTimestamp"],
        limit={"type": "integer", "minimum": 1, "maximum": 100},
        hasMore={"type": "boolean"},
        oldestTimestamp=TS_OR_NULL,
        newestTimestamp=TS_OR_NULL,
    ),
    "Block": obj(
        ["id", "userId", "blockedUserId", "reason", "createdAt"],
        id=STR,
        userId=STR,
        blockedUserId=STR,
        reason=STR_OR_NULL,
        createdAt=TS,
    ),
    "Report": obj(
        ["id", "reporterId", "reportedUserId", "reason", "details", "status", "createdAt"],
        id=STR,
        reporterId=STR,
        reportedUserId=STR,
        reason=STR,
        details=STR_OR_NULL,
        status=STR,
        createdAt=TS,
    ),
    "DateProposal": obj(
        ["id", "matchId", "proposerId", "placeName", "proposedDate", "proposedTime", "status", "createdAt"],
        id=UUID,
        matchId=STR,
        proposerId=STR,
        proposerName={"type": ["string", "null"], "description": "listing only"},
        placeId=STR_OR_NULL,
        placeName=STR,
        placeAddress=STR_OR_NULL,
        placeLat={"type": ["string", "null"], "description": "NUMERIC(10,8) as a string"},
        placeLng={"type": ["string", "null"], "description": "NUMERIC(11,8) as a string"},
        proposedDate=TS,
        proposedTime={"type": "string", "pattern": "^\\d{2}:\\d{2}:\\d{2}$"},
        note=STR_OR_NULL,
        status={"enum": ["pending", "accepted", "declined", "completed", "cancelled"]},
        respondedAt=TS_OR_NULL,
        completedAt=TS_OR_NULL,
        proposerConfirmed={"type": "boolean"},
        recipientConfirmed={"type": "boolean"},
        createdAt=TS,
    ),
}

PATHS: dict[str, Any] = paths(urlpatterns, tag="chat", usual=USUAL, names={"key": "id"})


def document() -> dict[str, Any]:
    """A complete OpenAPI document for the chat routes alone."""
    return app_document("VLVT chat API", PATHS, SCHEMAS)
