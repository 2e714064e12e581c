import os
import time
from pathlib import Path

from django.apps import AppConfig


class TestSupportConfig(AppConfig):
    """Only in server processes started by tests (tests.support.settings)."""

    name = "tests.support"
    label = "test_support"

    def ready(self) -> None:
        if os.environ.get("BEAT_PROBE"):
            from vlvt.celery import app

            # A beat entry for the beat shutdown test: runs every second.
            app.conf.beat_schedule["test-probe"] = {
                "task": "tests.probe_task",
                "schedule": 1.0,
                "args": ("beat", 0),
            }
        probe = os.environ.get("SHUTDOWN_PROBE_FILE")
        if probe:
            from vlvt.server.shutdown import register_closer

            # The last closer: tells the test that everything else is closed, then holds the
            # process for a moment so the test can look at it from outside before it exits.
            register_closer("test probe", lambda: _hold(Path(probe)), stage=99)


def _hold(probe: Path) -> None:
    probe.write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("SHUTDOWN_PROBE_SECONDS", "1.5")))
