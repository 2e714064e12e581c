"""Unit tests of the shutdown coordinator (issue 3, acceptance 10)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from vlvt.server.shutdown import Stage, State
from vlvt.server.shutdown.coordinator import ShutdownCoordinator


class Exit(Exception):
    pass


def make(timeout: float = 10, **kwargs) -> tuple[ShutdownCoordinator, list[int]]:
    exits: list[int] = []
    return ShutdownCoordinator(timeout=timeout, exit_process=exits.append, **kwargs), exits


def test_closers_run_by_stage_then_latest_registered_first():
    shutdown, _ = make()
    calls: list[str] = []
    shutdown.register("database", lambda: calls.append("database"), stage=Stage.DATABASE)
    shutdown.register("redis a", lambda: calls.append("redis a"), stage=Stage.REDIS)
    shutdown.register("bridge", lambda: calls.append("bridge"), stage=Stage.BRIDGE)
    shutdown.register("redis b", lambda: calls.append("redis b"), stage=Stage.REDIS)

    async def layer() -> None:
        calls.append("channel layer")

    shutdown.register("channel layer", layer, stage=Stage.CHANNEL_LAYER)
    shutdown.request_shutdown("test")
    assert asyncio.run(shutdown.close_resources()) == 0
    assert calls == ["bridge", "channel layer", "redis b", "redis a", "database"]
    assert shutdown.state is State.CLOSING


def test_a_failing_closer_is_logged_and_does_not_skip_the_next(caplog):
    shutdown, _ = make()
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    shutdown.register("broken", broken, stage=Stage.REDIS)
    shutdown.register("database", lambda: calls.append("database"), stage=Stage.DATABASE)
    with caplog.at_level(logging.INFO, logger="vlvt.shutdown"):
        assert shutdown.close_resources_sync() == 1
    assert calls == ["database"]
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("shutdown: closing broken failed after") and "RuntimeError('boom')" in m
        for m in messages
    )
    assert any(m.startswith("shutdown: closed database in") for m in messages)
    assert "shutdown: closed resources in" in messages[-1] and "(2 closers, 1 failed)" in messages[-1]


def test_unregistered_closer_does_not_run():
    shutdown, _ = make()
    calls: list[str] = []
    unregister = shutdown.register("gone", lambda: calls.append("gone"), stage=Stage.REDIS)
    unregister()
    shutdown.close_resources_sync()
    assert calls == []


def test_request_shutdown_is_idempotent_and_listeners_run_once(caplog):
    shutdown, exits = make()
    heard: list[str] = []
    shutdown.on_shutdown(heard.append)
    with caplog.at_level(logging.INFO, logger="vlvt.shutdown"):
        assert shutdown.request_shutdown("SIGTERM") is True
        assert shutdown.request_shutdown("SIGTERM") is False
        assert shutdown.request_shutdown("SIGINT") is False
    assert heard == ["SIGTERM"]
    assert shutdown.state is State.DRAINING
    assert shutdown.duplicates == 2
    assert shutdown.reason == "SIGTERM"
    assert [r.getMessage() for r in caplog.records if "duplicate" in r.getMessage()] == [
        "shutdown: duplicate SIGTERM ignored (state draining)",
        "shutdown: duplicate SIGINT ignored (state draining)",
    ]
    shutdown.finish(0)
    assert exits == [0]
    shutdown.finish(0)
    assert exits == [0]
    assert shutdown.request_shutdown("SIGTERM") is False


def test_concurrent_requests_start_exactly_one_shutdown():
    shutdown, _ = make()
    heard: list[str] = []
    shutdown.on_shutdown(heard.append)
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def hit() -> None:
        barrier.wait()
        results.append(shutdown.request_shutdown("thread"))

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert heard == ["thread"]
    shutdown.finish(0, exit_process=False)


def test_states_go_running_draining_closing_done():
    shutdown, exits = make()
    seen = [shutdown.state]
    shutdown.request_shutdown("test")
    seen.append(shutdown.state)
    shutdown.drained(http=0)
    seen.append(shutdown.state)
    shutdown.finish(0)
    seen.append(shutdown.state)
    assert seen == [State.RUNNING, State.DRAINING, State.CLOSING, State.DONE]
    assert shutdown.accepting is False
    assert exits == [0]


def test_watchdog_exits_1_at_the_deadline_naming_what_is_open(caplog):
    done = threading.Event()
    exits: list[int] = []
    forced: list[str] = []

    def exit_process(code: int) -> None:
        exits.append(code)
        done.set()

    shutdown = ShutdownCoordinator(
        timeout=0.2, exit_process=exit_process, before_forced_exit=lambda: forced.append("cleanup")
    )
    shutdown.add_reporter("http_requests", lambda: 1)
    shutdown.add_reporter("websockets", lambda: 0)
    with caplog.at_level(logging.INFO, logger="vlvt.shutdown"):
        shutdown.request_shutdown("SIGTERM")
        assert done.wait(5)
    assert exits == [1]
    assert forced == ["cleanup"]
    assert shutdown.state is State.DONE
    assert shutdown.exit_code == 1
    assert (
        "shutdown: deadline of 0.2s passed while draining; still open: http_requests=1, websockets=0; exit 1"
        in [r.getMessage() for r in caplog.records]
    )
    shutdown.finish(0)  # too late: the watchdog already decided
    assert exits == [1]


def test_watchdog_stands_down_when_shutdown_finishes_in_time():
    shutdown, exits = make(timeout=0.3)
    shutdown.request_shutdown("SIGTERM")
    shutdown.finish(0)
    assert shutdown._watchdog is not None
    shutdown._watchdog.join(2)
    assert not shutdown._watchdog.is_alive()
    assert exits == [0]


def test_watchdog_fires_even_while_the_event_loop_is_blocked():
    done = threading.Event()
    exits: list[int] = []

    def exit_process(code: int) -> None:
        exits.append(code)
        done.set()

    shutdown = ShutdownCoordinator(timeout=0.2, exit_process=exit_process)

    async def stuck() -> None:
        shutdown.request_shutdown("SIGTERM")
        done.wait(5)  # blocks the loop, as a runaway synchronous call would

    asyncio.run(stuck())
    assert exits == [1]


@pytest.mark.parametrize("timeout", [0])
def test_no_watchdog_without_a_deadline(timeout):
    shutdown, exits = make(timeout=timeout)
    shutdown.request_shutdown("SIGTERM")
    assert shutdown._watchdog is None
