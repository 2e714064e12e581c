"""The After Hours matching engine: who is matched with whom in one run (pure, no database).

Rules (docs/contract.md, "Matching" and D12): a candidate is another waiting session whose user

* is within the initiator's maximum distance **and** has the initiator within theirs,
* is of a gender the initiator seeks **and** seeks the initiator's gender ('Any' accepts all; a
  missing gender only matches 'Any'; case is ignored, so "Non-binary" meets "Non-Binary"),
* has an age inside the initiator's range **and** the initiator's age is inside theirs,
* neither blocked nor declined (either direction) the initiator, was not already matched with
  them during the current sessions, and is not in an active match (busy users never enter the
  pool, so a busy nearest person does not starve the initiator: the next one is taken).

Among candidates the nearest wins, ties broken by the smaller user id. Initiators are served in
order of their session's start (longest waiting first, then user id), each taking the nearest
candidate still free, so one run is deterministic for a given pool. Distances are haversine
kilometres between fuzzed points.

One run is set-based: the caller loads the pool, the exclusions and the active points with a fixed
number of queries, and this module does the geometry in memory. A latitude-banded index sorted by
longitude keeps a nearest-candidate search local (it widens only while the best candidate found
so far could still be beaten), so a sweep over 10,000 sessions does not compare every pair.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

EARTH_RADIUS_KM = 6371.0
ANY = "any"
BAND_DEGREES = 0.005  # about 550 m of latitude per band


_RAD = math.pi / 180


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The original's JavaScript haversine (R = 6371), used for every After Hours distance."""
    d_lat = (lat2 - lat1) * _RAD
    d_lng = (lng2 - lng1) * _RAD
    a = math.sin(d_lat / 2) ** 2 + math.cos(lat1 * _RAD) * math.cos(lat2 * _RAD) * math.sin(d_lng / 2) ** 2
    return EARTH_RADIUS_KM * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def round1(value: float) -> float:
    """`Math.round(value * 10) / 10`: one decimal, halves up."""
    scaled = value * 10
    floor = math.floor(scaled)
    return (floor + 1 if scaled - floor >= 0.5 else floor) / 10


def gender_key(value: str | None) -> str | None:
    return value.strip().lower() if value and value.strip() else None


# The search compares haversine's inner term `a` (= sin^2(d / 2R), monotonic in the distance d)
# rather than kilometres: no square roots or arctangents in the inner loops.


def _a_of_km(km: float) -> float:
    return math.sin(min(km, math.pi * EARTH_RADIUS_KM) / (2 * EARTH_RADIUS_KM)) ** 2


def _km_of_a(a: float) -> float:
    return EARTH_RADIUS_KM * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


@dataclass(slots=True, eq=False)
class Point:
    """An open session's fuzzed point: what `activeUsersNearby` counts."""

    user_id: str
    lat: float
    lng: float
    lat_rad: float = field(init=False)
    lng_rad: float = field(init=False)
    cos_lat: float = field(init=False)

    def __post_init__(self) -> None:
        self.lat_rad = self.lat * _RAD
        self.lng_rad = self.lng * _RAD
        self.cos_lat = math.cos(self.lat_rad)


@dataclass(slots=True, eq=False)
class Seeker(Point):
    """An open session taking part in matching, with its owner's profile and preferences (its
    point is fuzzed, as every session's)."""

    session_id: str
    started_at: float  # epoch seconds: initiators are served in this order
    gender: str | None  # gender_key() of profiles.gender
    age: int | None
    seeking: str  # gender_key() of seeking_gender; ANY for 'Any'
    max_distance_km: float
    min_age: int
    max_age: int
    max_a: float = field(init=False)

    def __post_init__(self) -> None:
        Point.__post_init__(self)  # (zero-argument super() fails in a slots dataclass)
        self.max_a = _a_of_km(self.max_distance_km)

    def accepts_profile(self, other: Seeker) -> bool:
        """This user's gender and age rules accept `other` (distance is checked separately)."""
        if self.seeking != ANY and self.seeking != other.gender:
            return False
        return other.age is not None and self.min_age <= other.age <= self.max_age


