"""How a Daphne process takes connections from a listening socket it may share with others
(vlvt.server.shutdown.daphne): one per wake-up while serving, so processes woken by the same burst each
take their share; the whole backlog when listening stops, so no completed connection is reset.

A real Twisted port on a real socket, with connections waiting in its backlog; the reactor is
not run: each wake-up is one `doRead()`, as the reactor would call it."""

from __future__ import annotations

import socket
import time

import pytest
from twisted.internet import protocol, tcp

from vlvt.server import balance
from vlvt.server.shutdown.daphne import GracefulServer


class Counting(protocol.Factory):
    def __init__(self) -> None:
        self.accepted = 0

    def buildProtocol(self, addr):  # noqa: N802 (Twisted's name)
        self.accepted += 1
        return protocol.Protocol()


@pytest.fixture
def listening():
    factory = Counting()
    port = tcp.Port(0, factory, interface="127.0.0.1")
    port.startListening()
    server = GracefulServer.__new__(GracefulServer)  # only the listening side: no run()
    server.ports, server.listening_addresses = [], []
    server.listen_success(port)
    clients: list[socket.socket] = []
    yield server, port, factory, clients
    for client in clients:
        client.close()
    balance.leave(port)
    if port.connected:
        port.stopListening()


def connect(port, clients: list[socket.socket], count: int) -> None:
    for _ in range(count):
        clients.append(socket.create_connection(("127.0.0.1", port.getHost().port)))
    time.sleep(0.05)  # the kernel completes the handshakes into the backlog


def test_one_connection_per_wake_up(listening):
    server, port, factory, clients = listening
    connect(port, clients, 5)

    port.doRead()
    assert factory.accepted == 1
    port.doRead()
    port.doRead()
    assert factory.accepted == 3


def test_the_whole_backlog_is_taken_when_listening_stops(listening):
    server, port, factory, clients = listening
    connect(port, clients, 5)
    port.doRead()

    server._stop_listening()

    assert factory.accepted == 5
    assert port.disconnecting  # stopListening() closes the socket on the next reactor turn
    assert server.ports == []
