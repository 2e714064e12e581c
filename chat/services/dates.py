"""Date proposals (docs/contract.md, "Dates"): propose, respond (with a counter-proposal), confirm, cancel.

Every state change locks the proposal row first, so concurrent calls see each other's writes:
two people confirming at the same moment complete the date exactly once (docs/contract.md, D27).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chat import selectors
from chat.errors import ChatError
from chat.models import DateProposal
from profiles.models import Match, TicketLedger, User

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _Partners(TypedDict):
    user_1: str
    user_2: str


COUNTER_NOTE = "Counter-proposal: How about this time instead?"
_COUNTER_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNTER_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")


@dataclass(frozen=True)
class Place:
    name: str
    place_id: str | None = None
    address: str | None = None
    lat: Decimal | None = None
    lng: Decimal | None = None


def _match_partner(match_id: str, user_id: str) -> str:
    pair = selectors.match_participants(match_id=match_id)
    if pair is None:
        raise ChatError(404, "Match not found")
    if user_id not in pair:
        raise ChatError(403, "Not authorized for this match")
    return pair[1] if pair[0] == user_id else pair[0]


def date_proposals_list(*, user_id: str, match_id: str) -> list[dict[str, Any]]:
    _match_partner(match_id, user_id)
    return selectors.date_proposals_for_match(match_id=match_id)


def date_proposal_create(
    *, user_id: str, match_id: str, place: Place, proposed_date: date, proposed_time: time, note: str | None
) -> dict[str, Any]:
    _match_partner(match_id, user_id)
    with transaction.atomic():
        # The match row is the lock that makes "one pending proposal per match" hold under races.
        if not Match.objects.select_for_update().filter(pk=match_id).exists():
            raise ChatError(404, "Match not found")
        if DateProposal.objects.filter(match_id=match_id, status="pending").exists():
            raise ChatError(400, "There is already a pending date proposal for this match")
        proposal = _insert(match_id, user_id, place, proposed_date, proposed_time, note)
    return selectors.proposal_wire(proposal)


def _insert(
    match_id: str, proposer_id: str, place: Place, on: date, at: time, note: str | None
) -> DateProposal:
    return DateProposal.objects.create(
        match_id=match_id,
        proposer_id=proposer_id,
        place_id=place.place_id,
        place_name=place.name,
        place_address=place.address,
        place_lat=place.lat,
        place_lng=place.lng,
        proposed_date=on,
        proposed_time=at,
        note=note,
    )  # id, status and created_at come back from the INSERT (database defaults)


def _locked(proposal_id: str) -> WithAnnotations[DateProposal, _Partners]:
    try:
        uuid.UUID(proposal_id)
    except ValueError:
        raise ChatError(404, "Date proposal not found") from None
    proposal = (
        DateProposal.objects.select_for_update(of=("self",))
        .annotate(user_1=F("match__user_1_id"), user_2=F("match__user_2_id"))
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise ChatError(404, "Date proposal not found")
    return proposal


def _counter(counter_date: Any, counter_time: Any) -> tuple[date, time]:
    """Validate a counter-proposal (the original's checks and messages) before anything is written."""
    if not counter_date or not counter_time:
        raise ChatError(400, "Counter-proposal requires both counterDate and counterTime")
    if not isinstance(counter_date, str) or not _COUNTER_DATE.match(counter_date):
        raise ChatError(400, "Invalid date format. Use YYYY-MM-DD")
    if not isinstance(counter_time, str) or not _COUNTER_TIME.match(counter_time):
        raise ChatError(400, "Invalid time format. Use HH:MM or HH:MM:SS")
    try:
        when = datetime.fromisoformat(f"{counter_date}T{counter_time}").replace(
            tzinfo=timezone.get_current_timezone()
        )
    except ValueError:
        when = None
    if when is None or when <= timezone.now():
        raise ChatError(400, "Counter-proposal date must be a valid future date")
    return when.date(), when.time()


def date_proposal_respond(
    *, user_id: str, proposal_id: str, response: str, counter_date: Any = None, counter_time: Any = None
) -> dict[str, Any]:
    """Accept or decline a proposal made to me; a decline may carry a counter-proposal."""
    with transaction.atomic():
        proposal = _locked(proposal_id)
        if user_id not in (proposal.user_1, proposal.user_2):
            raise ChatError(403, "Not authorized for this proposal")
        if proposal.proposer_id == user_id:
            raise ChatError(400, "Cannot respond to your own proposal")
        if proposal.status != "pending":
            raise ChatError(400, "Proposal has already been responded to")
        counter = None
        if response == "declined" and (counter_date or counter_time):
            counter = _counter(counter_date, counter_time)
        now = timezone.now()
        DateProposal.objects.filter(pk=proposal.pk).update(status=response, responded_at=now, updated_at=now)
        if counter is not None:
            place = Place(
                proposal.place_name,
                proposal.place_id,
                proposal.place_address,
                proposal.place_lat,
                proposal.place_lng,
            )
            created = _insert(proposal.match_id, user_id, place, counter[0], counter[1], COUNTER_NOTE)
            return {"message": "Proposal declined with counter-offer", "counterProposalId": str(created.pk)}
    return {"message": "Date accepted!" if response == "accepted" else "Date declined", "status": response}


def date_proposal_confirm(*, user_id: str, proposal_id: str) -> dict[str, Any]:
    """Record that the date happened; the second confirmation completes it and pays the tickets."""
    with transaction.atomic():
        proposal = _locked(proposal_id)
        if user_id not in (proposal.user_1, proposal.user_2):
            raise ChatError(403, "Not authorized for this proposal")
        if proposal.status != "accepted":
            raise ChatError(400, "Can only confirm accepted dates")
        is_proposer = proposal.proposer_id == user_id
        mine, other = (
            ("proposer_confirmed", "recipient_confirmed")
            if is_proposer
            else ("recipient_confirmed", "proposer_confirmed")
        )
        if getattr(proposal, mine):
            raise ChatError(400, "You have already confirmed this date")
        now = timezone.now()
        changes: dict[str, Any] = {mine: True, "updated_at": now}
        completed = bool(getattr(proposal, other))
        if completed:
            changes.update(status="completed", completed_at=now)
        DateProposal.objects.filter(pk=proposal.pk).update(**changes)
        if completed:
            partner = proposal.user_2 if proposal.user_1 == user_id else proposal.user_1
            _award_date_tickets(str(proposal.pk), [user_id, partner])
    if completed:
        return {
            "message": "Date confirmed! You both earned a Golden Ticket!",
            "completed": True,
            "ticketAwarded": True,
        }
    return {
        "message": "Your confirmation recorded. Waiting for the other person to confirm.",
        "completed": False,
    }


def _award_date_tickets(proposal_id: str, user_ids: list[str]) -> None:
    """One `date_completed` ticket each, and one `referral_bonus` to each one's referrer."""
    referrers = User.objects.filter(pk__in=user_ids, referred_by__isnull=False).values_list(
        "referred_by_id", flat=True
    )
    rows = [
        TicketLedger(user_id=u, amount=1, reason="date_completed", reference_id=proposal_id) for u in user_ids
    ]
    rows += [
        TicketLedger(user_id=r, amount=1, reason="referral_bonus", reference_id=proposal_id)
        for r in referrers
        if r is not None  # filtered in SQL already; says so to the type checker
    ]
    TicketLedger.objects.bulk_create(rows)


def date_proposal_cancel(*, user_id: str, proposal_id: str) -> None:
    with transaction.atomic():
        proposal = _locked(proposal_id)
        if proposal.proposer_id != user_id:
            raise ChatError(403, "Only the proposer can cancel")
        if proposal.status in ("completed", "cancelled"):
            raise ChatError(400, "Cannot cancel this proposal")
        DateProposal.objects.filter(pk=proposal.pk).update(status="cancelled", updated_at=timezone.now())
