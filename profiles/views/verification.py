"""Selfie verification routes (docs/contract.md, "Verification")."""

from __future__ import annotations

from django.http import HttpResponse

from profiles import images, limits
from profiles.selectors.profiles import verification_state
from profiles.services.verification import (
    GESTURE_IDS,
    MSG_REJECTED,
    MSG_VERIFIED,
    js_round,
    random_prompt,
    verification_submit,
)
from profiles.views.uploads import Upload, read_all
from vlvt.http.api import ApiError, endpoint, iso, ok
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import Body, Operation, one_of, ref, sent
from vlvt.http.request import ApiRequest

SELFIE = Upload(
    "selfie",
    "No selfie uploaded",
    text=Body(
        (
            one_of(
                "gesturePrompt",
                tuple(sorted(GESTURE_IDS)),
                "Gesture prompt is required",
                "Invalid gesture prompt",
            ),
            sent(
                "referencePhotoIndex",
                {"type": "string", "description": "integer index into the profile's photos, default 0"},
                str,
            ),
        )
    ),
)


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation("A random gesture prompt", ok=ref("VerificationPrompt")),
)
@on_error("Failed to get verification prompt")
def prompt(request: ApiRequest) -> HttpResponse:
    gesture, instruction = random_prompt()
    return ok(prompt={"id": gesture, "instruction": instruction, "timeLimit": 5})


@endpoint(
    "POST",
    limiters=[limits.general],
    spec=Operation(
        "Submit a verification selfie (503 VERIFICATION_UNAVAILABLE when no face comparison is configured)",
        ok=ref("VerificationResult"),
        errors=(400, 403, 404, 413, 503),
        body=SELFIE.schema(),
        content_type="multipart/form-data",
    ),
)
@on_error("Failed to submit verification")
def submit(request: ApiRequest) -> HttpResponse:
    file, form = SELFIE.parse(request)
    try:
        outcome = verification_submit(
            user_id=request.user_id,
            gesture_prompt=form["gesturePrompt"],
            reference_index=form["referencePhotoIndex"],
            selfie=read_all(file),
        )
    except images.ImageRejected as exc:
        raise ApiError(400, exc.message) from None
    if outcome.verified:
        return ok(
            verified=True,
            message=MSG_VERIFIED,
            similarity=outcome.similarity,
            ticketAwarded=outcome.ticket_awarded,
        )
    return ok(verified=False, message=MSG_REJECTED, similarity=outcome.similarity)


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation(
        "The caller's verification state and 5 newest attempts", ok=ref("VerificationStatus"), errors=(404,)
    ),
)
@on_error("Failed to get verification status")
def status(request: ApiRequest) -> HttpResponse:
    state = verification_state(user_id=request.user_id)
    if state is None:
        raise ApiError(404, "Profile not found")
    profile, attempts = state
    return ok(
        isVerified=bool(profile.is_verified),
        verifiedAt=iso(profile.verified_at),
        attempts=[
            {
                "id": str(a.id),
                "status": a.status,
                "rejectionReason": a.rejection_reason,
                "similarity": None if a.similarity_score is None else js_round(float(a.similarity_score)),
                "createdAt": iso(a.created_at),
                "processedAt": iso(a.processed_at),
            }
            for a in attempts
        ],
    )
