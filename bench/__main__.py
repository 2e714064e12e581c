"""`python -m bench`: run every benchmark under bench/, print one table, write bench/results/latest.json.

    .venv/bin/python -m bench                   # everything, full settings (about 15-20 minutes on 2 cores)
    .venv/bin/python -m bench --quick           # shorter runs of every benchmark (a few minutes)
    .venv/bin/python -m bench --only shutdown --only profiles

The convention (bench/README.md): every `bench/<name>.py` whose name does not start with `_` is a
benchmark script. It runs as `python bench/<name>.py --json PATH [its QUICK_ARGS with --quick]`,
writes a JSON object with `results` (one entry per case: numbers, possibly nested) and optionally
`original` (the original services' figures, same case names), and exits 0. This command runs each
one in turn, turns every case into a row of the table (with ratios to the originals where the
same figure exists), and records the machine it ran on.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"

# Quick settings of the benchmarks that do not declare their own QUICK_ARGS (by file name).
QUICK_FALLBACK = {
    "after_hours_matching": ["--sizes", "1000", "--runs", "1"],
    "after_hours_bench": ["--messages", "100000", "--sockets", "200", "--rounds", "2"],
    "socket_bench": ["--messages", "300", "--idle", "200"],
}
QUICK_GENERIC = {"--runs": "1", "--duration": "5"}

# Figures shown in the table, in this order (a case shows the ones it has).
HEADLINE = (
    "rps", "msgs_per_s", "median_seconds", "min_seconds", "matches", "unmatched", "p50_ms", "p99_ms", "ack_p50_ms", "ack_p99_ms", "recipient_p50_ms",
    "non_2xx", "failures", "queries", "mb_per_1000",
    "exit_ms_median", "exit_ms_max", "answered_200", "answered_503", "refused_at_connect", "dropped_after_send",
    "failed_after_one_retry", "overhead_ms", "exit_ms_after_sigterm",
)
SHOWN_WHEN_NONE_KNOWN = 6


# --- running ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs (each benchmark's QUICK_ARGS)")
    parser.add_argument("--only", action="append", default=[], help="run only benchmarks whose file name contains this")
    parser.add_argument("--skip", action="append", default=[], help="leave out benchmarks whose file name contains this")
    parser.add_argument("--list", action="store_true", help="list the benchmarks found and exit")
    parser.add_argument("--json", default=str(RESULTS / "latest.json"))
    return parser.parse_args()


def discover(only: list[str], skip: list[str]) -> list[Path]:
    found = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))
    if only:
        found = [p for p in found if any(o in p.stem for o in only)]
    return [p for p in found if not any(s in p.stem for s in skip)]


def quick_args(script: Path) -> list[str]:
    """The script's own `QUICK_ARGS = [...]` (read, not imported), else a known or generic default."""
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "QUICK_ARGS" for t in node.targets):
            return [str(v) for v in ast.literal_eval(node.value)]
    if script.stem in QUICK_FALLBACK:
        return QUICK_FALLBACK[script.stem]
    help_text = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True).stdout
    return [part for flag, value in QUICK_GENERIC.items() if flag in help_text for part in (flag, value)]


def run_one(script: Path, quick: bool) -> dict[str, Any]:
    out = RESULTS / f"{script.stem}.json"
    argv = [sys.executable, str(script), "--json", str(out), *(quick_args(script) if quick else [])]
    print(f"\n== {script.stem}: {' '.join(argv[1:])}", flush=True)
    started = time.monotonic()
    before = out.stat().st_mtime if out.exists() else None
    code = subprocess.run(argv, cwd=ROOT).returncode
    seconds = round(time.monotonic() - started, 1)
    fresh = out.exists() and out.stat().st_mtime != before
    entry: dict[str, Any] = {"script": f"bench/{script.name}", "args": argv[2:], "seconds": seconds, "exit_code": code}
    if code != 0 or not fresh:
        entry["status"] = "failed" if code != 0 else "no result written"
        entry["rows"] = []
        return entry
    payload = json.loads(out.read_text())
    entry.update(status="ok", result_file=str(out.relative_to(ROOT)), rows=rows_of(script.stem, payload))
    return entry


# --- turning results into rows ---------------------------------------------------------------------


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested figures as one level: {"ack": {"p50_ms": 3}} -> {"ack_p50_ms": 3}."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}{key}_"))
        return out
    return {prefix[:-1]: value} if prefix else {}


