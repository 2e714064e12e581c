"""Service-to-service routes: account-erasure photo cleanup (docs/contract.md, "Internal routes")."""

from __future__ import annotations

import json
import logging
import re
from typing import TypeGuard

from django.http import HttpRequest, HttpResponse

from profiles.services.cleanup import photos_cleanup_user
from profiles.signing import SignatureError, verify_request
from vlvt.http.api import endpoint, fail, ok
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import STR, STR_LIST, Operation, header, json_response, obj, ref

log = logging.getLogger(__name__)
_USER_ID = re.compile(r"[\w.@:+-]{1,255}")


def _parsed_body(request: HttpRequest) -> object:
    """The parsed JSON body, None when absent; unparseable bodies are treated as absent."""
    raw = request.body
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _safe_user_id(value: object) -> TypeGuard[str]:
    """A user id usable as a storage prefix (ids are like google_<sub>, apple_<a.b.c>, email_<ms>_<r>)."""
    return isinstance(value, str) and bool(_USER_ID.fullmatch(value)) and value.strip(".") != ""


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
        body=obj(["userId", "photoKeys"], userId=STR, photoKeys=STR_LIST),
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
        return fail(400, "Invalid request body")
    user_id, photo_keys = body.get("userId"), body.get("photoKeys")
    if not _safe_user_id(user_id) or not isinstance(photo_keys, list):
        return fail(400, "Invalid request body")
    log.info("internal photo cleanup requested", extra={"service": request.headers.get("X-Internal-Service")})
    deleted, failed = photos_cleanup_user(user_id=user_id, photo_keys=photo_keys)
    return ok(deleted=deleted, failed=failed)
