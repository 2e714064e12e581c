"""OpenAPI 3.1 description of the profile-service routes (issue 8), merged into the project's
document by the API docs (issue 7). `tests/profiles/test_openapi.py` checks it against the URLconf.

Each route is also served under `/api/v1` (the versioning middleware); the paths here are the
unversioned ones.
"""

from __future__ import annotations

from typing import Any

BEARER = [{"bearerAuth": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    """Every route may also answer 401 (token), 429 (rate limit) and 500 (unexpected)."""
    codes = sorted(set(statuses) | {401, 429, 500})
    return {str(code): _json(_ref("Failure"), "Error") for code in codes}


def _ok(name: str) -> dict[str, Any]:
    return {"200": _json(_ref(name))}


def _body(schema: dict[str, Any], content_type: str = "application/json") -> dict[str, Any]:
    return {"required": True, "content": {content_type: {"schema": schema}}}


def _op(summary: str, responses: dict[str, Any], *, auth: bool = True, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": ["profiles"], "responses": responses, **extra}
    if auth:
        op["security"] = BEARER
    return op


_USER_ID = {"name": "userId", "in": "path", "required": True, "schema": {"type": "string"}}
_PHOTO_ID = {"name": "photoId", "in": "path", "required": True, "schema": {"type": "string"}}
_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_STR_LIST = {"type": "array", "items": _STR}
_TS = {"type": "string", "format": "date-time"}
_TS_OR_NULL = {"type": ["string", "null"], "format": "date-time"}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


SCHEMAS: dict[str, Any] = {
    "Failure": {
        "type": "object",
        "required": ["success"],
        "properties": {
            "success": {"const": False},
            "error": _STR,
            "code": _STR,
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": _STR, "message": _STR},
                },
            },
        },
    },
    "ProfileInput": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 2, "maxLength": 100, "pattern": "^[a-zA-Z0-9\\s]+$"},
            "age": {"type": "integer", "minimum": 18, "maximum": 120},
            "bio": {"type": "string", "maxLength": 500},
            "photos": {"type": "array", "maxItems": 6, "items": {"type": "string", "format": "uri"}},
            "interests": {
                "type": "array",
                "maxItems": 10,
                "items": {"type": "string", "minLength": 1, "maxLength": 50},
            },
        },
    },
    "Profile": {
        "type": "object",
        "required": ["userId", "name", "age", "bio", "photos", "interests"],
        "properties": {
            "userId": _STR,
            "name": _STR_OR_NULL,
            "age": {"type": ["integer", "null"]},
            "bio": _STR_OR_NULL,
            "photos": _STR_LIST,
            "interests": {"type": ["array", "null"], "items": _STR},
            "isVerified": {"type": "boolean"},
            "verifiedAt": _TS_OR_NULL,
        },
    },
    "ProfileResult": {
        "type": "object",
        "required": ["success", "profile"],
        "properties": {
            "success": {"const": True},
            "profile": _ref("Profile"),
            "isOwnProfile": {"type": "boolean"},
        },
    },
    "Message": {
        "type": "object",
        "required": ["success", "message"],
        "properties": {"success": {"const": True}, "message": _STR, "totalPhotos": {"type": "integer"}},
    },
    "LocationResult": {
        "type": "object",
        "required": ["success", "location"],
        "properties": {
            "success": {"const": True},
            "location": {
                "type": "object",
                "required": ["userId", "latitude", "longitude", "updatedAt"],
                "properties": {
                    "userId": _STR,
                    "latitude": {
                        "type": "string",
                        "description": 'DECIMAL(10,8) as a string, e.g. "40.71280000"',
                    },
                    "longitude": {"type": "string", "description": "DECIMAL(11,8) as a string"},
                    "updatedAt": _TS,
                },
            },
        },
    },
    "PhotoUploaded": {
        "type": "object",
        "required": ["success", "photo", "totalPhotos"],
        "properties": {
            "success": {"const": True},
            "photo": {
                "type": "object",
                "required": ["url", "thumbnailUrl"],
                "properties": {"url": _STR, "thumbnailUrl": _STR},
            },
            "totalPhotos": {"type": "integer", "maximum": 6},
        },
    },
    "PhotosReordered": {
        "type": "object",
        "required": ["success", "message", "photos"],
        "properties": {"success": {"const": True}, "message": _STR, "photos": {"type": "array"}},
    },
    "VerificationPrompt": {
        "type": "object",
        "required": ["success", "prompt"],
        "properties": {
            "success": {"const": True},
            "prompt": {
                "type": "object",
                "required": ["id", "instruction", "timeLimit"],
                "properties": {
                    "id": {
                        "enum": [
                            "three_fingers",
                            "touch_nose",
                            "look_left",
                            "look_right",
                            "thumbs_up",
                            "peace_sign",
                        ]
                    },
                    "instruction": _STR,
                    "timeLimit": {"type": "integer"},
                },
            },
        },
    },
    "VerificationResult": {
        "type": "object",
        "required": ["success", "verified", "message", "similarity"],
        "properties": {
            "success": {"const": True},
            "verified": {"type": "boolean"},
            "message": _STR,
            "similarity": {"type": "integer"},
            "ticketAwarded": {"type": "boolean"},
        },
    },
    "VerificationStatus": {
        "type": "object",
        "required": ["success", "isVerified", "verifiedAt", "attempts"],
        "properties": {
            "success": {"const": True},
            "isVerified": {"type": "boolean"},
            "verifiedAt": _TS_OR_NULL,
            "attempts": {
                "type": "array",
                "maxItems": 5,
                "items": {
                    "type": "object",
                    "required": ["id", "status", "rejectionReason", "similarity", "createdAt", "processedAt"],
                    "properties": {
                        "id": _STR,
                        "status": {"enum": ["pending", "approved", "rejected", "unavailable", None]},
                        "rejectionReason": _STR_OR_NULL,
                        "similarity": {"type": ["integer", "null"]},
                        "createdAt": _TS_OR_NULL,
                        "processedAt": _TS_OR_NULL,
                    },
                },
            },
        },
    },
    "DiscoveredProfile": {
        "type": "object",
        "required": ["userId", "name", "age", "bio", "photos", "interests", "isNewUser", "isVerified"],
        "properties": {
            "userId": _STR,
            "name": _STR_OR_NULL,
            "age": {"type": ["integer", "null"]},
            "bio": _STR_OR_NULL,
            "photos": _STR_LIST,
            "interests": {"type": ["array", "null"], "items": _STR},
            "isNewUser": {"type": "boolean"},
            "isVerified": {"type": "boolean"},
            "distance": {
                "type": "integer",
                "minimum": 1,
                "description": "whole km between grid cells, at least 1 (distance searches only; docs/security.md)",
            },
            "expandedSearch": {
                "const": True,
                "description": "present on profiles beyond the requested radius",
            },
        },
    },
    "Discovery": {
        "type": "object",
        "required": ["success", "profiles", "expandedSearch"],
        "properties": {
            "success": {"const": True},
            "profiles": {"type": "array", "maxItems": 20, "items": _ref("DiscoveredProfile")},
            "expandedSearch": {"type": "boolean"},
        },
    },
    "Count": {
        "type": "object",
        "required": ["success", "count"],
        "properties": {"success": {"const": True}, "count": {"type": "integer", "minimum": 0}},
    },
    "SwipeResult": {
        "type": "object",
        "required": ["success", "action", "isMatch", "message"],
        "properties": {
            "success": {"const": True},
            "action": {"enum": ["like", "pass"]},
            "isMatch": {"type": "boolean"},
            "message": {"enum": ["It's a match!", "Like recorded", "Pass recorded"]},
        },
    },
    "LikesReceived": {
        "type": "object",
        "required": ["success", "likes"],
        "properties": {
            "success": {"const": True},
            "likes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["userId", "name", "age", "photos", "likedAt"],
                    "properties": {
                        "userId": _STR,
                        "name": _STR_OR_NULL,
                        "age": {"type": ["integer", "null"]},
                        "photos": _STR_LIST,
                        "likedAt": _TS_OR_NULL,
                    },
                },
            },
        },
    },
    "LikesSent": {
        "type": "object",
        "required": ["success", "likes"],
        "properties": {
            "success": {"const": True},
            "likes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["target_user_id", "name", "age", "photos", "created_at"],
                    "properties": {
                        "target_user_id": _STR,
                        "name": _STR_OR_NULL,
                        "age": {"type": ["integer", "null"]},
                        "photos": _STR_LIST,
                        "created_at": _TS_OR_NULL,
                    },
                },
            },
        },
    },
    "CleanupResult": {
        "type": "object",
        "required": ["success", "deleted", "failed"],
        "properties": {
            "success": {"const": True},
            "deleted": {"type": "integer"},
            "failed": {"type": "integer"},
        },
    },
}

