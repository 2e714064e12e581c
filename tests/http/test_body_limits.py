"""Request bodies over their limit are refused by a real Daphne before they are read
(vlvt/server/shutdown/daphne.py): a declared 300 MB body as soon as its headers are in (no temporary
file, no memory), a chunked body once it passes the limit; 413 with the JSON error, then closed."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from tests.support.servers import start_daphne


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _open_temp_files(pid: int, tmpdir: Path) -> list[str]:
    fds = Path(f"/proc/{pid}/fd")
    return [target for fd in os.listdir(fds) if (target := os.readlink(fds / fd)).startswith(str(tmpdir))]


def _exchange(port: int, request: bytes) -> tuple[bytes, dict, bytes]:
    """Send, then read until the server closes: (head, JSON body, anything after the response)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(20)
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")).split(b":")[
            1
        ]
    )
    return head, json.loads(rest[:length]), rest[length:]


@pytest.fixture
def server(tmp_path):
    daphne = start_daphne(TMPDIR=str(tmp_path))
    yield daphne, tmp_path
    daphne.stop()


@pytest.mark.django_db(transaction=True)
def test_a_declared_300_mb_body_is_refused_before_it_is_read(server):
    daphne, tmpdir = server
    peak_before = _peak_rss_kb(daphne.pid)

    head, body, after = _exchange(
        daphne.port,
        b"POST /swipes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 314572800\r\n\r\n",
    )

    assert head.split(b"\r\n")[0] == b"HTTP/1.1 413 Content Too Large"
    assert b"connection: close" in head.lower()
    assert body == {"success": False, "error": "Request body too large"}
    assert after == b""  # the connection was closed after the answer
    assert _open_temp_files(daphne.pid, tmpdir) == []
    assert _peak_rss_kb(daphne.pid) - peak_before < 20 * 1024


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_is_cut_off_past_the_limit(server):
    daphne, tmpdir = server
    piece = b"x" * 20_000  # past the 10 KB JSON limit; the terminating chunk never comes

    head, body, after = _exchange(
        daphne.port,
        b"POST /swipes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(piece):x}\r\n".encode()
        + piece
        + b"\r\n",
    )

    assert head.split(b"\r\n")[0] == b"HTTP/1.1 413 Content Too Large"
    assert body == {"success": False, "error": "Request body too large"}
    assert after == b""
    assert _open_temp_files(daphne.pid, tmpdir) == []
