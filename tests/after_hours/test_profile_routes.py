"""After Hours profile and preferences routes (docs/contract.md, "After Hours")."""

from __future__ import annotations

import pytest

from profiles.models import AfterHoursPreferences, AfterHoursProfile, Profile
from tests.after_hours.conftest import make_member
from vlvt.http.api import iso

pytestmark = pytest.mark.django_db


def _profile_body(profile: AfterHoursProfile, name: str | None = "Alice", age: int | None = 30):
    """The original's fields, name and age of the main profile, and the app's aliases."""
    return {
        "userId": profile.user_id,
        "name": name,
        "age": age,
        "photoUrl": None,
        "description": profile.description,
        "createdAt": iso(profile.created_at),
        "updatedAt": iso(profile.updated_at),
        "id": profile.user_id,
        "bio": profile.description,
        "photo_url": None,
    }


def _prefs(camel: dict, user_id: str = "alice") -> dict:
    """A preferences body: the original's camelCase fields, then the app's snake_case ones."""
    snake = {
        "gender_seeking": "seekingGender",
        "max_distance_km": "maxDistanceKm",
        "min_age": "minAge",
        "max_age": "maxAge",
    }
    return {**camel, "id": user_id, **{alias: camel[original] for alias, original in snake.items()}}


# --- POST /profile ----------------------------------------------------------------------------------


def test_create_profile(api):
    make_member("alice", ah_profile=False)
    response = api("alice").post("/after-hours/profile", {"description": "  Night owl  "})
    assert response.status_code == 201
    profile = AfterHoursProfile.objects.get(pk="alice")
    assert (profile.photo_url, profile.description, profile.photo_hash) == ("", "Night owl", None)
    assert response.json() == {"success": True, "profile": _profile_body(profile)}


@pytest.mark.parametrize(
    "body", [{}, {"description": ""}, {"description": "   "}], ids=["absent", "empty", "blank"]
)
def test_create_profile_without_description_stores_null(api, body):
    make_member("alice", ah_profile=False)
    response = api("alice").post("/after-hours/profile", body)
    assert response.status_code == 201
    assert AfterHoursProfile.objects.get(pk="alice").description is None
    assert response.json()["profile"]["description"] is None


def test_create_profile_twice_is_409(api):
    make_member("alice", description="first")
    response = api("alice").post("/after-hours/profile", {"description": "second"})
    assert response.status_code == 409
    assert response.json() == {"success": False, "error": "After Hours profile already exists for this user"}
    assert AfterHoursProfile.objects.get(pk="alice").description == "first"


def test_description_over_500_characters_is_refused(api):
    make_member("alice", ah_profile=False)
    response = api("alice").post("/after-hours/profile", {"description": "x" * 501})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": [{"field": "description", "message": "Description must be maximum 500 characters"}],
    }
    assert not AfterHoursProfile.objects.exists()


def test_description_length_is_counted_like_validator_js(api):
    make_member("alice", ah_profile=False)
    text = "🙂" * 250 + "\u2764\ufe0f" * 250  # 500 characters once variation selectors are discounted
    response = api("alice").post("/after-hours/profile", {"description": text + "  "})
    assert response.status_code == 201
    assert AfterHoursProfile.objects.get(pk="alice").description == text


def test_malformed_json_is_400(api):
    make_member("alice", ah_profile=False)
    response = api("alice").post("/after-hours/profile", "{not json")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "Malformed JSON in request body"}


# --- GET /profile -----------------------------------------------------------------------------------


def test_get_profile_with_main_profile_name_and_age(api):
    make_member("alice", name="Alice", age=31, description="hi")
    response = api("alice").get("/after-hours/profile")
    assert response.status_code == 200
    profile = AfterHoursProfile.objects.get(pk="alice")
    assert response.json() == {"success": True, "profile": _profile_body(profile, name="Alice", age=31)}
    assert list(response.json()["profile"]) == [
        "userId",
        "name",
        "age",
        "photoUrl",
        "description",
        "createdAt",
        "updatedAt",
        "id",
        "bio",
        "photo_url",
    ]


