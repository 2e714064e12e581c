"""After Hours profiles and their single photo (docs/contract.md, "After Hours profile")."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyvips
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models.functions import Now

from profiles import images, storage
from profiles.after_hours import phash
from profiles.models import AfterHoursProfile, BannedPhotoHash
from vlvt.http.api import ApiError

log = logging.getLogger(__name__)

PHOTO_NOT_ALLOWED = partial(ApiError, 403, "Photo not allowed")


def profile_create(*, user_id: str, description: str | None) -> AfterHoursProfile:
    """`photo_url` starts as '' (NOT NULL) until a photo is uploaded; 409 if one exists."""
    try:
        with transaction.atomic():
            return AfterHoursProfile.objects.create(
                user_id=user_id, photo_url="", description=description or None
            )
    except IntegrityError:
        raise ApiError(409, "After Hours profile already exists for this user") from None


def profile_update(*, user_id: str, description: Any) -> AfterHoursProfile | None:
    """COALESCE semantics: an absent description keeps the stored one. None when there is no profile."""
    changes: dict[str, Any] = {"updated_at": Now()}
    if description is not None:
        changes["description"] = description
    if not AfterHoursProfile.objects.filter(pk=user_id).update(**changes):
        return None
    return AfterHoursProfile.objects.get(pk=user_id)


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    key: str
    photo_hash: str | None


def photo_upload(*, user_id: str, data: bytes) -> StoredPhoto:
    """Content check, profile check, one clean 1200 px JPEG, the banned-hash check, storage.

    The hash is taken of the processed JPEG, as the original, so it compares with hashes the
    original stored. Hashing or ban-lookup failures fail open, as in the original. The replaced photo
    is deleted once the row no longer points at it (the original left it behind).
    """
    mime = images.check_content(data)
    if not AfterHoursProfile.objects.filter(pk=user_id).exists():
        raise ApiError(404, "After Hours profile not found. Create a profile first.")
    rendition = images.large(images.decode(data, mime))
    photo_hash = _hash(rendition.data)
    if photo_hash is not None and _banned(photo_hash):
        raise PHOTO_NOT_ALLOWED()
    key = storage.after_hours_photo_key(user_id)
    try:
        storage.save(key, rendition.data)
    except Exception:
        log.exception("after hours photo store failed")
        raise ApiError(500, "Failed to upload photo") from None
    with transaction.atomic():
        previous = (
            AfterHoursProfile.objects.select_for_update()
            .filter(pk=user_id)
            .values_list("photo_url", flat=True)
            .first()
        )
        if previous is None:  # the profile went away meanwhile
            storage.delete_key(key)
            raise ApiError(404, "After Hours profile not found. Create a profile first.")
        AfterHoursProfile.objects.filter(pk=user_id).update(
            photo_url=key, photo_hash=photo_hash, updated_at=Now()
        )
        old_key = (
            storage.key_from_value(previous, owner=user_id, area=storage.AFTER_HOURS_AREA)
            if previous
            else None
        )
        if old_key and old_key != key:
            transaction.on_commit(lambda: storage.delete_key(old_key), robust=True)
    return StoredPhoto(key=key, photo_hash=photo_hash)


def _hash(jpeg: bytes) -> str | None:
    try:
        return phash.phash_image(jpeg)
    except (pyvips.Error, ValueError):
        log.warning("after hours photo hash failed", exc_info=True)
        return None


def _banned(photo_hash: str) -> bool:
    try:
        banned = BannedPhotoHash.objects.values_list("photo_hash", flat=True).iterator()
        return phash.is_banned(photo_hash, banned)
    except DatabaseError:
        log.warning("banned photo lookup failed", exc_info=True)
        return False
