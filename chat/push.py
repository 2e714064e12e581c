"""Chat's push notifications, sent through the project's push interface (docs/contract.md, "Push
notifications").

Nothing is sent inside a request or an ack: these enqueue Celery work after the commit, and the
message push task reads the text from the database rather than carrying it through the broker.
"""

from __future__ import annotations

from django.db import transaction

from profiles.push import PushMessage, app_push, match_message, push_notify_pair

PREVIEW_LIMIT = 100


def message_preview(text: str) -> str:
    return text if len(text) <= PREVIEW_LIMIT else text[: PREVIEW_LIMIT - 3] + "..."


def message_notification(*, match_id: str, sender_id: str, sender_name: str, text: str) -> PushMessage:
    return app_push(
        title=f"New message from {sender_name}",
        body=message_preview(text),
        kind="message",
        channel="messages",
        matchId=match_id,
        senderId=sender_id,
        senderName=sender_name,
    )


def new_message(*, recipient_id: str, message_id: str) -> None:
    """Queue the "new message" push for a recipient with no connected socket."""
    from chat.tasks import push_new_message  # cycle: chat.tasks builds the push with this module

    transaction.on_commit(lambda: push_new_message.delay(recipient_id, message_id), robust=True)


def new_match(*, match_id: str, names: dict[str, str]) -> None:
    """`names` maps each of the two users to their profile name; each hears the other's."""
    push_notify_pair(
        names=names, message=lambda name: match_message(match_id=match_id, matched_user_name=name)
    )
