"""Every profile-service endpoint tried by Mallory with Bob's ids: nothing of Bob's changes."""

from __future__ import annotations

import jwt
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from profiles.models import Profile, Swipe, Verification
from tests.profiles import imagegen
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(api, media_root):
    make_user("bob", bio="bob's bio", latitude=10, longitude=20)
    make_user("mallory")
    upload = api("bob").upload(
        "/profile/photos/upload",
        {"photo": SimpleUploadedFile("b.png", imagegen.png(50, 50), content_type="image/png")},
    )
    assert upload.status_code == 200
    swipe = api("bob").post("/swipes", {"targetUserId": "mallory", "action": "pass"})
    assert swipe.status_code == 200
    return snapshot(media_root)


def snapshot(media_root) -> tuple:
    profile = Profile.objects.get(pk="bob")
    files = sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())
    return (
        profile.name,
        profile.bio,
        profile.photos,
        profile.latitude,
        profile.longitude,
        profile.is_verified,
        files,
        list(Swipe.objects.filter(user_id="bob").values_list("target_user_id", "action")),
    )


def test_profile_routes_refuse_other_users(api, bob, media_root):
    mallory = api("mallory")
    cases = [
        (
            mallory.put("/profile/bob", {"name": "Pwned"}),
            403,
            "Forbidden: Cannot modify other users' profiles",
        ),
        (mallory.delete("/profile/bob"), 403, "Forbidden: Cannot delete other users' profiles"),
        (
            mallory.put("/profile/bob/location", {"latitude": 1, "longitude": 1}),
            403,
            "Forbidden: Cannot update other users' location",
        ),
    ]
    for response, status, error in cases:
        assert (response.status_code, response.json()) == (status, {"success": False, "error": error})
    assert snapshot(media_root) == bob


def test_reading_another_profile_is_allowed_but_not_own(api, bob):
    body = api("mallory").get("/profile/bob").json()
    assert body["isOwnProfile"] is False and body["profile"]["userId"] == "bob"
    assert "latitude" not in body["profile"]


def test_photo_routes_act_only_on_the_callers_profile(
    api, bob, media_root, django_capture_on_commit_callbacks
):
    mallory = api("mallory")
    bob_key = (Profile.objects.get(pk="bob").photos or [""])[0]
    photo_id = bob_key.rsplit("/", 1)[1].removesuffix(".jpg")

    with django_capture_on_commit_callbacks(execute=True):
        deleted = mallory.delete(f"/profile/photos/{photo_id}")
    assert (deleted.status_code, deleted.json()) == (404, {"success": False, "error": "Photo not found"})
    reorder = mallory.put("/profile/photos/reorder", {"photos": [bob_key]})
    assert (reorder.status_code, reorder.json()) == (
        400,
        {"success": False, "error": "Invalid photo URLs provided"},
    )
    upload = mallory.upload(
        "/profile/photos/upload",
        {"photo": SimpleUploadedFile("m.png", imagegen.png(20, 20), content_type="image/png")},
        {"userId": "bob"},
    )
    assert upload.status_code == 200
    assert (Profile.objects.get(pk="mallory").photos or [""])[0].startswith("photos/mallory/")
    assert snapshot(media_root)[:6] == bob[:6]
    assert set(bob[6]) <= set(snapshot(media_root)[6])


def test_verification_uses_only_the_callers_profile(api, bob, media_root, faces):
    mallory = api("mallory")
    submit = mallory.upload(
        "/verification/submit",
        {"selfie": SimpleUploadedFile("s.jpg", imagegen.jpeg_with_gps(80, 60), content_type="image/jpeg")},
        {"gesturePrompt": "thumbs_up", "userId": "bob"},
    )
    assert (submit.status_code, submit.json()) == (
        400,
        {"success": False, "error": "No profile photos to compare against"},
    )
    status = mallory.get("/verification/status?userId=bob").json()
    assert status == {"success": True, "isVerified": False, "verifiedAt": None, "attempts": []}
    assert not Verification.objects.exists()
    assert snapshot(media_root) == bob


def test_swipes_are_always_the_callers(api, bob, media_root):
    mallory = api("mallory")
    response = mallory.post("/swipes", {"targetUserId": "bob", "action": "like", "userId": "bob"})
    assert response.json()["isMatch"] is False  # Bob passed on Mallory; no match is forged
    assert list(Swipe.objects.filter(user_id="mallory").values_list("target_user_id", "action")) == [
        ("bob", "like")
    ]
    assert mallory.get("/swipes/sent?userId=bob").json()["likes"][0]["target_user_id"] == "bob"
    assert mallory.get("/swipes/received?userId=bob").json() == {"success": True, "likes": []}
    assert snapshot(media_root) == bob


def test_discovery_never_lists_the_caller(api, bob):
    ids = [p["userId"] for p in api("mallory").get("/profiles/discover").json()["profiles"]]
    assert ids == ["bob"]
    assert api("mallory").post("/profiles/search/count", {}).json() == {"success": True, "count": 1}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/profile"),
        ("get", "/profile/bob"),
        ("put", "/profile/bob"),
        ("delete", "/profile/bob"),
        ("put", "/profile/bob/location"),
        ("post", "/profile/photos/upload"),
        ("delete", "/profile/photos/x"),
        ("put", "/profile/photos/reorder"),
        ("get", "/verification/prompt"),
        ("post", "/verification/submit"),
        ("get", "/verification/status"),
        ("get", "/profiles/discover"),
        ("post", "/profiles/search/count"),
        ("post", "/swipes"),
        ("get", "/swipes/received"),
        ("get", "/swipes/sent"),
    ],
)
def test_every_route_needs_a_valid_token(client, jwt_for, method, path):
    bad = getattr(client, method)(path, headers={"Authorization": "Bearer not.a.jwt"})
    assert (bad.status_code, bad.json()) == (401, {"success": False, "error": "Invalid token"})
    expired = getattr(client, method)(
        path, headers={"Authorization": f"Bearer {jwt_for('bob', expires_in=-60)}"}
    )
    assert (expired.status_code, expired.json()) == (401, {"success": False, "error": "Token expired"})
    no_user = getattr(client, method)(path, headers={"Authorization": f"Bearer {jwt_for('')}"})
    assert (no_user.status_code, no_user.json()) == (401, {"success": False, "error": "Invalid token"})
    forever = jwt.encode(
        {"userId": "bob", "provider": "email"}, settings.JWT_SECRET, algorithm="HS256"
    )  # no exp
    no_exp = getattr(client, method)(path, headers={"Authorization": f"Bearer {forever}"})
    assert (no_exp.status_code, no_exp.json()) == (401, {"success": False, "error": "Invalid token"})
