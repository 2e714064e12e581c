"""Celery worker and beat receiving real signals (issue 3, acceptance 9)."""

from __future__ import annotations

import os
import re
import shelve
import signal
import uuid

import pytest
from django.db import connection

from tests.support.servers import ServerProcess, start_celery
from tests.support.tasks import probe_task
from tests.support.wait import wait_until
from vlvt.redis import sync_redis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def task_probe():
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS task_probe")
        cursor.execute("CREATE TABLE task_probe (key text PRIMARY KEY, applied int NOT NULL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS task_probe")


@pytest.fixture
def workers():
    started = []

    def start(*args: str, **env: str):
        env.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.settings")
        env.setdefault("DB_APPLICATION_NAME", f"vlvt-celery-{uuid.uuid4().hex[:8]}")
        process = start_celery(*args, **env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def effects(key: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM task_probe WHERE key = %s", [key])
        return cursor.fetchone()[0]


def runs(key: str) -> int:
    return int(sync_redis().get(f"probe:runs:{key}") or 0)


def worker_running_a_task(workers) -> tuple[ServerProcess, str]:
    """A one-process worker, serving, with a 2-second probe task started; and the task's key."""
    worker = workers("worker", "--concurrency", "1", "--loglevel", "INFO")
    worker.wait_for_log("vlvt: worker serving")
    key = uuid.uuid4().hex
    probe_task.delay(key, 2)
    wait_until(lambda: runs(key) == 1, what="the task to start")
    return worker, key


def test_sigterm_lets_the_running_task_finish_and_exits_0(workers, task_probe):
    worker, key = worker_running_a_task(workers)

    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert effects(key) == 1
    assert runs(key) == 1
    log = worker.log()
    assert "shutdown: draining (SIGTERM)" in log
    assert log.index("shutdown: closed channel layer") < log.index("shutdown: closed database connections")
    assert "Traceback" not in log


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_duplicate_signals_do_not_turn_into_a_cold_shutdown(workers, task_probe, second):
    worker, key = worker_running_a_task(workers)

    worker.signal(signal.SIGINT)
    wait_until(lambda: "shutdown: draining (SIGINT)" in worker.log(), what="the drain to start")
    worker.signal(second)
    assert worker.wait(30) == 0
    assert effects(key) == 1
    log = worker.log()
    assert f"shutdown: duplicate {second.name} ignored" in log
    assert "Traceback" not in log


def test_a_task_whose_worker_is_killed_runs_again_on_a_new_worker_with_one_effect(workers, task_probe):
    env = {"CELERY_VISIBILITY_TIMEOUT": "3"}
    doomed = workers("worker", "--concurrency", "1", "--loglevel", "INFO", **env)
    doomed.wait_for_log("vlvt: worker serving")
    key = uuid.uuid4().hex
    probe_task.delay(key, 2)
    wait_until(lambda: runs(key) == 1, what="the task to start")

    os.killpg(doomed.pid, signal.SIGKILL)  # the whole worker, pool included, dies mid-task
    doomed.wait(10)
    assert effects(key) == 0

    survivor = workers("worker", "--concurrency", "1", "--loglevel", "INFO", **env)
    survivor.wait_for_log("vlvt: worker serving")
    wait_until(
        lambda: effects(key) == 1 and int(sync_redis().get(f"probe:done:{key}") or 0) == 1,
        timeout=60,
        what="the re-delivered task to finish",
    )
    assert runs(key) == 2
    assert effects(key) == 1
    survivor.signal(signal.SIGTERM)
    assert survivor.wait(30) == 0


def test_beat_exits_0_on_sigterm_and_keeps_its_schedule(workers, tmp_path):
    schedule = tmp_path / "beat-schedule"
    beat = workers(
        "beat", "--schedule", str(schedule), "--max-interval", "1", "--loglevel", "INFO", BEAT_PROBE="1"
    )
    beat.wait_for_log("vlvt: beat serving")
    wait_until(lambda: "Sending due task test-probe" in beat.log(), what="beat to send the probe")

    beat.signal(signal.SIGTERM)
    beat.signal(signal.SIGTERM)
    assert beat.wait(30) == 0
    log = beat.log()
    assert "Traceback" not in log
    with shelve.open(str(schedule), flag="r") as db:
        entry = db["entries"]["test-probe"]
    assert entry.total_run_count >= 1
    assert entry.last_run_at is not None


def test_worker_with_embedded_beat_exits_0_and_keeps_the_schedule(workers, tmp_path, task_probe):
    schedule = tmp_path / "embedded-schedule"
    worker = workers(
        "worker",
        "-B",
        "--schedule",
        str(schedule),
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        BEAT_PROBE="1",
    )
    worker.wait_for_log("vlvt: worker serving")
    wait_until(lambda: effects("beat") == 1, what="the beat probe to run")

    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert "Traceback" not in worker.log()
    with shelve.open(str(schedule), flag="r") as db:
        assert db["entries"]["test-probe"].total_run_count >= 1


# The README's process table: `celery -A vlvt worker`, `celery -A vlvt beat` and `worker -B`, with
# no --loglevel (Celery's default is WARNING), print every shutdown step as Daphne does.
@pytest.mark.parametrize(
    ("args", "serving", "drained"),
    [
        (("worker",), ["worker"], ["drained in {} ms (tasks=finished)"]),
        (("beat",), ["beat"], ["drained in {} ms (schedule=saved)"]),
        (
            ("worker", "-B"),
            ["worker", "beat"],
            ["drained in {} ms (schedule=saved)", "drained in {} ms (tasks=finished, beat=stopped)"],
        ),
    ],
)
def test_shutdown_steps_show_at_the_default_log_level(workers, tmp_path, args, serving, drained):
    process = workers(*args, CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "schedule"))
    for kind in serving:
        process.wait_for_log(f"vlvt: {kind} serving; SIGTERM/SIGINT")

    process.signal(signal.SIGTERM)
    assert process.wait(30) == 0
    steps = [
        re.sub(r"\d+ ms", "{} ms", line.split(" vlvt.shutdown ", 1)[1])
        for line in process.log().splitlines()
        if " INFO vlvt.shutdown shutdown: " in line
    ]
    for line in drained:
        assert f"shutdown: {line}" in steps
    assert steps.count("shutdown: done in {} ms, exit 0") == len(serving)
    assert steps.count("shutdown: draining (SIGTERM); open: nothing tracked; deadline 10s") == len(serving)
    if args[0] == "worker":
        assert "shutdown: closed channel layer in {} ms" in steps
        assert "shutdown: closed database connections in {} ms" in steps
