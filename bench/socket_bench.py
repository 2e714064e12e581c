#!/usr/bin/env python
"""Benchmark of the Socket.IO endpoint with the official client (issue 5).

    .venv/bin/python bench/socket_bench.py                   # 2,000 messages per pipeline, 1,000 idle sockets
    .venv/bin/python bench/socket_bench.py --messages 500 --idle 200

Seeds a dedicated database (default `vlvt_bench_socket`) with the project's `seed_demo` (1,000
users, 2,000 matches, 50,000 messages), starts one Daphne process per core on one shared listening
socket, and runs bench/socket_bench.mjs (socket.io-client from tests/js):

* a premium, verified sender and their match partner, each on one socket, twice: both sockets on
  one server process (as with the original, a single Node process), then on two (the fan-out
  crosses processes through Redis). The kernel places each connection; the recipient reconnects
  until it lands where wanted (the presence hash in Redis says which process serves a socket);
* `send_message` with 1 and then 50 outstanding (the next emit on each ack), 2,000 messages each:
  messages per second, send-to-ack p50/p99, send-to-recipient (`new_message`) p50/p99 and how long
  after the ack the recipient had it;
* memory: the servers' summed RSS with 1,000 authenticated idle sockets (one per seeded user)
  minus before them, per 1,000 sockets.

Rate limits are off for the run (the original's figures were taken without its per-socket limits
getting in the way), request logs at WARNING. Prints the figures and the ratios to the original Node
service and writes JSON (default bench/results/socket_bench.json). Needs node, PostgreSQL and Redis.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("profiles_bench", ROOT / "bench" / "profiles_bench.py")
pb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pb)

# The original chat-service on this class of machine (same seed, measured beside ours).
# One Node process: sender and recipient always on the same one. Our sockets across two processes
# are held to the same figures.
_NODE_1 = {"msgs_per_s": 149, "ack_p50_ms": 6.3, "ack_p99_ms": 11.9, "recipient_p50_ms": 6.9}
_NODE_50 = {"msgs_per_s": 297, "ack_p99_ms": 314}
ORIGINAL = {
    "pipeline_1": _NODE_1,
    "pipeline_50": _NODE_50,
    "across_pipeline_1": _NODE_1,
    "across_pipeline_50": _NODE_50,
    "idle_mb_per_1000": 17.5,
}
# placement -> the prefix of its result keys
PLACEMENTS = {"same": "", "across": "across_"}
RECONNECTS = 40  # tries to land the recipient where wanted (one in two with two processes)

PICK = """
import django, json; django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute('''SELECT m.id, m.user_id_1, m.user_id_2 FROM matches m
                   JOIN user_subscriptions s ON s.user_id = m.user_id_1 AND s.is_active
                        AND (s.expires_at IS NULL OR s.expires_at > now())
                   JOIN users u ON u.id = m.user_id_1 AND u.id_verified
                   JOIN profiles p ON p.user_id = u.id AND p.age >= 18 AND coalesce(trim(p.name), '') <> ''
                        AND coalesce(trim(p.bio), '') <> '' AND cardinality(p.photos) > 0
                  WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.user_id = m.user_id_1 AND b.blocked_user_id = m.user_id_2)
                                       OR (b.user_id = m.user_id_2 AND b.blocked_user_id = m.user_id_1))
                  ORDER BY m.id LIMIT 1''')
    match_id, sender, recipient = c.fetchone()
    c.execute('SELECT id FROM users ORDER BY id')
    users = [r[0] for r in c.fetchall()]
print(json.dumps({"match": match_id, "sender": sender, "recipient": recipient, "users": users}))
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="messages per pipeline setting")
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets for the memory figure")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="Daphne processes")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--matches", type=int, default=2000)
    parser.add_argument("--seed-messages", type=int, default=50000)
    parser.add_argument("--database", default="vlvt_bench_socket")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"))
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "socket_bench.json"))
    return parser.parse_args()


def prepare(args: argparse.Namespace, env: dict[str, str]) -> dict:
    import psycopg

    with psycopg.connect(pb.database_url("postgres"), autocommit=True) as conn:
        # A fresh database every run: sends of earlier runs would otherwise grow the data set.
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    pb.manage(env, "migrate", "--no-input")
    pb.manage(
        env, "seed_demo", "--users", str(args.users), "--matches", str(args.matches),
        "--messages", str(args.seed_messages), "--no-progress",
    )  # fmt: skip
    out = subprocess.run([sys.executable, "-c", PICK], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"picking the benchmark data failed:\n{out.stderr}")
    pb.settle(args.database)
    return json.loads(out.stdout)


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def serving_process(url: str, user_id: str, sid: str) -> str:
    """The server process of a socket, from its presence entry (chat.realtime.presence)."""
    import redis

    process = redis.Redis.from_url(url).hget(f"presence:user:{user_id}", sid)
    if process is None:
        raise SystemExit(f"socket {sid} of {user_id} has no presence entry")
    return process.decode()


