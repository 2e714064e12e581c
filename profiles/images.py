"""The project's one image pipeline (pyvips): content sniffing, decoding and clean JPEG renditions.

Shared by main profile photos, verification selfies and After Hours photos. Every rendition is
auto-rotated, converted to sRGB and written with no metadata at all (docs/contract.md, D8: the original
meant to strip EXIF/GPS but kept it). Bad input is an `ImageRejected` (a 400), never a 500.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pyvips
from django.http import HttpResponse

from vlvt.http.api import ApiError

# Every upload is a new image: libvips' operation cache would only hold decoded pixels in memory.
pyvips.cache_set_max(0)
# libvips reports thread-pool housekeeping at INFO; it is noise in the request log.
logging.getLogger("pyvips").setLevel(logging.WARNING)

ALLOWED_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})
# What the client may declare (multer's mimetype), lower-cased; image/jpg is a common alias.
ALLOWED_DECLARED_TYPES = frozenset(ALLOWED_CONTENT_TYPES | {"image/jpg"})
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# What phones produce: a 48 MP main camera (8064 x 6048) passes; a bigger image (a decompression
# bomb: a 10000 x 10000 16-bit PNG is 300 KB on disk) is refused from its header, before any pixel
# is decoded.
MAX_PIXELS = 50_000_000
# Decodes running at once per process (each streams the image once at a reduced size: tens of MB
# and a core). A decode that finds none free waits up to DECODE_WAIT_SECONDS, at most DECODE_QUEUE
# of them at a time; past either it is a 503 with Retry-After. So a burst of uploads is queued
# briefly, and a flood holds at most DECODE_SLOTS + DECODE_QUEUE request threads.
DECODE_SLOTS = 2
DECODE_QUEUE = 4
DECODE_WAIT_SECONDS = 10.0
DECODE_RETRY_AFTER_SECONDS = 5

LARGE_SIZE = 1200
THUMB_SIZE = 200

MSG_UNDETECTABLE = "Unable to determine file type. File may be corrupted or unsupported."
MSG_DECLARED_TYPE = "Invalid file type. Only JPEG, PNG, HEIC, HEIF, and WebP images are allowed"
MSG_TOO_LARGE = "File size exceeds 10MB limit"
MSG_HEIF_UNSUPPORTED = (
    "HEIC/HEIF images cannot be processed on this server. Please upload a JPEG, PNG or WebP image."
)
MSG_UNDECODABLE = "Unable to process image. The file may be corrupted."
MSG_TOO_MANY_PIXELS = "Image dimensions are too large. The maximum is 50 megapixels."
MSG_BUSY = "Too many images are being processed, please retry"


class ImageRejected(Exception):
    """The upload is not an acceptable image; `message` is the client-facing 400 text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DecoderBusy(ApiError):
    """No decode slot of this process came free (in DECODE_WAIT_SECONDS, or DECODE_QUEUE decodes
    were already waiting): 503 + Retry-After."""

    def __init__(self) -> None:
        super().__init__(503, MSG_BUSY)

    def response(self) -> HttpResponse:
        response = super().response()
        response["Retry-After"] = str(DECODE_RETRY_AFTER_SECONDS)
        return response


def not_allowed_message(mime: str) -> str:
    return (
        f"File content is {mime}, which is not an allowed image type. "
        "Only JPEG, PNG, WebP, HEIC, and HEIF images are accepted."
    )


# --- content sniffing (the subset of file-type 16 that matters for an image upload) ----------

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF8", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\x00\x00\x01\x00", "image/x-icon"),
    (0, b"\x00\x00\x02\x00", "image/x-icon"),
    (0, b"8BPS", "image/vnd.adobe.photoshop"),
    (0, b"\xff\x0a", "image/jxl"),
    (0, b"\x00\x00\x00\x0cJXL ", "image/jxl"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "image/jp2"),
    (0, b"%PDF", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"Rar!\x1a\x07", "application/x-rar-compressed"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"\x1f\x8b\x08", "application/gzip"),
    (0, b"BZh", "application/x-bzip2"),
    (0, b"\x7fELF", "application/x-elf"),
    (0, b"MZ", "application/x-msdownload"),
    (0, b"\xca\xfe\xba\xbe", "application/java-vm"),
    (0, b"\x00asm", "application/wasm"),
    (0, b"SQLite format 3\x00", "application/x-sqlite3"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/x-flac"),
    (0, b"\x1aE\xdf\xa3", "video/x-matroska"),
    (0, b"<?xml ", "application/xml"),
    (0, b"{\\rtf", "application/rtf"),
    (0, b"wOFF", "font/woff"),
    (0, b"wOF2", "font/woff2"),
)

# ISO-BMFF major brands (file-type 16's table).
_FTYP_BRANDS = {
    "avif": "image/avif",
    "mif1": "image/heif",
    "msf1": "image/heif-sequence",
    "heic": "image/heic",
    "heix": "image/heic",
    "hevc": "image/heic-sequence",
    "hevx": "image/heic-sequence",
    "qt": "video/quicktime",
    "M4V": "video/x-m4v",
    "M4VH": "video/x-m4v",
    "M4VP": "video/x-m4v",
    "M4P": "video/mp4",
    "M4B": "audio/mp4",
    "M4A": "audio/x-m4a",
    "F4V": "video/mp4",
    "F4P": "video/mp4",
    "F4A": "audio/mp4",
    "F4B": "audio/mp4",
    "crx": "image/x-canon-cr3",
}


