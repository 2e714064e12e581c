"""Selfie verification (docs/contract.md, "Verification") with the face comparison behind `profiles.faces`.

The selfie is re-encoded like every stored image (no EXIF/GPS, docs/contract.md, D8), stored at
`verifications/<uid>/<ms>.jpg`, and recorded as a `verifications` row before the comparison. The
comparison runs outside any transaction (it is a network call); the approval, the profile flag and
the one-time ticket are written together afterwards.
"""

from __future__ import annotations

import logging
import math
import random
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now

from profiles import images, storage
from profiles.faces import FaceComparisonUnavailable, face_comparer
from profiles.models import Profile, Verification
from profiles.services.tickets import ticket_award_once
from vlvt.http.api import ApiError

log = logging.getLogger(__name__)

GESTURE_PROMPTS: tuple[tuple[str, str], ...] = (
    ("three_fingers", "Hold up 3 fingers"),
    ("touch_nose", "Touch your nose"),
    ("look_left", "Look to your left"),
    ("look_right", "Look to your right"),
    ("thumbs_up", "Give a thumbs up"),
    ("peace_sign", "Show a peace sign"),
)
GESTURE_IDS = frozenset(g for g, _ in GESTURE_PROMPTS)
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")

MSG_VERIFIED = "Verification successful! You are now verified."
MSG_REJECTED = "Verification failed. Please ensure your selfie matches your profile photo."
MSG_SERVICE_ERROR = "Face comparison service unavailable. Please try again later."
MSG_NOT_CONFIGURED = "Selfie verification is not available on this server. Please try again later."


def random_prompt() -> tuple[str, str]:
    return random.choice(GESTURE_PROMPTS)


def js_round(value: float) -> int:
    """Math.round: halves go up (Python's round() would round them to even)."""
    return math.floor(value + 0.5)


@dataclass(frozen=True, slots=True)
class VerificationOutcome:
    verified: bool
    similarity: int
    ticket_awarded: bool


def _reference_photo(user_id: str, raw_index: str | None) -> str:
    profile = Profile.objects.filter(pk=user_id).only("photos", "is_verified").first()
    if profile is None:
        raise ApiError(404, "Profile not found")
    if profile.is_verified:
        raise ApiError(400, "Already verified")
    photos = list(profile.photos or [])
    if not photos:
        raise ApiError(400, "No profile photos to compare against")
    index = _parse_index(raw_index)
    return photos[min(index, len(photos) - 1)]


def _parse_index(raw: str | None) -> int:
    """parseInt(referencePhotoIndex || '0'); a negative or unparseable index is a 400, not a 500."""
    match = _LEADING_INT.match(raw or "0")
    if match is None or int(match.group(1)) < 0:
        raise ApiError(400, "Invalid reference photo index")
    return int(match.group(1))


def verification_submit(
    *, user_id: str, gesture_prompt: str, reference_index: str | None, selfie: bytes
) -> VerificationOutcome:
    reference = _reference_photo(user_id, reference_index)
    selfie_jpeg = images.process_single(selfie).data
    key = storage.selfie_key(user_id)
    storage.save(key, selfie_jpeg)
    attempt = Verification.objects.create(
        user_id=user_id,
        selfie_key=key,
        reference_photo_key=reference,
        gesture_prompt=gesture_prompt,
        status="pending",
    )
    try:
        target = storage.read_bytes(reference, owner=user_id)
        result = face_comparer().compare(
            source=selfie_jpeg, target=target, threshold=settings.REKOGNITION_SIMILARITY_THRESHOLD
        )
    except FaceComparisonUnavailable:
        # Honest default: the attempt is recorded and nobody is marked verified.
        _close(attempt, status="unavailable", reason="Face comparison service is not configured")
        raise ApiError(503, MSG_NOT_CONFIGURED, code="VERIFICATION_UNAVAILABLE") from None
    except Exception as exc:  # FaceComparisonFailed, the reference fetch, anything else
        log.warning("face comparison failed", extra={"error": type(exc).__name__})
        _close(attempt, status="rejected", reason="Face comparison service error")
        raise ApiError(500, MSG_SERVICE_ERROR) from None
    verified = result.similarity >= settings.REKOGNITION_SIMILARITY_THRESHOLD
    awarded = _record_result(
        attempt, user_id=user_id, similarity=result.similarity, raw=result.raw, verified=verified
    )
    return VerificationOutcome(
        verified=verified, similarity=js_round(result.similarity), ticket_awarded=awarded
    )


def _close(attempt: Verification, *, status: str, reason: str) -> None:
    Verification.objects.filter(pk=attempt.pk).update(
        status=status, rejection_reason=reason, processed_at=Now()
    )


def _record_result(
    attempt: Verification, *, user_id: str, similarity: float, raw: dict, verified: bool
) -> bool:
    with transaction.atomic():
        Verification.objects.filter(pk=attempt.pk).update(
            similarity_score=Decimal(str(round(similarity, 2))),
            rekognition_response=raw,
            status="approved" if verified else "rejected",
            rejection_reason=None if verified else "Face similarity below threshold",
            processed_at=Now(),
        )
        if not verified:
            return False
        Profile.objects.filter(pk=user_id).update(is_verified=True, verified_at=Now())
        return ticket_award_once(user_id=user_id, reason="verification", reference_id=str(attempt.pk))