def main() -> None:
    args = parse_args()
    env = pb.server_env(args)
    print(f"seeding {args.users} users, {args.matches} matches, {args.seed_messages} messages into {args.database} ...", flush=True)
    picked = prepare(args, env)
    idle_users = [u for u in picked["users"] if u not in (picked["sender"], picked["recipient"])][: args.idle]
    tokens = pb.tokens(env, [picked["sender"], picked["recipient"], *idle_users])
    flush_redis(args.redis_url)
    servers = pb.Servers(env, args.processes)
    pids = [p.pid for p in servers.procs]
    results: dict = {}
    try:
        servers.wait_ready("/health", {})
        node = subprocess.Popen(
            ["node", str(ROOT / "bench" / "socket_bench.mjs")],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        config = {
            "url": f"http://127.0.0.1:{servers.port}",
            "matchId": picked["match"],
            "senderToken": tokens[0],
            "recipientToken": tokens[1],
            "messages": args.messages,
            "pipelines": [1, 50],
            "idleTokens": tokens[2:],
        }
        node.stdin.write(json.dumps(config) + "\n")
        node.stdin.flush()
        baseline = None
        wanted = list(PLACEMENTS) if args.processes > 1 else ["same"]
        reconnects = 0

        def command(text: str) -> None:
            node.stdin.write(text + "\n")
            node.stdin.flush()

        for line in node.stdout:
            event = json.loads(line)
            if event["phase"] == "connected":
                if not wanted:
                    command("idle")
                    continue
                same = serving_process(args.redis_url, picked["sender"], event["sender"]) == serving_process(
                    args.redis_url, picked["recipient"], event["recipient"]
                )
                if same == (wanted[0] == "same"):
                    print(f"  sockets on {'one process' if same else 'two processes'}:", flush=True)
                    command(f"send {wanted.pop(0)}")
                elif reconnects < RECONNECTS:
                    reconnects += 1
                    command("reconnect")
                else:
                    raise SystemExit(f"the recipient never landed as wanted ({wanted[0]}) in {RECONNECTS} reconnects")
            elif event["phase"] == "send":
                results[f"{PLACEMENTS[event['placement']]}pipeline_{event['pipeline']}"] = event
                print(f"  pipeline {event['pipeline']}: {event['msgs_per_s']} msg/s, ack {event['ack']}, recipient {event['recipient']}, received {event['received']}, failures {event['failures']}, ack to recipient {event['ack_to_recipient']}", flush=True)
            elif event["phase"] == "before-idle":
                time.sleep(1)
                baseline = rss_bytes(pids)
                node.stdin.write("continue\n")
                node.stdin.flush()
            elif event["phase"] == "idle-connected":
                loaded = rss_bytes(pids)
                per_1000 = (loaded - baseline) / event["sockets"] * 1000 / 1e6
                results["idle"] = {"sockets": event["sockets"], "rss_before_mb": round(baseline / 1e6, 1), "rss_after_mb": round(loaded / 1e6, 1), "mb_per_1000": round(per_1000, 2)}
                print(f"  idle: {results['idle']}", flush=True)
                node.stdin.write("continue\n")
                node.stdin.flush()
            elif event["phase"] == "error":
                raise SystemExit(f"socket benchmark failed: {event['error']}")
            elif event["phase"] == "done":
                break
        node.wait(timeout=30)
    finally:
        servers.stop()
    report(args, results)


def _ratio(ours: float | None, theirs: float, higher_is_better: bool) -> str:
    """How many times better than the original (above 1 is better)."""
    if not ours:
        return "-"
    return f"{(ours / theirs) if higher_is_better else (theirs / ours):.2f}x"


def report(args: argparse.Namespace, results: dict) -> None:
    o1, o50, idle = ORIGINAL["pipeline_1"], ORIGINAL["pipeline_50"], results["idle"]
    rows = []
    for placement, prefix in PLACEMENTS.items():
        if f"{prefix}pipeline_1" not in results:
            continue
        p1, p50 = results[f"{prefix}pipeline_1"], results[f"{prefix}pipeline_50"]
        where = "one process" if placement == "same" else "two processes"
        rows += [
            (f"{where}, 1 outstanding: msg/s", p1["msgs_per_s"], o1["msgs_per_s"], True),
            (f"{where}, 1 outstanding: ack p50 ms", p1["ack"]["p50_ms"], o1["ack_p50_ms"], False),
            (f"{where}, 1 outstanding: ack p99 ms", p1["ack"]["p99_ms"], o1["ack_p99_ms"], False),
            (f"{where}, 1 outstanding: recipient p50 ms", p1["recipient"]["p50_ms"], o1["recipient_p50_ms"], False),
            (f"{where}, 50 outstanding: msg/s", p50["msgs_per_s"], o50["msgs_per_s"], True),
            (f"{where}, 50 outstanding: ack p99 ms", p50["ack"]["p99_ms"], o50["ack_p99_ms"], False),
        ]
    rows.append(("idle sockets: MB per 1,000", idle["mb_per_1000"], ORIGINAL["idle_mb_per_1000"], False))
    print(f"{'figure':<50} {'ours':>9} {'Node':>9}  ours vs Node (above 1x is better)")
    for name, ours, theirs, higher in rows:
        print(f"{name:<50} {ours:>9} {theirs:>9}  {_ratio(ours, theirs, higher)}")
    for placement, prefix in PLACEMENTS.items():
        if f"{prefix}pipeline_1" in results:
            p1, p50 = results[f"{prefix}pipeline_1"], results[f"{prefix}pipeline_50"]
            print(
                f"(also, {placement}: 1 outstanding recipient p99 {p1['recipient']['p99_ms']} ms, ack to recipient "
                f"p50 {p1['ack_to_recipient']['p50_ms']} ms; 50 outstanding ack p50 {p50['ack']['p50_ms']} ms, "
                f"recipient p50/p99 {p50['recipient']['p50_ms']}/{p50['recipient']['p99_ms']} ms)"
            )
    payload = {
        "benchmark": "socket",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {
            "processes": args.processes, "messages": args.messages, "idle_sockets": args.idle,
            "users": args.users, "matches": args.matches, "seed_messages": args.seed_messages,
        },  # fmt: skip
        "original": ORIGINAL,
        "results": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
