"""Storing a task the broker refused, and publishing the stored ones again (see vlvt.outbox)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from vlvt.outbox.models import TaskOutbox

logger = logging.getLogger("vlvt.outbox")

RELAY_POLL = 0.25
RELAY_BATCH = 200
# What a broker that is down, restarting or hung raises from a publish.
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuOperationalError, RedisError, OSError)
_KEPT_OPTIONS = ("queue", "priority", "routing_key", "exchange")


def stored_options(options: dict[str, Any]) -> dict[str, Any]:
    """The publish options worth keeping, as JSON: a countdown becomes an absolute eta."""
    kept = {k: options[k] for k in _KEPT_OPTIONS if options.get(k) is not None}
    now = timezone.now()
    eta = options.get("eta")
    if eta is None and options.get("countdown") is not None:
        eta = now + timedelta(seconds=float(options["countdown"]))
    expires = options.get("expires")
    if isinstance(expires, (int, float)):
        expires = now + timedelta(seconds=float(expires))
    for key, value in (("eta", eta), ("expires", expires)):
        if isinstance(value, datetime):
            kept[key] = value.isoformat()
    return kept


def store(*, app: Any, task_id: str, name: str, args: Any, kwargs: Any, options: dict[str, Any]) -> None:
    """Keep a task for the relay (in the caller's transaction, if any) and make sure one runs."""
    TaskOutbox.objects.create(
        task_id=task_id,
        name=name,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        options=stored_options(options),
    )
    transaction.on_commit(lambda: relay.ensure_running(app))


def relay_once(app: Any) -> int:
    """Publish the oldest stored tasks (a batch; rows another relay holds are skipped); returns how
    many rows are left. A broker error leaves the unpublished rows and propagates."""
    with transaction.atomic():
        rows = list(TaskOutbox.objects.select_for_update(skip_locked=True).order_by("id")[:RELAY_BATCH])
        sent: list[int] = []
        try:
            for row in rows:
                options = dict(row.options)
                for key in ("eta", "expires"):
                    if key in options:
                        options[key] = datetime.fromisoformat(options[key])
                app.send_task(row.name, row.args, row.kwargs, task_id=row.task_id, retry=False, **options)
                sent.append(row.id)
        finally:
            if sent:
                TaskOutbox.objects.filter(id__in=sent).delete()
                logger.warning("outbox: %d task(s) published after the broker came back", len(sent))
    return TaskOutbox.objects.count() if len(sent) == len(rows) else len(rows) - len(sent)


def relay_all(app: Any) -> None:
    """Publish every stored task now (the worker's sweep); stops at the first broker error."""
    while relay_once(app):
        pass


class Relay:
    """This process's relay thread: running while this process diverts tasks to the table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def diverting(self) -> bool:
        """Whether new tasks go to the table (behind the stored ones) instead of the broker."""
        return self._thread is not None

    def ensure_running(self, app: Any) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(app,), name="task-outbox-relay", daemon=True
                )
                self._thread.start()

    def _run(self, app: Any) -> None:
        while True:
            time.sleep(RELAY_POLL)
            try:
                left = relay_once(app)
                if left == 0 and self._stop_if_empty():
                    return
            except BROKER_ERRORS:
                continue
            except Exception:
                logger.exception("outbox: relaying failed; trying again")
            finally:
                # Back to the pool between rounds: an outage must not hold one of its connections.
                connection.close()

    def _stop_if_empty(self) -> bool:
        with self._lock:  # a task stored after this check finds no thread and starts one
            if TaskOutbox.objects.exists():
                return False
            self._thread = None
            return True


relay = Relay()
