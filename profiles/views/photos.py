"""Main profile photo routes (docs/contract.md, "Photos")."""

from __future__ import annotations

from django.http import HttpResponse

from profiles import images, limits
from profiles.services.photos import photo_delete, photo_upload, photos_reorder
from profiles.storage import resolve_url
from profiles.views.uploads import read_all, single_file
from vlvt.http.api import ApiError, endpoint, json_body, ok
from vlvt.http.errors import on_error
from vlvt.http.request import ApiRequest


@endpoint("POST", limiters=[limits.photo_upload])
@on_error("Failed to upload photo")
def upload(request: ApiRequest) -> HttpResponse:
    file = single_file(request, "photo", "No file uploaded")
    try:
        images.check_declared(file.content_type, file.size or 0)
        stored = photo_upload(user_id=request.user_id, data=read_all(file))
    except images.ImageRejected as exc:
        raise ApiError(400, exc.message) from None
    return ok(
        photo={"url": resolve_url(stored.key), "thumbnailUrl": resolve_url(stored.thumbnail_key)},
        totalPhotos=stored.total_photos,
    )


@endpoint("DELETE", limiters=[limits.general])
@on_error("Failed to delete photo")
def delete(request: ApiRequest, photo_id: str) -> HttpResponse:
    total = photo_delete(user_id=request.user_id, photo_id=photo_id)
    return ok(message="Photo deleted", totalPhotos=total)


@endpoint("PUT", limiters=[limits.general])
@on_error("Failed to reorder photos")
def reorder(request: ApiRequest) -> HttpResponse:
    photos = json_body(request).get("photos")
    if not isinstance(photos, list):
        raise ApiError(400, "photos must be an array")
    return ok(message="Photos reordered", photos=photos_reorder(user_id=request.user_id, photos=photos))
