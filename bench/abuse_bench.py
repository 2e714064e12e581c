#!/usr/bin/env python
"""What one abusive or careless client costs a real Daphne process (issue 13): peak RSS and threads.

    .venv/bin/python bench/abuse_bench.py
    .venv/bin/python bench/abuse_bench.py --only body --only image
    .venv/bin/python bench/abuse_bench.py --root /path/to/an/older/checkout   # the same cases, older code

Every case starts a fresh `daphne vlvt.asgi:application` (one process; its own database
`vlvt_bench_abuse` seeded with `seed_demo`, Redis number 6 like the other benchmarks or
BENCH_REDIS_URL, its own TMPDIR and MEDIA_ROOT), samples the server's RSS, threads and open
temporary files every 20 ms, and reports the RSS before the case, the peak (VmHWM) and after, the
threads at the peak and after:

* `body_declared_300mb`: a POST declaring `Content-Length: 300 MB` whose client sends as fast as the
  server reads, until it is answered or cut off; `body_chunked_300mb`: the same body chunked;
* `socket_flood_60kb`: one authenticated socket sends 10,000 `send_message` events of 60 KB (and
  reads what comes back); `socket_flood_unread`: one socket sends 200,000 small events and never
  reads;
* `image_png16_100mp`: `POST /profile/photos/upload` of a 10000x10000 16-bit PNG (under 1 MB on
  disk); `image_png16_100mp_x4`: four at once to `/verification/submit`; `image_jpeg_48mp`: an
  8000x6000 JPEG (a phone's full-resolution photo);
* `outage_threads`: 400 concurrent `GET /health` while PostgreSQL is unreachable (the server is
  pointed at a closed port; the machine's PostgreSQL is left alone).

`--root` serves another checkout (its .venv is this one's interpreter) to measure the code before a
change with the same cases.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _common as common  # noqa: E402
from bench._sxs import database_url  # noqa: E402
from tests.support.servers import DaphneProcess, free_port  # noqa: E402

MB = 1024 * 1024
QUICK_ARGS = ["--quick"]
HEADLINE = [
    "status", "seconds", "rss_before_mb", "peak_rss_mb", "rss_after_mb", "threads_peak", "threads_after",
    "temp_files_peak_mb", "client_sent_mb", "events_sent", "answered",
]  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = common.parser(__doc__)
    parser.add_argument("--root", default=str(ROOT), help="the checkout to serve (default: this one)")
    parser.add_argument("--only", action="append", default=[], help="cases whose name contains this")
    parser.add_argument("--quick", action="store_true", help="smaller floods (a tenth)")
    common.add_target_arguments(parser, database="vlvt_bench_abuse", redis_db=6, name="abuse_bench")
    return parser.parse_args()


# --- the server and its figures ------------------------------------------------------------------


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            out[key] = int(value.split()[0])
    return out


def _temp_bytes(pid: int, tmpdir: str) -> int:
    """Bytes in the temporary files the process holds open (unlinked ones included)."""
    total = 0
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(fd_dir / fd).startswith(tmpdir):
                total += os.stat(fd_dir / fd).st_size
        except OSError:
            continue
    return total


class Server:
    """One Daphne process of `root`, sampled every 20 ms while `measure()` runs."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="bench-abuse-tmp-")
        env = {**env, "TMPDIR": self.tmpdir, "MEDIA_ROOT": str(Path(self.tmpdir) / "media")}
        self.daphne = DaphneProcess(env, cwd=root, start_timeout=60)
        self.port = self.daphne.port
        self.peak_threads = 0
        self.peak_temp = 0

    def figures(self) -> dict[str, int]:
        return _status(self.daphne.pid)

    def measure(self, run: Callable[[], dict[str, Any]], settle: float = 1.0) -> dict[str, Any]:
        before = self.figures()
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                try:
                    now = self.figures()
                    self.peak_threads = max(self.peak_threads, now["Threads"])
                    self.peak_temp = max(self.peak_temp, _temp_bytes(self.daphne.pid, self.tmpdir))
                except (OSError, KeyError):
                    return
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        result = run()
        result.setdefault("seconds", round(time.monotonic() - started, 3))
        time.sleep(settle)
        stop.set()
        sampler.join()
        after = self.figures()
        return {
            **result,
            "rss_before_mb": round(before["VmRSS"] / 1024, 1),
            "peak_rss_mb": round(after["VmHWM"] / 1024, 1),
            "rss_after_mb": round(after["VmRSS"] / 1024, 1),
            "threads_before": before["Threads"],
            "threads_peak": max(self.peak_threads, after["Threads"]),
            "threads_after": after["Threads"],
            "temp_files_peak_mb": round(self.peak_temp / MB, 1),
        }

    def stop(self) -> None:
        self.daphne.stop(timeout=20)
        shutil.rmtree(self.tmpdir, ignore_errors=True)


