"""Fixed-window rate limits in Redis, shared by every process (docs/contract.md, D2).

Behaves like express-rate-limit's store: a window opens on the first hit of a key, every request
counts (failed ones too), draft-6 `RateLimit-*` headers on every response of a limited route
(`endpoint()` copies them from the request onto the response) and `Retry-After` on 429.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from redis.commands.core import Script

from vlvt.http.api import fail
from vlvt.http.request import api_request
from vlvt.redis import short_timeout_redis

logger = logging.getLogger("vlvt.ratelimit")

# The limiter store fails open: while Redis cannot be reached, limited requests are let through
# (logged). Failing closed (503) would turn an outage of the limiter's store into an outage of
# every limited route, reads that only need PostgreSQL included; what the limits guard against
# (bursts from one client) is bounded by the outage's length, and the writes that matter have
# their own limits in PostgreSQL (the daily message cap). So a hung Redis must cost a limited
# request milliseconds, not the shared client's seconds: the limiter has a client of its own with
# short timeouts and no retries, and after a failure it skips Redis for STORE_RETRY_SECONDS
# instead of making every request wait for the same timeout.
STORE_TIMEOUT = 0.25
STORE_RETRY_SECONDS = 1.0


class StoreOutage:
    """Remembers that the limiter's store failed, so callers skip it for `retry_seconds`."""

    def __init__(self, retry_seconds: float) -> None:
        self.retry_seconds = retry_seconds
        self._until = 0.0

    def skipping(self) -> bool:
        return time.monotonic() < self._until

    def failed(self) -> None:
        self._until = time.monotonic() + self.retry_seconds


outage = StoreOutage(STORE_RETRY_SECONDS)


def limiter_redis() -> redis.Redis:
    """The limiter's own client: STORE_TIMEOUT to connect and per command, no retries."""
    return short_timeout_redis("rate limit", timeout=STORE_TIMEOUT, health_check_interval=30)


# INCR, and start the window on the first hit; returns (count, ms until reset). One round trip,
# atomic, so concurrent requests on several processes count exactly.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""
_script: Script | None = None


def _hit_script() -> Script:
    """The script bound to the current shared client (EVALSHA: the body is sent once)."""
    global _script
    client = limiter_redis()
    script = _script
    if script is None or script.registered_client is not client:
        script = _script = client.register_script(_HIT)
    return script


def client_ip(request: HttpRequest) -> str:
    """The address the trusted proxy saw: with N trusted hops, the Nth X-Forwarded-For from the end.

    As Express with `trust proxy = N`; TRUSTED_PROXY_HOPS=0 uses the socket peer.
    """
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    hops = settings.TRUSTED_PROXY_HOPS
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if hops <= 0 or not forwarded:
        return remote
    chain = [remote] + [p.strip() for p in reversed(forwarded.split(",")) if p.strip()]
    return chain[min(hops, len(chain) - 1)]


@lru_cache(maxsize=4096)
def _ip_bucket(ip: str) -> str:
    """IPv4 as is; IPv6 grouped by /56 (one subscriber's allocation, as express-rate-limit 8)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 56), strict=False))
    return ip


def address_bucket(request: HttpRequest) -> str:
    """The bucket of the request's client address (IPv6 grouped by /56)."""
    return _ip_bucket(client_ip(request))


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
        ip = _ip_bucket(client_ip(request))
        if self.per_user:
            return f"rl:{self.name}:ip:{ip}"
        return f"rl:{self.name}:{ip}"

    def hit(self, request: HttpRequest) -> HttpResponse | None:
        """Count this request; a 429 response when over the limit, else None.

        The `RateLimit-*` headers are left on the request for `endpoint()` to add to the response.
        When Redis cannot be reached the request is let through (logged), within STORE_TIMEOUT,
        and Redis is skipped for STORE_RETRY_SECONDS (see above).
        """
        if not settings.RATE_LIMITS_ENABLED or outage.skipping():
            return None
        window_ms = int(self.window_seconds * 1000)
        try:
            count, ttl_ms = _hit_script()(keys=[self.key(request)], args=[window_ms])
        except redis.RedisError as exc:
            outage.failed()
            logger.error(
                "rate limit store unavailable, request allowed",
                extra={"limiter": self.name, "error": repr(exc)},
            )
            return None
        count = int(count)
        reset = max(0, math.ceil(int(ttl_ms) / 1000))
        headers = {
            "RateLimit-Policy": f"{self.max_requests};w={self.window_seconds}",
            "RateLimit-Limit": str(self.max_requests),
            "RateLimit-Remaining": str(max(0, self.max_requests - count)),
            "RateLimit-Reset": str(reset),
        }
        api_request(request)._vlvt_ratelimit_headers = headers
        if count > self.max_requests:
            response = fail(429, self.message)
            for name, value in headers.items():
                response[name] = value
            response["Retry-After"] = str(reset)
            return response
        return None

    # --- limits on outcomes (failed logins): checked before the attempt, counted after it ---------

    def subject_key(self, subject: str) -> str:
        return f"rl:{self.name}:{subject}"

    def exhausted(self, subject: str) -> int:
        """Seconds until `subject`'s window ends when its budget is used up, else 0; counts nothing.

        Fails open like `hit` when the store cannot be reached.
        """
        if not settings.RATE_LIMITS_ENABLED or outage.skipping():
            return 0
        key = self.subject_key(subject)
        try:
            pipe = limiter_redis().pipeline(transaction=False)
            pipe.get(key)
            pipe.pttl(key)
            count, ttl_ms = pipe.execute()
        except redis.RedisError as exc:
            outage.failed()
            logger.error(
                "rate limit store unavailable, attempt allowed",
                extra={"limiter": self.name, "error": repr(exc)},
            )
            return 0
        if count is None or int(count) < self.max_requests:
            return 0
        return max(1, math.ceil(int(ttl_ms) / 1000))

    def count(self, subject: str) -> None:
        """One hit on `subject`'s bucket; the window opens on the first."""
        if not settings.RATE_LIMITS_ENABLED or outage.skipping():
            return
        try:
            _hit_script()(keys=[self.subject_key(subject)], args=[int(self.window_seconds * 1000)])
        except redis.RedisError as exc:
            outage.failed()
            logger.error(
                "rate limit store unavailable, attempt not counted",
                extra={"limiter": self.name, "error": repr(exc)},
            )
