"""ProfileApiService, as the app calls it (profile host, `/api/v1/...`): create, read, edit with
photos, location, discovery, search count, swipes and likes, photo upload and delete (the service
also has reorderPhotos, which no screen calls)."""

from __future__ import annotations

import pytest

from profiles.models import Profile, Swipe
from tests.client import dart
from tests.client.conftest import upload_photo
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db


def test_profile_setup_creates_the_profile_with_the_apps_body(app):
    make_user("alice", profile=False)
    body = {
        "userId": "alice",
        "name": "Alice",
        "age": 29,
        "bio": "Night owl",
        "interests": ["Hiking", "Jazz"],
        "isVerified": False,
        "isNewUser": False,
    }
    reply = app("alice").post("/api/v1/profile", body)
    assert reply.status == 200, reply  # createProfile accepts 200 only
    assert reply.body["success"] is True
    profile = dart.read(reply.body["profile"], **dart.PROFILE)
    assert (profile["userId"], profile["name"], profile["age"], profile["bio"], profile["interests"]) == (
        "alice",
        "Alice",
        29,
        "Night owl",
        ["Hiking", "Jazz"],
    )
    stored = Profile.objects.get(pk="alice")
    assert (stored.name, stored.age, stored.bio, stored.interests) == (
        "Alice",
        29,
        "Night owl",
        ["Hiking", "Jazz"],
    )


def test_get_profile_reads_as_the_profile_model(app):
    make_user("alice", bio="Night owl", interests=["Jazz"])
    reply = app("alice").get("/api/v1/profile/alice")
    assert reply.status == 200
    profile = dart.read(reply.body["profile"], **dart.PROFILE)
    assert (profile["userId"], profile["name"], profile["age"], profile["bio"], profile["photos"]) == (
        "alice",
        "Alice",
        30,
        "Night owl",
        [],
    )


def test_the_edit_screen_saves_the_profile_with_the_photos_it_was_given(app, media_root):
    """The edit screen sends back the photo URLs the server gave it (relative without R2)."""
    make_user("alice", bio="Night owl")
    client = app("alice")
    upload_photo(client)
    shown = client.get("/api/v1/profile/alice").body["profile"]
    body = {
        "userId": "alice",
        "name": "Alice B",
        "age": 31,
        "bio": "Early bird",
        "photos": shown["photos"],
        "interests": ["Coffee"],
        "isVerified": False,
        "isNewUser": False,
    }
    reply = client.put("/api/v1/profile/alice", body)
    assert reply.status == 200, reply
    profile = dart.read(reply.body["profile"], **dart.PROFILE)
    assert (profile["name"], profile["age"], profile["bio"], profile["interests"]) == (
        "Alice B",
        31,
        "Early bird",
        ["Coffee"],
    )
    assert len(Profile.objects.get(pk="alice").photos or ()) == 1


def test_location_update_with_doubles(app):
    make_user("alice")
    reply = app("alice").put("/api/v1/profile/alice/location", {"latitude": 52.52, "longitude": 13.405})
    assert (reply.status, reply.body["success"]) == (200, True)
    stored = Profile.objects.get(pk="alice")
    assert stored.latitude is not None and stored.longitude is not None
    assert (float(stored.latitude), float(stored.longitude)) == (52.52, 13.405)


def test_discovery_with_the_apps_query_string(app):
    make_user("alice", latitude=52.52, longitude=13.405)
    make_user("bob", latitude=52.53, longitude=13.405, bio="Hi", photos=["p/1.jpg"], interests=["Jazz"])
    # maxDistance is a Dart double: toString() gives "50.0".
    reply = app("alice").get("/api/v1/profiles/discover?minAge=18&maxAge=99&maxDistance=50.0")
    assert reply.status == 200, reply
    profiles = [dart.read(p, **dart.PROFILE) for p in dart.cast(reply.body["profiles"], "List", "profiles")]
    assert [p["userId"] for p in profiles] == ["bob"]
    assert profiles[0]["name"] == "Bob" and profiles[0]["distance"] is not None


def test_search_count_with_the_search_screens_criteria(app):
    make_user("alice", latitude=52.52, longitude=13.405)
    criteria = {
        "maxDistance": 25,
        "genders": ["Male", "Female", "Non-Binary"],
        "sexualPreferences": ["Straight", "Gay", "Bisexual", "Pansexual"],
        "intents": ["Dating"],
    }
    reply = app("alice").post("/api/v1/profiles/search/count", criteria)
    assert reply.status == 200, reply
    assert reply.body["success"] is True
    assert dart.cast(reply.body["count"], "int?", "count") == 0


def test_swipe_and_the_likes_lists_of_the_matches_screen(app):
    for user in ("alice", "bob", "carol"):
        make_user(user)
    reply = app("alice").post("/api/v1/swipes", {"targetUserId": "bob", "action": "like"})
    assert reply.status == 200, reply
    assert (reply.body["success"], reply.body["action"], reply.body["isMatch"]) == (True, "like", False)
    dart.cast(reply.body["message"], "String?", "message")
    app("carol").post("/api/v1/swipes", {"targetUserId": "alice", "action": "like"})

    sent = app("alice").get("/api/v1/swipes/sent")
    assert sent.status == 200
    [like] = dart.cast(sent.body["likes"], "List", "likes")
    assert dart.read(like, target_user_id="String", created_at="DateTime?")["target_user_id"] == "bob"

    received = app("alice").get("/api/v1/swipes/received")
    [like] = dart.cast(received.body["likes"], "List", "likes")
    assert dart.read(like, userId="String", likedAt="DateTime?")["userId"] == "carol"

    reply = app("bob").post("/api/v1/swipes", {"targetUserId": "alice", "action": "like"})
    assert (reply.body["action"], reply.body["isMatch"]) == ("like", True)
    assert Swipe.objects.count() == 3


def test_photo_delete_with_the_id_the_app_cuts_from_the_url(app, media_root):
    make_user("alice")
    client = app("alice")
    first = upload_photo(client)["photo"]["url"]
    second = upload_photo(client)["photo"]["url"]
    urls = client.get("/api/v1/profile/alice").body["profile"]["photos"]
    assert [u.split("?")[0] for u in urls] == [first.split("?")[0], second.split("?")[0]]

    # photo_manager_widget: photoUrl.split('/').last.split('.').first.split('_').last
    photo_id = first.split("/")[-1].split(".")[0].split("_")[-1]
    reply = client.delete(f"/api/v1/profile/photos/{photo_id}")
    assert (reply.status, reply.body["success"]) == (200, True), reply
    [left] = client.get("/api/v1/profile/alice").body["profile"]["photos"]
    assert left.split("?")[0] == second.split("?")[0]
