#!/usr/bin/env python
"""Benchmark of the chat REST endpoints under Daphne (issue 5; the socket figures are measured by
the realtime benchmark).

    .venv/bin/python bench/chat_rest_bench.py            # 3 runs of 15 s per endpoint, median
    .venv/bin/python bench/chat_rest_bench.py --runs 1 --duration 5

Seeds a dedicated database (default `vlvt_bench_chat`) with the project's `seed_demo`: 1,000 users,
2,000 matches and 50,000 messages, plus one 500-message conversation, as the original's figures
were taken (50,500 messages). Starts one Daphne process
per core on one shared listening socket and drives, with wrk (2 threads, 50 connections,
`--latency`):

* `GET /messages/:matchId?limit=50` on a match with more than 50 messages;
* `GET /matches/:userId` for the user with the most matches;
* `POST /messages` by premium, verified senders in their own matches (the free tier's daily cap
  would otherwise answer 429 after 20: the original REST send had no cap, so its figure is
  uncapped work too).

Prints req/s, p50, p99, non-2xx and the ratios to the original Node service, and writes JSON
(default bench/results/chat_rest.json). Rate limits are off for the run, request logs at WARNING.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("profiles_bench", ROOT / "bench" / "profiles_bench.py")
pb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pb)

# The original chat-service on this class of machine (same seed, measured beside ours).
ORIGINAL = {
    "GET /messages/:matchId?limit=50": {"rps": 268, "p50_ms": 172, "p99_ms": 910},
    "GET /matches/:userId": {"rps": 460, "p50_ms": 110, "p99_ms": 774},
    "POST /messages": {"rps": 250, "p50_ms": 192, "p99_ms": 534},
}

PICK = """
import django, json; django.setup()
from django.db import connection
with connection.cursor() as c:
    # As the original's data set (50,000 + 500): one conversation long enough for a full page.
    c.execute('SELECT id FROM matches ORDER BY id LIMIT 1')
    history = c.fetchone()[0]
    c.execute('''INSERT INTO messages (id, match_id, sender_id, text, created_at, status)
                 SELECT 'msg_bench_' || n, m.id, CASE WHEN n %% 2 = 0 THEN m.user_id_1 ELSE m.user_id_2 END,
                        'Long conversation line ' || n, date_trunc('day', now()) - interval '1 day' + n * interval '1 minute', 'read'
                   FROM matches m, generate_series(1, 500) n WHERE m.id = %s
                 ON CONFLICT (id) DO NOTHING''', [history])
    c.execute('''SELECT m.id, m.user_id_1, m.user_id_2 FROM matches m WHERE m.id = %s''', [history])
    _, reader, _ = c.fetchone()
    c.execute('''SELECT u, count(*) FROM (SELECT user_id_1 u FROM matches UNION ALL SELECT user_id_2 FROM matches) t
                 GROUP BY u ORDER BY count(*) DESC, u LIMIT 1''')
    lister = c.fetchone()[0]
    c.execute('''SELECT m.id, s.user_id FROM matches m
                   JOIN user_subscriptions s ON s.user_id = m.user_id_1 AND s.is_active
                        AND (s.expires_at IS NULL OR s.expires_at > now())
                   JOIN users u ON u.id = m.user_id_1 AND u.id_verified
                   JOIN profiles p ON p.user_id = u.id AND p.age >= 18 AND coalesce(trim(p.name), '') <> ''
                        AND coalesce(trim(p.bio), '') <> '' AND cardinality(p.photos) > 0
                  WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.user_id = m.user_id_1 AND b.blocked_user_id = m.user_id_2)
                                       OR (b.user_id = m.user_id_2 AND b.blocked_user_id = m.user_id_1))
                  ORDER BY m.id LIMIT 200''')
    senders = c.fetchall()
