"""Location fuzzing for After Hours sessions, bit-compatible with the original (docs/contract.md,
"Location fuzzing").

A session stores the exact point and a fuzzed one; matching, distances and everything another user
can see use only the fuzzed pair. The fuzzed point is a uniform random point of a 0.5 km disc around
the exact one, rounded to 3 decimals (about 111 m), so the true location stays hidden within about
611 m and repeated sessions cannot be trilaterated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

KM_PER_DEGREE_LATITUDE = 111.32
DEFAULT_RADIUS_KM = 0.5

# Not the module-level Mersenne Twister: offsets must not be predictable from earlier ones.
_system_random = random.SystemRandom()


def js_round(value: float) -> float:
    """JavaScript `Math.round`: the nearest integer, halves toward +infinity (Python rounds to even)."""
    floor = math.floor(value)
    # value - floor is exact for doubles, so the tie test is exact too.
    return float(floor + 1) if value - floor >= 0.5 else float(floor)


def round3(value: float) -> float:
    """`Math.round(value * 1000) / 1000`, the same float operations in the same order."""
    return js_round(value * 1000) / 1000


def fuzz_location(
    latitude: float | str,
    longitude: float | str,
    radius_km: float = DEFAULT_RADIUS_KM,
    *,
    rand: Callable[[], float] = _system_random.random,
) -> tuple[float, float]:
    """(fuzzed latitude, fuzzed longitude) rounded to 3 decimals; ValueError outside the valid ranges.

    `rand` returns floats in [0, 1); it is drawn twice, angle first, as the original.
    """
    latitude, longitude = float(latitude), float(longitude)  # the original concatenated strings
    if not -90 <= latitude <= 90:
        raise ValueError(f"Invalid latitude: {latitude}. Must be between -90 and 90.")
    if not -180 <= longitude <= 180:
        raise ValueError(f"Invalid longitude: {longitude}. Must be between -180 and 180.")
    if radius_km == 0:
        return round3(latitude), round3(longitude)

    angle = rand() * 2 * math.pi
    # The square root spreads points uniformly over the disc instead of clustering at its centre.
    distance = math.sqrt(rand()) * radius_km
    lat_offset = (distance * math.sin(angle)) / KM_PER_DEGREE_LATITUDE
    km_per_degree_longitude = KM_PER_DEGREE_LATITUDE * math.cos(latitude * (math.pi / 180))
    lng_offset = (
        (distance * math.cos(angle)) / km_per_degree_longitude if km_per_degree_longitude > 0.001 else 0
    )

    fuzzed_lat = max(-90.0, min(90.0, latitude + lat_offset))
    fuzzed_lng = longitude + lng_offset
    if fuzzed_lng > 180:
        fuzzed_lng -= 360
    elif fuzzed_lng < -180:
        fuzzed_lng += 360
    return round3(fuzzed_lat), round3(fuzzed_lng)
