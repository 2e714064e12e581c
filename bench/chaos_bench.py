#!/usr/bin/env python
"""The chaos run: a deploy and a bad day under steady load lose nothing (issue 18).

    .venv/bin/python bench/chaos_bench.py                       # 200 sockets, 10 s outages
    .venv/bin/python bench/chaos_bench.py --sockets 40 --outage 4 --settle 3

The whole system as in production, on this machine: two Daphne processes sharing one listening
socket, a Celery worker (solo pool) and beat, a private redis-server on a free port (never the
machine's), and PostgreSQL: the machine's for scenarios (a)-(d) (database `vlvt_bench_chaos`), a
private cluster (initdb / pg_ctl on a free port, in a temporary directory) for (e), which restarts
it. Steady load the whole time (bench/chaos_bench.mjs): 200 Socket.IO clients (the official
client, reconnecting as the app does, fetching the conversation on reconnect) each sending a
message with a tempId and an ack timeout every few seconds to its partner (an unacked or refused
send is resent with the same tempId), HTTP reads and REST sends (with an `Idempotency-Key`,
retried on 503 or no answer) at fixed rates. Scenarios, one after another:

  (a) rolling restart: SIGTERM to one Daphne, its replacement started on the same socket, then
      the other;
  (b) SIGKILL of the Celery worker right after 1,000 push and 100 After Hours tasks were queued,
      then a new worker;
  (c) Redis stopped for `--outage` seconds, then restarted empty;
  (d) Redis frozen (SIGSTOP) for `--outage` seconds;
  (e) PostgreSQL stopped (fast) for `--pg-outage` seconds and started again.

Figures per scenario: HTTP requests failed (no response, or a 5xx other than 503 with
Retry-After) and answered 503 + Retry-After, socket sends acked but not stored, stored messages
never delivered to their (connected) recipient by an event or by the history the client fetched
on reconnect, duplicate stored messages, users left online with no socket, Celery tasks lost
(b), the time from the fault's end until an HTTP read, `/ready` and a socket send-and-receive all
answer normally again, and the peak RSS and thread count of each kind of process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profiles_bench import database_url  # noqa: E402
from tests.support.postgres_server import PrivatePostgres  # noqa: E402
from tests.support.redis_server import PrivateRedis  # noqa: E402
from tests.support.servers import DaphneProcess, ServerProcess, shared_listening_socket  # noqa: E402

QUICK_ARGS = ["--sockets", "40", "--outage", "4", "--pg-outage", "3", "--settle", "3"]
HEADLINE = [
    "http_failed",
    "http_503",
    "acked_not_stored",
    "never_delivered",
    "duplicates",
    "online_without_socket",
    "tasks_lost",
    "recovery_ms",
    "daphne_peak_rss_mb",
    "daphne_peak_threads",
]
BIN = Path(sys.executable).parent
JWT_SECRET = "bench-chaos-jwt-secret"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--send-every-ms", type=int, default=4000)
    parser.add_argument("--reads-per-sec", type=float, default=20)
    parser.add_argument("--rest-sends-per-sec", type=float, default=4)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds Redis is stopped or frozen")
    parser.add_argument("--pg-outage", type=float, default=5.0, help="seconds PostgreSQL is stopped")
    parser.add_argument("--settle", type=float, default=5.0, help="steady load before and after each fault")
    parser.add_argument("--database", default="vlvt_bench_chaos")
    parser.add_argument("--only", default="abcde", help="scenarios to run, e.g. 'ae'")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "chaos_bench.json"))
    return parser.parse_args()


# --- the system -------------------------------------------------------------------------------------


def stack_env(db_url: str, redis_url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="vlvt.settings",
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        JWT_SECRET=JWT_SECRET,
        LOG_LEVEL="INFO",
        DATABASE_POOL_MAX="8",
        SHUTDOWN_TIMEOUT="10",
        CELERY_VISIBILITY_TIMEOUT="10",
        CELERY_BEAT_SCHEDULE_FILENAME=str(workdir / "celerybeat-schedule"),
        MEDIA_ROOT=str(workdir / "media"),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env | {"LOG_LEVEL": "WARNING"}, input=stdin,
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


SEED = """
import json
from profiles.models import Match, Profile, User, UserSubscription
from vlvt.http.auth import mint_token
n = {n}
ids = [f"chaos_{{i:04d}}" for i in range(n)] + ["chaos_probe_a", "chaos_probe_b"]
User.objects.bulk_create([User(id=i, provider="email", email=f"{{i}}@example.com", id_verified=True) for i in ids])
Profile.objects.bulk_create([Profile(user_id=i, name="Chaos", age=30, bio="Load", photos=["p.jpg"]) for i in ids])
UserSubscription.objects.bulk_create([UserSubscription(user_id=i, is_active=True, expires_at=None) for i in ids])
users = []
for a, b in zip(ids[0::2], ids[1::2]):
    m = Match.objects.create(user_1_id=a, user_2_id=b)
    for me, other in ((a, b), (b, a)):
        users.append({{"id": me, "partner": other, "matchId": m.id, "token": mint_token(me, expires_in=7200)}})