print(json.dumps({"history": history, "reader": reader, "lister": lister, "senders": senders}))
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="runs per endpoint (the median is reported)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="Daphne processes")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--matches", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=50000)
    parser.add_argument("--database", default="vlvt_bench_chat")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"))
    parser.add_argument("--only", action="append", default=[], help="run only endpoints whose name contains this")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "chat_rest.json"))
    return parser.parse_args()


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> dict:
    import psycopg

    with psycopg.connect(pb.database_url("postgres"), autocommit=True) as conn:
        # A fresh database every run: sends of earlier runs would otherwise grow the data set.
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    pb.manage(env, "migrate", "--no-input")
    pb.manage(
        env, "seed_demo", "--users", str(args.users), "--matches", str(args.matches), "--messages", str(args.messages), "--no-progress"
    )
    out = subprocess.run([sys.executable, "-c", PICK], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"picking the benchmark data failed:\n{out.stderr}")
    pb.settle(args.database)  # after PICK, which adds the long conversation
    return json.loads(out.stdout)


def lua_send(rows: list[tuple[str, str, str]]) -> str:
    """Each request: a random premium sender writes in one of their matches."""
    table = ",\n".join(f'{{"{token}", "{match_id}", "{sender}"}}' for token, match_id, sender in rows)
    return (
        "math.randomseed(os.time())\n"
        f"local rows = {{\n{table}\n}}\n"
        "request = function()\n"
        "  local r = rows[math.random(#rows)]\n"
        "  local body = '{\"matchId\":\"' .. r[2] .. '\",\"senderId\":\"' .. r[3] .. '\",\"text\":\"Benchmark hello\"}'\n"
        "  return wrk.format('POST', '/messages', {['Authorization'] = 'Bearer ' .. r[1], ['Content-Type'] = 'application/json'}, body)\n"
        "end\n"
    )


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    env = pb.server_env(args)
    print(f"seeding {args.users} users, {args.matches} matches, {args.messages} messages into {args.database} ...", flush=True)
    picked = prepare_database(args, env)
    if not picked["senders"]:
        raise SystemExit("no premium, verified sender found in the seeded data")
    senders = picked["senders"]
    tok = dict(zip([picked["reader"], picked["lister"]] + [s for _, s in senders], pb.tokens(env, [picked["reader"], picked["lister"]] + [s for _, s in senders]), strict=True))
    scenarios = {
        "GET /messages/:matchId?limit=50": pb.lua_get(f"/messages/{picked['history']}?limit=50", tok[picked["reader"]]),
        "GET /matches/:userId": pb.lua_get(f"/matches/{picked['lister']}", tok[picked["lister"]]),
        "POST /messages": lua_send([(tok[s], m, s) for m, s in senders]),
    }
    if args.only:
        scenarios = {k: v for k, v in scenarios.items() if any(o in k for o in args.only)}
    servers = pb.Servers(env, args.processes)
    results: dict[str, dict] = {}
    try:
        servers.wait_ready(f"/matches/{picked['lister']}", {"Authorization": f"Bearer {tok[picked['lister']]}"})
        for name, script in scenarios.items():
            pb.run_wrk(argparse.Namespace(**{**vars(args), "duration": 3}), servers.port, script)  # warm-up
            results[name] = pb.median_run([pb.run_wrk(args, servers.port, script) for _ in range(args.runs)])
            print(f"  {name}: {results[name]['rps']:.0f} req/s", flush=True)
    finally:
        servers.stop()
    pb.ORIGINAL = ORIGINAL
    report(args, results)


def report(args: argparse.Namespace, results: dict[str, dict]) -> None:
    import platform

    lines = [f"{'endpoint':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'vs Node req/s':>14} {'vs Node p99':>12}"]
    for name, r in results.items():
        o = ORIGINAL[name]
        lines.append(
            f"{name:<34} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['non_2xx']:>8} "
            f"{r['rps'] / o['rps']:>13.2f}x {r['p99_ms'] / o['p99_ms']:>11.2f}x"
        )
    print("\n".join(lines))
    payload = {
        "benchmark": "chat_rest",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {
            "processes": args.processes, "threads": args.threads, "connections": args.connections, "duration_s": args.duration,
            "runs": args.runs, "users": args.users, "matches": args.matches, "messages": args.messages,
        },
        "original": ORIGINAL,
        "results": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
