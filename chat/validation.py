"""Request parsing for the chat routes: the original's express-validator chains and query rules.

The bodies are declared as `Body`s of fields (vlvt/http/openapi/declare.py), which both validate
and describe them in `/openapi.json`. Failures collect `(field, message)` pairs, raised together as
`ValidationFailed` (400 `{success:false, errors:[{field,message}]}`); one field can fail twice
(required and length).
Anything of the wrong type is a 400 here rather than a database error later (docs/contract.md, D1).
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from chat.errors import ChatError
from vlvt.http.openapi.declare import (
    STR,
    STR_LIST,
    TS,
    AllSent,
    Body,
    Errors,
    Field,
    differ,
    one_of,
    optional_string,
    present,
    sent,
)


def has_nul(value: Any) -> bool:
    """PostgreSQL text cannot hold NUL; a value carrying one is bad input, never a 500."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def required_id(name: str) -> Field:
    """A required string, trimmed (`body(field).trim().notEmpty()`)."""

    def read(body: dict[str, Any], errors: Errors) -> str:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors.append((name, f"{name} must be a string"))
            return ""
        value = (value or "").strip()
        if not value:
            errors.append((name, f"{name} is required"))
        return value

    return Field(name, STR, read, required=True)


def text(name: str, max_length: int) -> Field:
    """An optional string, trimmed, at most `max_length` characters."""

    def read(body: dict[str, Any], errors: Errors) -> str | None:
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            errors.append((name, f"{name} must be a string"))
            return None
        value = value.strip()
        if len(value) > max_length:
            errors.append((name, f"{name} must be at most {max_length} characters"))
        return value

    return Field(name, {"type": "string", "maxLength": max_length}, read)


def _message_text(body: dict[str, Any], errors: Errors) -> str:
    """A message's text: 1 to 500 characters once trimmed (both failures reported when empty)."""
    raw = body.get("text")
    if raw is not None and not isinstance(raw, str):
        errors.append(("text", "Message text must be a string"))
        return ""
    text = (raw or "").strip()
    if not text:
        errors.append(("text", "Message text is required"))
    if not 1 <= len(text) <= MESSAGE_MAX:
        errors.append(("text", f"Message text must be between 1 and {MESSAGE_MAX} characters"))
    return text


def choice(name: str, allowed: tuple[str, ...], aliases: dict[str, str], description: str) -> Field:
    """A required id that must be one of `allowed`; an alias stands for the value it maps to."""
    as_id = required_id(name).read

    def read(body: dict[str, Any], errors: Errors) -> str:
        value = as_id(body, errors)
        value = aliases.get(value, value)
        if value and value not in allowed:
            errors.append((name, f"{name} must be one of: {', '.join(allowed)}"))
        return value

    return Field(name, {"description": description, "enum": [*allowed, *aliases]}, read, required=True)


MESSAGE_MAX = 500

MESSAGE = Body(
    (
        Field(
            "text", {"type": "string", "minLength": 1, "maxLength": MESSAGE_MAX}, _message_text, required=True
        ),
        required_id("matchId"),
        required_id("senderId"),
        sent(
            "tempId",
            {"type": ["string", "integer"], "description": "client id; a resend returns the stored message"},
        ),
    )
)
MATCH = Body(
    (required_id("userId1"), required_id("userId2")),
    rules=(differ("userId1", "userId2", "Users cannot match with themselves"),),
)
BLOCK = Body(
    (required_id("userId"), required_id("blockedUserId"), text("reason", 500)),
    rules=(differ("userId", "blockedUserId", "Cannot block yourself"),),
)

IDEMPOTENCY_KEY_MAX = 255


def idempotency_key(header: str | None, temp_id: Any) -> Any:
    """The send's tempId: the body's, or the `Idempotency-Key` header's (400 when the two differ,
    or the header is empty or longer than 255 characters)."""
    if header is None:
        return temp_id
    if not header.strip() or len(header) > IDEMPOTENCY_KEY_MAX:
        raise ChatError(400, "Invalid Idempotency-Key header")
    if temp_id is not None and str(temp_id) != header:
        raise ChatError(400, "Idempotency-Key and tempId differ")
    return temp_id if temp_id is not None else header


REPORT_REASONS = (
    "inappropriate_content",
    "harassment",
    "spam",
    "fake_profile",
    "underage",
    "violence_threats",
    "hate_speech",
    "scam",
    "other",
)
# The mobile app's profile screen offers these two; they are stored as the reasons they stand for,
# so the moderation queue keeps one spelling per reason.
APP_REPORT_REASONS = {"inappropriate": "inappropriate_content", "fake": "fake_profile"}


REPORT = Body(
    (
        required_id("reporterId"),
        required_id("reportedUserId"),
        choice(
            "reason",
            REPORT_REASONS,
            APP_REPORT_REASONS,
            "`inappropriate` and `fake` (the mobile app's) are stored as `inappropriate_content` and "
            "`fake_profile`",
        ),
        text("details", 1000),
    ),
    rules=(differ("reporterId", "reportedUserId", "Cannot report yourself"),),
)


# --- query strings -------------------------------------------------------------------------------

_JS_INT = re.compile(r"^\s*([+-]?\d+)")


