"""After Hours chat REST: parse, call one service or selector, shape (docs/contract.md, "After Hours
chat routes").

Every route needs a JWT and a UUID `:matchId` (400 `Invalid match ID format`); chat-service never
applied the After Hours gate (premium, verification, consent) here, and neither do we.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse

from chat import validation
from chat.after_hours import limits, selectors, services
from chat.views import clean_input, on_error
from vlvt.http.api import ApiError, endpoint, json_body, ok
from vlvt.http.request import ApiRequest

BLOCK_REASON_MAX = 500
REPORT_DETAILS_MAX = 1000


def _match_id(raw: str) -> str:
    match_id = selectors.parse_uuid(raw)
    if match_id is None:
        raise ApiError(400, "Invalid match ID format")
    return match_id


def _optional_text(body: dict[str, Any], name: str, label: str, max_length: int) -> str | None:
    """The original took these unchecked; a non-string or an oversized one is a 400 here."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{label} must be a string")
    if len(value) > max_length:
        raise ApiError(400, f"{label} must be at most {max_length} characters")
    return value


@endpoint("GET", limiters=[limits.general])
@on_error("Failed to retrieve message history")
@clean_input
def history(request: ApiRequest, match_id: str) -> HttpResponse:
    canonical = _match_id(match_id)
    raw_before = request.GET.get("before")
    before = validation.parse_timestamp(raw_before) if raw_before else None
    if raw_before and before is None:
        raise ApiError(400, "Invalid before timestamp. Use ISO 8601 format.")
    selectors.match_for(match_id=canonical, user_id=request.user_id)
    return ok(**selectors.messages_history(match_id=canonical, before=before))


@endpoint("POST", limiters=[limits.general])
@on_error("Failed to save match")
@clean_input
def save(request: ApiRequest, match_id: str) -> HttpResponse:
    result = services.save_vote(user_id=request.user_id, match_id=_match_id(match_id))
    return ok(**result.body())


@endpoint("POST", limiters=[limits.general, limits.block])
@on_error("Failed to block user")
@clean_input
def block(request: ApiRequest, match_id: str) -> HttpResponse:
    canonical = _match_id(match_id)
    reason = _optional_text(json_body(request), "reason", "Reason", BLOCK_REASON_MAX)
    services.match_block(user_id=request.user_id, match_id=canonical, reason=reason)
    return ok(message="User blocked")


def _report_reason(body: dict[str, Any]) -> str:
    reason = body.get("reason")
    if reason is None or reason == "":
        raise ApiError(400, "Reason is required")
    if reason not in services.REPORT_REASONS:
        raise ApiError(400, f"Invalid reason. Must be one of: {', '.join(services.REPORT_REASONS)}")
    return str(reason)


@endpoint("POST", limiters=[limits.general, limits.report])
@on_error("Failed to submit report")
@clean_input
def report(request: ApiRequest, match_id: str) -> HttpResponse:
    canonical = _match_id(match_id)
    body = json_body(request)
    reason = _report_reason(body)
    details = _optional_text(body, "details", "Details", REPORT_DETAILS_MAX)
    services.match_report(user_id=request.user_id, match_id=canonical, reason=reason, details=details)
    return ok(message="Report submitted")
