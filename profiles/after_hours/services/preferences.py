"""After Hours matching preferences (docs/contract.md, "After Hours preferences")."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Now

from profiles.after_hours.validation import PreferencesInput
from profiles.models import AfterHoursPreferences
from vlvt.http.api import ApiError

ALREADY_EXIST = partial(ApiError, 409, "After Hours preferences already exist. Use PATCH to update.")
DEFAULTS = {"seeking_gender": "Any", "max_distance_km": 10, "min_age": 18, "max_age": 99}


def preferences_create(*, user_id: str, data: PreferencesInput) -> AfterHoursPreferences:
    """Insert with the original's defaults for absent fields; 409 if a row exists (or wins a race)."""
    values: dict[str, Any] = {
        "seeking_gender": data.seeking_gender or DEFAULTS["seeking_gender"],
        "max_distance_km": data.max_distance_km or DEFAULTS["max_distance_km"],
        "min_age": data.min_age or DEFAULTS["min_age"],
        "max_age": data.max_age or DEFAULTS["max_age"],
        "sexual_orientation": data.sexual_orientation,
    }
    try:
        with transaction.atomic():
            return AfterHoursPreferences.objects.create(user_id=user_id, **values)
    except IntegrityError:
        raise ALREADY_EXIST() from None


def preferences_update(*, user_id: str, data: PreferencesInput) -> AfterHoursPreferences | None:
    """COALESCE each column with the sent value; None when the user has no preferences row."""
    changes: dict[str, Any] = {"updated_at": Now()}
    for field in ("seeking_gender", "max_distance_km", "min_age", "max_age", "sexual_orientation"):
        value = getattr(data, field)
        if value is not None:
            changes[field] = value
    if not AfterHoursPreferences.objects.filter(pk=user_id).update(**changes):
        return None
    return AfterHoursPreferences.objects.get(pk=user_id)