print(json.dumps(users))
"""


def prepare_database(
    db_url: str, admin_url: str, name: str, env: dict[str, str], sockets: int
) -> list[dict[str, Any]]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    manage(env, "migrate", "--no-input")
    return json.loads(manage(env, "shell", stdin=SEED.format(n=sockets)).strip().splitlines()[-1])


class Stack:
    """Two Daphnes on one socket, a worker and beat; a sampler of their memory and threads."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.listen = shared_listening_socket()
        self.daphnes = [DaphneProcess(env, listen_socket=self.listen) for _ in range(2)]
        self.workers = [self.start_worker()]
        self.beat = ServerProcess(
            [str(BIN / "celery"), "-A", "vlvt", "beat", "-s", str(workdir / "beat-schedule"), "--loglevel", "INFO"],
            env, name="celery-beat",
        )  # fmt: skip
        self.retired: list[ServerProcess] = []
        self.phase = "warmup"
        self.peaks: dict[str, dict[str, dict[str, float]]] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen.getsockname()[1]}"

    def start_worker(self) -> ServerProcess:
        worker = ServerProcess(
            [str(BIN / "celery"), "-A", "vlvt", "worker", "--pool", "solo", "--loglevel", "INFO", "-n", f"chaos{time.time_ns()}@%h"],
            self.env, name="celery-worker",
        )  # fmt: skip
        worker.wait_for_log("vlvt: worker serving", timeout=60)
        return worker

    def roles(self) -> list[tuple[str, ServerProcess]]:
        return (
            [("daphne", d) for d in self.daphnes]
            + [("worker", w) for w in self.workers]
            + [("beat", self.beat)]
        )

    def _sample(self) -> None:
        while not self._stop.is_set():
            for role, process in self.roles():
                rss, threads = _proc_status(process.pid)
                if rss is None:
                    continue
                peak = self.peaks.setdefault(self.phase, {}).setdefault(role, {"rss_mb": 0.0, "threads": 0})
                peak["rss_mb"] = max(peak["rss_mb"], rss)
                peak["threads"] = max(peak["threads"], threads)
            time.sleep(0.5)

    def rolling_restart(self) -> None:
        for index in range(2):
            old = self.daphnes[index]
            old.signal(signal.SIGTERM)
            self.daphnes[index] = DaphneProcess(self.env, listen_socket=self.listen)
            old.wait(60)
            self.retired.append(old)

    def logs(self) -> str:
        return "".join(p.log() for _, p in self.roles()) + "".join(p.log() for p in self.retired)

    def close(self) -> None:
        self._stop.set()
        for _, process in self.roles():
            process.stop()
        self.listen.close()


