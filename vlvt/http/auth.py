"""JWT bearer authentication, shared by HTTP and the socket handshake.

HS256 with JWT_SECRET; the user id is the `userId` claim. Messages are the original's exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from django.conf import settings


@dataclass(frozen=True, slots=True)
class TokenUser:
    user_id: str
    provider: str | None
    email: str | None
    expires: int  # the `exp` claim, seconds since the epoch


class TokenError(Exception):
    """`reason` is one of: config, expired, invalid."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_token(token: str) -> TokenUser:
    secret = settings.JWT_SECRET
    if not secret:
        raise TokenError("config")
    user = _verify(secret, token)
    # A token verified before is only checked against the clock again: nothing else about it
    # can change (a token valid before its nbf/iat was never cached, and time only moves on).
    if user.expires <= time.time():
        raise TokenError("expired")
    return user


@lru_cache(maxsize=4096)
def _verify(secret: str, token: str) -> TokenUser:
    """A verified token's user and expiry, remembered: a client sends the same access token with
    every request for its lifetime, and verifying it (base64, two JSON documents, the key's
    preparation, the HMAC) cost 8% of a request. Failures raise, so are never remembered.
    Keyed by the secret too, so a new secret verifies everything again.

    `exp` is required: auth-service always sets one (15 minutes), and a token without it would
    be valid forever; it is refused like any other invalid token."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("expired") from None
    except jwt.PyJWTError:
        raise TokenError("invalid") from None
    user_id = claims.get("userId")
    # A token that verifies but carries no usable userId is not an access token (docs/contract.md, D3).
    if not isinstance(user_id, str) or not user_id:
        raise TokenError("invalid")
    expires = int(claims["exp"])  # PyJWT checked it is there and a number
    return TokenUser(
        user_id=user_id, provider=claims.get("provider"), email=claims.get("email"), expires=expires
    )


class AuthFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_HTTP_MESSAGES = {
    "config": (500, "Server configuration error"),
    "expired": (401, "Token expired"),
    "invalid": (401, "Invalid token"),
}


def authenticate_header(header: str | None) -> TokenUser:
    """Authorization header -> user, or AuthFailure with the original status and message."""
    if not settings.JWT_SECRET:
        raise AuthFailure(500, "Server configuration error")
    if not header:
        raise AuthFailure(401, "No authorization header provided")
    if not header.startswith("Bearer "):
        raise AuthFailure(401, "Invalid authorization header format. Use: Bearer <token>")
    token = header[7:]
    if not token:
        raise AuthFailure(401, "No token provided")
    try:
        return decode_token(token)
    except TokenError as exc:
        raise AuthFailure(*_HTTP_MESSAGES[exc.reason]) from None


def mint_token(user_id: str, *, expires_in: int = 15 * 60, **claims: object) -> str:
    payload = {"userId": user_id, "provider": "email", "email": None, **claims}
    now = int(time.time())
    payload.setdefault("iat", now)
    payload.setdefault("exp", now + expires_in)
    return jwt.encode(payload, settings.JWT_SECRET, algorithm="HS256")
