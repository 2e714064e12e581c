"""POST /swipes, GET /swipes/received, GET /swipes/sent (docs/contract.md, "Swipes", D9, D10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.models import Block, FcmToken, Match, Swipe, TicketLedger
from tests.profiles.conftest import add_token, make_user
from tests.support.race import race

pytestmark = pytest.mark.django_db


def swipe(api, user_id: str, target: str, action: str = "like"):
    return api(user_id).post("/swipes", {"targetUserId": target, "action": action})


def test_like_and_pass_are_recorded_and_upserted(api):
    make_user("alice")
    make_user("bob")

    like = swipe(api, "alice", "bob")
    assert (like.status_code, like.json()) == (
        200,
        {"success": True, "action": "like", "isMatch": False, "message": "Like recorded"},
    )
    first_time = Swipe.objects.get(user_id="alice").created_at

    passed = swipe(api, "alice", "bob", "pass")
    assert passed.json() == {"success": True, "action": "pass", "isMatch": False, "message": "Pass recorded"}
    row = Swipe.objects.get(user_id="alice", target_user_id="bob")
    assert row.created_at is not None and first_time is not None
    assert row.action == "pass" and row.created_at >= first_time
    assert Swipe.objects.count() == 1
    assert not Match.objects.exists()


def test_mutual_like_creates_one_match_tickets_and_pushes(api, push, django_capture_on_commit_callbacks):
    make_user("alice", name="Alice")
    make_user("bob", name="Bob")
    add_token("alice", "tok-alice")
    add_token("bob", "tok-bob-1")
    add_token("bob", "tok-bob-dead")
    FcmToken.objects.create(user_id="bob", token="tok-bob-off", device_type="ios", is_active=False)
    push.invalid.add("tok-bob-dead")

    swipe(api, "alice", "bob")
    with django_capture_on_commit_callbacks(execute=True):
        response = swipe(api, "bob", "alice")

    assert response.json() == {"success": True, "action": "like", "isMatch": True, "message": "It's a match!"}
    match = Match.objects.get()
    assert (match.user_1_id, match.user_2_id, match.source) == ("bob", "alice", "swipe")
    assert match.id.startswith("match_") and len(match.id) == 42
    assert sorted(TicketLedger.objects.values_list("user_id", "reason", "amount", "reference_id")) == [
        ("alice", "first_match", 1, match.id),
        ("bob", "first_match", 1, match.id),
    ]
    sent = {tuple(tokens): message for tokens, message in push.sent}
    assert set(sent) == {("tok-bob-1", "tok-bob-dead"), ("tok-alice",)}
    to_bob, to_alice = sent[("tok-bob-1", "tok-bob-dead")], sent[("tok-alice",)]
    assert (to_bob.title, to_bob.body) == ("🎉 It's a match!", "You and Alice liked each other!")
    assert to_bob.data == {
        "type": "match",
        "matchId": match.id,
        "matchedUserName": "Alice",
        "click_action": "FLUTTER_NOTIFICATION_CLICK",
    }
    assert (to_bob.android_channel_id, to_bob.badge) == ("matches", 1)
    assert to_alice.data["matchedUserName"] == "Bob" and to_alice.body == "You and Bob liked each other!"
    # The token FCM called unregistered is switched off; the others are untouched.
    assert dict(FcmToken.objects.filter(user_id="bob").values_list("token", "is_active")) == {
        "tok-bob-1": True,
        "tok-bob-dead": False,
        "tok-bob-off": False,
    }


def test_re_like_and_reverse_order_never_duplicate_the_match(api, push, django_capture_on_commit_callbacks):
    make_user("alice")
    make_user("bob")
    add_token("alice", "t1")
    swipe(api, "alice", "bob")
    with django_capture_on_commit_callbacks(execute=True):
        swipe(api, "bob", "alice")
    pushes = len(push.sent)

    with django_capture_on_commit_callbacks(execute=True):
        again = swipe(api, "alice", "bob")
        again_reverse = swipe(api, "bob", "alice")

    assert again.json()["isMatch"] is True and again_reverse.json()["isMatch"] is True
    assert Match.objects.count() == 1
    assert TicketLedger.objects.count() == 2
    assert len(push.sent) == pushes  # an existing match is not announced again


def test_first_match_ticket_is_paid_once_per_user(api):
    for uid in ("alice", "bob", "carol"):
        make_user(uid)
    swipe(api, "alice", "bob")
    swipe(api, "bob", "alice")
    swipe(api, "carol", "alice")
    swipe(api, "alice", "carol")
    assert Match.objects.count() == 2
    assert sorted(TicketLedger.objects.values_list("user_id", flat=True)) == ["alice", "bob", "carol"]


def test_match_with_existing_reversed_row_reuses_it(api, push, django_capture_on_commit_callbacks):
    make_user("alice")
    make_user("bob")
    add_token("alice", "t1")
    Match.objects.create(id="match_existing", user_1_id="alice", user_2_id="bob")
    swipe(api, "alice", "bob")
    with django_capture_on_commit_callbacks(execute=True):
        assert swipe(api, "bob", "alice").json()["isMatch"] is True
    assert list(Match.objects.values_list("id", flat=True)) == ["match_existing"]
    assert push.sent == []


def test_swipe_validation_errors(api):
    make_user("alice")
    make_user("bob")
    cases = [
        ({}, 400, "targetUserId and action are required"),
        ({"targetUserId": "bob"}, 400, "targetUserId and action are required"),
        ({"action": "like"}, 400, "targetUserId and action are required"),
        ({"targetUserId": "bob", "action": "superlike"}, 400, 'action must be "like" or "pass"'),
        ({"targetUserId": "bob", "action": ["like"]}, 400, 'action must be "like" or "pass"'),
        ({"targetUserId": "alice", "action": "like"}, 400, "Cannot swipe on yourself"),
        ({"targetUserId": "nobody", "action": "like"}, 404, "Target user not found"),
        ({"targetUserId": 42, "action": "like"}, 404, "Target user not found"),
    ]
    for body, status, error in cases:
        response = api("alice").post("/swipes", body)
        assert (response.status_code, response.json()) == (status, {"success": False, "error": error}), body
    empty = api("alice").post("/swipes")
    assert (empty.status_code, empty.json()) == (
        400,
        {"success": False, "error": "targetUserId and action are required"},
    )
    assert not Swipe.objects.exists()


def test_caller_without_a_user_row_gets_400(api):
    make_user("bob")
    response = api("deleted_account").post("/swipes", {"targetUserId": "bob", "action": "like"})
    assert (response.status_code, response.json()) == (
        400,
        {"success": False, "error": "Invalid user reference"},
    )
    assert not Swipe.objects.exists()


def test_blocks_are_respected_both_ways(api):
    for uid in ("alice", "bob", "carol"):
        make_user(uid)
    Block.objects.create(user_id="alice", blocked_user_id="bob")
    Block.objects.create(user_id="carol", blocked_user_id="alice")
    for target in ("bob", "carol"):
        response = swipe(api, "alice", target)
        assert (response.status_code, response.json()) == (
            404,
            {"success": False, "error": "Target user not found"},
        )
    assert swipe(api, "bob", "alice").status_code == 404
    assert not Swipe.objects.exists()


def test_received_and_sent(api):
    make_user("alice", photos=["photos/bob/x.jpg"])
    make_user("bob", age=33, photos=["https://cdn.example.com/b.jpg"])
    make_user("carol", age=41)
    make_user("dave")
    swipe(api, "bob", "alice")
    swipe(api, "carol", "alice")
    swipe(api, "dave", "alice", "pass")
    swipe(api, "alice", "bob")
    swipe(api, "alice", "dave", "pass")
    now = timezone.now()
    Swipe.objects.filter(user_id="bob", target_user_id="alice").update(created_at=now - timedelta(hours=2))
    Swipe.objects.filter(user_id="carol", target_user_id="alice").update(created_at=now - timedelta(hours=1))

    received = api("alice").get("/swipes/received").json()
    sent = api("alice").get("/swipes/sent").json()

    bob_liked = Swipe.objects.get(user_id="bob", target_user_id="alice").created_at
    carol_liked = Swipe.objects.get(user_id="carol", target_user_id="alice").created_at
    iso = lambda d: d.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # noqa: E731
    assert received == {
        "success": True,
        "likes": [
            {"userId": "carol", "name": "Carol", "age": 41, "photos": [], "likedAt": iso(carol_liked)},
            {
                "userId": "bob",
                "name": "Bob",
                "age": 33,
                "photos": ["https://cdn.example.com/b.jpg"],
                "likedAt": iso(bob_liked),
            },
        ],
    }
    alice_liked = Swipe.objects.get(user_id="alice", target_user_id="bob").created_at
    assert sent == {
        "success": True,
        "likes": [
            {
                "target_user_id": "bob",
                "name": "Bob",
                "age": 33,
                "photos": ["https://cdn.example.com/b.jpg"],
                "created_at": iso(alice_liked),
            }
        ],
    }
    assert api("dave").get("/swipes/received").json() == {"success": True, "likes": []}


@pytest.mark.django_db(transaction=True)
def test_simultaneous_mutual_likes_make_one_match_and_one_ticket_each(api, push):
    """Both users like each other at the same moment, 20 times over: one match, one ticket each."""
    for round_ in range(20):
        a, b = f"a{round_}", f"b{round_}"
        make_user(a)
        make_user(b)

        def like(i: int, pairs: tuple[tuple[str, str], ...] = ((a, b), (b, a))) -> dict:
            return swipe(api, *pairs[i]).json()

        answers = race(2, like)
        results: dict[str, dict] = {a: answers[0], b: answers[1]}

        assert {r["message"] for r in results.values()} <= {"It's a match!", "Like recorded"}
        assert sorted(r["isMatch"] for r in results.values()) == [False, True]
        assert Match.objects.filter(user_1_id__in=[a, b], user_2_id__in=[a, b]).count() == 1
        assert sorted(TicketLedger.objects.filter(user_id__in=[a, b]).values_list("user_id", "reason")) == [
            (a, "first_match"),
            (b, "first_match"),
        ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticket_awards_pay_once():
    from profiles.services.tickets import ticket_award_once

    make_user("alice")
    paid = race(8, lambda _: ticket_award_once(user_id="alice", reason="verification", reference_id="v"))
    assert sorted(paid) == [False] * 7 + [True]
    assert TicketLedger.objects.filter(user_id="alice").count() == 1
