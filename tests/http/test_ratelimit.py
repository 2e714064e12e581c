"""Rate limits in Redis (docs/contract.md, "Rate limits" and D2): headers, 429, keys, windows, processes."""

from __future__ import annotations

import http.client
import json
import logging
import time

import pytest
import redis
from django.test import Client

import vlvt.http.ratelimit
from tests.http.helpers import body, closed_port
from tests.support.redis_server import private_redis
from tests.support.servers import DaphneProcess, server_env

pytestmark = pytest.mark.urls("tests.http.urls")

RATE_HEADERS = (
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
)


def _rate_headers(response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in RATE_HEADERS}


def _expected(remaining: int, limit: int = 3, window: int = 60, retry_after: str | None = None):
    return {
        "RateLimit-Policy": f"{limit};w={window}",
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(window),
        "Retry-After": retry_after,
    }


def test_headers_on_every_response_and_429_past_the_limit(api):
    responses = [api.get("/t/limited") for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [_rate_headers(r) for r in responses] == [
        _expected(2),
        _expected(1),
        _expected(0),
        _expected(0, retry_after="60"),
    ]
    assert body(responses[0]) == {"success": True, "ip": "127.0.0.1"}
    assert body(responses[3]) == {"success": False, "error": "Too many test requests"}


def test_routes_without_a_limiter_have_no_rate_limit_headers(api):
    response = api.get("/t/describe")

    assert _rate_headers(response) == dict.fromkeys(RATE_HEADERS)


def test_failed_requests_count_and_carry_the_headers(api):
    failed = api.get("/t/limited?fail=1")
    crashed = api.get("/t/limited?crash=1")
    third = api.get("/t/limited")
    over = api.get("/t/limited")

    assert (failed.status_code, body(failed)) == (400, {"success": False, "error": "Failed on purpose"})
    assert _rate_headers(failed) == _expected(2)
    assert (crashed.status_code, body(crashed)) == (500, {"success": False, "error": "Internal server error"})
    assert _rate_headers(crashed) == _expected(1)
    assert _rate_headers(third) == _expected(0)
    assert over.status_code == 429


def test_one_bucket_per_limiter_across_methods_and_versions(api):
    statuses = [
        api.get("/t/limited").status_code,
        api.post("/t/limited", HTTP_AUTHORIZATION="Bearer x").status_code,
        api.get("/api/v1/t/limited").status_code,
        api.get("/api/v1/t/limited").status_code,
    ]

    assert statuses == [200, 200, 200, 429]


def test_limit_holds_across_independent_clients(api):
    first, second = Client(), Client()

    statuses = [c.get("/t/limited").status_code for c in (first, second, first, second)]

    assert statuses == [200, 200, 200, 429]


def test_clients_behind_the_proxy_are_told_apart_by_the_last_forwarded_hop():
    alice, bob = Client(), Client()
    alice_statuses = [
        alice.get("/t/limited", HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.7").status_code for _ in range(4)
    ]
    # The same spoofed first hop from someone else does not share Alice's bucket.
    bob_response = bob.get("/t/limited", HTTP_X_FORWARDED_FOR="10.0.0.1, 198.51.100.9")

    assert alice_statuses == [200, 200, 200, 429]
    assert bob_response.status_code == 200
    assert body(bob_response)["ip"] == "198.51.100.9"


@pytest.mark.parametrize(
    ("hops", "expected"), [(0, "127.0.0.1"), (1, "192.0.2.3"), (2, "192.0.2.2"), (5, "192.0.2.1")]
)
def test_trusted_proxy_hops(api, settings, hops, expected):
    settings.TRUSTED_PROXY_HOPS = hops

    response = api.get("/t/limited", HTTP_X_FORWARDED_FOR="192.0.2.1, 192.0.2.2,192.0.2.3")

    assert body(response)["ip"] == expected


def test_ipv6_clients_share_a_bucket_per_56_prefix(api):
    same_site = ["2001:db8:1:ab00::1", "2001:db8:1:ab12::2", "2001:db8:1:abff:ffff::3"]
    statuses = [
        api.get("/t/limited", HTTP_X_FORWARDED_FOR=ip).status_code for ip in [*same_site, same_site[0]]
    ]
    other_site = api.get("/t/limited", HTTP_X_FORWARDED_FOR="2001:db8:1:ac00::1")

    assert statuses == [200, 200, 200, 429]
    assert other_site.status_code == 200


def test_ipv4_mapped_ipv6_is_the_ipv4_client(api):
    statuses = [
        api.get("/t/limited", HTTP_X_FORWARDED_FOR=ip).status_code
        for ip in ("192.0.2.50", "::ffff:192.0.2.50", "192.0.2.50", "::ffff:c000:232")
    ]

    assert statuses == [200, 200, 200, 429]


def test_per_user_limit_follows_the_user_not_the_address(api, jwt_for):
    alice = {"HTTP_AUTHORIZATION": f"Bearer {jwt_for('alice')}"}
    bob = {"HTTP_AUTHORIZATION": f"Bearer {jwt_for('bob')}"}

    alice_statuses = [api.post("/t/user-limited", **alice).status_code for _ in range(3)]
    bob_response = api.post("/t/user-limited", **bob)
    unauthenticated = api.post("/t/user-limited", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert alice_statuses == [200, 200, 429]
    assert bob_response.status_code == 200
    assert _rate_headers(bob_response) == _expected(1, limit=2)
    assert body(bob_response) == {"success": True, "userId": "bob"}
    # Auth runs first: a refused token neither counts nor gets rate headers.
    assert unauthenticated.status_code == 401
    assert _rate_headers(unauthenticated) == dict.fromkeys(RATE_HEADERS)


def _wait_until_allowed(get, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = get()
        if response.status_code != 429:
            return response
        time.sleep(0.1)
    raise AssertionError("the window never reset")


def test_limit_resets_after_its_window():
    first, second = Client(), Client()

    statuses = [c.get("/t/fast").status_code for c in (first, second, first)]
    after = _wait_until_allowed(lambda: second.get("/t/fast"))

    assert statuses == [200, 200, 429]
    assert after.status_code == 200
    assert _rate_headers(after) == _expected(1, limit=2, window=1)


def test_rate_limits_can_be_switched_off(api, settings):
    settings.RATE_LIMITS_ENABLED = False

    responses = [api.get("/t/limited") for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert _rate_headers(responses[-1]) == dict.fromkeys(RATE_HEADERS)


def test_an_unreachable_store_lets_requests_through_and_says_so(api, monkeypatch, caplog):
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=1)
    monkeypatch.setattr(vlvt.http.ratelimit, "limiter_redis", lambda: dead)
    monkeypatch.setattr(vlvt.http.ratelimit, "outage", vlvt.http.ratelimit.StoreOutage(1.0))

    with caplog.at_level(logging.ERROR, logger="vlvt.ratelimit"):
        response = api.get("/t/limited")

    assert response.status_code == 200
    assert _rate_headers(response) == dict.fromkeys(RATE_HEADERS)
    assert [r.getMessage() for r in caplog.records if r.name == "vlvt.ratelimit"] == [
        "rate limit store unavailable, request allowed"
    ]


# --- real server processes ------------------------------------------------------------------------


@pytest.fixture
def two_servers():
    env = server_env(DJANGO_SETTINGS_MODULE="tests.http.server_settings")
    servers = [DaphneProcess(env), DaphneProcess(env)]
    yield servers
    for server in servers:
        server.stop()


def _request(server, method, path, body_bytes=None, headers=None, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        if chunked:
            conn.request(method, path, body=iter([body_bytes]), headers=headers or {}, encode_chunked=True)
        else:
            conn.request(method, path, body=body_bytes, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


@pytest.mark.django_db
def test_limit_holds_across_two_server_processes_and_resets(two_servers):
    a, b = two_servers

    results = [_request(server, "GET", "/t/limited") for server in (a, b, a, b)]
    fast = [_request(server, "GET", "/t/fast")[0] for server in (a, b, a)]
    deadline = time.monotonic() + 5
    while _request(b, "GET", "/t/fast")[0] == 429:
        assert time.monotonic() < deadline, "the window never reset"
        time.sleep(0.1)

    assert [status for status, _, _ in results] == [200, 200, 200, 429]
    assert [headers["RateLimit-Remaining"] for _, headers, _ in results] == ["2", "1", "0", "0"]
    assert results[3][1]["Retry-After"] == "60"
    assert json.loads(results[3][2]) == {"success": False, "error": "Too many test requests"}
    assert fast == [200, 200, 429]


@pytest.mark.django_db
def test_chunked_json_body_over_the_limit_is_413_on_a_real_server(two_servers):
    server = two_servers[0]
    raw = b'{"a":"' + b"x" * 20000 + b'"}'

    status, headers, content = _request(
        server,
        "POST",
        "/t/echo",
        raw,
        {"Content-Type": "application/json", "Authorization": "Bearer x"},
        chunked=True,
    )
    small_status, _, small = _request(
        server,
        "POST",
        "/t/echo",
        b'{"a":1}',
        {"Content-Type": "application/json", "Authorization": "Bearer x"},
        chunked=True,
    )

    assert headers.get("Content-Length") != str(len(raw))
    assert (status, json.loads(content)) == (413, {"success": False, "error": "Request body too large"})
    assert (small_status, json.loads(small)) == (200, {"success": True, "body": {"a": 1}})


@pytest.mark.django_db
def test_a_hung_store_lets_limited_requests_through_before_the_client_gives_up():
    """Redis frozen (SIGSTOP): the limiter waits a fraction of a second once, then skips Redis for
    a moment; the shared client's seconds-long waits would exceed these clients' 2 s patience."""
    with private_redis() as store:
        env = server_env(DJANGO_SETTINGS_MODULE="tests.http.server_settings", REDIS_URL=store.url)
        server = DaphneProcess(env)
        try:
            assert _request(server, "GET", "/t/limited")[0] == 200
            store.freeze()
            answers = []
            for _ in range(5):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
                conn.request("GET", "/t/limited")
                response = conn.getresponse()
                remaining = response.headers.get("RateLimit-Remaining")
                answers.append((response.status, remaining, json.loads(response.read())["success"]))
                conn.close()
            assert answers == [(200, None, True)] * 5
            assert "rate limit store unavailable, request allowed" in server.log()
        finally:
            store.thaw()
            server.stop()
