"""JSON from clients (HTTP bodies and socket payloads), refused at the door when no route could use
it: what would otherwise fail deep inside as a 500 or a dropped socket.

On top of strict JSON (no NaN or Infinity, as JSON.parse), a document is refused when it holds

- a lone UTF-16 surrogate (`"\\ud800"`): valid JSON escapes, but not text; PostgreSQL cannot
  store it and UTF-8 cannot encode it;
- containers nested deeper than MAX_DEPTH: no payload of this API nests beyond 3, and recursive
  code (validation, serialisation) would otherwise hit the interpreter's recursion limit;
- a number outside the double range (a 400-digit integer, `1e400`): JSON.parse makes it Infinity,
  and Python's float() of such an int raises OverflowError.

The checks cost nothing for ordinary documents: the walk runs only when the text has an escape
`\\u` or more than MAX_DEPTH brackets.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
_DOUBLE_DIGITS = 308  # an integer literal with more digits may be beyond the double range


class JsonInputError(ValueError):
    """`problem` is one of: malformed, unicode, depth, number."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _constant(name: str) -> Any:
    raise JsonInputError("malformed")  # NaN, Infinity, -Infinity: not JSON


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonInputError("number")
    return value


def _int(text: str) -> int:
    value = int(text)
    if len(text) > _DOUBLE_DIGITS:
        try:
            float(value)
        except OverflowError:
            raise JsonInputError("number") from None
    return value


def loads(text: str | bytes) -> Any:
    """The document, or JsonInputError saying what is wrong with it."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except JsonInputError:
        raise
    except RecursionError:
        raise JsonInputError("depth") from None
    except (ValueError, UnicodeDecodeError):
        raise JsonInputError("malformed") from None
    if isinstance(value, dict | list):
        if isinstance(text, bytes):
            escapes, brackets = b"\\u" in text, text.count(b"[") + text.count(b"{")
        else:
            escapes, brackets = "\\u" in text, text.count("[") + text.count("{")
        if escapes or brackets > MAX_DEPTH:
            _check(value, strings=escapes)
    elif isinstance(value, str) and not _is_text(value):
        raise JsonInputError("unicode")
    return value


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # only lone surrogates fail
        return False
    return True


def _check(root: dict[str, Any] | list[Any], *, strings: bool) -> None:
    """Depth and (when `strings`) lone surrogates, without recursion."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise JsonInputError("depth")
        if isinstance(node, dict):
            items: Any = node.values()
            if strings and not all(_is_text(key) for key in node):
                raise JsonInputError("unicode")
        else:
            items = node
        for item in items:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
            elif strings and isinstance(item, str) and not _is_text(item):
                raise JsonInputError("unicode")
