"""Test-only Celery task (loaded by workers started with tests.support.settings)."""

import time

from celery import shared_task
from django.db import connection

from vlvt.redis import sync_redis


@shared_task(name="tests.probe_task")
def probe_task(key: str, seconds: float) -> None:
    """Counts its runs in Redis, works for `seconds`, then applies an idempotent effect."""
    redis = sync_redis()
    redis.incr(f"probe:runs:{key}")
    time.sleep(seconds)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO task_probe (key, applied) VALUES (%s, 1) ON CONFLICT (key) DO NOTHING",
            [key],
        )
    redis.incr(f"probe:done:{key}")
