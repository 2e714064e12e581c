"""OpenAPI 3.1 description of the After Hours routes: the declarations on the views of
profiles/after_hours/urls.py and the schemas of their answers; `tests/after_hours/test_openapi.py`
checks it against the URLconf.

The paths are written under `/after-hours`; every route also answers under `/api/after-hours`
and `/api/v1/after-hours` (the path the mobile app calls). Every route needs the bearer token
and passes the After Hours gate first (403 PREMIUM_REQUIRED, VERIFICATION_REQUIRED,
CONSENT_REQUIRED; 500 AUTH_ERROR).
"""

from __future__ import annotations

from typing import Any

from profiles.after_hours.urls import urlpatterns
from profiles.after_hours.validation import MINUTES, PREFERENCE_ALIASES, PREFERENCE_FIELDS
from vlvt.http.openapi.declare import (
    BEARER,
    FAILURE,
    INT_OR_NULL,
    STR,
    STR_OR_NULL,
    TS,
    UUID,
    app_document,
    obj,
    paths,
    success,
)

__all__ = ["BEARER", "PATHS", "PREFIX", "SCHEMAS", "document"]

PREFIX = "/after-hours"
# The gate (403, 500) and the rate limit (429) apply to every route; 401 with the token.
USUAL = (403, 429, 500)

# `id`, `bio` and `photo_url` are the mobile app's names for `userId`, `description` and `photoUrl`
# (always the same values); the app sends `bio` in place of `description`.
_PROFILE = {
    "userId": STR,
    "name": STR_OR_NULL,
    "age": INT_OR_NULL,
    "photoUrl": STR_OR_NULL,
    "description": STR_OR_NULL,
    "createdAt": TS,
    "updatedAt": TS,
    "id": STR,
    "bio": STR_OR_NULL,
    "photo_url": STR_OR_NULL,
}
_PREFERENCES = obj(
    [*PREFERENCE_FIELDS, "id", *PREFERENCE_ALIASES], **PREFERENCE_FIELDS, id=STR, **PREFERENCE_ALIASES
)


def _all(**properties: Any) -> dict[str, Any]:
    """A `success` body whose every property is always present."""
    return success(*properties, **properties)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [{"type": "null"}, schema]}


SCHEMAS: dict[str, Any] = {
    "Failure": FAILURE,
    "AfterHoursProfileResult": _all(profile=obj(list(_PROFILE), **_PROFILE)),
    "AfterHoursPhotoResult": _all(photo=obj(["url", "key"], url=STR, key=STR), photo_url=STR),
    "AfterHoursPreferencesResult": _all(preferences=_PREFERENCES),
    "AfterHoursSessionStarted": _all(
        session=obj(
            ["id", "startedAt", "expiresAt", "durationMinutes"],
            id=UUID,
            startedAt=TS,
            expiresAt=TS,
            durationMinutes=MINUTES,
        )
    ),
    "AfterHoursSessionExtended": _all(
        session=obj(
            ["id", "expiresAt", "extendedByMinutes"], id=UUID, expiresAt=TS, extendedByMinutes=MINUTES
        )
    ),
    "AfterHoursSessionStatus": _all(
        active={"type": "boolean"},
        session=_nullable(
            obj(
                ["id", "startedAt", "expiresAt", "remainingSeconds"],
                id=UUID,
                startedAt=TS,
                expiresAt=TS,
                remainingSeconds={"type": "integer", "minimum": 0},
            )
        ),
    ),
    "AfterHoursDone": _all(message=STR),
    "AfterHoursCurrentMatch": _all(
        active={"type": "boolean"},
        status={"enum": ["no_session", "searching", "matched"]},
        match=_nullable(
            obj(
                ["id", "expiresAt", "autoDeclineAt", "profile"],
                id=UUID,
                expiresAt=TS,
                autoDeclineAt=TS,
                profile=obj(
                    ["name", "age", "photoUrl", "description", "distanceKm"],
                    name=STR_OR_NULL,
                    age=INT_OR_NULL,
                    photoUrl=STR_OR_NULL,
                    description=STR_OR_NULL,
                    distanceKm={"type": "number"},
                ),
            )
        ),
    ),
    "AfterHoursNearbyCount": _all(count={"type": "integer", "minimum": 0}, maxDistanceKm={"type": "integer"}),
}

PATHS: dict[str, Any] = paths(urlpatterns, tag="after-hours", usual=USUAL, prefix=PREFIX)


def document() -> dict[str, Any]:
    """A complete OpenAPI document for the After Hours routes alone."""
    return app_document("VLVT After Hours API", PATHS, SCHEMAS)
