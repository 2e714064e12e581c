"""Settings for Daphne processes started by tests/http: the project plus the test-only routes."""

from vlvt.settings import *  # noqa: F403

ROOT_URLCONF = "tests.http.urls"
