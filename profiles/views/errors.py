"""The original's per-endpoint 500 messages ("Failed to save profile", ...) for unexpected errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse

from vlvt.http.api import DATABASE_UNAVAILABLE, ApiError, ValidationFailed, fail

log = logging.getLogger("profiles.errors")

# Expected outcomes travel as exceptions to `endpoint()`, which answers them; only the rest is a 500.
_PASS_THROUGH = (ApiError, ValidationFailed, RequestDataTooBig, SuspiciousOperation, *DATABASE_UNAVAILABLE)


def on_error(message: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except _PASS_THROUGH:
                raise
            except Exception:
                log.exception(message, extra={"path": request.path, "method": request.method})
                return fail(500, message)

        return wrapper

    return decorate
