"""Fixed-window rate limits in Redis, shared by every process (DECISIONS 2).

Behaves like express-rate-limit's store: a window opens on the first hit of a key, every request
counts (failed ones too), draft-6 `RateLimit-*` headers on every response and `Retry-After` on 429.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from vlvt.api import fail
from vlvt.redis import sync_redis

# INCR, and start the window on the first hit; returns (count, ms until reset).
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


def client_ip(request: HttpRequest) -> str:
    """The address the trusted proxy saw: with N trusted hops, the Nth X-Forwarded-For from the end."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    hops = settings.TRUSTED_PROXY_HOPS
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if hops <= 0 or not forwarded:
        return remote
    chain = [remote] + [p.strip() for p in reversed(forwarded.split(",")) if p.strip()]
    return chain[min(hops, len(chain) - 1)]


@dataclass(frozen=True)
class Limiter:
    name: str
    window_seconds: int
    max_requests: int
    message: str
    per_user: bool = False

    def key(self, request: HttpRequest) -> str:
        user_id = getattr(request, "user_id", None)
        if self.per_user and user_id:
            return f"rl:{self.name}:user:{user_id}"
        if self.per_user:
            return f"rl:{self.name}:ip:{client_ip(request)}"
        return f"rl:{self.name}:{client_ip(request)}"

    def hit(self, request: HttpRequest) -> HttpResponse | None:
        """Count this request; a 429 response when over the limit, else None (headers deferred)."""
        if not settings.RATE_LIMITS_ENABLED:
            return None
        count, ttl_ms = sync_redis().eval(_HIT, 1, self.key(request), self.window_seconds * 1000)
        remaining = max(0, self.max_requests - int(count))
        reset = max(0, math.ceil(int(ttl_ms) / 1000))
        headers = {
            "RateLimit-Policy": f"{self.max_requests};w={self.window_seconds}",
            "RateLimit-Limit": str(self.max_requests),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(reset),
        }
        request._vlvt_ratelimit_headers = headers  # type: ignore[attr-defined]
        if int(count) > self.max_requests:
            response = fail(429, self.message)
            for name, value in headers.items():
                response[name] = value
            response["Retry-After"] = str(reset)
            return response
        return None
