"""Shared fixtures: real PostgreSQL (pytest-django's test database) and a real Redis database."""
from __future__ import annotations

import pytest
from django.conf import settings

from vlvt.redis import sync_redis


@pytest.fixture(autouse=True)
def _clean_redis():
    """Every test starts with an empty Redis database (rate-limit windows, presence, ...)."""
    sync_redis().flushdb()
    yield


@pytest.fixture
def jwt_for():
    from vlvt.auth import mint_token

    return mint_token


@pytest.fixture
def redis_url() -> str:
    return settings.REDIS_URL


_SIGNALS_AT_START: tuple = ()


def pytest_sessionstart(session):
    import signal

    global _SIGNALS_AT_START
    _SIGNALS_AT_START = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))


def pytest_sessionfinish(session, exitstatus):
    import signal

    now = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    if now != _SIGNALS_AT_START:
        session.exitstatus = 1
        print(f"\nERROR: the test run changed the SIGTERM/SIGINT handlers: {_SIGNALS_AT_START} -> {now}")
