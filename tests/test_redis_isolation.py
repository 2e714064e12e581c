"""The test suite never empties the run command's Redis database, nor any database it did not write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import redis

from tests.conftest import REDIS_MARKER
from tests.support.redis_server import private_redis

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "TEST_REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    return {**env, **extra}


def _redis_url_of(settings_module: str) -> str:
    code = f"import {settings_module} as s; print(s.REDIS_URL)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True
    ).stdout.strip()


def test_by_default_the_suite_uses_a_redis_database_the_run_command_does_not():
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        suite_settings = tomllib.load(f)["tool"]["pytest"]["ini_options"]["DJANGO_SETTINGS_MODULE"]
    assert _redis_url_of("vlvt.settings") == "redis://127.0.0.1:6379/0"  # scripts/run
    assert _redis_url_of(suite_settings) == "redis://127.0.0.1:6379/15"


def _run_one_test(redis_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_smoke.py", "-k", "settings_load"],
        cwd=ROOT,
        env=_env(REDIS_URL=redis_url),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_refuses_to_empty_a_redis_database_holding_keys_it_did_not_write():
    with private_redis() as server:
        client = redis.Redis.from_url(server.url)
        client.set("session:abc", "a running instance's")
        client.set("presence:online:1", "1")

        refused = _run_one_test(server.url)

        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert (
            f"refusing to run: the tests empty their Redis database before every test, and {server.url} "
            f"holds 2 key(s) the test suite did not write (no '{REDIS_MARKER}' key)."
        ) in refused.stdout + refused.stderr
        assert sorted(client.keys()) == [b"presence:online:1", b"session:abc"]

        # An empty database becomes the suite's; what the tests leave there is theirs to empty.
        client.flushdb()
        first = _run_one_test(server.url)
        assert first.returncode == 0, first.stdout + first.stderr
        assert client.keys() == [REDIS_MARKER.encode()]
        client.set("rate:left-by-a-test", "1")
        again = _run_one_test(server.url)
        assert again.returncode == 0, again.stdout + again.stderr
        assert client.keys() == [REDIS_MARKER.encode()]
