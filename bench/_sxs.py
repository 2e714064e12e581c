"""Side by side with the original: its Node services and ours, started in turn in one run.

A benchmark measures its cases on *targets*, one at a time, each started fresh for the case and
stopped after it:

    node_1   the original service as one `node dist/index.js`          (when VLVT_ANCHOR is built)
    ours_1   one Daphne process
    node_2   the original service as a 2-worker node cluster            (when VLVT_ANCHOR is built)
    ours_2   two Daphne processes accepting on one shared socket

`VLVT_ANCHOR` names the directory an anchor kit's `build.sh` built the original services into
(`backend/*-service/dist`, `bench/start-services.sh`, `bench/cluster.js`, `bench/bench.lua`,
`bench/tokens.json`). The kit's other files (`seed.sql`, `gen-lua.js`) are looked up in
`$VLVT_ANCHOR/bench/` and then in `VLVT_ANCHOR_KIT`. No code of the original is kept in this
repository: the services run from the anchor directory, with the kit's own scripts. Without
`VLVT_ANCHOR`, only our targets run and there is no ratio: figures of the original taken on another
day say nothing (this machine's speed moves more than the ratios did).

Server CPU is what the target's processes (a node cluster's primary and workers, every Daphne)
spent in user and system time during a measured run, from /proc.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import DaphneProcess, free_port, shared_listening_socket  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NODE_DATABASE = "vlvt_node"  # the anchor's database, seeded by its kit
NODE_SECRET = "bench-secret"  # the anchor's JWT secret (its tokens.json is signed with it)
LABELS = {
    "node_1": "Node, 1 process",
    "ours_1": "ours, 1 Daphne",
    "node_2": "Node, 2-worker cluster",
    "ours_2": "ours, 2 Daphne",
}
# The tables the anchor's seed fills; our copy of its rows when adoption is refused.
SEEDED_TABLES = ("users", "profiles", "user_subscriptions", "matches", "messages")


# --- the anchor ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    root: Path
    kit: Path | None

    def file(self, name: str) -> Path | None:
        """A kit file: the copy in the anchor directory, else the kit's."""
        for folder in (self.root / "bench", self.kit):
            if folder is not None and (folder / name).exists():
                return folder / name
        return None

    @property
    def lua(self) -> Path:
        return self.root / "bench" / "bench.lua"

    def tokens(self) -> list[str]:
        """HS256 tokens of google_bench_0001.. (in that order), signed with NODE_SECRET."""
        import json

        return json.loads((self.root / "bench" / "tokens.json").read_text())

    def source(self) -> str:
        path = self.root / "SOURCE.txt"
        return path.read_text().split("\n", 1)[0] if path.exists() else "unknown"

    def refresh(self) -> str:
        """Tokens renewed (they expire after 30 days) and the original's rows re-seeded, when the
        kit's gen-lua.js and seed.sql are at hand; the rows this run writes are deleted anyway."""
        notes = []
        gen = self.file("gen-lua.js")
        if gen is not None:
            subprocess.run(
                ["node", str(gen)],
                env={**os.environ, "VLVT_ANCHOR": str(self.root)},
                check=True,
                capture_output=True,
            )
            notes.append("tokens renewed (gen-lua.js)")
        seed = self.file("seed.sql")
        if seed is not None:
            psql(NODE_DATABASE, "-f", str(seed))
            notes.append("vlvt_node re-seeded (seed.sql)")
        settle(NODE_DATABASE)
        return ", ".join(notes) or "the build's seed and tokens (no kit: set VLVT_ANCHOR_KIT to re-seed)"


def find_anchor() -> Anchor | None:
    """The built anchor named by VLVT_ANCHOR, or None when it is unset."""
    value = os.environ.get("VLVT_ANCHOR")
    if not value:
        return None
    root = Path(value).resolve()
    needed = [
        "backend/chat-service/dist/index.js",
        "backend/profile-service/dist/index.js",
        "bench/start-services.sh",
        "bench/cluster.js",
        "bench/bench.lua",
        "bench/tokens.json",
    ]
    missing = [name for name in needed if not (root / name).exists()]
    if missing:
        raise SystemExit(
            f"VLVT_ANCHOR={root} is not a built anchor (missing {', '.join(missing)}): run the kit's build.sh"
        )
    kit = os.environ.get("VLVT_ANCHOR_KIT")
    return Anchor(root=root, kit=Path(kit).resolve() if kit else None)


