"""The per-process shutdown coordinator: running -> draining -> closing -> done.

`request_shutdown()` may be called from a signal handler, any thread or a test, any number of
times: only the first call starts the shutdown (and the watchdog); later ones are logged as
duplicates and change nothing. Resources register a closer where they are created; closers run
by stage (bridge, channel layer, Redis, database), latest-registered first within a stage, each
timed and logged, a failure logged without skipping the next one. The watchdog is a thread, so
it enforces the deadline even when the event loop is stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("vlvt.shutdown")

Closer = Callable[[], Any]
Reporter = Callable[[], Any]


class State(enum.StrEnum):
    RUNNING = "running"
    DRAINING = "draining"
    CLOSING = "closing"
    DONE = "done"


class Stage(enum.IntEnum):
    """Dependency order: what depends on a resource is closed before it."""

    BRIDGE = 10  # the After Hours pub/sub subscriber (uses the channel layer)
    CHANNEL_LAYER = 20
    REDIS = 30
    DATABASE = 40


@dataclass(order=True)
class _Entry:
    stage: int
    neg_seq: int
    name: str = field(compare=False)
    fn: Closer = field(compare=False)


class ShutdownCoordinator:
    def __init__(
        self,
        *,
        timeout: float,
        exit_process: Callable[[int], Any] = os._exit,
        before_forced_exit: Callable[[], Any] | None = None,
    ) -> None:
        self.timeout = timeout
        self._exit_process = exit_process
        self._before_forced_exit = before_forced_exit
        self._lock = threading.RLock()
        self._state = State.RUNNING
        self._entries: list[_Entry] = []
        self._seq = 0
        self._reporters: dict[str, Reporter] = {}
        self._listeners: list[Callable[[str], Any]] = []
        self._finished = threading.Event()
        self._started_at: float | None = None
        self._phase_started_at: float | None = None
        self.reason: str | None = None
        self.exit_code: int | None = None
        self.duplicates = 0
        self._watchdog: threading.Thread | None = None

    # -- registration ------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def accepting(self) -> bool:
        return self._state is State.RUNNING

    def register(self, name: str, fn: Closer, *, stage: Stage | int) -> Callable[[], None]:
        with self._lock:
            self._seq += 1
            entry = _Entry(int(stage), -self._seq, name, fn)
            self._entries.append(entry)

        def unregister() -> None:
            with self._lock:
                if entry in self._entries:
                    self._entries.remove(entry)

        return unregister

    def before_forced_exit(self, cleanup: Callable[[], Any]) -> None:
        """`cleanup()` runs on the watchdog's thread when the deadline passes, before the exit."""
        self._before_forced_exit = cleanup

    def add_reporter(self, name: str, reporter: Reporter) -> None:
        """`reporter()` describes what is still open (a count or a list); the watchdog logs it."""
        self._reporters[name] = reporter

    def on_shutdown(self, listener: Callable[[str], Any]) -> None:
        """Called once, in the thread that requested shutdown, with the reason."""
        self._listeners.append(listener)

    def closers(self) -> list[str]:
        return [e.name for e in sorted(self._entries)]

    # -- the state machine -------------------------------------------------------------------
    def request_shutdown(self, reason: str = "requested") -> bool:
        with self._lock:
            if self._state is not State.RUNNING:
                self.duplicates += 1
                duplicate = True
            else:
                duplicate = False
                self._state = State.DRAINING
                self.reason = reason
                self._started_at = self._phase_started_at = time.monotonic()
        if duplicate:
            _log(logging.WARNING, f"shutdown: duplicate {reason} ignored (state {self._state})")
            return False
        _log(
            logging.INFO,
            f"shutdown: draining ({reason}); open: {self.describe_open()}; deadline {self.timeout:g}s",
        )
        self._start_watchdog()
        for listener in list(self._listeners):
            try:
                listener(reason)
            except Exception:
                logger.exception("shutdown: listener %r failed", listener)
        return True

    def drained(self, **counts: Any) -> None:
        """The serving side reports that draining finished; the closing phase begins."""
        with self._lock:
            if self._state is not State.DRAINING:
                return
            self._state = State.CLOSING
            elapsed = self._phase_elapsed_ms()
        details = ", ".join(f"{k}={v}" for k, v in counts.items()) or "nothing in flight"
        _log(logging.INFO, f"shutdown: drained in {elapsed} ms ({details})")

    async def close_resources(self) -> int:
        """Run every closer in order on this event loop; returns how many failed."""
        return await self._close_all(_await)

    def close_resources_sync(self) -> int:
        """The same for processes without a running event loop (Celery): an asynchronous closer
        runs on an event loop of its own."""
        return _run_without_loop(self._close_all(_run_on_own_loop))

    async def _close_all(self, settle: Callable[[Any], Awaitable[None]]) -> int:
        failures = 0
        entries = self._take_entries()
        for entry in entries:
            started = time.monotonic()
            try:
                await settle(entry.fn())
            except Exception as exc:
                failures += 1
                _log(logging.ERROR, f"shutdown: closing {entry.name} failed after {_ms(started)} ms: {exc!r}")
            else:
                _log(logging.INFO, f"shutdown: closed {entry.name} in {_ms(started)} ms")
        self._log_closed(len(entries), failures)
        return failures

    def finish(self, exit_code: int = 0, *, exit_process: bool = True) -> None:
        with self._lock:
            if self._state is State.DONE:
                return
            self._state = State.DONE
            self.exit_code = exit_code
            total = int((time.monotonic() - (self._started_at or time.monotonic())) * 1000)
        self._finished.set()
        _log(logging.INFO, f"shutdown: done in {total} ms, exit {exit_code}")
        if exit_process:
            _flush()
            self._exit_process(exit_code)

    def describe_open(self) -> str:
        parts = []
        for name, reporter in list(self._reporters.items()):
            try:
                parts.append(f"{name}={reporter()}")
            except Exception as exc:  # a reporter must never stop the shutdown
                parts.append(f"{name}=<{exc!r}>")
        return ", ".join(parts) or "nothing tracked"

    # -- internals ---------------------------------------------------------------------------
    def _take_entries(self) -> list[_Entry]:
        with self._lock:
            if self._state is State.DRAINING:
                self._state = State.CLOSING
            self._phase_started_at = time.monotonic()
            entries = sorted(self._entries)
            self._entries.clear()
        return entries

    def _log_closed(self, count: int, failures: int) -> None:
        _log(
            logging.INFO,
            f"shutdown: closed resources in {self._phase_elapsed_ms()} ms ({count} closers, {failures} failed)",
        )

    def _phase_elapsed_ms(self) -> int:
        return int((time.monotonic() - (self._phase_started_at or time.monotonic())) * 1000)

    def _start_watchdog(self) -> None:
        if self.timeout <= 0:
            return
        self._watchdog = threading.Thread(target=self._watch, name="shutdown-watchdog", daemon=True)
        self._watchdog.start()

    def _watch(self) -> None:
        if self._finished.wait(self.timeout):
            return
        with self._lock:
            if self._state is State.DONE:
                return
            state = self._state
            self._state = State.DONE
            self.exit_code = 1
        _log(
            logging.ERROR,
            f"shutdown: deadline of {self.timeout:g}s passed while {state}; still open: {self.describe_open()}; exit 1",
        )
        if self._before_forced_exit is not None:
            try:
                self._before_forced_exit()
            except Exception as exc:
                _log(logging.ERROR, f"shutdown: cleanup before forced exit failed: {exc!r}")
        self._finished.set()
        _flush()
        self._exit_process(1)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _log(level: int, message: str) -> None:
    logger.log(level, message)


def _flush() -> None:
    for handler in logging.getLogger().handlers + logger.handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


async def _await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


async def _run_on_own_loop(result: Any) -> None:
    """Never suspends: an awaitable closer's result runs to its end on a new event loop."""
    if inspect.isawaitable(result):

        async def wrap() -> Any:
            return await result

        asyncio.run(wrap())


def _run_without_loop(coroutine: Coroutine[Any, Any, int]) -> int:
    """The value of a coroutine that never suspends, in this thread, with no event loop running
    (so synchronous closers may use the database and `async_to_sync`)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a synchronous close suspended")
