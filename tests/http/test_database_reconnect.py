"""PostgreSQL restarting under a running Daphne: requests meanwhile get 503 + Retry-After, and the
same process serves again once it is back; its pool retries a lost server within a quarter of a
second however long the outage lasted (vlvt/dbpool.py; how fast service returns is measured by
bench/chaos_bench.py, scenario e)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import pool as pool_module
from psycopg_pool import pool_async as async_pool_module

from tests.support.postgres_server import PrivatePostgres
from tests.support.servers import start_daphne
from tests.support.wait import wait_until
from vlvt.dbpool import INITIAL_DELAY, MAX_DELAY, BoundedBackoff


def test_the_pool_retries_with_a_bounded_backoff():
    assert pool_module.AttemptWithBackoff is BoundedBackoff  # installed by the settings
    assert async_pool_module.AttemptWithBackoff is BoundedBackoff  # for the event loop's pool too
    attempt = BoundedBackoff(timeout=300)
    now = time.monotonic()
    delays = []
    for _ in range(12):
        attempt.update_delay(now)
        delays.append(attempt.delay)
    assert INITIAL_DELAY * 0.9 <= delays[0] <= INITIAL_DELAY * 1.1
    assert delays[-6:] == [MAX_DELAY] * 6
    assert max(delays) == MAX_DELAY


@pytest.fixture
def postgres():
    server = PrivatePostgres()
    server.start()
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE TABLE shutdown_probe (id int PRIMARY KEY, value text)")
        conn.execute("INSERT INTO shutdown_probe VALUES (1, '')")
    try:
        yield server
    finally:
        server.close()


def write(server, value: str) -> tuple[int, str | None, dict]:
    request = urllib.request.Request(
        f"{server.base_url}/__test__/write",
        method="POST",
        data=json.dumps({"value": value}).encode(),
        # A Bearer header takes a mutating request past the CSRF double-submit check.
        headers={"Content-Type": "application/json", "Authorization": "Bearer test"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, None, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Retry-After"], json.loads(exc.read())


UNAVAILABLE = (503, "1", {"success": False, "error": "Service temporarily unavailable, please retry"})


@contextlib.contextmanager
def serving(postgres, *, connection_timeout_ms: int) -> Iterator:
    """A Daphne on the private cluster that has served one write before the test's outage."""
    server = start_daphne(
        DJANGO_SETTINGS_MODULE="tests.support.settings",
        DATABASE_URL=postgres.url("postgres"),
        DATABASE_CONNECTION_TIMEOUT_MS=str(connection_timeout_ms),
    )
    try:
        assert write(server, "before") == (200, None, {"success": True, "updated": 1})
        yield server
    finally:
        server.stop()


def test_the_same_process_serves_again_after_postgresql_restarts(postgres):
    with serving(postgres, connection_timeout_ms=300) as server:
        postgres.stop()
        # Long enough for an unbounded backoff to have grown to seconds (attempts 1, 2, 4 s apart).
        deadline = time.monotonic() + 4
        answers = set()
        while time.monotonic() < deadline:
            status, retry_after, body = write(server, "during")
            answers.add((status, retry_after, json.dumps(body)))
        assert answers == {(UNAVAILABLE[0], UNAVAILABLE[1], json.dumps(UNAVAILABLE[2]))}

        postgres.start()
        assert wait_until(lambda: write(server, "after")[0] == 200, what="served again")
        assert write(server, "again") == (200, None, {"success": True, "updated": 1})
        assert server.running()


def test_while_postgresql_is_down_requests_fail_at_once_instead_of_waiting_for_the_pool(postgres):
    """Once the pool's attempt to reconnect has failed, a request that would wait for a connection
    (here up to 60 s, longer than the client waits) gets its 503 + Retry-After at once; the process
    serves again as soon as the pool reaches PostgreSQL."""
    with serving(postgres, connection_timeout_ms=60000) as server:
        postgres.stop()
        answers = [write(server, f"during {i}") for i in range(20)]
        assert answers == [UNAVAILABLE] * 20
        server.wait_for_log("PostgreSQL unreachable: the pool's last connection attempt failed")

        postgres.start()
        assert wait_until(lambda: write(server, "after")[0] == 200, what="served again")
        assert write(server, "again") == (200, None, {"success": True, "updated": 1})
