#!/usr/bin/env python
"""Benchmark of one After Hours matching sweep (issue 4).

    .venv/bin/python bench/after_hours_matching.py                  # 1,000 and 10,000 sessions, 3 runs each
    .venv/bin/python bench/after_hours_matching.py --sizes 1000 --runs 1

Seeds a dedicated database (default `vlvt_bench_after_hours`, migrated on first use) with N users
who each have a main profile, an After Hours profile, preferences and an open session, spread over
a city (Berlin: most within a few km of the centre, the rest up to 15 km out), with a realistic mix
of genders, wishes, ages, age ranges and distance limits. Then runs the sweep exactly as the
30 s beat task does (`matching_run()`: load, plan, create the matches, publish the events, queue
the auto-decline job) and reports, per size, the median wall time, the SQL statements issued, and
how many matches and unmatched users the sweep produced. Between runs the matches are deleted,
so every run does the full work.

The goal (issue 4): 10,000 sessions in under 2 s, with a query count that does not grow with the
number of sessions (the original ran one nearest-candidate query per session, one after another,
so at least N queries per sweep). Events go to a channel of the benchmark's own and the Celery
messages to its own Redis database (flushed afterwards); nothing consumes them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _common as common  # noqa: E402
from bench._sxs import database_url, manage  # noqa: E402

CENTRE = (52.52, 13.405)
PREFIX = "bench_ah_"


def parse_args() -> argparse.Namespace:
    parser = common.parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3, help="sweeps per size (the median is reported)")
    parser.add_argument("--seed", type=int, default=4)
    common.add_target_arguments(
        parser, database="vlvt_bench_after_hours", redis_db=7, name="after_hours_matching"
    )
    return parser.parse_args()


def configure(args: argparse.Namespace) -> None:
    """Point this process at the benchmark database and Redis, then migrate and set up Django."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vlvt.settings",
        DATABASE_URL=database_url(args.database),
        REDIS_URL=args.redis_url,
        AFTER_HOURS_EVENTS_CHANNEL=f"after_hours:events:bench:{os.getpid()}",
        LOG_LEVEL="WARNING",
        DATABASE_POOL="false",
    )
    common.database_if_missing(args.database)
    manage(dict(os.environ), "migrate", "--no-input")
    import django

    django.setup()


# --- seeding --------------------------------------------------------------------------------------


def _point(rng: random.Random) -> tuple[float, float]:
    """Most people near the centre, some further out (kilometres -> degrees)."""
    if rng.random() < 0.7:
        north, east = rng.gauss(0, 4), rng.gauss(0, 4)
    else:
        radius, angle = 15 * math.sqrt(rng.random()), rng.random() * 2 * math.pi
        north, east = radius * math.sin(angle), radius * math.cos(angle)
    lat = CENTRE[0] + north / 111.32
    lng = CENTRE[1] + east / (111.32 * math.cos(math.radians(CENTRE[0])))
    return round(lat, 3), round(lng, 3)


def _person(rng: random.Random) -> dict:
    gender = rng.choices(["Male", "Female", "Non-Binary"], weights=[47, 47, 6])[0]
    if gender == "Non-Binary":
        seeking = rng.choices(["Any", "Male", "Female", "Non-binary"], weights=[60, 15, 15, 10])[0]
    else:
        other = "Female" if gender == "Male" else "Male"
        seeking = rng.choices([other, "Any", gender], weights=[80, 12, 8])[0]
    age = rng.randint(21, 45)
    return {
        "gender": gender,
        "seeking": seeking,
        "age": age,
        "min_age": max(18, age - rng.randint(3, 10)),
        "max_age": min(99, age + rng.randint(3, 12)),
        "max_km": rng.choices([10, 5, 25, 50], weights=[60, 15, 15, 10])[0],
    }


