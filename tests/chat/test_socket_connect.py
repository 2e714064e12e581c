"""The Socket.IO handshake, judged by the official socket.io-client against a real Daphne."""

from __future__ import annotations

import pytest

from tests.support.sockets import daphne_server, make_user
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_valid_token_connects_with_a_socket_id(daphne, js):
    user = make_user()

    result = js.connect("a", daphne.base_url, token=mint_token(user))

    assert result["connected"] is True
    assert isinstance(result["id"], str) and len(result["id"]) == 20
    assert js.state("a") == {"connected": True, "id": result["id"], "active": True}


def test_no_auth_object_is_token_required(daphne, js):
    assert js.connect("a", daphne.base_url) == {
        "connected": False,
        "error": "Authentication token required",
        "data": None,
    }


@pytest.mark.parametrize("auth", [{}, {"token": ""}, {"token": None}, {"token": 0}, {"token": False}])
def test_missing_or_empty_token_is_token_required(daphne, js, auth):
    result = js.connect("a", daphne.base_url, auth=auth)

    assert result == {"connected": False, "error": "Authentication token required", "data": None}


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b.c", 12345, {"nested": "object"}],
)
def test_bad_token_is_invalid(daphne, js, token):
    result = js.connect("a", daphne.base_url, auth={"token": token})

    assert result == {"connected": False, "error": "Invalid authentication token", "data": None}


def test_token_signed_with_another_secret_is_invalid(daphne, js):
    import jwt

    token = jwt.encode(
        {"userId": "someone", "exp": 9999999999}, "another-secret-of-at-least-32-bytes", algorithm="HS256"
    )

    assert js.connect("a", daphne.base_url, token=token)["error"] == "Invalid authentication token"


def test_expired_token_is_token_expired(daphne, js):
    user = make_user()
    expired = mint_token(user, iat=1_000_000, exp=1_000_060)

    result = js.connect("a", daphne.base_url, token=expired)

    assert result == {"connected": False, "error": "Token expired", "data": None}


def test_token_without_user_id_is_invalid(daphne, js):
    import jwt
    from django.conf import settings

    token = jwt.encode(
        {"sub": "x", "provider": "email", "exp": 9999999999}, settings.JWT_SECRET, algorithm="HS256"
    )

    assert js.connect("a", daphne.base_url, token=token)["error"] == "Invalid authentication token"


def test_token_in_query_string_is_not_read(daphne, js):
    user = make_user()

    result = js.connect("a", daphne.base_url, query={"token": mint_token(user)})

    assert result["error"] == "Authentication token required"


def test_missing_jwt_secret_is_server_configuration_error(js):
    with daphne_server(DJANGO_SETTINGS_MODULE="tests.chat.settings_without_jwt_secret") as server:
        assert js.connect("a", server.base_url, auth={"token": "x.y.z"}) == {
            "connected": False,
            "error": "Server configuration error",
            "data": None,
        }
        assert js.connect("b", server.base_url, auth={})["error"] == "Authentication token required"


def test_connect_error_sends_nothing_else_and_a_retry_with_a_good_token_connects(daphne, js):
    user = make_user()

    assert js.connect("a", daphne.base_url, auth={"token": "bad"})["connected"] is False
    assert js.connect("a", daphne.base_url, token=mint_token(user))["connected"] is True
    assert js.received("a") == []


def test_token_without_exp_is_invalid(daphne, js):
    """auth-service always sets `exp`; a token without one would never expire."""
    import jwt
    from django.conf import settings

    token = jwt.encode({"userId": make_user(), "provider": "email"}, settings.JWT_SECRET, algorithm="HS256")

    assert js.connect("a", daphne.base_url, token=token) == {
        "connected": False,
        "error": "Invalid authentication token",
        "data": None,
    }


def test_a_socket_is_closed_when_its_token_expires_and_reconnects_with_a_fresh_one(daphne, js):
    """At `exp` the server closes the WebSocket (1000, no Socket.IO DISCONNECT packet), so the
    official client reports `transport close` and reconnects by itself: an app that reads its
    current token at each connection is back at once; one that sends the stale token again is
    refused with `Token expired` (its cue to refresh)."""
    user = make_user()
    short, fresh = mint_token(user, expires_in=2), mint_token(user)
    fast = {
        "reconnection": True,
        "reconnectionDelay": 50,
        "reconnectionDelayMax": 50,
        "randomizationFactor": 0,
    }

    first = js.connect("app", daphne.base_url, tokens=[short, fresh], **fast)
    stale = js.connect("stale", daphne.base_url, token=short, **fast)
    assert first["connected"] is True and stale["connected"] is True

    for name in ("app", "stale"):
        closed = js.wait_disconnect(name)
        assert (closed["reason"], closed["code"]) == ("transport close", 1000)
    assert js.wait_note("app", "connect", count=2)[1]["sid"] != first["id"]
    assert list(js.emit("app", "ping")) == ["timestamp"]  # the reconnected socket is served
    refused = js.wait_note("stale", "connect_error")[0]
    assert (refused["message"], refused["data"]) == ("Token expired", None)
    assert js.state("stale")["connected"] is False
