"""Connections split evenly between the Daphne processes sharing one listening socket
(vlvt.server.balance): real processes and real keep-alive connections, counted per process from
/proc; and the shared table itself."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import DaphneProcess, server_env, shared_listening_socket
from vlvt.server import balance

CONNECTIONS = 50


def established_inodes(port: int) -> set[str]:
    """Socket inodes of the established connections whose local end is `port` (the servers' ends)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":
                inodes.add(fields[9])
    return inodes


def connections_of(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


def keep_alive_request(client: socket.socket) -> bytes:
    client.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = client.recv(4096)
        assert chunk, "connection closed before the response"
        reply += chunk
    return reply.split(b"\r\n", 1)[0]


@pytest.mark.django_db(transaction=True)
def test_two_processes_each_hold_half_of_fifty_keep_alive_connections():
    listen = shared_listening_socket()
    servers = [DaphneProcess(server_env(), listen_socket=listen) for _ in range(2)]
    clients: list[socket.socket] = []
    try:
        for _ in range(CONNECTIONS):
            clients.append(socket.create_connection(("127.0.0.1", servers[0].port)))
        for client in clients:
            assert keep_alive_request(client) == b"HTTP/1.1 200 OK"

        inodes = established_inodes(servers[0].port)
        assert len(inodes) == CONNECTIONS
        held = [connections_of(server.proc.pid, inodes) for server in servers]
        assert held == [CONNECTIONS // 2, CONNECTIONS // 2]
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()
        listen.close()


@pytest.fixture
def listen():
    sock = shared_listening_socket()
    yield sock
    balance.table_path(sock).unlink(missing_ok=True)
    sock.close()


def test_only_a_process_with_no_more_connections_than_its_peers_accepts(listen):
    first, second = balance.AcceptBalance.join(listen), balance.AcceptBalance.join(listen)
    assert first.my_turn() and second.my_turn()

    first.opened()
    assert (first.my_turn(), second.my_turn()) == (False, True)
    second.opened()
    assert first.my_turn() and second.my_turn()
    second.opened()
    first.closed()
    assert (first.my_turn(), second.my_turn()) == (True, False)


def test_a_peer_that_stopped_beating_is_not_waited_for(listen, monkeypatch):
    first, second = balance.AcceptBalance.join(listen), balance.AcceptBalance.join(listen)
    first.opened()
    assert not first.my_turn()

    now = balance.time.monotonic()
    monkeypatch.setattr(balance.time, "monotonic", lambda: now + balance.STALE_SECONDS + 1)
    assert first.my_turn()  # the peer's last beat is too old
    second.beat()
    assert not first.my_turn()


def test_a_peer_whose_process_is_gone_is_not_waited_for(listen):
    first, second = balance.AcceptBalance.join(listen), balance.AcceptBalance.join(listen)
    first.opened()
    assert not first.my_turn()

    gone = subprocess.Popen(["true"])
    gone.wait()
    balance._PID.pack_into(second._table, second._offset, gone.pid)  # killed: its slot stays behind
    assert first.my_turn()


def test_a_process_that_leaves_is_not_waited_for_and_the_last_removes_the_table(listen):
    first, second = balance.AcceptBalance.join(listen), balance.AcceptBalance.join(listen)
    first.opened()
    path = balance.table_path(listen)

    second.leave()
    assert first.my_turn()
    assert path.exists()
    first.leave()
    assert not path.exists()
    first.closed()  # a connection ending after listening stopped: counted, no longer published
