"""`/ready` of a real Daphne follows PostgreSQL and Redis: 503 while either cannot be reached, so
a load balancer stops sending traffic that could only get 500s, and 200 again once both are back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.redis_server import private_redis
from tests.support.servers import free_port, start_daphne
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)


def ready(server) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{server.base_url}/ready", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def unavailable(**checks: str) -> tuple[int, dict]:
    return 503, {"status": "unavailable", "checks": {"database": "ok", "redis": "ok", **checks}}


def test_ready_is_503_while_redis_is_down_or_hung_and_200_once_it_is_back():
    with private_redis() as redis_server:
        server = start_daphne(REDIS_URL=redis_server.url)
        try:
            assert ready(server) == (200, {"status": "ready"})

            redis_server.stop()
            assert wait_until(lambda: ready(server) == unavailable(redis="error"), what="503 without Redis")
            redis_server.start()
            assert wait_until(lambda: ready(server) == (200, {"status": "ready"}), what="200 with Redis back")

            redis_server.freeze()
            assert wait_until(lambda: ready(server) == unavailable(redis="error"), what="503 with Redis hung")
            redis_server.thaw()
            assert wait_until(
                lambda: ready(server) == (200, {"status": "ready"}), what="200 with Redis thawed"
            )
        finally:
            server.stop()


def test_ready_is_503_while_postgresql_cannot_be_reached():
    server = start_daphne(DATABASE_URL=f"postgres://root@127.0.0.1:{free_port()}/vlvt")
    try:
        assert ready(server) == unavailable(database="error")
    finally:
        server.stop()


def test_requests_get_503_with_retry_after_while_postgresql_cannot_be_reached():
    """A read or a write that needs PostgreSQL while it is down (restarting, failing over) is worth
    retrying in a moment: 503 + Retry-After, which clients and balancers retry, not a 500."""
    server = start_daphne(
        DATABASE_URL=f"postgres://root@127.0.0.1:{free_port()}/vlvt", DATABASE_CONNECTION_TIMEOUT_MS="200"
    )
    token = mint_token("google_someone")
    try:
        for method, path, body in (
            ("GET", "/matches/google_someone", None),
            ("GET", "/profile/google_someone", None),
        ):
            request = urllib.request.Request(
                f"{server.base_url}{path}",
                method=method,
                data=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(request, timeout=10)
            assert (
                raised.value.code,
                raised.value.headers["Retry-After"],
                json.loads(raised.value.read()),
            ) == (
                503,
                "1",
                {"success": False, "error": "Service temporarily unavailable, please retry"},
            )
    finally:
        server.stop()


def test_a_failed_check_is_repeated_by_the_next_probe_and_a_passed_one_is_kept():
    """A process leaves the rotation for as long as a dependency fails, and not a second longer: a
    bad outcome is kept only `retry` seconds (here none), a good one `ttl` (here all the test)."""
    from vlvt.http.readiness import Readiness

    outcomes = iter([ConnectionError("down"), ConnectionError("down"), None, None])
    runs = []

    def check() -> None:
        runs.append(1)
        failure = next(outcomes)
        if failure is not None:
            raise failure

    readiness = Readiness({"redis": check}, ttl=3600, retry=0, timeout=5)
    assert [readiness.current() for _ in range(5)] == [{"redis": "error"}] * 2 + [{"redis": "ok"}] * 3
    assert len(runs) == 3
