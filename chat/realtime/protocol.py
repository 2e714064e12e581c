"""Engine.IO v4 and Socket.IO v5 framing over WebSocket text frames.

The packet encoders and decoders are python-engineio's and python-socketio's (`packet` modules);
this module adds what a server needs around them: the handshake checks the official Node server
makes (`engine.io` `Server.verify` and `handshake`), the open packet, and packet validation the
way `socket.io-parser` does it (an invalid packet is a protocol error, not a payload error).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from engineio import packet as eio
from socketio import packet as sio

from vlvt.http import strictjson

# Engine.IO error codes and messages, as `engine.io` `Server.errors` / `Server.errorMessages`.
UNKNOWN_TRANSPORT = 0
UNKNOWN_SID = 1
BAD_HANDSHAKE_METHOD = 2
BAD_REQUEST = 3
FORBIDDEN = 4
UNSUPPORTED_PROTOCOL_VERSION = 5
ERROR_MESSAGES = {
    UNKNOWN_TRANSPORT: "Transport unknown",
    UNKNOWN_SID: "Session ID unknown",
    BAD_HANDSHAKE_METHOD: "Bad handshake method",
    BAD_REQUEST: "Bad request",
    FORBIDDEN: "Forbidden",
    UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}

# Engine.IO packet types (text frames carry "<type><data>").
OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = (str(t) for t in range(7))


def new_sid() -> str:
    """20 URL-safe characters, like the `base64id` ids of the Node server."""
    return secrets.token_urlsafe(15)


def query_params(scope: Mapping[str, Any]) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def handshake_error(query: dict[str, str], *, is_upgrade: bool, method: str = "GET") -> int | None:
    """The Engine.IO error code the official server gives this handshake, or None to go on.

    Only `transports: ['websocket']` and `allowEIO3: false`: polling (or no transport) is an unknown
    transport, checked first; then a session id we cannot know; then the protocol revision, where
    anything but "4" counts as 3.
    """
    if query.get("transport") != "websocket":
        return UNKNOWN_TRANSPORT
    if query.get("sid"):
        return UNKNOWN_SID
    if method != "GET":
        return BAD_HANDSHAKE_METHOD
    if not is_upgrade:
        return BAD_REQUEST
    if query.get("EIO") != "4":
        return UNSUPPORTED_PROTOCOL_VERSION
    return None


def error_body(code: int) -> dict[str, Any]:
    return {"code": code, "message": ERROR_MESSAGES[code]}


_REASONS = {400: "Bad Request", 403: "Forbidden"}


def upgrade_refusal(status: int, code: int) -> bytes:
    """The raw HTTP response refusing a WebSocket upgrade, byte for byte what `engine.io`'s
    `abortUpgrade` writes on the socket: the error message as a text body (not the JSON of the
    polling answers), then the connection is closed."""
    body = ERROR_MESSAGES[code].encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\nConnection: close\r\nContent-type: text/html\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def open_packet(sid: str, *, ping_interval: int, ping_timeout: int, max_payload: int) -> str:
    data = {
        "sid": sid,
        "upgrades": [],
        "pingInterval": ping_interval,
        "pingTimeout": ping_timeout,
        "maxPayload": max_payload,
    }
    return eio.Packet(eio.OPEN, data).encode()


def message(packet: sio.Packet) -> str:
    """An Engine.IO MESSAGE frame carrying one Socket.IO packet."""
    return MESSAGE + packet.encode()


def connect_ok(sid: str, namespace: str = "/") -> str:
    return message(sio.Packet(sio.CONNECT, {"sid": sid}, namespace=namespace, binary=False))


def connect_error(text: str, namespace: str = "/") -> str:
    return message(sio.Packet(sio.CONNECT_ERROR, {"message": text}, namespace=namespace, binary=False))


def event(name: str, *args: Any) -> str:
    return message(sio.Packet(sio.EVENT, [name, *args], binary=False))


def ack(ack_id: int, *args: Any, namespace: str = "/") -> str:
    return message(sio.Packet(sio.ACK, list(args), namespace=namespace, id=ack_id, binary=False))


class ProtocolError(ValueError):
    """A frame that is not valid Engine.IO/Socket.IO: the official server closes the connection."""


class PayloadRejected(Exception):
    """A well-formed packet whose JSON no handler could use (vlvt.http.strictjson: a lone surrogate,
    nesting deeper than 32, a number beyond the double range). The socket stays up; an event that
    asked for an ack is answered `{success:false, error:<message>}`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_PAYLOAD_PROBLEMS = {
    "unicode": "Invalid Unicode in payload (an unpaired surrogate)",
    "depth": "Payload nested too deeply",
    "number": "Number out of range in payload",
}


class _StrictJson:
    """The `json` python-socketio's Packet decodes with: vlvt.http.strictjson's checks."""

    loads = staticmethod(strictjson.loads)
    dumps = staticmethod(json.dumps)


class _IncomingPacket(sio.Packet):
    json = _StrictJson


@dataclass(slots=True)
class Incoming:
    """One decoded Socket.IO packet."""

    type: int
    namespace: str
    data: Any
    ack_id: int | None


_RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


def _valid_event_name(name: Any) -> bool:
    if isinstance(name, bool):
        return False
    return isinstance(name, int) or (isinstance(name, str) and name not in _RESERVED_EVENTS)


def decode(payload: str) -> Incoming:
    """A Socket.IO packet (the Engine.IO MESSAGE body), validated as `socket.io-parser` does;
    PayloadRejected for JSON that parses but that no handler could use."""
    try:
        packet = _IncomingPacket(encoded_packet=payload)
    except strictjson.JsonInputError as exc:
        if exc.problem == "malformed":
            raise ProtocolError("invalid JSON") from None
        raise PayloadRejected(_PAYLOAD_PROBLEMS[exc.problem]) from None
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ProtocolError(str(exc)) from None
    if packet.attachment_count:
        raise ProtocolError("binary packets are not supported")
    kind, data = packet.packet_type, packet.data
    valid = {
        sio.CONNECT: data is None or isinstance(data, dict),
        sio.DISCONNECT: data is None,
        sio.EVENT: isinstance(data, list) and bool(data) and _valid_event_name(data[0]),
        sio.ACK: isinstance(data, list),
    }.get(kind, False)
    if not valid:
        raise ProtocolError(f"invalid packet type {kind!r} or payload")
    return Incoming(kind, packet.namespace or "/", data, packet.id)


def peek_ack_id(payload: str) -> int | None:
    """The ack id of an EVENT packet without parsing its (possibly huge) JSON body."""
    if not payload.startswith("2"):
        return None
    rest = payload[1:]
    if rest.startswith("/"):
        comma = rest.find(",")
        if comma < 0:
            return None
        rest = rest[comma + 1 :]
    digits = ""
    for ch in rest[:20]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None
