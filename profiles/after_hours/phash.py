"""The 64-bit perceptual hash of After Hours photos, compatible with the original (docs/contract.md,
"Images and storage").

The original hashed with sharp-phash 2.2.0 on sharp 0.33.5 (libvips 8.15), and
`banned_photo_hashes` holds hashes it computed, so a re-uploaded banned photo must land within the
ban distance here too. Two parts:

* `phash_from_grey`: the DCT and bit steps, bit-for-bit (same cosine table, same float operations in
  the same order, so even coefficients next to the mean fall on the same side).
* `grey32`: sharp's `greyscale().resize(32, 32, {fit: "fill"}).rotate().raw()` on libvips. Two
  details of sharp 0.33 matter and are reproduced: JPEG shrink-on-load before the resize (the hash
  is taken of the processed JPEG) and libvips 8.15's greyscale weights (0.2, 0.7, 0.1 on linear
  light; libvips 8.16 moved to Rec. 709). With both, the test vectors' processed JPEGs hash
  identically and their source PNGs within 2 bits (libvips' resampler rounds a few edge pixels
  differently across versions). `imagehash.phash` is not compatible (another crop, a median).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pyvips

SAMPLE_SIZE = 32
LOW_SIZE = 8
BAN_DISTANCE = 10  # a photo within fewer bits than this of a banned hash is refused

_COS = [
    [math.cos(((2 * k + 1) / (2.0 * SAMPLE_SIZE)) * n * math.pi) for n in range(SAMPLE_SIZE)]
    for k in range(SAMPLE_SIZE)
]
_SCALE = [1 / math.sqrt(2.0)] + [1.0] * (SAMPLE_SIZE - 1)
# libvips 8.15 sRGB -> B_W luminance weights, applied in linear light.
_GREY_WEIGHTS = (0.2, 0.7, 0.1)


def _coefficient(signal: list[list[int]], u: int, v: int) -> float:
    total = 0.0
    for i in range(SAMPLE_SIZE):
        cos_iu = _COS[i][u]
        row = signal[i]
        for j in range(SAMPLE_SIZE):
            total += cos_iu * _COS[j][v] * row[j]  # (cos * cos) * f, as the JavaScript evaluates it
    return total * (_SCALE[u] * _SCALE[v]) / 4


def phash_from_grey(pixels: Sequence[int]) -> str:
    """The hash of a 32x32 8-bit greyscale image given row by row (1,024 values), 16 hex digits."""
    if len(pixels) != SAMPLE_SIZE * SAMPLE_SIZE:
        raise ValueError(f"expected {SAMPLE_SIZE * SAMPLE_SIZE} pixels, got {len(pixels)}")
    # s[x][y] = pixel at column x, row y
    signal = [[pixels[SAMPLE_SIZE * y + x] for y in range(SAMPLE_SIZE)] for x in range(SAMPLE_SIZE)]
    low = [[_coefficient(signal, u, v) for v in range(1, LOW_SIZE + 1)] for u in range(1, LOW_SIZE + 1)]
    total = 0.0
    for row in low:
        for value in row:
            total += value
    mean = total / (LOW_SIZE * LOW_SIZE)
    bits = "".join("1" if value > mean else "0" for row in low for value in row)
    return "".join(f"{int(bits[i : i + 4], 2):x}" for i in range(0, len(bits), 4))


def _jpeg_shrink_on_load(shrink: float) -> int:
    """sharp 0.33's JPEG pre-shrink for a resize by `shrink` (fastShrinkOnLoad, the default)."""
    factor = 8 if shrink >= 8 else 4 if shrink >= 4 else 2 if shrink >= 2 else 1
    if factor > 1 and int(shrink) == factor:  # sharp avoids libjpeg's rounding errors here
        factor //= 2
    return factor


def _load(data: bytes) -> pyvips.Image:
    image = pyvips.Image.new_from_buffer(data, "")
    orientation = image.get("orientation") if image.get_typeof("orientation") else 1
    is_jpeg = image.get("vips-loader").startswith("jpegload")
    if is_jpeg and orientation in (0, 1):
        shrink = _jpeg_shrink_on_load(min(image.width / SAMPLE_SIZE, image.height / SAMPLE_SIZE))
        if shrink > 1:
            image = pyvips.Image.new_from_buffer(data, "", shrink=shrink)
    return image.autorot()


def _greyscale(image: pyvips.Image) -> pyvips.Image:
    if image.hasalpha():
        image = image[: image.bands - 1]  # the hash never sees alpha: After Hours hashes JPEGs
    if image.interpretation not in ("srgb", "b-w"):
        image = image.colourspace("srgb")
    if image.bands == 1:
        return image.cast("uchar") if image.format != "uchar" else image
    linear = image.colourspace("scrgb")
    red, green, blue = _GREY_WEIGHTS
    luminance = linear[0] * red + linear[1] * green + linear[2] * blue
    # R = G = B = Y, so libvips' own scRGB -> B_W step (weights summing to 1) only applies the
    # sRGB transfer curve, through the same lookup table and rounding as 8.15.
    grey_rgb = luminance.bandjoin([luminance, luminance]).copy(interpretation="scrgb")
    return grey_rgb.colourspace("b-w")


def grey32(data: bytes) -> list[int]:
    """The 32x32 greyscale pixels (row by row) sharp-phash would hash for these image bytes."""
    image = _greyscale(_load(data))
    image = image.resize(SAMPLE_SIZE / image.width, vscale=SAMPLE_SIZE / image.height, kernel="lanczos3")
    if image.bands > 1:
        image = image[0]
    return list(bytes(image.cast("uchar").write_to_memory()))


def phash_image(data: bytes) -> str:
    """The hash of encoded image bytes (JPEG, PNG, WebP, ...). pyvips.Error when undecodable."""
    return phash_from_grey(grey32(data))


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def is_banned(photo_hash: str, banned_hashes: Iterable[str]) -> bool:
    """True when the hash is within BAN_DISTANCE - 1 bits of any banned hash."""
    for banned in banned_hashes:
        try:
            if hamming(photo_hash, banned) < BAN_DISTANCE:
                return True
        except ValueError:
            continue  # a malformed stored hash bans nothing
    return False
