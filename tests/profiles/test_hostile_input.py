"""Odd input is a 4xx JSON answer, never a 500: NUL bytes, wrong types, huge numbers
(docs/contract.md, D1)."""

from __future__ import annotations

import pytest

from profiles.models import Profile, Swipe
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

NUL = "a\x00b"


def test_hostile_inputs_get_client_errors(api):
    make_user("alice")
    client = api("alice")
    responses = [
        client.put("/profile/alice", {"bio": NUL}),
        client.put("/profile/alice", {"interests": [NUL]}),
        client.put("/profile/alice", {"photos": [f"https://x.example.com/{NUL}"]}),
        client.put("/profile/alice", {"name": {"a": 1}, "age": [30], "bio": {"x": 1}}),
        client.put("/profile/alice", {"age": "99999999999999999999999"}),
        client.get("/profile/a%00b"),
        client.delete("/profile/a%00b"),
        client.get("/profiles/discover?interests=a%00b"),
        client.get("/profiles/discover?exclude=a%00b"),
        client.post("/profiles/search/count", {"genders": [NUL], "maxDistance": {"x": 1}}),
        client.post("/swipes", {"targetUserId": NUL, "action": "like"}),
        client.post("/swipes", {"targetUserId": {"id": "bob"}, "action": "like"}),
        client.put("/profile/photos/reorder", {"photos": [NUL, None, {"a": 1}]}),
        client.delete("/profile/photos/a%00b"),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, (response.status_code, response.content)
        assert response.json()["success"] is False
    huge = client.get("/profiles/discover?minAge=99999999999999999999999&maxDistance=1e999")
    assert huge.json() == {"success": True, "profiles": [], "expandedSearch": False}
    assert Profile.objects.get(pk="alice").bio is None
    assert not Swipe.objects.exists()


def test_nul_bio_reports_a_field_error(api):
    make_user("alice")
    response = api("alice").put("/profile/alice", {"bio": NUL, "interests": ["ok", NUL]})
    assert response.json() == {
        "success": False,
        "errors": [
            {"field": "bio", "message": "Bio contains invalid characters"},
            {"field": "interests[1]", "message": "Each interest contains invalid characters"},
        ],
    }
