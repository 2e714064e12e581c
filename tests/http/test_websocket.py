"""The WebSocket layer of our Daphne server (vlvt.server.websocket) on the wire, with a bare echo application
(tests/support/echo_asgi.py) in a real `daphne` process: RFC 6455 framing, limits, close codes and
the handshake. The Socket.IO endpoint on top of it is tested in tests/chat/test_socket_*.py."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol
from wsproto.connection import Connection, ConnectionType

from tests.support.servers import BIN, ServerProcess, free_port, server_env
from tests.support.wait import wait_until
from vlvt.server.websocket import INBOX_MAX_BYTES, INBOX_MAX_MESSAGES, Inbox, WebSocketConnection

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


class EchoServer(ServerProcess):
    def __init__(self, *options: str) -> None:
        self.port = free_port()
        args = [
            str(BIN / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            *options,
            "tests.support.echo_asgi:application",
        ]
        super().__init__(args, server_env(), name=f"echo-{self.port}")
        self.wait_for_log("vlvt: serving")

    def url(self, path: str = "/echo") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def disconnects(self) -> list[int]:
        return [int(line.split()[1]) for line in self.log().splitlines() if line.startswith("disconnect ")]


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    server = EchoServer("--websocket-max-message-size", "1000", "--websocket-max-frame-size", "600")
    yield server
    server.stop()


def handshake(port: int, path: str = "/echo", *headers: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade"]
    lines += list(headers) or [f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 13"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, rsv: int = 0) -> bytes:
    key = os.urandom(4) if mask else b""
    n = len(payload)
    length = (
        bytes([n | (0x80 if mask else 0)]) if n < 126 else struct.pack("!BH", 126 | (0x80 if mask else 0), n)
    )
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if mask else payload
    return bytes([(0x80 if fin else 0) | rsv | opcode]) + length + key + body


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    b0, b1 = exactly(2)
    assert not b1 & 0x80  # server frames are never masked
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", exactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exactly(8))[0]
    return b0 & 0x0F, exactly(n)


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_text_binary_and_fragmented_messages_echo(echo):
    with ws_connect(echo.url(), open_timeout=5) as ws:
        ws.send("héllo")
        assert ws.recv(timeout=5) == "héllo"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(timeout=5) == b"\x00\x01\xff"
        ws.send(["frag", "men", "ted"])  # one message in three frames
        assert ws.recv(timeout=5) == "fragmented"
        ws.send("x" * 300)  # 16-bit length
        assert ws.recv(timeout=5) == "x" * 300
        assert ws.ping().wait(5)


def test_the_scope_is_the_asgi_websocket_scope(echo):
    with ws_connect(
        echo.url("/echo?a=1"), open_timeout=5, subprotocols=[Subprotocol("chat"), Subprotocol("other")]
    ) as ws:
        assert ws.subprotocol == "chat"
        ws.send("scope")
        scope = dict(eval(ws.recv(timeout=5)))  # noqa: S307 - our own repr of the scope
    assert scope["type"] == "websocket"
    assert scope["path"] == "/echo"
    assert scope["raw_path"] == b"/echo"
    assert scope["query_string"] == b"a=1"
    assert scope["subprotocols"] == ["chat", "other"]
    assert scope["asgi"] == {"version": "3.0"}
    assert scope["client"][0] == "127.0.0.1"
    assert scope["server"] == ("127.0.0.1", echo.port)
    assert (b"sec-websocket-protocol", b"chat, other") in scope["headers"]
    assert (b"upgrade", b"websocket") in scope["headers"]


def test_the_client_close_code_reaches_the_application(echo):
    before = len(echo.disconnects())
    with ws_connect(echo.url(), open_timeout=5) as ws:
        ws.close(code=4321, reason="bye")
        assert ws.close_code == 4321  # echoed by the server
    wait_until(lambda: 4321 in echo.disconnects()[before:], what="the disconnect with the code")


def test_the_application_closes_with_its_code(echo):
    for code in (1000, 1001, 1012, 4000):
        with ws_connect(echo.url(), open_timeout=5) as ws:
            ws.send(f"close {code}")
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == code


def test_a_dropped_connection_is_a_1006_disconnect(echo):
    before = len(echo.disconnects())
    sock, head = handshake(echo.port)
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    sock.close()
    wait_until(lambda: 1006 in echo.disconnects()[before:], what="the disconnect with 1006")


def test_the_handshake_answer(echo):
    sock, head = handshake(echo.port)
    with sock:
        assert head == (
            b"HTTP/1.1 101 Switching Protocols\r\nServer: daphne\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        )


@pytest.mark.parametrize(
    "headers, answer",
    [
        (
            (f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 8"),
            b"HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ),
        (("Sec-WebSocket-Version: 13",), b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        (("Sec-WebSocket-Key: c2hvcnQ=", "Sec-WebSocket-Version: 13"), b"HTTP/1.1 400 Bad Request\r\n\r\n"),
    ],
)
def test_an_invalid_handshake_is_refused_without_an_application(echo, headers, answer):
    sock, head = handshake(echo.port, "/echo", *headers)
    with sock:
        assert head == answer
        assert closed_by_server(sock)


def test_an_application_that_closes_before_accepting_refuses_with_403(echo):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(echo.url("/reject"), open_timeout=5)
    assert refused.value.response.status_code == 403


def test_an_application_that_fails_before_accepting_gets_500_and_after_1011(echo):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(echo.url("/crash"), open_timeout=5)
    assert refused.value.response.status_code == 500

    with ws_connect(echo.url(), open_timeout=5) as ws:
        ws.send("raise")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)  # Daphne's application checker runs once a second
        assert ws.close_code == 1011


@pytest.mark.parametrize(
    "frame, code",
    [
        (client_frame(0x1, b"unmasked", mask=False), 1002),
        (client_frame(0x1, b"rsv", rsv=0x40), 1002),
        (client_frame(0x3, b"reserved opcode"), 1002),
        (client_frame(0x0, b"continuation of nothing"), 1002),
        (client_frame(0x9, b"fragmented ping", fin=False), 1002),
        (client_frame(0x9, b"p" * 126), 1002),
        (client_frame(0x8, b"\x03"), 1002),  # a one-byte close payload
        (client_frame(0x8, struct.pack("!H", 1005)), 1002),  # a code that may not be sent
        (client_frame(0x1, b"\xff\xfe"), 1007),
        (client_frame(0x1, b"x" * 601), 1009),  # over the frame limit
        (
            client_frame(0x1, b"x" * 500, fin=False) + client_frame(0x0, b"x" * 501),
            1009,
        ),  # over the message limit
    ],
)
def test_protocol_violations_fail_the_connection_with_their_code(echo, frame, code):
    sock, head = handshake(echo.port)
    with sock:
        assert head.startswith(b"HTTP/1.1 101")
        sock.sendall(frame)
        assert read_frame(sock) == (0x8, struct.pack("!H", code))
        assert closed_by_server(sock)


def test_frames_split_anywhere_are_reassembled(echo):
    sock, head = handshake(echo.port)
    with sock:
        data = (
            client_frame(0x1, b"first", fin=False)
            + client_frame(0x9, b"ping")
            + client_frame(0x0, b" second")
        )
        for i in range(len(data)):  # one byte at a time
            sock.sendall(data[i : i + 1])
            time.sleep(0.001)
        assert read_frame(sock) == (0xA, b"ping")  # a control frame may come between fragments
        assert read_frame(sock) == (0x1, b"first second")


def test_an_idle_connection_is_pinged_and_dropped_without_a_pong():
    server = EchoServer("--ping-interval", "1", "--ping-timeout", "2")
    try:
        sock, head = handshake(server.port)
        with sock:
            assert head.startswith(b"HTTP/1.1 101")
            assert read_frame(sock)[0] == 0x9  # within Daphne's 2 s timeout checks
            assert closed_by_server(sock) or closed_by_server(sock)  # no pong: dropped
        wait_until(lambda: server.disconnects(), what="the disconnect")
        assert server.disconnects() == [1006]
    finally:
        server.stop()


def test_the_inbox_is_a_fifo_that_a_cancelled_get_loses_nothing_from():
    async def scenario() -> list:
        inbox = Inbox()
        inbox.put_nowait(1)
        inbox.put_nowait(2)
        got = [await inbox.get(), await inbox.get()]
        waiting = asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        idle_while_waiting = inbox.idle()
        inbox.put_nowait(3)
        waiting.cancel()  # woken, but cancelled before it ran: 3 stays in the inbox
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        got.append(await inbox.get())
        first, second = asyncio.ensure_future(inbox.get()), asyncio.ensure_future(inbox.get())
        await asyncio.sleep(0)
        inbox.put_nowait(4)
        inbox.put_nowait(5)
        got.append(sorted([await first, await second]))
        return [got, idle_while_waiting, inbox.idle(), inbox.empty(), inbox.qsize()]

    assert asyncio.run(scenario()) == [[1, 2, 3, [4, 5]], True, False, True, 0]


def test_a_connection_stops_reading_while_its_application_is_behind():
    """A client that sends faster than the application reads is held back by TCP: the connection
    pauses its transport once the inbox holds INBOX_MAX_MESSAGES messages or INBOX_MAX_BYTES, and
    resumes it once the application has read everything."""
    calls: list[str] = []

    class Transport:
        def pauseProducing(self) -> None:
            calls.append("pause")

        def resumeProducing(self) -> None:
            calls.append("resume")

    async def scenario() -> list[tuple[int, list[str]]]:
        connection = WebSocketConnection(server=None, path="/socket.io/", key=b"k")
        connection.transport, connection.ws, connection.inbox = (
            Transport(),
            Connection(ConnectionType.SERVER),
            Inbox(),
        )
        seen = []
        for _ in range(INBOX_MAX_MESSAGES + 1):
            connection._message("2")
            seen.append((connection.inbox.qsize(), list(calls)))
        for _ in range(INBOX_MAX_MESSAGES + 1):
            await connection.inbox.get()
            seen.append((connection.inbox.qsize(), list(calls)))
        connection._message("x" * INBOX_MAX_BYTES)  # one message of the byte bound
        seen.append((connection.inbox.qsize(), list(calls)))
        return seen

    seen = asyncio.run(scenario())
    n = INBOX_MAX_MESSAGES
    assert seen[n - 2] == (n - 1, [])
    assert seen[n - 1] == (n, ["pause"])
    assert seen[n] == (n + 1, ["pause"])  # paused once, however many more arrive from that read
    assert seen[2 * n] == (1, ["pause"])  # nothing resumed until the inbox is empty
    assert seen[2 * n + 1] == (0, ["pause", "resume"])
    assert seen[2 * n + 2] == (1, ["pause", "resume", "pause"])
