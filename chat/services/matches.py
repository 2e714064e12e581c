"""Permanent matches: confirming a mutual like, unmatching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from chat import events, push, selectors
from chat.errors import ChatError
from profiles.models import Match, Profile, Swipe, User


@dataclass(frozen=True)
class MatchConfirmation:
    match: dict[str, Any]
    already_exists: bool


def _mutual_like(user_a: str, user_b: str) -> bool:
    likes = Swipe.objects.filter(
        Q(user_id=user_a, target_user_id=user_b) | Q(user_id=user_b, target_user_id=user_a), action="like"
    )
    return likes.count() == 2


def match_confirm(*, user_id: str, user_id_1: str, user_id_2: str) -> MatchConfirmation:
    """POST /matches (docs/contract.md, D24): the existing match of the pair, or one a mutual like earned.

    It never creates a match with an arbitrary user or across a block, whichever side blocked.
    """
    if user_id not in (user_id_1, user_id_2):
        raise ChatError(403, "Forbidden: Can only create matches involving yourself")
    if User.objects.filter(pk__in=[user_id_1, user_id_2]).count() != 2:
        raise ChatError(404, "User not found")
    existing = selectors.match_between(user_a=user_id_1, user_b=user_id_2)
    if existing is not None:
        return MatchConfirmation(selectors.match_wire(existing), already_exists=True)
    if selectors.blocked_between(user_a=user_id_1, user_b=user_id_2) or not _mutual_like(
        user_id_1, user_id_2
    ):
        # One answer for both: a blocked user must not learn about the block from this route.
        raise ChatError(403, "Forbidden: A match requires a mutual like")
    try:
        with transaction.atomic():
            match = Match.objects.create(user_1_id=user_id_1, user_2_id=user_id_2)
            _push_new_match(match)
    except IntegrityError:
        # The swipe that completed the like (or a concurrent call) stored the pair first.
        existing = selectors.match_between(user_a=user_id_1, user_b=user_id_2)
        if existing is None:
            raise
        return MatchConfirmation(selectors.match_wire(existing), already_exists=True)
    return MatchConfirmation(selectors.match_wire(match), already_exists=False)


def _push_new_match(match: Match) -> None:
    rows = Profile.objects.filter(pk__in=[match.user_1_id, match.user_2_id]).values_list("user_id", "name")
    # A profile can match only once it has a name; one without is left out (and gets no push).
    names = {user_id: name for user_id, name in rows if name is not None}
    if len(names) == 2:
        push.new_match(
            match_id=match.id,
            names={match.user_1_id: names[match.user_1_id], match.user_2_id: names[match.user_2_id]},
        )


def match_delete(*, user_id: str, match_id: str) -> None:
    """Unmatch. The database cascades messages, receipts, typing rows and date proposals, and
    unlinks an After Hours match converted into this one (`converted_to_match_id` SET NULL)."""
    pair = selectors.match_participants(match_id=match_id)
    if pair is None or user_id not in pair:
        raise ChatError(403, "Forbidden: You are not part of this match or match not found")
    with transaction.atomic():
        deleted, _ = Match.objects.filter(pk=match_id).delete()
        if not deleted:
            raise ChatError(404, "Match not found")
        # Both people's open chat screens drop the conversation (the other party's included).
        events.send_to_users(list(pair), "match_deleted", {"matchId": match_id})
