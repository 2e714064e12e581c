"""Reading JSON as the Flutter app's `fromJson` code does: `json['x'] as T` or `as T?`.

`read(obj, id="String", age="int?", at="DateTime")` returns the values the app would get and fails
where the app's cast would throw. JSON numbers keep Dart's distinction: `30` is an `int`, `30.0` a
`double` (Python's json module decodes them the same way). `DateTime` is a string that
`DateTime.parse` accepts; `num` is int or double; a `T?` field may be absent or null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

_CHECKS = {
    "String": lambda v: isinstance(v, str),
    "int": lambda v: type(v) is int,
    "double": lambda v: type(v) is float,
    "num": lambda v: type(v) in (int, float),
    "bool": lambda v: type(v) is bool,
    "List": lambda v: isinstance(v, list),
    "Map": lambda v: isinstance(v, dict),
    "DateTime": lambda v: isinstance(v, str) and _parses(v),
}


def _parses(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def cast(value: Any, dart_type: str, where: str = "value") -> Any:
    """`value as dart_type` (AssertionError where Dart would throw a TypeError)."""
    nullable = dart_type.endswith("?")
    base = dart_type.rstrip("?")
    if value is None:
        assert nullable, f"{where}: null where the app casts `as {dart_type}`"
        return None
    assert _CHECKS[base](value), f"{where}: {value!r} is not a Dart {base}"
    return value


def read(obj: Any, **fields: str) -> dict[str, Any]:
    """The fields the app reads from `obj` (a JSON object), each cast to its Dart type."""
    assert isinstance(obj, dict), f"the app expects a JSON object, got {obj!r}"
    return {name: cast(obj.get(name), dart_type, name) for name, dart_type in fields.items()}


# The app's models, field by field as their fromJson casts them.
PROFILE = {
    "userId": "String",
    "name": "String?",
    "age": "int?",
    "bio": "String?",
    "photos": "List?",
    "interests": "List?",
    "distance": "num?",
    "isVerified": "bool?",
    "isNewUser": "bool?",
}
MATCH = {"id": "String", "userId1": "String", "userId2": "String", "createdAt": "DateTime"}
MESSAGE = {
    "id": "String",
    "matchId": "String",
    "senderId": "String",
    "text": "String",
    "status": "String?",
    "error": "String?",
}
USER_STATUS = {"userId": "String", "isOnline": "bool", "lastSeenAt": "DateTime?"}


def message(obj: Any) -> dict[str, Any]:
    """Message.fromJson: its fields, and `timestamp ?? createdAt` parsed as a DateTime."""
    values = read(obj, **MESSAGE)
    stamp = obj.get("timestamp") if obj.get("timestamp") is not None else obj.get("createdAt")
    values["timestamp"] = cast(stamp, "DateTime", "timestamp ?? createdAt")
    return values
