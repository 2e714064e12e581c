"""Push token registration (docs/contract.md, "Push tokens")."""

from __future__ import annotations

from django.db import IntegrityError
from django.utils import timezone

from chat.errors import ChatError
from profiles.models import FcmToken


def fcm_token_register(*, user_id: str, token: str, device_type: str, device_id: str | None) -> None:
    """Upsert on (user_id, token): (re)activate it with the device it now belongs to."""
    now = timezone.now()
    try:
        _upsert(user_id, token, device_type, device_id, now)
    except IntegrityError:
        raise ChatError(404, "User not found") from None  # a token whose user no longer exists


def _upsert(user_id: str, token: str, device_type: str, device_id: str | None, now) -> None:
    FcmToken.objects.bulk_create(
        [
            FcmToken(
                user_id=user_id,
                token=token,
                device_type=device_type,
                device_id=device_id,
                is_active=True,
                updated_at=now,
                last_used_at=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["user", "token"],
        update_fields=["device_type", "device_id", "is_active", "updated_at", "last_used_at"],
    )


def fcm_token_unregister(*, user_id: str, token: str) -> None:
    """Deactivate (user, token); succeeds whether or not such a row exists."""
    FcmToken.objects.filter(user_id=user_id, token=token).update(is_active=False, updated_at=timezone.now())