# --- HTTP by hand (the cases need control over what is sent and when) ---------------------------


def _read_response(sock: socket.socket, timeout: float = 30) -> tuple[int | None, bytes]:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            None,
        )
        while length is not None and len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, data
    return int(data[9:12]), data.partition(b"\r\n\r\n")[2]


def oversized_body(port: int, *, chunked: bool, size: int) -> dict[str, Any]:
    """Send `size` bytes as fast as the server takes them; stop when it answers or closes."""
    framing = b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}".encode()
    head = (
        b"POST /swipes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + framing
        + b"\r\n\r\n"
    )
    piece = b"x" * MB
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        import select

        while sent < size:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break  # answered (or closed) before the body was sent
            if not writable:
                break
            try:
                sent += sock.send(frame if chunked else piece)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                break
        sock.setblocking(True)
        if chunked and sent >= size:
            with contextlib.suppress(OSError):
                sock.sendall(b"0\r\n\r\n")
        status, _ = _read_response(sock)
    return {"status": status or 0, "client_sent_mb": round(sent / MB, 1)}


def multipart(
    field: str, filename: str, content_type: str, data: bytes, fields: dict[str, str]
) -> tuple[bytes, str]:
    boundary = "benchboundary7d3f"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(port: int, path: str, token: str, body: bytes, content_type: str) -> int:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head + body)
        status, _ = _read_response(sock, timeout=120)
    return status or 0


# --- Socket.IO by hand (wsproto frames on a plain socket: the unread case must never read) --------


class RawSocketIO:
    def __init__(self, port: int, token: str) -> None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import Request

        self.ws = WSConnection(ConnectionType.CLIENT)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(
            self.ws.send(Request(host="127.0.0.1", target="/socket.io/?EIO=4&transport=websocket"))
        )
        self._until(lambda text: text.startswith("0{"))
        self.send_text("40" + json.dumps({"token": token}))
        self._until(lambda text: text.startswith("40{"))

    def _until(self, wanted: Callable[[str], bool]) -> None:
        from wsproto.events import TextMessage

        self.sock.settimeout(20)
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise SystemExit("socket closed during the handshake")
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, TextMessage) and wanted(event.data):
                    return

    def send_text(self, text: str) -> None:
        from wsproto.events import Message

        self.sock.sendall(self.ws.send(Message(data=text)))

    def frame(self, text: str) -> bytes:
        from wsproto.events import Message

        return self.ws.send(Message(data=text))

    def drain_in_background(self) -> None:
        def drain() -> None:
            try:
                while self.sock.recv(1 << 20):
                    pass
            except OSError:
                pass

        threading.Thread(target=drain, daemon=True).start()

    def close(self) -> None:
        self.sock.close()


def socket_flood(
    port: int, token: str, match_id: str, *, events: int, text_bytes: int, read: bool
) -> dict[str, Any]:
    client = RawSocketIO(port, token)
    if read:
        client.drain_in_background()
    sent = 0
    batch: list[bytes] = []
    try:
        for i in range(events):
            event = ["send_message", {"matchId": match_id, "text": "x" * text_bytes, "tempId": f"t{i}"}]
            batch.append(client.frame(f"42{i}" + json.dumps(event)))
            if len(batch) == 100 or i == events - 1:
                client.sock.sendall(b"".join(batch))
                sent += len(batch)
                batch.clear()
    except OSError:
        pass
    result = {"events_sent": sent}
    time.sleep(3)  # the server works through what it received
    client.close()
    return result


# --- images --------------------------------------------------------------------------------------


def png16(width: int, height: int) -> bytes:
    import pyvips

    return pyvips.Image.black(width, height, bands=3).cast("ushort").pngsave_buffer(compression=9)


def phone_jpeg(width: int, height: int) -> bytes:
    import pyvips

    xyz = pyvips.Image.xyz(width, height)
    image = (xyz[0] % 256).bandjoin([xyz[1] % 256, (xyz[0] + xyz[1]) % 256]).cast("uchar")
    return image.copy(interpretation="srgb").jpegsave_buffer(Q=85)


# --- the run -------------------------------------------------------------------------------------


