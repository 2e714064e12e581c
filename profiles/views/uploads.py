"""Multipart intake with multer's limits (one file, one field name), as 400/413, not the original's 500s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from profiles.images import MAX_UPLOAD_BYTES
from vlvt.http.api import ApiError
from vlvt.http.openapi.declare import BINARY, Body

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


@dataclass(frozen=True)
class Upload:
    """A multipart route's one declaration: its one file field and the text fields beside it (a
    Body read from the form). `schema()` is what /openapi.json says of the form and `parse()` reads
    it, so the two cannot part."""

    file: str
    missing: str  # the 400 message when the file is absent
    description: str = ""
    text: Body = field(default_factory=lambda: Body(()))

    def schema(self) -> dict[str, Any]:
        form = self.text.schema()
        described = {**BINARY, "description": self.description} if self.description else BINARY
        return {
            **form,
            "required": [self.file, *form.get("required", [])],
            "properties": {self.file: described, **form["properties"]},
        }

    def parse(self, request: HttpRequest) -> tuple[UploadedFile, dict[str, Any]]:
        """The file (checked first, as multer did), then the text fields' values by name."""
        upload = single_file(request, self.file, self.missing)
        return upload, self.text.parse(_parsed(request).POST.dict())


def read_all(upload: UploadedFile) -> bytes:
    upload.seek(0)
    return upload.read()


def _parsed(request: HttpRequest) -> HttpRequest:
    try:
        request.POST  # noqa: B018 - parses the body into POST and FILES once
    except RequestDataTooBig:
        raise  # the endpoint wrapper answers 413
    except (MultiPartParserError, SuspiciousOperation):
        raise ApiError(400, "Malformed multipart body") from None
    return request
