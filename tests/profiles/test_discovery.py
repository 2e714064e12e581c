"""GET /profiles/discover and POST /profiles/search/count on seeded data with known distances.

Everyone sits on the equator. Distances are measured between the centres of the grid cells of
profiles.location (0.015 degrees) and reported in whole kilometres, at least 1: a profile at
longitude 0.1 is 10 km from the caller at (0, 0), 0.5 is 55, 1.0 is 110, 2.0 is 222.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from profiles.location import cell_centre
from profiles.models import Block, Profile
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db


def km(longitude: float) -> int:
    """The reported distance from the caller's cell to the cell at (0, longitude)."""
    (lat1, lon1), (lat2, lon2) = cell_centre(0.0, 0.0), cell_centre(0.0, longitude)
    cos_angle = math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.cos(
        math.radians(lon2) - math.radians(lon1)
    ) + math.sin(math.radians(lat1)) * math.sin(math.radians(lat2))
    return max(1, math.floor(6371 * math.acos(min(1.0, cos_angle)) + 0.5))


def test_reported_distances_are_whole_kilometres_between_cells():
    assert [km(lon) for lon in (0.0, 0.01, 0.1, 0.5, 1.0, 2.0)] == [1, 1, 10, 55, 110, 222]


def seed(
    user_id: str, longitude: float | None, *, new: bool = False, latitude: float = 0.0, **fields
) -> None:
    coords: dict[str, Any] = {} if longitude is None else {"latitude": latitude, "longitude": longitude}
    make_user(user_id, **coords, **fields)
    if not new:
        Profile.objects.filter(pk=user_id).update(created_at=timezone.now() - timedelta(days=3))


def me(**fields) -> None:
    seed("me", 0.0, **fields)


def discover(api, query: str = ""):
    response = api("me").get(f"/profiles/discover{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_order_new_users_first_then_distance(api):
    me()
    for uid, lon in (("far", 0.6), ("near", 0.1), ("mid", 0.3), ("mid2", 0.4), ("edge", 0.8)):
        seed(uid, lon)
    seed("fresh", 0.7, new=True)
    seed("outside", 1.0)

    body = discover(api, "?maxDistance=100")

    assert body["expandedSearch"] is False
    assert [(p["userId"], p["distance"], p["isNewUser"]) for p in body["profiles"]] == [
        ("fresh", km(0.7), True),
        ("near", km(0.1), False),
        ("mid", km(0.3), False),
        ("mid2", km(0.4), False),
        ("far", km(0.6), False),
        ("edge", km(0.8), False),
    ]
    assert body["profiles"][1] == {
        "userId": "near",
        "name": "Near",
        "age": 30,
        "bio": None,
        "photos": [],
        "interests": [],
        "isNewUser": False,
        "isVerified": False,
        "distance": 10,
    }


def test_radius_expands_to_200_km_below_five_results(api):
    me()
    seed("a", 0.05)
    seed("b", 0.5)
    seed("c", 1.0)
    seed("d", 1.5)
    seed("too_far", 2.0)

    body = discover(api, "?maxDistance=10")

    assert body["expandedSearch"] is True
    assert [(p["userId"], p["distance"], p.get("expandedSearch")) for p in body["profiles"]] == [
        ("a", km(0.05), None),
        ("b", km(0.5), True),
        ("c", km(1.0), True),
        ("d", km(1.5), True),
    ]


def test_no_expansion_at_or_past_200_km_or_with_enough_results(api):
    me()
    seed("a", 0.05)
    assert discover(api, "?maxDistance=200")["expandedSearch"] is False
    for n in range(5):
        seed(f"n{n}", 0.01 * (n + 1))
    body = discover(api, "?maxDistance=10")
    assert body["expandedSearch"] is False
    assert len(body["profiles"]) == 6


def test_identical_coordinates_give_one_kilometre(api):
    # For this point the unclamped acos argument is 1.0000000000000002: PostgreSQL raised
    # "input is out of range" in the original (docs/contract.md, D11).
    seed("me", 25.01105393, latitude=47.13762075)
    seed("twin", 25.01105393, latitude=47.13762075)
    seed("twin2", 25.01105393, latitude=47.13762075)
    body = discover(api, "?maxDistance=5")
    assert sorted((p["userId"], p["distance"]) for p in body["profiles"]) == [("twin", 1), ("twin2", 1)]


def test_without_distance_order_is_new_first_and_null_locations_included(api):
    me()
    seed("old1", None)
    seed("old2", 5.0)
    seed("new1", None, new=True)
    seed("new2", 100.0, new=True)

    profiles = discover(api)["profiles"]

    assert {p["userId"] for p in profiles[:2]} == {"new1", "new2"}
    assert {p["userId"] for p in profiles[2:]} == {"old1", "old2"}
    assert all("distance" not in p for p in profiles)


def test_caller_without_location_drops_the_distance_filter(api):
    seed("me", None)
    seed("far", 50.0)
    seed("nowhere", None)
    body = discover(api, "?maxDistance=10")
    assert body["expandedSearch"] is False
    assert sorted(p["userId"] for p in body["profiles"]) == ["far", "nowhere"]
    assert all("distance" not in p for p in body["profiles"])


def test_filters(api):
    me()
    seed("young", 0.1, age=20, interests=["chess"])
    seed("old", 0.1, age=60, interests=["golf", "chess"])
    seed("mid", 0.1, age=35, interests=["golf"], is_verified=True)
    seed("skip", 0.1, age=35, interests=["golf"])

    def ids(query):
        return sorted(p["userId"] for p in discover(api, query)["profiles"])

    assert ids("") == ["mid", "old", "skip", "young"]
    assert ids("?minAge=30&maxAge=40") == ["mid", "skip"]
    assert ids("?interests=chess,tennis") == ["old", "young"]
    assert ids("?exclude=skip,young") == ["mid", "old"]
    assert ids("?verifiedOnly=true") == ["mid"]
    assert ids("?verifiedOnly=yes") == ["mid", "old", "skip", "young"]
    assert ids("?minAge=&maxAge=") == ["mid", "old", "skip", "young"]


def test_blocks_exclude_both_directions(api):
    me()
    seed("i_blocked", 0.1)
    seed("blocked_me", 0.1)
    seed("friend", 0.1)
    Block.objects.create(user_id="me", blocked_user_id="i_blocked")
    Block.objects.create(user_id="blocked_me", blocked_user_id="me")
    assert [p["userId"] for p in discover(api)["profiles"]] == ["friend"]
    assert [p["userId"] for p in discover(api, "?maxDistance=50")["profiles"]] == ["friend"]


def test_limit_is_twenty(api):
    me()
    for n in range(25):
        seed(f"u{n:02d}", 0.01)
    assert len(discover(api)["profiles"]) == 20
    assert len(discover(api, "?maxDistance=50")["profiles"]) == 20


def test_unparseable_numbers_are_400(api):
    me()
    response = api("me").get("/profiles/discover?minAge=abc&maxDistance=far")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": [
            {"field": "minAge", "message": "minAge must be a number"},
            {"field": "maxDistance", "message": "maxDistance must be a number"},
        ],
    }