@pytest.mark.parametrize("missing", ["after_hours", "main"])
def test_get_profile_needs_both_profiles(api, missing):
    make_member("alice", ah_profile=missing != "after_hours")
    if missing == "main":
        Profile.objects.filter(pk="alice").delete()
    response = api("alice").get("/after-hours/profile")
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "After Hours profile not found"}


def test_get_profile_resolves_the_photo_key(api):
    make_member("alice")
    AfterHoursProfile.objects.filter(pk="alice").update(photo_url="after-hours-photos/alice/p.jpg")
    url = api("alice").get("/after-hours/profile").json()["profile"]["photoUrl"]
    assert url.startswith("/uploads/after-hours-photos/alice/p.jpg?expires=")
    AfterHoursProfile.objects.filter(pk="alice").update(photo_url="https://cdn.example.com/a.jpg")
    assert (
        api("alice").get("/after-hours/profile").json()["profile"]["photoUrl"]
        == "https://cdn.example.com/a.jpg"
    )


# --- PATCH /profile ---------------------------------------------------------------------------------


def test_patch_profile_updates_description(api):
    make_member("alice", description="old")
    before = AfterHoursProfile.objects.get(pk="alice").updated_at
    response = api("alice").patch("/after-hours/profile", {"description": " new "})
    assert response.status_code == 200
    profile = AfterHoursProfile.objects.get(pk="alice")
    assert profile.updated_at is not None and before is not None
    assert profile.description == "new" and profile.updated_at > before
    assert response.json() == {"success": True, "profile": _profile_body(profile)}


def test_patch_profile_without_description_keeps_it(api):
    make_member("alice", description="old")
    response = api("alice").patch("/after-hours/profile", {})
    assert response.status_code == 200
    assert response.json()["profile"]["description"] == "old"


def test_patch_profile_with_empty_description_clears_it_as_the_original(api):
    make_member("alice", description="old")
    assert (
        api("alice").patch("/after-hours/profile", {"description": ""}).json()["profile"]["description"] == ""
    )


def test_patch_profile_404_and_400(api):
    make_member("alice", ah_profile=False)
    response = api("alice").patch("/after-hours/profile", {"description": "x"})
    assert (response.status_code, response.json()) == (
        404,
        {"success": False, "error": "After Hours profile not found"},
    )
    response = api("alice").patch("/after-hours/profile", {"description": "x" * 501})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "description", "message": "Description must be maximum 500 characters"}
    ]


# --- preferences ------------------------------------------------------------------------------------

DEFAULT_PREFS = {
    "seekingGender": "Any",
    "maxDistanceKm": 10,
    "minAge": 18,
    "maxAge": 99,
    "sexualOrientation": None,
}


def test_create_preferences_with_defaults(api):
    make_member("alice")
    response = api("alice").post("/after-hours/preferences", {})
    assert response.status_code == 201
    assert response.json() == {"success": True, "preferences": _prefs(DEFAULT_PREFS)}
    prefs = AfterHoursPreferences.objects.get(pk="alice")
    assert (
        prefs.seeking_gender,
        prefs.max_distance_km,
        prefs.min_age,
        prefs.max_age,
        prefs.sexual_orientation,
    ) == (
        "Any",
        10,
        18,
        99,
        None,
    )


def test_create_preferences_with_values_and_numeric_strings(api):
    make_member("alice")
    body = {
        "seekingGender": "Non-binary",
        "maxDistanceKm": "25",
        "minAge": 21,
        "maxAge": 40.0,
        "sexualOrientation": "Queer",
    }
    response = api("alice").post("/after-hours/preferences", body)
    assert response.status_code == 201
    expected = {
        "seekingGender": "Non-binary",
        "maxDistanceKm": 25,
        "minAge": 21,
        "maxAge": 40,
        "sexualOrientation": "Queer",
    }
    assert response.json() == {"success": True, "preferences": _prefs(expected)}


