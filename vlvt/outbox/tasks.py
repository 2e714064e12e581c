from __future__ import annotations

from celery import shared_task


@shared_task(name="vlvt.outbox_relay", ignore_result=True)
def outbox_relay() -> None:
    """Publish what processes stored while the broker was down and did not relay themselves (they
    stopped or died first); scheduled in vlvt/celery.py."""
    from vlvt.celery import app
    from vlvt.outbox.relay import relay_all

    relay_all(app)
