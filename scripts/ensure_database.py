"""Create the database DATABASE_URL names when it does not exist yet (scripts/run), and say so."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vlvt.env import database_from_url  # noqa: E402

DEFAULT_URL = "postgres://root@127.0.0.1:5432/vlvt"


def ensure_database(url: str) -> None:
    fields = database_from_url(url)
    name = str(fields["NAME"])
    server: dict[str, Any] = {
        "host": fields["HOST"] or "127.0.0.1",
        "port": fields["PORT"] or 5432,
        "user": fields["USER"] or None,
        "password": fields["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        print(f"creating database {name} on {server['host']}:{server['port']} (DATABASE_URL)", flush=True)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


if __name__ == "__main__":
    ensure_database(os.environ.get("DATABASE_URL") or DEFAULT_URL)
