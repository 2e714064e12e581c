"""The matching engine on seeded sessions at known coordinates (docs/contract.md, "Matching", D12)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from profiles.after_hours.matching import haversine_km, round1
from profiles.after_hours.services.matching import matching_run
from profiles.models import AfterHoursDecline, AfterHoursMatch, AfterHoursSession, Block
from tests.after_hours.conftest import make_member, open_session, queued_tasks
from tests.support.race import race
from vlvt.http.api import iso

pytestmark = pytest.mark.django_db

# Berlin; 0.009 degrees of latitude is 1.0 km.
LAT, LNG = 52.52, 13.405
KM = 0.009


def seeker(
    user_id: str,
    km_north: float = 0.0,
    *,
    gender: str | None = "Female",
    age: int | None = 30,
    seeking: str = "Any",
    max_km: int = 10,
    min_age: int = 18,
    max_age: int = 99,
    waited: int = 0,
    minutes: float = 30,
) -> AfterHoursSession:
    """A member with preferences and an open session `km_north` km north of the origin, started
    `waited` seconds ago (initiators are served longest-waiting first)."""
    make_member(
        user_id,
        gender=gender,
        age=age,
        prefs={"seeking_gender": seeking, "max_distance_km": max_km, "min_age": min_age, "max_age": max_age},
    )
    started = timezone.now() - timedelta(seconds=waited)
    return open_session(user_id, round(LAT + km_north * KM, 6), LNG, started=started, minutes=minutes)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """matching_run with its after-commit work (events, delayed jobs) executed."""

    def _run(session_ids=None):
        with django_capture_on_commit_callbacks(execute=True):
            return matching_run(session_ids=session_ids)

    return _run


def active_pairs() -> set[frozenset[str]]:
    rows = AfterHoursMatch.objects.filter(declined_by__isnull=True, expires_at__gt=timezone.now())
    return {frozenset((m.user_1_id, m.user_2_id)) for m in rows}


def test_nearest_compatible_candidate_is_chosen(run, listener):
    first = seeker("alice", 0, waited=60)
    seeker("bob", 1.0)
    carol = seeker("carol", 0.5)
    seeker("dave", 2.0)
    result = run()
    assert active_pairs() == {frozenset({"alice", "carol"}), frozenset({"bob", "dave"})}
    match = AfterHoursMatch.objects.get(user_1_id="alice")
    assert (match.session_id, match.user_2_id) == (first.id, "carol")
    assert match.created_at is not None
    assert match.expires_at == match.created_at + timedelta(minutes=10)
    assert {m.id for m in result.created} == set(AfterHoursMatch.objects.values_list("id", flat=True))

    heard = {(e.type, e.target): e.payload for e in listener.drain()}
    distance = round1(haversine_km(LAT, LNG, float(carol.fuzzed_latitude), LNG))
    assert distance == 0.5
    common = {
        "matchId": str(match.id),
        "expiresAt": iso(match.expires_at),
        "autoDeclineAt": iso(match.created_at + timedelta(minutes=5)),
    }
    # The partner under `profile` (the original) and the same facts flat (what the mobile app reads).
    assert heard[("after_hours:match", "alice")] == {
        **common,
        "profile": {
            "userId": "carol",
            "name": "Carol",
            "age": 30,
            "photoUrl": None,
            "description": None,
            "distance": 0.5,
        },
        "id": str(match.id),
        "otherUserId": "carol",
        "name": "Carol",
        "age": 30,
        "photoUrl": None,
        "bio": None,
        "distance": 0.5,
    }
    assert heard[("after_hours:match", "carol")] == {
        **common,
        "profile": {
            "userId": "alice",
            "name": "Alice",
            "age": 30,
            "photoUrl": None,
            "description": None,
            "distance": 0.5,
        },
        "id": str(match.id),
        "otherUserId": "alice",
        "name": "Alice",
        "age": 30,
        "photoUrl": None,
        "bio": None,
        "distance": 0.5,
    }
    assert sorted(heard) == [("after_hours:match", u) for u in ("alice", "bob", "carol", "dave")]
    [task] = queued_tasks()  # one auto-decline job for every match of the run
    assert task.task == "after_hours.auto_decline"
    assert sorted(task.args[0]) == sorted(
        str(m) for m in AfterHoursMatch.objects.values_list("id", flat=True)
    )
    assert task.eta is not None and match.created_at is not None
    assert abs((task.eta - match.created_at - timedelta(minutes=5)).total_seconds()) < 2


def test_match_expiry_is_the_earliest_of_both_sessions_and_ten_minutes(run):
    seeker("alice", 0, waited=10, minutes=30)
    short = seeker("bob", 0.2, minutes=6)
    run()
    match = AfterHoursMatch.objects.get()
    assert match.expires_at == short.expires_at


def test_ties_are_broken_by_user_id(run):
    seeker("alice", 0, waited=10)
    seeker("zed", 1.0)
    seeker("mia", 1.0)  # the same point: an exact tie
    run([AfterHoursSession.objects.get(user_id="alice").id])
    assert active_pairs() == {frozenset({"alice", "mia"})}


def test_longest_waiting_initiator_goes_first(run):
    seeker("alice", 0, waited=5)
    seeker("bob", 1.0, waited=50)
    seeker("carol", 0.6)
    run()
    # bob waited longest and takes carol (0.4 km from him) although carol is nearer to alice.
    assert active_pairs() == {frozenset({"bob", "carol"})}


SYMMETRY_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], float]] = {
    # name: (alice's kwargs, bob's kwargs, bob's distance from alice in km)
    "bob's distance limit": ({"max_km": 10}, {"max_km": 2}, 3.0),
    "alice's distance limit": ({"max_km": 2}, {"max_km": 10}, 3.0),
    "bob's age range": ({"age": 30}, {"age": 40, "max_age": 29}, 1.0),
    "alice's age range": ({"age": 30, "min_age": 41}, {"age": 40}, 1.0),
    "bob's gender wish": ({"gender": "Female"}, {"gender": "Male", "seeking": "Male"}, 1.0),
    "alice's gender wish": ({"gender": "Female", "seeking": "Female"}, {"gender": "Male"}, 1.0),
    "no gender meets a specific wish": ({"gender": None}, {"gender": "Male", "seeking": "Female"}, 1.0),
    "no age meets any range": ({"age": None}, {"age": 40}, 1.0),
}


@pytest.mark.parametrize("case", sorted(SYMMETRY_CASES))
@pytest.mark.parametrize("initiator", ["alice", "bob"])
def test_every_filter_is_checked_both_ways(run, case, initiator):
    alice_kw, bob_kw, distance = SYMMETRY_CASES[case]
    seeker("alice", 0, **alice_kw)
    seeker("bob", distance, **bob_kw)
    run([AfterHoursSession.objects.get(user_id=initiator).id])
    run()
    assert active_pairs() == set()


@pytest.mark.parametrize(
    ("alice_gender", "bob_seeks"), [("Non-Binary", "Non-binary"), ("female", "FEMALE"), (None, "Any")]
)
def test_gender_is_compared_without_case(run, alice_gender, bob_seeks):
    seeker("alice", 0, gender=alice_gender, seeking="Male")
    seeker("bob", 1.0, gender="male", seeking=bob_seeks)
    run()
    assert active_pairs() == {frozenset({"alice", "bob"})}


@pytest.mark.parametrize("blocker", ["alice", "bob"])
def test_blocks_in_either_direction_prevent_a_match(run, blocker):
    seeker("alice", 0)
    seeker("bob", 1.0)
    other = "bob" if blocker == "alice" else "alice"
    Block.objects.create(user_id=blocker, blocked_user_id=other)
    run()
    assert active_pairs() == set()


@pytest.mark.parametrize(
    ("decliner", "count", "matched"), [("alice", 1, False), ("bob", 2, False), ("alice", 3, True)]
)
def test_decline_memory(run, decliner, count, matched):
    sessions = {"alice": seeker("alice", 0), "bob": seeker("bob", 1.0)}
    other = "bob" if decliner == "alice" else "alice"
    AfterHoursDecline.objects.create(
        user_id=decliner, declined_user_id=other, session=sessions[decliner], decline_count=count
    )
    run()
    assert active_pairs() == ({frozenset({"alice", "bob"})} if matched else set())


def test_a_declined_pair_is_not_matched_again_but_others_are(api, run):
    seeker("alice", 0, waited=10)
    seeker("bob", 0.5)
    seeker("carol", 3.0)
    run()
    match = AfterHoursMatch.objects.get()
    assert {match.user_1_id, match.user_2_id} == {"alice", "bob"}
    assert api("alice").post("/after-hours/match/decline", {"matchId": str(match.id)}).status_code == 200
    run()
    # Both alice and bob are free again; alice may not meet bob, so carol takes one of them.
    pairs = active_pairs()
    assert frozenset({"alice", "bob"}) not in pairs and len(pairs) == 1


def test_busy_nearest_person_does_not_starve_the_initiator(run):
    seeker("alice", 0, waited=10)
    bob = seeker("bob", 0.2)
    seeker("carol", 0.3)
    seeker("dave", 4.0)
    AfterHoursMatch.objects.create(
        session=bob, user_1_id="bob", user_2_id="carol", expires_at=timezone.now() + timedelta(minutes=5)
    )
    run()
    assert active_pairs() == {frozenset({"bob", "carol"}), frozenset({"alice", "dave"})}


def test_pair_is_not_matched_twice_in_the_same_sessions(run):
    alice = seeker("alice", 0, waited=10)
    seeker("bob", 0.5)
    AfterHoursMatch.objects.create(
        session=alice,
        user_1_id="alice",
        user_2_id="bob",
        created_at=timezone.now() - timedelta(minutes=6),
        expires_at=timezone.now() - timedelta(seconds=1),  # timed out
    )
    run()
    assert active_pairs() == set()


@pytest.mark.parametrize("missing", ["preferences", "after_hours_profile", "time"])
def test_sessions_that_cannot_match_are_left_out(run, missing):
    seeker("alice", 0)
    if missing == "preferences":
        make_member("bob", gender="Male")
        open_session("bob", LAT + KM, LNG)
    elif missing == "after_hours_profile":
        make_member("bob", gender="Male", ah_profile=False, prefs={})
        open_session("bob", LAT + KM, LNG)
    else:
        seeker("bob", 1.0, minutes=1.9)  # less than the 2 minutes matching needs
    run()
    assert active_pairs() == set()


def test_unmatched_users_hear_how_many_others_are_nearby(run, listener):
    seeker("alice", 0, max_km=5, seeking="Male")
    seeker("bob", 1.0)  # female: not what alice seeks, but active nearby
    make_member("carol")
    open_session("carol", LAT + 4 * KM, LNG)  # no preferences: still active
    make_member("dave")
    open_session("dave", LAT + 6 * KM, LNG)  # beyond alice's 5 km
    run()
    heard = [(e.type, e.target, e.payload) for e in listener.drain()]
    message = "No matches available right now. Stay active!"
    assert sorted(heard, key=lambda h: h[1]) == [
        # nearbyCount: the mobile app's name for activeUsersNearby
        ("after_hours:no_matches", "alice", {"activeUsersNearby": 2, "message": message, "nearbyCount": 2}),
        ("after_hours:no_matches", "bob", {"activeUsersNearby": 3, "message": message, "nearbyCount": 3}),
    ]


def test_event_driven_run_only_initiates_for_its_sessions(run, listener):
    seeker("alice", 0, waited=30)
    seeker("bob", 0.5, waited=20)
    carol = seeker("carol", 5.0)
    seeker("dave", 5.3)
    run([carol.id])
    assert active_pairs() == {frozenset({"carol", "dave"})}
    assert sorted(e.target for e in listener.drain()) == ["carol", "dave"]


def _seed_city(n: int) -> None:
    for i in range(n):
        seeker(f"u{i:03d}", (i % 10) * 0.3, gender="Male" if i % 2 else "Female", age=25 + i % 20, waited=i)


def _queries_for_a_sweep(run, n: int) -> int:
    _seed_city(n)
    with CaptureQueriesContext(connection) as captured:
        run()
    AfterHoursMatch.objects.all().delete()
    AfterHoursSession.objects.all().delete()
    from profiles.models import User

    User.objects.all().delete()
    return len(captured.captured_queries)


def test_a_sweep_issues_the_same_queries_for_any_pool_size(run):
    small = _queries_for_a_sweep(run, 10)
    large = _queries_for_a_sweep(run, 60)
    # pool, exclusions, lock, busy check, insert, profile cards, the savepoint pair
    assert small == large == 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_never_double_book_anyone():
    for i in range(40):
        seeker(f"u{i:02d}", (i % 8) * 0.25, gender="Male" if i % 3 else "Female", waited=i % 7)

    def sweep(_: int) -> None:
        for _ in range(3):
            matching_run()

    errors = [outcome for outcome in race(4, sweep) if outcome is not None]
    assert errors == []
    active = AfterHoursMatch.objects.filter(declined_by__isnull=True, expires_at__gt=timezone.now())
    users = [u for m in active for u in (m.user_1_id, m.user_2_id)]
    assert len(users) == len(set(users))
    assert len(active) == 20  # and everyone found someone: nobody starved by the races
