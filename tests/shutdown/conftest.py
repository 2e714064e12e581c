from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.db import connection

from tests.support.servers import DaphneProcess, server_env, test_database_url


@pytest.fixture
def start_server(tmp_path) -> Iterator[Callable[..., DaphneProcess]]:
    """Start `daphne vlvt.asgi:application` (test settings) with its own application name."""
    started: list[DaphneProcess] = []

    def start(**env: str) -> DaphneProcess:
        app_name = f"vlvt-test-{uuid.uuid4().hex[:10]}"
        env.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.settings")
        env.setdefault("DB_APPLICATION_NAME", app_name)
        env.setdefault("SHUTDOWN_TIMEOUT", "10")
        server = DaphneProcess(server_env(**env))
        server.app_name = env["DB_APPLICATION_NAME"]  # type: ignore[attr-defined]  # the tests' own tag on the server
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def probe_table(transactional_db) -> Iterator[str]:
    """A committed one-row table that the test-only write route updates."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS shutdown_probe")
        cursor.execute("CREATE TABLE shutdown_probe (id int PRIMARY KEY, value text NOT NULL)")
        cursor.execute("INSERT INTO shutdown_probe VALUES (1, 'before')")
    yield "shutdown_probe"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS shutdown_probe")


@pytest.fixture
def pg() -> Iterator[psycopg.Connection]:
    """An independent PostgreSQL session of the test's own (to hold locks, read pg_stat_activity)."""
    with psycopg.connect(test_database_url(), autocommit=True) as conn:
        yield conn


@pytest.fixture
def locker() -> Iterator[psycopg.Connection]:
    """A second session that holds the probe row's lock (in its own transaction)."""
    with psycopg.connect(test_database_url()) as conn:
        conn.execute("SELECT * FROM shutdown_probe WHERE id = 1 FOR UPDATE")
        yield conn


def probe_value(pg: psycopg.Connection) -> str:
    row = pg.execute("SELECT value FROM shutdown_probe WHERE id = 1").fetchone()
    assert row is not None
    return row[0]


def backend_waiting_on_lock(pg: psycopg.Connection, app_name: str) -> bool:
    row = pg.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
        [app_name],
    ).fetchone()
    assert row is not None
    return row[0] == 1


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None
) -> tuple[int, dict[str, str], bytes]:
    payload = json.dumps(body).encode() if body is not None else None
    # A Bearer header takes a mutating request past the CSRF double-submit check (vlvt.http.middleware).
    headers = (
        {"Content-Type": "application/json", "Authorization": "Bearer test"} if payload is not None else {}
    )
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data
