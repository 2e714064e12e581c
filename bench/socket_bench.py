"""Benchmark of the Socket.IO endpoint with the official client, beside the original chat-service
(issue 17).

    .venv/bin/python bench/socket_bench.py                   # 2,000 messages per setting, 1,000 idle sockets
    .venv/bin/python bench/socket_bench.py --messages 500 --idle 200
    VLVT_ANCHOR=/tmp/vlvt-anchor .venv/bin/python bench/socket_bench.py   # and the original, same run

On each target of bench/_sxs.py (one Daphne; two Daphne on one socket; with `VLVT_ANCHOR`, the
original as one node process and as a 2-worker cluster), started fresh and measured alone,
bench/socket_bench.mjs (socket.io-client from tests/js, the same client for every target) runs:

* a sender and their match partner, each on one socket. On two Daphne processes the recipient
  reconnects until it sits on the other process than the sender (the presence hash in Redis says
  which process serves a socket), so every message crosses processes through Redis, as with the
  node cluster, whose primary hands consecutive connections to alternate workers;
* a 200-message warm-up, then `send_message` with 1 and with 50 outstanding (the next emit on each
  ack), 2,000 messages each: messages per second, send-to-ack p50/p99, send-to-recipient
  (`new_message`) p50/p99, and messages per server-CPU-second;
* memory: the target's summed RSS with 1,000 authenticated idle sockets (one per seeded user)
  minus before them, per 1,000 sockets.

With the anchor both sides serve the same rows (its seed, copied into our database: the sender
google_bench_0001 and google_bench_0002 on match_bench_0001; its tokens); without it our database
is seeded with `seed_demo`. The messages a target wrote are deleted before the next one starts. Our
rate limits are off, request logs at WARNING. Writes JSON (default bench/results/socket_bench.json).
Needs node, PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _common as common  # noqa: E402
from bench import _sxs as sxs  # noqa: E402
from bench import profiles_bench as pb  # noqa: E402

RECONNECTS = 40  # tries to land the recipient where wanted (one in two with two processes)

PICK = (
    """
import django, json; django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute('''SELECT m.id, m.user_id_1, m.user_id_2 """
    + common.SENDABLE_MATCHES
    + """
                  ORDER BY m.id LIMIT 1''')
    match_id, sender, recipient = c.fetchone()
    c.execute('SELECT id FROM users ORDER BY id')
    users = [r[0] for r in c.fetchall()]
