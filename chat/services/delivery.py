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

When the presence lookup fails (Redis down), the `new_message` publication most likely failed too
and waits in the channel layer's retry queue (`chat.realtime.layer`), which either sends it once
Redis answers or, after SOCKET_UNDELIVERED_PUSH_SECONDS, gives up and pushes the message instead
(`chat.events.undelivered_to_push`). A push here as well would be the second for one message. So
the decision of a message whose publication waits is left to the layer (`Waiting`): made again,
with presence, when the publication is sent; the push of the given-up publication otherwise. A
message whose publication did reach Redis (nothing else will decide for it) counts as offline: a
push too many is better than a message never announced. And a message pushed here while its
publication waits gets no second push when that publication is given up.

One shortcut of the socket path (`chat.socket_handlers.send_messages`): a recipient known to have a
socket on the sending process (the process's own socket registry, a subset of presence) is marked
delivered on the send's database thread; if that socket is gone once the message was published,
the decision here is made as usual (a push if the recipient has no socket left anywhere).
"""

from __future__ import annotations

import threading

from django.db import connection
from django.utils import timezone

from chat import push
from vlvt.database import loop_connection


class Waiting:
    """The `new_message` publications of this process waiting in the channel layer's retry queue,
    by message id, and what deliver_or_push did about each meanwhile: left its decision to the
    layer (the recipient), or pushed. Touched by request and database threads and by the event
    loop's layer hooks, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._undecided: dict[str, str] = {}  # message id -> recipient
        self._pushed: set[str] = set()

    def held(self, message_ids: list[str]) -> None:
        with self._lock:
            self._held.update(message_ids)

    def leave_to_layer(self, recipient_id: str, message_id: str) -> bool:
        """True (and the decision is the layer's) when the message's publication is waiting."""
        with self._lock:
            if message_id not in self._held:
                return False
            self._undecided[message_id] = recipient_id
            return True

    def pushing(self, message_id: str) -> None:
        with self._lock:
            if message_id in self._held:
                self._pushed.add(message_id)

    def sent(self, message_ids: list[str]) -> list[tuple[str, str]]:
        """The publication went out: the (recipient, message id) decisions that waited for it."""
        with self._lock:
            self._held.difference_update(message_ids)
            self._pushed.difference_update(message_ids)
            return [(self._undecided.pop(m), m) for m in message_ids if m in self._undecided]

    def given_up(self, message_ids: list[str]) -> list[str]:
        """The publication was given up: those of its messages not pushed already (to push now)."""
        with self._lock:
            self._held.difference_update(message_ids)
            for message_id in message_ids:
                self._undecided.pop(message_id, None)
            unpushed = [m for m in message_ids if m not in self._pushed]
            self._pushed.difference_update(message_ids)
            return unpushed


waiting = Waiting()


def deliver_or_push(*, sent: list[tuple[str, str]], online: set[str] | None) -> None:
    """`sent` is (recipient, message id) pairs: messages of recipients with a socket on any
    process (`online`, from `chat.realtime.presence`) are marked delivered (one UPDATE), the
    others' recipients get a push. `online` is None when the presence lookup failed: then a
    message whose publication waits in the channel layer is left to it (see the module)."""
    if online is None:
        sent = [(r, m) for r, m in sent if not waiting.leave_to_layer(r, m)]
        online = set()
    delivered = [message_id for recipient_id, message_id in sent if recipient_id in online]
    if delivered:
        messages_mark_delivered(message_ids=delivered)
    for recipient_id, message_id in sent:
        if recipient_id not in online:
            waiting.pushing(message_id)
            push.new_message(recipient_id=recipient_id, message_id=message_id)


async def adeliver_or_push(*, sent: list[tuple[str, str]], online: set[str] | None) -> bool:
    """`deliver_or_push` from the event loop (its own pool, vlvt.database) when all it has to do
    is the UPDATE: every recipient online. False, with nothing done, otherwise: pushes are queued
    from a thread, so call `deliver_or_push` there."""
    if online is None or any(recipient_id not in online for recipient_id, _ in sent):
        return False
    ids = [message_id for _, message_id in sent]
    async with loop_connection() as conn:
        await conn.execute(MARK_DELIVERED, {"ids": ids, "now": timezone.now()})
    return True


# Sent messages marked delivered, never downgrading a read one. Parameters: ids, now.
MARK_DELIVERED = """UPDATE messages SET status = 'delivered', delivered_at = %(now)s
 WHERE id = ANY(%(ids)s::text[]) AND status = 'sent'"""


def messages_mark_delivered(*, message_ids: list[str]) -> int:
    """Mark sent messages delivered in one UPDATE; returns how many changed."""
    with connection.cursor() as cursor:
        cursor.execute(MARK_DELIVERED, {"ids": message_ids, "now": timezone.now()})
        return cursor.rowcount
