"""Celery tasks of the chat app. They take ids only and are safe to re-run."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from chat import presence
from chat.models import Message
from chat.push import message_notification
from chat.realtime import worker_loop
from profiles.models import Profile
from profiles.push import push_send_to_user

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def push_new_message(recipient_id: str, message_id: str) -> None:
    """Push a message to its recipient; skipped if the message or the sender's name is gone."""
    msg = Message.objects.filter(pk=message_id).values("match_id", "sender_id", "text").first()
    if msg is None:
        return
    name = Profile.objects.filter(pk=msg["sender_id"]).values_list("name", flat=True).first()
    if not name:
        return
    notification = message_notification(
        match_id=msg["match_id"], sender_id=msg["sender_id"], sender_name=name, text=msg["text"]
    )
    push_send_to_user(user_id=recipient_id, message=notification)


@shared_task(name="chat.presence_sweep", acks_late=True, ignore_result=True)
def presence_sweep() -> None:
    """Mark offline the users whose sockets were on a process that died without disconnecting them
    (chat.presence); scheduled in vlvt/celery.py. A re-run finishes what a dead one left."""
    started = time.monotonic()
    result = worker_loop.run(presence.presence_sweep())
    if result is None:
        logger.info("presence sweep skipped: another run holds the lock")
        return
    logger.info(
        "presence sweep done",
        extra={
            "sockets_deleted": result.sockets_deleted,
            "users_offline": result.users_offline,
            "users_back": result.users_back,
            "users_pending": result.users_pending,
            "seconds": round(time.monotonic() - started, 3),
        },
    )
