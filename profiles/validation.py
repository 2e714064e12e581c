"""Profile body validation with express-validator's semantics (the original's validateProfile).

Every failing rule of a field is reported (express-validator runs a chain to its end), in rule
order, as `(field, message)`; array items are reported as `photos[0]`, `interests[2]`. Values are
sanitised as the original does (strings trimmed, interests stringified) before they are stored.

Photos: besides any http(s) URL (the original's rule), a URL this server issued for one of the
caller's own photos is accepted, relative or absolute, and stored as its key (the app sends back
the signed, expiring URLs it was given); so is a value already stored in the caller's profile.

The body is a `Body` of fields (vlvt/http/openapi/declare.py): the same declaration validates it and
describes it in `/openapi.json` (`ProfileInput`).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from profiles import storage
from vlvt.http.api import ApiError
from vlvt.http.openapi.declare import STR, STR_LIST, AllSent, Body, Errors, Field, Read, one_of

_MISSING = object()
_NAME_RE = re.compile(r"^[a-zA-Z0-9\s]+$")
_NAME = {"type": "string", "minLength": 2, "maxLength": 100, "pattern": _NAME_RE.pattern}
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_HOST_LABEL = re.compile(r"^[a-z0-9\u00a1-\uffff-]{1,63}$", re.IGNORECASE)
_TLD = re.compile(r"^([a-z\u00a1-\uffff]{2,}|xn[a-z0-9-]{2,})$", re.IGNORECASE)


def js_string(value: Any) -> str:
    """express-validator's toString: null/undefined -> '', numbers as JS prints them."""
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return ""
    return str(value)


def storable(value: str) -> bool:
    """PostgreSQL text cannot hold NUL; such input is a 400 here, never a database error."""
    return "\x00" not in value


def is_url(value: str) -> bool:
    """validator.js isURL with protocols http/https, protocol required, a TLD required."""
    if not value or len(value) > 2083 or not storable(value) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme.lower() not in {"http", "https"} or not value.lower().startswith(
        parts.scheme.lower() + "://"
    ):
        return False
    host = parts.hostname or ""
    if not host or (port is not None and not 0 < port <= 65535):
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or not _TLD.match(labels[-1]):
        return False
    return all(
        _HOST_LABEL.match(label) and not label.startswith("-") and not label.endswith("-") for label in labels
    )


@dataclass
class ProfileInput:
    """Validated, sanitised fields; a field absent from the body is None (keep / default)."""

    name: str | None = None
    age: int | None = None
    bio: str | None = None
    photos: list[str] | None = None
    interests: list[str] | None = None


def _unless_partial(name: str, partial: bool, check: Callable[[Any, Errors], Any]) -> Read:
    """A field required on a create (`partial` False); absent from an update, it is None (kept)."""

    def read(body: dict[str, Any], errors: Errors) -> Any:
        value = body.get(name, _MISSING)
        if value is _MISSING and partial:
            return None
        if not partial and js_string(value) == "":
            errors.append((name, f"{name.title()} is required"))
        return check(value, errors)

    return read


def _name(value: Any, errors: Errors) -> str:
    """2-100 letters, digits and spaces, trimmed."""
    name = js_string(value).strip()
    if not 2 <= len(name) <= 100:
        errors.append(("name", "Name must be between 2 and 100 characters"))
    if not _NAME_RE.match(name):
        errors.append(("name", "Name can only contain letters, numbers, and spaces"))
    return name


def _age(value: Any, errors: Errors) -> int | None:
    """An integer 18-120 (or its string)."""
    text = js_string(value)
    if isinstance(value, bool) or not _INT_RE.match(text) or not 18 <= int(text) <= 120:
        errors.append(("age", "Age must be at least 18 and no more than 120"))
        return None
    return int(text)


def _bio(body: dict[str, Any], errors: Errors) -> str | None:
    value = body.get("bio", _MISSING)
    if value is _MISSING:
        return None
    bio = js_string(value).strip()
    if len(bio) > 500:
        errors.append(("bio", "Bio must be maximum 500 characters"))
    if not storable(bio):
        errors.append(("bio", "Bio contains invalid characters"))
    return bio


