"""Each Daphne process on one CPU, the processes of one socket on different CPUs
(vlvt.server.affinity, placed in vlvt.server.balance's table): real processes, their threads'
affinity read from the kernel."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support.servers import DaphneProcess, server_env, shared_listening_socket
from vlvt.server import affinity, balance

ALLOWED = sorted(os.sched_getaffinity(0))


def cpus_of(pid: int) -> set[frozenset[int]]:
    """The distinct CPU sets of the process's threads."""
    found = set()
    for name in os.listdir(f"/proc/{pid}/task"):
        try:
            found.add(frozenset(os.sched_getaffinity(int(name))))
        except ProcessLookupError:
            continue
    return found


def placed_cpu(pid: int) -> int:
    """The one CPU every thread of `pid` is kept on (fails when they are not all on one)."""
    (cpus,) = cpus_of(pid)
    (cpu,) = cpus
    return cpu


def serve_requests(port: int) -> None:
    """A request on a request thread and one on a probe thread: both lanes' threads exist."""
    assert httpx.get(f"http://127.0.0.1:{port}/no-such-route").status_code == 404
    assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200


def test_the_emptiest_cpu_is_chosen_and_ties_go_by_pid():
    assert affinity.choose([0, 1], [], pid=10) == 0
    assert affinity.choose([0, 1], [], pid=11) == 1
    assert affinity.choose([0, 1], [0], pid=10) == 1
    assert affinity.choose([0, 1, 2, 3], [0, 1, 1, 3], pid=7) == 2
    assert affinity.choose([2, 3], [0, 1, 2], pid=4) == 3  # a peer's CPU this process may not use
    assert affinity.choose([0, 1], [0, 1], pid=5) == 1


def test_a_process_moves_only_when_that_leaves_the_cpus_more_even():
    assert affinity.crowded([0, 1], 0, [0])  # two on 0, none on 1
    assert not affinity.crowded([0, 1], 0, [1])
    assert not affinity.crowded([0, 1], 0, [0, 1])  # two and one: a move makes one and two
    assert affinity.crowded([0, 1], 1, [1, 1, 0])
    assert not affinity.crowded([0], 0, [0, 0])


@contextmanager
def on_one_socket(count: int) -> Iterator[tuple[socket.socket, list[DaphneProcess]]]:
    """`count` Daphne processes started one after the other on one listening socket."""
    listen = shared_listening_socket()
    servers: list[DaphneProcess] = []
    try:
        for _ in range(count):
            servers.append(DaphneProcess(server_env(), listen_socket=listen))
        yield listen, servers
    finally:
        for server in servers:
            server.stop()
        listen.close()


@pytest.mark.django_db(transaction=True)
def test_two_processes_on_one_socket_each_keep_every_thread_on_a_cpu_of_its_own():
    assert len(ALLOWED) >= 2, "the machine's CPUs: placement needs two"
    with on_one_socket(2) as (listen, servers):
        for _ in range(4):
            serve_requests(servers[0].port)
        placed = [placed_cpu(server.pid) for server in servers]
        assert len(set(placed)) == 2 and set(placed) <= set(ALLOWED)
        table = balance.table_path(listen).read_bytes()
        published = {
            balance._SLOT.unpack_from(table, slot * balance._SLOT.size)[0]: balance._CPU.unpack_from(
                table, balance._CPUS_AT + slot * balance._CPU.size
            )[0]
            - 1
            for slot in range(balance.SLOTS)
            if balance._SLOT.unpack_from(table, slot * balance._SLOT.size)[0]
        }
        assert published == {server.pid: cpu for server, cpu in zip(servers, placed, strict=True)}


@pytest.mark.django_db(transaction=True)
def test_after_a_rolling_restart_leaves_two_processes_on_one_cpu_one_of_them_moves():
    # One process per CPU, then a replacement: it shares a CPU with one of them.
    with on_one_socket(len(ALLOWED) + 1) as (_, servers):
        *placed_first, replacement = servers
        shared = placed_cpu(replacement.pid)
        (beside,) = (s for s in placed_first if placed_cpu(s.pid) == shared)
        leaving = next(s for s in placed_first if s is not beside)
        leaving.stop()  # its CPU is empty now, and two processes share another
        left = [s for s in servers if s is not leaving]
        deadline = time.monotonic() + 5
        while placed_cpu(beside.pid) == placed_cpu(replacement.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(placed_cpu(s.pid) for s in left) == ALLOWED
        moved = [s for s in left if "cpu placement: moved from CPU" in s.log()]
        assert len(moved) == 1 and moved[0] in (beside, replacement)  # only one of the two moved
        serve_requests(replacement.port)
        assert all(len(cpus_of(s.pid)) == 1 for s in left)


@pytest.mark.django_db(transaction=True)
def test_with_cpu_affinity_off_the_kernel_places_every_thread():
    server = DaphneProcess({**server_env(), "CPU_AFFINITY": "off"})
    try:
        serve_requests(server.port)
        assert cpus_of(server.pid) == {frozenset(ALLOWED)}
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_a_lone_process_keeps_its_threads_on_one_cpu():
    server = DaphneProcess(server_env())
    try:
        serve_requests(server.port)
        assert placed_cpu(server.pid) in ALLOWED
    finally:
        server.stop()


def test_an_unknown_cpu_affinity_setting_stops_start_up():
    listen = shared_listening_socket()
    server = DaphneProcess(
        {**server_env(), "CPU_AFFINITY": "pinned"}, listen_socket=listen, wait_serving=False
    )
    try:
        assert server.wait() == 1
        assert "vlvt: setting CPU_AFFINITY must be one of auto, off, got 'pinned'" in server.log()
    finally:
        server.stop()
        listen.close()


def test_a_table_of_an_earlier_release_keeps_its_slots_and_gains_the_cpus():
    """An earlier release's table holds only the slots; a process joining it extends it, and the
    slots stay where a process of that release reads them."""
    listen = shared_listening_socket()
    path = balance.table_path(listen)
    path.write_bytes(balance._SLOT.pack(os.getpid(), 3, time.monotonic()).ljust(balance._CPUS_AT, b"\0"))
    try:
        joined = balance.AcceptBalance.join(listen)  # (no placement: it would pin this process)
        data = path.read_bytes()
        assert len(data) == balance.TABLE_BYTES
        assert balance._SLOT.unpack_from(data, 0)[:2] == (os.getpid(), 3)
        assert balance._SLOT.unpack_from(data, balance._SLOT.size)[:2] == (os.getpid(), 0)
        joined.opened()
        assert balance._SLOT.unpack_from(path.read_bytes(), balance._SLOT.size)[:2] == (os.getpid(), 1)
        joined.leave()
    finally:
        path.unlink(missing_ok=True)
        listen.close()
