"""Delivered or push: the one decision for a message that went out to its recipient's sockets,
made here for the socket path (`chat.socket_handlers.messages_sent`, batched per socket) and the
REST path (`chat.services.messages.message_fan_out`) alike.

The source of truth is Redis presence (`chat.realtime.presence`), not the `user_status` row:
* it is the sockets themselves: a socket is in it before its CONNECT is acked, and it joined the
  user's group before that, so "in presence" means "a socket that the `new_message` just
  published to its group reaches";
* `user_status` follows it: a connect's row is written after the CONNECT ack, in batches, and
  corrected when two transitions cross; a crashed process's users stay online in the row until
  the sweep, while presence stops counting its sockets as soon as its liveness key expires.
A Redis error counts as offline: a push too many is better than a message never announced.
"""

from __future__ import annotations

from django.utils import timezone

from chat import push
from chat.models import Message
from chat.realtime import presence


def deliver_or_push(*, sent: list[tuple[str, str]], online: set[str] | None = None) -> None:
    """`sent` is (recipient, message id) pairs: messages of recipients with a socket on any
    process are marked delivered (one UPDATE), the others' recipients get a push. `online` is the
    presence lookup when the caller made it already (the socket path makes it on its event loop,
    without a thread hop); otherwise it is made here."""
    recipients = list(dict.fromkeys(recipient_id for recipient_id, _ in sent))
    if online is None:
        online = presence.online_users(recipients)
    delivered = [message_id for recipient_id, message_id in sent if recipient_id in online]
    if delivered:
        messages_mark_delivered(message_ids=delivered)
    for recipient_id, message_id in sent:
        if recipient_id not in online:
            push.new_message(recipient_id=recipient_id, message_id=message_id)


def messages_mark_delivered(*, message_ids: list[str]) -> int:
    """Mark sent messages delivered in one UPDATE, never downgrading a read one; returns how many
    changed."""
    return Message.objects.filter(pk__in=message_ids, status="sent").update(
        status="delivered", delivered_at=timezone.now()
    )