ItemsRead = Callable[[list[Any], Errors], list[str]]


def _array(name: str, most: int, item: dict[str, Any], items: ItemsRead) -> Field:
    """An optional array of at most `most` items, each read by `items` (failures as `name[i]`)."""

    def read(body: dict[str, Any], errors: Errors) -> list[str] | None:
        value = body.get(name, _MISSING)
        if value is _MISSING:
            return None
        if not isinstance(value, list) or len(value) > most:
            errors.append((name, f"{name.title()} must be an array with maximum {most} items"))
            return None
        return items(value, errors)

    return Field(name, {"type": "array", "maxItems": most, "items": item}, read)


def _photo_items(owner: str, current: Collection[str]) -> ItemsRead:
    """URLs, or this server's URLs of the owner's photos (stored as their keys), or values already
    stored (`current`); no repeats."""

    def items(value: list[Any], errors: Errors) -> list[str]:
        stored: list[str] = []
        for index, item in enumerate(value):
            key = storage.key_from_value(item, owner=owner) if isinstance(item, str) else None
            if not isinstance(item, str) or key is None and not (item in current or is_url(item)):
                errors.append((f"photos[{index}]", "Each photo must be a valid URL"))
                continue
            # A key is the canonical form, never the signed, expiring URL; anything else is kept as
            # given: an opaque value, never turned into a key.
            canonical = key if key is not None else item
            if canonical in stored:
                # A repeated entry would push another photo out of the array and orphan its file.
                errors.append((f"photos[{index}]", "Duplicate photos are not allowed"))
                continue
            stored.append(canonical)
        return stored

    return items


def _interest_items(value: list[Any], errors: Errors) -> list[str]:
    cleaned = []
    for index, item in enumerate(value):
        text = js_string(item).strip()  # the trim sanitiser runs first and stringifies
        if not 1 <= len(text) <= 50:
            errors.append((f"interests[{index}]", "Each interest must be between 1 and 50 characters"))
        elif not storable(text):
            errors.append((f"interests[{index}]", "Each interest contains invalid characters"))
        cleaned.append(text)
    return cleaned


def profile_body(*, partial: bool, owner: str = "", current_photos: Collection[str] = ()) -> Body:
    """The profile body of a create (`partial=False`: name and age required) or an update, for
    `owner`, whose stored photo values (`current_photos`) are accepted as they are."""
    return Body(
        (
            Field("name", _NAME, _unless_partial("name", partial, _name)),
            Field(
                "age",
                {"type": "integer", "minimum": 18, "maximum": 120},
                _unless_partial("age", partial, _age),
            ),
            Field("bio", {"type": "string", "maxLength": 500}, _bio),
            _array("photos", 6, {"type": "string", "format": "uri"}, _photo_items(owner, current_photos)),
            _array("interests", 10, {"type": "string", "minLength": 1, "maxLength": 50}, _interest_items),
        )
    )


PROFILE_INPUT = profile_body(partial=True)  # as /openapi.json describes it


def validate_profile(
    body: dict[str, Any], *, partial: bool, owner: str, current_photos: Collection[str] = ()
) -> ProfileInput:
    """The sanitised fields, or `ValidationFailed` with every failure."""
    values = profile_body(partial=partial, owner=owner, current_photos=current_photos).parse(body)
    return ProfileInput(**values)


# --- the other bodies ----------------------------------------------------------------------------


