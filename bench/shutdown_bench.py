#!/usr/bin/env python
"""Benchmark of graceful shutdown: how fast `daphne vlvt.asgi:application` exits on SIGTERM and
what happens to the requests around it (issue 7).

    .venv/bin/python bench/shutdown_bench.py            # 5 idle runs, 50 slow requests, 10 s of load
    .venv/bin/python bench/shutdown_bench.py --idle-runs 2 --load-seconds 4

Runs Daphne with the test settings (`tests.support.settings`, which add the slow route
`/__test__/sleep?seconds=`) on a database of its own (default `vlvt_bench_shutdown`) and Redis
database 10, and measures:

* idle: time from SIGTERM to process exit with nothing in flight (median and max of N runs);
* in_flight: 50 requests of 2 s each in flight when SIGTERM arrives: how many complete with 200,
  and the exit time beyond the slowest of them (the shutdown's own overhead);
* steady load (50 client connections with keep-alive, 10 ms requests, SIGTERM half-way), on one
  process and on two processes sharing one listening socket (as on a production machine): requests
  answered 200, answered 503 (draining; `Connection: close` + `Retry-After`), refused at connect
  (nobody listening any more), dropped after being sent (no answer: lost work), and how many still
  fail when a 503 or refused request is retried once on a new connection.

With `VLVT_ANCHOR` (bench/_sxs.py) the idle exit and the steady load run against the original
chat-service too, in the same run: one node process beside one Daphne, and SIGTERM to one worker
of a 2-worker node cluster beside SIGTERM to one of two Daphne processes. Both sides then serve
`GET /health` under the steady load (the original has no slow test route, so the in-flight case
is ours only). Prints a table and writes JSON (default bench/results/shutdown_bench.json).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _common as common  # noqa: E402
from bench import _sxs as sxs  # noqa: E402
from bench._sxs import database_url  # noqa: E402
from tests.support.servers import DaphneProcess, shared_listening_socket  # noqa: E402

QUICK_ARGS = ["--idle-runs", "2", "--load-seconds", "4"]
SLOW_PATH = "/__test__/sleep?seconds=0.01"  # ours alone: a 10 ms request
LOAD_USER = "google_bench_0001"  # side by side: the anchor's first user (its first token)


def parse_args() -> argparse.Namespace:
    parser = common.parser(__doc__)
    parser.add_argument("--idle-runs", type=int, default=5)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--load-seconds", type=float, default=10.0, help="steady load; SIGTERM at half time")
    parser.add_argument("--connections", type=int, default=50)
    common.add_target_arguments(parser, database="vlvt_bench_shutdown", redis_db=10, name="shutdown_bench")
    return parser.parse_args()


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """Production-like: INFO logs (the default; Daphne announces it is serving at INFO)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.support.settings",
        DATABASE_URL=database_url(args.database),
        REDIS_URL=args.redis_url,
        RATE_LIMITS_ENABLED="false",
        LOG_LEVEL="INFO",
        SHUTDOWN_TIMEOUT="10",
        SHUTDOWN_DRAIN_DELAY="0",
        PYTHONUNBUFFERED="1",
    )
    if sxs.find_anchor() is not None:
        env["JWT_SECRET"] = sxs.NODE_SECRET  # the anchor's tokens
    return env


def prepare_database(args: argparse.Namespace, anchor: sxs.Anchor | None) -> None:
    env = server_env(args) | {"DJANGO_SETTINGS_MODULE": "vlvt.settings", "LOG_LEVEL": "WARNING"}
    if anchor is not None:  # the original's rows, for the side-by-side steady load
        anchor.refresh()
        sxs.copy_original_rows(args.database, env)
        return
    common.database_if_missing(args.database)
    sxs.manage(env, "migrate", "--no-input")


# --- servers ---------------------------------------------------------------------------------------


def sigterm(server: DaphneProcess) -> float:
    started = time.perf_counter()
    server.signal(signal.SIGTERM)
    return started


def wait_exit(server: DaphneProcess) -> tuple[float, int]:
    code = server.wait(timeout=30)
    return time.perf_counter(), code


def wait_log_count(server: DaphneProcess, text: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while server.log().count(text) < count:
        if time.monotonic() > deadline or not server.running():
            raise SystemExit(f"daphne logged {text!r} fewer than {count} times; log {server.log_file.name}")
        time.sleep(0.02)


def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = asyncio.run(_one_request(port, "/ready"))
        if status == 200:
            return
        time.sleep(0.05)
    raise SystemExit(f"no /ready on port {port}")


# --- a minimal HTTP/1.1 client that tells every failure apart ------------------------------------


class Dropped(Exception):
    """The request was sent and the connection ended without a response."""


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, server asked to close)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise Dropped() from exc
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    try:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            await _read_chunks(reader)
        else:
            await reader.readexactly(int(headers.get("content-length", "0")))
    except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
        raise Dropped() from exc
    return status, headers.get("connection", "").lower() == "close"


