"""Moderation writes, used by the Django admin: banning After Hours photos by perceptual hash."""

from __future__ import annotations

import re

from profiles import images
from profiles.after_hours import phash
from profiles.models import BannedPhotoHash

_HASH = re.compile(r"[0-9a-f]{16}")


def photo_hash_of_upload(data: bytes) -> str:
    """The hash an After Hours upload of these bytes would get.

    Same steps as the upload route (content check, the clean 1200 px JPEG, the hash of that JPEG),
    because the original hashed the processed image and a ban is compared with those hashes.
    Raises `images.ImageRejected` for anything that is not an acceptable image, and when every
    decode slot stayed busy (the admin form shows it; the API's 503 means nothing there).
    """
    try:
        return phash.phash_image(images.process_single(data).data)
    except images.DecoderBusy as exc:
        raise images.ImageRejected(exc.error) from None


def normalise_hash(value: str) -> str:
    """16 lower-case hex digits, as the original stored them; ValueError otherwise."""
    text = value.strip().lower()
    if not _HASH.fullmatch(text):
        raise ValueError("a photo hash is 16 hexadecimal digits")
    return text


def banned_photo_hash_add(*, photo_hash: str, user_id: str | None, reason: str | None) -> BannedPhotoHash:
    """Ban every After Hours photo within `phash.BAN_DISTANCE` bits of `photo_hash` from now on."""
    return BannedPhotoHash.objects.create(
        photo_hash=normalise_hash(photo_hash),
        user_id=(user_id or "").strip() or None,
        reason=(reason or "").strip() or None,
    )
