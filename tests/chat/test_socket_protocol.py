"""Engine.IO / Socket.IO framing on the wire, byte for byte, with a raw WebSocket client.

What the official client cannot be made to do (skip pongs, speak EIO=3, send malformed packets) is
tested here; everything it does is tested with it (test_socket_*.py).
"""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from chat.routing import websocket_urlpatterns
from tests.support.jsclient import JsClient
from tests.support.sockets import daphne_server, make_match, make_user
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)

WS_QUERY = "/socket.io/?EIO=4&transport=websocket"


def raw(server, query: str = WS_QUERY, **kwargs):
    return ws_connect(server.ws_url + query, open_timeout=5, **kwargs)


def opened(server, **kwargs):
    """A raw connection past the Engine.IO open packet; returns (ws, open data)."""
    ws = raw(server, **kwargs)
    first = ws.recv(timeout=5)
    assert first[0] == "0"
    return ws, json.loads(first[1:])


def sio_connect(ws, token: str) -> dict:
    ws.send("40" + json.dumps({"token": token}))
    reply = ws.recv(timeout=5)
    assert reply.startswith("40{"), reply
    return json.loads(reply[2:])


def closed(ws, timeout: float = 5) -> bool:
    """Read until the server closes the connection."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False
    return False


def test_open_packet_carries_sid_and_the_heartbeat_settings(daphne):
    ws, data = opened(daphne)
    with ws:
        assert set(data) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert len(data["sid"]) == 20
        assert (data["upgrades"], data["pingInterval"], data["pingTimeout"], data["maxPayload"]) == (
            [],
            25000,
            60000,
            65536,
        )


def upgrade(server, target: str, *headers: str, until_closed: bool = True) -> bytes:
    """The bytes the server writes back to a raw WebSocket upgrade request, until it closes the
    connection (or, with `until_closed=False`, the first chunk after the response head)."""
    request = (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + "".join(f"{h}\r\n" for h in headers)
        + "\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):  # a socket.timeout fails the test: the server kept it open
            received += chunk
            if not until_closed and b"\r\n\r\n" in received and received.split(b"\r\n\r\n", 1)[1]:
                break
        return received


def node_refusal(status_line: str, message: str) -> bytes:
    """What the official server (`engine.io` `abortUpgrade`) writes on the socket, and nothing else."""
    return (
        f"{status_line}\r\nConnection: close\r\nContent-type: text/html\r\n"
        f"Content-Length: {len(message)}\r\n\r\n{message}"
    ).encode()


@pytest.mark.parametrize(
    "query, message",
    [
        ("?EIO=3&transport=websocket", "Unsupported protocol version"),
        ("?transport=websocket", "Unsupported protocol version"),
        ("?EIO=5&transport=websocket", "Unsupported protocol version"),
        ("?EIO=4&transport=polling", "Transport unknown"),
        ("?EIO=4&transport=bogus", "Transport unknown"),
        ("?EIO=4", "Transport unknown"),
        ("?EIO=4&transport=websocket&sid=abc", "Session ID unknown"),
    ],
)
def test_a_refused_upgrade_gets_the_official_servers_400_before_any_application_starts(
    daphne, query, message
):
    answer = upgrade(daphne, "/socket.io/" + query)

    assert answer == node_refusal("HTTP/1.1 400 Bad Request", message)
    log = daphne.log()
    assert f"socket upgrade refused: {message} (400)" in log
    assert "WSCONNECTING" not in log  # Daphne never created an application instance
    assert "socket handshake refused" not in log  # (the consumer's own check, the fallback)


def test_a_good_upgrade_still_switches_protocols_and_opens(daphne):
    answer = upgrade(daphne, WS_QUERY, until_closed=False)

    head, frame = answer.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 101 Switching Protocols"
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head.split(b"\r\n")
    assert frame[:1] == b"\x81"  # a text frame: the Engine.IO open packet
    assert frame[2:4] == b"0{"
    assert "socket upgrade refused" not in daphne.log()


def test_the_consumer_still_refuses_a_bad_handshake_on_a_server_without_the_upgrade_checks():
    app = URLRouter(websocket_urlpatterns)  # type: ignore[arg-type]  # Django URL patterns of ASGI applications, as Channels takes them

    async def connect(query: str):
        communicator = WebsocketCommunicator(app, "/socket.io/" + query)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(connect)("?EIO=3&transport=websocket") is False
    assert async_to_sync(connect)("?EIO=4&transport=websocket&sid=abc") is False


@pytest.mark.parametrize(
    "query, body",
    [
        ("?EIO=4&transport=polling", {"code": 0, "message": "Transport unknown"}),
        ("?EIO=3&transport=polling", {"code": 0, "message": "Transport unknown"}),
        ("?EIO=4&transport=polling&sid=abc", {"code": 0, "message": "Transport unknown"}),
        ("", {"code": 0, "message": "Transport unknown"}),
        ("?EIO=4&transport=websocket", {"code": 3, "message": "Bad request"}),
    ],
)
def test_http_long_polling_gets_the_engineio_error(daphne, query, body):
    conn = http.client.HTTPConnection("127.0.0.1", daphne.port, timeout=5)
    conn.request("GET", "/socket.io/" + query)
    response = conn.getresponse()

    assert response.status == 400
    assert (response.getheader("Content-Type") or "").startswith("application/json")
    assert json.loads(response.read()) == body


def test_origin_is_checked_only_when_present(daphne):
    refused = upgrade(daphne, WS_QUERY, "Origin: https://evil.example")
    assert refused == node_refusal("HTTP/1.1 403 Forbidden", "Forbidden")

    with raw(daphne, origin="http://localhost:19006") as ws:  # the configured CORS_ORIGIN
        assert ws.recv(timeout=5)[0] == "0"
    with raw(daphne) as ws:  # native clients send no Origin
        assert ws.recv(timeout=5)[0] == "0"


def test_server_pings_and_a_ponging_client_stays_connected():
    with daphne_server(SOCKET_PING_INTERVAL_MS="200", SOCKET_PING_TIMEOUT_MS="400") as server:
        ws, data = opened(server)
        with ws:
            assert (data["pingInterval"], data["pingTimeout"]) == (200, 400)
            sio_connect(ws, mint_token(make_user()))
            for _ in range(5):
                assert ws.recv(timeout=5) == "2"
                ws.send("3")
            ws.send('421["ping"]')
            assert ws.recv(timeout=5).startswith('431[{"timestamp":')


def test_a_missed_pong_closes_the_connection_and_runs_the_disconnect_logic():
    alice, bob = make_user("Alice"), make_user("Bob")
    make_match(alice, bob)
    with (
        daphne_server(SOCKET_PING_INTERVAL_MS="200", SOCKET_PING_TIMEOUT_MS="300") as server,
        JsClient() as js,
    ):
        js.connect("bob", server.base_url, token=mint_token(bob))
        ws, _ = opened(server)
        with ws:
            sio_connect(ws, mint_token(alice))
            assert js.wait_event("bob", "user_status_changed")[0]["isOnline"] is True
            while ws.recv(timeout=5) != "2":  # (events may come first) ... and no pong
                pass

            assert closed(ws)
            assert js.wait_event("bob", "user_status_changed", count=2)[0]["isOnline"] is False


def test_official_client_keeps_a_short_heartbeat_alive():
    user = make_user()
    with (
        daphne_server(SOCKET_PING_INTERVAL_MS="200", SOCKET_PING_TIMEOUT_MS="300") as server,
        JsClient() as js,
    ):
        js.connect("a", server.base_url, token=mint_token(user))
        time.sleep(1.5)  # several ping/pong rounds

        assert js.state("a")["connected"] is True
        assert js.notes("a", "disconnect") == []


def test_no_socketio_connect_in_time_closes_the_connection():
    with daphne_server(SOCKET_CONNECT_TIMEOUT_MS="300") as server:
        ws, _ = opened(server)
        with ws:
            assert closed(ws)


def test_events_before_connect_are_ignored_and_connect_still_works(daphne):
    ws, _ = opened(daphne)
    with ws:
        ws.send('421["ping"]')
        data = sio_connect(ws, mint_token(make_user()))
        assert len(data["sid"]) == 20
        ws.send('422["ping"]')
        assert ws.recv(timeout=5).startswith('432[{"timestamp":')


def test_other_namespaces_are_refused(daphne):
    ws, _ = opened(daphne)
    with ws:
        ws.send("40/admin," + json.dumps({"token": mint_token(make_user())}))
        assert ws.recv(timeout=5) == '44/admin,{"message":"Invalid namespace"}'


def test_connect_error_packet_is_exactly_the_message(daphne):
    ws, _ = opened(daphne)
    with ws:
        ws.send('40{"token":"bad"}')
        assert ws.recv(timeout=5) == '44{"message":"Invalid authentication token"}'
        ws.send("40")
        assert ws.recv(timeout=5) == '44{"message":"Authentication token required"}'


def test_ack_packet_format(daphne):
    ws, _ = opened(daphne)
    with ws:
        sio_connect(ws, mint_token(make_user()))
        ws.send('4217["send_message",null]')
        assert ws.recv(timeout=5) == '4317[{"success":false,"error":"Invalid message data"}]'


@pytest.mark.parametrize(
    "frame",
    [
        "4garbage",
        "42{not json",
        '42{"an":"object"}',
        '42["connect"]',
        '451-["send_message",{"_placeholder":true,"num":0}]',
        "9",
    ],
)
def test_malformed_packets_close_the_connection_like_the_official_server(daphne, frame):
    ws, _ = opened(daphne)
    with ws:
        sio_connect(ws, mint_token(make_user()))
        ws.send(frame)
        assert closed(ws)


def test_a_v4_client_may_not_ping_the_server(daphne):
    ws, _ = opened(daphne)
    with ws:
        ws.send("2")
        assert closed(ws)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("[" * 3000 + "]" * 3000, "Payload nested too deeply"),
        ("[" * 40 + "]" * 40, "Payload nested too deeply"),
        ('{"matchId":"m","text":"\\ud800"}', "Invalid Unicode in payload (an unpaired surrogate)"),
        ('{"matchId":"m","text":"hi","tempId":' + "9" * 400 + "}", "Number out of range in payload"),
        ('{"matchId":"m","text":"hi","tempId":1e400}', "Number out of range in payload"),
    ],
)
def test_payloads_no_handler_could_use_get_an_error_ack_and_the_socket_stays_up(daphne, payload, error):
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    ws, _ = opened(daphne)
    with ws:
        sio_connect(ws, mint_token(alice))
        ws.send(f'4212["send_message",{payload.replace(chr(34) + "m" + chr(34), json.dumps(match))}]')
        assert ws.recv(timeout=5) == "4312" + json.dumps(
            [{"success": False, "error": error}], separators=(",", ":")
        )
        ws.send('4213["send_message",{"matchId":' + json.dumps(match) + ',"text":"still here"}]')
        assert json.loads(ws.recv(timeout=5)[4:])[0]["message"]["text"] == "still here"
        ws.send('42["typing",' + "[" * 3000 + "]" * 3000 + "]")  # no ack asked: ignored
        ws.send("4214" + '["ping"]')
        assert ws.recv(timeout=5).startswith('4314[{"timestamp":')
    from chat.models import Message

    assert list(Message.objects.values_list("text", flat=True)) == ["still here"]


def test_a_connect_whose_auth_no_handler_could_use_is_refused_and_may_connect_again(daphne):
    ws, _ = opened(daphne)
    with ws:
        ws.send('40{"token":"\\ud800"}')
        assert ws.recv(timeout=5) == '44{"message":"Invalid authentication token"}'
        assert sio_connect(ws, mint_token(make_user()))["sid"]
