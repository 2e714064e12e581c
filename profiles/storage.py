"""Where photos live, through Django's storage API (docs/contract.md, "Images and storage").

Cloudflare R2 (S3 API, django-storages) when the three R2 settings are present, otherwise the
local filesystem under MEDIA_ROOT. The database stores keys (`photos/<uid>/<id>.jpg`); a key is
resolved to a URL on read: an R2 presigned GET URL, or for local storage a signed, expiring
`/uploads/<key>` URL served by `profiles.views.media.serve`. Deletion is best effort: a failure is
logged, never raised.

Ownership (docs/security.md): a `photos` array is user input, so the server deletes or signs only
keys of the array owner's own namespace that it issued itself (`photos/<owner>/<uuid>.jpg`), given
as the bare key or as a URL this server signed for it. Every other entry (legacy `/uploads/...`
values, any other URL, a key of someone else) is an opaque value: shown as stored, never turned
into a storage key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import socket
import time
import uuid
from collections.abc import Iterable
from functools import lru_cache
from typing import overload
from urllib.parse import parse_qs, quote, unquote, urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.core.signals import setting_changed
from django.dispatch import receiver

log = logging.getLogger(__name__)

_LEGACY_PREFIX = "/uploads/"


def r2_configured() -> bool:
    return bool(settings.R2_ACCOUNT_ID and settings.R2_ACCESS_KEY_ID and settings.R2_SECRET_ACCESS_KEY)


class LocalPhotoStorage(FileSystemStorage):
    """MEDIA_ROOT, with URLs that expire like R2's presigned ones (nobody can enumerate photos)."""

    def url(self, name: str | None) -> str:
        key = name or ""
        expires = int(time.time()) + settings.R2_URL_EXPIRY_SECONDS
        return f"{self.base_url}{quote(key, safe='/')}?expires={expires}&signature={local_signature(key, expires)}"


def local_signature(key: str, expires: int) -> str:
    message = f"{key}\n{expires}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def local_signature_valid(key: str, expires: str, signature: str) -> bool:
    return local_signature_issued(key, expires, signature) and int(expires) >= time.time()


def local_signature_issued(key: str, expires: str, signature: str) -> bool:
    """The signature is ours (expired or not): proof that this server issued the URL."""
    # ASCII only: "²".isdigit() holds but int() refuses it; compare_digest refuses non-ASCII str.
    if not (expires.isascii() and expires.isdigit() and signature.isascii()):
        return False
    return hmac.compare_digest(local_signature(key, int(expires)), signature)


