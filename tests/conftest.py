"""Shared fixtures: real PostgreSQL (pytest-django's test database) and a real Redis database."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.support.jsclient import JsClient
from tests.support.servers import daphne_server
from vlvt.redis import sync_redis

# Written into the suite's Redis database after every flush: a database holding keys but not this
# one was not written by the suite (a running instance's, another project's) and is never emptied.
REDIS_MARKER = "vlvt:test-suite-database"


def _mark_redis_as_the_suites() -> None:
    sync_redis().set(REDIS_MARKER, "the VLVT test suite empties this database before every test")


def _refuse_a_foreign_redis_database() -> None:
    client = sync_redis()
    keys = client.dbsize()
    if keys and not client.exists(REDIS_MARKER):
        pytest.exit(
            f"refusing to run: the tests empty their Redis database before every test, and "
            f"{settings.REDIS_URL} holds {keys} key(s) the test suite did not write (no {REDIS_MARKER!r} "
            "key). Point TEST_REDIS_URL (or REDIS_URL) at a database of its own; if this one is a "
            f"scratch database, empty it first (redis-cli -u {settings.REDIS_URL} flushdb).",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    _mark_redis_as_the_suites()


@pytest.fixture(autouse=True)
def _clean_redis():
    """Every test starts with an empty Redis database (rate-limit windows, presence, ...)."""
    sync_redis().flushdb()
    _mark_redis_as_the_suites()
    yield


@pytest.fixture
def daphne():
    """A fresh `daphne vlvt.asgi:application` for the test (mark it django_db(transaction=True))."""
    with daphne_server() as server:
        yield server


@pytest.fixture
def js():
    """The official socket.io-client (tests/support/jsclient.py), closed after the test."""
    with JsClient() as client:
        yield client


@pytest.fixture
def jwt_for():
    from vlvt.http.auth import mint_token

    return mint_token


@pytest.fixture
def redis_url() -> str:
    return settings.REDIS_URL


_SIGNALS_AT_START: tuple = ()


def pytest_sessionstart(session):
    import signal

    global _SIGNALS_AT_START
    _SIGNALS_AT_START = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    _refuse_a_foreign_redis_database()


def pytest_sessionfinish(session, exitstatus):
    import signal

    now = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    if now != _SIGNALS_AT_START:
        session.exitstatus = 1
        print(f"\nERROR: the test run changed the SIGTERM/SIGINT handlers: {_SIGNALS_AT_START} -> {now}")
