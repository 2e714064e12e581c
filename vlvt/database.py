"""PostgreSQL connections of the process's own, outside Django's pool."""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db import connection

# Connection parameters of Django's (pooled) connection that a plain psycopg connection refuses.
_POOL_ONLY = ("pool", "cursor_factory", "context", "prepare_threshold")


def own_connection(purpose: str, *, connect_timeout: int) -> psycopg.Connection:
    """A fresh autocommit connection to the default database, named `<DB_APPLICATION_NAME>-<purpose>`
    in pg_stat_activity: it neither waits for the pool nor counts among the process's sessions."""
    params = connection.get_connection_params()
    for key in _POOL_ONLY:
        params.pop(key, None)
    params["application_name"] = f"{settings.DB_APPLICATION_NAME}-{purpose}"
    params["connect_timeout"] = connect_timeout
    return psycopg.connect(**params, autocommit=True)
