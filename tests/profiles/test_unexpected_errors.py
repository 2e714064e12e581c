"""An unexpected failure answers the original's endpoint-specific 500 message (and is logged)."""

from __future__ import annotations

import pytest

from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db


def boom(*args, **kwargs):
    raise RuntimeError("database went away")


@pytest.mark.parametrize(
    ("target", "method", "path", "body", "message"),
    [
        (
            "profiles.views.profiles.profile_create",
            "post",
            "/profile",
            {"name": "Al", "age": 30},
            "Failed to save profile",
        ),
        ("profiles.views.profiles.profile_get", "get", "/profile/alice", None, "Failed to retrieve profile"),
        (
            "profiles.views.profiles.profile_update",
            "put",
            "/profile/alice",
            {"bio": "x"},
            "Failed to update profile",
        ),
        (
            "profiles.views.profiles.profile_delete",
            "delete",
            "/profile/alice",
            None,
            "Failed to delete profile",
        ),
        (
            "profiles.views.profiles.profile_set_location",
            "put",
            "/profile/alice/location",
            {"latitude": 1, "longitude": 2},
            "Failed to update location",
        ),
        ("profiles.views.photos.photo_delete", "delete", "/profile/photos/x", None, "Failed to delete photo"),
        (
            "profiles.views.photos.photos_reorder",
            "put",
            "/profile/photos/reorder",
            {"photos": []},
            "Failed to reorder photos",
        ),
        (
            "profiles.views.verification.random_prompt",
            "get",
            "/verification/prompt",
            None,
            "Failed to get verification prompt",
        ),
        (
            "profiles.views.verification.verification_state",
            "get",
            "/verification/status",
            None,
            "Failed to get verification status",
        ),
        (
            "profiles.views.discovery.discover",
            "get",
            "/profiles/discover",
            None,
            "Failed to retrieve profiles",
        ),
        ("profiles.views.discovery.search_count", "post", "/profiles/search/count", {}, "Failed to search"),
        (
            "profiles.views.swipes.swipe_record",
            "post",
            "/swipes",
            {"targetUserId": "bob", "action": "like"},
            "Failed to record swipe",
        ),
        (
            "profiles.views.swipes.likes_received",
            "get",
            "/swipes/received",
            None,
            "Failed to get received likes",
        ),
        ("profiles.views.swipes.likes_sent", "get", "/swipes/sent", None, "Failed to get sent likes"),
    ],
)
def test_unexpected_errors_use_the_endpoint_message(
    api, monkeypatch, caplog, target, method, path, body, message
):
    make_user("alice")
    monkeypatch.setattr(target, boom)
    client = api("alice")
    response = client.request(method.upper(), path, body)
    assert (response.status_code, response.json()) == (500, {"success": False, "error": message})
    assert message in caplog.text
    assert "database went away" in caplog.text
