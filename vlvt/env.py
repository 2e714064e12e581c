"""Settings from the environment.

A production setting that is missing stops start-up with one line naming it (fail fast; the
README's "Configuration").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import unquote, urlsplit

APP_ENV = os.environ.get("APP_ENV") or os.environ.get("NODE_ENV") or "development"
IS_PRODUCTION = APP_ENV == "production"
N = TypeVar("N", int, float)


def missing(name: str) -> None:
    sys.stderr.write(f"vlvt: required setting {name} is not set\n")
    raise SystemExit(1)


def env_str(name: str, default: str | None = None, *, required_in_production: bool = False) -> str:
    value = os.environ.get(name)
    if value:
        return value
    if required_in_production and IS_PRODUCTION:
        missing(name)
    return default if default is not None else ""


def _number(name: str, default: N, convert: Callable[[str], N], kind: str) -> N:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return convert(raw)
    except ValueError:
        sys.stderr.write(f"vlvt: setting {name} must be {kind}, got {raw!r}\n")
        raise SystemExit(1) from None


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _number(name, default, int, "an integer")
    if minimum is not None and value < minimum:
        sys.stderr.write(f"vlvt: setting {name} must be an integer of at least {minimum}, got {value!r}\n")
        raise SystemExit(1)
    return value


def env_float(name: str, default: float) -> float:
    return _number(name, default, float, "a number")


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        sys.stderr.write(f"vlvt: setting {name} must be one of {', '.join(choices)}, got {value!r}\n")
        raise SystemExit(1)
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict[str, str | int]:
    """postgres://user:pass@host:port/name?sslmode=require -> Django DATABASES fields."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.stderr.write("vlvt: DATABASE_URL must be a postgres:// URL\n")
        raise SystemExit(1)
    fields: dict[str, str | int] = {
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": parts.port or "",
    }
    return fields


def query_options(url: str) -> dict[str, str]:
    query = urlsplit(url).query
    return dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)