def _cases(results: Any) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(results, dict):
        return [(str(name), flatten(case) if isinstance(case, dict) else {"value": case}) for name, case in results.items()]
    if isinstance(results, list):  # e.g. one entry per size: named by its first field
        cases = []
        for item in results:
            flat = flatten(item)
            first = next(iter(item), "case")
            cases.append((f"{first}={item.get(first)}", flat))
        return cases
    return []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def rows_of(benchmark: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    original = payload.get("original") or {}
    headline = [str(k) for k in payload.get("headline") or HEADLINE]
    rows = []
    for case, figures in _cases(payload.get("results")):
        numbers = {k: v for k, v in figures.items() if _number(v)}
        theirs = flatten(original.get(case, {})) if isinstance(original.get(case), dict) else {}
        # A flat `original` keyed "<case>_<figure>" (as socket_bench's idle_mb_per_1000) counts too.
        theirs.update({k[len(case) + 1 :]: v for k, v in flatten(original).items() if k.startswith(f"{case}_")})
        ratios = {k: round(numbers[k] / v, 2) for k, v in theirs.items() if _number(v) and v and _number(numbers.get(k))}
        rows.append(
            {"benchmark": benchmark, "case": case, "figures": numbers, "original": theirs, "ratios": ratios, "headline": headline}
        )
    return rows


# --- the table -------------------------------------------------------------------------------------


def _fmt(name: str, value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    else:
        text = str(value)
    return f"{name} {text}"


def _shown(row: dict[str, Any]) -> list[str]:
    figures = row["figures"]
    known = [k for k in row["headline"] if k in figures]
    return known or list(figures)[:SHOWN_WHEN_NONE_KNOWN]


def table(entries: dict[str, dict[str, Any]]) -> str:
    lines = [("benchmark", "case", "result", "vs original (ours / theirs)")]
    for name, entry in entries.items():
        if entry["status"] != "ok":
            lines.append((name, "-", entry["status"].upper(), "-"))
        for row in entry["rows"]:
            shown = _shown(row)
            result = ", ".join(_fmt(k, row["figures"][k]) for k in shown)
            versus = [f"{k} {v:.2f}x" for k, v in row["ratios"].items() if k in shown]
            versus += [f"{k} was {v}" for k, v in row["original"].items() if not _number(v)]
            lines.append((name, row["case"], result, ", ".join(versus) or "-"))
    widths = [max(len(line[i]) for line in lines[:]) for i in range(3)]
    out = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in lines]
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)


def markdown_table(entries: dict[str, dict[str, Any]]) -> str:
    lines = ["| benchmark | case | result | vs original (ours / theirs) |", "|---|---|---|---|"]
    for name, entry in entries.items():
        if entry["status"] != "ok":
            lines.append(f"| {name} | - | {entry['status']} | - |")
        for row in entry["rows"]:
            shown = _shown(row)
            result = ", ".join(_fmt(k, row["figures"][k]) for k in shown)
            versus = [f"{k} {v:.2f}x" for k, v in row["ratios"].items() if k in shown]
            versus += [f"{k} was {v}" for k, v in row["original"].items() if not _number(v)]
            lines.append(f"| {name} | `{row['case']}` | {result} | {', '.join(versus) or '-'} |")
    return "\n".join(lines)


# --- the machine -----------------------------------------------------------------------------------


def _first_line(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def machine() -> dict[str, Any]:
    mem_kb = _first_line("/proc/meminfo", "MemTotal")
    info: dict[str, Any] = {
        "cpu_model": _first_line("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem_kb.split()[0]) / 1024 / 1024, 1) if mem_kb else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    info["postgresql"] = _postgres_version()
    info["redis"] = _redis_version()
    return info


def _postgres_version() -> str | None:
    try:
        import psycopg

        url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/vlvt").rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # the table still prints without it
        return f"unknown ({exc.__class__.__name__})"


def _redis_version() -> str | None:
    try:
        import redis

        url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        return redis.Redis.from_url(url, socket_timeout=5).info("server")["redis_version"]
    except Exception as exc:
        return f"unknown ({exc.__class__.__name__})"


# --- prerequisites -----------------------------------------------------------------------------------


def use_project_venv() -> None:
    """`python -m bench` with another interpreter re-runs itself with the project's .venv."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        os.execv(str(venv_python), [str(venv_python), "-m", "bench", *sys.argv[1:]])


def ensure_services() -> None:
    """PostgreSQL and Redis answering (started if installed but stopped), as scripts/test does."""
    script = 'source scripts/services.sh && ensure_postgres && ensure_redis'
    if subprocess.run(["bash", "-c", script], cwd=ROOT).returncode != 0:
        raise SystemExit("PostgreSQL and Redis are needed (see the README's setup)")


def ensure_wrk() -> None:
    """wrk drives the HTTP benchmarks; Debian has it (installed here when missing and we are root)."""
    if shutil.which("wrk"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("installing wrk (apt-get install -y wrk) ...", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
        if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], **quiet)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed and could not be installed: apt-get install -y wrk")


def main() -> int:
    use_project_venv()
    args = parse_args()
    scripts = discover(args.only, args.skip)
    if args.list:
        print("\n".join(f"bench/{s.name}" for s in scripts))
        return 0
    ensure_services()
    ensure_wrk()
    started_at = datetime.now(UTC)
    host = machine()
    entries = {script.stem: run_one(script, args.quick) for script in scripts}
    host["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = table(entries)
    print(f"\n{host['cpu_model']}, {host['cores']} cores, {host['memory_gb']} GB; Python {host['python']}, "
          f"PostgreSQL {host['postgresql']}, Redis {host['redis']}; load {host['load_average_at_start']} -> {host['load_average_at_end']}")
    print(text)
    payload = {
        "generated_at": started_at.isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "quick": args.quick,
        "machine": host,
        "benchmarks": entries,
        "table": text,
        "markdown": markdown_table(entries),
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwritten {args.json}")
    return 0 if all(e["status"] == "ok" for e in entries.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
