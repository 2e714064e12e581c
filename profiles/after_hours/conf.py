"""After Hours timings, in seconds, with the original's values as defaults.

Each is read when used, from Django settings first (tests override them there) and then from the
environment (how Celery workers and beat started by tests get short timings), so nothing needs a
restart to pick up an override and `vlvt/settings.py` needs no entry for them.
"""

from __future__ import annotations

import os

from django.conf import settings

DEFAULTS: dict[str, float] = {
    # The length of one "minute" of a session: durations and extensions (15/30/60), the expiry
    # warning (2 before the end) and the matching margin (2 left) are counted in these.
    "AFTER_HOURS_MINUTE_SECONDS": 60,
    "AFTER_HOURS_MATCH_TTL_SECONDS": 10 * 60,  # a match lasts at most this long
    "AFTER_HOURS_AUTO_DECLINE_SECONDS": 5 * 60,  # an unanswered match expires after this
    "AFTER_HOURS_MATCH_DELAY_AFTER_START_SECONDS": 15,
    "AFTER_HOURS_MATCH_DELAY_AFTER_DECLINE_SECONDS": 30,
    "AFTER_HOURS_MATCH_DELAY_AFTER_AUTO_DECLINE_SECONDS": 5,
    "AFTER_HOURS_SWEEP_SECONDS": 30,  # beat: the matching sweep
    "AFTER_HOURS_OVERDUE_SWEEP_SECONDS": 60,  # beat: close what a lost delayed job left open
    "AFTER_HOURS_DECLINE_RETENTION_DAYS": 7,
}

WARNING_MINUTES = 2  # session_expiring is sent this many session minutes before the end
MATCHING_MARGIN_MINUTES = 2  # sessions with less left are neither matched nor offered


def seconds(name: str) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return float(value) if value not in (None, "") else float(DEFAULTS[name])


def env_seconds(name: str) -> float:
    """The environment's value (else the default) without touching Django settings: for the beat
    schedule, which is built while the `vlvt` package itself is being imported."""
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else float(DEFAULTS[name])


def minute() -> float:
    return seconds("AFTER_HOURS_MINUTE_SECONDS")


def warning_lead() -> float:
    return WARNING_MINUTES * minute()


def matching_margin() -> float:
    return MATCHING_MARGIN_MINUTES * minute()
