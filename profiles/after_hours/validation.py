"""After Hours body validation with express-validator's semantics (after-hours-validation.ts).

Every failing rule of a chain is reported (no `.bail()` in the original), in chain order, as
`(field, message)`: a missing `duration` gets both "Duration is required" and "Duration must be
15, 30, or 60 minutes". `optional()` skips only an absent key; a null is validated (and fails).
Values are compared as JavaScript prints them, so "30" passes `isIn([15, 30, 60])`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from profiles.validation import js_string
from vlvt.http.openapi.declare import STR, obj

MISSING: Any = object()
Errors = list[tuple[str, str]]

SEEKING_GENDERS = ("Any", "Male", "Female", "Non-binary")
ORIENTATIONS = ("Straight", "Gay", "Bisexual", "Pansexual", "Queer", "Other")
DURATIONS = ("15", "30", "60")

_INT = re.compile(r"^[-+]?[0-9]+$")  # validator.js isInt (leading zeros allowed)
_FLOAT = re.compile(r"^(?:[-+])?(?:[0-9]+)?(?:\.[0-9]*)?(?:[eE][\+\-]?(?:[0-9]+))?$")  # isFloat
_PARSE_INT = re.compile(r"^\s*([-+]?[0-9]+)")
_UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$", re.IGNORECASE)


# --- the bodies as /openapi.json describes them ---------------------------------------------------

MINUTES: dict[str, Any] = {"type": ["integer", "string"], "enum": [15, 30, 60, "15", "30", "60"]}
_TEXT_500 = {"type": "string", "maxLength": 500}
DESCRIPTION = {
    **obj(description=_TEXT_500, bio=_TEXT_500),
    "description": "`bio` (the app's name) may replace `description`; both must then be equal",
}
GENDER = {"enum": list(SEEKING_GENDERS)}
DISTANCE = {"type": "integer", "minimum": 1, "maximum": 200}
AGE = {"type": "integer", "minimum": 18, "maximum": 99}
PREFERENCE_FIELDS: dict[str, Any] = {
    "seekingGender": GENDER,
    "maxDistanceKm": DISTANCE,
    "minAge": AGE,
    "maxAge": AGE,
    "sexualOrientation": {"enum": [*ORIENTATIONS, None]},
}
# The app's snake_case names (the same values); it sends gender_seeking in lower case.
PREFERENCE_ALIASES: dict[str, Any] = {
    "gender_seeking": GENDER,
    "max_distance_km": DISTANCE,
    "min_age": AGE,
    "max_age": AGE,
}
PREFERENCES_INPUT = {
    **obj(
        **PREFERENCE_FIELDS,
        **{
            **PREFERENCE_ALIASES,
            "gender_seeking": {"enum": [*SEEKING_GENDERS, *(g.lower() for g in SEEKING_GENDERS)]},
        },
    ),
    "description": "camelCase or the app's snake_case names (gender_seeking also in lower case); "
    "a field sent under both names must have one value",
}
SESSION_START = obj(
    ["duration", "latitude", "longitude"],
    duration=MINUTES,
    latitude={"type": ["number", "string"], "minimum": -90, "maximum": 90},
    longitude={"type": ["number", "string"], "minimum": -180, "maximum": 180},
    deviceFingerprint=obj(deviceId=STR, deviceModel=STR, platform=STR),
)


def _text(value: Any) -> str:
    return "" if value is MISSING else js_string(value)


def _is_in(value: Any, allowed: tuple[str, ...]) -> bool:
    return not isinstance(value, list | dict) and _text(value) in allowed


def _int_between(value: Any, low: int, high: int) -> int | None:
    text = _text(value)
    if isinstance(value, bool | list | dict) or not _INT.match(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def _float_between(value: Any, low: float, high: float) -> float | None:
    text = _text(value)
    if isinstance(value, bool | list | dict) or text in ("", ".", "-", "+") or not _FLOAT.match(text):
        return None
    number = float(text)
    return number if low <= number <= high else None


def _parse_int(value: Any) -> int | None:
    """JavaScript parseInt: leading digits of the string form, else NaN (None)."""
    match = _PARSE_INT.match(_text(value))
    return int(match.group(1)) if match else None


def _as_sent(value: Any) -> Any:
    """Echo a value as the original did: strings stay strings; 30.0 is JavaScript's 30."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _description_length(text: str) -> int:
    # validator.js isLength: code points, not counting variation selectors.
    return len(text) - text.count("\ufe0f") - text.count("\ufe0e")


# --- the mobile app's spellings -------------------------------------------------------------------

# The Flutter app sends these names where the original server reads the camelCase ones. Both are
# accepted; an alias is folded into its original field, and both with different values is a 400.
PROFILE_ALIASES = (("bio", "description"),)
PREFERENCES_ALIASES = (
    ("gender_seeking", "seekingGender"),
    ("max_distance_km", "maxDistanceKm"),
    ("min_age", "minAge"),
    ("max_age", "maxAge"),
)
# The app offers 'male', 'female' and 'any'; the stored (and answered) values are capitalised.
_GENDER_CASE = {g.lower(): g for g in SEEKING_GENDERS}


def _app_gender(value: Any) -> Any:
    return _GENDER_CASE.get(value.lower(), value) if isinstance(value, str) else value