_MULTIPART_PHOTO = {
    "type": "object",
    "required": ["photo"],
    "properties": {
        "photo": {
            "type": "string",
            "format": "binary",
            "description": "JPEG, PNG, WebP, HEIC or HEIF; at most 10 MB",
        }
    },
}
_MULTIPART_SELFIE = {
    "type": "object",
    "required": ["selfie", "gesturePrompt"],
    "properties": {
        "selfie": {"type": "string", "format": "binary"},
        "gesturePrompt": {"type": "string"},
        "referencePhotoIndex": {
            "type": "string",
            "description": "integer index into the profile's photos, default 0",
        },
    },
}

PATHS: dict[str, Any] = {
    "/profile": {
        "post": _op(
            "Create the caller's profile (200, not 201)",
            {**_ok("ProfileResult"), **_errors(400, 403, 409)},
            requestBody=_body(_ref("ProfileInput")),
        ),
    },
    "/profile/{userId}": {
        "parameters": [_USER_ID],
        "get": _op("Read any profile", {**_ok("ProfileResult"), **_errors(404)}),
        "put": _op(
            "Update the caller's own profile (absent fields keep their value)",
            {**_ok("ProfileResult"), **_errors(400, 403, 404)},
            requestBody=_body(_ref("ProfileInput")),
        ),
        "delete": _op(
            "Delete the caller's own profile and its photos", {**_ok("Message"), **_errors(403, 404)}
        ),
    },
    "/profile/{userId}/location": {
        "parameters": [_USER_ID],
        "put": _op(
            "Set the caller's location (429 with Retry-After: at most one a minute, and a jump must be plausible within 15 minutes of the last one)",
            {**_ok("LocationResult"), **_errors(400, 403, 404)},
            requestBody=_body(
                {
                    "type": "object",
                    "required": ["latitude", "longitude"],
                    "properties": {
                        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                    },
                }
            ),
        ),
    },
    "/profile/photos/upload": {
        "post": _op(
            "Upload a photo (at most 6)",
            {**_ok("PhotoUploaded"), **_errors(400, 403, 404, 413)},
            requestBody=_body(_MULTIPART_PHOTO, "multipart/form-data"),
        ),
    },
    "/profile/photos/reorder": {
        "put": _op(
            "Reorder (or trim) the caller's photos",
            {**_ok("PhotosReordered"), **_errors(400, 403, 404)},
            requestBody=_body(
                {"type": "object", "required": ["photos"], "properties": {"photos": _STR_LIST}}
            ),
        ),
    },
    "/profile/photos/{photoId}": {
        "parameters": [_PHOTO_ID],
        "delete": _op(
            "Delete one of the caller's photos and its thumbnail", {**_ok("Message"), **_errors(403, 404)}
        ),
    },
    "/verification/prompt": {
        "get": _op("A random gesture prompt", {**_ok("VerificationPrompt"), **_errors()})
    },
    "/verification/submit": {
        "post": _op(
            "Submit a verification selfie (503 VERIFICATION_UNAVAILABLE when no face comparison is configured)",
            {**_ok("VerificationResult"), **_errors(400, 403, 404, 413, 503)},
            requestBody=_body(_MULTIPART_SELFIE, "multipart/form-data"),
        ),
    },
    "/verification/status": {
        "get": _op(
            "The caller's verification state and 5 newest attempts",
            {**_ok("VerificationStatus"), **_errors(404)},
        )
    },
    "/profiles/discover": {
        "get": _op(
            "Profiles to discover (new users first, then distance, then random; 20 at most)",
            {**_ok("Discovery"), **_errors(400)},
            parameters=[
                _query("minAge", {"type": "integer"}, "minimum age"),
                _query("maxAge", {"type": "integer"}, "maximum age"),
                _query("maxDistance", {"type": "number"}, "radius in km; expanded to 200 km below 5 results"),
                _query("interests", _STR, "comma-separated; any overlap"),
                _query("exclude", _STR, "comma-separated user ids"),
                _query("verifiedOnly", {"enum": ["true", "false"]}, "only verified profiles"),
            ],
        ),
    },
    "/profiles/search/count": {
        "post": _op(
            "How many profiles match (maxDistance in miles)",
            {**_ok("Count"), **_errors(400, 403)},
            requestBody=_body(
                {
                    "type": "object",
                    "properties": {
                        "maxDistance": {"type": "number"},
                        "genders": _STR_LIST,
                        "sexualPreferences": _STR_LIST,
                        "intents": _STR_LIST,
                    },
                }
            ),
        ),
    },
    "/swipes": {
        "post": _op(
            "Like or pass; a mutual like creates the pair's one match",
            {**_ok("SwipeResult"), **_errors(400, 403, 404)},
            requestBody=_body(
                {
                    "type": "object",
                    "required": ["targetUserId", "action"],
                    "properties": {"targetUserId": _STR, "action": {"enum": ["like", "pass"]}},
                }
            ),
        ),
    },
    "/swipes/received": {
        "get": _op("Who liked the caller, newest first", {**_ok("LikesReceived"), **_errors()})
    },
    "/swipes/sent": {
        "get": _op("Whom the caller liked, newest first (snake_case keys)", {**_ok("LikesSent"), **_errors()})
    },
    "/api/internal/cleanup-photos": {
        "post": _op(
            "Account erasure: delete every stored image of a user (HMAC-SHA256 signed, service to service)",
            {
                **_ok("CleanupResult"),
                "400": _json(_ref("Failure"), "Invalid body"),
                "403": _json(_ref("Failure"), "Bad signature"),
                "500": _json(_ref("Failure"), "Error"),
            },
            auth=False,
            parameters=[
                {"name": "X-Internal-Signature", "in": "header", "required": True, "schema": _STR},
                {"name": "X-Internal-Timestamp", "in": "header", "required": True, "schema": _STR},
                {"name": "X-Internal-Service", "in": "header", "required": False, "schema": _STR},
            ],
            requestBody=_body(
                {
                    "type": "object",
                    "required": ["userId", "photoKeys"],
                    "properties": {"userId": _STR, "photoKeys": _STR_LIST},
                }
            ),
        ),
    },
    "/uploads/{key}": {
        "get": _op(
            "A locally stored photo by its signed URL (local storage only; R2 serves presigned URLs itself)",
            {
                "200": {
                    "description": "JPEG",
                    "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                },
                "404": _json(_ref("Failure"), "Unknown, expired or unsigned"),
            },
            auth=False,
            parameters=[
                {"name": "key", "in": "path", "required": True, "schema": _STR},
                _query("expires", _STR, "epoch seconds"),
                _query("signature", _STR, "HMAC of the key and expiry"),
            ],
        ),
    },
}


def _inline_path_parameters(paths: dict[str, Any]) -> None:
    """Each operation carries its own path parameters (as chat/openapi.py): PATHS maps a path to its
    operations only, so the two apps' descriptions merge the same way."""
    for ops in paths.values():
        shared = ops.pop("parameters", [])
        for op in ops.values():
            op["parameters"] = [*shared, *op.get("parameters", [])]


_inline_path_parameters(PATHS)


def document() -> dict[str, Any]:
    """A complete OpenAPI document for the profile routes alone (the docs issue merges PATHS/SCHEMAS)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "VLVT profile API", "version": "1"},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