def js_parse_int(raw: str | None) -> int | None:
    """JavaScript `parseInt(raw, 10)`: leading digits, else None (NaN)."""
    match = _JS_INT.match(raw or "")
    return int(match.group(1)) if match else None


def history_limit(raw: str | None) -> int:
    """Missing, NaN or 0 means 50; then clamped to 1..100 (negatives become 1)."""
    value = js_parse_int(raw) or 50
    return max(1, min(value, 100))


def parse_timestamp(raw: str) -> datetime | None:
    """What `Date.parse` accepts in practice: ISO 8601 (date-only and offset-less mean UTC, as on
    the servers) and RFC 2822. None when unparseable."""
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    # In UTC: PostgreSQL refuses offsets beyond 15:59 that Python (and Date.parse) accept, and an
    # offset that moves the instant outside Python's years 1-9999 is no usable cursor.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


def history_cursor(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    value = parse_timestamp(raw)
    if value is None:
        raise ChatError(400, f"Invalid {name} timestamp. Use ISO 8601 format.")
    return value


def _limit(query: dict[str, Any], errors: Errors) -> int:
    return history_limit(query.get("limit"))


def cursor(name: str, description: str) -> Field:
    """An optional instant (400 when unparseable)."""
    return Field(
        name, TS, lambda query, errors: history_cursor(query.get(name), name), description=description
    )


HISTORY = Body(
    (
        Field("limit", STR, _limit, description="parseInt; missing, NaN or 0 means 50; clamped to 1..100"),
        cursor("before", "only messages older than this"),
        cursor("after", "only messages newer than this"),
    )
)


# --- date proposals ------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")


def proposal_date(value: Any) -> date:
    match = _DATE.match(value) if isinstance(value, str) else None
    try:
        return date.fromisoformat(match.group(1)) if match else _bad_date()
    except ValueError:
        return _bad_date()


def _bad_date() -> date:
    raise ChatError(400, "Invalid date format. Use YYYY-MM-DD")


def proposal_time(value: Any) -> time:
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ChatError(400, "Invalid time format. Use HH:MM or HH:MM:SS")
    hour, minute, second, fraction = match.groups()
    try:
        return time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0")))
    except ValueError:
        raise ChatError(400, "Invalid time format. Use HH:MM or HH:MM:SS") from None


def _match_ref(body: dict[str, Any], errors: Errors) -> str:
    """A match id to look up: anything but a string is no match (404)."""
    value = body.get("matchId")
    if not isinstance(value, str):
        raise ChatError(404, "Match not found")
    return value


def coordinate(body: dict[str, Any], field: str, bound: int) -> Decimal | None:
    """DECIMAL(10|11, 8) with the value range of a latitude (90) or longitude (180)."""
    value = body.get(field)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidOperation
        number = Decimal(str(value))
        if not number.is_finite() or abs(number) > bound:
            raise InvalidOperation
    except InvalidOperation:
        raise ChatError(400, f"{field} must be a number between -{bound} and {bound}") from None
    return number.quantize(Decimal("0.00000001"))


# --- the bodies answering one error --------------------------------------------------------------

_NUMBER_OR_STRING = {"type": ["number", "string"]}
DEVICE_TYPES = ("ios", "android", "web")
RESPONSES = ("accepted", "declined")

MARK_READ = Body((present("userId", "userId is required", string=False), sent("messageIds", STR_LIST, list)))
FCM_REGISTER = Body(
    (
        one_of(
            "deviceType",
            DEVICE_TYPES,
            "token and deviceType are required",
            "deviceType must be ios, android, or web",
        ),
        present("token", "token and deviceType are required"),
        optional_string("deviceId", 255),
    ),
    prepare=AllSent(("token", "deviceType"), "token and deviceType are required"),
)
FCM_UNREGISTER = Body((present("token", "token is required"),))
DATE_PROPOSAL = Body(
    (
        Field("matchId", STR, _match_ref, required=True),
        optional_string("placeName", 255, required=True),
        optional_string("placeId", 255),
        optional_string("placeAddress", 500),
        Field("placeLat", _NUMBER_OR_STRING, lambda body, errors: coordinate(body, "placeLat", 90)),
        Field("placeLng", _NUMBER_OR_STRING, lambda body, errors: coordinate(body, "placeLng", 180)),
        Field(
            "proposedDate",
            {"type": "string", "format": "date"},
            lambda body, errors: proposal_date(body.get("proposedDate")),
            required=True,
        ),
        Field(
            "proposedTime",
            {"type": "string", "description": "HH:MM or HH:MM:SS"},
            lambda body, errors: proposal_time(body.get("proposedTime")),
            required=True,
        ),
        optional_string("note"),
    ),
    prepare=AllSent(
        ("matchId", "placeName", "proposedDate", "proposedTime"),
        "matchId, placeName, proposedDate, and proposedTime are required",
    ),
)
DATE_RESPONSE = Body(
    (
        one_of(
            "response",
            RESPONSES,
            'response must be "accepted" or "declined"',
            'response must be "accepted" or "declined"',
        ),
        sent("counterDate", {"type": "string", "format": "date"}),
        sent("counterTime", STR),
    )
)