def _same(a: Any, b: Any) -> bool:
    # 50 and 50.0 are one JSON number for the app (Dart sends doubles); strings compare exactly.
    if (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return a == b
    return type(a) is type(b) and a == b


def fold_aliases(
    body: dict[str, Any], aliases: tuple[tuple[str, str], ...], errors: Errors
) -> dict[str, Any]:
    """The body with each alias's value under its original name (the body itself is unchanged)."""
    folded = dict(body)
    for alias, original in aliases:
        if alias not in folded:
            continue
        value = folded.pop(alias)
        if alias == "gender_seeking":
            value = _app_gender(value)
        if original in folded and not _same(folded[original], value):
            errors.append((alias, f"{alias} and {original} must not differ"))
            continue
        folded[original] = value
    return folded


# --- profile --------------------------------------------------------------------------------------


def description(body: dict[str, Any], errors: Errors) -> str | None | Any:
    """The trimmed description (sent as `description` or the app's `bio`), or MISSING when absent."""
    body = fold_aliases(body, PROFILE_ALIASES, errors)
    if errors:
        return MISSING
    value = body.get("description", MISSING)
    if value is MISSING:
        return MISSING
    text = _text(value).strip()
    if isinstance(value, list | dict) or _description_length(text) > 500:
        errors.append(("description", "Description must be maximum 500 characters"))
    return text


# --- preferences ----------------------------------------------------------------------------------


@dataclass
class PreferencesInput:
    """Validated values; None means "not sent" (defaults on create, unchanged on update)."""

    seeking_gender: str | None = None
    max_distance_km: int | None = None
    min_age: int | None = None
    max_age: int | None = None
    sexual_orientation: str | None = None


def preferences(body: dict[str, Any]) -> tuple[PreferencesInput, Errors]:
    """camelCase fields or the app's snake_case ones (`gender_seeking` in any letter case)."""
    errors: Errors = []
    data = PreferencesInput()
    body = fold_aliases(body, PREFERENCES_ALIASES, errors)
    if errors:
        return data, errors
    seeking = body.get("seekingGender", MISSING)
    if seeking is not MISSING:
        if _is_in(seeking, SEEKING_GENDERS):
            data.seeking_gender = _text(seeking)
        else:
            errors.append(("seekingGender", "Seeking gender must be one of: Any, Male, Female, Non-binary"))
    data.max_distance_km = _optional_int(
        body, "maxDistanceKm", 1, 200, "Max distance must be between 1 and 200 km", errors
    )
    data.min_age = _optional_int(body, "minAge", 18, 99, "Minimum age must be between 18 and 99", errors)
    data.max_age = _optional_int(body, "maxAge", 18, 99, "Maximum age must be between 18 and 99", errors)
    orientation = body.get("sexualOrientation", MISSING)
    if orientation is not MISSING:
        if _is_in(orientation, ORIENTATIONS):
            data.sexual_orientation = _text(orientation)
        else:
            errors.append(
                (
                    "sexualOrientation",
                    "Sexual orientation must be one of: Straight, Gay, Bisexual, Pansexual, Queer, Other",
                )
            )
    if "minAge" in body and "maxAge" in body:
        low, high = _parse_int(body["minAge"]), _parse_int(body["maxAge"])
        if low is not None and high is not None and low > high:
            errors.append(("maxAge", "Minimum age cannot be greater than maximum age"))
    return data, errors


def _optional_int(
    body: dict[str, Any], field: str, low: int, high: int, message: str, errors: Errors
) -> int | None:
    value = body.get(field, MISSING)
    if value is MISSING:
        return None
    number = _int_between(value, low, high)
    if number is None:
        errors.append((field, message))
    return number


# --- sessions and matches -------------------------------------------------------------------------


@dataclass
class SessionStartInput:
    duration_minutes: int
    duration_as_sent: Any
    latitude: float
    longitude: float
    device_fingerprint: dict[str, Any] | None


def session_start(body: dict[str, Any]) -> tuple[SessionStartInput | None, Errors]:
    errors: Errors = []
    duration = body.get("duration", MISSING)
    if _text(duration) == "":
        errors.append(("duration", "Duration is required"))
    if not _is_in(duration, DURATIONS):
        errors.append(("duration", "Duration must be 15, 30, or 60 minutes"))
    latitude = _coordinate(body, "latitude", "Latitude", 90, errors)
    longitude = _coordinate(body, "longitude", "Longitude", 180, errors)
    if errors or latitude is None or longitude is None:
        return None, errors
    fingerprint = body.get("deviceFingerprint")
    return (
        SessionStartInput(
            duration_minutes=int(_text(duration)),
            duration_as_sent=_as_sent(duration),
            latitude=latitude,
            longitude=longitude,
            device_fingerprint=fingerprint if isinstance(fingerprint, dict) and fingerprint else None,
        ),
        errors,
    )


def _coordinate(body: dict[str, Any], field: str, label: str, bound: int, errors: Errors) -> float | None:
    value = body.get(field, MISSING)
    if _text(value) == "":
        errors.append((field, f"{label} is required"))
    number = _float_between(value, -bound, bound)
    if number is None:
        errors.append((field, f"Invalid {field}: must be between -{bound} and {bound}"))
    return number


def session_extend(body: dict[str, Any]) -> tuple[tuple[int, Any] | None, Errors]:
    """(minutes, minutes as sent) to add."""
    errors: Errors = []
    value = body.get("additionalMinutes", MISSING)
    if _text(value) == "":
        errors.append(("additionalMinutes", "Additional minutes required"))
    if not _is_in(value, DURATIONS):
        errors.append(("additionalMinutes", "Can extend by 15, 30, or 60 minutes"))
    if errors:
        return None, errors
    return (int(_text(value)), _as_sent(value)), errors


def match_decline(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(matchId, None) or (None, the error): the original checked this route by hand and answered
    one `error` (falsy id: required; anything else but a UUID string: invalid)."""
    value = body.get("matchId", MISSING)
    if value is MISSING or value is None or value is False or value == "" or value == 0:
        return None, "matchId is required"
    if not isinstance(value, str) or not _UUID.match(value):
        return None, "matchId must be a valid UUID"
    return value, None
