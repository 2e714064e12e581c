"""Socket handshake checks: the Origin of the upgrade and the token in the CONNECT packet."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from vlvt.http.auth import TokenError, TokenUser, decode_token

logger = logging.getLogger("vlvt.realtime")

TOKEN_REQUIRED = "Authentication token required"
INVALID_TOKEN = "Invalid authentication token"
TOKEN_EXPIRED = "Token expired"
CONFIG_ERROR = "Server configuration error"
AUTH_FAILED = "Authentication failed"

_MESSAGES = {"invalid": INVALID_TOKEN, "expired": TOKEN_EXPIRED, "config": CONFIG_ERROR}


class HandshakeRejected(Exception):
    """Sent to the client as CONNECT_ERROR `{message}`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope: Mapping[str, Any]) -> bool:
    """docs/contract.md, D4: an upgrade that carries an Origin must come from a configured CORS origin.

    Native clients (the mobile app) send no Origin and are not affected.
    """
    origin = header(scope, b"origin")
    if origin is None:
        return True
    allowed = settings.CORS_ORIGINS
    return "*" in allowed or origin in allowed


def authenticate(auth: Any) -> TokenUser:
    """The token's user (id and expiry) for the CONNECT packet's `auth` object, or HandshakeRejected.

    Like the original middleware, only `auth.token` is read (not the query string or headers),
    and a missing token is reported before a missing secret.
    """
    token = auth.get("token") if isinstance(auth, dict) else None
    if token is None or (not token and not isinstance(token, dict | list)):  # JS `!token`
        raise HandshakeRejected(TOKEN_REQUIRED)
    if not settings.JWT_SECRET:
        raise HandshakeRejected(CONFIG_ERROR)
    if not isinstance(token, str):
        raise HandshakeRejected(INVALID_TOKEN)
    try:
        return decode_token(token)
    except TokenError as exc:
        raise HandshakeRejected(_MESSAGES.get(exc.reason, AUTH_FAILED)) from None
    except Exception:
        logger.exception("socket authentication failed")
        raise HandshakeRejected(AUTH_FAILED) from None
