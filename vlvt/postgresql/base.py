"""Django's PostgreSQL backend whose pooled connections are asked for only while the pool can
give one: while its last attempt to reach PostgreSQL failed, a new connection fails at once
(`vlvt.dbpool.fail_fast_if_unreachable`) instead of after DATABASE_CONNECTION_TIMEOUT_MS."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from vlvt.dbpool import fail_fast_if_unreachable


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool  # type: ignore[attr-defined]  # Django 5.1+, not yet in django-stubs
        if pool is not None:
            fail_fast_if_unreachable(pool)
        return super().get_new_connection(conn_params)
