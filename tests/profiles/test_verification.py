"""GET /verification/prompt, POST /verification/submit, GET /verification/status
(docs/contract.md, "Verification")."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiles.faces import FaceComparisonFailed, set_face_comparer
from profiles.models import Profile, TicketLedger, Verification
from profiles.services.verification import GESTURE_PROMPTS
from tests.profiles import imagegen
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db


def selfie(data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "selfie.jpg",
        data if data is not None else imagegen.jpeg_with_gps(400, 300),
        content_type="image/jpeg",
    )


def with_photo(api, user_id: str = "alice") -> str:
    make_user(user_id)
    client = api(user_id)
    response = client.upload(
        "/profile/photos/upload",
        {"photo": SimpleUploadedFile("p.png", imagegen.png(100, 100), content_type="image/png")},
    )
    assert response.status_code == 200
    photos = Profile.objects.get(pk=user_id).photos
    assert photos
    return photos[0]


def submit(api, user_id="alice", fields=None, file=None):
    return api(user_id).upload(
        "/verification/submit", {"selfie": file or selfie()}, {"gesturePrompt": "thumbs_up", **(fields or {})}
    )


def test_prompt(api):
    make_user("alice")
    body = api("alice").get("/verification/prompt").json()
    assert body["success"] is True
    assert body["prompt"]["timeLimit"] == 5
    assert (body["prompt"]["id"], body["prompt"]["instruction"]) in GESTURE_PROMPTS
    assert set(body) == {"success", "prompt"} and set(body["prompt"]) == {"id", "instruction", "timeLimit"}


def test_submit_approved_marks_verified_and_pays_the_ticket_once(api, faces, media_root):
    reference = with_photo(api)
    faces.similarity = 96.5

    response = submit(api)

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "verified": True,
        "message": "Verification successful! You are now verified.",
        "similarity": 97,
        "ticketAwarded": True,
    }
    profile = Profile.objects.get(pk="alice")
    assert profile.is_verified is True and profile.verified_at is not None
    attempt = Verification.objects.get(user_id="alice")
    assert (attempt.status, attempt.similarity_score, attempt.rejection_reason, attempt.gesture_prompt) == (
        "approved",
        Decimal("96.50"),
        None,
        "thumbs_up",
    )
    assert attempt.reference_photo_key == reference
    assert re.fullmatch(r"verifications/alice/\d{13}\.jpg", attempt.selfie_key)
    assert attempt.rekognition_response == {"FaceMatches": [{"Similarity": 96.5}]}
    assert attempt.processed_at is not None
    tickets = list(
        TicketLedger.objects.filter(user_id="alice").values_list("reason", "amount", "reference_id")
    )
    assert tickets == [("verification", 1, str(attempt.id))]
    # The selfie is stored re-encoded: no EXIF/GPS, upright.
    stored = (media_root / attempt.selfie_key).read_bytes()
    assert b"Exif" not in stored and b"GPS" not in stored
    assert (imagegen.load(stored).width, imagegen.load(stored).height) == (300, 400)
    # The comparison got the clean selfie and the stored reference photo.
    assert faces.calls[0]["source"] == stored
    assert faces.calls[0]["target"] == (media_root / reference).read_bytes()
    assert faces.calls[0]["threshold"] == 90.0

    again = submit(api)
    assert (again.status_code, again.json()) == (400, {"success": False, "error": "Already verified"})
    assert TicketLedger.objects.filter(user_id="alice").count() == 1


def test_ticket_is_not_paid_twice_after_a_re_verification(api, faces):
    with_photo(api)
    TicketLedger.objects.create(user_id="alice", amount=1, reason="verification", reference_id="earlier")
    response = submit(api)
    assert response.json()["ticketAwarded"] is False
    assert TicketLedger.objects.filter(user_id="alice").count() == 1


def test_submit_rejected_below_threshold(api, faces):
    with_photo(api)
    faces.similarity = 42.4
    response = submit(api)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "verified": False,
        "message": "Verification failed. Please ensure your selfie matches your profile photo.",
        "similarity": 42,
    }
    attempt = Verification.objects.get(user_id="alice")
    assert (attempt.status, attempt.rejection_reason, attempt.similarity_score) == (
        "rejected",
        "Face similarity below threshold",
        Decimal("42.40"),
    )
    assert Profile.objects.get(pk="alice").is_verified is False
    assert not TicketLedger.objects.exists()


def test_submit_service_error(api, faces):
    with_photo(api)
    faces.error = FaceComparisonFailed("ThrottlingException")
    response = submit(api)
    assert (response.status_code, response.json()) == (
        500,
        {"success": False, "error": "Face comparison service unavailable. Please try again later."},
    )
    attempt = Verification.objects.get(user_id="alice")
    assert (attempt.status, attempt.rejection_reason) == ("rejected", "Face comparison service error")
    assert Profile.objects.get(pk="alice").is_verified is False


def test_without_rekognition_the_answer_is_honest(api, settings):
    settings.REKOGNITION_ENABLED = False
    set_face_comparer(None)
    with_photo(api)
    response = submit(api)
    assert (response.status_code, response.json()) == (
        503,
        {
            "success": False,
            "error": "Selfie verification is not available on this server. Please try again later.",
            "code": "VERIFICATION_UNAVAILABLE",
        },
    )
    attempt = Verification.objects.get(user_id="alice")
    assert (attempt.status, attempt.rejection_reason, attempt.similarity_score) == (
        "unavailable",
        "Face comparison service is not configured",
        None,
    )
    assert attempt.processed_at is not None
    assert Profile.objects.get(pk="alice").is_verified is False
    assert not TicketLedger.objects.exists()


def test_submit_errors_in_order(api, faces, media_root):
    make_user("nopro", profile=False)
    make_user("nophotos")
    with_photo(api)
    client = api("alice")

    no_file = client.client.post(
        "/verification/submit", data={"gesturePrompt": "thumbs_up"}, headers=client._headers()
    )
    assert (no_file.status_code, no_file.json()) == (400, {"success": False, "error": "No selfie uploaded"})
    no_gesture = client.upload("/verification/submit", {"selfie": selfie()})
    assert (no_gesture.status_code, no_gesture.json()) == (
        400,
        {"success": False, "error": "Gesture prompt is required"},
    )
    bad_gesture = submit(api, fields={"gesturePrompt": "wink"})
    assert (bad_gesture.status_code, bad_gesture.json()) == (
        400,
        {"success": False, "error": "Invalid gesture prompt"},
    )
    no_profile = submit(api, "nopro")
    assert (no_profile.status_code, no_profile.json()) == (
        404,
        {"success": False, "error": "Profile not found"},
    )
    no_photos = submit(api, "nophotos")
    assert (no_photos.status_code, no_photos.json()) == (
        400,
        {"success": False, "error": "No profile photos to compare against"},
    )
    bad_index = submit(api, fields={"referencePhotoIndex": "-1"})
    assert (bad_index.status_code, bad_index.json()) == (
        400,
        {"success": False, "error": "Invalid reference photo index"},
    )
    text = submit(api, file=selfie(b"not an image at all"))
    assert (text.status_code, text.json()) == (
        400,
        {"success": False, "error": "Unable to determine file type. File may be corrupted or unsupported."},
    )
    gif = submit(api, file=selfie(imagegen.gif()))
    assert gif.status_code == 400
    assert gif.json()["error"].startswith("File content is image/gif")

    assert not Verification.objects.exists()
    assert faces.calls == []
    assert not (media_root / "verifications").exists()


def test_reference_index_is_clamped_to_the_last_photo(api, faces):
    reference = with_photo(api)
    assert submit(api, fields={"referencePhotoIndex": "9"}).status_code == 200
    assert Verification.objects.get().reference_photo_key == reference


def test_status(api, faces):
    with_photo(api)
    faces.similarity = 10.0
    submit(api)
    faces.similarity = 91.2
    submit(api)

    body = api("alice").get("/verification/status").json()
    profile = Profile.objects.get(pk="alice")
    attempts = list(Verification.objects.order_by("-created_at"))
    assert body["success"] is True and body["isVerified"] is True
    assert profile.verified_at is not None
    assert body["verifiedAt"] == profile.verified_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert [(a["status"], a["similarity"], a["rejectionReason"]) for a in body["attempts"]] == [
        ("approved", 91, None),
        ("rejected", 10, "Face similarity below threshold"),
    ]
    assert [a["id"] for a in body["attempts"]] == [str(a.id) for a in attempts]
    assert all(a["createdAt"].endswith("Z") and a["processedAt"].endswith("Z") for a in body["attempts"])


def test_status_limits_to_five_and_reports_missing_profile(api):
    make_user("alice")
    make_user("nopro", profile=False)
    for n in range(7):
        Verification.objects.create(
            user_id="alice", selfie_key=f"k{n}", gesture_prompt="thumbs_up", similarity_score=Decimal("0.00")
        )
    body = api("alice").get("/verification/status").json()
    assert len(body["attempts"]) == 5
    assert {a["similarity"] for a in body["attempts"]} == {0}
    assert (body["isVerified"], body["verifiedAt"]) == (False, None)
    missing = api("nopro").get("/verification/status")
    assert (missing.status_code, missing.json()) == (404, {"success": False, "error": "Profile not found"})
