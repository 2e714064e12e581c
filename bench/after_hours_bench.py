#!/usr/bin/env python
"""Benchmark of After Hours chat (issue 6): the daily cleanup and the bridge fan-out.

    .venv/bin/python bench/after_hours_bench.py                        # both parts, full size
    .venv/bin/python bench/after_hours_bench.py --only cleanup --messages 200000
    .venv/bin/python bench/after_hours_bench.py --only bridge --sockets 500

Uses a dedicated database (default `vlvt_bench_ahchat`, created and migrated if missing; its After
Hours tables are emptied and re-seeded on every run) and Redis database (default 11). Runs on the
same database wait for each other (an advisory lock), so `python -m bench` and a manual run cannot
trample each other's data.

Cleanup: seeds 1,000,000 After Hours messages in 50,000 unconverted matches that expired 31 to 120
days ago (to be deleted), plus 120,000 messages that must stay (5,000 matches expired 1 to 29 days
ago and 1,000 old converted ones). Starts a real Celery worker (`celery -A vlvt worker -P solo`),
sends it `chat.after_hours_messages_cleanup` and reports: the wall time of the task, the worker's
peak RSS (VmHWM) and its growth over the idle worker, the number of batches with their median and
longest duration as timed by the task, and the longest transaction of the worker's database
session seen by an outside observer sampling pg_stat_activity every few ms (every lock the
cleanup takes is held until its transaction ends, so this bounds the longest single lock held).

Bridge: starts one Daphne process per core on one shared listening socket, connects `--sockets`
users (one socket each, official socket.io-client), then publishes `after_hours:match` envelopes on
the bridge channel with the publisher's wall clock in the payload and measures publish-to-receipt
latency at the client: `burst` rounds publish one event per user at once (a matching sweep
announcing 1,000 matches), `paced` rounds one event every 2 ms. Each socket must receive each event
exactly once: duplicates and missing events are counted.

Prints the figures and writes JSON (default bench/results/after_hours_bench.json). Needs node,
PostgreSQL and Redis. Rate limits are off, request logs at WARNING.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _common as common  # noqa: E402
from bench import _sxs as sxs  # noqa: E402
from bench import profiles_bench as pb  # noqa: E402
from tests.support.servers import BIN, ServerProcess  # noqa: E402
from tests.support.wait import wait_until  # noqa: E402

WORKER_DB_NAME = "vlvt-ahbench-worker"
QUICK_ARGS = ["--messages", "100000", "--sockets", "200", "--rounds", "2"]
BRIDGE_EVENT = "after_hours:match"


def parse_args() -> argparse.Namespace:
    parser = common.parser(__doc__)
    parser.add_argument("--only", choices=["cleanup", "bridge"], help="run one part")
    parser.add_argument("--messages", type=int, default=1_000_000, help="After Hours messages to delete")
    parser.add_argument("--per-match", type=int, default=20, help="messages per After Hours match")
    parser.add_argument("--sockets", type=int, default=1000, help="connected users for the bridge")
    parser.add_argument("--rounds", type=int, default=5, help="burst rounds (and paced rounds)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="Daphne processes")
    common.add_target_arguments(parser, database="vlvt_bench_ahchat", redis_db=11, name="after_hours_bench")
    return parser.parse_args()


# --- data -------------------------------------------------------------------------------------------

SEED_USERS = """
INSERT INTO users (id, provider, email, id_verified)
SELECT 'ahb_' || lpad(n::text, 6, '0'), 'email', 'ahb_' || n || '@example.com', true FROM generate_series(1, %(users)s) n
ON CONFLICT (id) DO NOTHING
"""
# Match n pairs user n and user n+1 (mod the user count), each on a closed session of its own,
# expired `min_days` to `min_days + spread` days ago; converted ones point at the permanent match n.
SEED_MATCHES = """
WITH p AS MATERIALIZED (
    SELECT n, gen_random_uuid() AS session_id, x.u1, x.u2, x.e
      FROM generate_series(1, %(count)s) n
     CROSS JOIN LATERAL (
           SELECT 'ahb_' || lpad((1 + n %% %(users)s)::text, 6, '0') AS u1,
                  'ahb_' || lpad((1 + (n + 1) %% %(users)s)::text, 6, '0') AS u2,
                  now() - (%(min_days)s + (n %% %(spread)s)) * interval '1 day' - (n %% 1440) * interval '1 minute' AS e
     ) x
), sessions AS (
    INSERT INTO after_hours_sessions (id, user_id, started_at, expires_at, ended_at, latitude, longitude, fuzzed_latitude, fuzzed_longitude)
    SELECT session_id, u1, e - interval '30 minutes', e, e, 0, 0, 0, 0 FROM p
)
INSERT INTO after_hours_matches (id, session_id, user_id_1, user_id_2, created_at, expires_at, converted_to_match_id)
SELECT gen_random_uuid(), session_id, u1, u2, e - interval '10 minutes', e, CASE WHEN %(converted)s THEN 'match_ahb_' || n END
  FROM p
