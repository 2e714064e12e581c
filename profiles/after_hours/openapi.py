"""OpenAPI 3.1 description of the After Hours routes, for the project's API document to merge
(`PATHS`, `SCHEMAS`); `tests/after_hours/test_openapi.py` checks it against the URLconf.

The paths are written under `/after-hours`; every route also answers under `/api/after-hours`
and `/api/v1/after-hours` (the path the mobile app calls). Every route needs the bearer token
and passes the After Hours gate first (403 PREMIUM_REQUIRED, VERIFICATION_REQUIRED,
CONSENT_REQUIRED; 500 AUTH_ERROR).
"""

from __future__ import annotations

from typing import Any

BEARER = [{"bearerAuth": []}]
PREFIX = "/after-hours"

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_INT_OR_NULL = {"type": ["integer", "null"]}
_TS = {"type": "string", "format": "date-time"}
_UUID = {"type": "string", "format": "uuid"}
_MINUTES = {"type": ["integer", "string"], "enum": [15, 30, 60, "15", "30", "60"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    """The gate (401, 403, 500) and the rate limit (429) apply to every route."""
    return {
        str(code): _json(_ref("AfterHoursFailure"), "Error")
        for code in sorted(set(statuses) | {401, 403, 429, 500})
    }


def _op(summary: str, ok: str, *errors: int, status: int = 200, **extra: Any) -> dict[str, Any]:
    responses = {str(status): _json(_ref(ok)), **_errors(*errors)}
    return {"summary": summary, "tags": ["after-hours"], "security": BEARER, "responses": responses, **extra}


def _body(schema: dict[str, Any], content_type: str = "application/json") -> dict[str, Any]:
    return {"required": True, "content": {content_type: {"schema": schema}}}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _success(**properties: Any) -> dict[str, Any]:
    return _object(["success", *properties], success={"const": True}, **properties)


# `id`, `bio` and `photo_url` are the mobile app's names for `userId`, `description` and `photoUrl`
# (always the same values); the app sends `bio` in place of `description`.
_PROFILE = {
    "userId": _STR,
    "name": _STR_OR_NULL,
    "age": _INT_OR_NULL,
    "photoUrl": _STR_OR_NULL,
    "description": _STR_OR_NULL,
    "createdAt": _TS,
    "updatedAt": _TS,
    "id": _STR,
    "bio": _STR_OR_NULL,
    "photo_url": _STR_OR_NULL,
}
_GENDER = {"enum": ["Any", "Male", "Female", "Non-binary"]}
_DISTANCE = {"type": "integer", "minimum": 1, "maximum": 200}
_AGE = {"type": "integer", "minimum": 18, "maximum": 99}
_PREFERENCE_FIELDS = {
    "seekingGender": _GENDER,
    "maxDistanceKm": _DISTANCE,
    "minAge": _AGE,
    "maxAge": _AGE,
    "sexualOrientation": {"enum": ["Straight", "Gay", "Bisexual", "Pansexual", "Queer", "Other", None]},
}
# The app's snake_case names (the same values); it sends gender_seeking in lower case.
_PREFERENCE_ALIASES = {
    "gender_seeking": _GENDER,
    "max_distance_km": _DISTANCE,
    "min_age": _AGE,
    "max_age": _AGE,
}
_PREFERENCES = _object(
    [*_PREFERENCE_FIELDS, "id", *_PREFERENCE_ALIASES], **_PREFERENCE_FIELDS, id=_STR, **_PREFERENCE_ALIASES
)

SCHEMAS: dict[str, Any] = {
    "AfterHoursFailure": {
        "type": "object",
        "required": ["success"],
        "properties": {
            "success": {"const": False},
            "error": _STR,
            "code": {
                "enum": [
                    "AUTH_REQUIRED",
                    "PREMIUM_REQUIRED",
                    "VERIFICATION_REQUIRED",
                    "CONSENT_REQUIRED",
                    "AUTH_ERROR",
                    "PROFILE_REQUIRED",
                    "SESSION_ALREADY_ACTIVE",
                    "NO_ACTIVE_SESSION",
                ]
            },
            "upgrade": {"type": "boolean"},
            "requiresVerification": {"type": "boolean"},
            "requiresConsent": {"type": "boolean"},
            "errors": {"type": "array", "items": _object(["field", "message"], field=_STR, message=_STR)},
        },
    },
    "AfterHoursProfileResult": _success(profile=_object(list(_PROFILE), **_PROFILE)),
    "AfterHoursPhotoResult": _success(photo=_object(["url", "key"], url=_STR, key=_STR), photo_url=_STR),
    "AfterHoursPreferencesResult": _success(preferences=_PREFERENCES),
    "AfterHoursSessionStarted": _success(
        session=_object(
            ["id", "startedAt", "expiresAt", "durationMinutes"],
            id=_UUID,
            startedAt=_TS,
            expiresAt=_TS,
            durationMinutes=_MINUTES,
        )
    ),
    "AfterHoursSessionExtended": _success(
        session=_object(
            ["id", "expiresAt", "extendedByMinutes"], id=_UUID, expiresAt=_TS, extendedByMinutes=_MINUTES
        )
    ),
    "AfterHoursSessionStatus": _success(
        active={"type": "boolean"},
        session={
            "oneOf": [
                {"type": "null"},
                _object(
                    ["id", "startedAt", "expiresAt", "remainingSeconds"],
                    id=_UUID,
                    startedAt=_TS,
                    expiresAt=_TS,
                    remainingSeconds={"type": "integer", "minimum": 0},
                ),
            ]
        },
    ),
    "AfterHoursMessage": _success(message=_STR),
    "AfterHoursCurrentMatch": _success(
        active={"type": "boolean"},
        status={"enum": ["no_session", "searching", "matched"]},
        match={
            "oneOf": [
                {"type": "null"},
                _object(
                    ["id", "expiresAt", "autoDeclineAt", "profile"],
                    id=_UUID,
                    expiresAt=_TS,
                    autoDeclineAt=_TS,
                    profile=_object(
                        ["name", "age", "photoUrl", "description", "distanceKm"],
                        name=_STR_OR_NULL,
                        age=_INT_OR_NULL,
                        photoUrl=_STR_OR_NULL,
                        description=_STR_OR_NULL,
                        distanceKm={"type": "number"},
                    ),
                ),
            ]
        },
    ),
    "AfterHoursNearbyCount": _success(
        count={"type": "integer", "minimum": 0}, maxDistanceKm={"type": "integer"}
    ),
}

_TEXT_500 = {"type": "string", "maxLength": 500}
_DESCRIPTION = {
    "type": "object",
    "description": "`bio` (the app's name) may replace `description`; both must then be equal",
    "properties": {"description": _TEXT_500, "bio": _TEXT_500},
}
_PREFERENCES_INPUT = {
    "type": "object",
    "description": "camelCase or the app's snake_case names (gender_seeking also in lower case); "
    "a field sent under both names must have one value",
    "properties": {
        **_PREFERENCE_FIELDS,
        **_PREFERENCE_ALIASES,
        "gender_seeking": {
            "enum": ["Any", "Male", "Female", "Non-binary", "any", "male", "female", "non-binary"]
        },
    },
}
_START = _object(
    ["duration", "latitude", "longitude"],
    duration=_MINUTES,
    latitude={"type": ["number", "string"], "minimum": -90, "maximum": 90},
    longitude={"type": ["number", "string"], "minimum": -180, "maximum": 180},
    deviceFingerprint={
        "type": "object",
        "properties": {"deviceId": _STR, "deviceModel": _STR, "platform": _STR},
    },
)
_PHOTO = {
    "type": "object",
    "required": ["photo"],
    "properties": {"photo": {"type": "string", "format": "binary"}},
}

PATHS: dict[str, Any] = {
    f"{PREFIX}/profile": {
        "post": _op(
            "Create the caller's After Hours profile",
            "AfterHoursProfileResult",
            400,
            409,
            status=201,
            requestBody=_body(_DESCRIPTION),
        ),
        "get": _op(
            "Read the caller's After Hours profile with the main profile's name and age",
            "AfterHoursProfileResult",
            404,
        ),
        "patch": _op(
            "Update the description", "AfterHoursProfileResult", 400, 404, requestBody=_body(_DESCRIPTION)
        ),
    },
    f"{PREFIX}/profile/photo": {
        "post": _op(
            "Upload (replace) the After Hours photo: one 1200 px JPEG without metadata; refused when it "
            "is within 9 bits (perceptual hash) of a banned photo",
            "AfterHoursPhotoResult",
            400,
            404,
            413,
            requestBody=_body(_PHOTO, "multipart/form-data"),
        ),
    },
    f"{PREFIX}/preferences": {
        "post": _op(
            "Create matching preferences (defaults: Any, 10 km, 18-99)",
            "AfterHoursPreferencesResult",
            400,
            409,
            status=201,
            requestBody=_body(_PREFERENCES_INPUT),
        ),
        "get": _op("Read matching preferences", "AfterHoursPreferencesResult", 404),
        "patch": _op(
            "Update matching preferences (absent fields keep their value)",
            "AfterHoursPreferencesResult",
            400,
            404,
            requestBody=_body(_PREFERENCES_INPUT),
        ),
    },
    f"{PREFIX}/session/start": {
        "post": _op(
            "Start a 15, 30 or 60 minute session at a fuzzed location",
            "AfterHoursSessionStarted",
            400,
            409,
            status=201,
            requestBody=_body(_START),
        ),
    },
    f"{PREFIX}/session/end": {
        "post": _op("End the open session (its match ends; the partner is told)", "AfterHoursMessage", 404),
    },
    f"{PREFIX}/session/extend": {
        "post": _op(
            "Add 15, 30 or 60 minutes to the open session",
            "AfterHoursSessionExtended",
            400,
            404,
            requestBody=_body(_object(["additionalMinutes"], additionalMinutes=_MINUTES)),
        ),
    },
    f"{PREFIX}/session": {
        "get": _op("The open session and its remaining seconds", "AfterHoursSessionStatus"),
    },
    f"{PREFIX}/match/decline": {
        "post": _op(
            "Decline a match (silently for the other user)",
            "AfterHoursMessage",
            400,
            404,
            requestBody=_body(_object(["matchId"], matchId=_UUID)),
        ),
    },
    f"{PREFIX}/match/current": {
        "get": _op("The current match, or searching / no session", "AfterHoursCurrentMatch"),
    },
    f"{PREFIX}/nearby/count": {
        "get": _op(
            "How many other users have an active session within the caller's distance",
            "AfterHoursNearbyCount",
            400,
        ),
    },
}


def document() -> dict[str, Any]:
    """A complete OpenAPI document for the After Hours routes alone (the API docs merge PATHS/SCHEMAS)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "VLVT After Hours API", "version": "1"},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
