"""POST /profile, GET/PUT/DELETE /profile/:userId, PUT /profile/:userId/location (docs/contract.md,
"Profile")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from profiles.models import Profile, User
from tests.profiles import imagegen
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Alice Smith",
    "age": 29,
    "bio": "  Hello there  ",
    "photos": ["https://cdn.example.com/a.jpg"],
    "interests": [" hiking ", "jazz"],
}


def test_create_profile(api):
    make_user("alice", profile=False)
    response = api("alice").post("/profile", {**VALID, "userId": "mallory"})

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "profile": {
            "userId": "alice",
            "name": "Alice Smith",
            "age": 29,
            "bio": "Hello there",
            "photos": ["https://cdn.example.com/a.jpg"],
            "interests": ["hiking", "jazz"],
        },
    }
    row = Profile.objects.get(pk="alice")
    assert (row.name, row.age, row.bio, row.photos, row.interests) == (
        "Alice Smith",
        29,
        "Hello there",
        ["https://cdn.example.com/a.jpg"],
        ["hiking", "jazz"],
    )
    assert not Profile.objects.filter(pk="mallory").exists()


def test_create_minimal_profile_defaults(api):
    make_user("alice", profile=False)
    response = api("alice").post("/profile", {"name": "Al", "age": "25"})
    assert response.json() == {
        "success": True,
        "profile": {"userId": "alice", "name": "Al", "age": 25, "bio": None, "photos": [], "interests": []},
    }


def test_create_validation_errors_report_every_failed_rule(api):
    make_user("alice", profile=False)
    response = api("alice").post(
        "/profile",
        {
            "bio": "x" * 501,
            "photos": ["http://localhost/a.jpg", "ftp://x.com/a", "https://ok.example.org/p.jpg"],
            "interests": ["", "y" * 51, "fine"],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": [
            {"field": "name", "message": "Name is required"},
            {"field": "name", "message": "Name must be between 2 and 100 characters"},
            {"field": "name", "message": "Name can only contain letters, numbers, and spaces"},
            {"field": "age", "message": "Age is required"},
            {"field": "age", "message": "Age must be at least 18 and no more than 120"},
            {"field": "bio", "message": "Bio must be maximum 500 characters"},
            {"field": "photos[0]", "message": "Each photo must be a valid URL"},
            {"field": "photos[1]", "message": "Each photo must be a valid URL"},
            {"field": "interests[0]", "message": "Each interest must be between 1 and 50 characters"},
            {"field": "interests[1]", "message": "Each interest must be between 1 and 50 characters"},
        ],
    }
    assert not Profile.objects.exists()


@pytest.mark.parametrize(
    ("patch", "errors"),
    [
        ({"name": "A"}, [("name", "Name must be between 2 and 100 characters")]),
        ({"name": "Bobby!"}, [("name", "Name can only contain letters, numbers, and spaces")]),
        ({"age": 17}, [("age", "Age must be at least 18 and no more than 120")]),
        ({"age": 121}, [("age", "Age must be at least 18 and no more than 120")]),
        ({"age": 25.5}, [("age", "Age must be at least 18 and no more than 120")]),
        ({"age": True}, [("age", "Age must be at least 18 and no more than 120")]),
        (
            {"photos": ["https://a.com/1.jpg"] * 7},
            [("photos", "Photos must be an array with maximum 6 items")],
        ),
        ({"photos": "https://a.com/1.jpg"}, [("photos", "Photos must be an array with maximum 6 items")]),
        ({"interests": ["a"] * 11}, [("interests", "Interests must be an array with maximum 10 items")]),
    ],
)
def test_create_single_rule_errors(api, patch, errors):
    make_user("alice", profile=False)
    response = api("alice").post("/profile", {"name": "Alice", "age": 30, **patch})
    assert response.status_code == 400
    assert response.json() == {"success": False, "errors": [{"field": f, "message": m} for f, m in errors]}
    assert not Profile.objects.exists()


def test_create_conflicts_and_unknown_user(api):
    make_user("alice")
    again = api("alice").post("/profile", {"name": "Alice", "age": 30})
    assert (again.status_code, again.json()) == (
        409,
        {"success": False, "error": "Profile already exists for this user"},
    )
    ghost = api("ghost").post("/profile", {"name": "Ghost", "age": 30})
    assert (ghost.status_code, ghost.json()) == (400, {"success": False, "error": "Invalid user reference"})
    assert list(Profile.objects.values_list("user_id", flat=True)) == ["alice"]


def test_create_bad_bodies(api):
    make_user("alice", profile=False)
    client = api("alice").client
    headers = {"Authorization": api("alice")._headers()["Authorization"]}
    malformed = client.post("/profile", data="{nope", content_type="application/json", headers=headers)
    assert malformed.status_code == 400
    assert malformed.json()["success"] is False
    not_object = client.post("/profile", data="[1,2]", content_type="application/json", headers=headers)
    assert not_object.status_code == 400
    assert not Profile.objects.exists()


def test_get_profile_own_and_other(api):
    key = "photos/alice/0b7c2a47-95a4-4a38-9d47-2f2bfb1c7a11.jpg"
    make_user(
        "alice", bio="hi", photos=[key, "/uploads/legacy.jpg", "https://x.example.com/p.jpg"], interests=["a"]
    )
    make_user("bob")
    Profile.objects.filter(pk="alice").update(is_verified=True, verified_at="2026-01-22T10:00:00Z")

    own = api("alice").get("/profile/alice").json()
    other = api("bob").get("/profile/alice").json()

    photos = own["profile"].pop("photos")
    assert photos[0].startswith(f"/uploads/{key}?expires=")
    assert photos[1:] == ["/uploads/legacy.jpg", "https://x.example.com/p.jpg"]
    assert own == {
        "success": True,
        "profile": {
            "userId": "alice",
            "name": "Alice",
            "age": 30,
            "bio": "hi",
            "interests": ["a"],
            "isVerified": True,
            "verifiedAt": "2026-01-22T10:00:00.000Z",
        },
        "isOwnProfile": True,
    }
    assert other["isOwnProfile"] is False
    assert other["profile"]["isVerified"] is True


def test_get_profile_not_found_and_defaults(api):
    make_user("bob")
    missing = api("bob").get("/profile/nobody")
    assert (missing.status_code, missing.json()) == (404, {"success": False, "error": "Profile not found"})
    assert api("bob").get("/profile/bob").json()["profile"] | {"photos": []} == {
        "userId": "bob",
        "name": "Bob",
        "age": 30,
        "bio": None,
        "photos": [],
        "interests": [],
        "isVerified": False,
        "verifiedAt": None,
    }


def test_update_profile_keeps_absent_fields(api):
    make_user("alice", bio="old bio", interests=["x"])
    response = api("alice").put("/profile/alice", {"name": "Alice B", "interests": ["y", "z"]})
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "profile": {
            "userId": "alice",
            "name": "Alice B",
            "age": 30,
            "bio": "old bio",
            "photos": [],
            "interests": ["y", "z"],
        },
    }
    row = Profile.objects.get(pk="alice")
    assert (row.name, row.bio, row.interests) == ("Alice B", "old bio", ["y", "z"])
    assert row.updated_at is not None and row.created_at is not None
    assert row.updated_at > row.created_at


def test_update_errors(api):
    make_user("alice")
    make_user("bob")
    make_user("nopro", profile=False)

    invalid = api("bob").put("/profile/alice", {"age": 12})
    # Validation runs before the ownership check, as the original.
    assert (invalid.status_code, invalid.json()) == (
        400,
        {
            "success": False,
            "errors": [{"field": "age", "message": "Age must be at least 18 and no more than 120"}],
        },
    )
    other = api("bob").put("/profile/alice", {"name": "Hacked"})
    assert (other.status_code, other.json()) == (
        403,
        {"success": False, "error": "Forbidden: Cannot modify other users' profiles"},
    )
    missing = api("nopro").put("/profile/nopro", {"name": "Someone"})
    assert (missing.status_code, missing.json()) == (404, {"success": False, "error": "Profile not found"})
    assert Profile.objects.get(pk="alice").name == "Alice"
    assert not Profile.objects.filter(pk="nopro").exists()


def test_delete_profile_removes_photos_and_thumbnails(api, media_root, django_capture_on_commit_callbacks):
    make_user("alice")
    client = api("alice")
    upload = client.client.post(
        "/profile/photos/upload",
        data={"photo": SimpleUploadedFile("a.png", imagegen.png(30, 30), content_type="image/png")},
        headers=client._headers(),
    )
    assert upload.status_code == 200
    assert len([p for p in media_root.rglob("*") if p.is_file()]) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/profile/alice")

    assert (response.status_code, response.json()) == (200, {"success": True, "message": "Profile deleted"})
    assert not Profile.objects.filter(pk="alice").exists()
    assert User.objects.filter(pk="alice").exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_delete_errors(api):
    make_user("alice")
    make_user("bob")
    other = api("bob").delete("/profile/alice")
    assert (other.status_code, other.json()) == (
        403,
        {"success": False, "error": "Forbidden: Cannot delete other users' profiles"},
    )
    Profile.objects.filter(pk="bob").delete()
    missing = api("bob").delete("/profile/bob")
    assert (missing.status_code, missing.json()) == (404, {"success": False, "error": "Profile not found"})
    assert Profile.objects.filter(pk="alice").exists()


def test_location_update_returns_decimal_strings(api):
    make_user("alice")
    response = api("alice").put("/profile/alice/location", {"latitude": 40.7128, "longitude": -74.006})
    assert response.status_code == 200
    body = response.json()
    updated_at = body["location"].pop("updatedAt")
    assert body == {
        "success": True,
        "location": {"userId": "alice", "latitude": "40.71280000", "longitude": "-74.00600000"},
    }
    row = Profile.objects.get(pk="alice")
    assert (row.latitude, row.longitude) == (Decimal("40.71280000"), Decimal("-74.00600000"))
    assert updated_at.endswith("Z") and len(updated_at) == 24
    # Any move is accepted 15 minutes after the last one (docs/security.md).
    Profile.objects.filter(pk="alice").update(location_updated_at=timezone.now() - timedelta(minutes=15))
    tiny = api("alice").put("/profile/alice/location", {"latitude": 0, "longitude": 1e-9}).json()
    assert (tiny["location"]["latitude"], tiny["location"]["longitude"]) == ("0.00000000", "0.00000000")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"latitude": "40.7", "longitude": -74.0},
            "Invalid location data: latitude and longitude must be numbers",
        ),
        ({"latitude": 40.7}, "Invalid location data: latitude and longitude must be numbers"),
        ({"latitude": True, "longitude": 1}, "Invalid location data: latitude and longitude must be numbers"),
        ({"latitude": 90.5, "longitude": 0}, "Invalid latitude: must be between -90 and 90"),
        ({"latitude": 0, "longitude": -180.1}, "Invalid longitude: must be between -180 and 180"),
    ],
)
def test_location_validation(api, body, error):
    make_user("alice")
    response = api("alice").put("/profile/alice/location", body)
    assert (response.status_code, response.json()) == (400, {"success": False, "error": error})
    assert Profile.objects.get(pk="alice").latitude is None


def test_location_ownership_and_missing_profile(api):
    make_user("alice")
    make_user("nopro", profile=False)
    other = api("nopro").put("/profile/alice/location", {"latitude": 1, "longitude": 2})
    assert (other.status_code, other.json()) == (
        403,
        {"success": False, "error": "Forbidden: Cannot update other users' location"},
    )
    missing = api("nopro").put("/profile/nopro/location", {"latitude": 1, "longitude": 2})
    assert (missing.status_code, missing.json()) == (404, {"success": False, "error": "Profile not found"})
    assert Profile.objects.get(pk="alice").latitude is None


def test_versioned_paths_reach_the_same_routes(api):
    make_user("alice")
    assert api("alice").get("/api/v1/profile/alice").json()["profile"]["userId"] == "alice"
    assert (
        api("alice").put("/api/v1/profile/alice/location", {"latitude": 1.5, "longitude": 2}).status_code
        == 200
    )


def test_wrong_method_is_json_405(api):
    make_user("alice")
    response = api("alice").post("/profile/alice", {"name": "x"})
    assert response.status_code == 405
    assert response.json() == {"success": False, "error": "Method not allowed"}
