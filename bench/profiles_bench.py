"""Benchmark of the profile endpoints under Daphne, beside the original profile-service (issue 17).

    .venv/bin/python bench/profiles_bench.py            # 5 s warm-up, 3 runs of 15 s per endpoint and target
    .venv/bin/python bench/profiles_bench.py --runs 1 --duration 5
    VLVT_ANCHOR=/tmp/vlvt-anchor .venv/bin/python bench/profiles_bench.py   # and the original, same run

Drives `GET /profile/:userId`, `GET /profiles/discover` and `POST /swipes` with wrk (2 threads, 50
connections, `--latency`) on each target (bench/_sxs.py): one Daphne, two Daphne on one shared
socket and, with `VLVT_ANCHOR`, the original as one node process and as a 2-worker cluster, each
started fresh for the case and measured alone. With the anchor both sides serve the same rows (the
anchor's seed, copied into our database) and the same requests (the anchor's wrk script, random
ids per request; for swipes a script over its tokens); without it our database is seeded with
`seed_demo` (1,000 complete profiles). Reports req/s, p50, p99, non-2xx and requests per
server-CPU-second, and writes JSON (default bench/results/profiles_bench.json). Needs `wrk`
(Debian: apt-get install wrk), PostgreSQL and Redis. Rate limits are off for our runs (the anchor
raises the original's), request logs at WARNING.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _common as common  # noqa: E402
from bench import _sxs as sxs  # noqa: E402

SWIPES = "POST /swipes"


def parse_args() -> argparse.Namespace:
    parser = common.parser(__doc__)
    common.add_wrk_arguments(parser)
    parser.add_argument(
        "--only", action="append", default=[], help="run only endpoints whose name contains this"
    )
    parser.add_argument("--users", type=int, default=1000)
    common.add_target_arguments(parser, database="vlvt_bench_profiles", redis_db=6, name="profiles_bench")
    return parser.parse_args()


database_url = sxs.database_url
settle = sxs.settle


def server_env(args: argparse.Namespace, jwt_secret: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="vlvt.settings",
        DATABASE_URL=database_url(args.database),
        REDIS_URL=args.redis_url,
        JWT_SECRET=jwt_secret or env.get("JWT_SECRET", "bench-jwt-secret"),
        RATE_LIMITS_ENABLED="false",
        LOG_LEVEL="WARNING",
        DATABASE_POOL_MAX=env.get("DATABASE_POOL_MAX", "10"),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *argv: str) -> str:
    return sxs.manage(env, *argv).stdout


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    common.database_if_missing(args.database)
    common.seed_demo(env, users=args.users, matches=args.users * 2, messages=0)
    settle(args.database)


def user_ids(env: dict[str, str], count: int) -> list[str]:
    code = (
        "import django, json; django.setup();"
        "from chat.management.commands.seed_demo import user_id;"
        f"print(json.dumps([user_id(i) for i in range({count})]))"
    )
    return common.django_json(env, code)


def tokens(env: dict[str, str], ids: list[str]) -> list[str]:
    code = (
        "import django, json, sys; django.setup();"
        "from vlvt.http.auth import mint_token;"
        "print(json.dumps([mint_token(u, expires_in=7200) for u in json.loads(sys.stdin.read())]))"
    )
    return common.django_json(env, code, stdin=ids)


def lua_get(path: str, token: str) -> str:
    return f'wrk.method = "GET"\nwrk.path = "{path}"\nwrk.headers["Authorization"] = "Bearer {token}"\n'


def lua_swipes(pairs: list[tuple[str, str]]) -> str:
    """Each request: a random caller swipes on a random other profile (like or pass)."""
    rows = ",\n".join(f'{{"{token}", "{target}"}}' for token, target in pairs)
    return (
        "math.randomseed(os.time())\n"
        f"local pairs = {{\n{rows}\n}}\n"
        "local actions = {'like', 'pass'}\n"
        "request = function()\n"
        "  local p = pairs[math.random(#pairs)]\n"
        '  local body = \'{"targetUserId":"\' .. p[2] .. \'","action":"\' .. actions[math.random(2)] .. \'"}\'\n'
        "  return wrk.format('POST', '/swipes', {['Authorization'] = 'Bearer ' .. p[1], ['Content-Type'] = 'application/json'}, body)\n"
        "end\n"
    )


def swipe_pairs(toks: list[str], ids: list[str]) -> list[tuple[str, str]]:
    """500 (caller token, target id) pairs among the first 50 callers, never oneself."""
    pairs = [(toks[i % 50], ids[(i * 7 + 13) % len(ids)]) for i in range(500)]
    return [(token, target) for i, (token, target) in enumerate(pairs) if target != ids[i % 50]]


def flush_redis(url: str) -> None:
    """The bench's own Redis database: no stale limiter windows before, no queued pushes after."""
    import redis

    redis.Redis.from_url(url).flushdb()


