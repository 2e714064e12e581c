"""Where a server process's Python time goes, by category, from a py-spy profile.

    py-spy record -p <pid> -d 10 -r 100 --nonblocking --gil -f raw -o out.txt --threads
    .venv/bin/python -m bench._spy out.txt [--cpu-us 1128]

Each sample goes to the first category found from its innermost frame outwards (the rules below,
in `docs/performance.md`'s terms); with `--cpu-us` (the process's CPU per request, from /proc)
each share is also given in microseconds per request.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# (category, what a frame's file or function contains), tried in this order on each frame.
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("database", ("psycopg", "psycopg_pool", "django/db/", "vlvt/dbpool", "vlvt/postgresql")),
    ("Redis", ("redis/", "kombu/", "channels_redis/", "vlvt/redis", "vlvt/server/broker")),
    ("Celery", ("celery/", "vlvt/outbox/")),
    ("JSON", ("json/", "ujson", "vlvt/http/strictjson")),
    ("auth", ("jwt/", "vlvt/http/auth")),
    ("rate limiting", ("vlvt/http/ratelimit", "chat/limits", "profiles/limits")),
    ("middleware", ("vlvt/http/middleware",)),
    (
        "Socket.IO and WebSocket",
        ("socketio/", "engineio/", "wsproto/", "chat/realtime/", "vlvt/server/websocket"),
    ),
    ("Django", ("django/",)),
    ("handler", ("chat/", "profiles/", "vlvt/http/")),
    (
        "thread crossing",
        (
            "asgiref/",
            "concurrent/futures",
            "threading.py",
            "vlvt/server/handlers",
            "vlvt/server/upstream",
        ),
    ),
    # The event loop's own work (its wake-ups, callbacks, readiness waits): part of every thread
    # crossing on the loop's side, and all that is left where nothing crosses.
    ("event loop", ("asyncio/",)),
    (
        "Twisted/Daphne",
        ("twisted/", "daphne/", "autobahn/", "txaio/", "vlvt/server/shutdown", "vlvt/server/balance"),
    ),
]
CATEGORIES = [name for name, _ in RULES] + ["other"]
_SAMPLE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_FILE = re.compile(r"\((?P<file>[^()]*?):\d+\)$")


def category(stack: list[str]) -> str:
    for frame in reversed(stack):
        match = _FILE.search(frame)
        where = match.group("file") if match else frame
        for name, needles in RULES:
            if any(needle in where for needle in needles):
                return name
    return "other"


def tally(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        match = _SAMPLE.match(line.strip())
        if match:
            counts[category(match.group("stack").split(";"))] += int(match.group("count"))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", type=Path, help="py-spy's raw output (-f raw)")
    parser.add_argument("--cpu-us", type=float, help="the process's CPU per request in microseconds")
    args = parser.parse_args()
    counts = tally(args.profile)
    total = sum(counts.values())
    print(f"{total} samples")
    for name in CATEGORIES:
        share = counts[name] / total if total else 0.0
        per_request = f", {share * args.cpu_us:.0f} µs/req" if args.cpu_us else ""
        print(f"  {name:24} {share:6.1%}{per_request}")


if __name__ == "__main__":
    main()