print(json.dumps({"match": match_id, "sender": sender, "recipient": recipient, "users": users}))
"""
)


def parse_args() -> argparse.Namespace:
    parser = common.parser(__doc__)
    parser.add_argument("--messages", type=int, default=2000, help="messages per pipeline setting")
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets for the memory figure")
    parser.add_argument(
        "--targets", action="append", default=[], help="only these targets (node_1, ours_1, node_2, ours_2)"
    )
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--matches", type=int, default=2000)
    parser.add_argument("--seed-messages", type=int, default=50000)
    common.add_target_arguments(parser, database="vlvt_bench_socket", redis_db=8, name="socket_bench")
    return parser.parse_args()


def prepare(args: argparse.Namespace, env: dict[str, str]) -> dict:
    return common.seed_and_pick(
        env, args.database, PICK, users=args.users, matches=args.matches, messages=args.seed_messages
    )


def serving_process(url: str, user_id: str, sid: str) -> str:
    """The server process of a socket, from its presence entry (chat.realtime.presence)."""
    import redis

    process = redis.Redis.from_url(url).hget(f"presence:user:{user_id}", sid)
    if process is None:
        raise SystemExit(f"socket {sid} of {user_id} has no presence entry")
    return process.decode() if isinstance(process, bytes) else process


def _flat(event: dict) -> dict:
    figures = {
        "msgs_per_s": event["msgs_per_s"],
        "messages": event["messages"],
        "failures": event["failures"],
        "received": event["received"],
    }
    for part in ("ack", "recipient"):
        figures[f"{part}_p50_ms"] = event[part]["p50_ms"]
        figures[f"{part}_p99_ms"] = event[part]["p99_ms"]
    return figures


def measure(
    target: sxs.Target, key: str, config: dict, picked: dict, args: argparse.Namespace
) -> dict[str, dict]:
    """The client's phases against one target: {case: figures}."""
    node = subprocess.Popen(
        ["node", str(ROOT / "bench" / "socket_bench.mjs")],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip

    stdin = node.stdin
    assert stdin is not None and node.stdout is not None  # both are pipes

    def command(text: str) -> None:
        stdin.write(text + "\n")
        stdin.flush()

    command(json.dumps({**config, "url": f"http://127.0.0.1:{target.port}"}))
    pids = target.pids()
    out: dict[str, dict] = {}
    sent = False
    reconnects = 0
    cpu = 0.0
    baseline = 0
    try:
        for line in node.stdout:
            event = json.loads(line)
            phase = event["phase"]
            if phase == "connected":
                if sent:
                    command("idle")
                    continue
                if key == "ours_2":  # across processes, as the node cluster places them
                    same = serving_process(
                        args.redis_url, picked["sender"], event["sender"]
                    ) == serving_process(args.redis_url, picked["recipient"], event["recipient"])
                    if same:
                        if reconnects >= RECONNECTS:
                            raise SystemExit(
                                f"the recipient never landed on the other process in {RECONNECTS} reconnects"
                            )
                        reconnects += 1
                        command("reconnect")
                        continue
                sent = True
                command(f"send {key}")
            elif phase == "start":
                cpu = sxs.cpu_seconds(pids)
            elif phase == "send":
                figures = _flat(event)
                figures["server_cpu_s"] = round(sxs.cpu_seconds(pids) - cpu, 2)
                figures["per_cpu_s"] = (
                    round(event["messages"] / figures["server_cpu_s"], 1) if figures["server_cpu_s"] else None
                )
                out[f"pipeline_{event['pipeline']}"] = figures
            elif phase == "before-idle":
                time.sleep(1)
                baseline = sxs.rss_bytes(target.pids())
                command("continue")
            elif phase == "idle-connected":
                loaded = sxs.rss_bytes(target.pids())
                out["idle"] = {
                    "sockets": event["sockets"],
                    "rss_before_mb": round(baseline / 1e6, 1),
                    "rss_after_mb": round(loaded / 1e6, 1),
                    "mb_per_1000": round((loaded - baseline) / event["sockets"] * 1000 / 1e6, 2),
                }
                command("continue")
            elif phase == "error":
                raise SystemExit(f"socket benchmark failed on {key}: {event['error']}")
            elif phase == "done":
                break
        node.wait(timeout=30)
    finally:
        if node.poll() is None:
            node.kill()
    return out


def main() -> None:
    args = parse_args()
    anchor = sxs.find_anchor()
    pb.flush_redis(args.redis_url)
    if anchor is not None:
        env = pb.server_env(args, jwt_secret=sxs.NODE_SECRET)
        data = common.copy_anchor_rows(anchor, args.database, env)
        tokens = anchor.tokens()
        picked = {
            "match": "match_bench_0001",
            "sender": "google_bench_0001",
            "recipient": "google_bench_0002",
        }
        idle_tokens = tokens[2 : 2 + args.idle]
    else:
        env = pb.server_env(args)
        print(
            f"seeding {args.users} users, {args.matches} matches, {args.seed_messages} messages into {args.database} ...",
            flush=True,
        )
        picked = prepare(args, env)
        data = f"seed_demo: {args.users} users, {args.matches} matches, {args.seed_messages} messages"
        idle_users = [u for u in picked["users"] if u not in (picked["sender"], picked["recipient"])][
            : args.idle
        ]
        tokens = pb.tokens(env, [picked["sender"], picked["recipient"], *idle_users])
        idle_tokens = tokens[2:]
    config = {
        "matchId": picked["match"],
        "senderToken": tokens[0],
        "recipientToken": tokens[1],
        "messages": args.messages,
        "pipelines": [1, 50],
        "idleTokens": idle_tokens,
    }
    keys = sxs.targets(anchor, args.targets)
    results: dict[str, dict[str, dict]] = {"pipeline_1": {}, "pipeline_50": {}, "idle": {}}
    for key in keys:
        database = sxs.NODE_DATABASE if key.startswith("node_") else args.database
        since = sxs.now(database)
        target = sxs.start(key, anchor=anchor, service="chat", env=env)
        try:
            for case, figures in measure(target, key, config, picked, args).items():
                results[case][key] = figures
                print(f"  {case} [{sxs.LABELS[key]}]: {figures}", flush=True)
        finally:
            target.stop()
            sxs.delete_writes(database, since)
    pb.flush_redis(args.redis_url)
    shown = {"messages": args.messages, "idle_sockets": args.idle}
    common.write_side_by_side(args.json, "socket", shown, anchor, keys, results, data=data)


if __name__ == "__main__":
    main()
