from __future__ import annotations

from typing import Any

from celery import shared_task

from vlvt.outbox.relay import relay_all


@shared_task(bind=True, name="vlvt.outbox_relay", ignore_result=True)
def outbox_relay(self: Any) -> None:
    """Publish what processes stored while the broker was down and did not relay themselves (they
    stopped or died first); scheduled in vlvt/celery.py."""
    relay_all(self.app)
