"""Main profile photos: upload, delete, reorder (docs/contract.md, "Photos")."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import connection, transaction

from profiles import images, storage
from profiles.models import Profile
from vlvt.http.api import ApiError

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


def photo_id_of(value: str, *, owner: str) -> str:
    """The id the app derives from a photo to delete it: the uuid of an own key, otherwise the
    last path segment up to its first `.` and after its last `_` (as the app computes it)."""
    key = storage.key_from_value(value, owner=owner)
    if key is not None:
        return key.rsplit("/", 1)[1].removesuffix(".jpg")
    try:
        path = urlsplit(value).path
    except ValueError:
        path = value
    return path.rsplit("/", 1)[-1].split(".", 1)[0].rsplit("_", 1)[-1]


def photo_delete(*, user_id: str, photo_id: str) -> int:
    """Remove the first entry whose id is exactly `photo_id`; then, only if it is one of the
    user's own stored photos, its file and thumbnail. An opaque entry (a URL the user typed in)
    leaves the array and nothing else."""
    with transaction.atomic():
        profile = Profile.objects.select_for_update().filter(pk=user_id).only("photos").first()
        if profile is None:
            raise ApiError(404, "Profile not found")
        photos = list(profile.photos or [])
        target = next((p for p in photos if photo_id_of(p, owner=user_id) == photo_id), None)
        if target is None:
            raise ApiError(404, "Photo not found")
        remaining = [p for p in photos if p != target]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE profiles SET photos = %s::text[], updated_at = now() WHERE user_id = %s",
                [remaining, user_id],
            )
        # Only once the row no longer points at the file (best effort, as the original).
        transaction.on_commit(lambda: storage.delete_photo(target, owner=user_id), robust=True)
    return len(remaining)


def photos_reorder(*, user_id: str, photos: list[object]) -> list[object]:
    """Store the new order: each entry one of the user's current photos (a stored value, or a URL
    this server signed for one of them), each at most once. The response echoes the request."""
    with transaction.atomic():
        profile = Profile.objects.select_for_update().filter(pk=user_id).only("photos").first()
        if profile is None:
            raise ApiError(404, "Profile not found")
        current = set(profile.photos or [])
        ordered = [_stored_form(p, owner=user_id) for p in photos]
        if any(p is None or p not in current for p in ordered):
            raise ApiError(400, "Invalid photo URLs provided")
        if len(set(ordered)) != len(ordered):
            raise ApiError(400, "Duplicate photos are not allowed")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE profiles SET photos = %s::text[], updated_at = now() WHERE user_id = %s",
                [ordered, user_id],
            )
    return photos


def _stored_form(value: object, *, owner: str) -> str | None:
    if not isinstance(value, str):
        return None
    return storage.key_from_value(value, owner=owner) or value
