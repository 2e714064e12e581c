"""Django's PostgreSQL backend, with two changes.

Pooled connections are asked for only while the pool can give one: while its last attempt to
reach PostgreSQL failed, a new connection fails at once (`vlvt.dbpool.fail_fast_if_unreachable`)
instead of after DATABASE_CONNECTION_TIMEOUT_MS.

Timestamps are read by psycopg's compiled loader. Django registers a loader of its own for
`timestamptz` (to put its time zone on each value) that calls psycopg's pure-Python parser, and a
history page of 50 messages spent a fifth of its CPU there. With the session time zone UTC, which
Django sets on every connection, psycopg's compiled loader returns the same aware datetimes, in
`datetime.timezone.utc`; it is used whenever Django's time zone is UTC.
"""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg.adapt import Loader
from psycopg.pq import Format

from vlvt.dbpool import fail_fast_if_unreachable
from vlvt.server import upstream

TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid


# psycopg's own loader: the compiled one with psycopg-binary (which accepts no subclass).
_PSYCOPG_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class UtcTimestamptzLoader(Loader):
    """psycopg's own `timestamptz` text loader, with the `timezone` that Django's `create_cursor`
    compares with its own to keep it."""

    timezone = datetime.UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        assert _PSYCOPG_LOADER is not None
        self._load = _PSYCOPG_LOADER(oid, context).load

    def load(self, data: Any) -> datetime.datetime:
        return self._load(data)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self.timezone is datetime.UTC:
            upstream.connection_adapters(params).register_loader("timestamptz", UtcTimestamptzLoader)
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool  # type: ignore[attr-defined]  # Django 5.1+, not yet in django-stubs
        if pool is not None:
            fail_fast_if_unreachable(pool)
        return super().get_new_connection(conn_params)
