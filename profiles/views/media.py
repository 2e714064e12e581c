"""Local photo storage's signed URLs (`/uploads/<key>?expires=..&signature=..`).

Only in use when R2 is not configured; it stands in for R2's presigned GET URLs, so photos are not
readable by anyone who merely guesses a key.
"""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase

from profiles.storage import LocalPhotoStorage, local_signature_valid, photo_storage
from vlvt.http.api import endpoint, fail
from vlvt.http.openapi.declare import BINARY, STR, Operation, json_response, query, ref


@endpoint(
    "GET",
    auth=False,
    spec=Operation(
        "A locally stored photo by its signed URL (local storage only; R2 serves presigned URLs itself)",
        responses={
            "200": {"description": "JPEG", "content": {"image/jpeg": {"schema": BINARY}}},
            "404": json_response(ref("Failure"), "Unknown, expired or unsigned"),
        },
        conventional=False,
        params=(
            query("expires", STR, "epoch seconds"),
            query("signature", STR, "HMAC of the key and expiry"),
        ),
    ),
)
def serve(request: HttpRequest, key: str) -> HttpResponseBase:
    storage = photo_storage()
    if not isinstance(storage, LocalPhotoStorage):
        return fail(404, "Not found")
    expires, signature = request.GET.get("expires", ""), request.GET.get("signature", "")
    if not local_signature_valid(key, expires, signature) or not storage.exists(key):
        return fail(404, "Not found")
    response = FileResponse(storage.open(key, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    return response