def test_create_preferences_twice_is_409(api):
    make_member("alice", prefs={"max_distance_km": 5})
    response = api("alice").post("/after-hours/preferences", {"maxDistanceKm": 50})
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "After Hours preferences already exist. Use PATCH to update.",
    }
    assert AfterHoursPreferences.objects.get(pk="alice").max_distance_km == 5


def test_preferences_validation_reports_every_error_in_order(api):
    make_member("alice")
    body = {
        "seekingGender": "male",
        "maxDistanceKm": 0,
        "minAge": 17,
        "maxAge": 12.5,
        "sexualOrientation": None,
    }
    response = api("alice").post("/after-hours/preferences", body)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": [
            {
                "field": "seekingGender",
                "message": "Seeking gender must be one of: Any, Male, Female, Non-binary",
            },
            {"field": "maxDistanceKm", "message": "Max distance must be between 1 and 200 km"},
            {"field": "minAge", "message": "Minimum age must be between 18 and 99"},
            {"field": "maxAge", "message": "Maximum age must be between 18 and 99"},
            {
                "field": "sexualOrientation",
                "message": "Sexual orientation must be one of: Straight, Gay, Bisexual, Pansexual, Queer, Other",
            },
            {"field": "maxAge", "message": "Minimum age cannot be greater than maximum age"},
        ],
    }
    assert not AfterHoursPreferences.objects.exists()


def test_min_age_above_max_age_is_refused(api):
    make_member("alice")
    response = api("alice").post("/after-hours/preferences", {"minAge": 40, "maxAge": 30})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "maxAge", "message": "Minimum age cannot be greater than maximum age"}
    ]


def test_get_preferences(api):
    make_member("alice")
    response = api("alice").get("/after-hours/preferences")
    assert (response.status_code, response.json()) == (
        404,
        {"success": False, "error": "After Hours preferences not found"},
    )
    AfterHoursPreferences.objects.create(
        user_id="alice", seeking_gender="Female", max_distance_km=3, min_age=25, max_age=35
    )
    response = api("alice").get("/after-hours/preferences")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "preferences": _prefs(
            {
                "seekingGender": "Female",
                "maxDistanceKm": 3,
                "minAge": 25,
                "maxAge": 35,
                "sexualOrientation": None,
            }
        ),
    }


def test_patch_preferences_changes_only_what_is_sent(api):
    make_member("alice", prefs={"seeking_gender": "Male", "max_distance_km": 5, "sexual_orientation": "Gay"})
    before = AfterHoursPreferences.objects.get(pk="alice").updated_at
    response = api("alice").patch("/after-hours/preferences", {"maxDistanceKm": 50, "minAge": "30"})
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "preferences": _prefs(
            {
                "seekingGender": "Male",
                "maxDistanceKm": 50,
                "minAge": 30,
                "maxAge": 99,
                "sexualOrientation": "Gay",
            }
        ),
    }
    updated = AfterHoursPreferences.objects.get(pk="alice").updated_at
    assert updated is not None and before is not None
    assert updated > before


def test_patch_preferences_404_and_400(api):
    make_member("alice")
    response = api("alice").patch("/after-hours/preferences", {"maxDistanceKm": 50})
    assert (response.status_code, response.json()) == (
        404,
        {"success": False, "error": "After Hours preferences not found"},
    )
    response = api("alice").patch("/after-hours/preferences", {"maxDistanceKm": 201})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "maxDistanceKm", "message": "Max distance must be between 1 and 200 km"}
    ]


# --- the mobile app's spellings (bio, photo_url, id, snake_case preferences) -------------------------


