"""Timestamps on the wire as node's `Date#toISOString()` writes them: UTC, milliseconds truncated
(never rounded), `Z`, a four-digit year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vlvt.http.api import iso


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), "2026-01-02T03:04:05.999Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 1000, tzinfo=UTC), "2026-01-02T03:04:05.001Z"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000Z"),
        (
            datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=5))),
            "2026-01-01T22:04:05.123Z",
        ),
        (datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))), "2027-01-01T00:30:00.000Z"),
        (datetime(999, 1, 1, tzinfo=UTC), "0999-01-01T00:00:00.000Z"),
    ],
)
def test_iso(value, wire):
    assert iso(value) == wire


def test_iso_of_none_is_none():
    assert iso(None) is None
