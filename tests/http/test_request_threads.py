"""Request threads are bounded by the database pool and reused (vlvt/handlers.py), against a real
Daphne whose database is unreachable: every request then holds its thread for the pool's whole
connection timeout, the case that used to leave one thread per concurrent request behind."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.servers import free_port, start_daphne

POOL_MAX = 4
CONCURRENT = 40


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _health(base_url: str) -> int:
    return requests.get(f"{base_url}/health", timeout=60).status_code


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_during_a_database_outage_leave_at_most_the_pool_size_of_threads():
    server = start_daphne(
        DATABASE_URL=f"postgres://root@127.0.0.1:{free_port()}/vlvt",  # nothing listens there
        DATABASE_POOL_MAX=str(POOL_MAX),
        DATABASE_CONNECTION_TIMEOUT_MS="200",
    )
    try:
        assert _health(server.base_url) == 503  # the pool and one request thread exist from here on
        baseline = _threads(server.pid)

        with ThreadPoolExecutor(CONCURRENT) as clients:
            statuses = list(clients.map(lambda _: _health(server.base_url), range(CONCURRENT)))

        assert statuses == [503] * CONCURRENT
        assert _threads(server.pid) <= baseline + POOL_MAX - 1
    finally:
        server.stop()