# --- databases -----------------------------------------------------------------------------------


def database_url(name: str) -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/vlvt"))
    return urlunsplit(parts._replace(path=f"/{name}"))


def _pg_args() -> list[str]:
    parts = urlsplit(database_url("postgres"))
    return [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "root",
    ]


def psql(database: str, *args: str) -> str:
    out = subprocess.run(
        ["psql", *_pg_args(), "-d", database, "-v", "ON_ERROR_STOP=1", "-Atq", *args],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"psql {database} {' '.join(args)[:80]} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def settle(database: str) -> None:
    """Statistics and visibility map current, earlier writes flushed: the measurement pays for
    neither (this machine's PostgreSQL runs without autovacuum)."""
    psql(database, "-c", "VACUUM ANALYZE")
    psql(database, "-c", "CHECKPOINT")


def manage(env: dict[str, str], *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=ROOT, env=env, check=check, capture_output=True, text=True
    )


def copy_original_rows(database: str, env: dict[str, str]) -> str:
    """Our database with the original's rows: a copy of vlvt_node taken over with `adopt_database`,
    as the deployment guide does with an existing VLVT database; when adoption refuses, a fresh
    `migrate` and the seeded tables copied over. Returns which of the two happened."""
    psql("postgres", "-c", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    psql("postgres", "-c", f'CREATE DATABASE "{database}" TEMPLATE "{NODE_DATABASE}"')
    adopted = manage(env, "adopt_database", check=False)
    how = "a copy of vlvt_node taken over with adopt_database"
    if adopted.returncode:
        refusal = [line.strip() for line in (adopted.stdout + adopted.stderr).splitlines() if "ERROR" in line]
        psql("postgres", "-c", f'DROP DATABASE "{database}" WITH (FORCE)')
        psql("postgres", "-c", f'CREATE DATABASE "{database}"')
        manage(env, "migrate", "--no-input")
        tables = [arg for table in SEEDED_TABLES for arg in ("-t", table)]
        dump = subprocess.run(
            ["pg_dump", *_pg_args(), "--data-only", *tables, NODE_DATABASE],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        subprocess.run(
            ["psql", *_pg_args(), "-d", database, "-q", "-v", "ON_ERROR_STOP=1"],
            input=dump,
            check=True,
            capture_output=True,
            text=True,
        )
        how = f"migrate + the rows of {', '.join(SEEDED_TABLES)} from vlvt_node (adopt_database refused: {'; '.join(refusal)[:200]})"
    settle(database)
    return how


def delete_writes(database: str, since: str) -> None:
    """What a run wrote (every seeded row is older than the run), so every target writes into the
    same tables. The original's audit triggers log each message write in audit_log."""
    psql(database, "-c", f"DELETE FROM messages WHERE created_at >= '{since}'")
    if psql(database, "-c", "SELECT to_regclass('public.audit_log') IS NOT NULL") == "t":
        psql(database, "-c", f"DELETE FROM audit_log WHERE created_at >= '{since}'")
    psql(database, "-c", "VACUUM ANALYZE messages")


def now(database: str) -> str:
    return psql(database, "-c", "SELECT now()")


# --- processes and their CPU ---------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()  # fields from the state on (the name may hold spaces)


def process_tree(roots: Iterable[int]) -> list[int]:
    """The roots and every descendant (a node cluster's workers)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    keep = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in keep and pid not in keep:
                keep.add(pid)
                grew = True
    return sorted(p for p in keep if p in parents)


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def rss_bytes(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(match.group(1)) * 1024 if match else 0
    return total


def gone(pid: int) -> bool:
    fields = _stat(pid)
    return fields is None or fields[0] in ("Z", "X")  # a zombie has exited


def wait_http(
    port: int, path: str = "/health", headers: dict[str, str] | None = None, timeout: float = 60
) -> None:
    """Answered 200 five times in a row (with several processes, most of them have started)."""
    import httpx

    deadline = time.monotonic() + timeout
    streak = 0
    while streak < 5:
        if time.monotonic() > deadline:
            raise SystemExit(f"nothing answered http://127.0.0.1:{port}{path} with 200 in {timeout:.0f} s")
        try:
            ok = (
                httpx.get(f"http://127.0.0.1:{port}{path}", headers=headers or {}, timeout=5).status_code
                == 200
            )
        except httpx.HTTPError:
            ok = False
        streak = streak + 1 if ok else 0
        time.sleep(0.1 if ok else 0.3)


class OursTarget:
    """Daphne processes (tests/support/servers.py) accepting on one listening socket."""

    def __init__(self, env: dict[str, str], processes: int) -> None:
        self.sock = shared_listening_socket()
        self.port = self.sock.getsockname()[1]
        self.servers = [
            DaphneProcess(env, listen_socket=self.sock, wait_serving=False) for _ in range(processes)
        ]
        try:
            wait_http(self.port)
        except SystemExit:
            self.stop()
            raise

    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    def workers(self) -> list[int]:
        return self.pids()

    def log(self) -> str:
        return "\n".join(server.log() for server in self.servers)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.sock.close()


class NodeTarget:
    """An original service, started with the anchor's start-services.sh (one process, or
    cluster.js with two workers) against `database`; stopped with SIGTERM."""

    def __init__(self, anchor: Anchor, service: str, workers: int, database: str = NODE_DATABASE) -> None:
        self.port = free_port()
        self.tag = f"bench-{service}-{workers}-{self.port}"
        env = {
            **os.environ,
            "VLVT_ANCHOR": str(anchor.root),
            "VLVT_PORT": str(self.port),
            "VLVT_LOG_TAG": self.tag,
            "VLVT_DATABASE_URL": database_url(database).replace("postgres://", "postgresql://", 1),
        }
        self.logs = anchor.root / "logs"
        mode = "single" if workers == 1 else "cluster2"
        started = subprocess.run(
            [str(anchor.root / "bench" / "start-services.sh"), service, mode],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        pidfile = self.logs / f"{self.tag}.pid"
        self.pid = int(pidfile.read_text()) if pidfile.exists() else None
        if started.returncode:
            self.stop()
            raise SystemExit(f"the original {service} did not start: {started.stdout}{started.stderr}")
        wait_http(self.port)

    def pids(self) -> list[int]:
        return process_tree([self.pid]) if self.pid else []

    def workers(self) -> list[int]:
        """The processes that serve: the workers of a cluster, else the one process."""
        tree = self.pids()
        return [p for p in tree if p != self.pid] or tree

    def log(self) -> str:
        path = self.logs / f"{self.tag}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if not self.pid:
            return
        tree = self.pids()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(gone(p) for p in tree):
            time.sleep(0.1)
        for pid in tree:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        self.pid = None


Target = OursTarget | NodeTarget


def start(key: str, *, anchor: Anchor | None, service: str, env: dict[str, str]) -> Target:
    """The target `key` (see LABELS) for a case of `service` ("chat" or "profile")."""
    processes = int(key[-1])
    if key.startswith("node_"):
        if anchor is None:
            raise SystemExit("the original's targets need VLVT_ANCHOR")
        return NodeTarget(anchor, service, processes)
    return OursTarget(env, processes)


def targets(anchor: Anchor | None, wanted: Iterable[str] = ()) -> list[str]:
    keys = [k for k in LABELS if anchor is not None or k.startswith("ours_")]
    chosen = [k for k in keys if not wanted or k in wanted]
    if not chosen:
        raise SystemExit(f"no target left of {keys}")
    return chosen


def order(keys: list[str], case_index: int) -> list[str]:
    """The targets' order turned by one per case: none always runs first (warmest caches) or last."""
    shift = case_index % len(keys)
    return keys[shift:] + keys[:shift]


# --- wrk -----------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _match(pattern: str, text: str, *, full: bool = False) -> re.Match[str]:
    """The match of `pattern` in wrk's output, which must be there."""
    found = re.fullmatch(pattern, text) if full else re.search(pattern, text)
    if found is None:
        raise ValueError(f"no {pattern!r} in {text!r}")
    return found


def _ms(text: str) -> float:
    value, unit = _match(r"([\d.]+)(us|ms|s|m)", text, full=True).groups()
    return float(value) * _UNITS[unit]


@dataclass(frozen=True)
class Load:
    """A wrk script: its text (written to a file) or an existing file, and its arguments."""

    script: str | Path
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class WrkSettings:
    threads: int = 2
    connections: int = 50
    duration: int = 15
    runs: int = 3
    warmup: int = 5


def wrk(port: int, load: Load, settings: WrkSettings, duration: int) -> dict[str, Any]:
    path = load.script
    temporary = None
    if isinstance(path, str):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(path)
        path = temporary = Path(handle.name)
    try:
        out = subprocess.run(
            ["wrk", f"-t{settings.threads}", f"-c{settings.connections}", f"-d{duration}s", "--latency", "-s", str(path),
             f"http://127.0.0.1:{port}", *(("--", *load.args) if load.args else ())],
            check=True, capture_output=True, text=True, timeout=duration + 60,
        ).stdout  # fmt: skip
    finally:
        if temporary is not None:
            temporary.unlink()
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(_match(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(_match(r"\s50%\s+(\S+)", out).group(1)),
        "p99_ms": _ms(_match(r"\s99%\s+(\S+)", out).group(1)),
        "requests": int(_match(r"(\d+) requests in", out).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput, with the medians of the per-CPU and tail figures beside it."""
    middle = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    return {
        **middle,
        "per_cpu_s": round(statistics.median(r["per_cpu_s"] for r in runs), 1),
        "p99_ms_median": statistics.median(r["p99_ms"] for r in runs),
        "runs_rps": [r["rps"] for r in runs],
    }


def measure_http(
    target: Target, load: Load, settings: WrkSettings, before_run: Callable[[], None] | None = None
) -> dict[str, Any]:
    """A warm-up, then `settings.runs` measured wrk runs with the target's CPU around each."""
    if before_run is not None:
        before_run()
    wrk(target.port, load, settings, settings.warmup)
    pids = target.pids()
    runs = []
    for _ in range(settings.runs):
        if before_run is not None:
            before_run()
        cpu = cpu_seconds(pids)
        run = wrk(target.port, load, settings, settings.duration)
        run["server_cpu_s"] = round(cpu_seconds(pids) - cpu, 2)
        run["per_cpu_s"] = round(run["requests"] / run["server_cpu_s"], 1) if run["server_cpu_s"] else None
        runs.append(run)
    return median_of(runs)


def run_http_cases(
    cases: dict[str, tuple[str, Load, Load]],
    *,
    anchor: Anchor | None,
    keys: list[str],
    env: dict[str, str],
    settings: WrkSettings,
    resets: dict[str, Callable[[str], None]] | None = None,
) -> dict[str, dict[str, Any]]:
    """`cases`: name -> (the original's service, our load, the original's load). `resets`: a case
    name -> a function of the target key run before the warm-up and every measured run (undo writes)."""
    results: dict[str, dict[str, Any]] = {}
    for index, (name, (service, ours, theirs)) in enumerate(cases.items()):
        results[name] = {}
        for key in order(keys, index):
            target = start(key, anchor=anchor, service=service, env=env)
            reset = (resets or {}).get(name)
            try:
                figures = measure_http(
                    target,
                    theirs if key.startswith("node_") else ours,
                    settings,
                    functools.partial(reset, key) if reset else None,
                )
            finally:
                target.stop()
            results[name][key] = figures
            print(
                f"  {name} [{LABELS[key]}]: {figures['rps']:.0f} req/s, p50 {figures['p50_ms']:.1f} ms, "
                f"p99 {figures['p99_ms']:.1f} ms, {figures['per_cpu_s']} req per server-CPU-s, non-2xx {figures['non_2xx']}",
                flush=True,
            )
    return results