def _a(s: Seeker, t: Seeker) -> float:
    return (
        math.sin((t.lat_rad - s.lat_rad) / 2) ** 2
        + s.cos_lat * t.cos_lat * math.sin((t.lng_rad - s.lng_rad) / 2) ** 2
    )


def compatible(a: Seeker, b: Seeker, distance_km: float) -> bool:
    """Every filter, both ways (docs/contract.md, D12)."""
    return (
        distance_km <= a.max_distance_km
        and distance_km <= b.max_distance_km
        and a.accepts_profile(b)
        and b.accepts_profile(a)
    )


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


# --- the spatial index ----------------------------------------------------------------------------

Best = tuple[float, str, "Seeker"]  # (a, user id, seeker): sorts by distance, then user id


@dataclass(slots=True)
class _Band:
    cos_edge: float  # the cosine of the band's latitude farthest from the equator
    keys: list[tuple[float, str]] = field(default_factory=list)  # (lng, user id), sorted
    items: list[Any] = field(default_factory=list)  # Seeker or Point, in key order


class BandIndex:
    """Points in latitude bands, each sorted by longitude; supports removal and nearest search.

    Pruning uses two lower bounds of `a` between a point at latitude phi1 and one at phi2:
    a >= sin^2(dphi / 2) (rows), and a >= cos^2(phi_max) sin^2(dlng / 2) (longitude within a row).
    """

    def __init__(self, seekers: Iterable[Seeker | Point] = (), band_degrees: float = BAND_DEGREES) -> None:
        self.height = band_degrees
        self.bands: dict[int, _Band] = {}
        for seeker in sorted(seekers, key=lambda s: (s.lng, s.user_id)):
            row = self._row(seeker.lat)
            band = self.bands.get(row)
            if band is None:
                band = self.bands[row] = _Band(self._cos_edge(row))
            band.keys.append((seeker.lng, seeker.user_id))
            band.items.append(seeker)

    def _row(self, lat: float) -> int:
        return math.floor(lat / self.height)

    def __len__(self) -> int:
        return sum(len(b.items) for b in self.bands.values())

    def remove(self, seeker: Seeker) -> None:
        band = self.bands.get(self._row(seeker.lat))
        if band is None:
            return
        key = (seeker.lng, seeker.user_id)
        i = bisect_left(band.keys, key)
        if i < len(band.keys) and band.keys[i] == key:
            del band.keys[i]
            del band.items[i]

    def _rows_within(self, lat: float, limit: list[float]) -> Iterator[int]:
        """Band rows nearest first while they can hold a point within `limit[0]` (an `a`), which
        the caller may lower between rows (the nearest search does as candidates turn up).

        A row `d` degrees of latitude away only holds points with a >= sin^2(d / 2).
        """
        h = self.height
        home = math.floor(lat / h)
        yield home
        seen, reach = -1.0, 0.0
        step, up, down = 1, True, True
        while up or down:
            if up:
                if limit[0] != seen:
                    seen, reach = limit[0], _lat_reach(limit[0])
                row_lo = (home + step) * h
                if row_lo - lat > reach or row_lo > 90:
                    up = False
                else:
                    yield home + step
            if down:
                if limit[0] != seen:
                    seen, reach = limit[0], _lat_reach(limit[0])
                row_hi = (home - step + 1) * h
                if lat - row_hi > reach or row_hi < -90:
                    down = False
                else:
                    yield home - step
            step += 1

    def _cos_edge(self, row: int) -> float:
        edge = max(abs(row * self.height), abs((row + 1) * self.height))
        return max(0.0, math.cos(min(90.0, edge) * _RAD))

    def nearest(
        self, seeker: Seeker, excluded: set[tuple[str, str]], best: Best | None = None
    ) -> Best | None:
        """The compatible (a, user id, seeker) that sorts first, or `best` if none beats it."""
        limit = [best[0] if best is not None else seeker.max_a]
        for row in self._rows_within(seeker.lat, limit):
            band = self.bands.get(row)
            if band is None or not band.items:
                continue
            # The smallest cosine of either point's latitude bounds the longitude term from below.
            best = self._scan_band(band, seeker, excluded, best, min(band.cos_edge, seeker.cos_lat))
            if best is not None:
                limit[0] = best[0]
        return best

    def _scan_band(
        self, band: _Band, seeker: Seeker, excluded: set[tuple[str, str]], best: Best | None, cos_min: float
    ) -> Best | None:
        """Walk east then west from the seeker's longitude (wrapping at 180) until the longitude
        gap alone puts every further point beyond the best candidate so far."""
        items = band.items
        n = len(items)
        start = bisect_left(band.keys, (seeker.lng, ""))
        gap_limit = _gap_limit(best[0] if best is not None else seeker.max_a, cos_min)
        for direction in (1, -1):
            i = start if direction == 1 else start - 1
            for _ in range(n):
                candidate = items[i % n]
                i += direction
                gap = ((candidate.lng - seeker.lng) * direction) % 360
                if gap > gap_limit:
                    break
                found = _better(seeker, candidate, excluded, best)
                if found is not best and found is not None:
                    best = found
                    gap_limit = _gap_limit(best[0], cos_min)
        return best

    def count_within(self, lat: float, lng: float, radius_km: float) -> int:
        """How many indexed points lie within `radius_km` of (lat, lng), the point itself included."""
        centre_lat, centre_lng, cos_lat = lat * _RAD, lng * _RAD, math.cos(lat * _RAD)
        max_a = _a_of_km(radius_km)
        total = 0
        for row in self._rows_within(lat, [max_a]):
            band = self.bands.get(row)
            if band is None or not band.items:
                continue
            edges, sure = self._band_spans(band, row, lat, lng, max_a, cos_lat)
            total += sure
            for s in edges:
                a = (
                    math.sin((s.lat_rad - centre_lat) / 2) ** 2
                    + cos_lat * s.cos_lat * math.sin((s.lng_rad - centre_lng) / 2) ** 2
                )
                if a <= max_a:
                    total += 1
        return total

    def _band_spans(
        self, band: _Band, row: int, lat: float, lng: float, max_a: float, cos_lat: float
    ) -> tuple[list[Any], int]:
        """(points needing an exact check, count of points surely inside) for one band.

        The circle's longitude half-span in the band is bounded from outside with the band's
        nearest latitude and smallest cosine, and from inside with its farthest latitude and
        largest cosine; points between the two spans get the exact test.
        """
        lo, hi = row * self.height, (row + 1) * self.height
        near = 0.0 if lo <= lat <= hi else min(abs(lat - lo), abs(lat - hi))
        far = max(abs(lat - lo), abs(lat - hi))
        cos_poleward = math.cos(min(90.0, max(abs(lo), abs(hi))) * _RAD)
        cos_equatorward = 1.0 if lo <= 0 <= hi else math.cos(min(abs(lo), abs(hi)) * _RAD)
        outer = _half_span(max_a, near, cos_lat * cos_poleward, outer=True)
        if outer is None:
            return [], 0
        if outer >= 180 or lng - outer < -180 or lng + outer > 180:
            return band.items, 0  # polar or across the antimeridian: check them all
        keys = band.keys
        left, right = bisect_left(keys, (lng - outer, "")), bisect_right(keys, (lng + outer, "\U0010ffff"))
        inner = _half_span(max_a, far, cos_lat * cos_equatorward, outer=False) or 0.0
        if inner <= 0:
            return band.items[left:right], 0
        in_left = max(left, bisect_left(keys, (lng - inner, "")))
        in_right = min(right, bisect_right(keys, (lng + inner, "\U0010ffff")))
        return band.items[left:in_left] + band.items[in_right:right], in_right - in_left


