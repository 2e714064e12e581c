"""The base class of every Celery task of the project (`Celery(task_cls=...)` in vlvt.celery)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.utils import uuid

from vlvt.outbox.relay import BROKER_ERRORS, relay, store

logger = logging.getLogger("vlvt.outbox")


class OutboxTask(Task):
    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: Any = None,
        **options: Any,
    ) -> Any:
        if self.app.conf.task_always_eager or producer is not None or link or link_error or shadow:
            return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
        task_id = task_id or uuid()
        if not relay.diverting():
            try:
                # No kombu retries: a broker that failed once goes to the outbox at once.
                return super().apply_async(args, kwargs, task_id, **{**options, "retry": False})
            except BROKER_ERRORS as exc:
                logger.error(
                    "broker unavailable: task %s stored in the outbox for later publication",
                    self.name,
                    extra={"error": repr(exc)},
                )
        store(app=self.app, task_id=task_id, name=self.name, args=args, kwargs=kwargs, options=options)
        return self.AsyncResult(task_id)
