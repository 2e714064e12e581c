"""Service-to-service routes: account-erasure photo cleanup (docs/contract.md, "Internal routes")."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.http import HttpRequest, HttpResponse

from profiles.services.cleanup import photos_cleanup_user
from profiles.signing import SignatureError, verify_request
from vlvt.http.api import ApiError, endpoint, fail, ok
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import STR_LIST, Body, Errors, Field, Operation, header, json_response, ref

log = logging.getLogger(__name__)
_USER_ID = re.compile(r"[\w.@:+-]{1,255}")
INVALID_BODY = "Invalid request body"


def _parsed_body(request: HttpRequest) -> object:
    """The parsed JSON body, None when absent; unparseable bodies are treated as absent."""
    raw = request.body
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _user_id(body: dict[str, Any], errors: Errors) -> str:
    """A user id usable as a storage prefix (ids are like google_<sub>, apple_<a.b.c>, email_<ms>_<r>)."""
    value = body.get("userId")
    if not (isinstance(value, str) and _USER_ID.fullmatch(value) and value.strip(".") != ""):
        raise ApiError(400, INVALID_BODY)
    return value


def _photo_keys(body: dict[str, Any], errors: Errors) -> list[Any]:
    value = body.get("photoKeys")
    if not isinstance(value, list):
        raise ApiError(400, INVALID_BODY)
    return value


CLEANUP = Body(
    (
        Field("userId", {"type": "string", "pattern": _USER_ID.pattern}, _user_id, required=True),
        Field("photoKeys", STR_LIST, _photo_keys, required=True),
    )
)


@endpoint(
    "POST",
    auth=False,
    spec=Operation(
        "Account erasure: delete every stored image of a user (HMAC-SHA256 signed, service to service)",
        ok=ref("CleanupResult"),
        responses={
            "400": json_response(ref("Failure"), "Invalid body"),
            "403": json_response(ref("Failure"), "Bad signature"),
            "500": json_response(ref("Failure"), "Error"),
        },
        conventional=False,
        params=(
            header("X-Internal-Signature", required=True),
            header("X-Internal-Timestamp", required=True),
            header("X-Internal-Service"),
        ),
        body=CLEANUP,
    ),
)
@on_error("Photo cleanup failed")
def cleanup_photos(request: HttpRequest) -> HttpResponse:
    body = _parsed_body(request)
    try:
        verify_request(request, body)
    except SignatureError as exc:
        log.warning("internal endpoint authentication failed", extra={"code": exc.code})
        return fail(403, "Internal endpoint authentication failed", code=exc.code)
    if not isinstance(body, dict):
        return fail(400, INVALID_BODY)
    values = CLEANUP.parse(body)
    log.info("internal photo cleanup requested", extra={"service": request.headers.get("X-Internal-Service")})
    deleted, failed = photos_cleanup_user(user_id=values["userId"], photo_keys=values["photoKeys"])
    return ok(deleted=deleted, failed=failed)
