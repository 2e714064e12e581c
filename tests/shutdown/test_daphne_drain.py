"""`daphne vlvt.asgi:application` receiving real signals (issue 3, acceptance 1, 2, 4, 5, 6, 8)."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.shutdown.conftest import backend_waiting_on_lock, probe_value, request
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _post_in_thread(server, path: str, body: dict) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            result["status"], result["headers"], raw = request(conn, "POST", path, body)
            result["body"] = json.loads(raw)
        except Exception as exc:  # recorded for the assertion
            result["error"] = repr(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_request_blocked_on_a_row_lock_completes_after_sigterm_and_exit_is_0(
    start_server, probe_table, locker, pg
):
    server = start_server()
    thread, result = _post_in_thread(server, "/__test__/write", {"value": "after"})
    wait_until(lambda: backend_waiting_on_lock(pg, server.app_name), what="the write to block on the lock")

    server.signal(signal.SIGTERM)
    server.wait_for_log("shutdown: stopped listening")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)
    assert server.running()

    locker.commit()
    thread.join(30)
    assert result == {
        "status": 200,
        "headers": result["headers"],
        "body": {"success": True, "updated": 1},
    }
    assert result["headers"]["connection"] == "close"
    assert server.wait(30) == 0
    assert probe_value(pg) == "after"
    assert "Traceback" not in server.log()


def test_keep_alive_connection_gets_503_while_draining_and_new_connections_are_refused(start_server):
    server = start_server()
    keep_alive = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    status, _, _ = request(keep_alive, "GET", "/health")
    assert status == 200
    slow = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    slow.request("GET", "/__test__/sleep?seconds=2")
    server.wait_for_log("test sleep started")

    server.signal(signal.SIGTERM)
    server.wait_for_log("shutdown: stopped listening")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)

    status, headers, body = request(keep_alive, "GET", "/health")
    assert status == 503
    assert headers["connection"] == "close"
    assert headers["retry-after"] == "5"
    assert json.loads(body) == {"success": False, "error": "Server is shutting down, please retry"}
    # The server really closed that connection after its 503.
    assert keep_alive.sock is None or keep_alive.sock.recv(1) == b""

    response = slow.getresponse()
    assert response.status == 200
    assert json.loads(response.read()) == {"success": True, "slept": 2.0}
    assert server.wait(30) == 0


def test_request_whose_body_is_still_arriving_neither_crashes_nor_stalls_the_drain(start_server):
    server = start_server(SHUTDOWN_TIMEOUT="20")
    upload = socket.create_connection(("127.0.0.1", server.port))
    upload.sendall(
        b"POST /__test__/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: 10000\r\n\r\n" + b"x" * 1000  # within the 10 KB limit, a tenth sent
    )
    time.sleep(0.2)
    server.signal(signal.SIGTERM)

    assert server.wait(30) == 0
    log = server.log()
    assert "partial_requests_refused=1" in log
    assert "Traceback" not in log
    reply = upload.recv(4096)
    assert reply.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    upload.close()


def test_request_that_never_finishes_gets_a_503_at_the_deadline_exits_1_and_its_write_never_commits(
    start_server, probe_table, locker, pg
):
    server = start_server(SHUTDOWN_TIMEOUT="2")
    thread, result = _post_in_thread(server, "/__test__/write", {"value": "cut-off"})
    wait_until(lambda: backend_waiting_on_lock(pg, server.app_name), what="the write to block on the lock")

    server.signal(signal.SIGTERM)
    assert server.wait(30) == 1
    log = server.log()
    assert "shutdown: deadline of 2s passed while draining; still open:" in log
    assert "http_requests=1" in log
    assert "terminated 1 database session(s) of this process" in log

    thread.join(30)
    # An answer, not a dropped connection: the client may retry, the write is rolled back.
    assert result == {
        "status": 503,
        "headers": result.get("headers"),
        "body": {"success": False, "error": "Server is shutting down, please retry"},
    }
    assert (result["headers"]["retry-after"], result["headers"]["connection"]) == ("5", "close")
    locker.commit()
    time.sleep(0.3)
    assert probe_value(pg) == "before"
    sessions = pg.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [server.app_name]
    ).fetchone()[0]
    assert sessions == 0


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_second_signal_during_drain_changes_nothing(start_server, second):
    server = start_server()
    slow = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    slow.request("GET", "/__test__/sleep?seconds=1")
    server.wait_for_log("test sleep started")

    server.signal(signal.SIGTERM)
    time.sleep(0.05)
    server.signal(second)

    response = slow.getresponse()
    assert response.status == 200
    assert server.wait(30) == 0
    log = server.log()
    assert f"shutdown: duplicate {second.name} ignored (state draining)" in log
    assert "Traceback" not in log


def test_signals_arriving_while_the_process_finishes_change_nothing(start_server):
    server = start_server()
    server.signal(signal.SIGTERM)
    # Keep signalling until the process is gone: some land while it closes and exits.
    while server.running():
        try:
            server.signal(signal.SIGINT)
        except ProcessLookupError:
            break
        time.sleep(0.002)
    assert server.wait(30) == 0
    assert "Traceback" not in server.log()


def test_every_database_session_and_redis_connection_is_closed_before_exit(start_server, pg, tmp_path):
    probe = tmp_path / "closed"
    server = start_server(SHUTDOWN_PROBE_FILE=str(probe), SHUTDOWN_PROBE_SECONDS="2")
    # Use the database, the shared Redis client and the channel layer before stopping.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for _ in range(3):
        assert request(conn, "GET", "/health")[0] == 200
    conn.close()
    log_file = Path("/var/log/postgresql") / "postgresql-15-main.log"
    log_offset = log_file.stat().st_size if log_file.exists() else 0

    server.signal(signal.SIGTERM)
    wait_until(probe.exists, what="the closers to run")
    assert server.running()
    sessions = pg.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [server.app_name]
    ).fetchone()[0]
    assert sessions == 0
    clients = redis.Redis.from_url(settings.REDIS_URL).client_list()
    assert [c for c in clients if c.get("name") == server.app_name] == []
    assert server.wait(30) == 0
    log = server.log()
    order = [log.index(f"shutdown: closed {name}") for name in ("channel layer", "database connections")]
    assert order == sorted(order)
    if log_file.exists():
        with log_file.open("rb") as f:
            f.seek(log_offset)
            assert b"unexpected EOF" not in f.read()
