"""Benchmark of the chat REST endpoints under Daphne, beside the original chat-service (issue 17;
the socket figures are measured by bench/socket_bench.py).

    .venv/bin/python bench/chat_rest_bench.py            # 5 s warm-up, 3 runs of 15 s per endpoint and target
    .venv/bin/python bench/chat_rest_bench.py --runs 1 --duration 5
    VLVT_ANCHOR=/tmp/vlvt-anchor .venv/bin/python bench/chat_rest_bench.py   # and the original, same run

Drives, with wrk (2 threads, 50 connections, `--latency`), on each target of bench/_sxs.py (one
Daphne, two Daphne on one socket and, with `VLVT_ANCHOR`, the original as one node process and as a
2-worker cluster, each started fresh for the case and measured alone):

* `GET /messages/:matchId?limit=50`: a conversation's latest page;
* `GET /matches/:userId`: a user's matches;
* `POST /messages`: a sender writes in one of their matches (the rows written are deleted before
  every run, so each run writes into the same table).

With the anchor both sides serve the same rows (its seed: 1,000 users, 2,000 matches, 50,500
messages, copied into our database) and the same requests (its wrk script, random users and
matches per request). Without it our database is seeded with `seed_demo` (1,000 users, 2,000
matches, 50,000 messages plus one 500-message conversation) and each case uses our own script.
Reports req/s, p50, p99, non-2xx and requests per server-CPU-second and writes JSON (default
bench/results/chat_rest_bench.json). Our rate limits are off, request logs at WARNING.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _common as common  # noqa: E402
from bench import _sxs as sxs  # noqa: E402
from bench import profiles_bench as pb  # noqa: E402

SEND = "POST /messages"

PICK = (
    """
import django, json; django.setup()
from django.db import connection
with connection.cursor() as c:
    # As the original's data set (50,000 + 500): one conversation long enough for a full page.
    c.execute('SELECT id FROM matches ORDER BY id LIMIT 1')
    history = c.fetchone()[0]
    c.execute('''INSERT INTO messages (id, match_id, sender_id, text, created_at, status)
                 SELECT 'msg_bench_' || n, m.id, CASE WHEN n %% 2 = 0 THEN m.user_id_1 ELSE m.user_id_2 END,
                        'Long conversation line ' || n, date_trunc('day', now()) - interval '1 day' + n * interval '1 minute', 'read'
                   FROM matches m, generate_series(1, 500) n WHERE m.id = %s
                 ON CONFLICT (id) DO NOTHING''', [history])
    c.execute('''SELECT m.id, m.user_id_1, m.user_id_2 FROM matches m WHERE m.id = %s''', [history])
    _, reader, _ = c.fetchone()
    c.execute('''SELECT u, count(*) FROM (SELECT user_id_1 u FROM matches UNION ALL SELECT user_id_2 FROM matches) t
                 GROUP BY u ORDER BY count(*) DESC, u LIMIT 1''')
    lister = c.fetchone()[0]
    c.execute('''SELECT m.id, s.user_id """
    + common.SENDABLE_MATCHES
    + """
                  ORDER BY m.id LIMIT 200''')
    senders = c.fetchall()
print(json.dumps({"history": history, "reader": reader, "lister": lister, "senders": senders}))
"""
)


def parse_args() -> argparse.Namespace:
    parser = common.parser(__doc__)
    common.add_wrk_arguments(parser)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--matches", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=50000)
    parser.add_argument(
        "--only", action="append", default=[], help="run only endpoints whose name contains this"
    )
    common.add_target_arguments(parser, database="vlvt_bench_chat", redis_db=7, name="chat_rest_bench")
    return parser.parse_args()


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> dict:
    return common.seed_and_pick(
        env, args.database, PICK, users=args.users, matches=args.matches, messages=args.messages
    )


def lua_send(rows: list[tuple[str, str, str]]) -> str:
    """Each request: a random premium sender writes in one of their matches."""
    table = ",\n".join(f'{{"{token}", "{match_id}", "{sender}"}}' for token, match_id, sender in rows)
    return (
        "math.randomseed(os.time())\n"
        f"local rows = {{\n{table}\n}}\n"
        "request = function()\n"
        "  local r = rows[math.random(#rows)]\n"
        '  local body = \'{"matchId":"\' .. r[2] .. \'","senderId":"\' .. r[3] .. \'","text":"Benchmark hello"}\'\n'
        "  return wrk.format('POST', '/messages', {['Authorization'] = 'Bearer ' .. r[1], ['Content-Type'] = 'application/json'}, body)\n"
        "end\n"
    )


def our_cases(args: argparse.Namespace, env: dict[str, str]) -> dict[str, sxs.Load]:
    """Without the anchor: our own seed, one script per case."""
    print(
        f"seeding {args.users} users, {args.matches} matches, {args.messages} messages into {args.database} ...",
        flush=True,
    )
    picked = prepare_database(args, env)
    if not picked["senders"]:
        raise SystemExit("no premium, verified sender found in the seeded data")
    senders = picked["senders"]
    users = [picked["reader"], picked["lister"], *(s for _, s in senders)]
    tok = dict(zip(users, pb.tokens(env, users), strict=True))
    return {
        "GET /messages/:matchId?limit=50": sxs.Load(
            pb.lua_get(f"/messages/{picked['history']}?limit=50", tok[picked["reader"]])
        ),
        "GET /matches/:userId": sxs.Load(pb.lua_get(f"/matches/{picked['lister']}", tok[picked["lister"]])),
        SEND: sxs.Load(lua_send([(tok[s], m, s) for m, s in senders])),
    }


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    anchor = sxs.find_anchor()
    pb.flush_redis(args.redis_url)
    settings = sxs.WrkSettings(args.threads, args.connections, args.duration, args.runs, args.warmup)
    if anchor is not None:
        env = pb.server_env(args, jwt_secret=sxs.NODE_SECRET)
        data = common.copy_anchor_rows(anchor, args.database, env)
        modes = {
            "GET /messages/:matchId?limit=50": "messages",
            "GET /matches/:userId": "matches",
            SEND: "send",
        }
        loads = {name: sxs.Load(anchor.lua, (mode,)) for name, mode in modes.items()}
    else:
        env = pb.server_env(args)
        loads = our_cases(args, env)
        data = f"seed_demo: {args.users} users, {args.matches} matches, {args.messages} + 500 messages"
    cases = {
        name: ("chat", load, load)
        for name, load in loads.items()
        if not args.only or any(o in name for o in args.only)
    }
    keys = sxs.targets(anchor, args.targets)
    databases = {key: sxs.NODE_DATABASE if key.startswith("node_") else args.database for key in keys}
    since = {database: sxs.now(database) for database in set(databases.values())}

    def undo_sends(key: str) -> None:
        sxs.delete_writes(databases[key], since[databases[key]])

    try:
        results = sxs.run_http_cases(
            cases, anchor=anchor, keys=keys, env=env, settings=settings, resets={SEND: undo_sends}
        )
    finally:
        for database, moment in since.items():
            sxs.delete_writes(database, moment)
        pb.flush_redis(args.redis_url)
    shown = {**vars(settings), "users": args.users, "matches": args.matches, "messages": args.messages}
    common.write_side_by_side(args.json, "chat_rest", shown, anchor, keys, results, data=data)


if __name__ == "__main__":
    main()
