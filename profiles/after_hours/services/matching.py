"""One matching run: the 30 s sweep over every waiting session, or event-driven for a few.

A run issues a fixed number of queries whatever the number of sessions: the waiting pool, the
exclusions, the match inserts (lock, re-check, insert, profile cards) and, when somebody stays
unmatched, the active points for `activeUsersNearby`. The geometry runs in memory
(`profiles.after_hours.matching`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from django.utils import timezone

from profiles.after_hours import events
from profiles.after_hours.matching import BandIndex, Seeker, plan
from profiles.after_hours.selectors import Active, active_sessions, box_around, match_exclusions
from profiles.after_hours.services.matches import CreatedMatch, matches_create

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunResult:
    initiators: int
    created: list[CreatedMatch]
    unmatched: int


def matching_run(*, session_ids: list[UUID] | None = None) -> RunResult:
    """Match every waiting session (`session_ids` None), or only these sessions as initiators.

    Candidates always come from the whole waiting pool (only the part within reach of the
    initiators is loaded for an event-driven run).
    """
    now = timezone.now()
    if session_ids is None:
        active = active_sessions(now=now)
        initiators = active.seekers
    else:
        initiators = active_sessions(now=now, session_ids=session_ids).seekers
        if not initiators:
            return RunResult(0, [], 0)
        active = active_sessions(now=now, box=box_around(initiators))
    if not initiators:
        return RunResult(0, [], 0)
    excluded = match_exclusions(initiators=initiators, pool=active.seekers)
    result = plan(initiators, active.seekers, excluded)
    created = matches_create(pairings=result.pairings, now=now)
    _tell_unmatched(result.unmatched, active)
    log.info(
        "after hours matching run",
        extra={"initiators": len(initiators), "matched": len(created), "unmatched": len(result.unmatched)},
    )
    return RunResult(len(initiators), created, len(result.unmatched))


def _tell_unmatched(unmatched: list[Seeker], active: Active) -> None:
    """after_hours:no_matches with how many other people are active within reach (docs/contract.md, D16).

    The loaded active sessions cover every initiator's reach (the whole table for a sweep, the
    box around the initiators otherwise), so no further query is needed.
    """
    if not unmatched:
        return
    index = BandIndex(active.points())
    batch = []
    for seeker in unmatched:
        # The user's own session is among the points, at distance 0.
        others = index.count_within(seeker.lat, seeker.lng, seeker.max_distance_km) - 1
        batch.append(events.no_matches(seeker.user_id, max(0, others)))
    events.publish(batch)
