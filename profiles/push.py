"""Push notifications behind one small interface (docs/contract.md, "Push notifications"), reused by chat.

Firebase Cloud Messaging when FIREBASE_PROJECT_ID, FIREBASE_CLIENT_EMAIL and FIREBASE_PRIVATE_KEY
are all set; otherwise a logged no-op that reports nothing as sent. Sending never happens inside a
request: `push_notify` enqueues a Celery task after the transaction commits, and the task calls
`push_send_to_user`, which deactivates the tokens Firebase reports invalid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from django.conf import settings
from django.db import transaction

from profiles.models import FcmToken
from vlvt.lazy import Lazy

log = logging.getLogger(__name__)

Outcome = Literal["sent", "invalid_token", "failed", "skipped"]


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    android_channel_id: str = "default"
    badge: int | None = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PushMessage:
        return cls(**raw)


CLICK_ACTION = "FLUTTER_NOTIFICATION_CLICK"


def app_push(*, title: str, body: str, kind: str, channel: str, **data: str) -> PushMessage:
    """A push the app opens on tap: `data` carries `type` (`kind`), the fields, `click_action`."""
    return PushMessage(
        title=title,
        body=body,
        data={"type": kind, **data, "click_action": CLICK_ACTION},
        android_channel_id=channel,
        badge=1,
    )


def match_message(*, match_id: str, matched_user_name: str) -> PushMessage:
    """The mutual-swipe push; `matched_user_name` is the *other* user's name."""
    return app_push(
        title="🎉 It's a match!",
        body=f"You and {matched_user_name} liked each other!",
        kind="match",
        channel="matches",
        matchId=match_id,
        matchedUserName=matched_user_name,
    )


class PushBackend(Protocol):
    def send(self, tokens: list[str], message: PushMessage) -> list[Outcome]:
        """One outcome per token, in order."""
        ...


class NoopBackend:
    """Firebase is not configured: nothing is sent, and the log says so."""

    def send(self, tokens: list[str], message: PushMessage) -> list[Outcome]:
        log.info(
            "push skipped: Firebase is not configured",
            extra={"tokens": len(tokens), "type": message.data.get("type")},
        )
        return ["skipped"] * len(tokens)


class FirebaseBackend:
    def __init__(self) -> None:
        import firebase_admin
        from firebase_admin import credentials

        cert = credentials.Certificate(
            {
                "type": "service_account",
                "project_id": settings.FIREBASE_PROJECT_ID,
                "client_email": settings.FIREBASE_CLIENT_EMAIL,
                "private_key": settings.FIREBASE_PRIVATE_KEY,
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
        try:
            self.app = firebase_admin.get_app("vlvt")
        except ValueError:
            self.app = firebase_admin.initialize_app(cert, name="vlvt")

    def send(self, tokens: list[str], message: PushMessage) -> list[Outcome]:
        from firebase_admin import messaging

        multicast = messaging.MulticastMessage(
            tokens=tokens,
            notification=messaging.Notification(title=message.title, body=message.body),
            data=message.data,
            apns=messaging.APNSConfig(
                payload=messaging.APNSPayload(
                    aps=messaging.Aps(sound="default", badge=message.badge, content_available=True)
                )
            ),
            android=messaging.AndroidConfig(
                priority="high",
                notification=messaging.AndroidNotification(
                    sound="default", channel_id=message.android_channel_id, priority="high"
                ),
            ),
        )
        batch = messaging.send_each_for_multicast(multicast, app=self.app)
        return [_outcome(r) for r in batch.responses]


def _outcome(response: Any) -> Outcome:
    if response.success:
        return "sent"
    from firebase_admin import exceptions, messaging

    error = response.exception
    # Python's names for messaging/registration-token-not-registered and
    # messaging/invalid-registration-token.
    if isinstance(error, messaging.UnregisteredError):
        return "invalid_token"
    if isinstance(error, exceptions.InvalidArgumentError) and "registration token" in str(error).lower():
        return "invalid_token"
    log.warning("push failed", extra={"error": type(error).__name__})
    return "failed"


def firebase_configured() -> bool:
    return bool(
        settings.FIREBASE_PROJECT_ID and settings.FIREBASE_CLIENT_EMAIL and settings.FIREBASE_PRIVATE_KEY
    )


def _firebase_or_noop() -> PushBackend:
    try:
        return FirebaseBackend()
    except Exception:  # e.g. a malformed FIREBASE_PRIVATE_KEY: say so loudly, send nothing
        log.exception("Firebase initialisation failed: push notifications are disabled")
        return NoopBackend()


def _configured_backend() -> PushBackend:
    return _firebase_or_noop() if firebase_configured() else NoopBackend()


_backend: Lazy[PushBackend] = Lazy(
    _configured_backend, made_from=lambda setting: setting.startswith("FIREBASE_")
)
push_backend = _backend.get
set_push_backend = _backend.set  # tests swap in a recording fake (FCM is what leaves the machine)


def push_send_to_user(*, user_id: str, message: PushMessage) -> dict[str, int]:
    """Send to every active token of the user now; deactivate the tokens FCM calls invalid."""
    tokens = list(FcmToken.objects.filter(user_id=user_id, is_active=True).values_list("token", flat=True))
    if not tokens:
        return {"sent": 0, "invalid": 0, "failed": 0}
    outcomes = push_backend().send(tokens, message)
    invalid = [t for t, o in zip(tokens, outcomes, strict=True) if o == "invalid_token"]
    if invalid:
        FcmToken.objects.filter(user_id=user_id, token__in=invalid).update(is_active=False)
    return {
        "sent": outcomes.count("sent"),
        "invalid": len(invalid),
        "failed": outcomes.count("failed"),
    }


def push_notify_pair(*, names: dict[str, str], message: Callable[[str], PushMessage]) -> None:
    """`names` maps each of two users to their name; each gets `message(the other's name)`."""
    (a, name_a), (b, name_b) = names.items()
    push_notify(user_id=a, message=message(name_b))
    push_notify(user_id=b, message=message(name_a))


def push_notify(*, user_id: str, message: PushMessage) -> None:
    """Queue a push for after the current transaction commits (nothing is sent on rollback)."""
    from profiles.tasks import push_send  # cycle: profiles.tasks sends with this module

    payload = message.to_json()
    transaction.on_commit(lambda: push_send.delay(user_id, payload), robust=True)
