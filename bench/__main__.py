"""`python -m bench`: run every benchmark under bench/, print one table, write bench/results/latest.json.

    .venv/bin/python -m bench                   # everything, full settings (about 15-20 minutes on 2 cores)
    .venv/bin/python -m bench --quick           # shorter runs of every benchmark (a few minutes)
    .venv/bin/python -m bench --only shutdown --only profiles

With VLVT_ANCHOR naming a built anchor (the original Node services, bench/_sxs.py), the REST,
socket and shutdown benchmarks run every case against the original too, in the same run, and the
table shows ours / the original's from that run: one process against one, two against two.
Without it they run ours only and show no ratio.

The convention (bench/README.md): every `bench/<name>.py` whose name does not start with `_` is a
benchmark script. It runs as `python bench/<name>.py --json PATH [its QUICK_ARGS with --quick]`,
writes a JSON object with `results` (one entry per case: numbers, possibly nested; or, with
`targets`, one entry per case and target) and exits 0. This command runs each one in turn, turns
every case into a row of a table and records the machine it ran on.
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
    "rps",
    "msgs_per_s",
    "median_seconds",
    "min_seconds",
    "matches",
    "unmatched",
    "p50_ms",
    "p99_ms",
    "ack_p50_ms",
    "ack_p99_ms",
    "recipient_p50_ms",
    "non_2xx",
    "failures",
    "queries",
    "mb_per_1000",
    "exit_ms_median",
    "exit_ms_max",
    "answered_200",
    "answered_503",
    "refused_at_connect",
    "dropped_after_send",
    "failed_after_one_retry",
    "overhead_ms",
    "exit_ms_after_sigterm",
)
SHOWN_WHEN_NONE_KNOWN = 6


# --- running ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs (each benchmark's QUICK_ARGS)")
    parser.add_argument(
        "--only", action="append", default=[], help="run only benchmarks whose file name contains this"
    )
    parser.add_argument(
        "--skip", action="append", default=[], help="leave out benchmarks whose file name contains this"
    )
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
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
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
    entry: dict[str, Any] = {
        "script": f"bench/{script.name}",
        "args": argv[2:],
        "seconds": seconds,
        "exit_code": code,
    }
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
        return [
            (str(name), flatten(case) if isinstance(case, dict) else {"value": case})
            for name, case in results.items()
        ]
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
    if payload.get("targets"):
        return side_by_side_rows(benchmark, payload)
    headline = [str(k) for k in payload.get("headline") or HEADLINE]
    rows = []
    for case, figures in _cases(payload.get("results")):
        numbers = {k: v for k, v in figures.items() if _number(v)}
        rows.append({"benchmark": benchmark, "case": case, "figures": numbers, "headline": headline})
    return rows


# --- side by side (bench/_sxs.py): per case, one set of figures per target -------------------------

TARGET_PAIRS = (("node_1", "ours_1"), ("node_2", "ours_2"))
# What a side-by-side cell shows, in this order (a target shows the ones it has), and the label.
SXS_SHOWN = (
    ("rps", "{} req/s"), ("msgs_per_s", "{} msg/s"), ("p50_ms", "p50 {} ms"), ("p99_ms", "p99 {} ms"),
    ("ack_p50_ms", "ack p50 {} ms"), ("ack_p99_ms", "ack p99 {} ms"), ("recipient_p50_ms", "delivery p50 {} ms"),
    ("recipient_p99_ms", "delivery p99 {} ms"), ("per_cpu_s", "{} per server-CPU-s"), ("non_2xx", "{} non-2xx"),
    ("failures", "{} failures"), ("mb_per_1000", "{} MB per 1,000 sockets"), ("exit_ms_median", "exit {} ms"),
    ("answered_200", "{} answered 200"), ("answered_503", "{} answered 503"), ("refused_at_connect", "{} refused"),
    ("dropped_after_send", "{} dropped"), ("failed_after_one_retry", "{} failed after a retry"),
    ("exit_ms_after_sigterm", "exit {} ms after SIGTERM"), ("overhead_ms", "overhead {} ms"),
)  # fmt: skip
# Ratios (ours / the original's) shown: throughput and per-CPU above 1 are better, the rest below 1.
SXS_RATIOS = (
    ("rps", "req/s"), ("msgs_per_s", "msg/s"), ("per_cpu_s", "per CPU-s"), ("p50_ms", "p50"), ("p99_ms", "p99"),
    ("ack_p50_ms", "ack p50"), ("ack_p99_ms", "ack p99"), ("recipient_p99_ms", "delivery p99"),
    ("mb_per_1000", "MB"), ("exit_ms_median", "exit"), ("exit_ms_after_sigterm", "exit"),
)  # fmt: skip
# Zero counts are not worth a column entry.
SXS_ONLY_NONZERO = {"non_2xx", "failures"}


def side_by_side_rows(benchmark: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for case, per_target in (payload.get("results") or {}).items():
        targets = {
            key: {k: v for k, v in flatten(figures).items() if _number(v)}
            for key, figures in per_target.items()
        }
        ratios = {}
        for theirs_key, ours_key in TARGET_PAIRS:
            theirs, ours = targets.get(theirs_key), targets.get(ours_key)
            if theirs and ours:
                ratios[f"{ours_key}/{theirs_key}"] = {
                    k: round(ours[k] / theirs[k], 2)
                    for k, _ in SXS_RATIOS
                    if theirs.get(k) and _number(ours.get(k))
                }
        rows.append(
            {"benchmark": benchmark, "case": case, "targets": targets, "ratios": ratios, "goal": goal(ratios)}
        )
    return rows


def goal(ratios: dict[str, dict[str, float]]) -> str:
    """The goal of a case against the original (docs/performance.md): requests per server-CPU-second
    at least the original's one process against one, throughput at least its own with two
    processes each, and a p99 no worse in either. "-" when the case has none of those figures."""
    one, two = ratios.get("ours_1/node_1", {}), ratios.get("ours_2/node_2", {})
    checks = [("per CPU-s, 1 vs 1", one.get("per_cpu_s"), True)]
    checks += [
        (f"{label}, 2 vs 2", two.get(key), True) for key, label in (("rps", "req/s"), ("msgs_per_s", "msg/s"))
    ]
    for key, label in (("p99_ms", "p99"), ("ack_p99_ms", "ack p99")):
        checks += [(f"{label}, 1 vs 1", one.get(key), False), (f"{label}, 2 vs 2", two.get(key), False)]
    known = [(label, value, higher) for label, value, higher in checks if value is not None]
    if not known:
        return "-"
    missed = [
        f"{label} {value:.2f}" for label, value, higher in known if (value < 1 if higher else value > 1)
    ]
    return "met" if not missed else "not met: " + ", ".join(missed)


def _cell(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "-"
    shown = [
        (k, label)
        for k, label in SXS_SHOWN
        if k in figures and not (k in SXS_ONLY_NONZERO and not figures[k])
    ]
    return ", ".join(label.format(_value(figures[k])) for k, label in shown)


def _ratio_cell(ratios: dict[str, float] | None) -> str:
    if not ratios:
        return "-"
    return ", ".join(f"{label} {ratios[k]:.2f}" for k, label in SXS_RATIOS if k in ratios)


def side_by_side_table(entries: dict[str, dict[str, Any]], markdown: bool = False) -> str:
    rows = [row for entry in entries.values() for row in entry["rows"] if "targets" in row]
    if not rows:
        return ""
    with_node = any(key.startswith("node_") for row in rows for key in row["targets"])
    columns = ["benchmark", "case"]
    columns += (
        [
            "Node, 1 process",
            "ours, 1 Daphne",
            "ours / Node, 1 vs 1",
            "Node, 2-worker cluster",
            "ours, 2 Daphne",
            "ours / Node, 2 vs 2",
            "goal",
        ]
        if with_node
        else ["ours, 1 Daphne", "ours, 2 Daphne"]
    )
    lines = []
    for row in rows:
        t = row["targets"]
        cells = [row["benchmark"], f"`{row['case']}`" if markdown else row["case"]]
        if with_node:
            cells += [
                _cell(t.get("node_1")), _cell(t.get("ours_1")), _ratio_cell(row["ratios"].get("ours_1/node_1")),
                _cell(t.get("node_2")), _cell(t.get("ours_2")), _ratio_cell(row["ratios"].get("ours_2/node_2")),
                row["goal"],
            ]  # fmt: skip
        else:
            cells += [_cell(t.get("ours_1")), _cell(t.get("ours_2"))]
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        return "\n".join(out + ["| " + " | ".join(cells) + " |" for cells in lines])
    # Text: one block per case (the cells are too wide for one line each).
    out = []
    for cells in lines:
        out.append(f"{cells[0]}  {cells[1]}")
        out += [f"    {name:<24} {value}" for name, value in zip(columns[2:], cells[2:], strict=True)]
    return "\n".join(out)


# --- the table -------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def _fmt(name: str, value: Any) -> str:
    return f"{name} {_value(value)}"


def _shown(row: dict[str, Any]) -> list[str]:
    figures = row["figures"]
    known = [k for k in row["headline"] if k in figures]
    return known or list(figures)[:SHOWN_WHEN_NONE_KNOWN]


def table(entries: dict[str, dict[str, Any]]) -> str:
    lines = [("benchmark", "case", "result")]
    for name, entry in entries.items():
        if entry["status"] == "ok" and all("targets" in row for row in entry["rows"]):
            continue
        if entry["status"] != "ok":
            lines.append((name, "-", entry["status"].upper()))
        for row in entry["rows"]:
            if "targets" not in row:
                lines.append((name, row["case"], ", ".join(_fmt(k, row["figures"][k]) for k in _shown(row))))
    widths = [max(len(line[i]) for line in lines) for i in range(2)]
    out = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in lines]
    out.insert(1, "-" * len(out[0]))
    parts = ["\n".join(out)] if len(lines) > 1 else []
    side = side_by_side_table(entries)
    if side:
        with_node = "Node, 1 process" in side
        title = (
            "side by side (ratios: ours / the original's, this run)"
            if with_node
            else "ours (no VLVT_ANCHOR: no ratios)"
        )
        parts.append(f"{title}\n{side}")
    return "\n\n".join(parts)


def markdown_table(entries: dict[str, dict[str, Any]]) -> str:
    lines = ["| benchmark | case | result |", "|---|---|---|"]
    for name, entry in entries.items():
        if entry["status"] == "ok" and all("targets" in row for row in entry["rows"]):
            continue
        if entry["status"] != "ok":
            lines.append(f"| {name} | - | {entry['status']} |")
        for row in entry["rows"]:
            if "targets" not in row:
                result = ", ".join(_fmt(k, row["figures"][k]) for k in _shown(row))
                lines.append(f"| {name} | `{row['case']}` | {result} |")
    side = side_by_side_table(entries, markdown=True)
    return "\n".join(lines) + (f"\n\n{side}" if side else "")


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

        url = (
            os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/vlvt").rsplit("/", 1)[0]
            + "/postgres"
        )
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return row[0] if row else None
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
    script = "source scripts/services.sh && ensure_postgres && ensure_redis"
    if subprocess.run(["bash", "-c", script], cwd=ROOT).returncode != 0:
        raise SystemExit("PostgreSQL and Redis are needed (see the README's setup)")


def ensure_wrk() -> None:
    """wrk drives the HTTP benchmarks; Debian has it (installed here when missing and we are root)."""
    if shutil.which("wrk"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("installing wrk (apt-get install -y wrk) ...", flush=True)
        quiet: dict[str, Any] = {
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL,
            "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        }
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
    host["anchor"] = os.environ.get("VLVT_ANCHOR") or "unset: ours only, no ratios"
    entries = {script.stem: run_one(script, args.quick) for script in scripts}
    host["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = table(entries)
    print(
        f"\n{host['cpu_model']}, {host['cores']} cores, {host['memory_gb']} GB; Python {host['python']}, "
        f"PostgreSQL {host['postgresql']}, Redis {host['redis']}; load {host['load_average_at_start']} -> {host['load_average_at_end']}"
    )
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
