"""Location fuzzing (docs/contract.md, "Location fuzzing"): the original's algorithm and its half-up
rounding."""

from __future__ import annotations

import math
import random

import pytest

from profiles.after_hours.fuzz import fuzz_location, js_round, round3


def _haversine_km(lat1, lng1, lat2, lng2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371 * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def _draws(*values):
    it = iter(values)
    return lambda: next(it)


def test_rounding_is_half_up_like_math_round():
    # 1.0625 * 1000 is exactly 1062.5: JavaScript gives 1.063, Python's round() 1.062.
    assert round(1.0625, 3) == 1.062
    assert round3(1.0625) == 1.063
    assert round3(-1.0625) == -1.062  # halves go toward +infinity
    assert js_round(2.5) == 3.0 and js_round(-2.5) == -2.0 and js_round(0.49999999999999994) == 0.0


def test_zero_radius_only_rounds():
    assert fuzz_location(40.7128, -74.0060, 0) == (40.713, -74.006)
    assert fuzz_location(1.0625, -1.0625, 0) == (1.063, -1.062)


def test_offset_follows_the_two_draws():
    # angle = 0.25 * 2pi (due north), distance = sqrt(1) * 0.5 km
    assert fuzz_location(40.0, -74.0, rand=_draws(0.25, 1.0)) == (round3(40.0 + 0.5 / 111.32), -74.0)
    # angle = 0 (due east): the longitude offset is scaled by cos(latitude)
    expected_lng = -74.0 + 0.5 / (111.32 * math.cos(math.radians(60.0)))
    assert fuzz_location(60.0, -74.0, rand=_draws(0.0, 1.0)) == (60.0, round3(expected_lng))


def test_clamps_latitude_and_wraps_longitude_once():
    assert fuzz_location(89.999, 0.0, rand=_draws(0.25, 1.0)) == (90.0, 0.0)
    lat, lng = fuzz_location(0.0, 179.9999, rand=_draws(0.0, 1.0))
    assert (lat, lng) == (0.0, round3(179.9999 + 0.5 / 111.32 - 360))


def test_near_the_pole_longitude_is_not_offset():
    assert fuzz_location(90.0, 10.0, rand=_draws(0.0, 1.0)) == (90.0, 10.0)


def test_string_coordinates_are_coerced():
    assert fuzz_location("40.7128", "-74.006", 0) == (40.713, -74.006)


@pytest.mark.parametrize(("lat", "lng"), [(-90.5, 0), (90.01, 0), (0, 180.5), (0, -181)])
def test_out_of_range_raises(lat, lng):
    with pytest.raises(ValueError):
        fuzz_location(lat, lng)


def test_displacement_stays_within_about_611_metres():
    rng = random.Random(7)
    for _ in range(2000):
        lat, lng = rng.uniform(-60, 60), rng.uniform(-179, 179)
        flat, flng = fuzz_location(lat, lng, rand=rng.random)
        assert _haversine_km(lat, lng, flat, flng) <= 0.611
        assert flat == round3(flat) and flng == round3(flng)
