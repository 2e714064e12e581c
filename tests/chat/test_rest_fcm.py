"""REST push token registration (docs/contract.md, "Push tokens")."""

from __future__ import annotations

import pytest

from profiles.models import FcmToken
from tests.chat.rest_support import Api, make_user

pytestmark = pytest.mark.django_db


def test_register_then_reregister_updates_the_same_row(client):
    me = make_user()
    api = Api(client, me)
    ok = (200, {"success": True, "message": "FCM token registered successfully"})
    assert api.post("/fcm/register", {"token": "tok-1", "deviceType": "ios", "deviceId": "iphone"}) == ok
    FcmToken.objects.update(is_active=False)
    assert api.post("/fcm/register", {"token": "tok-1", "deviceType": "android"}) == ok
    row = FcmToken.objects.get()
    assert (row.user_id, row.token, row.device_type, row.device_id, row.is_active) == (
        me,
        "tok-1",
        "android",
        None,
        True,
    )


def test_the_same_device_token_can_belong_to_two_accounts(client):
    a, b = make_user(), make_user()
    Api(client, a).post("/fcm/register", {"token": "shared", "deviceType": "web"})
    Api(client, b).post("/fcm/register", {"token": "shared", "deviceType": "web"})
    assert set(FcmToken.objects.values_list("user_id", "token")) == {(a, "shared"), (b, "shared")}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "token and deviceType are required"),
        ({"token": "t"}, "token and deviceType are required"),
        ({"deviceType": "ios"}, "token and deviceType are required"),
        ({"token": "t", "deviceType": "windows"}, "deviceType must be ios, android, or web"),
        ({"token": 12, "deviceType": "ios"}, "token must be a string"),
        ({"token": "t", "deviceType": "ios", "deviceId": 5}, "deviceId must be a string"),
    ],
)
def test_register_errors(client, body, error):
    me = make_user()
    assert Api(client, me).post("/fcm/register", body) == (400, {"success": False, "error": error})
    assert FcmToken.objects.count() == 0


def test_register_for_a_user_that_no_longer_exists_is_404(client):
    assert Api(client, "google_deleted").post("/fcm/register", {"token": "t", "deviceType": "ios"}) == (
        404,
        {"success": False, "error": "User not found"},
    )


def test_unregister_deactivates_only_my_token(client):
    me, other = make_user(), make_user()
    FcmToken.objects.create(user_id=me, token="tok", device_type="ios")
    FcmToken.objects.create(user_id=other, token="tok", device_type="ios")
    ok = (200, {"success": True, "message": "FCM token unregistered successfully"})
    assert Api(client, me).post("/fcm/unregister", {"token": "tok"}) == ok
    assert dict(FcmToken.objects.values_list("user_id", "is_active")) == {me: False, other: True}
    # Unknown tokens succeed too.
    assert Api(client, me).post("/fcm/unregister", {"token": "never-registered"}) == ok


def test_unregister_errors(client):
    api = Api(client, make_user())
    assert api.post("/fcm/unregister", {}) == (400, {"success": False, "error": "token is required"})
    assert api.post("/fcm/unregister", {"token": ["x"]}) == (
        400,
        {"success": False, "error": "token must be a string"},
    )


def test_fcm_routes_need_a_token(client):
    assert Api(client).post(
        "/fcm/register", {"token": "t", "deviceType": "ios"}, headers={"Authorization": "Bearer nope"}
    ) == (
        401,
        {"success": False, "error": "Invalid token"},
    )