def test_the_app_creates_and_updates_its_profile_with_bio(api):
    make_member("alice", ah_profile=False)
    response = api("alice").post("/after-hours/profile", {"bio": "  Night owl  "})
    assert response.status_code == 201
    profile = AfterHoursProfile.objects.get(pk="alice")
    assert profile.description == "Night owl"
    assert response.json() == {"success": True, "profile": _profile_body(profile)}
    response = api("alice").patch("/after-hours/profile", {"bio": "Early bird"})
    profile.refresh_from_db()
    assert profile.description == "Early bird"
    assert response.json() == {"success": True, "profile": _profile_body(profile)}


def test_bio_and_description_may_come_together_only_when_equal(api):
    make_member("alice", description="old")
    response = api("alice").patch("/after-hours/profile", {"bio": "new", "description": "new"})
    assert response.json()["profile"]["bio"] == "new"
    response = api("alice").patch("/after-hours/profile", {"bio": "one", "description": "two"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": [{"field": "bio", "message": "bio and description must not differ"}],
    }
    assert AfterHoursProfile.objects.get(pk="alice").description == "new"


def test_bio_follows_the_description_rules(api):
    make_member("alice", ah_profile=False)
    response = api("alice").post("/after-hours/profile", {"bio": "x" * 501})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "description", "message": "Description must be maximum 500 characters"}
    ]
    assert not AfterHoursProfile.objects.exists()


def test_the_app_sends_snake_case_preferences_and_they_are_applied(api):
    make_member("alice")
    body = {"gender_seeking": "female", "min_age": 25, "max_age": 40, "max_distance_km": 50.0}
    response = api("alice").post("/after-hours/preferences", body)
    assert response.status_code == 201
    expected = {
        "seekingGender": "Female",
        "maxDistanceKm": 50,
        "minAge": 25,
        "maxAge": 40,
        "sexualOrientation": None,
    }
    assert response.json() == {"success": True, "preferences": _prefs(expected)}
    prefs = AfterHoursPreferences.objects.get(pk="alice")
    assert (prefs.seeking_gender, prefs.max_distance_km, prefs.min_age, prefs.max_age) == (
        "Female",
        50,
        25,
        40,
    )
    response = api("alice").patch(
        "/after-hours/preferences", {"gender_seeking": "any", "max_distance_km": 7.0}
    )
    assert response.json()["preferences"] == _prefs({**expected, "seekingGender": "Any", "maxDistanceKm": 7})


@pytest.mark.parametrize(
    ("body", "field", "original"),
    [
        ({"gender_seeking": "male", "seekingGender": "Female"}, "gender_seeking", "seekingGender"),
        ({"min_age": 20, "minAge": 21}, "min_age", "minAge"),
        ({"max_age": 50, "maxAge": "50"}, "max_age", "maxAge"),
        ({"max_distance_km": 5, "maxDistanceKm": 6}, "max_distance_km", "maxDistanceKm"),
    ],
)
def test_both_spellings_with_different_values_are_refused(api, body, field, original):
    make_member("alice", prefs={"max_distance_km": 3})
    response = api("alice").patch("/after-hours/preferences", body)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": [{"field": field, "message": f"{field} and {original} must not differ"}],
    }
    assert AfterHoursPreferences.objects.get(pk="alice").max_distance_km == 3


def test_both_spellings_with_the_same_value_are_accepted(api):
    make_member("alice")
    body = {
        "gender_seeking": "male",
        "seekingGender": "Male",
        "min_age": 30,
        "minAge": 30.0,
        "max_age": 40,
        "maxAge": 40,
    }
    response = api("alice").post("/after-hours/preferences", body)
    assert response.status_code == 201
    assert (response.json()["preferences"]["gender_seeking"], response.json()["preferences"]["min_age"]) == (
        "Male",
        30,
    )


def test_snake_case_values_are_validated_as_the_camel_case_ones(api):
    make_member("alice")
    response = api("alice").post("/after-hours/preferences", {"gender_seeking": "robots", "min_age": 17})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "seekingGender", "message": "Seeking gender must be one of: Any, Male, Female, Non-binary"},
        {"field": "minAge", "message": "Minimum age must be between 18 and 99"},
    ]
    assert not AfterHoursPreferences.objects.exists()
