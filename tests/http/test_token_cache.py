"""Access tokens are verified once and then only checked against the clock (vlvt.http.auth)."""

from __future__ import annotations

import time

import jwt
import pytest
from django.test import override_settings

from vlvt.http import auth
from vlvt.http.auth import TokenError, decode_token, mint_token


@pytest.fixture
def verifications(monkeypatch):
    calls: list[str] = []
    real = jwt.decode

    def counting(token, *args, **kwargs):
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    auth._verify.cache_clear()
    yield calls
    auth._verify.cache_clear()


def test_a_token_is_verified_once(verifications):
    token = mint_token("user_cached", email="a@b.c")

    first, second = decode_token(token), decode_token(token)

    assert first == second
    assert (first.user_id, first.provider, first.email) == ("user_cached", "email", "a@b.c")
    assert 0 < first.expires - time.time() <= 15 * 60
    assert verifications == [token]


def test_a_token_without_exp_is_refused_and_not_remembered(verifications):
    forever = jwt.encode(
        {"userId": "user_forever", "provider": "email"}, auth.settings.JWT_SECRET, algorithm="HS256"
    )
    for _ in range(2):
        with pytest.raises(TokenError) as raised:
            decode_token(forever)
        assert raised.value.reason == "invalid"
    assert verifications == [forever, forever]


def test_a_remembered_token_still_expires(verifications):
    token = jwt.encode(
        {"userId": "user_brief", "exp": int(time.time()) + 1}, auth.settings.JWT_SECRET, algorithm="HS256"
    )
    assert decode_token(token).user_id == "user_brief"

    time.sleep(1.1)

    with pytest.raises(TokenError) as raised:
        decode_token(token)
    assert raised.value.reason == "expired"
    assert verifications == [token]


def test_failures_are_not_remembered(verifications):
    forged = jwt.encode(
        {"userId": "user_x", "exp": 9999999999}, "another-secret-of-enough-length-123", algorithm="HS256"
    )
    for _ in range(2):
        with pytest.raises(TokenError) as raised:
            decode_token(forged)
        assert raised.value.reason == "invalid"
    assert verifications == [forged, forged]


def test_a_new_secret_verifies_again(verifications):
    token = mint_token("user_rotated")
    assert decode_token(token).user_id == "user_rotated"

    with (
        override_settings(JWT_SECRET="a-rotated-secret-that-is-long-enough-0123"),
        pytest.raises(TokenError) as raised,
    ):
        decode_token(token)
    assert raised.value.reason == "invalid"
    assert verifications == [token, token]
