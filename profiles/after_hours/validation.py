"""After Hours body validation with express-validator's semantics (after-hours-validation.ts).

Every failing rule of a chain is reported (no `.bail()` in the original), in chain order, as
`(field, message)`: a missing `duration` gets both "Duration is required" and "Duration must be
15, 30, or 60 minutes". `optional()` skips only an absent key; a null is validated (and fails).
Values are compared as JavaScript prints them, so "30" passes `isIn([15, 30, 60])`.

Each body is a `Body` of fields (vlvt/http/openapi/declare.py): the same declaration validates the
request and describes it in `/openapi.json`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from profiles.validation import js_string
from vlvt.http.api import ApiError
from vlvt.http.openapi.declare import STR, UUID, Body, Errors, Field, obj

MISSING: Any = object()

SEEKING_GENDERS = ("Any", "Male", "Female", "Non-binary")
ORIENTATIONS = ("Straight", "Gay", "Bisexual", "Pansexual", "Queer", "Other")
DURATIONS = ("15", "30", "60")

_INT = re.compile(r"^[-+]?[0-9]+$")  # validator.js isInt (leading zeros allowed)
_FLOAT = re.compile(r"^(?:[-+])?(?:[0-9]+)?(?:\.[0-9]*)?(?:[eE][\+\-]?(?:[0-9]+))?$")  # isFloat
_PARSE_INT = re.compile(r"^\s*([-+]?[0-9]+)")
_UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$", re.IGNORECASE)


def _text(value: Any) -> str:
    return "" if value is MISSING else js_string(value)


def _is_in(value: Any, allowed: tuple[str, ...]) -> bool:
    return not isinstance(value, list | dict) and _text(value) in allowed


def _int_in(value: Any, low: int, high: int) -> int | None:
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


@dataclass(frozen=True)
class Aliases:
    """The body with each alias's value under its original name (the body itself is unchanged);
    both names with different values is a failure. Described as the original field's schema, or
    as `described` says."""

    pairs: tuple[tuple[str, str], ...]
    described: dict[str, dict[str, Any]] = field(default_factory=dict)

    def properties(self, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {alias: self.described.get(alias, fields[original]) for alias, original in self.pairs}

    def apply(self, body: dict[str, Any], errors: Errors) -> dict[str, Any]:
        folded = dict(body)
        for alias, original in self.pairs:
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


# --- fields ---------------------------------------------------------------------------------------

MINUTES: dict[str, Any] = {"type": ["integer", "string"], "enum": [*(int(d) for d in DURATIONS), *DURATIONS]}


def _description(body: dict[str, Any], errors: Errors) -> Any:
    """The trimmed description, or MISSING when absent."""
    value = body.get("description", MISSING)
    if value is MISSING:
        return MISSING
    text = _text(value).strip()
    if isinstance(value, list | dict) or _description_length(text) > DESCRIPTION_MAX:
        errors.append(("description", f"Description must be maximum {DESCRIPTION_MAX} characters"))
    return text


def _among(name: str, allowed: tuple[str, ...], message: str, *, nullable: bool = False) -> Field:
    """Optional; when sent, one of `allowed` (compared as JavaScript prints the value)."""

    def read(body: dict[str, Any], errors: Errors) -> str | None:
        value = body.get(name, MISSING)
        if value is MISSING:
            return None
        if _is_in(value, allowed):
            return _text(value)
        errors.append((name, message))
        return None

    return Field(name, {"enum": [*allowed, None] if nullable else list(allowed)}, read)


def _int_between(name: str, low: int, high: int, message: str) -> Field:
    """Optional; when sent, an integer in low..high."""

    def read(body: dict[str, Any], errors: Errors) -> int | None:
        value = body.get(name, MISSING)
        if value is MISSING:
            return None
        number = _int_in(value, low, high)
        if number is None:
            errors.append((name, message))
        return number

    return Field(name, {"type": "integer", "minimum": low, "maximum": high}, read)


def _minutes(name: str, missing: str, invalid: str) -> Field:
    """Required 15, 30 or 60: (the minutes, the value as sent), or None."""

    def read(body: dict[str, Any], errors: Errors) -> tuple[int, Any] | None:
        value = body.get(name, MISSING)
        if _text(value) == "":
            errors.append((name, missing))
        if not _is_in(value, DURATIONS):
            errors.append((name, invalid))
            return None
        return int(_text(value)), _as_sent(value)

    return Field(name, MINUTES, read, required=True)


def _coordinate(name: str, label: str, bound: int) -> Field:
    """A required latitude (bound 90) or longitude (180), a number or a numeric string."""

    def read(body: dict[str, Any], errors: Errors) -> float | None:
        value = body.get(name, MISSING)
        if _text(value) == "":
            errors.append((name, f"{label} is required"))
        number = _float_between(value, -bound, bound)
        if number is None:
            errors.append((name, f"Invalid {name}: must be between -{bound} and {bound}"))
        return number

    return Field(
        name, {"type": ["number", "string"], "minimum": -bound, "maximum": bound}, read, required=True
    )


def _fingerprint(body: dict[str, Any], errors: Errors) -> dict[str, Any] | None:
    """The device fingerprint when a non-empty object, else None (not checked further)."""
    value = body.get("deviceFingerprint")
    return value if isinstance(value, dict) and value else None


def _match_id(body: dict[str, Any], errors: Errors) -> str:
    """The original checked this by hand and answered one `error` (falsy id: required; anything
    else but a UUID string: invalid)."""
    value = body.get("matchId", MISSING)
    if value is MISSING or value is None or value is False or value == "" or value == 0:
        raise ApiError(400, "matchId is required")
    if not isinstance(value, str) or not _UUID.match(value):
        raise ApiError(400, "matchId must be a valid UUID")
    return value


def _min_not_above_max(body: dict[str, Any], values: dict[str, Any], errors: Errors) -> None:
    if "minAge" in body and "maxAge" in body:
        low, high = _parse_int(body["minAge"]), _parse_int(body["maxAge"])
        if low is not None and high is not None and low > high:
            errors.append(("maxAge", "Minimum age cannot be greater than maximum age"))


# --- the bodies -----------------------------------------------------------------------------------

DESCRIPTION_MAX = 500

DESCRIPTION = Body(
    (Field("description", {"type": "string", "maxLength": DESCRIPTION_MAX}, _description),),
    prepare=Aliases(PROFILE_ALIASES),
    description="`bio` (the app's name) may replace `description`; both must then be equal",
)
PREFERENCES = Body(
    (
        _among(
            "seekingGender", SEEKING_GENDERS, "Seeking gender must be one of: Any, Male, Female, Non-binary"
        ),
        _int_between("maxDistanceKm", 1, 200, "Max distance must be between 1 and 200 km"),
        _int_between("minAge", 18, 99, "Minimum age must be between 18 and 99"),
        _int_between("maxAge", 18, 99, "Maximum age must be between 18 and 99"),
        _among(
            "sexualOrientation",
            ORIENTATIONS,
            "Sexual orientation must be one of: Straight, Gay, Bisexual, Pansexual, Queer, Other",
            nullable=True,
        ),
    ),
    rules=(_min_not_above_max,),
    prepare=Aliases(
        PREFERENCES_ALIASES,
        {"gender_seeking": {"enum": [*SEEKING_GENDERS, *(g.lower() for g in SEEKING_GENDERS)]}},
    ),
    description="camelCase or the app's snake_case names (gender_seeking also in lower case); "
    "a field sent under both names must have one value",
)
SESSION_START = Body(
    (
        _minutes("duration", "Duration is required", "Duration must be 15, 30, or 60 minutes"),
        _coordinate("latitude", "Latitude", 90),
        _coordinate("longitude", "Longitude", 180),
        Field("deviceFingerprint", obj(deviceId=STR, deviceModel=STR, platform=STR), _fingerprint),
    )
)
SESSION_EXTEND = Body(
    (_minutes("additionalMinutes", "Additional minutes required", "Can extend by 15, 30, or 60 minutes"),)
)
MATCH_DECLINE = Body((Field("matchId", UUID, _match_id, required=True),))

# As the answers carry them (/openapi.json): the fields, then the app's names for them.
PREFERENCE_FIELDS = PREFERENCES.properties()
PREFERENCE_ALIASES = {alias: PREFERENCE_FIELDS[original] for alias, original in PREFERENCES_ALIASES}


@dataclass
class PreferencesInput:
    """Validated values; None means "not sent" (defaults on create, unchanged on update)."""

    seeking_gender: str | None = None
    max_distance_km: int | None = None
    min_age: int | None = None
    max_age: int | None = None
    sexual_orientation: str | None = None


def preferences(body: dict[str, Any]) -> PreferencesInput:
    """camelCase fields or the app's snake_case ones (`gender_seeking` in any letter case)."""
    values = PREFERENCES.parse(body)
    return PreferencesInput(
        seeking_gender=values["seekingGender"],
        max_distance_km=values["maxDistanceKm"],
        min_age=values["minAge"],
        max_age=values["maxAge"],
        sexual_orientation=values["sexualOrientation"],
    )
