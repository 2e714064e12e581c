"""Photo storage access control: a `photos` array is user input, so the server deletes (or signs)
only keys of the caller's own namespace that it issued itself. Mallory's crafted entries pointing
at Bob's keys leave Bob's photo and thumbnail intact, on local storage and on R2 (botocore
Stubber: S3 is the one thing stubbed); Mallory deleting her own photo still works.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest
from botocore.stub import Stubber
from django.core.files.uploadedfile import SimpleUploadedFile
from storages.backends.s3 import S3Storage

from profiles import storage
from profiles.models import Profile
from profiles.signing import sign
from tests.profiles import imagegen
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

BOB_ID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
BOB_KEY = f"photos/bob/{BOB_ID}.jpg"
MALLORY_ID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
MALLORY_KEY = f"photos/mallory/{MALLORY_ID}.jpg"


def files_under(media_root) -> list[str]:
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def upload(api, user_id: str) -> str:
    response = api(user_id).upload(
        "/profile/photos/upload",
        {"photo": SimpleUploadedFile("p.png", imagegen.png(30, 30), content_type="image/png")},
    )
    assert response.status_code == 200
    photos = Profile.objects.get(pk=user_id).photos
    assert photos
    return photos[-1]


def crafted_local(bob_key: str) -> list[str]:
    """Every way Mallory could name Bob's key: another host, our own signed URL of Bob's photo
    (relative and absolute), the bare key."""
    signed = storage.resolve_url(bob_key)
    return [
        f"https://attacker.example.com/{bob_key}",
        signed,
        f"https://api.getvlvt.vip{signed}",
        bob_key,
    ]


def test_crafted_entries_never_delete_another_users_photo(
    api, media_root, django_capture_on_commit_callbacks
):
    make_user("bob")
    make_user("mallory")
    bob_key = upload(api, "bob")
    own_key = upload(api, "mallory")
    photo_id = bob_key.rsplit("/", 1)[1].removesuffix(".jpg")
    bob_files = [bob_key, storage.thumbnail_key(bob_key)]
    mallory = api("mallory")

    # Through the API, as the issue reproduced it: an http(s) URL is accepted, as an opaque value.
    saved = mallory.put("/profile/mallory", {"photos": [f"https://attacker.example.com/{bob_key}"]})
    assert saved.status_code == 200
    assert Profile.objects.get(pk="mallory").photos == [f"https://attacker.example.com/{bob_key}"]
    with django_capture_on_commit_callbacks(execute=True):
        deleted = mallory.delete(f"/profile/photos/{photo_id}")
    assert (deleted.status_code, deleted.json()) == (
        200,
        {"success": True, "message": "Photo deleted", "totalPhotos": 0},
    )
    assert set(bob_files) <= set(files_under(media_root))

    # Any other form, however it got into the row, is never turned into Bob's key either.
    for value in crafted_local(bob_key):
        Profile.objects.filter(pk="mallory").update(photos=[own_key, value])
        with django_capture_on_commit_callbacks(execute=True):
            deleted = mallory.delete(f"/profile/photos/{photo_id}")
        assert deleted.status_code == 200, value
        assert Profile.objects.get(pk="mallory").photos == [own_key]
        assert set(bob_files) <= set(files_under(media_root)), value

    # Mallory deleting her own photo still removes it and its thumbnail.
    own_id = own_key.rsplit("/", 1)[1].removesuffix(".jpg")
    with django_capture_on_commit_callbacks(execute=True):
        deleted = mallory.delete(f"/profile/photos/{own_id}")
    assert (deleted.status_code, deleted.json()) == (
        200,
        {"success": True, "message": "Photo deleted", "totalPhotos": 0},
    )
    assert files_under(media_root) == sorted(bob_files)
    assert Profile.objects.get(pk="bob").photos == [bob_key]


def test_deleting_a_profile_with_crafted_entries_deletes_only_own_files(
    api, media_root, django_capture_on_commit_callbacks
):
    make_user("bob")
    make_user("mallory")
    bob_key = upload(api, "bob")
    own_key = upload(api, "mallory")
    Profile.objects.filter(pk="mallory").update(photos=[own_key, *crafted_local(bob_key)])

    with django_capture_on_commit_callbacks(execute=True):  # the Celery task runs eagerly
        deleted = api("mallory").delete("/profile/mallory")

    assert (deleted.status_code, deleted.json()) == (200, {"success": True, "message": "Profile deleted"})
    assert files_under(media_root) == sorted([bob_key, storage.thumbnail_key(bob_key)])


def test_internal_cleanup_with_crafted_photo_keys_deletes_only_that_users_files(client, settings, media_root):
    settings.INTERNAL_SERVICE_SECRET = "test-internal-secret"
    for key in (BOB_KEY, storage.thumbnail_key(BOB_KEY), MALLORY_KEY, storage.thumbnail_key(MALLORY_KEY)):
        storage.save(key, b"\xff\xd8\xffdata")
    # auth-service sends `profiles.photos` as it is stored: Mallory's array holds Bob's key.
    body = {"userId": "mallory", "photoKeys": [MALLORY_KEY, *crafted_local(BOB_KEY)]}
    timestamp = str(int(time.time() * 1000))
    response = client.post(
        "/api/internal/cleanup-photos",
        data=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        headers={
            "X-Internal-Timestamp": timestamp,
            "X-Internal-Signature": sign(
                method="POST", path="/api/internal/cleanup-photos", timestamp=timestamp, body=body
            ),
        },
    )
    assert (response.status_code, response.json()) == (200, {"success": True, "deleted": 2, "failed": 0})
    assert files_under(media_root) == sorted([BOB_KEY, storage.thumbnail_key(BOB_KEY)])


# --- R2 ------------------------------------------------------------------------------------


@pytest.fixture
def r2(settings):
    settings.R2_ACCOUNT_ID = "acct123"
    settings.R2_ACCESS_KEY_ID = "AKIDEXAMPLE"
    settings.R2_SECRET_ACCESS_KEY = "secret/example"
    settings.R2_BUCKET_NAME = "vlvt-images"
    backend = storage.photo_storage()
    assert isinstance(backend, S3Storage)
    client = backend.connection.meta.client
    calls: list[tuple[str, str]] = []

    def record(params, model, **_):
        if model.name.startswith("Delete"):  # presigning a URL emits GetObject: not a request
            calls.append((model.name, params.get("Key", "")))

    client.meta.events.register("provide-client-params.s3.*", record)
    with Stubber(client) as stub:
        yield stub, calls
    storage.photo_storage.cache_clear()


def crafted_r2(bob_key: str) -> list[str]:
    """Bob's key named through our own bucket's hosts (path-style and virtual-hosted), another
    host, and bare."""
    return [
        storage.resolve_url(bob_key),
        f"https://vlvt-images.acct123.r2.cloudflarestorage.com/{bob_key}?X-Amz-Signature=1",
        f"https://attacker.example.com/{bob_key}",
        bob_key,
    ]


def expect_deletes(stub, *keys: str) -> None:
    for key in keys:
        stub.add_response("delete_object", {}, {"Bucket": "vlvt-images", "Key": key})


def test_r2_crafted_entries_never_delete_another_users_objects(api, r2, django_capture_on_commit_callbacks):
    stub, calls = r2
    make_user("bob", photos=[BOB_KEY])
    second = "photos/mallory/1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9.jpg"
    make_user("mallory", photos=[MALLORY_KEY, second])
    mallory = api("mallory")
    for value in crafted_r2(BOB_KEY):
        Profile.objects.filter(pk="mallory").update(photos=[MALLORY_KEY, second, value])
        with django_capture_on_commit_callbacks(execute=True):
            deleted = mallory.delete(f"/profile/photos/{BOB_ID}")
        assert deleted.status_code == 200, value
    assert calls == []  # not one S3 delete

    # Her own photo: exactly its object and its thumbnail.
    expect_deletes(stub, MALLORY_KEY, storage.thumbnail_key(MALLORY_KEY))
    with django_capture_on_commit_callbacks(execute=True):
        deleted = mallory.delete(f"/profile/photos/{MALLORY_ID}")
    assert (deleted.status_code, deleted.json()) == (
        200,
        {"success": True, "message": "Photo deleted", "totalPhotos": 1},
    )
    stub.assert_no_pending_responses()

    # The whole profile (the Celery task): her remaining photo only, never Bob's.
    calls.clear()
    Profile.objects.filter(pk="mallory").update(photos=[second, *crafted_r2(BOB_KEY)])
    expect_deletes(stub, second, storage.thumbnail_key(second))
    with django_capture_on_commit_callbacks(execute=True):
        deleted = mallory.delete("/profile/mallory")
    assert deleted.status_code == 200
    stub.assert_no_pending_responses()
    assert calls == [("DeleteObject", second), ("DeleteObject", storage.thumbnail_key(second))]
    assert Profile.objects.get(pk="bob").photos == [BOB_KEY]


def test_r2_app_sends_back_presigned_urls_and_keys_are_stored(api, r2):
    make_user("mallory", photos=[MALLORY_KEY])
    shown = api("mallory").get("/profile/mallory").json()["profile"]["photos"]
    assert urlsplit(shown[0]).path == f"/vlvt-images/{MALLORY_KEY}"

    saved = api("mallory").put("/profile/mallory", {"userId": "mallory", "name": "Mallory", "photos": shown})

    assert saved.status_code == 200
    assert Profile.objects.get(pk="mallory").photos == [MALLORY_KEY]
    bob_url = storage.resolve_url(BOB_KEY)  # Bob's presigned URL stays an opaque URL for Mallory
    api("mallory").put("/profile/mallory", {"photos": [bob_url]})
    assert Profile.objects.get(pk="mallory").photos == [bob_url]


# --- the app's profile save (it sends back the URLs it was shown) ----------------------------


def app_body(profile: dict) -> dict:
    """What the app's Profile.toJson() sends after Profile.fromJson() of GET /profile/:id."""
    body = {"userId": profile["userId"]}
    body |= {
        k: profile[k] for k in ("name", "age", "bio", "photos", "interests") if profile.get(k) is not None
    }
    return body | {
        "isVerified": profile.get("isVerified", False),
        "isNewUser": profile.get("isNewUser", False),
    }


