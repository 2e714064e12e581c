"""Main profile photos: upload, delete, reorder (docs/contract.md, "Photos")."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from profiles import images, storage
from profiles.models import Profile
from vlvt.api import ApiError

MAX_PHOTOS = 6


@dataclass(frozen=True, slots=True)
class UploadedPhoto:
    key: str
    thumbnail_key: str
    total_photos: int


def _photo_count(user_id: str) -> int:
    photos = Profile.objects.filter(pk=user_id).values_list("photos", flat=True).first()
    if photos is None and not Profile.objects.filter(pk=user_id).exists():
        raise ApiError(404, "Profile not found")
    return len(photos or [])


def photo_upload(*, user_id: str, data: bytes) -> UploadedPhoto:
    """Content check, profile and limit checks, processing, storage, then the array append.

    The append is conditional (`cardinality < 6`) so two concurrent uploads cannot make a
    seventh photo; the loser's files are removed again.
    """
    mime = images.check_content(data)
    if _photo_count(user_id) >= MAX_PHOTOS:
        raise ApiError(400, f"Maximum {MAX_PHOTOS} photos allowed")
    decoded = images.decode(data, mime)
    large, thumb = images.large(decoded), images.thumbnail(decoded)
    key, thumb_key = storage.photo_keys(user_id)
    storage.save(key, large.data)
    storage.save(thumb_key, thumb.data)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE profiles SET photos = array_append(COALESCE(photos, '{}'), %s), updated_at = now() "
            "WHERE user_id = %s AND COALESCE(cardinality(photos), 0) < %s RETURNING cardinality(photos)",
            [key, user_id, MAX_PHOTOS],
        )
        row = cursor.fetchone()
    if row is None:
        storage.delete_key(key)
        storage.delete_key(thumb_key)
        _photo_count(user_id)  # 404 if the profile went away meanwhile
        raise ApiError(400, f"Maximum {MAX_PHOTOS} photos allowed")
    return UploadedPhoto(key=key, thumbnail_key=thumb_key, total_photos=row[0])


def photo_delete(*, user_id: str, photo_id: str) -> int:
    """Remove the first stored entry containing `photo_id`, then its file and thumbnail."""
    with transaction.atomic():
        profile = Profile.objects.select_for_update().filter(pk=user_id).only("photos").first()
        if profile is None:
            raise ApiError(404, "Profile not found")
        photos = list(profile.photos or [])
        target = next((p for p in photos if photo_id in p), None)
        if target is None:
            raise ApiError(404, "Photo not found")
        remaining = [p for p in photos if p != target]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE profiles SET photos = %s::text[], updated_at = now() WHERE user_id = %s", [remaining, user_id]
            )
        # Only once the row no longer points at the file (best effort, as the original).
        transaction.on_commit(lambda: storage.delete_photo(target), robust=True)
    return len(remaining)


def photos_reorder(*, user_id: str, photos: list[object]) -> list[object]:
    """Store the array as sent, provided every element is already one of the user's photos."""
    with transaction.atomic():
        profile = Profile.objects.select_for_update().filter(pk=user_id).only("photos").first()
        if profile is None:
            raise ApiError(404, "Profile not found")
        current = set(profile.photos or [])
        if any(not isinstance(p, str) or p not in current for p in photos):
            raise ApiError(400, "Invalid photo URLs provided")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE profiles SET photos = %s::text[], updated_at = now() WHERE user_id = %s", [photos, user_id]
            )
    return photos
