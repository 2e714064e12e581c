"""Profile body validation with express-validator's semantics (the original's validateProfile).

Every failing rule of a field is reported (express-validator runs a chain to its end), in rule
order, as `(field, message)`; array items are reported as `photos[0]`, `interests[2]`. Values are
sanitised as the original does (strings trimmed, interests stringified) before they are stored.

Photos: besides any http(s) URL (the original's rule), a URL this server issued for one of the
caller's own photos is accepted, relative or absolute, and stored as its key (the app sends back
the signed, expiring URLs it was given); so is a value already stored in the caller's profile.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from profiles import storage

_MISSING = object()
_NAME_RE = re.compile(r"^[a-zA-Z0-9\s]+$")
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


def validate_profile(
    body: dict[str, Any], *, partial: bool, owner: str, current_photos: Collection[str] = ()
) -> tuple[ProfileInput, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    data = ProfileInput()
    data.name = _name(body.get("name", _MISSING), partial, errors)
    data.age = _age(body.get("age", _MISSING), partial, errors)
    bio = body.get("bio", _MISSING)
    if bio is not _MISSING:
        data.bio = js_string(bio).strip()
        if len(data.bio) > 500:
            errors.append(("bio", "Bio must be maximum 500 characters"))
        if not storable(data.bio):
            errors.append(("bio", "Bio contains invalid characters"))
    data.photos = _photos(body.get("photos", _MISSING), errors, owner=owner, current=current_photos)
    data.interests = _interests(body.get("interests", _MISSING), errors)
    return data, errors


def _name(value: Any, partial: bool, errors: list[tuple[str, str]]) -> str | None:
    if value is _MISSING and partial:
        return None
    if not partial and js_string(value) == "":
        errors.append(("name", "Name is required"))
    name = js_string(value).strip()
    if not 2 <= len(name) <= 100:
        errors.append(("name", "Name must be between 2 and 100 characters"))
    if not _NAME_RE.match(name):
        errors.append(("name", "Name can only contain letters, numbers, and spaces"))
    return name


def _age(value: Any, partial: bool, errors: list[tuple[str, str]]) -> int | None:
    if value is _MISSING and partial:
        return None
    if not partial and js_string(value) == "":
        errors.append(("age", "Age is required"))
    text = js_string(value)
    if isinstance(value, bool) or not _INT_RE.match(text) or not 18 <= int(text) <= 120:
        errors.append(("age", "Age must be at least 18 and no more than 120"))
        return None
    return int(text)


def _photos(
    value: Any, errors: list[tuple[str, str]], *, owner: str, current: Collection[str]
) -> list[str] | None:
    if value is _MISSING:
        return None
    if not isinstance(value, list) or len(value) > 6:
        errors.append(("photos", "Photos must be an array with maximum 6 items"))
        return None
    stored = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            errors.append((f"photos[{index}]", "Each photo must be a valid URL"))
            continue
        key = storage.key_from_value(item, owner=owner)
        if key is None and not (item in current or is_url(item)):
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


def _interests(value: Any, errors: list[tuple[str, str]]) -> list[str] | None:
    if value is _MISSING:
        return None
    if not isinstance(value, list) or len(value) > 10:
        errors.append(("interests", "Interests must be an array with maximum 10 items"))
        return None
    cleaned = []
    for index, item in enumerate(value):
        text = js_string(item).strip()  # the trim sanitiser runs first and stringifies
        if not 1 <= len(text) <= 50:
            errors.append((f"interests[{index}]", "Each interest must be between 1 and 50 characters"))
        elif not storable(text):
            errors.append((f"interests[{index}]", "Each interest contains invalid characters"))
        cleaned.append(text)
    return cleaned