def _proc_status(pid: int) -> tuple[float | None, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None, 0
    rss = re.search(r"VmRSS:\s+(\d+) kB", text)
    threads = re.search(r"Threads:\s+(\d+)", text)
    return (int(rss.group(1)) / 1024 if rss else None), (int(threads.group(1)) if threads else 0)


# --- the load -------------------------------------------------------------------------------------------


class Load:
    def __init__(self, url: str, users: list[dict[str, Any]], args: argparse.Namespace) -> None:
        probe = [u for u in users if u["id"].startswith("chaos_probe")]
        self.users = [u for u in users if not u["id"].startswith("chaos_probe")]
        config = {
            "url": url, "users": self.users, "sendEveryMs": args.send_every_ms, "readsPerSec": args.reads_per_sec,
            "restSendsPerSec": args.rest_sends_per_sec, "probe": {"a": probe[0], "b": probe[1]},
        }  # fmt: skip
        self.proc = subprocess.Popen(
            ["node", str(ROOT / "bench" / "chaos_bench.mjs")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.send(json.dumps(config))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def ask(self, line: str, key: str) -> Any:
        return self.ask_all(line, key)[key]

    def ask_all(self, line: str, key: str) -> dict[str, Any]:
        """The driver's whole answer (the first line that has `key`)."""
        self.send(line)
        assert self.proc.stdout is not None
        while True:
            reply = self.proc.stdout.readline()
            if not reply:
                raise SystemExit(f"the load driver exited while waiting for {key}")
            data = json.loads(reply)
            if key in data:
                return data

    def connected(self) -> set[str]:
        return set(self.ask("state", "connected"))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()


# --- the run ----------------------------------------------------------------------------------------------


def enqueue_tasks(env: dict[str, str], pushes: int, after_hours: int) -> list[str]:
    code = f"""
import json, uuid
from chat.models import Message
from chat.tasks import push_new_message
from profiles.after_hours.tasks import session_expire
rows = list(Message.objects.values_list("id", "match_id")[:50])
ids = []
for i in range({pushes}):
    mid, _ = rows[i % len(rows)]
    ids.append(push_new_message.apply_async(("chaos_0000", mid)).id)
for i in range({after_hours}):
    ids.append(session_expire.apply_async((str(uuid.uuid4()),)).id)
print(json.dumps(ids))
"""
    return json.loads(manage(env, "shell", stdin=code).strip().splitlines()[-1])


def tasks_done(stack: Stack, ids: list[str]) -> set[str]:
    logs = "".join(w.log() for w in stack.workers)
    return {i for i in ids if f"[{i}] succeeded" in logs}


def run_scenarios(stack: Stack, load: Load, scenarios: str, args: argparse.Namespace, redis: PrivateRedis,
                  pg: PrivatePostgres | None) -> dict[str, dict[str, Any]]:  # fmt: skip
    import psycopg

    figures: dict[str, dict[str, Any]] = {}
    names = {
        "a": "a_rolling_restart", "b": "b_worker_sigkill", "c": "c_redis_stopped_restarted_empty",
        "d": "d_redis_frozen", "e": "e_postgresql_restarted",
    }  # fmt: skip
    for key in scenarios:
        name = names[key]
        stack.phase = name
        load.ask(f"phase {name}", "phase")
        time.sleep(args.settle)
        print(f"chaos: {name}", flush=True)
        extra: dict[str, Any] = {}
        if key == "a":
            stack.rolling_restart()
        elif key == "b":
            ids = enqueue_tasks(stack.env, 1000, 100)
            victim = stack.workers[-1]
            time.sleep(0.3)  # some running, most queued
            victim.signal(signal.SIGKILL)
            victim.wait(30)
            stack.workers.append(stack.start_worker())
            extra["tasks_queued"] = len(ids)
        elif key == "c":
            redis.stop()
            time.sleep(args.outage)
            redis.start()
        elif key == "d":
            redis.freeze()
            time.sleep(args.outage)
            redis.thaw()
        elif key == "e":
            assert pg is not None
            pg.stop()
            time.sleep(args.pg_outage)
            pg.start()
        probed = load.ask_all("probe", "probe_ms")
        extra["recovery_ms"] = probed["probe_ms"]
        extra["recovery_steps_ms"] = probed["probe_steps"]
        time.sleep(args.settle)
        if key == "b":
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(tasks_done(stack, ids)) < len(ids):
                time.sleep(1)
            extra["tasks_lost"] = len(ids) - len(tasks_done(stack, ids))
        connected = load.connected()
        with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:
            online = {
                r[0]
                for r in conn.execute(
                    "SELECT user_id FROM user_status WHERE is_online AND user_id LIKE 'chaos_0%'"
                )
            }
        extra["online_without_socket"] = len(online - connected)
        extra["sockets_connected"] = len(connected)
        figures[name] = extra
    return figures


def verify(stack: Stack, report: dict[str, Any], users: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per scenario of the send: acked but not stored, stored but never delivered, duplicates."""
    import psycopg

    partner = {u["id"]: u["partner"] for u in users}
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, sender_id, text FROM messages WHERE sender_id LIKE 'chaos_0%'"
        ).fetchall()
    stored_ids = {r[0] for r in rows}
    by_text: dict[str, list[tuple[str, str]]] = {}
    for message_id, sender, text in rows:
        by_text.setdefault(text, []).append((message_id, sender))
    received = {k: set(v) for k, v in report["received"].items()}
    phase_of = {m["tempId"]: m["phase"] for m in report["messages"]}
    phase_of.update({r["key"]: r["phase"] for r in report["restSends"]})
    out: dict[str, dict[str, Any]] = {}  # counts, and the never-delivered samples

    def bump(phase: str, figure: str) -> None:
        out.setdefault(phase, {"acked_not_stored": 0, "never_delivered": 0, "duplicates": 0, "stored": 0})
        out[phase][figure] += 1

    for m in report["messages"]:
        if m["tempId"] in by_text:
            bump(m["phase"], "stored")
        if m["id"] and m["id"] not in stored_ids:
            bump(m["phase"], "acked_not_stored")
    for text, copies in by_text.items():
        phase = phase_of.get(text, "unknown")
        if len(copies) > 1:
            for _ in copies[1:]:
                bump(phase, "duplicates")
        for message_id, sender in copies:
            if message_id not in received.get(partner.get(sender, ""), set()):
                bump(phase, "never_delivered")
                samples = out[phase].setdefault("never_delivered_samples", [])
                if len(samples) < 5:
                    samples.append(f"{text} {message_id} {sender}->{partner.get(sender)}")
    return out


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="vlvt-chaos-"))
    redis = PrivateRedis()
    redis.start()
    results: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    try:
        plan = [
            ("machine", "".join(s for s in args.only if s in "abcd")),
            ("private", "e" if "e" in args.only else ""),
        ]
        for postgres, scenarios in plan:
            if not scenarios:
                continue
            pg = PrivatePostgres() if postgres == "private" else None
            try:
                if pg is not None:
                    pg.start()
                    db_url, admin_url = pg.url(args.database), pg.url("postgres")
                else:
                    db_url, admin_url = database_url(args.database), database_url("postgres")
                env = stack_env(db_url, redis.url, workdir)
                users = prepare_database(db_url, admin_url, args.database, env, args.sockets)
                stack = Stack(env, workdir)
                load = None
                try:
                    load = Load(stack.url, users, args)
                    deadline = time.monotonic() + 120
                    while len(load.connected()) < len(load.users) and time.monotonic() < deadline:
                        time.sleep(0.5)
                    figures = run_scenarios(stack, load, scenarios, args, redis, pg)
                    load.ask("quiet", "quiet")
                    time.sleep(args.settle + 5)  # the last sends are acked and delivered
                    report = load.ask("report", "report")
                    checks = verify(stack, report, load.users)
                    for phase, extra in figures.items():
                        stats = report["stats"].get(phase, {})
                        peaks = stack.peaks.get(phase, {})
                        results[phase] = {
                            "http_failed": stats.get("http_failed", 0),
                            "http_503": stats.get("http_503", 0),
                            "http_ok": stats.get("http_ok", 0),
                            "socket_sends": stats.get("sent", 0),
                            "error_acks": stats.get("error_acks", 0),
                            "ack_timeouts": stats.get("ack_timeouts", 0),
                            "connect_errors": stats.get("connect_errors", 0),
                            "reconnects": stats.get("reconnects", 0),
                            **{k: v for k, v in checks.get(phase, {}).items()},
                            **extra,
                            **{f"{role}_peak_rss_mb": round(p["rss_mb"], 1) for role, p in peaks.items()},
                            **{f"{role}_peak_threads": p["threads"] for role, p in peaks.items()},
                            "http_failure_samples": stats.get("http_failures", [])[:5],
                            "processes_restarted_by_us": 0 if phase[0] in "cde" else None,
                        }
                    warm = checks.get("warmup", {})
                    results.setdefault("warmup", {}).update(warm)
                finally:
                    if load is not None:
                        load.close()
                    log_path = Path(tempfile.gettempdir()) / f"vlvt-chaos-{postgres}-logs.txt"
                    log_path.write_text(stack.logs()[-5_000_000:])
                    print(f"chaos: process logs in {log_path}", flush=True)
                    stack.close()
            finally:
                if pg is not None:
                    pg.close()
                else:
                    import psycopg

                    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            write_results(args, started, load_before, results)
    finally:
        redis.close()
        shutil.rmtree(workdir, ignore_errors=True)
    write_results(args, started, load_before, results)
    for phase, figures in results.items():
        print(phase, json.dumps(figures))


def write_results(
    args: argparse.Namespace, started: datetime, load_before: Any, results: dict[str, Any]
) -> None:
    """After each stack, so a failure in a later one keeps what was measured."""
    payload = {
        "benchmark": "chaos_bench",
        "started": started.isoformat(),
        "args": vars(args),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "results": results,
        "headline": HEADLINE,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
