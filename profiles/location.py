"""Location privacy: what discovery reveals about where someone is (docs/security.md).

Discovery and search count compute every distance between the centres of grid cells, never
between stored coordinates, and report whole kilometres (at least 1). A cell is CELL_DEGREES of
latitude (1.67 km) by as many kilometres of longitude, so two people anywhere in the same cell
get identical answers from every query, whoever asks from wherever: no number of location
changes and discover calls (trilateration) can place a user more precisely than their cell, and
whatever point an attacker picks, the user may be more than 1 km from it.

Location updates are limited too (LOCATION_* below), which makes scanning a city slow.
"""

from __future__ import annotations

import math
from datetime import timedelta

CELL_DEGREES = 0.015
EARTH_RADIUS_KM = 6371
# Past the polar circles a cell keeps a sane width instead of shrinking to nothing.
_MIN_COS = 0.01

# At most one accepted update a minute; within FREE_JUMP_AFTER of the last accepted update, a move
# must be plausible at road or rail speed (with room for GPS noise); after it, any move (a flight,
# a phone that was off).
LOCATION_MIN_GAP = timedelta(minutes=1)
FREE_JUMP_AFTER = timedelta(minutes=15)
PLAUSIBLE_SPEED_KMH = 150.0
PLAUSIBLE_SLACK_KM = 2.0


def cell_centre(latitude: float, longitude: float) -> tuple[float, float]:
    """The centre of the cell a point is in (the same arithmetic as `cell_centre_sql`)."""
    lat = (math.floor(latitude / CELL_DEGREES) + 0.5) * CELL_DEGREES
    step = CELL_DEGREES / max(math.cos(math.radians(lat)), _MIN_COS)
    return lat, (math.floor(longitude / step) + 0.5) * step


def cell_centre_sql(latitude: str, longitude: str) -> tuple[str, str]:
    """SQL expressions of the cell centre of two columns (float8 arithmetic, as in Python)."""
    lat = f"((floor({latitude}::float8 / {CELL_DEGREES}) + 0.5) * {CELL_DEGREES})"
    step = f"({CELL_DEGREES} / GREATEST(cos(radians({lat})), {_MIN_COS}))"
    return lat, f"((floor({longitude}::float8 / {step}) + 0.5) * {step})"


def great_circle_km_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Spherical law of cosines, the acos argument clamped (identical points give 0, not an error)."""
    return (
        f"{EARTH_RADIUS_KM} * acos(LEAST(1.0, GREATEST(-1.0,"
        f" cos(radians({lat1})) * cos(radians({lat2})) * cos(radians({lon2}) - radians({lon1}))"
        f" + sin(radians({lat1})) * sin(radians({lat2})))))"
    )


def reported_km_sql(viewer_lat: str, viewer_lon: str) -> str:
    """The distance discovery reports from the viewer's cell centre (parameters) to each row's
    cell centre: whole kilometres, at least 1."""
    lat, lon = cell_centre_sql("latitude", "longitude")
    return f"GREATEST(1, round(({great_circle_km_sql(viewer_lat, viewer_lon, lat, lon)})::numeric))::int"
