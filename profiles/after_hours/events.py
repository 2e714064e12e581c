"""The one way After Hours events leave: Redis pub/sub on `settings.AFTER_HOURS_EVENTS_CHANNEL`.

Each message is the original's JSON envelope `{type, targetUserId, payload, timestamp}` (docs/contract.md,
"After Hours events"); every server process's After Hours bridge relays it to the target's sockets, and the
Node chat-service can consume the same channel. Events are queued with the transaction that
caused them and published in one pipeline after it commits, so nobody hears of a match, an expiry
or a session change that was rolled back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from vlvt.http.api import iso
from vlvt.redis import sync_redis

log = logging.getLogger(__name__)

MATCH = "after_hours:match"
NO_MATCHES = "after_hours:no_matches"
MATCH_EXPIRED = "after_hours:match_expired"
SESSION_EXPIRING = "after_hours:session_expiring"
SESSION_EXPIRED = "after_hours:session_expired"

NO_MATCHES_MESSAGE = "No matches available right now. Stay active!"


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    target_user_id: str
    payload: dict[str, Any]


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def envelope(event: Event, now: datetime | str) -> bytes:
    """The original's envelope. Payloads hold JSON types only (timestamps already as ISO strings)."""
    timestamp = now if isinstance(now, str) else iso(now)
    body = {
        "type": event.type,
        "targetUserId": event.target_user_id,
        "payload": event.payload,
        "timestamp": timestamp,
    }
    return _encoder.encode(body).encode()


def publish(events: list[Event]) -> None:
    """Publish after the current transaction commits (at once outside a transaction)."""
    if events:
        batch = list(events)
        transaction.on_commit(lambda: _send(batch), robust=True)


# One PUBLISH per event (subscribers expect one envelope per message), but many per round trip:
# a sweep announces thousands of matches, and one command per event costs more than the sweep.
_PUBLISH_ALL = "for i = 1, #ARGV do redis.call('PUBLISH', KEYS[1], ARGV[i]) end return #ARGV"
_BATCH = 1000


def _send(events: list[Event]) -> None:
    now = iso(timezone.now())
    messages = [envelope(event, now) for event in events]
    try:
        client = sync_redis()
        channel = settings.AFTER_HOURS_EVENTS_CHANNEL
        for start in range(0, len(messages), _BATCH):
            client.eval(_PUBLISH_ALL, 1, channel, *messages[start : start + _BATCH])
    except Exception:  # a lost notification must not undo the committed change; clients poll too
        log.exception("after hours event publish failed", extra={"events": len(events)})


# --- the catalogue (docs/contract.md, "After Hours events") -----------------------------------------


def match_expired(match_id: str, target_user_id: str, reason: str = "timeout") -> Event:
    return Event(MATCH_EXPIRED, target_user_id, {"matchId": match_id, "reason": reason})


def no_matches(target_user_id: str, active_users_nearby: int) -> Event:
    # nearbyCount: the mobile app's name for activeUsersNearby (always the same number).
    payload = {
        "activeUsersNearby": active_users_nearby,
        "message": NO_MATCHES_MESSAGE,
        "nearbyCount": active_users_nearby,
    }
    return Event(NO_MATCHES, target_user_id, payload)


def session_expiring(
    target_user_id: str, session_id: str, expires_at: datetime, minutes_remaining: int
) -> Event:
    payload = {"sessionId": session_id, "expiresAt": iso(expires_at), "minutesRemaining": minutes_remaining}
    return Event(SESSION_EXPIRING, target_user_id, payload)


def session_expired(target_user_id: str, session_id: str) -> Event:
    return Event(SESSION_EXPIRED, target_user_id, {"sessionId": session_id, "reason": "timeout"})


def match_found(target_user_id: str, payload: dict[str, Any]) -> Event:
    return Event(MATCH, target_user_id, payload)