def test_parse_int_semantics_for_ages(api):
    me()
    seed("a25", 0.1, age=25)
    seed("a40", 0.1, age=40)
    assert [p["userId"] for p in discover(api, "?minAge=30.9")["profiles"]] == ["a40"]


def test_search_count_converts_miles(api):
    me()
    seed("near", 0.5, gender="Female", sexual_preference="Straight", intent="Dating")  # 55.6 km = 34.5 mi
    seed("far", 1.0, gender="Female", sexual_preference="Gay", intent="Chat")  # 111.2 km = 69.1 mi
    seed("man", 0.2, gender="Male", sexual_preference="Straight", intent="Dating")
    seed("blocked", 0.1, gender="Female")
    Block.objects.create(user_id="blocked", blocked_user_id="me")

    def count(body):
        response = api("me").post("/profiles/search/count", body)
        assert response.status_code == 200
        assert set(response.json()) == {"success", "count"}
        return response.json()["count"]

    assert count({}) == 3
    assert count({"maxDistance": 50}) == 2
    assert count({"maxDistance": 70}) == 3
    assert count({"maxDistance": 60}) == 2
    assert count({"genders": ["Female"]}) == 2
    assert count({"genders": ["Female"], "maxDistance": 50}) == 1
    assert count({"sexualPreferences": ["Straight"], "intents": ["Dating"]}) == 2
    assert count({"intents": ["Chat", "Dating"]}) == 3
    assert count({"genders": []}) == 3


def test_search_count_without_location_ignores_distance(api):
    seed("me", None)
    seed("x", 10.0)
    response = api("me").post("/profiles/search/count", {"maxDistance": 1})
    assert response.json() == {"success": True, "count": 1}


def test_search_count_bad_types_are_400(api):
    me()
    response = api("me").post("/profiles/search/count", {"maxDistance": "lots", "genders": [1, 2]})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": [
            {"field": "maxDistance", "message": "maxDistance must be a number"},
            {"field": "genders", "message": "genders must be an array of strings"},
        ],
    }
