"""After Hours chat REST: parse, call one service or selector, shape (docs/contract.md, "After Hours
chat routes").

Every route needs a JWT and a UUID `:matchId` (400 `Invalid match ID format`); chat-service never
applied the After Hours gate (premium, verification, consent) here, and neither do we.
"""

from __future__ import annotations

from django.http import HttpResponse

from chat import validation
from chat.after_hours import limits, selectors, services
from chat.views import clean_input, on_error
from vlvt.http.api import ApiError, endpoint, json_body, ok
from vlvt.http.openapi.declare import (
    Body,
    Operation,
    array,
    one_of,
    optional_string,
    path_param,
    ref,
    success,
)
from vlvt.http.request import ApiRequest

BLOCK_REASON_MAX = 500
REPORT_DETAILS_MAX = 1000
# The original took these unchecked; a non-string or an oversized one is a 400 here.
BLOCK = Body((optional_string("reason", BLOCK_REASON_MAX, "Reason"),))
REPORT = Body(
    (
        one_of("reason", services.REPORT_REASONS, "Reason is required"),
        optional_string("details", REPORT_DETAILS_MAX, "Details"),
    )
)
HISTORY = Body((validation.cursor("before", "only messages older than this"),))
MATCH_ID = path_param("matchId", "After Hours match id (a UUID)")


def _match_id(raw: str) -> str:
    match_id = selectors.parse_uuid(raw)
    if match_id is None:
        raise ApiError(400, "Invalid match ID format")
    return match_id


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation(
        "History of an After Hours chat: up to 50 messages, newest first (also after expiry)",
        ok=success(messages=array(ref("AfterHoursMessage")), hasMore={"type": "boolean"}),
        errors=(400, 403, 404),
        params=(MATCH_ID,),
        query=HISTORY,
    ),
)
@on_error("Failed to retrieve message history")
@clean_input
def history(request: ApiRequest, match_id: str) -> HttpResponse:
    canonical = _match_id(match_id)
    before = HISTORY.parse(request.GET)["before"]
    selectors.match_for(match_id=canonical, user_id=request.user_id)
    return ok(**selectors.messages_history(match_id=canonical, before=before))


@endpoint(
    "POST",
    limiters=[limits.general],
    spec=Operation(
        "Vote to keep the chat; the second vote converts it into a permanent match (messages kept)",
        ok=success(mutualSave={"type": "boolean"}, permanentMatchId={"type": ["string", "null"]}),
        errors=(400, 403, 404, 409),
        params=(MATCH_ID,),
    ),
)
@on_error("Failed to save match")
@clean_input
def save(request: ApiRequest, match_id: str) -> HttpResponse:
    result = services.save_vote(user_id=request.user_id, match_id=_match_id(match_id))
    return ok(**result.body())


@endpoint(
    "POST",
    limiters=[limits.general, limits.block],
    spec=Operation(
        "Block the partner and end the chat (permanent matches of the pair are deleted too)",
        ok=success(message={"const": "User blocked"}),
        errors=(400, 403, 404),
        params=(MATCH_ID,),
        body=BLOCK,
        body_required=False,
    ),
)
@on_error("Failed to block user")
@clean_input
def block(request: ApiRequest, match_id: str) -> HttpResponse:
    canonical = _match_id(match_id)
    body = BLOCK.parse(json_body(request))
    services.match_block(user_id=request.user_id, match_id=canonical, reason=body["reason"])
    return ok(message="User blocked")


@endpoint(
    "POST",
    limiters=[limits.general, limits.report],
    spec=Operation(
        "Report the partner; also blocks them and ends the chat (5 reports a day with POST /reports)",
        ok=success(message={"const": "Report submitted"}),
        errors=(400, 403, 404),
        params=(MATCH_ID,),
        body=REPORT,
    ),
)
@on_error("Failed to submit report")
@clean_input
def report(request: ApiRequest, match_id: str) -> HttpResponse:
    canonical = _match_id(match_id)
    body = REPORT.parse(json_body(request))
    services.match_report(
        user_id=request.user_id, match_id=canonical, reason=body["reason"], details=body["details"]
    )
    return ok(message="Report submitted")
