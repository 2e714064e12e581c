"""The perceptual hash against vectors the original service computed (sharp 0.33.5, sharp-phash 2.2.0)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from profiles.after_hours.phash import grey32, hamming, is_banned, phash_from_grey, phash_image

# Computed by the original service's library (its `generator` field) on synthetic images: the PNG,
# its 32x32 grey matrix, the original's hash, and the upload pipeline's JPEG with its hash.
VECTORS = json.loads((Path(__file__).parent / "data" / "phash-vectors.json").read_text())["vectors"]
IDS = [v["name"] for v in VECTORS]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_hash_of_the_grey_matrix_is_bit_exact(vector):
    assert phash_from_grey(vector["grey32_row_major"]) == vector["phash_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_hash_of_the_source_image_is_within_three_bits(vector):
    png = base64.b64decode(vector["png_base64"])
    assert hamming(phash_image(png), vector["phash_hex"]) <= 3


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_hash_of_the_originals_processed_jpeg_is_within_three_bits(vector):
    jpeg = base64.b64decode(vector["processed_jpeg_base64"])
    assert hamming(phash_image(jpeg), vector["processed_jpeg_phash_hex"]) <= 3


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_grey_matrix_of_the_source_image_is_close_to_the_originals(vector):
    png = base64.b64decode(vector["png_base64"])
    ours = grey32(png)
    assert len(ours) == 1024
    assert max(abs(a - b) for a, b in zip(ours, vector["grey32_row_major"], strict=True)) <= 2


def test_hex_keeps_leading_zeros():
    assert phash_from_grey(VECTORS[3]["grey32_row_major"]) == "0050004100050014"


def test_hamming_and_ban_threshold():
    assert hamming("0000000000000000", "00000000000001ff") == 9
    assert hamming("ffffffffffffffff", "0000000000000000") == 64
    assert is_banned("00000000000001ff", ["ffffffffffffffff", "0000000000000000"]) is True
    assert is_banned("00000000000003ff", ["0000000000000000"]) is False  # 10 bits: allowed
    assert is_banned("0000000000000000", ["not-hex", "ffffffffffffffff"]) is False


def test_wrong_matrix_size_is_refused():
    with pytest.raises(ValueError):
        phash_from_grey([0] * 1023)
