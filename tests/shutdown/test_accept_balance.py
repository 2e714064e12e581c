"""Connections split evenly between the Daphne processes sharing one listening socket
(vlvt.server.balance): real processes and real keep-alive connections, counted per process from
/proc; the shared table itself; and the start-up sweep of tables whose processes were killed."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import threading
import time
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


def gone_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


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

    balance._PID.pack_into(second._table, second._offset, gone_pid())  # killed: its slot stays behind
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


# --- the sweep of tables left by killed processes ----------------------------------------------


def slots_of(path: Path) -> list[tuple[int, int, float]]:
    data = path.read_bytes()[: balance.SLOTS * balance._SLOT.size]  # (the CPUs follow the slots)
    return [balance._SLOT.unpack_from(data, offset) for offset in range(0, len(data), balance._SLOT.size)]


def wait_until_beats_are_stale(path: Path) -> None:
    """Until every slot's last beat is older than STALE_SECONDS (a killed process's slot counts as
    owned until then, in case its process is one this one cannot see)."""
    while any(pid and time.monotonic() - beat < balance.STALE_SECONDS for pid, _, beat in slots_of(path)):
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_a_starting_server_removes_the_table_of_a_killed_pair_and_keeps_a_live_ones():
    killed_socket, live_socket, new_socket = (shared_listening_socket() for _ in range(3))
    killed_table, live_table, new_table = (
        balance.table_path(s) for s in (killed_socket, live_socket, new_socket)
    )
    servers = [DaphneProcess(server_env(), listen_socket=killed_socket) for _ in range(2)]
    servers.append(DaphneProcess(server_env(), listen_socket=live_socket))
    try:
        killed = servers[:2]
        assert sorted(pid for pid, _, _ in slots_of(killed_table) if pid) == sorted(s.pid for s in killed)
        for server in killed:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        assert killed_table.exists()  # nobody left it
        wait_until_beats_are_stale(killed_table)

        servers.append(DaphneProcess(server_env(), listen_socket=new_socket))
        assert not killed_table.exists()
        assert [pid for pid, _, _ in slots_of(live_table) if pid] == [servers[2].pid]
        assert [pid for pid, _, _ in slots_of(new_table) if pid] == [servers[3].pid]
        assert (
            f"accept balance: removed {killed_table.name}, left by processes that are gone"
            in servers[3].log()
        )
        assert "accept balance: removed" not in servers[2].log()
    finally:
        for server in servers:
            server.stop()
        for sock in (killed_socket, live_socket, new_socket):
            balance.table_path(sock).unlink(missing_ok=True)
            sock.close()
    assert not live_table.exists() and not new_table.exists()  # each left by its last process


def write_table(path: Path, *slots: tuple[int, int, float]) -> Path:
    path.write_bytes(b"".join(balance._SLOT.pack(*slot) for slot in slots))
    return path


def test_the_sweep_removes_only_tables_no_process_owns(tmp_path):
    now = time.monotonic()
    stale = now - balance.STALE_SECONDS - 1
    dead, fresh_dead, live, empty, busy, other = (
        write_table(tmp_path / "vlvt-accept-1-1", (gone_pid(), 3, stale), (gone_pid(), 1, stale)),
        write_table(tmp_path / "vlvt-accept-1-2", (gone_pid(), 3, now)),  # beating: maybe unseen
        write_table(tmp_path / "vlvt-accept-1-3", (gone_pid(), 3, stale), (os.getpid(), 0, stale)),
        write_table(tmp_path / "vlvt-accept-1-4"),
        write_table(tmp_path / "vlvt-accept-1-5", (gone_pid(), 3, stale)),
        write_table(tmp_path / "unrelated", (gone_pid(), 3, stale)),
    )
    with open(busy, "rb") as held:  # a process joining or leaving holds the lock
        fcntl.flock(held, fcntl.LOCK_EX)
        assert balance.sweep_orphans(tmp_path) == [dead, empty]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (fresh_dead, live, busy, other)
    )


def blocked_flock_waiters(path: Path) -> int:
    """How many flock() calls wait on `path`'s file (/proc/locks marks a waiter with "->")."""
    info = os.stat(path)
    inode = f":{info.st_ino} "
    return sum(1 for line in Path("/proc/locks").read_text().splitlines() if "->" in line and inode in line)


def test_a_process_joining_while_its_table_is_removed_joins_the_table_its_name_points_at(listen):
    path = balance.table_path(listen)
    write_table(path, (gone_pid(), 2, 0.0))
    joined: list[balance.AcceptBalance] = []
    with open(path, "rb") as sweeper:
        fcntl.flock(sweeper, fcntl.LOCK_EX)
        joiner = threading.Thread(target=lambda: joined.append(balance.AcceptBalance.join(listen)))
        joiner.start()
        while not blocked_flock_waiters(path):  # it opened the file and waits for the lock
            time.sleep(0.01)
        removed = os.fstat(sweeper.fileno()).st_ino
        path.unlink()  # what the sweep does, under the lock
    joiner.join()

    assert os.stat(path).st_ino != removed
    assert [(pid, held) for pid, held, _ in slots_of(path) if pid] == [(os.getpid(), 0)]
    peer = balance.AcceptBalance.join(listen)
    joined[0].opened()
    assert (joined[0].my_turn(), peer.my_turn()) == (False, True)  # one table: they see each other
    peer.leave()
    joined[0].leave()
    assert not path.exists()
