"""Multipart intake with multer's limits (one file, one field name), as 400/413, not the original's 500s."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from profiles.images import MAX_UPLOAD_BYTES
from vlvt.http.api import ApiError

# The request middleware refuses an oversized body (by Content-Length) and stops a file that
# streams past PHOTO_UPLOAD_LIMIT, both as 413 "File too large"; this is the same answer.
FILE_TOO_LARGE = "File too large"


def single_file(request: HttpRequest, field: str, missing_message: str) -> UploadedFile:
    """The one uploaded file of `field`; 413 past 10 MB, 400 for other files or fields."""
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise ApiError(400, missing_message)
    files = _parsed(request).FILES
    names = list(files.keys())
    total = sum(len(files.getlist(name)) for name in names)
    if any(name != field for name in names):
        other = next(name for name in names if name != field)
        raise ApiError(400, f'Unexpected file field "{other}". Upload the file as "{field}"')
    if total > 1:
        raise ApiError(400, "Only one file can be uploaded at a time")
    upload = files.get(field)
    if upload is None:
        raise ApiError(400, missing_message)
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ApiError(413, FILE_TOO_LARGE)
    return upload


def read_all(upload: UploadedFile) -> bytes:
    upload.seek(0)
    return upload.read()


def form_field(request: HttpRequest, name: str) -> str | None:
    """A text field of the multipart form (None when absent)."""
    return _parsed(request).POST.get(name)


def _parsed(request: HttpRequest) -> HttpRequest:
    try:
        request.POST  # noqa: B018 - parses the body into POST and FILES once
    except RequestDataTooBig:
        raise  # the endpoint wrapper answers 413
    except (MultiPartParserError, SuspiciousOperation):
        raise ApiError(400, "Malformed multipart body") from None
    return request