"""
SEED_PERMANENT = """
INSERT INTO matches (id, user_id_1, user_id_2, source)
SELECT 'match_ahb_' || n, 'ahb_' || lpad((1 + n %% %(users)s)::text, 6, '0'),
       'ahb_' || lpad((1 + (n + 1) %% %(users)s)::text, 6, '0'), 'after_hours'
  FROM generate_series(1, %(count)s) n
ON CONFLICT DO NOTHING
"""
SEED_MESSAGES = """
INSERT INTO after_hours_messages (id, match_id, sender_id, text, created_at)
SELECT gen_random_uuid(), a.id, CASE WHEN k %% 2 = 0 THEN a.user_id_1 ELSE a.user_id_2 END,
       'After Hours line ' || k || ' of a benchmark conversation', a.created_at + k * interval '20 seconds'
  FROM after_hours_matches a CROSS JOIN generate_series(1, %(per_match)s) k
"""


def connect_db(args: argparse.Namespace):
    import psycopg

    return psycopg.connect(pb.database_url(args.database), autocommit=True)


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(pb.database_url("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone():
            conn.execute(f'CREATE DATABASE "{args.database}"')
    pb.manage(env, "migrate", "--no-input")
    users = max(args.sockets, 2000)
    with connect_db(args) as conn:
        conn.execute(SEED_USERS, {"users": users})


def seed_cleanup(args: argparse.Namespace) -> dict[str, int]:
    users = max(args.sockets, 2000)
    doomed_matches = args.messages // args.per_match
    with connect_db(args) as conn:
        conn.execute("TRUNCATE after_hours_messages, after_hours_matches, after_hours_sessions CASCADE")
        conn.execute("DELETE FROM matches WHERE id LIKE %s", ["match\\_ahb\\_%"])
        conn.execute(SEED_PERMANENT, {"count": 1000, "users": users})
        shapes = [  # (count, min days expired, spread in days, converted)
            (doomed_matches, 31, 90, False),
            (5000, 1, 29, False),
            (1000, 35, 100, True),
        ]
        for count, min_days, spread, converted in shapes:
            conn.execute(
                SEED_MATCHES,
                {
                    "count": count,
                    "users": users,
                    "min_days": min_days,
                    "spread": spread,
                    "converted": converted,
                },
            )
        conn.execute(SEED_MESSAGES, {"per_match": args.per_match})
        conn.execute("VACUUM ANALYZE after_hours_matches")
        conn.execute("VACUUM ANALYZE after_hours_messages")
        total = conn.execute("SELECT count(*) FROM after_hours_messages").fetchone()[0]
    return {
        "matches_to_delete": doomed_matches,
        "messages_to_delete": doomed_matches * args.per_match,
        "messages_total": total,
    }


class LockObserver(threading.Thread):
    """Samples the worker's database session: the age of its open transaction, as often as it can."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(daemon=True)
        self.args = args
        self.stop = threading.Event()
        self.longest_ms = 0.0
        self.samples = 0
        self.busy_samples = 0

    def run(self) -> None:
        with connect_db(self.args) as conn:
            while not self.stop.is_set():
                row = conn.execute(
                    "SELECT max(extract(epoch FROM clock_timestamp() - xact_start)) * 1000 FROM pg_stat_activity "
                    "WHERE application_name = %s AND xact_start IS NOT NULL",
                    [WORKER_DB_NAME],
                ).fetchone()
                self.samples += 1
                if row[0] is not None:
                    self.busy_samples += 1
                    self.longest_ms = max(self.longest_ms, float(row[0]))
                time.sleep(0.002)


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def run_cleanup(args: argparse.Namespace, env: dict[str, str]) -> dict:
    print(f"seeding {args.messages:,} After Hours messages to delete (plus 120,000 to keep) ...", flush=True)
    started = time.monotonic()
    seeded = seed_cleanup(args)
    print(f"  seeded {seeded['messages_total']:,} messages in {time.monotonic() - started:.1f} s", flush=True)
    queue = f"ahbench-{uuid.uuid4().hex[:8]}"
    worker_env = {**env, "LOG_LEVEL": "INFO", "LOG_FORMAT": "json", "DB_APPLICATION_NAME": WORKER_DB_NAME}
    worker = ServerProcess(
        [str(BIN / "celery"), "-A", "vlvt", "worker", "-P", "solo", "-c", "1", "-Q", queue, "-l", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        worker_env, name="bench-celery",
    )  # fmt: skip
    log = worker.log_file
    observer = LockObserver(args)
    try:
        worker.wait_for_log("vlvt: worker serving", timeout=60)
        time.sleep(1)
        idle_rss = vm_kib(worker.pid, "VmRSS")
        idle_hwm = vm_kib(worker.pid, "VmHWM")
        from celery import Celery

        sender = Celery(broker=env["REDIS_URL"])
        observer.start()
        sent_at = time.monotonic()
        sender.send_task("chat.after_hours_messages_cleanup", queue=queue)
        done = wait_until(
            lambda: _done_line(log.name), 3600, f"the cleanup to finish; log {log.name}", interval=0.2
        )
        wall = time.monotonic() - sent_at
        peak = vm_kib(worker.pid, "VmHWM")
    finally:
        observer.stop.set()
        worker.stop(timeout=60)
    with connect_db(args) as conn:
        left = conn.execute("SELECT count(*) FROM after_hours_messages").fetchone()[0]
        converted_left = conn.execute(
            "SELECT count(*) FROM after_hours_matches WHERE converted_to_match_id IS NOT NULL"
        ).fetchone()[0]
    result = {
        **seeded,
        "deleted_messages": done["messages"],
        "deleted_matches": done["matches"],
        "messages_left": left,
        "converted_matches_left": converted_left,
        "task_seconds": done["seconds"],
        "wall_seconds_from_send": round(wall, 2),
        "messages_per_second": round(done["messages"] / done["seconds"]) if done["seconds"] else None,
        "batches": done["batches"],
        "median_batch_ms": done["median_batch_ms"],
        "longest_batch_ms": done["longest_batch_ms"],
        "longest_transaction_observed_ms": round(observer.longest_ms, 1),
        "observer_samples": observer.samples,
        "worker_idle_rss_mb": round(idle_rss / 1024, 1),
        "worker_peak_rss_mb": round(peak / 1024, 1),
        "worker_peak_growth_mb": round((peak - max(idle_hwm, idle_rss)) / 1024, 1),
    }
    print(f"  cleanup: {json.dumps(result)}", flush=True)
    return result


def _done_line(path: str) -> dict | None:
    for line in Path(path).read_text(errors="replace").splitlines():
        if "after hours chat cleanup done" in line:
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


# --- bridge -----------------------------------------------------------------------------------------


def run_bridge(args: argparse.Namespace, env: dict[str, str]) -> dict:
    import redis

    channel = f"after_hours:events:bench:{uuid.uuid4().hex[:8]}"
    users = [f"ahb_{n:06d}" for n in range(1, args.sockets + 1)]
    tokens = pb.tokens(env, users)
    redis.Redis.from_url(args.redis_url).flushdb()
    servers = sxs.OursTarget({**env, "AFTER_HOURS_EVENTS_CHANNEL": channel}, args.processes)
    publisher = redis.Redis.from_url(args.redis_url)
    rounds: list[dict] = []
    try:
        node = subprocess.Popen(
            ["node", str(ROOT / "bench" / "after_hours_bench.mjs")],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        assert node.stdin is not None and node.stdout is not None  # both are pipes
        node.stdin.write(json.dumps({"url": f"http://127.0.0.1:{servers.port}", "tokens": tokens}) + "\n")
        node.stdin.flush()
        connected = json.loads(node.stdout.readline())
        if connected.get("phase") != "connected":
            raise SystemExit(f"bridge benchmark failed: {connected}")
        subscribed = wait_until(
            lambda: dict(publisher.pubsub_numsub(channel))[channel.encode()] or None,
            30,
            "the bridges",
            interval=0.2,
        )
        time.sleep(1)
        print(f"  {connected['sockets']} sockets connected; {subscribed} process(es) subscribed", flush=True)
        plan = [("warmup", "burst")] + [(f"burst-{i}", "burst") for i in range(args.rounds)]
        plan += [(f"paced-{i}", "paced") for i in range(args.rounds)]
        for label, kind in plan:
            node.stdin.write(json.dumps({"label": label, "expect": len(users), "timeoutMs": 30000}) + "\n")
            node.stdin.flush()
            assert json.loads(node.stdout.readline())["phase"] == "armed"
            publish(publisher, channel, users, label, kind)
            outcome = json.loads(node.stdout.readline())
            if label != "warmup":
                rounds.append({"kind": kind, **outcome})
            print(f"  {label}: received {outcome['received']}/{len(users)}, duplicates {outcome['duplicates']}, "
                  f"p50 {outcome['p50_ms']} ms, p99 {outcome['p99_ms']} ms", flush=True)  # fmt: skip
        node.stdin.close()
        node.wait(timeout=30)
    finally:
        servers.stop()
    result: dict = {
        "sockets": connected["sockets"],
        "processes": args.processes,
        "subscribed_processes": subscribed,
    }
    for kind in ("burst", "paced"):
        mine = [r for r in rounds if r["kind"] == kind]
        latencies = sorted(x for r in mine for x in r["latencies"])
        result[kind] = {
            "rounds": len(mine),
            "events": len(latencies),
            "expected": len(mine) * len(users),
            "duplicates": sum(r["duplicates"] for r in mine),
            "p50_ms": round(_pct(latencies, 50), 2),
            "p99_ms": round(_pct(latencies, 99), 2),
            "max_ms": round(latencies[-1], 2) if latencies else None,
        }
    print(f"  bridge: {json.dumps(result)}", flush=True)
    return result


def publish(client, channel: str, users: list[str], label: str, kind: str) -> None:
    def envelope(seq: int, user: str, sent_at: float) -> str:
        payload = {"bench": label, "seq": seq, "sentAt": sent_at}
        return json.dumps({"type": BRIDGE_EVENT, "targetUserId": user, "payload": payload, "timestamp": ""})

    if kind == "burst":
        pipe = client.pipeline(transaction=False)
        sent_at = time.time() * 1000
        for seq, user in enumerate(users):
            pipe.publish(channel, envelope(seq, user, sent_at))
        pipe.execute()
    else:
        for seq, user in enumerate(users):
            client.publish(channel, envelope(seq, user, time.time() * 1000))
            time.sleep(0.002)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, int(-(-p * len(values) // 100)) - 1))]


# --- main -------------------------------------------------------------------------------------------


def exclusive(args: argparse.Namespace):
    """Hold a session-level advisory lock for the whole run (released when the process ends)."""
    import psycopg

    conn = psycopg.connect(pb.database_url("postgres"), autocommit=True)
    key = f"vlvt-bench:{args.database}"
    locked = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key]).fetchone()
    if not (locked and locked[0]):
        print(f"waiting for another run on {args.database} to finish ...", flush=True)
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
    return conn


def main() -> None:
    args = parse_args()
    env = pb.server_env(args)
    lock = exclusive(args)
    prepare_database(args, env)
    results: dict = {}
    if args.only in (None, "bridge"):
        print(f"bridge: {args.sockets} users on {args.processes} Daphne process(es) ...", flush=True)
        results["bridge"] = run_bridge(args, env)
    if args.only in (None, "cleanup"):
        results["cleanup"] = run_cleanup(args, env)
    report(args, results)
    lock.close()


def report(args: argparse.Namespace, results: dict) -> None:
    if "cleanup" in results:
        c = results["cleanup"]
        print(
            f"cleanup of {c['deleted_messages']:,} messages / {c['deleted_matches']:,} matches: {c['task_seconds']} s "
            f"({c['messages_per_second']:,} msg/s), {c['batches']} batches (median {c['median_batch_ms']} ms, "
            f"longest {c['longest_batch_ms']} ms; longest transaction seen from outside "
            f"{c['longest_transaction_observed_ms']} ms), worker peak RSS {c['worker_peak_rss_mb']} MB "
            f"(+{c['worker_peak_growth_mb']} MB over idle); left: {c['messages_left']:,} messages, "
            f"{c['converted_matches_left']} converted matches"
        )
    if "bridge" in results:
        b = results["bridge"]
        for kind in ("burst", "paced"):
            k = b[kind]
            print(
                f"bridge {kind} ({b['sockets']} users, {b['processes']} processes): {k['events']}/{k['expected']} events, "
                f"{k['duplicates']} duplicates, publish-to-receipt p50 {k['p50_ms']} ms, p99 {k['p99_ms']} ms, max {k['max_ms']} ms"
            )
    cases: dict = {}
    if "cleanup" in results:
        c = results["cleanup"]
        cases[f"cleanup_{c['messages_to_delete']}_messages"] = {
            "seconds": c["task_seconds"],
            "msgs_per_s": c["messages_per_second"],
            "worker_peak_rss_mb": c["worker_peak_rss_mb"],
            "worker_peak_growth_mb": c["worker_peak_growth_mb"],
            "longest_lock_ms": max(c["longest_batch_ms"], c["longest_transaction_observed_ms"]),
            **c,
        }
    if "bridge" in results:
        b = results["bridge"]
        for kind in ("burst", "paced"):
            cases[f"bridge_{kind}_{b['sockets']}_users"] = {
                **b[kind],
                "sockets": b["sockets"],
                "processes": b["processes"],
            }
    payload = {
        "benchmark": "after_hours_chat",
        "machine": common.machine(),
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "headline": [
            "seconds",
            "worker_peak_rss_mb",
            "longest_lock_ms",
            "p50_ms",
            "p99_ms",
            "duplicates",
            "events",
        ],
        "results": cases,
        "notes": "cleanup: one Celery worker (solo pool) running the real task; longest_lock_ms is the longer of the "
        "task's own longest batch transaction and the longest transaction an outside observer saw. bridge: Daphne "
        "processes on one shared listening socket, publish-to-receipt latency measured by the official client "
        "against the publisher's wall clock; burst = one event per user published at once, paced = one every 2 ms.",
    }
    common.write_results(args.json, payload)


if __name__ == "__main__":
    main()