def manage(root: Path, env: dict[str, str], *argv: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


SETUP = """
import json
from django.db import connection
from profiles.services.verification import GESTURE_IDS
from vlvt.http.auth import mint_token
with connection.cursor() as c:
    c.execute("SELECT id, user_id_1 FROM matches ORDER BY id LIMIT 1")
    match_id, sender = c.fetchone()
    c.execute("SELECT user_id FROM profiles WHERE cardinality(photos) > 0 ORDER BY user_id LIMIT 1")
    (uploader,) = c.fetchone()
    c.execute("UPDATE profiles SET photos = photos[1:1], is_verified = false WHERE user_id = %s", [uploader])
    c.execute("UPDATE users SET id_verified = false WHERE id = %s", [uploader])
print(json.dumps({"match": str(match_id), "sender_token": mint_token(sender, expires_in=7200),
                  "uploader_token": mint_token(uploader, expires_in=7200), "gesture": sorted(GESTURE_IDS)[0]}))
"""


def prepare(root: Path, env: dict[str, str], database: str) -> dict[str, str]:
    common.fresh_database(database)
    manage(root, env, "migrate", "--no-input")
    manage(root, env, "seed_demo", "--users", "50", "--matches", "50", "--messages", "0", "--no-progress")
    return json.loads(manage(root, env, "shell", "-c", SETUP).strip().splitlines()[-1])


def cases(
    args: argparse.Namespace, seed: dict[str, str]
) -> dict[str, tuple[dict[str, str], Callable[[int], dict[str, Any]]]]:
    scale = 10 if args.quick else 1
    size = 300 * MB // scale

    def images_at_once(port: int, path: str, body: bytes, content_type: str, count: int) -> dict[str, Any]:
        statuses: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: statuses.append(post(port, path, seed["uploader_token"], body, content_type))
            )
            for _ in range(count)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {"status": max(set(statuses), key=statuses.count), "answered": len(statuses)}

    big_png = png16(10000, 10000)
    photo = multipart("photo", "big.png", "image/png", big_png, {})
    selfie = multipart("selfie", "big.png", "image/png", big_png, {"gesturePrompt": seed["gesture"]})
    jpeg = multipart("photo", "phone.jpg", "image/jpeg", phone_jpeg(8000, 6000), {})
    floods = {"RATE_LIMITS_ENABLED": "true"}
    outage = {
        "DATABASE_URL": f"postgres://root@127.0.0.1:{free_port()}/vlvt",
        "DATABASE_CONNECTION_TIMEOUT_MS": "1000",
    }

    return {
        "body_declared_300mb": ({}, lambda port: oversized_body(port, chunked=False, size=size)),
        "body_chunked_300mb": ({}, lambda port: oversized_body(port, chunked=True, size=size)),
        "socket_flood_60kb": (
            floods,
            lambda port: socket_flood(
                port,
                seed["sender_token"],
                seed["match"],
                events=10_000 // scale,
                text_bytes=60_000,
                read=True,
            ),
        ),
        "socket_flood_unread": (
            floods,
            lambda port: socket_flood(
                port, seed["sender_token"], seed["match"], events=200_000 // scale, text_bytes=10, read=False
            ),
        ),
        "image_png16_100mp": ({}, lambda port: images_at_once(port, "/profile/photos/upload", *photo, 1)),
        "image_png16_100mp_x4": ({}, lambda port: images_at_once(port, "/verification/submit", *selfie, 4)),
        "image_jpeg_48mp": ({}, lambda port: images_at_once(port, "/profile/photos/upload", *jpeg, 1)),
        "outage_threads": (outage, lambda port: outage_burst(port, 400 // scale)),
    }


def outage_burst(port: int, count: int) -> dict[str, Any]:
    async def one() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        data = await reader.read()
        writer.close()
        return int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else 0

    async def burst() -> list[int]:
        return await asyncio.gather(*(one() for _ in range(count)))

    statuses = asyncio.run(burst())
    return {"status": max(set(statuses), key=statuses.count), "answered": sum(1 for s in statuses if s)}


def main() -> int:
    args = parse_args()
    root = Path(args.root).resolve()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vlvt.settings",
        "DATABASE_URL": database_url(args.database),
        "REDIS_URL": args.redis_url,
        "JWT_SECRET": os.environ.get("JWT_SECRET", "bench-jwt-secret"),
        "RATE_LIMITS_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    seed = prepare(root, env, args.database)
    results: dict[str, Any] = {}
    for name, (overrides, run) in cases(args, seed).items():
        if args.only and not any(o in name for o in args.only):
            continue
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        server = Server(root, {**env, **overrides})
        try:
            time.sleep(1)  # imports done, the process settled
            results[name] = server.measure(functools.partial(run, server.port))
        finally:
            server.stop()
        print(name, json.dumps(results[name]), flush=True)
    payload = {"root": str(root), "headline": HEADLINE, "results": results}
    common.write_results(args.json, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
