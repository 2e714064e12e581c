"""Graceful shutdown for `celery -A vlvt worker` (with or without `-B`) and `celery -A vlvt beat`.

Connected to Celery's own hooks; the OS signal handlers are installed only once a worker is
ready or a beat service starts (a serving process), never on import.

- Worker: the first SIGTERM/SIGINT starts a warm shutdown (stop consuming, let running tasks
  finish; embedded beat is stopped by the worker's blueprint before the pool); later signals are
  duplicates and change nothing (stock Celery turns a second SIGINT into a cold shutdown that kills
  running tasks). When the worker is down, the channel layer, Redis clients and database close in
  that order. Tasks are acknowledged late and re-queued if their worker dies (settings).
- Beat: the first signal leaves the tick loop, the schedule is saved, the process exits 0.
- The coordinator's watchdog exits 1 at SHUTDOWN_TIMEOUT if a task or the beat never finishes.
"""

from __future__ import annotations

import atexit
import logging
import signal
from typing import Any

from billiard.util import Finalize
from celery import platforms, signals
from celery.worker import state

from vlvt.server.shutdown import State, coordinator
from vlvt.server.shutdown.resources import close_databases, register_process_resources, terminate_own_backends

logger = logging.getLogger("vlvt.shutdown")


def _worker_signal(signum: int, frame: Any) -> None:
    if coordinator().request_shutdown(signal.Signals(signum).name):
        state.should_stop = platforms.EX_OK  # type: ignore[assignment]  # the stubs declare None; Celery reads an exit code


@signals.worker_ready.connect
def _install_worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    # worker_ready comes after Celery installed its own handlers; ours replace them.
    platforms.signals["SIGTERM"] = _worker_signal
    platforms.signals["SIGINT"] = _worker_signal
    shutdown = coordinator()
    shutdown.before_forced_exit(terminate_own_backends)
    register_process_resources(asynchronous=False)
    logger.info("vlvt: worker serving; SIGTERM/SIGINT finish running tasks and exit")


@signals.worker_shutdown.connect
def _close_worker_resources(sender: Any = None, **kwargs: Any) -> None:
    shutdown = coordinator()
    if shutdown.state is State.RUNNING:
        shutdown.request_shutdown("worker stopping")
    beat = getattr(sender, "beat", None)
    if beat is not None and hasattr(beat, "join"):
        # Embedded beat (-B) is a child process the worker's blueprint only signals: wait until it
        # has saved its schedule and logged its own closing, rather than leave it behind.
        beat.join(shutdown.timeout)
        shutdown.drained(tasks="finished", beat="stopped")
    else:
        shutdown.drained(tasks="finished")
    shutdown.close_resources_sync()
    shutdown.finish(0, exit_process=False)


@signals.worker_process_shutdown.connect
def _close_child_database(**kwargs: Any) -> None:
    # Prefork children hold their own database connections.
    try:
        close_databases()
    except Exception as exc:
        logger.warning("shutdown: child database close failed: %r", exc)


@signals.beat_init.connect
def _install_beat_shutdown(sender: Any = None, **kwargs: Any) -> None:
    def on_signal(signum: int, frame: Any) -> None:
        if coordinator().request_shutdown(signal.Signals(signum).name):
            # Leaves Service.start's tick loop, whose `finally` saves the schedule.
            raise SystemExit(0)

    platforms.signals["SIGTERM"] = on_signal
    platforms.signals["SIGINT"] = on_signal
    atexit.register(_close_beat_resources)
    # Embedded beat (worker -B) runs in a billiard child process, which leaves with os._exit after
    # its finalizers and without atexit handlers: its closing steps are one of those finalizers.
    Finalize(None, _close_beat_resources, exitpriority=100)
    logger.info("vlvt: beat serving; SIGTERM/SIGINT save the schedule and exit")


def _close_beat_resources() -> None:
    shutdown = coordinator()
    if shutdown.state is State.DONE:
        return
    if shutdown.state is State.RUNNING:
        shutdown.request_shutdown("beat stopping")
    shutdown.drained(schedule="saved")
    shutdown.close_resources_sync()
    shutdown.finish(0, exit_process=False)
