"""The daily purge of After Hours chat data (docs/contract.md, "Schedules"), in short transactions.

Unconverted matches that expired more than 30 days ago go, with their messages; converted ones
(and their After Hours messages) stay. The original ran two unbounded DELETEs; here each
transaction locks a batch of matches (`FOR UPDATE SKIP LOCKED`: a match being saved or written to
right now is left for the next run), deletes their messages and then them, and commits. A batch
holds at most `message_budget` messages (or one match, if a single match has more), so no lock is
held for long and the work of one run is spread over many small commits. A keyset over
`(expires_at, id)` walks the expiry index once instead of rescanning the converted matches kept
behind the line.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

RETENTION = timedelta(days=30)
MAX_MATCHES_PER_BATCH = 500
MESSAGE_BUDGET = 5000

_PICK_SQL = """
SELECT a.id, a.expires_at, (SELECT count(*) FROM after_hours_messages m WHERE m.match_id = a.id)
  FROM after_hours_matches a
 WHERE a.expires_at < %(cutoff)s AND a.converted_to_match_id IS NULL
   AND a.expires_at >= %(after_expires)s AND (a.expires_at, a.id) > (%(after_expires)s, %(after_id)s)
 ORDER BY a.expires_at, a.id
 LIMIT %(limit)s
 FOR UPDATE OF a SKIP LOCKED
"""


@dataclass
class PurgeStats:
    matches: int = 0
    messages: int = 0
    batch_ms: list[float] = field(default_factory=list)  # each transaction's duration

    @property
    def longest_batch_ms(self) -> float:
        return max(self.batch_ms, default=0.0)

    @property
    def median_batch_ms(self) -> float:
        return statistics.median(self.batch_ms) if self.batch_ms else 0.0


def _within_budget(
    rows: list[tuple[uuid.UUID, datetime, int]], budget: int
) -> list[tuple[uuid.UUID, datetime, int]]:
    taken: list[tuple[uuid.UUID, datetime, int]] = []
    total = 0
    for row in rows:
        if taken and total + row[2] > budget:
            break
        taken.append(row)
        total += row[2]
    return taken


def _purge_batch(
    cutoff: datetime, after: tuple[datetime, uuid.UUID], limit: int, budget: int
) -> tuple[list, int, int]:
    """One transaction: lock a batch, delete its messages and matches. Returns (rows, matches, messages)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _PICK_SQL, {"cutoff": cutoff, "after_expires": after[0], "after_id": after[1], "limit": limit}
        )
        rows = _within_budget(cursor.fetchall(), budget)
        if not rows:
            return [], 0, 0
        ids = [row[0] for row in rows]
        cursor.execute("DELETE FROM after_hours_messages WHERE match_id = ANY(%s::uuid[])", [ids])
        messages = cursor.rowcount
        cursor.execute("DELETE FROM after_hours_matches WHERE id = ANY(%s::uuid[])", [ids])
        return rows, cursor.rowcount, messages


def expired_matches_purge(
    *,
    now: datetime | None = None,
    max_matches: int = MAX_MATCHES_PER_BATCH,
    message_budget: int = MESSAGE_BUDGET,
    pause: float = 0.0,
    on_batch: Callable[[int, int, float], None] | None = None,
) -> PurgeStats:
    """Delete unconverted matches expired more than RETENTION before `now`, batch by batch.

    `pause` sleeps between batches (to leave the database to others); `on_batch(matches,
    messages, ms)` observes each committed batch.
    """
    cutoff = (now or timezone.now()) - RETENTION
    after: tuple[datetime, uuid.UUID] = (datetime.min.replace(tzinfo=cutoff.tzinfo), uuid.UUID(int=0))
    stats = PurgeStats()
    while True:
        started = time.monotonic()
        rows, matches, messages = _purge_batch(cutoff, after, max_matches, message_budget)
        elapsed = (time.monotonic() - started) * 1000
        if not rows:
            return stats
        stats.matches += matches
        stats.messages += messages
        stats.batch_ms.append(elapsed)
        if on_batch is not None:
            on_batch(matches, messages, elapsed)
        after = (rows[-1][1], rows[-1][0])
        if pause:
            time.sleep(pause)
