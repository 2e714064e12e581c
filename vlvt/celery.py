"""The Celery app: `celery -A vlvt worker`, `celery -A vlvt beat` (or `worker -B`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vlvt.settings")


class CelerySettings(Mapping[str, Any]):
    """Django's `CELERY_*` settings as a plain mapping, read once, when Celery first loads its
    configuration (after Django's settings are ready).

    Celery looks a setting up under several names (with and without the namespace, old and new
    spelling) every time it reads one, and publishing a task reads about eight. With Django's
    settings object as the source each of those misses went through `LazySettings.__getattr__` and
    an AttributeError: a fifth of the CPU of one publish. A change to a `CELERY_*` setting after
    start-up is not seen; set `app.conf` instead (the tests do).
    """

    @cached_property
    def _values(self) -> dict[str, Any]:
        return {name: getattr(settings, name) for name in dir(settings) if name.startswith("CELERY_")}

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __bool__(self) -> bool:  # Celery skips a falsy source; this one is read lazily
        return True


# Every task publishes through vlvt.outbox: what the broker refuses waits in PostgreSQL.
app = Celery("vlvt", task_cls="vlvt.outbox.task:OutboxTask")
app.config_from_object(CelerySettings(), namespace="CELERY")
app.autodiscover_tasks()

# After Hours tasks live in sub-packages of the profiles and chat apps, which the default discovery skips.
app.autodiscover_tasks(["profiles.after_hours", "chat.after_hours"])


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Every periodic schedule, in one place. Each entry says when it runs; the intervals are
    Django settings (from the environment), read when Celery's configuration is first loaded."""
    return {
        # Every 30 s (AFTER_HOURS_SWEEP_SECONDS): match every waiting After Hours session. A sweep still
        # queued when the next one is due is dropped rather than run late.
        "after-hours-matching-sweep": {
            "task": "after_hours.matching_sweep",
            "schedule": settings.AFTER_HOURS_SWEEP_SECONDS,
            "options": {"expires": settings.AFTER_HOURS_SWEEP_SECONDS},
        },
        # Every 60 s (AFTER_HOURS_OVERDUE_SWEEP_SECONDS): close After Hours sessions and time out matches
        # whose delayed job was lost (a worker died holding it), so nothing stays open past its time.
        "after-hours-overdue-sweep": {
            "task": "after_hours.overdue_sweep",
            "schedule": settings.AFTER_HOURS_OVERDUE_SWEEP_SECONDS,
            "options": {"expires": settings.AFTER_HOURS_OVERDUE_SWEEP_SECONDS},
        },
        # Daily at 04:00 UTC (CELERY_TIMEZONE): close forgotten After Hours sessions and forget declines
        # older than 7 days (the original's daily-session-cleanup).
        "after-hours-daily-cleanup": {
            "task": "after_hours.daily_cleanup",
            "schedule": crontab(hour=4, minute=0),
        },
        # Daily at 03:00 UTC (CELERY_TIMEZONE): delete unconverted After Hours chats (matches and their
        # messages) that expired more than 30 days ago, in short batches (the original's message cleanup).
        "after-hours-chat-cleanup": {
            "task": "chat.after_hours_messages_cleanup",
            "schedule": crontab(hour=3, minute=0),
        },
        # Every 60 s (PRESENCE_SWEEP_SECONDS): mark offline, and tell their match partners, the users
        # whose sockets were on a Daphne process that died without disconnecting them (its presence
        # liveness key expired). A sweep still queued when the next one is due is dropped.
        "presence-sweep": {
            "task": "chat.presence_sweep",
            "schedule": settings.PRESENCE_SWEEP_SECONDS,
            "options": {"expires": settings.PRESENCE_SWEEP_SECONDS},
        },
        # Every 10 s (OUTBOX_RELAY_SWEEP_SECONDS): publish the tasks a process stored while
        # the broker was down and could not relay itself (it stopped or died first).
        "outbox-relay": {
            "task": "vlvt.outbox_relay",
            "schedule": settings.OUTBOX_RELAY_SWEEP_SECONDS,
            "options": {"expires": settings.OUTBOX_RELAY_SWEEP_SECONDS},
        },
    }


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, source: Any, **kwargs: Any) -> None:
    source.beat_schedule = beat_schedule()


import vlvt.server.shutdown.celery  # noqa: E402,F401  (connects shutdown to Celery's hooks; no OS handler)
