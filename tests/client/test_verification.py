"""VerificationService, as the app calls it (profile host, unversioned paths): status, gesture
prompt, selfie submission (Rekognition replaced by the tests' stand-in)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.client import dart
from tests.client.conftest import upload_photo
from tests.profiles import imagegen
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

ATTEMPT = {
    "id": "String",
    "status": "String",
    "rejectionReason": "String?",
    "similarity": "int?",
    "createdAt": "DateTime",
    "processedAt": "DateTime?",
}


def status(client) -> dict:
    reply = client.get("/verification/status")
    assert reply.status == 200, reply
    values = dart.read(reply.body, success="bool", isVerified="bool", verifiedAt="DateTime?", attempts="List")
    values["attempts"] = [dart.read(a, **ATTEMPT) for a in values["attempts"]]
    return values


def test_prompt_then_submit_then_status(app, faces, media_root):
    make_user("alice")
    client = app("alice")
    upload_photo(client)
    before = status(client)
    assert (before["isVerified"], before["verifiedAt"], before["attempts"]) == (False, None, [])

    reply = client.get("/verification/prompt")
    assert reply.status == 200
    prompt = dart.read(reply.body["prompt"], id="String", instruction="String", timeLimit="int")

    selfie = SimpleUploadedFile("selfie.jpg", imagegen.jpeg_with_gps(600, 800), content_type="image/jpeg")
    faces.similarity = 98.2
    reply = client.upload(
        "/verification/submit",
        {"selfie": selfie},
        {"gesturePrompt": prompt["id"], "referencePhotoIndex": "0"},
    )
    assert reply.status == 200, reply
    result = dart.read(
        reply.body,
        success="bool",
        verified="bool",
        message="String",
        similarity="int?",
        ticketAwarded="bool?",
    )
    assert (result["verified"], result["similarity"]) == (True, 98)

    after = status(client)
    assert after["isVerified"] is True and after["verifiedAt"] is not None
    [attempt] = after["attempts"]
    assert (attempt["status"], attempt["similarity"]) == ("approved", 98)
