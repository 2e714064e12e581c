"""`scripts/run` as a newcomer uses it: real PostgreSQL, Redis, Daphne and Celery processes.

Two instances side by side, each told its database, Redis and port through the environment only
(the repository's .env says otherwise), a Ctrl-C to each (SIGINT to its process group, as a
terminal sends it), and one whose Daphne misses its shutdown deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import redis

from tests.support.redis_server import private_redis
from tests.support.servers import ROOT, free_port, test_database_url
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class RunCommand:
    def __init__(self, stubs: Path, **env: str) -> None:
        self.port = int(env["PORT"])
        self.log = tempfile.NamedTemporaryFile(prefix="scripts-run-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["bash", "scripts/run"],
            cwd=ROOT,
            env={**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def get(self, path: str) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return response.status

    def serving(self) -> bool:
        try:
            return self.get("/health") == 200 and "celery@" in self.output() and " ready." in self.output()
        except OSError:
            return False

    def ctrl_c(self) -> int:
        """SIGINT to the whole process group, as a terminal does; the exit status of scripts/run."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout=90)

    def group(self) -> list[str]:
        """The processes still running in scripts/run's process group ("pid state ppid name").

        A zombie has finished: it waits for a parent that exited to be reaped by init."""
        left = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                text = stat.read_text()
                name = text[text.index("(") + 1 : text.rindex(")")]
                fields = text.rsplit(")", 1)[1].split()
                if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                    left.append(f"{stat.parent.name} {fields[0]} ppid {fields[1]} {name}")
        return left

    def group_is_gone(self) -> bool:
        return self.group() == []

    def close(self) -> None:
        if self.proc.poll() is None or not self.group_is_gone():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def _stub_installers(directory: Path, calls: Path) -> None:
    """apt-get, apt and npm that only record being called: the run path must not install anything."""
    for name in ("apt-get", "apt", "npm"):
        stub = directory / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\nexit 1\n')
        stub.chmod(0o755)


def test_two_instances_side_by_side_then_ctrl_c_and_a_missed_deadline(tmp_path):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    calls = tmp_path / "installer-calls"
    _stub_installers(stubs, calls)
    fresh_db = f"vlvt_run_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect("host=127.0.0.1 dbname=postgres user=root", autocommit=True)
    with private_redis() as redis_a, private_redis() as redis_b:
        common = {
            "DJANGO_SETTINGS_MODULE": "tests.support.settings",
            "CHROMIUM_PATH": str(tmp_path / "no-chromium"),
        }
        # A listens on two ports, as DEV_PORTS=3002,3003 serves the app's two development URLs.
        port_a, second_port_a = free_port(), free_port()
        a = RunCommand(
            stubs,
            DATABASE_URL=f"postgres://root@127.0.0.1:5432/{fresh_db}",
            REDIS_URL=redis_a.url,
            PORT=str(port_a),
            DEV_PORTS=f"{port_a},{second_port_a}",
            CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "beat-a"),
            **common,
        )
        b = RunCommand(
            stubs,
            DATABASE_URL=test_database_url(),
            REDIS_URL=redis_b.url,
            PORT=str(free_port()),
            CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "beat-b"),
            # Long enough for the worker and its embedded beat to stop on a loaded machine (2 s was
            # not, under a parallel CI run), far shorter than the request below.
            SHUTDOWN_TIMEOUT="8",
            **common,
        )
        try:
            _wait(lambda: a.serving() and b.serving(), 180, a, b)

            # Each uses what its environment says, not .env's database vlvt and Redis database 0.
            assert f"creating database {fresh_db} on 127.0.0.1:5432 (DATABASE_URL)" in a.output()
            assert "creating database" not in b.output()  # the test database exists already
            with psycopg.connect(f"host=127.0.0.1 dbname={fresh_db} user=root") as conn:
                assert conn.execute("SELECT count(*) > 0 FROM django_migrations").fetchone() == (True,)
            for server in (redis_a, redis_b):  # each worker's queue bindings are in its own Redis
                assert redis.Redis.from_url(server.url).exists("_kombu.binding.celery") == 1
            assert not calls.exists()  # nothing installed: no apt-get, no npm, no Chromium
            with urllib.request.urlopen(f"http://127.0.0.1:{second_port_a}/health", timeout=5) as response:
                assert response.status == 200  # the same Daphne on A's second port

            # Ctrl-C with nothing in flight: every process stops gracefully, status 0.
            assert a.ctrl_c() == 0, a.output()
            assert a.group() == []
            assert "scripts/run: daphne 127.0.0.1:" in a.output()
            assert "exited with status 0" in a.output()

            # A request outlives B's 8 s shutdown deadline: Daphne exits 1, and so does scripts/run,
            # after waiting for Daphne and the worker both.
            slow = threading.Thread(
                target=lambda: _ignore_errors(b.get, "/__test__/sleep?seconds=30"), daemon=True
            )
            slow.start()
            _wait(lambda: "test sleep started" in b.output(), 30, b)
            assert b.ctrl_c() == 1, b.output()
            assert b.group() == []
            assert f"scripts/run: daphne 127.0.0.1:{b.port} exited with status 1" in b.output()
            assert "scripts/run: celery worker -B exited with status 0" in b.output()
        finally:
            a.close()
            b.close()
            admin.execute(f'DROP DATABASE IF EXISTS "{fresh_db}" WITH (FORCE)')
            admin.close()


def _wait(condition, timeout: float, *runs: RunCommand) -> None:
    try:
        wait_until(condition, timeout=timeout, what="scripts/run")
    except AssertionError:
        raise AssertionError("\n\n".join(run.output() for run in runs)) from None


def _ignore_errors(call, *args) -> None:
    with contextlib.suppress(OSError):
        call(*args)