async def _read_chunks(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)  # the chunk and its CRLF (the last one: just the CRLF)
        if size == 0:
            return


def _request(path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: keep-alive\r\n\r\n".encode()


async def _one_request(port: int, path: str) -> int | None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    try:
        writer.write(_request(path))
        await writer.drain()
        status, _ = await _read_response(reader)
        return status
    except (Dropped, OSError):
        return None
    finally:
        writer.close()


# --- scenarios -----------------------------------------------------------------------------------


class Victim:
    """A server under SIGTERM: ours (Daphne) or the original's node process, for the scenarios."""

    def __init__(self, port: int, pid: int, popen: DaphneProcess | None = None) -> None:
        self.port, self.pid, self.popen = port, pid, popen

    def sigterm(self) -> float:
        started = time.perf_counter()
        os.kill(self.pid, signal.SIGTERM)
        return started

    def wait_exit(self) -> tuple[float, int | None]:
        if self.popen is not None:
            return wait_exit(self.popen)
        deadline = time.monotonic() + 30
        while not sxs.gone(self.pid):  # not our child: its exit code is not ours to read
            if time.monotonic() > deadline:
                raise SystemExit(f"the original's process {self.pid} did not exit within 30 s of SIGTERM")
            time.sleep(0.002)
        return time.perf_counter(), None


def idle(args: argparse.Namespace, key: str, anchor: sxs.Anchor | None) -> dict:
    times, codes = [], []
    for _ in range(args.idle_runs):
        if key.startswith("node_"):
            assert anchor is not None  # the original's targets exist only with an anchor
            node = sxs.NodeTarget(anchor, "chat", 1)
            assert node.pid is not None
            victim = Victim(node.port, node.pid)
        else:
            server = DaphneProcess(server_env(args))
            wait_ready(server.port)
            victim = Victim(server.port, server.pid, server)
        time.sleep(0.3)  # let the first request's connection close: truly idle
        started = victim.sigterm()
        ended, code = victim.wait_exit()
        if key.startswith("node_"):
            node.stop()
        else:
            server.stop()
        times.append((ended - started) * 1000)
        codes.append(code)
    return {
        "runs": len(times),
        "exit_ms_median": round(statistics.median(times), 1),
        "exit_ms_max": round(max(times), 1),
        "exit_codes_nonzero": sum(1 for c in codes if c),
    }


async def _slow_requests(
    port: int, count: int, seconds: float
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    conns = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_request(f"/__test__/sleep?seconds={seconds}"))
        await writer.drain()
        conns.append((reader, writer))
    return conns


async def _finish(conns: list, started: float) -> list[tuple[int | None, float]]:
    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int | None, float]:
        try:
            status, _ = await _read_response(reader)
        except Dropped:
            status = None
        writer.close()
        return status, (time.perf_counter() - started) * 1000

    return await asyncio.gather(*(one(r, w) for r, w in conns))


def in_flight(args: argparse.Namespace) -> dict:
    # The test route logs when a request reaches the application: how we know all are in. Each
    # request gets a thread of its own (their number is the pool's size): with fewer, the later
    # ones would wait for a thread, and past REQUEST_QUEUE_TIMEOUT_MS be answered 503 unserved,
    # which is the queue bound's case, not this one.
    server = DaphneProcess(server_env(args) | {"DATABASE_POOL_MAX": str(max(20, args.in_flight))})
    wait_ready(server.port)

    async def scenario() -> tuple[list, float, float, int]:
        conns = await _slow_requests(server.port, args.in_flight, args.slow_seconds)
        await asyncio.to_thread(wait_log_count, server, "test sleep started", args.in_flight)
        started = sigterm(server)
        results, (ended, code) = await asyncio.gather(
            _finish(conns, started), asyncio.to_thread(wait_exit, server)
        )
        return results, started, ended, code

    results, started, ended, code = asyncio.run(scenario())
    server.stop()
    exit_ms = (ended - started) * 1000
    slowest = max(ms for _, ms in results)
    return {
        "requests": len(results),
        "answered_200": sum(1 for status, _ in results if status == 200),
        "slowest_response_ms_after_sigterm": round(slowest, 1),
        "exit_ms_after_sigterm": round(exit_ms, 1),
        "overhead_ms": round(exit_ms - slowest, 1),
        "exit_code": code,
    }


class LoadCounts:
    def __init__(self) -> None:
        self.ok = self.answered_503 = self.refused = self.dropped = self.other = 0
        self.failed_after_retry = 0


