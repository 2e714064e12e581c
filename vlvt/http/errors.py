"""The original's per-route 500 messages ("Failed to send message", "Failed to save profile", ...)
for unexpected errors, shared by both apps' views."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse

from vlvt.http.api import DATABASE_UNAVAILABLE, ApiError, ValidationFailed, fail

View = Callable[..., HttpResponse]

# Expected outcomes travel as exceptions to `endpoint()`, which answers them; only the rest is a 500.
_PASS_THROUGH = (ApiError, ValidationFailed, RequestDataTooBig, SuspiciousOperation, *DATABASE_UNAVAILABLE)


def on_error(message: str) -> Callable[[View], View]:
    """Answer an unexpected exception of the view with a 500 carrying `message`, logged (with the
    traceback) on the view module's logger."""

    def decorate(view: View) -> View:
        log = logging.getLogger(view.__module__)

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
