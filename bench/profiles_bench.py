#!/usr/bin/env python
"""Benchmark of the profile endpoints under Daphne (issue 8).

    .venv/bin/python bench/profiles_bench.py            # 3 runs of 15 s per endpoint, median
    .venv/bin/python bench/profiles_bench.py --runs 1 --duration 5

Seeds a dedicated database (default `vlvt_bench_profiles`, 1,000 complete profiles with the
project's `seed_demo`), starts one Daphne process per core on one shared listening socket, and
drives `GET /profile/:id`, `GET /profiles/discover` and `POST /swipes` with wrk (2 threads, 50
connections, `--latency`). Prints a table (req/s, p50, p99, non-2xx, ratios to the original Node
service) and writes it as JSON (default bench/results/profiles.json). Needs `wrk` (Debian: apt-get
install wrk), PostgreSQL and Redis. Rate limits are off for the run, as for the original's figures
(0 non-2xx); request logs are at WARNING.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# The original profile-service on this class of machine (same seed, measured beside ours).
ORIGINAL = {
    "GET /profile/:id": {"rps": 370, "p50_ms": 127, "p99_ms": 986},
    "GET /profiles/discover": {"rps": 238, "p50_ms": 202, "p99_ms": 833},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="runs per endpoint (the median is reported)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="Daphne processes")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--database", default="vlvt_bench_profiles")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"))
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "profiles.json"))
    return parser.parse_args()


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/vlvt")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="vlvt.settings",
        DATABASE_URL=database_url(args.database),
        REDIS_URL=args.redis_url,
        JWT_SECRET=env.get("JWT_SECRET", "bench-jwt-secret"),
        RATE_LIMITS_ENABLED="false",
        LOG_LEVEL="WARNING",
        DATABASE_POOL_MAX=env.get("DATABASE_POOL_MAX", "10"),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *argv: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def settle(database: str) -> None:
    """After seeding, as a production database would be: statistics and visibility map current
    (VACUUM ANALYZE; this machine's PostgreSQL runs without autovacuum) and the seed's writes
    flushed (CHECKPOINT), so the measurement pays for neither; earlier benchmarks' bulk writes
    (the After Hours cleanup) otherwise slow every commit that follows them."""
    import psycopg

    with psycopg.connect(database_url(database), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    import psycopg

    admin = database_url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.database}"')
    manage(env, "migrate", "--no-input")
    manage(env, "seed_demo", "--users", str(args.users), "--matches", str(args.users * 2), "--messages", "0", "--no-progress")
    settle(args.database)


def user_ids(env: dict[str, str], count: int) -> list[str]:
    code = (
        "import django, json; django.setup();"
        "from profiles.management.commands.seed_demo import user_id;"
        f"print(json.dumps([user_id(i) for i in range({count})]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def tokens(env: dict[str, str], ids: list[str]) -> list[str]:
    code = (
        "import django, json, sys; django.setup();"
        "from vlvt.auth import mint_token;"
        "print(json.dumps([mint_token(u, expires_in=7200) for u in json.loads(sys.stdin.read())]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True, input=json.dumps(ids)
    )
    return json.loads(out.stdout)


class Servers:
    """N Daphne processes accepting on one listening socket (as behind one port in production)."""

    def __init__(self, env: dict[str, str], processes: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.sock.set_inheritable(True)
        self.port = self.sock.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile(prefix="bench-daphne-", suffix=".log", delete=False)  # noqa: SIM115 - lives as long as the servers
        fd = self.sock.fileno()
        self.procs = [
            subprocess.Popen(
                [str(BIN / "daphne"), "--fd", str(fd), "vlvt.asgi:application"],
                cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, pass_fds=(fd,), start_new_session=True,
            )
            for _ in range(processes)
        ]

    def wait_ready(self, path: str, headers: dict[str, str]) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"servers did not answer; log: {self.log.name}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.sock.close()


def lua_get(path: str, token: str) -> str:
    return f'wrk.method = "GET"\nwrk.path = "{path}"\nwrk.headers["Authorization"] = "Bearer {token}"\n'


def lua_swipes(pairs: list[tuple[str, str]]) -> str:
    """Each request: a random caller swipes on a random other profile (like or pass)."""
    rows = ",\n".join(f'{{"{token}", "{target}"}}' for token, target in pairs)
    return (
        "math.randomseed(os.time())\n"
        f"local pairs = {{\n{rows}\n}}\n"
        "local actions = {'like', 'pass'}\n"
        "request = function()\n"
        "  local p = pairs[math.random(#pairs)]\n"
        "  local body = '{\"targetUserId\":\"' .. p[2] .. '\",\"action\":\"' .. actions[math.random(2)] .. '\"}'\n"
        "  return wrk.format('POST', '/swipes', {['Authorization'] = 'Bearer ' .. p[1], ['Content-Type'] = 'application/json'}, body)\n"
        "end\n"
    )


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * _UNITS[unit]


def run_wrk(args: argparse.Namespace, port: int, script: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "-s", handle.name, f"http://127.0.0.1:{port}"],
        check=True, capture_output=True, text=True,
    ).stdout
    os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total, "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    best = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    return {**best, "runs_rps": [r["rps"] for r in runs], "p99_ms_median": statistics.median(r["p99_ms"] for r in runs)}


def flush_redis(url: str) -> None:
    """The bench's own Redis database: no stale limiter windows before, no queued pushes after."""
    import redis

    redis.Redis.from_url(url).flushdb()


def main() -> None:
    args = parse_args()
    flush_redis(args.redis_url)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    env = server_env(args)
    print(f"seeding {args.users} profiles into {args.database} ...", flush=True)
    prepare_database(args, env)
    ids = user_ids(env, args.users)
    toks = tokens(env, ids[:50])
    caller, target = toks[0], ids[1]
    scenarios = {
        "GET /profile/:id": lua_get(f"/profile/{target}", caller),
        "GET /profiles/discover": lua_get("/profiles/discover?maxDistance=50", caller),
        "POST /swipes": lua_swipes([(toks[i % 50], ids[(i * 7 + 13) % len(ids)]) for i in range(500) if ids[(i * 7 + 13) % len(ids)] != ids[i % 50]]),
    }
    servers = Servers(env, args.processes)
    results: dict[str, dict] = {}
    try:
        servers.wait_ready(f"/profile/{target}", {"Authorization": f"Bearer {caller}"})
        for name, script in scenarios.items():
            run_wrk(argparse.Namespace(**{**vars(args), "duration": 3}), servers.port, script)  # warm-up
            results[name] = median_run([run_wrk(args, servers.port, script) for _ in range(args.runs)])
            print(f"  {name}: {results[name]['rps']:.0f} req/s", flush=True)
    finally:
        servers.stop()
        flush_redis(args.redis_url)
    report(args, results)


def report(args: argparse.Namespace, results: dict[str, dict]) -> None:
    lines = [
        f"{'endpoint':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'vs Node req/s':>14} {'vs Node p99':>12}",
    ]
    for name, r in results.items():
        original = ORIGINAL.get(name)
        rps_ratio = f"{r['rps'] / original['rps']:.2f}x" if original else "-"
        p99_ratio = f"{r['p99_ms'] / original['p99_ms']:.2f}x" if original else "-"
        lines.append(f"{name:<24} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['non_2xx']:>8} {rps_ratio:>14} {p99_ratio:>12}")
    print("\n".join(lines))
    machine = {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    payload = {
        "benchmark": "profiles",
        "machine": machine,
        "settings": {"processes": args.processes, "threads": args.threads, "connections": args.connections, "duration_s": args.duration, "runs": args.runs, "profiles": args.users},
        "original": ORIGINAL,
        "results": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
