"""Log lines on stdout: one JSON object a line (LOG_FORMAT=json) or readable text (docs/contract.md, D6).

The request middleware puts the correlation id in `correlation_id` (a contextvar, so it follows the
request into views, services and Django's own error log, on threads and on the event loop alike);
`ContextFilter`, attached to the stdout handler, copies it onto every record.

Secrets never reach the output: an extra field whose name says token/secret/password/... is
replaced, and bearer tokens or JWTs found anywhere in a line (message, traceback, field values)
are masked. Request bodies and query strings are not logged at all.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

correlation_id: ContextVar[str | None] = ContextVar("vlvt_correlation_id", default=None)

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# Substrings of field names whose values are never logged (the original's winston redaction list,
# without `code`, which hid error codes).
_SENSITIVE_KEYS = (
    "token",
    "password",
    "passwd",
    "secret",
    "authorization",
    "apikey",
    "api_key",
    "jwt",
    "cookie",
    "signature",
    "credential",
    "private",
)
_REDACTED = "[REDACTED]"
_SECRET_TEXT = re.compile(
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]+"  # an Authorization header value
    r"|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"  # a JWT anywhere
)


def scrub(text: str) -> str:
    """Mask bearer tokens and JWTs in free text."""
    if "eyJ" not in text and "earer" not in text and "EARER" not in text:
        return text  # the common case costs two substring checks, no regex
    return _SECRET_TEXT.sub(_REDACTED, text)


@lru_cache(maxsize=4096)
def _sensitive(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in _SENSITIVE_KEYS)


_PLAIN = (int, float, bool, type(None))


def clean(value: Any, depth: int = 0) -> Any:
    kind = type(value)
    if kind is str:
        return scrub(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, str):
        return scrub(value)
    if depth > 4:
        return _REDACTED if isinstance(value, dict | list | tuple) else value
    if isinstance(value, dict):
        return {str(k): (_REDACTED if _sensitive(str(k)) else clean(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, depth + 1) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    if hasattr(value, "method") and hasattr(value, "path_info"):
        # Django passes the request object to its own log calls: method and path only (a query
        # string may carry a token).
        return f"{value.method} {value.path}"
    return scrub(str(value))


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra={...}` fields, redacted."""
    return {
        key: (_REDACTED if _sensitive(key) else clean(value))
        for key, value in record.__dict__.items()
        if key not in _RESERVED
    }


class ContextFilter(logging.Filter):
    """Adds `correlationId` of the request being served (if any) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "correlationId" not in record.__dict__:
            value = correlation_id.get()
            if value is not None:
                record.correlationId = value
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        line.update(extra_fields(record))
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = scrub(record.exc_text)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger> <message> key=value ...` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        head = f"{self.formatTime(record)} {record.levelname} {record.name} {scrub(record.getMessage())}"
        fields = extra_fields(record)
        if fields:
            head += " " + " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in fields.items())
        if record.exc_info:
            head += "\n" + scrub(self.formatException(record.exc_info))
        return head