def test_app_profile_save_with_the_relative_signed_urls_it_was_shown(api, media_root):
    make_user("alice", bio="hi", interests=["jazz"])
    first, second = upload(api, "alice"), upload(api, "alice")
    Profile.objects.filter(pk="alice").update(photos=[first, second, "/uploads/legacy.jpg"])
    alice = api("alice")
    shown = alice.get("/profile/alice").json()["profile"]
    assert [urlsplit(u).path for u in shown["photos"][:2]] == [f"/uploads/{first}", f"/uploads/{second}"]

    body = app_body(shown)
    body["photos"] = [shown["photos"][1], shown["photos"][0], shown["photos"][2]]  # reordered in the editor
    saved = alice.put("/profile/alice", body)

    assert saved.status_code == 200
    assert Profile.objects.get(pk="alice").photos == [second, first, "/uploads/legacy.jpg"]  # keys, not URLs
    again = alice.put("/profile/alice", app_body(saved.json()["profile"]))  # a second save changes nothing
    assert again.status_code == 200
    assert Profile.objects.get(pk="alice").photos == [second, first, "/uploads/legacy.jpg"]

    # Made absolute against the app's base URL, or expired while the screen was open: still ours.
    expired = int(time.time()) - 60
    stale = f"/uploads/{first}?expires={expired}&signature={storage.local_signature(first, expired)}"
    body["photos"] = [f"http://10.0.2.2:3002{shown['photos'][1]}", stale]
    assert alice.put("/profile/alice", body).status_code == 200
    assert Profile.objects.get(pk="alice").photos == [second, first]