def undo_swipes(databases: dict[str, str], since: dict[str, str]):
    """Before each swipe run: the swipes and matches of earlier runs deleted (each target starts
    from the seeded rows)."""

    def reset(key: str) -> None:
        database = databases[key]
        sxs.psql(database, "-c", f"DELETE FROM swipes WHERE created_at >= '{since[database]}'")
        sxs.psql(database, "-c", f"DELETE FROM matches WHERE created_at >= '{since[database]}'")

    return reset


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    anchor = sxs.find_anchor()
    flush_redis(args.redis_url)
    settings = sxs.WrkSettings(args.threads, args.connections, args.duration, args.runs, args.warmup)
    data: dict[str, str] = {}
    if anchor is not None:
        env = server_env(args, jwt_secret=sxs.NODE_SECRET)
        data["ours"] = common.copy_anchor_rows(anchor, args.database, env)
        ids = [f"google_bench_{n:04d}" for n in range(1, 1001)]
        toks = anchor.tokens()
        swipes = sxs.Load(lua_swipes(swipe_pairs(toks, ids)))
        cases = {
            "GET /profile/:userId": (
                "profile",
                sxs.Load(anchor.lua, ("profile",)),
                sxs.Load(anchor.lua, ("profile",)),
            ),
            "GET /profiles/discover": (
                "profile",
                sxs.Load(anchor.lua, ("discover",)),
                sxs.Load(anchor.lua, ("discover",)),
            ),
            SWIPES: ("profile", swipes, swipes),
        }
    else:
        env = server_env(args)
        print(f"seeding {args.users} profiles into {args.database} ...", flush=True)
        prepare_database(args, env)
        data["ours"] = f"seed_demo, {args.users} users"
        ids = user_ids(env, args.users)
        toks = tokens(env, ids[:50])
        caller, target = toks[0], ids[1]
        mine = {
            "GET /profile/:userId": sxs.Load(lua_get(f"/profile/{target}", caller)),
            "GET /profiles/discover": sxs.Load(lua_get("/profiles/discover?maxDistance=50", caller)),
            SWIPES: sxs.Load(lua_swipes(swipe_pairs(toks, ids))),
        }
        cases = {name: ("profile", load, load) for name, load in mine.items()}
    if args.only:
        cases = {k: v for k, v in cases.items() if any(o in k for o in args.only)}
    keys = sxs.targets(anchor, args.targets)
    databases = {key: sxs.NODE_DATABASE if key.startswith("node_") else args.database for key in keys}
    since = {database: sxs.now(database) for database in set(databases.values())}
    try:
        results = sxs.run_http_cases(
            cases,
            anchor=anchor,
            keys=keys,
            env=env,
            settings=settings,
            resets={SWIPES: undo_swipes(databases, since)},
        )
    finally:
        for database, moment in since.items():
            undo_swipes({"x": database}, {database: moment})("x")
        flush_redis(args.redis_url)
    shown = {**vars(settings), "profiles": args.users}
    common.write_side_by_side(args.json, "profiles", shown, anchor, keys, results, data=data)


if __name__ == "__main__":
    main()
