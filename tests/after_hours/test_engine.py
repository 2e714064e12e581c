"""The in-memory matching engine against a brute-force reference (every pair compared)."""

from __future__ import annotations

import copy
import random
import uuid

import pytest

from profiles.after_hours.matching import (
    BandIndex,
    Point,
    Seeker,
    compatible,
    haversine_km,
    pair_key,
    plan,
)

GENDERS = ["male", "female", "non-binary", None]
SEEKING = ["any", "male", "female", "non-binary"]


def _seeker(rng: random.Random, i: int, lat0: float, lng0: float, spread: float) -> Seeker:
    lng = round(lng0 + rng.uniform(-spread * 1.6, spread * 1.6), 3)
    lng = lng - 360 if lng > 180 else lng + 360 if lng < -180 else lng
    return Seeker(
        session_id=str(uuid.uuid4()),
        user_id=f"u{i:05d}",
        lat=round(max(-90.0, min(90.0, lat0 + rng.uniform(-spread, spread))), 3),
        lng=lng,
        started_at=1.7e9 + rng.randint(0, 500),
        gender=rng.choice(GENDERS),
        age=rng.choice([None, *range(18, 60)]),
        seeking=rng.choice(SEEKING),
        max_distance_km=rng.choice([1, 2, 5, 10, 50, 200]),
        min_age=rng.randint(18, 30),
        max_age=rng.randint(30, 99),
    )


def _reference(initiators, pool, excluded):
    taken: set[str] = set()
    pairs, unmatched = [], []
    for s in sorted(initiators, key=lambda s: (s.started_at, s.user_id)):
        if s.user_id in taken:
            continue
        best = None
        for c in pool:
            if c.user_id == s.user_id or c.user_id in taken or pair_key(s.user_id, c.user_id) in excluded:
                continue
            d = haversine_km(s.lat, s.lng, c.lat, c.lng)
            if compatible(s, c, d) and (best is None or (d, c.user_id) < best):
                best = (d, c.user_id)
        if best is None:
            unmatched.append(s.user_id)
        else:
            pairs.append((s.user_id, best[1]))
            taken.update((s.user_id, best[1]))
    return pairs, unmatched


PLACES = [(52.52, 13.40), (0.0, 179.95), (-33.9, -179.97), (78.2, 15.6), (89.99, 0.0)]


@pytest.mark.parametrize("seed", range(24))
def test_plan_equals_the_brute_force_reference(seed):
    rng = random.Random(seed)
    lat0, lng0 = PLACES[seed % len(PLACES)]
    pool = [
        _seeker(rng, i, lat0, lng0, rng.choice([0.01, 0.1, 1.0])) for i in range(rng.choice([3, 40, 250]))
    ]
    excluded = {pair_key(rng.choice(pool).user_id, rng.choice(pool).user_id) for _ in range(len(pool) // 4)}
    # Event-driven runs load their initiators separately: equal users, distinct objects.
    initiators = pool if seed % 2 else [copy.copy(s) for s in pool[: len(pool) // 3 + 1]]
    result = plan(initiators, pool, excluded)
    got = (
        [(p.initiator.user_id, p.candidate.user_id) for p in result.pairings],
        [s.user_id for s in result.unmatched],
    )
    assert got == _reference(initiators, pool, excluded)


@pytest.mark.parametrize("seed", range(12))
def test_count_within_equals_counting_every_point(seed):
    rng = random.Random(100 + seed)
    lat0, lng0 = PLACES[seed % len(PLACES)]
    points = [Point(s.user_id, s.lat, s.lng) for s in (_seeker(rng, i, lat0, lng0, 0.2) for i in range(300))]
    index = BandIndex(points)
    for centre in points[:40]:
        radius = rng.choice([0.3, 1, 5, 10, 50, 200])
        expected = sum(1 for p in points if haversine_km(centre.lat, centre.lng, p.lat, p.lng) <= radius)
        assert index.count_within(centre.lat, centre.lng, radius) == expected


def test_distance_is_the_originals_haversine():
    assert round(haversine_km(40.7128, -74.006, 34.0522, -118.2437), 3) == 3935.746
    assert haversine_km(10.0, 10.0, 10.0, 10.0) == 0.0
