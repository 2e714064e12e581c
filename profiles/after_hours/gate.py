"""The After Hours gate: in front of every After Hours route, after the JWT check (docs/contract.md,
"After Hours gate").

Checks run in the original's order and the first failure answers: an authenticated user id,
an active subscription, `users.id_verified` (the KYC flag, not `profiles.is_verified`), then
`users.after_hours_consent`. It fails closed: a database error is a 500, never a pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial, wraps
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from profiles.after_hours import limits
from profiles.after_hours.selectors import access_get
from vlvt.http.api import ApiError, View, endpoint
from vlvt.http.openapi.declare import Operation
from vlvt.http.ratelimit import Limiter

log = logging.getLogger(__name__)

AUTH_REQUIRED = partial(ApiError, 401, "Authentication required", code="AUTH_REQUIRED")
PREMIUM_REQUIRED = partial(
    ApiError, 403, "Premium subscription required for After Hours Mode", code="PREMIUM_REQUIRED", upgrade=True
)
VERIFICATION_REQUIRED = partial(
    ApiError,
    403,
    "ID verification required for After Hours Mode",
    code="VERIFICATION_REQUIRED",
    requiresVerification=True,
)
CONSENT_REQUIRED = partial(
    ApiError,
    403,
    "Location sharing consent required for After Hours Mode",
    code="CONSENT_REQUIRED",
    requiresConsent=True,
)
AUTH_ERROR = partial(ApiError, 500, "Unable to verify After Hours access", code="AUTH_ERROR")


def require_access(user_id: str | None) -> None:
    """Raise the gate's ApiError unless the user may use After Hours."""
    if not user_id:
        raise AUTH_REQUIRED()
    try:
        access = access_get(user_id=user_id)
    except DatabaseError:
        log.exception("after hours access check failed")
        raise AUTH_ERROR() from None
    if not access.premium:
        raise PREMIUM_REQUIRED()
    if not access.id_verified:
        raise VERIFICATION_REQUIRED()
    if not access.consent:
        raise CONSENT_REQUIRED()


def after_hours(
    *methods: str, limiters: Iterable[Limiter] = (limits.general,), spec: Operation | None = None
) -> Callable[[View], View]:
    """`endpoint()` (405, JWT, per-user rate limits, the route's declaration) plus the gate, for an
    After Hours view."""

    def decorate(view: View) -> View:
        @wraps(view)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            require_access(getattr(request, "user_id", None))
            return view(request, *args, **kwargs)

        return endpoint(*methods, limiters=limiters, spec=spec)(gated)

    return decorate
