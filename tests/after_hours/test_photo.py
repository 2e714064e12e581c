"""POST /after-hours/profile/photo: one clean 1200 px JPEG, its perceptual hash, banned photos."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import pyvips
from django.core.files.uploadedfile import SimpleUploadedFile

from profiles.after_hours.phash import hamming, phash_image
from profiles.models import AfterHoursProfile, BannedPhotoHash
from tests.after_hours.conftest import make_member
from tests.profiles import imagegen

pytestmark = pytest.mark.django_db

VECTORS = {
    v["name"]: v
    for v in json.loads((Path(__file__).parent / "data" / "phash-vectors.json").read_text())["vectors"]
}
KEY_RE = re.compile(
    r"^after-hours-photos/alice/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.jpg$"
)


def upload_file(data: bytes, name: str = "photo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(media_root: Path) -> list[str]:
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_upload_stores_one_jpeg_with_the_originals_hash(api, media_root, name):
    vector = VECTORS[name]
    make_member("alice")
    png = base64.b64decode(vector["png_base64"])
    response = api("alice").upload("/after-hours/profile/photo", {"photo": upload_file(png)})

    assert response.status_code == 200
    body = response.json()
    profile = AfterHoursProfile.objects.get(pk="alice")
    assert KEY_RE.match(profile.photo_url)
    url = body["photo"]["url"]
    # photo_url: the top-level URL the mobile app reads, always the same as photo.url
    assert body == {"success": True, "photo": {"url": url, "key": profile.photo_url}, "photo_url": url}
    assert body["photo"]["url"].startswith(f"/uploads/{profile.photo_url}?expires=")
    assert stored_files(media_root) == [profile.photo_url]
    jpeg = (media_root / profile.photo_url).read_bytes()
    image = pyvips.Image.new_from_buffer(jpeg, "")
    assert (image.get("vips-loader"), image.width, image.height) == ("jpegload_buffer", *_fitted(vector))
    # The whole pipeline (processing, then the hash of the processed JPEG) lands where the original did.
    assert profile.photo_hash == phash_image(jpeg)
    assert hamming(profile.photo_hash, vector["processed_jpeg_phash_hex"]) <= 3


def _fitted(vector: dict) -> tuple[int, int]:
    scale = min(1.0, 1200 / vector["width"], 1200 / vector["height"])
    return round(vector["width"] * scale), round(vector["height"] * scale)


def test_upload_strips_metadata_and_rotates(api, media_root):
    make_member("alice")
    response = api("alice").upload(
        "/after-hours/profile/photo",
        {"photo": upload_file(imagegen.jpeg_with_gps(1600, 1000), "a.jpg", "image/jpeg")},
    )
    assert response.status_code == 200
    jpeg = (media_root / response.json()["photo"]["key"]).read_bytes()
    assert b"Exif" not in jpeg and b"GPS" not in jpeg
    image = pyvips.Image.new_from_buffer(jpeg, "")
    assert (image.width, image.height) == (750, 1200)
    assert not any(f.startswith(("exif", "xmp", "iptc", "icc")) for f in image.get_fields())


def test_banned_photo_is_refused_and_nothing_is_stored(api, media_root):
    vector = VECTORS["portrait_like"]
    make_member("alice")
    # Nine bits away from what the original stored for this photo: still the same picture.
    near = f"{int(vector['processed_jpeg_phash_hex'], 16) ^ 0x1FF:016x}"
    BannedPhotoHash.objects.create(photo_hash=near, reason="reported")
    response = api("alice").upload(
        "/after-hours/profile/photo", {"photo": upload_file(base64.b64decode(vector["png_base64"]))}
    )
    assert response.status_code == 403
    assert response.json() == {"success": False, "error": "Photo not allowed"}
    assert stored_files(media_root) == []
    assert AfterHoursProfile.objects.get(pk="alice").photo_url == ""


def test_ten_bits_away_is_not_banned(api):
    vector = VECTORS["portrait_like"]
    make_member("alice")
    far = f"{int(vector['processed_jpeg_phash_hex'], 16) ^ 0x3FF:016x}"
    BannedPhotoHash.objects.create(photo_hash=far)
    BannedPhotoHash.objects.create(photo_hash="zz-not-a-hash")
    response = api("alice").upload(
        "/after-hours/profile/photo", {"photo": upload_file(base64.b64decode(vector["png_base64"]))}
    )
    assert response.status_code == 200


def test_replacing_the_photo_deletes_the_previous_file(api, media_root):
    make_member("alice")
    client = api("alice")
    first = client.upload("/after-hours/profile/photo", {"photo": upload_file(imagegen.png())}).json()[
        "photo"
    ]["key"]
    second = client.upload(
        "/after-hours/profile/photo", {"photo": upload_file(imagegen.webp(), "b.webp", "image/webp")}
    )
    assert second.status_code == 200
    key = second.json()["photo"]["key"]
    assert key != first
    assert stored_files(media_root) == [key]
    assert AfterHoursProfile.objects.get(pk="alice").photo_url == key


def test_no_file_is_400(api):
    make_member("alice")
    response = api("alice").upload("/after-hours/profile/photo", {})
    assert (response.status_code, response.json()) == (400, {"success": False, "error": "No file uploaded"})


def test_declared_type_is_checked_before_content(api):
    make_member("alice")
    response = api("alice").upload(
        "/after-hours/profile/photo", {"photo": upload_file(imagegen.png(), "a.txt", "text/plain")}
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Invalid file type. Only JPEG, PNG, HEIC, HEIF, and WebP images are allowed",
    }


def test_content_must_be_an_allowed_image(api, media_root):
    make_member("alice")
    response = api("alice").upload(
        "/after-hours/profile/photo", {"photo": upload_file(imagegen.gif(), "a.png", "image/png")}
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "File content is image/gif, which is not an allowed image type. "
        "Only JPEG, PNG, WebP, HEIC, and HEIF images are accepted.",
    }
    response = api("alice").upload("/after-hours/profile/photo", {"photo": upload_file(b"\x00" * 64)})
    assert response.json() == {
        "success": False,
        "error": "Unable to determine file type. File may be corrupted or unsupported.",
    }
    assert stored_files(media_root) == []


def test_content_check_comes_before_the_profile_check(api, media_root):
    make_member("alice", ah_profile=False)
    response = api("alice").upload(
        "/after-hours/profile/photo", {"photo": upload_file(imagegen.gif(), "a.png", "image/png")}
    )
    assert response.status_code == 400
    response = api("alice").upload("/after-hours/profile/photo", {"photo": upload_file(imagegen.png())})
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "After Hours profile not found. Create a profile first.",
    }
    assert stored_files(media_root) == []


def test_photo_uploads_have_their_own_per_user_limit(api):
    make_member("alice")
    client = api("alice")
    for _ in range(10):
        assert client.upload("/after-hours/profile/photo", {}).status_code == 400
    response = client.upload("/after-hours/profile/photo", {})
    assert response.status_code == 429
    assert response.json() == {"success": False, "error": "Too many photo uploads, please try again later"}


def test_storage_failure_is_500_and_nothing_changes(api, settings, tmp_path):
    make_member("alice")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.MEDIA_ROOT = blocker  # every save fails (a file where the storage root should be)
    response = api("alice").upload("/after-hours/profile/photo", {"photo": upload_file(imagegen.png())})
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": "Failed to upload photo"}
    assert AfterHoursProfile.objects.get(pk="alice").photo_url == ""


def test_file_over_10_mb_is_413(api, media_root):
    make_member("alice")
    response = api("alice").upload(
        "/after-hours/profile/photo", {"photo": upload_file(b"\x89PNG" + b"\0" * (10 * 1024 * 1024))}
    )
    assert response.status_code == 413
    assert response.json() == {"success": False, "error": "File too large"}  # the project-wide upload limit
    assert stored_files(media_root) == []