def seed(n: int, rng: random.Random) -> None:
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    reset()
    rows = []
    for i in range(n):
        person, (lat, lng) = _person(rng), _point(rng)
        started = now - timedelta(seconds=rng.randint(0, 1800))
        rows.append(
            (f"{PREFIX}{i:06d}", person, lat, lng, started, now + timedelta(minutes=rng.randint(5, 60)))
        )
    with connection.cursor() as cursor:
        _copy(
            cursor,
            "users (id, provider, id_verified, after_hours_consent)",
            [(r[0], "email", True, True) for r in rows],
        )
        _copy(
            cursor,
            "profiles (user_id, name, age, gender)",
            [(r[0], f"User {i}", r[1]["age"], r[1]["gender"]) for i, r in enumerate(rows)],
        )
        _copy(
            cursor,
            "after_hours_profiles (user_id, photo_url, description)",
            [(r[0], "", "bench") for r in rows],
        )
        _copy(
            cursor,
            "after_hours_preferences (user_id, seeking_gender, max_distance_km, min_age, max_age)",
            [(r[0], r[1]["seeking"], r[1]["max_km"], r[1]["min_age"], r[1]["max_age"]) for r in rows],
        )
        _copy(
            cursor,
            "after_hours_sessions (user_id, started_at, expires_at, latitude, longitude, fuzzed_latitude, fuzzed_longitude)",
            [(r[0], r[4], r[5], r[2], r[3], r[2], r[3]) for r in rows],
        )
        cursor.execute(
            "ANALYZE users, profiles, after_hours_profiles, after_hours_preferences, after_hours_sessions"
        )


def _copy(cursor, target: str, rows: list[tuple]) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # Sessions, preferences, profiles, matches, declines and fingerprints go with their users.
        cursor.execute("DELETE FROM users WHERE id LIKE %s", [PREFIX + "%"])


def clear_matches() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM after_hours_matches WHERE user_id_1 LIKE %s", [PREFIX + "%"])


# --- measuring ------------------------------------------------------------------------------------


def sweep_once() -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from profiles.after_hours.services.matching import matching_run

    sql_seconds = [0.0]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds[0] += time.perf_counter() - started

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timed):
        started = time.perf_counter()
        result = matching_run()
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "sql_seconds": sql_seconds[0],
        "queries": len(captured.captured_queries),
        "matches": len(result.created),
        "unmatched": result.unmatched,
        "sessions": result.initiators,
    }


def engine_only() -> float:
    """The in-memory planning alone (no database), for the breakdown."""
    from django.utils import timezone

    from profiles.after_hours.matching import plan
    from profiles.after_hours.selectors import active_sessions, match_exclusions

    pool = active_sessions(now=timezone.now()).seekers
    excluded = match_exclusions(initiators=pool, pool=pool)
    started = time.perf_counter()
    plan(pool, pool, excluded)
    return time.perf_counter() - started


def measure(n: int, runs: int, rng: random.Random) -> dict:
    seed(n, rng)
    samples = []
    for _ in range(runs):
        clear_matches()
        samples.append(sweep_once())
    clear_matches()
    planning = engine_only()
    queries = {s["queries"] for s in samples}
    return {
        "sessions": n,
        "runs": runs,
        "median_seconds": round(statistics.median(s["seconds"] for s in samples), 4),
        "min_seconds": round(min(s["seconds"] for s in samples), 4),
        "median_sql_seconds": round(statistics.median(s["sql_seconds"] for s in samples), 4),
        "planning_seconds": round(planning, 4),
        "queries": sorted(queries),
        "matches": samples[-1]["matches"],
        "unmatched": samples[-1]["unmatched"],
        "original_queries_at_least": n,
    }


def main() -> None:
    args = parse_args()
    configure(args)
    from vlvt.redis import sync_redis

    rng = random.Random(args.seed)
    results = []
    try:
        for n in args.sizes:
            results.append(measure(n, args.runs, rng))
    finally:
        reset()
        sync_redis().flushdb()  # the queued auto-decline jobs of the runs
    load = os.getloadavg()[0]
    print(f"one matching sweep (median of {args.runs}; load average {load:.1f} on {os.cpu_count()} cores)")
    print(
        f"{'sessions':>9} {'median s':>9} {'min s':>7} {'of it SQL':>9} {'planning':>9} {'queries':>8} {'matches':>8} {'unmatched':>9}"
    )
    for r in results:
        print(
            f"{r['sessions']:>9,} {r['median_seconds']:>9.3f} {r['min_seconds']:>7.3f} {r['median_sql_seconds']:>9.3f} "
            f"{r['planning_seconds']:>9.3f} {'/'.join(map(str, r['queries'])):>8} {r['matches']:>8,} {r['unmatched']:>9,}"
        )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    report = {"benchmark": "after_hours_matching_sweep", "load_average": round(load, 2), "results": results}
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
