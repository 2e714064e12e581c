"""Query counts pinned on the hot paths (the benchmarked routes)."""

from __future__ import annotations

import pytest

from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db


def test_profile_read_is_one_query(api, django_assert_num_queries):
    make_user("alice", photos=["photos/alice/a.jpg"])
    client = api("alice")
    with django_assert_num_queries(1):
        assert client.get("/profile/alice").status_code == 200


def test_discovery_queries(api, django_assert_num_queries):
    make_user("me", latitude=0, longitude=0)
    for n in range(6):
        make_user(f"u{n}", latitude=0, longitude=0.01 * n)
    client = api("me")
    with django_assert_num_queries(1):  # no distance: the caller's location is not even read
        assert len(client.get("/profiles/discover").json()["profiles"]) == 6
    with django_assert_num_queries(2):  # location + one query (no COUNT)
        assert len(client.get("/profiles/discover?maxDistance=50").json()["profiles"]) == 6
    with django_assert_num_queries(3):  # location + query + the 200 km expansion
        assert client.get("/profiles/discover?maxDistance=0.5").json()["expandedSearch"] is True


def test_swipe_queries(api, django_assert_num_queries):
    make_user("alice")
    make_user("bob")
    # savepoint, visibility check with the pair lock, upsert with the reverse-like check, release
    with django_assert_num_queries(4):
        assert api("alice").post("/swipes", {"targetUserId": "bob", "action": "like"}).status_code == 200
    with django_assert_num_queries(4):
        assert api("alice").post("/swipes", {"targetUserId": "bob", "action": "pass"}).status_code == 200
