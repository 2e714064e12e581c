"""The Twisted and Daphne internals vlvt.server.shutdown.daphne relies on (listed in its docstring), held
to what it expects of them: a real HTTPChannel of our factory on an in-memory transport, fed bytes
as the reactor would. If a pinned upstream changes one of them, a test here fails."""

from __future__ import annotations

import inspect
import json

import pytest
from daphne import cli
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.web import http

from vlvt.server.shutdown.daphne import GracefulWebRequest, TrackingHTTPFactory

JSON_LIMIT = 10 * 1024
MULTIPART_LIMIT = 10 * 1024 * 1024 + 64 * 1024


class _Server:
    """What Daphne's WebRequest asks of its server before the request is processed."""

    def __init__(self) -> None:
        self.connections: dict = {}

    def protocol_connected(self, protocol) -> None:
        self.connections[protocol] = {}

    def protocol_disconnected(self, protocol) -> None:
        self.connections.pop(protocol, None)


@pytest.fixture
def connection():
    factory = TrackingHTTPFactory(_Server())
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
    protocol.makeConnection(transport)
    yield protocol, transport
    protocol.connectionLost(None)


def _channel(protocol) -> http.HTTPChannel:
    return getattr(protocol, "_channel", protocol)


def _head(framing: str, content_type: str = "application/json", extra: str = "") -> bytes:
    return (
        f"POST /swipes HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n{framing}\r\n{extra}\r\n"
    ).encode()


def _answer(transport: StringTransport) -> tuple[bytes, dict]:
    head, _, body = transport.value().partition(b"\r\n\r\n")
    return head, json.loads(body)


@pytest.mark.parametrize(
    ("content_type", "limit", "error"),
    [
        ("application/json", JSON_LIMIT, "Request body too large"),
        ("multipart/form-data; boundary=x", MULTIPART_LIMIT, "File too large"),
    ],
)
def test_a_declared_length_over_the_limit_is_answered_before_any_body_or_100_continue(
    connection, content_type, limit, error
):
    protocol, transport = connection

    protocol.dataReceived(
        _head(f"Content-Length: {limit + 1}", content_type, "Expect: 100-continue\r\n") + b"x" * 100
    )

    head, body = _answer(transport)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head and b"100 Continue" not in transport.value()
    assert body == {"success": False, "error": error}
    assert transport.disconnecting
    request = _channel(protocol).requests[0]
    assert isinstance(request, GracefulWebRequest) and request.content.getvalue() == b""


def test_a_declared_length_at_the_limit_is_read(connection):
    protocol, transport = connection

    protocol.dataReceived(
        _head(f"Content-Length: {JSON_LIMIT}", extra="Expect: 100-continue\r\n") + b"x" * 100
    )

    assert transport.value() == b"HTTP/1.1 100 Continue\r\n\r\n"
    request = _channel(protocol).requests[0]
    request.content.seek(0)
    assert request.content.read() == b"x" * 100
    assert not transport.disconnecting


def test_a_chunked_body_is_cut_off_once_past_the_limit(connection):
    protocol, transport = connection
    protocol.dataReceived(_head("Transfer-Encoding: chunked"))
    piece = b"y" * 4096
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    for _ in range(JSON_LIMIT // len(piece)):
        protocol.dataReceived(chunk)
    assert transport.value() == b"" and not transport.disconnecting
    protocol.dataReceived(chunk)

    head, body = _answer(transport)
    assert head.startswith(b"HTTP/1.1 413 ") and body == {"success": False, "error": "Request body too large"}
    assert transport.disconnecting


def test_the_other_internals_are_where_the_module_expects_them():
    assert cli.CommandLineInterface.server_class is not None
    assert "_parsePOSTFormSubmission" in inspect.getsource(http.Request.requestReceived)
