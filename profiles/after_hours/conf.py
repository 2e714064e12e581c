"""After Hours timings, in seconds: Django settings (vlvt/settings.py reads them from the
environment, with the original's values as defaults), read when used, so a test's override of a
setting takes effect at once.
"""

from __future__ import annotations

from django.conf import settings

WARNING_MINUTES = 2  # session_expiring is sent this many session minutes before the end
MATCHING_MARGIN_MINUTES = 2  # sessions with less left are neither matched nor offered


def seconds(name: str) -> float:
    """The After Hours timing `name` (an `AFTER_HOURS_*` setting)."""
    return float(getattr(settings, name))


def minute() -> float:
    return seconds("AFTER_HOURS_MINUTE_SECONDS")


def warning_lead() -> float:
    return WARNING_MINUTES * minute()


def matching_margin() -> float:
    return MATCHING_MARGIN_MINUTES * minute()
