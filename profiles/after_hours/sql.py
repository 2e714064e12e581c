"""The set-based UPDATEs of the After Hours sweeps (all due rows, or only some)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db import connection


def update_returning(
    sql: str, params: list[Any], *, returning: str, ids: Iterable[UUID] | None = None
) -> list[tuple[Any, ...]]:
    """Run `sql` (an UPDATE ... WHERE ...), narrowed to the rows whose id is in `ids` when given,
    and return its `RETURNING returning` rows."""
    if ids is not None:
        sql += " AND id = ANY(%s::uuid[])"
        params = [*params, [str(i) for i in ids]]
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {returning}", params)
        return cursor.fetchall()
