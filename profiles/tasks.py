"""Celery tasks of the profiles app. They take ids and JSON primitives and are safe to re-run."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from profiles.push import PushMessage, push_send_to_user
from profiles.storage import delete_photo


@shared_task(acks_late=True, ignore_result=True)
def push_send(user_id: str, message: dict[str, Any]) -> None:
    push_send_to_user(user_id=user_id, message=PushMessage.from_json(message))


@shared_task(acks_late=True, ignore_result=True)
def photos_delete(values: list[str], owner: str = "") -> None:
    """Delete `owner`'s own stored photos and their thumbnails (an absent object is a no-op).

    Only keys of the owner's namespace are deleted (profiles.storage.key_from_value); a message
    queued without an owner deletes nothing.
    """
    for value in values:
        delete_photo(value, owner=owner)
