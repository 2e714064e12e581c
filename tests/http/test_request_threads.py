"""Request threads are bounded by the database pool and reused (vlvt/server/handlers.py), against a real
Daphne whose database is unreachable: every request then holds its thread for the pool's whole
connection timeout (failing fast, DATABASE_FAIL_FAST_MS, is off here: that is the case under test),
the case that used to leave one thread per concurrent request behind. A request that waits longer
than REQUEST_QUEUE_TIMEOUT_MS for a thread is answered 503 + Retry-After without running."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
import requests
from requests import Response

from tests.support.servers import free_port, start_daphne
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token

POOL_MAX = 4
CONCURRENT = 40


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _profile(base_url: str) -> int:
    """A request on a request thread that needs the database."""
    headers = {"Authorization": f"Bearer {mint_token('alice')}"}
    return requests.get(f"{base_url}/profile/alice", headers=headers, timeout=60).status_code


def _get(base_url: str, path: str) -> int:
    return requests.get(f"{base_url}{path}", timeout=60).status_code


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_during_a_database_outage_leave_at_most_the_pool_size_of_threads():
    server = start_daphne(
        DATABASE_URL=f"postgres://root@127.0.0.1:{free_port()}/vlvt",  # nothing listens there
        DATABASE_POOL_MAX=str(POOL_MAX),
        DATABASE_CONNECTION_TIMEOUT_MS="200",
        DATABASE_FAIL_FAST_MS="0",
        REQUEST_QUEUE_TIMEOUT_MS="0",
    )
    try:
        assert _profile(server.base_url) == 503  # the pool and one request thread exist from here on
        baseline = _threads(server.pid)

        with ThreadPoolExecutor(CONCURRENT) as clients:
            statuses = list(clients.map(lambda _: _profile(server.base_url), range(CONCURRENT)))

        assert statuses == [503] * CONCURRENT
        assert _threads(server.pid) <= baseline + POOL_MAX - 1
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_probes_are_answered_while_every_request_thread_waits_on_the_database():
    server = start_daphne(
        DATABASE_URL=f"postgres://root@127.0.0.1:{free_port()}/vlvt",  # nothing listens there
        DATABASE_POOL_MAX="2",
        DATABASE_CONNECTION_TIMEOUT_MS="10000",
        DATABASE_FAIL_FAST_MS="0",
        REQUEST_QUEUE_TIMEOUT_MS="0",
    )
    try:
        with ThreadPoolExecutor(3) as clients:
            blocked = [clients.submit(_profile, server.base_url) for _ in range(3)]
            wait_until(lambda: server.log().count("Request started") == 2, what="both request threads busy")
            # The probe has threads of its own: its answer comes while the three requests still
            # wait for a database connection (two hold both request threads, one queues).
            assert _get(server.base_url, "/ready") == 503
            assert [future.done() for future in blocked] == [False] * 3
            wait(blocked)
        assert [future.result() for future in blocked] == [503] * 3
    finally:
        server.stop()


def _profile_response(base_url: str) -> Response:
    headers = {"Authorization": f"Bearer {mint_token('alice')}"}
    return requests.get(f"{base_url}/profile/alice", headers=headers, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_request_that_waited_past_the_queue_bound_is_answered_503_without_running():
    server = start_daphne(
        DATABASE_URL=f"postgres://root@127.0.0.1:{free_port()}/vlvt",  # nothing listens there
        DATABASE_POOL_MAX="1",
        DATABASE_CONNECTION_TIMEOUT_MS="30000",  # the one request thread stays taken
        DATABASE_FAIL_FAST_MS="0",
        REQUEST_QUEUE_TIMEOUT_MS="300",
    )
    try:
        with ThreadPoolExecutor(2) as clients:
            holding = clients.submit(_profile, server.base_url)
            wait_until(lambda: server.log().count("Request started") == 1, what="the thread taken")
            shed = clients.submit(_profile_response, server.base_url).result()

            assert (shed.status_code, shed.headers["Retry-After"], shed.json()) == (
                503,
                "1",
                {"success": False, "error": "Service temporarily unavailable, please retry"},
            )
            assert holding.done() is False  # answered while the thread is still taken
            assert server.log().count("Request started") == 1  # nothing of it ran
            assert holding.result() == 503
    finally:
        server.stop()
