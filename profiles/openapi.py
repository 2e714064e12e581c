"""OpenAPI 3.1 description of the profile-service routes: the declarations on the views of
profiles/urls.py (vlvt/http/openapi/declare.py) and the schemas of their answers.
`tests/profiles/test_openapi.py` checks it against the URLconf.

Each route is also served under `/api/v1` (the versioning middleware); the paths here are the
unversioned ones.
"""

from __future__ import annotations

from typing import Any

from profiles.urls import urlpatterns
from profiles.validation import PROFILE_INPUT
from vlvt.http.openapi.declare import (
    BEARER,
    FAILURE,
    INT_OR_NULL,
    STR,
    STR_LIST,
    STR_OR_NULL,
    TS,
    TS_OR_NULL,
    app_document,
    array,
    obj,
    paths,
    ref,
    success,
)

__all__ = ["BEARER", "PATHS", "SCHEMAS", "document"]

# Every route may also answer 401 (token), 429 (rate limit) and 500 (unexpected).
USUAL = (429, 500)
_INTERESTS = {"type": ["array", "null"], "items": STR}
_GESTURES = ["three_fingers", "touch_nose", "look_left", "look_right", "thumbs_up", "peace_sign"]
_ATTEMPT = obj(
    ["id", "status", "rejectionReason", "similarity", "createdAt", "processedAt"],
    id=STR,
    status={"enum": ["pending", "approved", "rejected", "unavailable", None]},
    rejectionReason=STR_OR_NULL,
    similarity=INT_OR_NULL,
    createdAt=TS_OR_NULL,
    processedAt=TS_OR_NULL,
)


def _liked(user: str, at: str) -> dict[str, Any]:
    """A like, as `/swipes/received` (camelCase) or `/swipes/sent` (snake_case) names its keys."""
    properties = {user: STR, "name": STR_OR_NULL, "age": INT_OR_NULL, "photos": STR_LIST, at: TS_OR_NULL}
    return obj([user, "name", "age", "photos", at], **properties)


SCHEMAS: dict[str, Any] = {
    "Failure": FAILURE,
    "ProfileInput": PROFILE_INPUT.schema(),
    "Profile": obj(
        ["userId", "name", "age", "bio", "photos", "interests"],
        userId=STR,
        name=STR_OR_NULL,
        age=INT_OR_NULL,
        bio=STR_OR_NULL,
        photos=STR_LIST,
        interests=_INTERESTS,
        isVerified={"type": "boolean"},
        verifiedAt=TS_OR_NULL,
    ),
    "ProfileResult": success("profile", profile=ref("Profile"), isOwnProfile={"type": "boolean"}),
    "Done": success("message", message=STR, totalPhotos={"type": "integer"}),
    "LocationResult": success(
        "location",
        location=obj(
            ["userId", "latitude", "longitude", "updatedAt"],
            userId=STR,
            latitude={"type": "string", "description": 'DECIMAL(10,8) as a string, e.g. "40.71280000"'},
            longitude={"type": "string", "description": "DECIMAL(11,8) as a string"},
            updatedAt=TS,
        ),
    ),
    "PhotoUploaded": success(
        "photo",
        "totalPhotos",
        photo=obj(["url", "thumbnailUrl"], url=STR, thumbnailUrl=STR),
        totalPhotos={"type": "integer", "maximum": 6},
    ),
    "PhotosReordered": success("message", "photos", message=STR, photos={"type": "array"}),
    "VerificationPrompt": success(
        "prompt",
        prompt=obj(
            ["id", "instruction", "timeLimit"],
            id={"enum": _GESTURES},
            instruction=STR,
            timeLimit={"type": "integer"},
        ),
    ),
    "VerificationResult": success(
        "verified",
        "message",
        "similarity",
        verified={"type": "boolean"},
        message=STR,
        similarity={"type": "integer"},
        ticketAwarded={"type": "boolean"},
    ),
    "VerificationStatus": success(
        "isVerified",
        "verifiedAt",
        "attempts",
        isVerified={"type": "boolean"},
        verifiedAt=TS_OR_NULL,
        attempts=array(_ATTEMPT, maxItems=5),
    ),
    "DiscoveredProfile": obj(
        ["userId", "name", "age", "bio", "photos", "interests", "isNewUser", "isVerified"],
        userId=STR,
        name=STR_OR_NULL,
        age=INT_OR_NULL,
        bio=STR_OR_NULL,
        photos=STR_LIST,
        interests=_INTERESTS,
        isNewUser={"type": "boolean"},
        isVerified={"type": "boolean"},
        distance={
            "type": "integer",
            "minimum": 1,
            "description": "whole km between grid cells, at least 1 (distance searches only; docs/security.md)",
        },
        expandedSearch={"const": True, "description": "present on profiles beyond the requested radius"},
    ),
    "Discovery": success(
        "profiles",
        "expandedSearch",
        profiles=array(ref("DiscoveredProfile"), maxItems=20),
        expandedSearch={"type": "boolean"},
    ),
    "Count": success("count", count={"type": "integer", "minimum": 0}),
    "SwipeResult": success(
        "action",
        "isMatch",
        "message",
        action={"enum": ["like", "pass"]},
        isMatch={"type": "boolean"},
        message={"enum": ["It's a match!", "Like recorded", "Pass recorded"]},
    ),
    "LikesReceived": success("likes", likes=array(_liked("userId", "likedAt"))),
    "LikesSent": success("likes", likes=array(_liked("target_user_id", "created_at"))),
    "CleanupResult": success("deleted", "failed", deleted={"type": "integer"}, failed={"type": "integer"}),
}

PATHS: dict[str, Any] = paths(urlpatterns, tag="profiles", usual=USUAL)


def document() -> dict[str, Any]:
    """A complete OpenAPI document for the profile routes alone."""
    return app_document("VLVT profile API", PATHS, SCHEMAS)
