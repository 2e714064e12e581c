"""Nobody can be located through discovery: the trilateration attack replayed (three location
changes, three discover calls) gives identical answers for victims anywhere in a grid cell, and
location updates are limited in frequency and jump (profiles.location, docs/security.md)."""

from __future__ import annotations

import math
from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone

from profiles.location import CELL_DEGREES, cell_centre
from profiles.models import Profile
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

BERLIN = (52.52, 13.405)
# The attacker's three vantage points, 3-6 km from the victim in three directions.
VANTAGE = [(52.55, 13.405), (52.52, 13.48), (52.49, 13.36)]


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def victims_in_one_cell() -> list[tuple[float, float]]:
    """The centre and the four corners (10 m inside) of the cell Berlin's centre is in."""
    lat, lon = cell_centre(*BERLIN)
    half_lat, half_lon = CELL_DEGREES / 2, CELL_DEGREES / math.cos(math.radians(lat)) / 2
    inset_lat, inset_lon = 0.0001, 0.0001 / math.cos(math.radians(lat))
    corners = [
        (lat + sy * (half_lat - inset_lat), lon + sx * (half_lon - inset_lon))
        for sy, sx in product((-1, 1), repeat=2)
    ]
    return [(lat, lon), *corners]


def move(api, user_id: str, point: tuple[float, float]) -> None:
    # The patient attacker: waits out the limits between moves (the clock moved back in the row).
    Profile.objects.filter(pk=user_id).update(location_updated_at=timezone.now() - timedelta(minutes=16))
    response = api(user_id).put(f"/profile/{user_id}/location", {"latitude": point[0], "longitude": point[1]})
    assert response.status_code == 200, response.content


def attack(api, victim: tuple[float, float]) -> list[int]:
    """Three location changes and three discover calls: the distances the attacker learns."""
    Profile.objects.filter(pk="victim").update(latitude=victim[0], longitude=victim[1])
    observed = []
    for point in VANTAGE:
        move(api, "attacker", point)
        profiles = api("attacker").get("/profiles/discover?maxDistance=50").json()["profiles"]
        [found] = [p for p in profiles if p["userId"] == "victim"]
        observed.append(found["distance"])
    return observed


def trilaterate(observed: list[int]) -> tuple[float, float]:
    """The attacker's best estimate: the point of a 50 m grid (6 km square) that fits best."""
    best, best_error = VANTAGE[0], math.inf
    for i, j in product(range(-60, 61), repeat=2):
        candidate = (BERLIN[0] + i * 0.00045, BERLIN[1] + j * 0.00074)
        error = sum((haversine_km(candidate, v) - d) ** 2 for v, d in zip(VANTAGE, observed, strict=True))
        if error < best_error:
            best, best_error = candidate, error
    return best


def test_trilateration_cannot_place_anyone_closer_than_one_kilometre(api):
    make_user("victim")
    make_user("attacker")
    victims = victims_in_one_cell()
    assert min(haversine_km(a, b) for a, b in ((victims[1], victims[4]), (victims[2], victims[3]))) > 2.0

    answers = [attack(api, victim) for victim in victims]

    # Five positions up to 2.3 km apart give the attacker the very same answers...
    assert answers == [answers[0]] * len(victims)
    assert all(isinstance(d, int) and d >= 1 for d in answers[0])
    # ...so whatever the estimate, some of them are more than 1 km from it.
    estimate = trilaterate(answers[0])
    assert max(haversine_km(estimate, victim) for victim in victims) > 1.0
    assert min(haversine_km(estimate, victim) for victim in victims) > 0.0


LIMITED = "Location updated too often or moved too far too quickly, please try again later"


def put_location(api, point: tuple[float, float]):
    return api("alice").put("/profile/alice/location", {"latitude": point[0], "longitude": point[1]})


def backdate(minutes: float) -> None:
    Profile.objects.filter(pk="alice").update(location_updated_at=timezone.now() - timedelta(minutes=minutes))


def stored() -> tuple[float, float]:
    row = Profile.objects.get(pk="alice")
    assert row.latitude is not None and row.longitude is not None
    return float(row.latitude), float(row.longitude)


def test_location_moves_are_limited_in_frequency_and_jump(api):
    make_user("alice")
    assert put_location(api, BERLIN).status_code == 200  # the first location is free

    again = put_location(api, BERLIN)  # at most one a minute, even in place
    assert (again.status_code, again.json()) == (429, {"success": False, "error": LIMITED})
    assert 0 < int(again["Retry-After"]) <= 60

    backdate(1.1)
    assert put_location(api, (52.529, 13.405)).status_code == 200  # 1 km: GPS noise, walking

    backdate(2)
    hamburg = (53.55, 9.99)  # 255 km in 2 minutes: not by road or rail
    jump = put_location(api, hamburg)
    assert (jump.status_code, jump.json()) == (429, {"success": False, "error": LIMITED})
    assert 770 <= int(jump["Retry-After"]) <= 780  # until 15 minutes after the last update
    assert stored() == (52.529, 13.405)

    backdate(10)
    assert put_location(api, (52.7, 13.405)).status_code == 200  # 19 km in 10 minutes: a train

    backdate(15)
    assert put_location(api, hamburg).status_code == 200  # after 15 minutes, anywhere (a flight)
    assert stored() == hamburg
