"""Real images made in the test run (pyvips), including EXIF with GPS and an orientation tag."""

from __future__ import annotations

import struct

import pyvips


def _exif(orientation: int) -> bytes:
    """A little-endian TIFF/EXIF block: IFD0 (Orientation, GPS pointer) and a GPS IFD (52.5 N)."""
    ifd0_offset = 8
    ifd0_size = 2 + 2 * 12 + 4
    gps_offset = ifd0_offset + ifd0_size
    gps_size = 2 + 2 * 12 + 4
    rationals_offset = gps_offset + gps_size
    out = b"II*\x00" + struct.pack("<I", ifd0_offset)
    out += struct.pack("<H", 2)
    out += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)  # Orientation, SHORT
    out += struct.pack("<HHII", 0x8825, 4, 1, gps_offset)  # GPSInfo IFD pointer, LONG
    out += struct.pack("<I", 0)
    out += struct.pack("<H", 2)
    out += struct.pack("<HHI", 0x0001, 2, 2) + b"N\x00\x00\x00"  # GPSLatitudeRef "N"
    out += struct.pack("<HHII", 0x0002, 5, 3, rationals_offset)  # GPSLatitude, 3 RATIONALs
    out += struct.pack("<I", 0)
    out += struct.pack("<6I", 52, 1, 30, 1, 0, 1)
    return b"Exif\x00\x00" + out


def two_tone(width: int, height: int) -> pyvips.Image:
    """Left half red, right half blue (so a rotation can be seen)."""
    left = (pyvips.Image.black(width // 2, height, bands=3) + [220, 20, 20]).cast("uchar")
    right = (pyvips.Image.black(width - width // 2, height, bands=3) + [20, 20, 220]).cast("uchar")
    return left.join(right, "horizontal").copy(interpretation="srgb")


def jpeg_with_gps(width: int = 1600, height: int = 1000, orientation: int = 6) -> bytes:
    image = two_tone(width, height).copy()
    image.set_type(pyvips.GValue.blob_type, "exif-data", _exif(orientation))
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-ImageDescription", "secret place")
    return image.jpegsave_buffer(Q=90, keep="all")


def png(width: int = 640, height: int = 480, alpha: bool = True) -> bytes:
    image = two_tone(width, height)
    if alpha:
        image = image.bandjoin(128)
    return image.pngsave_buffer()


def webp(width: int = 800, height: int = 600) -> bytes:
    return two_tone(width, height).webpsave_buffer(Q=80)


def gif(width: int = 64, height: int = 64) -> bytes:
    return two_tone(width, height).gifsave_buffer()


def avif_as_heif(width: int = 64, height: int = 48) -> bytes:
    """A HEIF container the wheel's libvips can decode (AV1), re-branded `mif1` (image/heif)."""
    data = bytearray(two_tone(width, height).heifsave_buffer(compression="av1"))
    data[8:12] = b"mif1"
    return bytes(data)


def heic_header_only() -> bytes:
    """What an iPhone HEIC starts with; the HEVC payload cannot be decoded by this libvips."""
    box = struct.pack(">I", 24) + b"ftypheic" + struct.pack(">I", 0) + b"mif1heic"
    return box + b"\x00" * 64


def load(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def pixel(data: bytes, x: int, y: int) -> list[float]:
    return load(data).getpoint(x, y)
