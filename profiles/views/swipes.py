"""Swipe routes (docs/contract.md, "Swipes")."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse

from profiles import limits
from profiles.selectors.swipes import likes_received, likes_sent
from profiles.services.swipes import swipe_record
from profiles.storage import resolve_urls
from profiles.validation import SWIPE
from vlvt.http.api import ApiError, endpoint, iso, json_body, ok
from vlvt.http.errors import on_error
from vlvt.http.openapi.declare import Operation, ref
from vlvt.http.request import ApiRequest


@endpoint(
    "POST",
    limiters=[limits.swipe],
    spec=Operation(
        "Like or pass; a mutual like creates the pair's one match",
        ok=ref("SwipeResult"),
        errors=(400, 403, 404),
        body=SWIPE,
    ),
)
@on_error("Failed to record swipe")
def swipe(request: ApiRequest) -> HttpResponse:
    body = SWIPE.parse(json_body(request))
    target, action = body["targetUserId"], body["action"]
    if target == request.user_id:
        raise ApiError(400, "Cannot swipe on yourself")
    result = swipe_record(user_id=request.user_id, target_user_id=target, action=action)
    message = "It's a match!" if result.is_match else "Like recorded" if action == "like" else "Pass recorded"
    return ok(action=action, isMatch=result.is_match, message=message)


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation("Who liked the caller, newest first", ok=ref("LikesReceived")),
)
@on_error("Failed to get received likes")
def received(request: ApiRequest) -> HttpResponse:
    rows = likes_received(user_id=request.user_id)
    return ok(likes=_likes(rows, person="userId", at="likedAt"))


@endpoint(
    "GET",
    limiters=[limits.general],
    spec=Operation("Whom the caller liked, newest first (snake_case keys)", ok=ref("LikesSent")),
)
@on_error("Failed to get sent likes")
def sent(request: ApiRequest) -> HttpResponse:
    rows = likes_sent(user_id=request.user_id)
    return ok(likes=_likes(rows, person="target_user_id", at="created_at"))


def _likes(rows: list[dict[str, Any]], *, person: str, at: str) -> list[dict[str, Any]]:
    """The answer's entries; the two routes name the other person and the time differently."""
    return [
        {
            person: row["user_id"],
            "name": row["name"],
            "age": row["age"],
            "photos": resolve_urls(row["photos"], owner=row["user_id"]),
            at: iso(row["created_at"]),
        }
        for row in rows
    ]
