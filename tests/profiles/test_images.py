"""The image pipeline: magic bytes, renditions, no metadata (docs/contract.md,
"Images and storage", D8)."""

from __future__ import annotations

import pytest

from profiles import images
from tests.profiles import imagegen

NOT_ALLOWED = "File content is {}, which is not an allowed image type. Only JPEG, PNG, WebP, HEIC, and HEIF images are accepted."
UNDETECTABLE = "Unable to determine file type. File may be corrupted or unsupported."


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (imagegen.jpeg_with_gps(64, 48), "image/jpeg"),
        (imagegen.png(32, 32), "image/png"),
        (imagegen.webp(32, 32), "image/webp"),
        (imagegen.heic_header_only(), "image/heic"),
        (imagegen.avif_as_heif(), "image/heif"),
    ],
)
def test_allowed_content_is_detected(data, mime):
    assert images.check_content(data) == mime


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (imagegen.gif(), "image/gif"),
        (b"BM" + b"\x00" * 60, "image/bmp"),
        (b"II*\x00" + b"\x00" * 60, "image/tiff"),
        (b"\x00\x00\x01\x00" + b"\x00" * 60, "image/x-icon"),
        (b"%PDF-1.7\n" + b"\x00" * 60, "application/pdf"),
        (b"PK\x03\x04" + b"\x00" * 60, "application/zip"),
        (b"MZ\x90\x00" + b"\x00" * 60, "application/x-msdownload"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "application/x-elf"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00" + b"\x00" * 40, "image/avif"),
    ],
)
def test_other_types_are_named_and_refused(data, mime):
    with pytest.raises(images.ImageRejected) as caught:
        images.check_content(data)
    assert caught.value.message == NOT_ALLOWED.format(mime)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, I am a text file\n",
        b"#!/bin/sh\necho hi\n",
        b"<html><body></body></html>",
        b'{"a":1}',
        bytes(range(7, 200)),
    ],
)
def test_undetectable_content_is_refused(data):
    with pytest.raises(images.ImageRejected) as caught:
        images.check_content(data)
    assert caught.value.message == UNDETECTABLE


def test_declared_type_and_size_checks():
    images.check_declared("IMAGE/JPEG", 10 * 1024 * 1024)
    images.check_declared("image/jpg", 1)
    with pytest.raises(images.ImageRejected) as caught:
        images.check_declared("image/gif", 10)
    assert (
        caught.value.message == "Invalid file type. Only JPEG, PNG, HEIC, HEIF, and WebP images are allowed"
    )
    with pytest.raises(images.ImageRejected) as caught:
        images.check_declared("image/jpeg", 10 * 1024 * 1024 + 1)
    assert caught.value.message == "File size exceeds 10MB limit"


def test_jpeg_is_rotated_resized_and_stripped():
    source = imagegen.jpeg_with_gps(1600, 1000, orientation=6)
    assert "exif-ifd3-GPSLatitude" in imagegen.load(source).get_fields()

    processed = images.process_photo(source)

    large = imagegen.load(processed.large.data)
    # Orientation 6 displays the 1600x1000 stored pixels as 1000x1600: fitted inside 1200x1200.
    assert (large.width, large.height) == (750, 1200)
    assert large.get("interlaced") == 1
    assert not any(f.startswith(("exif", "xmp", "iptc", "icc")) for f in large.get_fields())
    assert b"Exif" not in processed.large.data and b"secret place" not in processed.large.data
    # The stored left half (red) is the top once rotated clockwise.
    top, bottom = large.getpoint(375, 100), large.getpoint(375, 1100)
    assert top[0] > 150 and top[2] < 100
    assert bottom[2] > 150 and bottom[0] < 100

    thumb = imagegen.load(processed.thumbnail.data)
    assert (thumb.width, thumb.height) == (200, 200)
    assert not any(f.startswith(("exif", "xmp", "iptc", "icc")) for f in thumb.get_fields())
    assert b"Exif" not in processed.thumbnail.data


def test_small_image_is_not_enlarged_but_thumbnail_is_cover():
    processed = images.process_photo(imagegen.png(320, 100))
    assert (processed.large.width, processed.large.height) == (320, 100)
    assert (processed.thumbnail.width, processed.thumbnail.height) == (200, 200)
    assert processed.large.data[:3] == b"\xff\xd8\xff"


def test_heif_decoded_when_the_wheel_can():
    processed = images.process_photo(imagegen.avif_as_heif(64, 48))
    assert (processed.large.width, processed.large.height) == (64, 48)


def test_undecodable_heic_is_a_clear_rejection():
    with pytest.raises(images.ImageRejected) as caught:
        images.process_photo(imagegen.heic_header_only())
    assert caught.value.message == images.MSG_HEIF_UNSUPPORTED


def test_corrupt_jpeg_is_a_rejection():
    data = imagegen.jpeg_with_gps(200, 100)[:300]
    with pytest.raises(images.ImageRejected) as caught:
        images.process_photo(data)
    assert caught.value.message == images.MSG_UNDECODABLE
