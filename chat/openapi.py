"""OpenAPI 3.1 description of the chat-service REST routes (issue 5), merged into the project's
document by the API docs (issue 7). `tests/chat/test_rest_openapi.py` checks it against the URLconf.

Each route is also served under `/api/v1`; the paths here are the unversioned ones. Two paths
carry one id whose meaning depends on the method (`/matches/{id}`, `/dates/{id}`), as the
original's routes did.
"""

from __future__ import annotations

from typing import Any

from chat.validation import APP_REPORT_REASONS, REPORT_REASONS

BEARER = [{"bearerAuth": []}]
_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_TS = {"type": "string", "format": "date-time"}
_TS_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_STR_LIST = {"type": "array", "items": _STR}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _obj(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _ok(**properties: Any) -> dict[str, Any]:
    return {"200": _json(_obj(["success"], success={"const": True}, **properties))}


def _op(
    summary: str, responses: dict[str, Any], errors: tuple[int, ...], *, auth: bool = True, **extra: Any
) -> dict[str, Any]:
    codes = set(errors) | {429, 500} | ({401} if auth else set())
    all_responses = {**responses, **{str(c): _json(_ref("Failure"), "Error") for c in sorted(codes)}}
    op: dict[str, Any] = {"summary": summary, "tags": ["chat"], "responses": all_responses, **extra}
    if auth:
        op["security"] = BEARER
    return op


def _path(name: str, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _STR, "description": description}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


SCHEMAS: dict[str, Any] = {
    "Failure": _obj(
        ["success"],
        success={"const": False},
        error=_STR,
        code={"type": "string", "description": "PROFILE_INCOMPLETE or MESSAGE_LIMIT_REACHED where relevant"},
        missingFields=_STR_LIST,
        message=_STR,
        errors={"type": "array", "items": _obj(["field", "message"], field=_STR, message=_STR)},
    ),
    "Match": _obj(
        ["id", "userId1", "userId2", "createdAt"], id=_STR, userId1=_STR, userId2=_STR, createdAt=_TS
    ),
    "Message": _obj(
        ["id", "matchId", "senderId", "text", "timestamp"],
        id=_STR,
        matchId=_STR,
        senderId=_STR,
        text=_STR,
        timestamp=_TS,
    ),
    "Pagination": _obj(
        ["limit", "hasMore", "oldestTimestamp", "newestTimestamp"],
        limit={"type": "integer", "minimum": 1, "maximum": 100},
        hasMore={"type": "boolean"},
        oldestTimestamp=_TS_OR_NULL,
        newestTimestamp=_TS_OR_NULL,
    ),
    "Block": _obj(
        ["id", "userId", "blockedUserId", "reason", "createdAt"],
        id=_STR,
        userId=_STR,
        blockedUserId=_STR,
        reason=_STR_OR_NULL,
        createdAt=_TS,
    ),
    "Report": _obj(
        ["id", "reporterId", "reportedUserId", "reason", "details", "status", "createdAt"],
        id=_STR,
        reporterId=_STR,
        reportedUserId=_STR,
        reason=_STR,
        details=_STR_OR_NULL,
        status=_STR,
        createdAt=_TS,
    ),
    "DateProposal": _obj(
        ["id", "matchId", "proposerId", "placeName", "proposedDate", "proposedTime", "status", "createdAt"],
        id={"type": "string", "format": "uuid"},
        matchId=_STR,
        proposerId=_STR,
        proposerName={"type": ["string", "null"], "description": "listing only"},
        placeId=_STR_OR_NULL,
        placeName=_STR,
        placeAddress=_STR_OR_NULL,
        placeLat={"type": ["string", "null"], "description": "NUMERIC(10,8) as a string"},
        placeLng={"type": ["string", "null"], "description": "NUMERIC(11,8) as a string"},
        proposedDate=_TS,
        proposedTime={"type": "string", "pattern": "^\\d{2}:\\d{2}:\\d{2}$"},
        note=_STR_OR_NULL,
        status={"enum": ["pending", "accepted", "declined", "completed", "cancelled"]},
        respondedAt=_TS_OR_NULL,
        completedAt=_TS_OR_NULL,
        proposerConfirmed={"type": "boolean"},
        recipientConfirmed={"type": "boolean"},
        createdAt=_TS,
    ),
}

_MESSAGE_OK = {"message": _STR}

PATHS: dict[str, Any] = {
    "/matches": {
        "post": _op(
            "Confirm a mutual like: the pair's existing match, or a new one when both liked each other",
            _ok(match=_ref("Match"), alreadyExists={"const": True}),
            (400, 403, 404),
            requestBody=_body(_obj(["userId1", "userId2"], userId1=_STR, userId2=_STR)),
        ),
    },
    "/matches/{userId}/unread-counts": {
        "get": _op(
            "Unread messages per match (only matches with some)",
            _ok(unreadCounts={"type": "object", "additionalProperties": {"type": "integer"}}),
            (403,),
            parameters=[_path("userId", "must be the caller")],
        ),
    },
    "/matches/{id}": {
        "get": _op(
            "The caller's matches (`id` is the caller's user id)",
            _ok(matches={"type": "array", "items": _ref("Match")}),
            (403,),
            parameters=[_path("id", "user id")],
        ),
        "delete": _op(
            "Unmatch (`id` is a match id); messages, receipts and date proposals go with it",
            _ok(**_MESSAGE_OK),
            (403, 404),
            parameters=[_path("id", "match id")],
        ),
    },
    "/messages": {
        "post": _op(
            "Send a message (same rules as the socket send, 500 characters; 429 when the free daily cap is used up)",
            _ok(message=_ref("Message")),
            (400, 403),
            requestBody=_body(
                _obj(
                    ["matchId", "senderId", "text"],
                    matchId=_STR,
                    senderId=_STR,
                    text={"type": "string", "minLength": 1, "maxLength": 500},
                    tempId={
                        "type": ["string", "integer"],
                        "description": "client id; a resend returns the stored message",
                    },
                )
            ),
            parameters=[
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    "description": "the tempId, as a header (a retry with the same key returns the stored message; "
                    "must equal `tempId` when both are sent)",
                }
            ],
        ),
    },
    "/messages/{matchId}": {
        "get": _op(
            "Message history, oldest first, newest `limit` inside the cursors",
            _ok(messages={"type": "array", "items": _ref("Message")}, pagination=_ref("Pagination")),
            (400, 403),
            parameters=[
                _path("matchId"),
                _query("limit", _STR, "parseInt; missing, NaN or 0 means 50; clamped to 1..100"),
                _query("before", _TS, "only messages older than this"),
                _query("after", _TS, "only messages newer than this"),
            ],
        ),
    },
    "/messages/{matchId}/mark-read": {
        "put": _op(
            "Mark the partner's messages read (all, or `messageIds`)",
            _ok(count={"type": "integer"}, messageIds=_STR_LIST),
            (400, 403),
            parameters=[_path("matchId")],
            requestBody=_body(_obj(["userId"], userId=_STR, messageIds=_STR_LIST)),
        ),
    },
    "/blocks": {
        "post": _op(
            "Block a user: deletes the pair's matches and declines their active After Hours match",
            _ok(**_MESSAGE_OK),
            (400, 403, 404),
            requestBody=_body(
                _obj(
                    ["userId", "blockedUserId"],
                    userId=_STR,
                    blockedUserId=_STR,
                    reason={"type": "string", "maxLength": 500},
                )
            ),
        ),
    },
    "/blocks/{userId}": {
        "get": _op(
            "The caller's blocks, newest first",
            _ok(blockedUsers={"type": "array", "items": _ref("Block")}),
            (403,),
            parameters=[_path("userId", "must be the caller")],
        ),
    },
    "/blocks/{userId}/{blockedUserId}": {
        "delete": _op(
            "Unblock", _ok(**_MESSAGE_OK), (403, 404), parameters=[_path("userId"), _path("blockedUserId")]
        ),
    },
    "/reports": {
        "post": _op(
            "Report a user to moderation",
            _ok(**_MESSAGE_OK),
            (400, 403, 404),
            requestBody=_body(
                _obj(
                    ["reporterId", "reportedUserId", "reason"],
                    reporterId=_STR,
                    reportedUserId=_STR,
                    reason={
                        "description": "`inappropriate` and `fake` (the mobile app's) are stored as "
                        "`inappropriate_content` and `fake_profile`",
                        "enum": [*REPORT_REASONS, *APP_REPORT_REASONS],
                    },
                    details={"type": "string", "maxLength": 1000},
                )
            ),
        ),
        "get": _op(
            "Moderation: the newest 100 reports (X-Admin-API-Key, no JWT)",
            _ok(reports={"type": "array", "items": _ref("Report")}),
            (403, 503),
            auth=False,
            parameters=[
                {"name": "X-Admin-API-Key", "in": "header", "required": True, "schema": _STR},
                _query("status", _STR, "exact status filter"),
            ],
        ),
    },
    "/fcm/register": {
        "post": _op(
            "Register (or reactivate) a push token",
            _ok(**_MESSAGE_OK),
            (400, 404),
            requestBody=_body(
                _obj(
                    ["token", "deviceType"],
                    token=_STR,
                    deviceType={"enum": ["ios", "android", "web"]},
                    deviceId=_STR,
                )
            ),
        ),
    },
    "/fcm/unregister": {
        "post": _op(
            "Deactivate a push token",
            _ok(**_MESSAGE_OK),
            (400,),
            requestBody=_body(_obj(["token"], token=_STR)),
        ),
    },
    "/dates": {
        "post": _op(
            "Propose a date (one pending proposal per match)",
            _ok(proposal=_ref("DateProposal")),
            (400, 403, 404),
            requestBody=_body(
                _obj(
                    ["matchId", "placeName", "proposedDate", "proposedTime"],
                    matchId=_STR,
                    placeName={"type": "string", "maxLength": 255},
                    placeId=_STR,
                    placeAddress={"type": "string", "maxLength": 500},
                    placeLat={"type": ["number", "string"]},
                    placeLng={"type": ["number", "string"]},
                    proposedDate={"type": "string", "format": "date"},
                    proposedTime={"type": "string", "description": "HH:MM or HH:MM:SS"},
                    note=_STR,
                )
            ),
        ),
    },
    "/dates/{id}": {
        "get": _op(
            "A match's date proposals, newest first (`id` is a match id)",
            _ok(proposals={"type": "array", "items": _ref("DateProposal")}),
            (403, 404),
            parameters=[_path("id", "match id")],
        ),
        "delete": _op(
            "Cancel my proposal (`id` is a proposal id)",
            _ok(**_MESSAGE_OK),
            (400, 403, 404),
            parameters=[_path("id", "proposal id")],
        ),
    },
    "/dates/{proposalId}/respond": {
        "put": _op(
            "Accept or decline; a decline may carry a counter-proposal (validated before anything is written)",
            _ok(
                message=_STR,
                status={"enum": ["accepted", "declined"]},
                counterProposalId={"type": "string", "format": "uuid"},
            ),
            (400, 403, 404),
            parameters=[_path("proposalId")],
            requestBody=_body(
                _obj(
                    ["response"],
                    response={"enum": ["accepted", "declined"]},
                    counterDate={"type": "string", "format": "date"},
                    counterTime=_STR,
                )
            ),
        ),
    },
    "/dates/{proposalId}/confirm": {
        "put": _op(
            "Confirm the date happened; the second confirmation completes it and awards tickets",
            _ok(message=_STR, completed={"type": "boolean"}, ticketAwarded={"const": True}),
            (400, 403, 404),
            parameters=[_path("proposalId")],
        ),
    },
}


def document() -> dict[str, Any]:
    """A complete OpenAPI document for the chat routes alone (the docs issue merges PATHS/SCHEMAS)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "VLVT chat API", "version": "1"},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
