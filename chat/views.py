"""chat-service's REST API (docs/contract.md, "Chat"): parse, call one service or selector, shape.

Statuses, bodies and messages are the original's; where this project changes behaviour (docs/contract.md,
"Differences from the original services") the service says so. Services raise `ChatError` (an
ApiError), which `endpoint` renders.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpResponse

from chat import limits, selectors, services, validation
from chat.errors import not_found_match
from vlvt.http.api import (
    caller_only,
    endpoint,
    fail,
    json_body,
    json_response,
    ok,
    require_caller,
)
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import (
    STR,
    STR_LIST,
    Body,
    Operation,
    array,
    header,
    path_param,
    ref,
    sent,
    success,
)
from vlvt.http.request import ApiRequest

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

MESSAGE_OK = success(message=STR)
REPORTS_QUERY = Body((sent("status", STR, description="exact status filter"),))


def clean_input(view: View) -> View:
    """400 for a NUL character anywhere in the path, query or JSON body (PostgreSQL text cannot
    store one, and the database error would otherwise be a 500)."""

    @wraps(view)
    def wrapper(request: ApiRequest, **kwargs: str) -> HttpResponse:
        body = json_body(request) if request.method in ("POST", "PUT", "PATCH", "DELETE") else {}
        if (
            validation.has_nul(kwargs)
            or validation.has_nul(dict(request.GET.lists()))
            or validation.has_nul(body)
        ):
            return fail(400, "Invalid characters in request")
        return view(request, **kwargs)

    return wrapper


# --- matches -------------------------------------------------------------------------------------


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation(
        "The caller's matches (`id` is the caller's user id)",
        ok=success(matches=array(ref("Match"))),
        errors=(403,),
        params=(path_param("id", "user id"),),
    ),
)
@on_error("Failed to retrieve matches")
@clean_input
@caller_only("Forbidden: Cannot access other users' matches")
def matches_list(request: ApiRequest, user_id: str) -> HttpResponse:
    return ok(matches=selectors.matches_for_user(user_id=user_id))


@endpoint(
    "POST",
    limiters=[limits.match_create],
    spec=Operation(
        "Confirm a mutual like: the pair's existing match, or a new one when both liked each other",
        ok=success(match=ref("Match"), alreadyExists={"const": True}),
        errors=(400, 403, 404),
        body=validation.MATCH,
    ),
)
@on_error("Failed to create match")
@clean_input
def match_create(request: ApiRequest) -> HttpResponse:
    body = validation.MATCH.parse(json_body(request))
    result = services.match_confirm(
        user_id=request.user_id, user_id_1=body["userId1"], user_id_2=body["userId2"]
    )
    if result.already_exists:
        return ok(match=result.match, alreadyExists=True)
    return ok(match=result.match)


@endpoint(
    "DELETE",
    limiters=[limits.sensitive_action],
    spec=Operation(
        "Unmatch (`id` is a match id); messages, receipts and date proposals go with it",
        ok=MESSAGE_OK,
        errors=(403, 404),
        params=(path_param("id", "match id"),),
    ),
)
@on_error("Failed to delete match")
@clean_input
def match_delete(request: ApiRequest, match_id: str) -> HttpResponse:
    services.match_delete(user_id=request.user_id, match_id=match_id)
    return ok(message="Match deleted successfully")


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation(
        "Unread messages per match (only matches with some)",
        ok=success(unreadCounts={"type": "object", "additionalProperties": {"type": "integer"}}),
        errors=(403,),
        params=(path_param("userId", "must be the caller"),),
    ),
)
@on_error("Failed to get unread counts")
@clean_input
@caller_only("Forbidden: Cannot access other users' unread counts")
def unread_counts(request: ApiRequest, user_id: str) -> HttpResponse:
    return ok(unreadCounts=selectors.unread_counts(user_id=user_id))


# --- messages ------------------------------------------------------------------------------------


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation(
        "Message history, oldest first, newest `limit` inside the cursors",
        ok=success(messages=array(ref("Message")), pagination=ref("Pagination")),
        errors=(400, 403),
        query=validation.HISTORY,
    ),
)
@on_error("Failed to retrieve messages")
@clean_input
def messages_history(request: ApiRequest, match_id: str) -> HttpResponse:
    query = validation.HISTORY.parse(request.GET)
    pair, page = selectors.match_history(
        match_id=match_id, limit=query["limit"], before=query["before"], after=query["after"]
    )
    if pair is None or request.user_id not in pair:
        raise not_found_match()
    return ok(**page)


@endpoint(
    "POST",
    limiters=[limits.message_send],
    spec=Operation(
        "Send a message (same rules as the socket send, 500 characters; 429 when the free daily cap is used up)",
        ok=success(message=ref("Message")),
        errors=(400, 403),
        body=validation.MESSAGE,
        params=(
            header(
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": validation.IDEMPOTENCY_KEY_MAX},
                description="the tempId, as a header (a retry with the same key returns the stored message; "
                "must equal `tempId` when both are sent)",
            ),
        ),
    ),
)
@on_error("Failed to send message")
@clean_input
def message_create(request: ApiRequest) -> HttpResponse:
    body = validation.MESSAGE.parse(json_body(request))
    require_caller(request, body["senderId"], "Forbidden: Cannot send messages as another user")
    # A client that timed out retries with the same key; the send's tempId mechanism (one row per
    # match, sender and key) makes the retry return the stored message instead of a second one.
    temp_id = validation.idempotency_key(request.headers.get("Idempotency-Key"), body["tempId"])
    result = services.message_send(
        sender_id=body["senderId"], match_id=body["matchId"], text=body["text"], temp_id=temp_id, fan_out=True
    )
    return ok(message=result.rest())


@endpoint(
    "PUT",
    limiters=[limits.general],
    spec=Operation(
        "Mark the partner's messages read (all, or `messageIds`)",
        ok=success(count={"type": "integer"}, messageIds=STR_LIST),
        errors=(400, 403),
        body=validation.MARK_READ,
    ),
)
@on_error("Failed to mark messages as read")
@clean_input
def messages_mark_read(request: ApiRequest, match_id: str) -> HttpResponse:
    body = validation.MARK_READ.parse(json_body(request))
    require_caller(request, body["userId"], "Forbidden: Cannot mark messages as read for another user")
    result = services.messages_mark_read(
        user_id=body["userId"], match_id=match_id, message_ids=body["messageIds"], notify=True
    )
    return ok(count=result.count, messageIds=result.message_ids)


# --- safety --------------------------------------------------------------------------------------


@endpoint(
    "POST",
    limiters=[limits.block_create],
    spec=Operation(
        "Block a user: deletes the pair's matches and declines their active After Hours match",
        ok=MESSAGE_OK,
        errors=(400, 403, 404),
        body=validation.BLOCK,
    ),
)
@on_error("Failed to block user")
@clean_input
def block_create(request: ApiRequest) -> HttpResponse:
    body = validation.BLOCK.parse(json_body(request))
    require_caller(request, body["userId"], "Forbidden: Can only block users as yourself")
    if not services.block_create(
        user_id=body["userId"], blocked_user_id=body["blockedUserId"], reason=body["reason"]
    ):
        return ok(message="User already blocked")
    return ok(message="User blocked successfully")


@endpoint(
    "DELETE",
    limiters=[limits.general],
    spec=Operation("Unblock", ok=MESSAGE_OK, errors=(403, 404)),
)
@on_error("Failed to unblock user")
@clean_input
@caller_only("Forbidden: Can only unblock users for yourself")
def block_delete(request: ApiRequest, user_id: str, blocked_user_id: str) -> HttpResponse:
    services.block_delete(user_id=user_id, blocked_user_id=blocked_user_id)
    return ok(message="User unblocked successfully")


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation(
        "The caller's blocks, newest first",
        ok=success(blockedUsers=array(ref("Block"))),
        errors=(403,),
        params=(path_param("userId", "must be the caller"),),
    ),
)
@on_error("Failed to retrieve blocked users")
@clean_input
@caller_only("Forbidden: Cannot access other users' blocked list")
def blocks_list(request: ApiRequest, user_id: str) -> HttpResponse:
    return ok(blockedUsers=selectors.blocked_users(user_id=user_id))


@endpoint(
    "POST",
    limiters=[limits.report_create],
    spec=Operation(
        "Report a user to moderation", ok=MESSAGE_OK, errors=(400, 403, 404), body=validation.REPORT
    ),
)
@on_error("Failed to submit report")
@clean_input
def report_create(request: ApiRequest) -> HttpResponse:
    body = validation.REPORT.parse(json_body(request))
    require_caller(request, body["reporterId"], "Forbidden: Can only submit reports as yourself")
    services.report_create(
        reporter_id=body["reporterId"],
        reported_user_id=body["reportedUserId"],
        reason=body["reason"],
        details=body["details"],
    )
    return ok(message="Report submitted successfully. Our moderation team will review it.")


@endpoint(
    "GET",
    auth=False,
    limiters=[limits.general],
    spec=Operation(
        "Moderation: the newest 100 reports (X-Admin-API-Key, no JWT)",
        ok=success(reports=array(ref("Report"))),
        errors=(403, 503),
        params=(header("X-Admin-API-Key", required=True),),
        query=REPORTS_QUERY,
    ),
)
@on_error("Failed to retrieve reports")
@clean_input
def reports_list(request: ApiRequest) -> HttpResponse:
    """Moderation listing; the admin key, not a JWT (docs/contract.md, D28: compared in constant time)."""
    expected = settings.ADMIN_API_KEY
    if not expected:
        return fail(503, "Admin endpoints not available")
    provided = request.headers.get("X-Admin-API-Key") or ""
    if not hmac.compare_digest(provided.encode(), expected.encode()):
        return fail(403, "Forbidden: Invalid or missing admin API key")
    status = REPORTS_QUERY.parse(request.GET)["status"]
    return ok(reports=selectors.reports_recent(status=status or None))


# --- push tokens ---------------------------------------------------------------------------------


@endpoint(
    "POST",
    limiters=[limits.general],
    spec=Operation(
        "Register (or reactivate) a push token",
        ok=MESSAGE_OK,
        errors=(400, 404),
        body=validation.FCM_REGISTER,
    ),
)
@on_error("Failed to register FCM token")
@clean_input
def fcm_register(request: ApiRequest) -> HttpResponse:
    body = validation.FCM_REGISTER.parse(json_body(request))
    services.fcm_token_register(
        user_id=request.user_id,
        token=body["token"],
        device_type=body["deviceType"],
        device_id=body["deviceId"],
    )
    return ok(message="FCM token registered successfully")


@endpoint(
    "POST",
    limiters=[limits.general],
    spec=Operation("Deactivate a push token", ok=MESSAGE_OK, errors=(400,), body=validation.FCM_UNREGISTER),
)
@on_error("Failed to unregister FCM token")
@clean_input
def fcm_unregister(request: ApiRequest) -> HttpResponse:
    token = validation.FCM_UNREGISTER.parse(json_body(request))["token"]
    services.fcm_token_unregister(user_id=request.user_id, token=token)
    return ok(message="FCM token unregistered successfully")


# --- date proposals ------------------------------------------------------------------------------


@endpoint(
    "POST",
    limiters=[limits.general],
    spec=Operation(
        "Propose a date (one pending proposal per match)",
        ok=success(proposal=ref("DateProposal")),
        errors=(400, 403, 404),
        body=validation.DATE_PROPOSAL,
    ),
)
@on_error("Failed to create date proposal")
@clean_input
def date_create(request: ApiRequest) -> HttpResponse:
    body = validation.DATE_PROPOSAL.parse(json_body(request))
    place = services.Place(
        name=body["placeName"],
        place_id=body["placeId"],
        address=body["placeAddress"],
        lat=body["placeLat"],
        lng=body["placeLng"],
    )
    proposal = services.date_proposal_create(
        user_id=request.user_id,
        match_id=body["matchId"],
        place=place,
        proposed_date=body["proposedDate"],
        proposed_time=body["proposedTime"],
        note=body["note"],
    )
    return ok(proposal=proposal)


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation(
        "A match's date proposals, newest first (`id` is a match id)",
        ok=success(proposals=array(ref("DateProposal"))),
        errors=(403, 404),
        params=(path_param("id", "match id"),),
    ),
)
@on_error("Failed to get date proposals")
@clean_input
def dates_list(request: ApiRequest, match_id: str) -> HttpResponse:
    return ok(proposals=services.date_proposals_list(user_id=request.user_id, match_id=match_id))


@endpoint(
    "PUT",
    limiters=[limits.general],
    spec=Operation(
        "Accept or decline; a decline may carry a counter-proposal (validated before anything is written)",
        ok=success(
            message=STR,
            status={"enum": ["accepted", "declined"]},
            counterProposalId={"type": "string", "format": "uuid"},
        ),
        errors=(400, 403, 404),
        body=validation.DATE_RESPONSE,
    ),
)
@on_error("Failed to respond to date proposal")
@clean_input
def date_respond(request: ApiRequest, proposal_id: str) -> HttpResponse:
    body = validation.DATE_RESPONSE.parse(json_body(request))
    result = services.date_proposal_respond(
        user_id=request.user_id,
        proposal_id=proposal_id,
        response=body["response"],
        counter_date=body.get("counterDate"),
        counter_time=body.get("counterTime"),
    )
    return json_response({"success": True, **result})  # the body has a `status` key: not ok(**...)


@endpoint(
    "PUT",
    limiters=[limits.general],
    spec=Operation(
        "Confirm the date happened; the second confirmation completes it and awards tickets",
        ok=success(message=STR, completed={"type": "boolean"}, ticketAwarded={"const": True}),
        errors=(400, 403, 404),
    ),
)
@on_error("Failed to confirm date")
@clean_input
def date_confirm(request: ApiRequest, proposal_id: str) -> HttpResponse:
    return ok(**services.date_proposal_confirm(user_id=request.user_id, proposal_id=proposal_id))


@endpoint(
    "DELETE",
    limiters=[limits.general],
    spec=Operation(
        "Cancel my proposal (`id` is a proposal id)",
        ok=MESSAGE_OK,
        errors=(400, 403, 404),
        params=(path_param("id", "proposal id"),),
    ),
)
@on_error("Failed to cancel date proposal")
@clean_input
def date_cancel(request: ApiRequest, proposal_id: str) -> HttpResponse:
    services.date_proposal_cancel(user_id=request.user_id, proposal_id=proposal_id)
    return ok(message="Date proposal cancelled")
