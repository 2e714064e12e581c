"""POST /profile/photos/upload, DELETE /profile/photos/:photoId, PUT /profile/photos/reorder."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiles.models import Profile
from tests.profiles import imagegen
from tests.profiles.conftest import make_user
from tests.support.race import race

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"^photos/alice/([0-9a-f-]{36})\.jpg$")


def photo_id_of(key: str) -> str:
    match = KEY_RE.match(key)
    assert match is not None, key
    return match.group(1)


def photo_file(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_photos(user_id: str) -> list[str]:
    photos = Profile.objects.get(pk=user_id).photos
    assert photos is not None
    return photos


def files_under(media_root) -> list[str]:
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def test_upload_jpeg_stores_clean_rotated_renditions(api, media_root):
    make_user("alice")
    response = api("alice").upload(
        "/profile/photos/upload", {"photo": photo_file(imagegen.jpeg_with_gps(1600, 1000))}
    )

    assert response.status_code == 200
    body = response.json()
    [key] = stored_photos("alice")
    photo_id = photo_id_of(key)
    thumb_key = f"photos/alice/{photo_id}_thumb.jpg"
    assert files_under(media_root) == [key, thumb_key]
    assert body == {
        "success": True,
        "photo": {"url": body["photo"]["url"], "thumbnailUrl": body["photo"]["thumbnailUrl"]},
        "totalPhotos": 1,
    }
    for url, stored in ((body["photo"]["url"], key), (body["photo"]["thumbnailUrl"], thumb_key)):
        parts = urlsplit(url)
        assert parts.path == f"/uploads/{stored}"
        assert set(parse_qs(parts.query)) == {"expires", "signature"}

    large = (media_root / key).read_bytes()
    thumb = (media_root / thumb_key).read_bytes()
    for data in (large, thumb):
        assert b"Exif" not in data and b"GPS" not in data and b"secret place" not in data
        assert not any(f.startswith(("exif", "xmp", "iptc", "icc")) for f in imagegen.load(data).get_fields())
    image = imagegen.load(large)
    assert (image.width, image.height) == (750, 1200)  # rotated by the orientation tag, fitted
    assert imagegen.pixel(large, 375, 50)[0] > 150  # red on top once rotated
    assert (imagegen.load(thumb).width, imagegen.load(thumb).height) == (200, 200)


def test_uploaded_photo_is_served_by_its_signed_url(api):
    make_user("alice")
    body = (
        api("alice")
        .upload("/profile/photos/upload", {"photo": photo_file(imagegen.png(), "a.png", "image/png")})
        .json()
    )
    client = api(None).client

    served = client.get(body["photo"]["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content)[:3] == b"\xff\xd8\xff"

    tampered = body["photo"]["url"].replace("signature=", "signature=0")
    assert client.get(tampered).status_code == 404
    assert client.get(urlsplit(body["photo"]["url"]).path).status_code == 404


@pytest.mark.parametrize(
    ("data", "name", "content_type", "size"),
    [
        (imagegen.png(640, 480), "p.png", "image/png", (640, 480)),
        (imagegen.webp(1800, 900), "w.webp", "image/webp", (1200, 600)),
        (imagegen.avif_as_heif(64, 48), "h.heif", "image/heif", (64, 48)),
    ],
)
def test_png_webp_heif_are_accepted(api, media_root, data, name, content_type, size):
    make_user("alice")
    response = api("alice").upload("/profile/photos/upload", {"photo": photo_file(data, name, content_type)})
    assert response.status_code == 200
    [key] = stored_photos("alice")
    stored = imagegen.load((media_root / key).read_bytes())
    assert (stored.width, stored.height) == size
    assert (media_root / key).read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("data", "name", "content_type", "error"),
    [
        (
            imagegen.gif(),
            "g.gif",
            "image/gif",
            "Invalid file type. Only JPEG, PNG, HEIC, HEIF, and WebP images are allowed",
        ),
        (
            imagegen.gif(),
            "g.jpg",
            "image/jpeg",
            "File content is image/gif, which is not an allowed image type. Only JPEG, PNG, WebP, HEIC, and HEIF images are accepted.",
        ),
        (
            b"just some text, honestly\n" * 10,
            "notes.jpg",
            "image/jpeg",
            "Unable to determine file type. File may be corrupted or unsupported.",
        ),
        (
            imagegen.heic_header_only(),
            "IMG_0001.HEIC",
            "image/heic",
            "HEIC/HEIF images cannot be processed on this server. Please upload a JPEG, PNG or WebP image.",
        ),
        (
            imagegen.jpeg_with_gps(300, 200)[:400],
            "cut.jpg",
            "image/jpeg",
            "Unable to process image. The file may be corrupted.",
        ),
    ],
)
def test_refused_uploads_store_nothing(api, media_root, data, name, content_type, error):
    make_user("alice")
    response = api("alice").upload("/profile/photos/upload", {"photo": photo_file(data, name, content_type)})
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}
    assert stored_photos("alice") == []
    assert files_under(media_root) == []


def test_seventh_photo_is_refused(api, media_root):
    make_user("alice")
    client = api("alice")
    for n in range(6):
        response = client.upload("/profile/photos/upload", {"photo": photo_file(imagegen.png(40, 40))})
        assert response.json()["totalPhotos"] == n + 1
    response = client.upload("/profile/photos/upload", {"photo": photo_file(imagegen.png(40, 40))})
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "Maximum 6 photos allowed"}
    assert len(stored_photos("alice")) == 6
    assert len(files_under(media_root)) == 12


def test_upload_errors(api, media_root):
    make_user("alice")
    make_user("nopro", profile=False)
    client = api("alice")
    jpeg = imagegen.jpeg_with_gps(100, 80)

    no_file = client.client.post("/profile/photos/upload", data={"other": "x"}, headers=client._headers())
    assert (no_file.status_code, no_file.json()) == (400, {"success": False, "error": "No file uploaded"})

    json_body = client.post("/profile/photos/upload", {"photo": "x"})
    assert (json_body.status_code, json_body.json()) == (400, {"success": False, "error": "No file uploaded"})

    wrong_field = client.upload("/profile/photos/upload", {"image": photo_file(jpeg)})
    assert (wrong_field.status_code, wrong_field.json()) == (
        400,
        {"success": False, "error": 'Unexpected file field "image". Upload the file as "photo"'},
    )

    two = client.upload("/profile/photos/upload", {"photo": [photo_file(jpeg), photo_file(jpeg)]})
    assert (two.status_code, two.json()) == (
        400,
        {"success": False, "error": "Only one file can be uploaded at a time"},
    )

    big = client.upload(
        "/profile/photos/upload",
        {"photo": photo_file(b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024 + 70_000))},
    )
    assert (big.status_code, big.json()) == (413, {"success": False, "error": "File too large"})

    no_profile = api("nopro").upload("/profile/photos/upload", {"photo": photo_file(jpeg)})
    assert (no_profile.status_code, no_profile.json()) == (
        404,
        {"success": False, "error": "Profile not found"},
    )

    assert stored_photos("alice") == []
    assert files_under(media_root) == []


def test_file_just_over_ten_megabytes_is_413(api, media_root):
    make_user("alice")
    data = b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024)
    response = api("alice").upload("/profile/photos/upload", {"photo": photo_file(data)})
    assert (response.status_code, response.json()) == (413, {"success": False, "error": "File too large"})
    assert files_under(media_root) == []


def upload_two(api) -> tuple[list[str], Any]:
    client = api("alice")
    for _ in range(2):
        assert (
            client.upload("/profile/photos/upload", {"photo": photo_file(imagegen.png(40, 40))}).status_code
            == 200
        )
    return stored_photos("alice"), client


def test_delete_photo_removes_row_entry_file_and_thumbnail(
    api, media_root, django_capture_on_commit_callbacks
):
    make_user("alice")
    (first, second), client = upload_two(api)
    photo_id = photo_id_of(first)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/profile/photos/{photo_id}")

    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Photo deleted", "totalPhotos": 1}
    assert stored_photos("alice") == [second]
    second_id = photo_id_of(second)
    assert files_under(media_root) == [second, f"photos/alice/{second_id}_thumb.jpg"]


def test_delete_photo_errors(api, media_root):
    make_user("alice")
    make_user("nopro", profile=False)
    (first, _second), client = upload_two(api)

    missing = client.delete("/profile/photos/00000000-0000-0000-0000-000000000000")
    assert (missing.status_code, missing.json()) == (404, {"success": False, "error": "Photo not found"})
    no_profile = api("nopro").delete("/profile/photos/abc")
    assert (no_profile.status_code, no_profile.json()) == (
        404,
        {"success": False, "error": "Profile not found"},
    )
    assert len(stored_photos("alice")) == 2
    assert len(files_under(media_root)) == 4


def test_delete_legacy_entry_touches_no_file(api, media_root, django_capture_on_commit_callbacks):
    make_user("alice", photos=["/uploads/old-photo.jpg", "https://cdn.example.com/x.jpg"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api("alice").delete("/profile/photos/old-photo")
    assert response.json() == {"success": True, "message": "Photo deleted", "totalPhotos": 1}
    assert stored_photos("alice") == ["https://cdn.example.com/x.jpg"]


def test_reorder(api):
    make_user("alice")
    (first, second), client = upload_two(api)

    response = client.put("/profile/photos/reorder", {"photos": [second, first]})
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Photos reordered", "photos": [second, first]}
    assert stored_photos("alice") == [second, first]


def test_reorder_errors(api):
    make_user("alice")
    make_user("nopro", profile=False)
    (first, second), client = upload_two(api)

    not_array = client.put("/profile/photos/reorder", {"photos": first})
    assert (not_array.status_code, not_array.json()) == (
        400,
        {"success": False, "error": "photos must be an array"},
    )
    foreign = client.put("/profile/photos/reorder", {"photos": [first, "photos/bob/x.jpg"]})
    assert (foreign.status_code, foreign.json()) == (
        400,
        {"success": False, "error": "Invalid photo URLs provided"},
    )
    wrong_type = client.put("/profile/photos/reorder", {"photos": [first, 3]})
    assert (wrong_type.status_code, wrong_type.json()) == (
        400,
        {"success": False, "error": "Invalid photo URLs provided"},
    )
    no_profile = api("nopro").put("/profile/photos/reorder", {"photos": []})
    assert (no_profile.status_code, no_profile.json()) == (
        404,
        {"success": False, "error": "Profile not found"},
    )
    assert stored_photos("alice") == [first, second]


def test_photo_routes_need_a_token(api):
    client = api(None).client
    empty = {"Authorization": "Bearer "}  # skips CSRF (a bearer client), then fails auth
    for response in (
        client.post(
            "/profile/photos/upload", data={"photo": photo_file(imagegen.png(10, 10))}, headers=empty
        ),
        client.delete("/profile/photos/abc", headers=empty),
        client.put(
            "/profile/photos/reorder", data='{"photos":[]}', content_type="application/json", headers=empty
        ),
    ):
        assert (response.status_code, response.json()) == (
            401,
            {"success": False, "error": "No token provided"},
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_never_make_a_seventh_photo(api, media_root):
    make_user("alice", photos=[f"photos/alice/existing{n}.jpg" for n in range(5)])

    def upload(_: int) -> int:
        photo = photo_file(imagegen.png(60, 60))
        return api("alice").upload("/profile/photos/upload", {"photo": photo}).status_code

    statuses = race(2, upload)

    photos = stored_photos("alice")
    assert len(photos) == 6
    assert sorted(statuses) == [200, 400]  # the loser is refused and its files are removed again
    new_key = photos[5]
    assert files_under(media_root) == sorted([new_key, new_key.replace(".jpg", "_thumb.jpg")])


def test_reorder_refuses_duplicates_and_entries_that_are_not_current_photos(api):
    make_user("alice")
    make_user("bob")
    (first, second), client = upload_two(api)
    bob_photo = (
        api("bob")
        .upload("/profile/photos/upload", {"photo": photo_file(imagegen.png(40, 40))})
        .json()["photo"]["url"]
    )

    for photos, error in (
        ([first, first], "Duplicate photos are not allowed"),
        ([second] * 40, "Duplicate photos are not allowed"),
        ([first, second, first], "Duplicate photos are not allowed"),
        ([second, bob_photo], "Invalid photo URLs provided"),
        ([second, f"https://cdn.example.com/{first}"], "Invalid photo URLs provided"),
    ):
        refused = client.put("/profile/photos/reorder", {"photos": photos})
        assert (refused.status_code, refused.json()) == (400, {"success": False, "error": error}), photos
        assert stored_photos("alice") == [first, second]

    # The signed URLs the app shows are the caller's current photos too; the row keeps the keys.
    shown = client.get("/profile/alice").json()["profile"]["photos"]
    response = client.put("/profile/photos/reorder", {"photos": [shown[1], shown[0]]})
    assert response.json() == {"success": True, "message": "Photos reordered", "photos": [shown[1], shown[0]]}
    assert stored_photos("alice") == [second, first]
