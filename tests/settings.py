"""The test suite's settings: the project's own, with Redis on a database of the suite's.

The tests empty their Redis database before every test. The run command's Redis is database 0
of the local server (REDIS_URL's default), so unless told otherwise the suite uses database 15
(TEST_REDIS_URL). REDIS_URL, when set, still wins over that default, so that suites can run side
by side (README, "Two commands"); tests/conftest.py refuses to empty a database that holds keys
the suite did not write.
"""

import os

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"

# Before vlvt.settings reads it; server and worker processes the tests start inherit it.
os.environ["REDIS_URL"] = (
    os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or DEFAULT_TEST_REDIS_URL
)

from vlvt.settings import *  # noqa: E402, F403
