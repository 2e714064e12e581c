"""Service-to-service request signatures (`@vlvt/shared` internal-service-auth).

HMAC-SHA256 over METHOD + path + the raw timestamp header + SHA-256 hex of the JSON body as
`JSON.stringify` writes it; the timestamp (epoch ms) must be within 5 minutes of our clock. A
signature is accepted once: a captured request replayed within its window is refused (a nonce in
Redis, SET NX, that lives as long as the window, so it is gone once the timestamp alone refuses).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from vlvt.redis import sync_redis

MAX_SKEW_MS = 5 * 60 * 1000
# A timestamp is accepted from MAX_SKEW before to MAX_SKEW after it, on any process's clock.
REPLAY_WINDOW_MS = 2 * MAX_SKEW_MS
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")


class SignatureError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def body_hash(body: Any) -> str:
    """SHA-256 hex of JSON.stringify(body); the empty-string hash when there is no body."""
    if body is None:
        return EMPTY_SHA256
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def sign(*, method: str, path: str, timestamp: str, body: Any, secret: str | None = None) -> str:
    message = f"{method.upper()}{path}{timestamp}{body_hash(body)}"
    key = (secret if secret is not None else settings.INTERNAL_SERVICE_SECRET).encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def verify_request(request: HttpRequest, body: Any) -> None:
    """Raise SignatureError(code) unless the request carries a fresh, valid signature."""
    signature = request.headers.get("X-Internal-Signature")
    if not signature:
        raise SignatureError("INTERNAL_SIGNATURE_MISSING")
    timestamp = request.headers.get("X-Internal-Timestamp")
    if not timestamp:
        raise SignatureError("INTERNAL_TIMESTAMP_MISSING")
    match = _LEADING_INT.match(timestamp)  # parseInt semantics
    if match is None:
        raise SignatureError("INTERNAL_TIMESTAMP_INVALID")
    if abs(time.time() * 1000 - int(match.group(1))) > MAX_SKEW_MS:
        raise SignatureError("INTERNAL_TIMESTAMP_EXPIRED")
    candidates = {sign(method=request.method or "", path=request.path, timestamp=timestamp, body=body)}
    raw = request.body if body is not None else b""
    # Also accept a signature over the raw bytes (a sender whose serialiser differs from ours).
    message = f"{(request.method or '').upper()}{request.path}{timestamp}{hashlib.sha256(raw).hexdigest()}"
    candidates.add(
        hmac.new(settings.INTERNAL_SERVICE_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    )
    given = signature.encode("utf-8", "surrogateescape")
    if not any(hmac.compare_digest(c.encode(), given) for c in candidates):
        raise SignatureError("INTERNAL_SIGNATURE_INVALID")
    # Only a valid signature is remembered (an attacker cannot fill Redis with garbage). Redis
    # unreachable raises: a destructive route fails closed, the caller retries.
    if not sync_redis().set(f"internal-signature:{signature}", 1, nx=True, px=REPLAY_WINDOW_MS):
        raise SignatureError("INTERNAL_SIGNATURE_REPLAYED")
