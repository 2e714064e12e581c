"""What the benchmark scripts share besides the side-by-side targets (bench/_sxs.py): their common
arguments, a fresh seeded database, and the results file.

Server processes are started with the test suite's own starters, tests/support/servers.py
(`DaphneProcess`, `ServerProcess`, `free_port`), so a benchmark runs a server exactly as the tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _sxs as sxs  # noqa: E402

# The matches of a seeded database whose first user may send (an active subscription, verified, a
# complete profile) and where neither user blocked the other: SQL from FROM to the WHERE clause.
SENDABLE_MATCHES = """FROM matches m
                   JOIN user_subscriptions s ON s.user_id = m.user_id_1 AND s.is_active
                        AND (s.expires_at IS NULL OR s.expires_at > now())
                   JOIN users u ON u.id = m.user_id_1 AND u.id_verified
                   JOIN profiles p ON p.user_id = u.id AND p.age >= 18 AND coalesce(trim(p.name), '') <> ''
                        AND coalesce(trim(p.bio), '') <> '' AND cardinality(p.photos) > 0
                  WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.user_id = m.user_id_1 AND b.blocked_user_id = m.user_id_2)
                                       OR (b.user_id = m.user_id_2 AND b.blocked_user_id = m.user_id_1))"""


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's argument parser, its module docstring as the help."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_target_arguments(parser: argparse.ArgumentParser, *, database: str, redis_db: int, name: str) -> None:
    """--database, --redis-url (BENCH_REDIS_URL, else database `redis_db`) and --json
    (bench/results/<name>.json)."""
    parser.add_argument("--database", default=database)
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{redis_db}")
    )
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / f"{name}.json"))


def add_wrk_arguments(parser: argparse.ArgumentParser) -> None:
    """The wrk runs of a side-by-side HTTP benchmark and the targets they run on."""
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured wrk run")
    parser.add_argument(
        "--runs", type=int, default=3, help="measured runs per endpoint and target (the median is reported)"
    )
    parser.add_argument("--warmup", type=int, default=5, help="seconds of the warm-up run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--targets", action="append", default=[], help="only these targets (node_1, ours_1, node_2, ours_2)"
    )


def fresh_database(name: str) -> None:
    """Drop and create `name`: writes of an earlier run would otherwise grow the data set."""
    import psycopg

    with psycopg.connect(sxs.database_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_if_missing(name: str) -> None:
    import psycopg

    with psycopg.connect(sxs.database_url("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed_demo(env: dict[str, str], *, users: int, matches: int, messages: int) -> None:
    """Migrate the database of `env` and fill it with `seed_demo`."""
    sxs.manage(env, "migrate", "--no-input")
    sxs.manage(
        env, "seed_demo", "--users", str(users), "--matches", str(matches), "--messages", str(messages),
        "--no-progress",
    )  # fmt: skip


def django_json(env: dict[str, str], code: str, stdin: Any = None) -> Any:
    """The JSON that `code` (a script that sets Django up on the database of `env`) prints;
    `stdin`, given, is written to it as JSON."""
    argv, given = [sys.executable, "-c", code], None if stdin is None else json.dumps(stdin)
    out = subprocess.run(argv, input=given, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"picking the benchmark data failed:\n{out.stderr}")
    return json.loads(out.stdout)


def copy_anchor_rows(anchor: sxs.Anchor, database: str, env: dict[str, str]) -> str:
    """The original's rows copied into `database` (its seed renewed first when the kit is there);
    says how they got there."""
    print(
        f"the original ({anchor.source()}): {anchor.refresh()}; copying its rows into {database} ...",
        flush=True,
    )
    return sxs.copy_original_rows(database, env)


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def write_results(path: str, payload: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {path}")


def write_side_by_side(
    path: str,
    benchmark: str,
    settings: dict[str, Any],
    anchor: sxs.Anchor | None,
    keys: list[str],
    results: dict[str, Any],
    **extra: Any,
) -> None:
    """The results of a side-by-side benchmark (`extra`, e.g. the data it picked, after the anchor)."""
    write_results(
        path,
        {
            "benchmark": benchmark,
            "machine": machine(),
            "settings": settings,
            "anchor": anchor.source() if anchor else None,
            **extra,
            "targets": {key: sxs.LABELS[key] for key in keys},
            "results": results,
        },
    )


def seed_and_pick(
    env: dict[str, str], database: str, code: str, *, users: int, matches: int, messages: int
) -> Any:
    """A fresh `database` filled by `seed_demo`, then what `code` picks from it (see `django_json`);
    settled last, after whatever `code` wrote."""
    fresh_database(database)
    seed_demo(env, users=users, matches=matches, messages=messages)
    picked = django_json(env, code)
    sxs.settle(database)
    return picked
