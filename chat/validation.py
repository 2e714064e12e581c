"""Request parsing for the chat routes: the original's express-validator chains and query rules.

Failures collect `(field, message)` pairs, raised together as `ValidationFailed` (400
`{success:false, errors:[{field,message}]}`); one field can fail twice (required and length).
Anything of the wrong type is a 400 here rather than a database error later (docs/contract.md, D1).
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from chat.errors import ChatError
from vlvt.http.api import ValidationFailed


def has_nul(value: Any) -> bool:
    """PostgreSQL text cannot hold NUL; a value carrying one is bad input, never a 500."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


class Checks:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.errors: list[tuple[str, str]] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append((field, message))

    def required_id(self, field: str) -> str:
        """A required string, trimmed (`body(field).trim().notEmpty()`)."""
        value = self.body.get(field)
        if value is not None and not isinstance(value, str):
            self.fail(field, f"{field} must be a string")
            return ""
        value = (value or "").strip()
        if not value:
            self.fail(field, f"{field} is required")
        return value

    def optional_text(self, field: str, max_length: int) -> str | None:
        value = self.body.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(field, f"{field} must be a string")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(field, f"{field} must be at most {max_length} characters")
        return value

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def message_body(body: dict[str, Any]) -> tuple[str, str, str, Any]:
    """POST /messages: (text, matchId, senderId, tempId)."""
    checks = Checks(body)
    raw = body.get("text")
    text = ""
    if raw is not None and not isinstance(raw, str):
        checks.fail("text", "Message text must be a string")
    else:
        text = (raw or "").strip()
        if not text:
            checks.fail("text", "Message text is required")
        if not 1 <= len(text) <= 500:
            checks.fail("text", "Message text must be between 1 and 500 characters")
    match_id = checks.required_id("matchId")
    sender_id = checks.required_id("senderId")
    checks.done()
    return text, match_id, sender_id, body.get("tempId")


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


def match_body(body: dict[str, Any]) -> tuple[str, str]:
    checks = Checks(body)
    user_id_1 = checks.required_id("userId1")
    user_id_2 = checks.required_id("userId2")
    if user_id_1 and user_id_1 == user_id_2:
        checks.fail("userId2", "Users cannot match with themselves")
    checks.done()
    return user_id_1, user_id_2


def block_body(body: dict[str, Any]) -> tuple[str, str, str | None]:
    checks = Checks(body)
    user_id = checks.required_id("userId")
    blocked_user_id = checks.required_id("blockedUserId")
    reason = checks.optional_text("reason", 500)
    if blocked_user_id and blocked_user_id == user_id:
        checks.fail("blockedUserId", "Cannot block yourself")
    checks.done()
    return user_id, blocked_user_id, reason


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


def report_body(body: dict[str, Any]) -> tuple[str, str, str, str | None]:
    checks = Checks(body)
    reporter_id = checks.required_id("reporterId")
    reported_user_id = checks.required_id("reportedUserId")
    reason = checks.required_id("reason")
    reason = APP_REPORT_REASONS.get(reason, reason)
    if reason and reason not in REPORT_REASONS:
        checks.fail("reason", f"reason must be one of: {', '.join(REPORT_REASONS)}")
    details = checks.optional_text("details", 1000)
    if reported_user_id and reported_user_id == reporter_id:
        checks.fail("reportedUserId", "Cannot report yourself")
    checks.done()
    return reporter_id, reported_user_id, reason, details


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


def optional_string(body: dict[str, Any], field: str, max_length: int | None = None) -> str | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ChatError(400, f"{field} must be a string")
    if max_length is not None and len(value) > max_length:
        raise ChatError(400, f"{field} must be at most {max_length} characters")
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