def _lat_reach(bound_a: float) -> float:
    """The latitude gap (degrees) past which `a` must exceed `bound_a`."""
    return 2 * math.asin(min(1.0, math.sqrt(bound_a))) / _RAD * (1 + 1e-9) + 1e-12


def _gap_limit(bound_a: float, cos_min: float) -> float:
    """The longitude gap (degrees, at most 180) past which `a` must exceed `bound_a`."""
    if cos_min <= 0:
        return 180.0
    ratio = math.sqrt(bound_a) / cos_min
    if ratio >= 1:
        return 180.0
    return 2 * math.asin(ratio) / _RAD * (1 + 1e-9) + 1e-12


def _half_span(max_a: float, d_lat_degrees: float, cos_product: float, *, outer: bool) -> float | None:
    """Longitude half-span (degrees) of {a <= max_a} at latitude distance `d_lat_degrees`.

    None when the circle misses the latitude (outer bound only). The outer bound is nudged out and
    the inner one in, against float rounding.
    """
    room = max_a - math.sin(d_lat_degrees * _RAD / 2) ** 2
    if room < 0:
        return None if outer else 0.0
    if cos_product <= 1e-12:
        return 180.0 if outer else 0.0
    ratio = room / cos_product
    if ratio >= 1:
        return 180.0 if outer else 0.0
    span = 2 * math.asin(math.sqrt(ratio)) / _RAD
    return span * (1 + 1e-9) + 1e-12 if outer else max(0.0, span * (1 - 1e-9) - 1e-12)


