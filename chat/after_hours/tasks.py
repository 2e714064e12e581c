"""The daily After Hours chat cleanup, scheduled in vlvt/celery.py at 03:00 UTC (docs/contract.md,
"Schedules")."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from chat.after_hours.services import expired_matches_purge

logger = logging.getLogger(__name__)


@shared_task(name="chat.after_hours_messages_cleanup", acks_late=True, ignore_result=True)
def after_hours_messages_cleanup() -> None:
    """Idempotent: a re-run (or two at once: locked rows are skipped) deletes only what is left."""
    started = time.monotonic()
    stats = expired_matches_purge()
    logger.info(
        "after hours chat cleanup done",
        extra={
            "matches": stats.matches,
            "messages": stats.messages,
            "batches": len(stats.batch_ms),
            "seconds": round(time.monotonic() - started, 3),
            "median_batch_ms": round(stats.median_batch_ms, 1),
            "longest_batch_ms": round(stats.longest_batch_ms, 1),
        },
    )
