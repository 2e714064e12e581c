"""Main profile photo routes (docs/contract.md, "Photos")."""

from __future__ import annotations

from django.http import HttpResponse

from profiles import images, limits
from profiles.services.photos import photo_delete, photo_upload, photos_reorder
from profiles.storage import resolve_url
from profiles.validation import PHOTOS_ORDER
from profiles.views.uploads import Upload, read_all
from vlvt.http.api import ApiError, endpoint, json_body, ok
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import Operation, ref
from vlvt.http.request import ApiRequest

PHOTO = Upload("photo", "No file uploaded", "JPEG, PNG, WebP, HEIC or HEIF; at most 10 MB")


@endpoint(
    "POST",
    limiters=[limits.photo_upload],
    spec=Operation(
        "Upload a photo (at most 6)",
        ok=ref("PhotoUploaded"),
        errors=(400, 403, 404, 413),
        body=PHOTO.schema(),
        content_type="multipart/form-data",
    ),
)
@on_error("Failed to upload photo")
def upload(request: ApiRequest) -> HttpResponse:
    file, _ = PHOTO.parse(request)
    try:
        images.check_declared(file.content_type, file.size or 0)
        stored = photo_upload(user_id=request.user_id, data=read_all(file))
    except images.ImageRejected as exc:
        raise ApiError(400, exc.message) from None
    return ok(
        photo={"url": resolve_url(stored.key), "thumbnailUrl": resolve_url(stored.thumbnail_key)},
        totalPhotos=stored.total_photos,
    )


@endpoint(
    "DELETE",
    limiters=[limits.general],
    spec=Operation("Delete one of the caller's photos and its thumbnail", ok=ref("Done"), errors=(403, 404)),
)
@on_error("Failed to delete photo")
def delete(request: ApiRequest, photo_id: str) -> HttpResponse:
    total = photo_delete(user_id=request.user_id, photo_id=photo_id)
    return ok(message="Photo deleted", totalPhotos=total)


@endpoint(
    "PUT",
    limiters=[limits.general],
    spec=Operation(
        "Reorder (or trim) the caller's photos",
        ok=ref("PhotosReordered"),
        errors=(400, 403, 404),
        body=PHOTOS_ORDER,
    ),
)
@on_error("Failed to reorder photos")
def reorder(request: ApiRequest) -> HttpResponse:
    photos = PHOTOS_ORDER.parse(json_body(request))["photos"]
    return ok(message="Photos reordered", photos=photos_reorder(user_id=request.user_id, photos=photos))
