"""Engine.IO / Socket.IO framing on the wire, byte for byte, with a raw WebSocket client.

What the official client cannot be made to do (skip pongs, speak EIO=3, send malformed packets) is
tested here; everything it does is tested with it (test_socket_*.py).
"""
from __future__ import annotations

import http.client
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.support.jsclient import JsClient
from tests.support.sockets import daphne_server, make_match, make_user
from vlvt.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)

WS_QUERY = "/socket.io/?EIO=4&transport=websocket"


@pytest.fixture
def daphne():
    with daphne_server() as server:
        yield server


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


@pytest.mark.parametrize(
    "query",
    [
        "/socket.io/?EIO=3&transport=websocket",
        "/socket.io/?transport=websocket",
        "/socket.io/?EIO=4&transport=polling",
        "/socket.io/?EIO=4",
        "/socket.io/?EIO=4&transport=websocket&sid=abc",
    ],
)
def test_other_protocol_revisions_and_transports_are_refused_at_the_handshake(daphne, query):
    with pytest.raises(InvalidStatus) as refused:
        raw(daphne, query)
    # Daphne can only refuse an upgrade with 403 (the Node server writes 400 on the raw socket).
    assert refused.value.response.status_code == 403


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
    assert response.getheader("Content-Type").startswith("application/json")
    assert json.loads(response.read()) == body


def test_origin_is_checked_only_when_present(daphne):
    with pytest.raises(InvalidStatus) as refused:
        raw(daphne, origin="https://evil.example")
    assert refused.value.response.status_code == 403

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
    with daphne_server(SOCKET_PING_INTERVAL_MS="200", SOCKET_PING_TIMEOUT_MS="300") as server, JsClient() as js:
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
    with daphne_server(SOCKET_PING_INTERVAL_MS="200", SOCKET_PING_TIMEOUT_MS="300") as server, JsClient() as js:
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