def test_app_profile_save_refuses_relative_urls_that_are_not_the_callers(api, media_root):
    make_user("alice")
    make_user("bob")
    own, bob_key = upload(api, "alice"), upload(api, "bob")
    own_url = storage.resolve_url(own)
    for value in (
        storage.resolve_url(bob_key),
        own_url.replace("signature=", "signature=0"),
        "/uploads/other.jpg",
    ):
        refused = api("alice").put(
            "/profile/alice", {"userId": "alice", "name": "Alice", "photos": [own_url, value]}
        )
        assert (refused.status_code, refused.json()) == (
            400,
            {
                "success": False,
                "errors": [{"field": "photos[1]", "message": "Each photo must be a valid URL"}],
            },
        ), value
    assert Profile.objects.get(pk="alice").photos == [own]


def test_hostile_signed_url_parts_are_refused_not_a_500(api, media_root):
    make_user("alice")
    own = upload(api, "alice")
    client = api("alice")
    for query in ("expires=%C2%B2&signature=abc", "expires=1&signature=%C3%A9", "expires=&signature="):
        refused = client.put("/profile/alice", {"photos": [f"/uploads/{own}?{query}"]})
        assert (refused.status_code, refused.json()["errors"]) == (
            400,
            [{"field": "photos[0]", "message": "Each photo must be a valid URL"}],
        ), query
        assert client.get(f"/uploads/{own}?{query}").status_code == 404, query
    assert Profile.objects.get(pk="alice").photos == [own]


def test_profile_save_refuses_the_same_photo_twice(api, media_root):
    # A key and a URL signed for it are one photo; an opaque URL repeated is also a duplicate.
    make_user("alice")
    own = upload(api, "alice")
    client = api("alice")
    for photos in (
        [own, storage.resolve_url(own)],
        ["https://x.example.com/p.jpg", "https://x.example.com/p.jpg"],
    ):
        refused = client.put("/profile/alice", {"photos": photos})
        assert (refused.status_code, refused.json()) == (
            400,
            {
                "success": False,
                "errors": [{"field": "photos[1]", "message": "Duplicate photos are not allowed"}],
            },
        ), photos
    assert Profile.objects.get(pk="alice").photos == [own]
