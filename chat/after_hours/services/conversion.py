"""The save vote and the conversion of an After Hours match into a permanent one (docs/contract.md,
"After Hours chat routes").

One transaction with the After Hours row locked (`FOR UPDATE`), so concurrent votes are taken one
after the other and a match converts exactly once. The fixes of docs/contract.md, D25:

* a declined or blocked match cannot be saved (409);
* copied messages keep their order and their original `created_at` (the original gave them all
  the conversion time); they arrive read, since both people saw them in the live chat;
* a permanent match the pair already has, in either order, is reused instead of failing (same
  order) or being duplicated (reverse order);
* a re-vote changes nothing and tells nobody; a match whose permanent match was deleted since
  (unmatch) is not converted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from chat import selectors as chat_selectors
from chat.after_hours import events, push, selectors
from chat.after_hours.selectors import MatchState, match_not_found
from chat.errors import ChatError
from profiles.models import AfterHoursMatch, Profile, new_match_id

UNNAMED = "Someone"


@dataclass(frozen=True, slots=True)
class SaveResult:
    mutual_save: bool
    permanent_match_id: str | None
    fresh: bool  # the vote was recorded now (and its events and pushes queued)

    def body(self) -> dict[str, Any]:
        return {"mutualSave": self.mutual_save, "permanentMatchId": self.permanent_match_id}


def not_saveable() -> ChatError:
    return ChatError(409, "This match can no longer be saved", code="MATCH_NOT_SAVEABLE")


def save_vote(*, user_id: str, match_id: str) -> SaveResult:
    with transaction.atomic():
        state = selectors.match_state(match_id=match_id, lock="update")
        if state is None:
            raise match_not_found()
        partner_id = state.participant(user_id)
        if state.converted_to is not None:
            return SaveResult(True, state.converted_to, fresh=False)
        if state.declined or state.blocked:
            raise not_saveable()
        mine, theirs = (
            (state.user1_vote, state.user2_vote)
            if user_id == state.user_1
            else (state.user2_vote, state.user1_vote)
        )
        if mine:
            if theirs:  # converted once; the permanent match was deleted since (an unmatch stays)
                raise not_saveable()
            return SaveResult(False, None, fresh=False)
        column = "user1_save_vote" if user_id == state.user_1 else "user2_save_vote"
        AfterHoursMatch.objects.filter(pk=match_id).update(**{column: True})
        now = timezone.now()
        names = _names(state)
        if not theirs:
            events.partner_saved(match_id=match_id, saver_id=user_id, partner_id=partner_id, at=now)
            push.partner_saved(
                recipient_id=partner_id, after_hours_match_id=match_id, saver_name=names[user_id]
            )
            return SaveResult(False, None, fresh=True)
        permanent_id = _convert(state, now)
        events.match_saved(
            match_id=match_id, permanent_match_id=permanent_id, user_ids=[state.user_1, state.user_2], at=now
        )
        push.match_saved(permanent_match_id=permanent_id, names=names)
        return SaveResult(True, permanent_id, fresh=True)


def _names(state: MatchState) -> dict[str, str]:
    found = dict(Profile.objects.filter(pk__in=[state.user_1, state.user_2]).values_list("user_id", "name"))
    return {user: (found.get(user) or "").strip() or UNNAMED for user in (state.user_1, state.user_2)}


# Copies keep the After Hours order and timestamps; each gets a read receipt of its recipient.
_COPY_SQL = """
WITH copied AS (
    INSERT INTO messages (id, match_id, sender_id, text, created_at, status, delivered_at, read_at)
    SELECT 'msg_' || gen_random_uuid()::text, %(permanent)s, m.sender_id, m.text, m.created_at, 'read', %(now)s, %(now)s
      FROM after_hours_messages m
     WHERE m.match_id = %(after_hours)s
     ORDER BY m.created_at, m.id
    RETURNING id, sender_id
)
INSERT INTO read_receipts (message_id, user_id, read_at)
SELECT id, CASE WHEN sender_id = %(user_1)s THEN %(user_2)s ELSE %(user_1)s END, %(now)s FROM copied
ON CONFLICT DO NOTHING
"""


def _convert(state: MatchState, now: datetime) -> str:
    permanent_id = _permanent_match(state.user_1, state.user_2)
    with connection.cursor() as cursor:
        cursor.execute(
            _COPY_SQL,
            {
                "permanent": permanent_id,
                "after_hours": state.id,
                "user_1": state.user_1,
                "user_2": state.user_2,
                "now": now,
            },
        )
    AfterHoursMatch.objects.filter(pk=state.id).update(converted_to_match_id=permanent_id)
    return permanent_id


def _permanent_match(user_1: str, user_2: str) -> str:
    """The pair's permanent match, created (source 'after_hours', After Hours order) if it has none."""
    existing = chat_selectors.match_between(user_a=user_1, user_b=user_2)
    if existing is not None:
        return existing.id
    with connection.cursor() as cursor:
        # No conflict target: either unique index (ordered or unordered pair) means "exists already".
        cursor.execute(
            "INSERT INTO matches (id, user_id_1, user_id_2, source) VALUES (%s, %s, %s, 'after_hours') "
            "ON CONFLICT DO NOTHING RETURNING id",
            [new_match_id(), user_1, user_2],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    # A concurrent swipe (or another conversion of the pair) committed the match first.
    existing = chat_selectors.match_between(user_a=user_1, user_b=user_2)
    if existing is None:
        raise RuntimeError("the pair's permanent match vanished during conversion")
    return existing.id