def _better(
    seeker: Seeker, candidate: Seeker, excluded: set[tuple[str, str]], best: Best | None
) -> Best | None:
    if candidate.user_id == seeker.user_id or not (
        seeker.accepts_profile(candidate) and candidate.accepts_profile(seeker)
    ):
        return best
    a = _a(seeker, candidate)
    if a > seeker.max_a or a > candidate.max_a:
        return best
    if best is not None and (a, candidate.user_id) >= (best[0], best[1]):
        return best
    if pair_key(seeker.user_id, candidate.user_id) in excluded:
        return best
    return (a, candidate.user_id, candidate)


# --- one run --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pairing:
    initiator: Seeker
    candidate: Seeker
    distance_km: float


@dataclass(slots=True)
class Plan:
    pairings: list[Pairing]
    unmatched: list[Seeker]  # initiators for whom nobody was available


class Pool:
    """The waiting sessions of one run, indexed per (gender, seeking) class.

    Splitting by class means an initiator only walks candidates of a gender it seeks and who seek
    its gender (or anyone); age, distance limits and exclusions are checked per candidate.
    """

    def __init__(self, seekers: Iterable[Seeker]) -> None:
        groups: dict[tuple[str | None, str], list[Seeker]] = {}
        for seeker in seekers:
            groups.setdefault((seeker.gender, seeker.seeking), []).append(seeker)
        self.indexes = {key: BandIndex(members) for key, members in groups.items()}

    def _classes_for(self, seeker: Seeker) -> list[BandIndex]:
        wanted_seeking = {ANY} | ({seeker.gender} if seeker.gender else set())
        return [
            index
            for (gender, seeking), index in self.indexes.items()
            if (seeker.seeking == ANY or gender == seeker.seeking) and seeking in wanted_seeking
        ]

    def nearest(self, seeker: Seeker, excluded: set[tuple[str, str]]) -> Best | None:
        best: Best | None = None
        for index in self._classes_for(seeker):
            best = index.nearest(seeker, excluded, best)
        return best

    def remove(self, seeker: Seeker) -> None:
        self.indexes[(seeker.gender, seeker.seeking)].remove(seeker)


def plan(initiators: Iterable[Seeker], pool: Iterable[Seeker], excluded: set[tuple[str, str]]) -> Plan:
    """Pair each initiator, longest waiting first, with its nearest compatible free candidate.

    `pool` holds every waiting session that may be chosen (initiators included). An initiator
    that finds nobody leaves the pool too: compatibility is symmetric, so no later initiator could
    have been chosen by it, and nobody later can choose it.
    """
    index = Pool(pool)
    taken: set[str] = set()
    pairings: list[Pairing] = []
    unmatched: list[Seeker] = []
    for seeker in sorted(initiators, key=lambda s: (s.started_at, s.user_id)):
        if seeker.user_id in taken:
            continue
        found = index.nearest(seeker, excluded)
        index.remove(seeker)
        if found is None:
            unmatched.append(seeker)
            continue
        a, _, candidate = found
        pairings.append(Pairing(seeker, candidate, _km_of_a(a)))
        taken.update((seeker.user_id, candidate.user_id))
        index.remove(candidate)
    return Plan(pairings, unmatched)