async def _client(port: int, request: bytes, stop_at: float, counts: LoadCounts) -> None:
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.monotonic() < stop_at:
        outcome, conn = await _attempt(port, request, conn, counts)
        if outcome in ("503", "refused"):
            retried, conn = await _attempt(port, request, None, None)
            if retried != "ok":
                counts.failed_after_retry += 1
            if retried == "refused":
                await asyncio.sleep(0.05)  # nobody listens: do not spin
    if conn is not None:
        conn[1].close()


async def _attempt(
    port: int, request: bytes, conn: tuple | None, counts: LoadCounts | None
) -> tuple[str, tuple | None]:
    """One request, on `conn` or a new connection. Returns (outcome, the connection to reuse)."""
    if conn is None:
        try:
            conn = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return _count(counts, "refused"), None
    reader, writer = conn
    try:
        writer.write(request)
        await writer.drain()
        status, close = await _read_response(reader)
    except (Dropped, OSError):
        writer.close()
        return _count(counts, "dropped"), None
    outcome = "ok" if status == 200 else "503" if status == 503 else "other"
    if close:
        writer.close()
        conn = None
    return _count(counts, outcome), conn


def _count(counts: LoadCounts | None, outcome: str) -> str:
    if counts is not None:
        field = {
            "ok": "ok",
            "503": "answered_503",
            "refused": "refused",
            "dropped": "dropped",
            "other": "other",
        }[outcome]
        setattr(counts, field, getattr(counts, field) + 1)
    return outcome


def steady_load(args: argparse.Namespace, key: str, anchor: sxs.Anchor | None) -> dict:
    """50 keep-alive clients; SIGTERM half-way to one process (of one, or of two on one socket)."""
    processes = int(key[-1])
    # Side by side, both serve the same authenticated read of the same rows.
    path = f"/matches/{LOAD_USER}" if anchor is not None else SLOW_PATH
    request = _request(path, anchor.tokens()[0] if anchor is not None else None)
    node: sxs.NodeTarget | None = None
    sock = None
    servers: list[DaphneProcess] = []
    if key.startswith("node_"):
        assert anchor is not None  # the original's targets exist only with an anchor
        node = sxs.NodeTarget(anchor, "chat", processes)
        port = node.port
        victim = Victim(port, node.workers()[0])  # one worker of a cluster: the primary keeps the port
    else:
        sock = shared_listening_socket() if processes > 1 else None
        env = server_env(args)
        servers = [DaphneProcess(env, listen_socket=sock) for _ in range(processes)]
        port = servers[0].port
        wait_ready(port)
        victim = Victim(port, servers[0].pid, servers[0])
    counts = LoadCounts()

    async def scenario() -> tuple[float, float, int | None]:
        stop_at = time.monotonic() + args.load_seconds
        clients = [
            asyncio.ensure_future(_client(port, request, stop_at, counts)) for _ in range(args.connections)
        ]
        await asyncio.sleep(args.load_seconds / 2)
        started = victim.sigterm()
        ended, code = await asyncio.to_thread(victim.wait_exit)
        await asyncio.gather(*clients)
        return started, ended, code

    try:
        started, ended, code = asyncio.run(scenario())
    finally:
        for server in servers:
            server.stop()
        if sock is not None:
            sock.close()
        if node is not None:
            node.stop()
    total = counts.ok + counts.answered_503 + counts.refused + counts.dropped + counts.other
    return {
        "processes": processes,
        "path": path,
        "requests": total,
        "answered_200": counts.ok,
        "answered_503": counts.answered_503,
        "refused_at_connect": counts.refused,
        "dropped_after_send": counts.dropped,
        "other_status": counts.other,
        "failed_after_one_retry": counts.failed_after_retry,
        "exit_ms_after_sigterm": round((ended - started) * 1000, 1),
        "exit_code": code,
    }


def main() -> None:
    args = parse_args()
    anchor = sxs.find_anchor()
    print(f"preparing {args.database} ...", flush=True)
    prepare_database(args, anchor)
    keys = sxs.targets(anchor)
    results: dict[str, dict[str, dict]] = {"idle": {}, "in_flight": {}, "steady_load": {}}
    for key in [k for k in keys if k.endswith("_1")]:
        print(f"  idle exit [{sxs.LABELS[key]}] ...", flush=True)
        results["idle"][key] = idle(args, key, anchor)
    print(f"  {args.in_flight} slow requests in flight [{sxs.LABELS['ours_1']}] ...", flush=True)
    results["in_flight"]["ours_1"] = in_flight(args)
    for key in keys:
        print(f"  steady load, SIGTERM to one process [{sxs.LABELS[key]}] ...", flush=True)
        results["steady_load"][key] = steady_load(args, key, anchor)
    for case, per_target in results.items():
        for key, row in per_target.items():
            print(f"{case:<12} {key:<7} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    shown = {k: v for k, v in vars(args).items() if k not in {"json"}}
    common.write_side_by_side(args.json, "shutdown", shown, anchor, keys, results)


if __name__ == "__main__":
    main()