def sniff(head: bytes) -> str | None:
    """The MIME type the content's magic bytes announce, or None when nothing matches."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/apng" if _png_is_animated(head) else "image/png"
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/vnd.wave", b"AVI ": "video/vnd.avi"}.get(head[8:12])
    if head[4:8] == b"ftyp" and len(head) >= 12 and head[8] & 0x60:
        brand = head[8:12].decode("latin-1").replace("\x00", " ").strip()
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
        return (
            ("video/3gpp2" if brand.startswith("3g2") else "video/3gpp")
            if brand.startswith("3g")
            else "video/mp4"
        )
    for offset, magic, mime in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return mime
    return None


def _png_is_animated(data: bytes) -> bool:
    """An APNG carries an acTL chunk before its first IDAT (file-type reports image/apng)."""
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"acTL":
            return True
        if kind == b"IDAT":
            return False
        pos += 12 + length
    return False


def check_content(data: bytes) -> str:
    """The magic-byte check (docs/contract.md, "Images and storage"): the detected MIME type, or
    ImageRejected."""
    mime = sniff(data[:4100])
    if mime is None:
        raise ImageRejected(MSG_UNDETECTABLE)
    if mime not in ALLOWED_CONTENT_TYPES:
        raise ImageRejected(not_allowed_message(mime))
    return mime


def check_declared(content_type: str | None, size: int) -> None:
    """The original's validateImage: the client's declared size and MIME type."""
    if size > MAX_UPLOAD_BYTES:
        raise ImageRejected(MSG_TOO_LARGE)
    if (content_type or "").lower() not in ALLOWED_DECLARED_TYPES:
        raise ImageRejected(MSG_DECLARED_TYPE)


# --- decoding and renditions --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendition:
    data: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"


class _DecodeGate:
    """DECODE_SLOTS decodes at once; at most DECODE_QUEUE waiting for one, each at most
    DECODE_WAIT_SECONDS."""

    def __init__(self, slots: int) -> None:
        self.slots = threading.BoundedSemaphore(slots)
        self.lock = threading.Lock()
        self.waiting = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if not self.slots.acquire(blocking=False):
            self._wait()
        try:
            yield
        finally:
            self.slots.release()

    def _wait(self) -> None:
        with self.lock:
            if self.waiting >= DECODE_QUEUE:
                raise DecoderBusy()
            self.waiting += 1
        try:
            acquired = self.slots.acquire(timeout=DECODE_WAIT_SECONDS)
        finally:
            with self.lock:
                self.waiting -= 1
        if not acquired:
            raise DecoderBusy()


_gate = _DecodeGate(DECODE_SLOTS)


def decode(data: bytes, mime: str) -> pyvips.Image:
    """The image fitted inside LARGE_SIZE (never enlarged), auto-rotated, 8-bit sRGB without alpha
    (JPEG has none), in memory: every rendition is made from it.

    The header is read first (a picture over MAX_PIXELS is refused undecoded); then libvips'
    thumbnail decodes with shrink-on-load (JPEG, WebP and HEIF decode at a fraction of their size)
    and sequential access (a PNG streams through the resize a few lines at a time), so a decode
    costs tens of MB, not the full-size pixels (a 48 MP 16-bit image is 580 MB of them).
    """
    try:
        header = pyvips.Image.new_from_buffer(data, "", access="sequential")
        if header.width * header.height > MAX_PIXELS:
            raise ImageRejected(MSG_TOO_MANY_PIXELS)
        with _gate.slot():
            image = pyvips.Image.thumbnail_buffer(data, LARGE_SIZE, height=LARGE_SIZE, size="down")
            image = _to_srgb(image)
            # Decode now, so a truncated or corrupt file fails here, as a 400.
            image = image.copy_memory()
    except pyvips.Error:
        if mime in {"image/heic", "image/heif"}:
            # The libvips of the wheel decodes AV1-coded HEIF but not HEVC (patents).
            raise ImageRejected(MSG_HEIF_UNSUPPORTED) from None
        raise ImageRejected(MSG_UNDECODABLE) from None
    return image


def _to_srgb(image: pyvips.Image) -> pyvips.Image:
    if image.get_typeof("icc-profile-data"):
        # Convert with the embedded profile before it is stripped, so colours survive.
        with contextlib.suppress(pyvips.Error):
            image = image.icc_transform("srgb", embedded=True, intent="perceptual")
    if image.interpretation not in ("srgb", "b-w"):
        image = image.colourspace("srgb")
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _jpeg(image: pyvips.Image, quality: int, *, progressive: bool) -> Rendition:
    data = image.jpegsave_buffer(Q=quality, interlace=progressive, keep="none")
    return Rendition(data=data, width=image.width, height=image.height)


def large(image: pyvips.Image) -> Rendition:
    """Fit inside 1200x1200 without enlarging; JPEG q85 progressive (sharp's `large`)."""
    fitted = image.thumbnail_image(LARGE_SIZE, height=LARGE_SIZE, size="down")
    return _jpeg(fitted, 85, progressive=True)


def thumbnail(image: pyvips.Image) -> Rendition:
    """200x200, cover with a centre crop; JPEG q80."""
    cropped = image.thumbnail_image(THUMB_SIZE, height=THUMB_SIZE, crop="centre")
    return _jpeg(cropped, 80, progressive=False)


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    large: Rendition
    thumbnail: Rendition


def process_photo(data: bytes) -> ProcessedPhoto:
    """Main profile photo: content check, then the large rendition and the thumbnail."""
    image = decode(data, check_content(data))
    return ProcessedPhoto(large=large(image), thumbnail=thumbnail(image))


def process_single(data: bytes) -> Rendition:
    """One clean rendition with the `large` settings: After Hours photos and selfies."""
    return large(decode(data, check_content(data)))