@lru_cache(maxsize=1)
def photo_storage() -> Storage:
    if r2_configured():
        from botocore.config import Config
        from storages.backends.s3 import S3Storage

        return S3Storage(
            # R2 does not accept every checksum header newer boto3 sends by default.
            client_config=Config(
                signature_version="s3v4",
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
            bucket_name=settings.R2_BUCKET_NAME,
            endpoint_url=f"https://{settings.R2_ACCOUNT_ID}.r2.cloudflarestorage.com",
            access_key=settings.R2_ACCESS_KEY_ID,
            secret_key=settings.R2_SECRET_ACCESS_KEY,
            region_name="auto",
            signature_version="s3v4",
            querystring_auth=True,
            querystring_expire=settings.R2_URL_EXPIRY_SECONDS,
            file_overwrite=True,
            default_acl=None,
        )
    return LocalPhotoStorage(
        location=str(settings.MEDIA_ROOT), base_url=settings.MEDIA_URL, allow_overwrite=True
    )


@receiver(setting_changed)
def _reset_storage(*, setting: str, **_: object) -> None:
    if setting.startswith("R2_") or setting in {"MEDIA_ROOT", "MEDIA_URL", "SECRET_KEY"}:
        photo_storage.cache_clear()
        _URL_CACHE.clear()


# --- keys --------------------------------------------------------------------------------


def photo_keys(user_id: str) -> tuple[str, str]:
    """(large key, thumbnail key) for a new main profile photo (1200 px and 200 px renditions)."""
    photo_id = uuid.uuid4()
    return f"photos/{user_id}/{photo_id}.jpg", f"photos/{user_id}/{photo_id}_thumb.jpg"


def thumbnail_key(key: str) -> str:
    """The derived thumbnail key, as the original computes it (first `.jpg` -> `_thumb.jpg`)."""
    return key.replace(".jpg", "_thumb.jpg", 1)


def after_hours_photo_key(user_id: str) -> str:
    return f"after-hours-photos/{user_id}/{uuid.uuid4()}.jpg"


def selfie_key(user_id: str) -> str:
    return f"verifications/{user_id}/{int(time.time() * 1000)}.jpg"


def is_passthrough(value: str) -> bool:
    return value.startswith((_LEGACY_PREFIX, "http://", "https://"))


PHOTOS_AREA = "photos"
AFTER_HOURS_AREA = "after-hours-photos"
# The file names the uploads issue: a uuid4 and `.jpg` (photo_keys, after_hours_photo_key).
_ISSUED_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jpg")


def _usable_owner(owner: str) -> bool:
    """A user id that is exactly one path segment (no way to reach a neighbour's prefix)."""
    return bool(owner) and owner not in {".", ".."} and not any(c in owner for c in "/\\\x00")


def issued_key(key: str, *, owner: str, area: str = PHOTOS_AREA) -> bool:
    """`<area>/<owner>/<uuid>.jpg`: a key this server issued to `owner`."""
    prefix = f"{area}/{owner}/"
    return (
        _usable_owner(owner) and key.startswith(prefix) and bool(_ISSUED_NAME.fullmatch(key[len(prefix) :]))
    )


def key_from_value(value: str, *, owner: str, area: str = PHOTOS_AREA) -> str | None:
    """The storage key of `value` when it is one of `owner`'s own photos as this server issued it.

    `value` is the bare key or a URL this server signed for it: local storage's
    `/uploads/<key>?expires=..&signature=..` (relative or absolute, the signature must be ours,
    expired or not) or an R2 presigned URL of our bucket. Anything else is None: an opaque value.
    """
    key = _key_of_signed_url(value) if value.startswith("/") or "://" in value else value
    if key is None or not issued_key(key, owner=owner, area=area):
        return None
    return key


def _key_of_signed_url(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in {"", "http", "https"}:
        return None
    path = unquote(parts.path)
    media = urlsplit(settings.MEDIA_URL).path
    if path.startswith(media):
        key = path[len(media) :]
        query = parse_qs(parts.query)
        expires, signature = query.get("expires", [""])[0], query.get("signature", [""])[0]
        return key if local_signature_issued(key, expires, signature) else None
    if r2_configured() and parts.scheme == "https":
        # django-storages signs path-style URLs; the original's SDK signed virtual-hosted ones.
        endpoint = f"{settings.R2_ACCOUNT_ID}.r2.cloudflarestorage.com".lower()
        bucket = settings.R2_BUCKET_NAME
        host = (parts.hostname or "").lower()
        if host == endpoint and path.startswith(f"/{bucket}/"):
            return path[len(bucket) + 2 :]
        if host == f"{bucket}.{endpoint}".lower():
            return path[1:]
    return None


# --- reads -------------------------------------------------------------------------------


# Signed URLs are reused while they have at least 3/4 of their lifetime left: signing (a botocore
# presign for R2) is the most expensive part of a discovery response, and a stable URL lets the
# app's image cache work. A cache, not state: any process may sign any key at any time.
_URL_CACHE: dict[str, tuple[float, str]] = {}
_URL_CACHE_MAX = 20_000


@overload
def resolve_url(value: str) -> str: ...
@overload
def resolve_url(value: str | None) -> str | None: ...


def resolve_url(value: str | None) -> str | None:
    if not value:
        return value
    if is_passthrough(value):
        return value
    now = time.monotonic()
    cached = _URL_CACHE.get(value)
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        url = photo_storage().url(value)
    except Exception:  # a signing failure must not break a profile read
        log.exception("photo url resolution failed")
        return value
    if len(_URL_CACHE) >= _URL_CACHE_MAX:
        _URL_CACHE.clear()
    _URL_CACHE[value] = (now + settings.R2_URL_EXPIRY_SECONDS / 4, url)
    return url


def resolve_urls(values: Iterable[str] | None, *, owner: str) -> list[str]:
    """`owner`'s photos as the app shows them: own keys signed, every other entry as stored."""
    resolved = []
    for value in values or []:
        key = key_from_value(value, owner=owner)
        resolved.append((resolve_url(key) or key) if key else value)
    return resolved


def read_bytes(value: str, *, owner: str) -> bytes:
    """The bytes of one of `owner`'s photos: an own key from storage, another URL fetched directly."""
    key = key_from_value(value, owner=owner)
    if key is not None:
        with photo_storage().open(key, "rb") as handle:
            return handle.read()
    if value.startswith(("http://", "https://")):
        import httpx

        # Profile photo URLs are user input: never fetch from inside the network (SSRF).
        _require_public_host(value)
        response = httpx.get(value, timeout=10.0, follow_redirects=False)
        response.raise_for_status()
        return response.content
    raise FileNotFoundError(value)


def _require_public_host(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise FileNotFoundError(url) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise PermissionError(f"refusing to fetch a photo from a non-public address: {host}")


# --- writes ------------------------------------------------------------------------------


def save(key: str, data: bytes, content_type: str = "image/jpeg") -> str:
    content = ContentFile(data)
    content.content_type = content_type  # type: ignore[attr-defined]  # read off the file by the S3 backend
    return photo_storage().save(key, content)


def delete_key(key: str) -> bool:
    """Best effort; True when the object is gone."""
    try:
        photo_storage().delete(key)
        return True
    except Exception:
        log.warning("photo delete failed", extra={"key": key}, exc_info=True)
        return False


def delete_photo(value: str, *, owner: str) -> None:
    """One of `owner`'s own photos and its thumbnail; any other value is left alone."""
    key = key_from_value(value, owner=owner)
    if key is None:
        return
    delete_key(key)
    delete_key(thumbnail_key(key))


def user_prefixes(user_id: str) -> tuple[str, ...]:
    return (f"photos/{user_id}/", f"after-hours-photos/{user_id}/", f"verifications/{user_id}/")


def list_prefix(prefix: str) -> list[str]:
    try:
        _dirs, files = photo_storage().listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [prefix + name for name in files]


def delete_user_files(user_id: str, extra_values: Iterable[str] = ()) -> tuple[int, int]:
    """Every object of the user (listed values, their thumbnails and the user's prefixes).

    Returns (deleted, failed). Listing the prefixes also catches replaced After Hours photos and
    selfies that no row points to any more. A listed value that is not the user's own photo (a
    URL they typed into their profile) is never turned into a key.
    """
    keys: dict[str, None] = {}
    for value in extra_values:
        key = key_from_value(value, owner=user_id)
        if key:
            keys[key] = None
            keys[thumbnail_key(key)] = None
    for prefix in user_prefixes(user_id):
        for key in list_prefix(prefix):
            keys[key] = None
    storage = photo_storage()
    deleted = failed = 0
    for key in keys:
        if isinstance(storage, FileSystemStorage) and not storage.exists(key):
            continue  # a derived thumbnail that never existed is not a failure
        if delete_key(key):
            deleted += 1
        else:
            failed += 1
    return deleted, failed
