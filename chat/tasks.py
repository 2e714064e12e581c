"""Celery tasks of the chat app. They take ids only and are safe to re-run."""
from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def push_new_message(recipient_id: str, message_id: str) -> None:
    """Push a message to its recipient; skipped if the message or the sender's name is gone."""
    from chat.models import Message
    from chat.push import message_notification
    from profiles.models import Profile
    from profiles.push import push_send_to_user

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