def _photo_list(body: dict[str, Any], errors: Errors) -> list[Any]:
    """A required array, taken as sent (its items are the service's to judge)."""
    value = body.get("photos")
    if not isinstance(value, list):
        raise ApiError(400, "photos must be an array")
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class Numbers:
    """Before the fields: each of `names` a JSON number, else the one `message`."""

    names: tuple[str, ...]
    message: str

    def apply(self, body: dict[str, Any], errors: Errors) -> dict[str, Any]:
        if any(_number(body.get(name)) is None for name in self.names):
            raise ApiError(400, self.message)
        return body

    def properties(self, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {}


def _degrees(name: str, bound: int) -> Field:
    """A latitude (bound 90) or longitude (180) in degrees, a JSON number."""

    def read(body: dict[str, Any], errors: Errors) -> float:
        value = _number(body.get(name))
        if value is None or not -bound <= value <= bound:
            raise ApiError(400, f"Invalid {name}: must be between -{bound} and {bound}")
        return value

    return Field(name, {"type": "number", "minimum": -bound, "maximum": bound}, read, required=True)


def _target(body: dict[str, Any], errors: Errors) -> str:
    """A user id to look up: anything but a storable string is no user (404)."""
    value = body.get("targetUserId")
    if not isinstance(value, str) or not storable(value):
        raise ApiError(404, "Target user not found")
    return value


def _miles(body: dict[str, Any], errors: Errors) -> float | None:
    """An optional distance in miles: absent, empty, false or 0 is no limit."""
    value = body.get("maxDistance")
    if value is None or value == "" or value is False or value == 0:
        return None
    try:
        miles = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        miles = None
    if miles is None or math.isnan(miles):
        errors.append(("maxDistance", "maxDistance must be a number"))
    return miles


def _strings(name: str) -> Field:
    """An optional array of strings, applied only when a non-empty array (as the original)."""

    def read(body: dict[str, Any], errors: Errors) -> list[str] | None:
        value = body.get(name)
        if not isinstance(value, list) or not value:
            return None
        if not all(isinstance(v, str) and storable(v) for v in value):
            errors.append((name, f"{name} must be an array of strings"))
            return None
        return value

    return Field(name, STR_LIST, read)


# --- the discovery query ------------------------------------------------------------------------

_INT_PREFIX = re.compile(r"^\s*([+-]?\d+)")
_FLOAT_PREFIX = re.compile(r"^\s*([+-]?(?:Infinity|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


def _query_number(name: str, integer: bool, description: str) -> Field:
    """parseInt (`integer`) or parseFloat of a query value (an empty value is absent); garbage is a
    400 (docs/contract.md, D1)."""

    def read(query: dict[str, Any], errors: Errors) -> float | None:
        raw = query.get(name)
        if not raw:
            return None
        match = (_INT_PREFIX if integer else _FLOAT_PREFIX).match(raw)
        if match is None:
            errors.append((name, f"{name} must be a number"))
            return None
        return int(match.group(1)) if integer else float(match.group(1))

    return Field(name, {"type": "integer" if integer else "number"}, read, description=description)


def _csv(name: str, description: str) -> Field:
    def read(query: dict[str, Any], errors: Errors) -> list[str] | None:
        raw = query.get(name)
        if raw and not storable(raw):
            errors.append((name, f"{name} contains invalid characters"))
            return None
        return raw.split(",") if raw else None

    return Field(name, STR, read, description=description)


DISCOVERY = Body(
    (
        _query_number("minAge", True, "minimum age"),
        _query_number("maxAge", True, "maximum age"),
        _query_number("maxDistance", False, "radius in km; expanded to 200 km below 5 results"),
        _csv("interests", "comma-separated; any overlap"),
        _csv("exclude", "comma-separated user ids"),
        Field(
            "verifiedOnly",
            {"enum": ["true", "false"]},
            lambda query, errors: query.get("verifiedOnly") == "true",
            description="only verified profiles",
        ),
    )
)


# --- the other bodies, answering one error --------------------------------------------------------

SWIPE_ACTIONS = ("like", "pass")

PHOTOS_ORDER = Body((Field("photos", STR_LIST, _photo_list, required=True),))
LOCATION = Body(
    (_degrees("latitude", 90), _degrees("longitude", 180)),
    prepare=Numbers(
        ("latitude", "longitude"), "Invalid location data: latitude and longitude must be numbers"
    ),
)
SWIPE = Body(
    (
        one_of(
            "action", SWIPE_ACTIONS, "targetUserId and action are required", 'action must be "like" or "pass"'
        ),
        Field("targetUserId", STR, _target, required=True),
    ),
    prepare=AllSent(("targetUserId", "action"), "targetUserId and action are required"),
)
SEARCH = Body(
    (
        Field("maxDistance", {"type": "number"}, _miles),
        _strings("genders"),
        _strings("sexualPreferences"),
        _strings("intents"),
    )
)
