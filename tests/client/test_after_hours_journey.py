"""The whole After Hours journey as the app makes it, against a real Daphne and a real Celery
worker with beat (the After Hours end-to-end machinery, with its shortened timings): profile with
`bio` and photo, preferences in snake_case, session start, `nearbyCount` while searching alone,
the match card from the flat fields of `after_hours:match`, chat, a save by each with the mutual
save heard by the first saver, and the permanent match the chat became."""

from __future__ import annotations

import pytest

from tests.after_hours.conftest import make_member
from tests.after_hours.test_e2e import FAST
from tests.client import dart
from tests.client.conftest import Remote
from tests.profiles import imagegen
from tests.support.jsclient import JsClient
from tests.support.servers import beat_workers
from tests.support.sockets import daphne_server, own_events_channel
from vlvt.http.auth import mint_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

# AfterHoursMatch.fromJson
MATCH_CARD = {
    "id": "String?",
    "matchId": "String?",
    "otherUserId": "String?",
    "name": "String?",
    "age": "int?",
    "photoUrl": "String?",
    "bio": "String?",
    "distance": "num?",
    "autoDeclineAt": "DateTime?",
}


@pytest.fixture
def servers(tmp_path):
    """Daphne (the app's one server for both hosts) and a worker with beat, on one events channel."""
    env = {**FAST, "AFTER_HOURS_EVENTS_CHANNEL": own_events_channel()}
    media = str(tmp_path / "media")
    with (
        daphne_server(**env, MEDIA_ROOT=media, R2_ACCOUNT_ID="") as daphne,
        beat_workers(tmp_path) as start_worker,
    ):
        start_worker("--concurrency", "1", **env, CELERY_VISIBILITY_TIMEOUT="30")
        yield daphne


def set_up(http: Remote, bio: str, seeking: str) -> None:
    """The After Hours profile and preferences screens."""
    assert http.post("/api/v1/after-hours/profile", {"bio": bio}).status == 201
    photo = {"photo": ("IMG_2041.jpg", imagegen.jpeg_with_gps(900, 1200), "image/jpeg")}
    reply = http.request("POST", "/api/v1/after-hours/profile/photo", files=photo)
    assert reply.status == 200, reply
    photo_url = dart.cast(reply.body["photo_url"], "String", "photo_url")
    prefs = {"gender_seeking": seeking, "min_age": 21, "max_age": 45, "max_distance_km": 25.0}
    assert http.post("/api/v1/after-hours/preferences", prefs).status == 201
    # loadAll(): isSetupComplete needs photo_url and bio, and gender_seeking
    profile = dart.read(
        http.get("/api/v1/after-hours/profile").body["profile"], photo_url="String?", bio="String?"
    )
    assert profile["bio"] == bio and profile["photo_url"].split("?")[0] == photo_url.split("?")[0]
    assert (
        http.get("/api/v1/after-hours/preferences").body["preferences"]["gender_seeking"] == seeking.title()
    )


def test_the_after_hours_journey_of_the_app(servers):
    alice = make_member("alice_ah", gender="Female", age=28, name="Alice", ah_profile=False).id
    bob = make_member("bob_ah", gender="Male", age=31, name="Bob", ah_profile=False).id
    http = {alice: Remote(servers.base_url, alice), bob: Remote(servers.base_url, bob)}
    set_up(http[alice], "Night owl, jazz bars", "male")
    set_up(http[bob], "Up for late noodles", "female")

    with JsClient() as js:
        for user in (alice, bob):
            assert js.connect(user, servers.base_url, auth={"token": mint_token(user)})["connected"] is True

        for user, lat in ((alice, 52.520), (bob, 52.525)):
            body = {
                "duration": 60,
                "latitude": lat,
                "longitude": 13.405,
                "deviceFingerprint": {"platform": "android"},
            }
            reply = http[user].post("/api/v1/after-hours/session/start", body)
            assert reply.status == 201, reply
            dart.read(reply.body["session"], id="String", expiresAt="DateTime")
            if user == alice:
                # Alone at first: the searching screen shows `nearbyCount` from no_matches.
                [searching] = js.wait_event(alice, "after_hours:no_matches", timeout=30)
                assert dart.read(searching, nearbyCount="int?") == {"nearbyCount": 0}
                assert searching["activeUsersNearby"] == 0  # the original's name stays

        # The match card, from the flat fields (it showed "Unknown", age 0 and no photo before).
        cards = {}
        for user, other, name, age, bio in (
            (alice, bob, "Bob", 31, "Up for late noodles"),
            (bob, alice, "Alice", 28, "Night owl, jazz bars"),
        ):
            [payload] = js.wait_event(user, "after_hours:match", timeout=30)
            card = dart.read(payload, **MATCH_CARD)
            assert (card["otherUserId"], card["name"], card["age"], card["bio"]) == (other, name, age, bio)
            assert (
                card["photoUrl"].startswith("/uploads/") and card["distance"] >= 0 and card["autoDeclineAt"]
            )
            assert card["id"] == card["matchId"]
            assert payload["profile"]["name"] == name  # the original's nesting stays
            cards[user] = card
        match_id = cards[alice]["id"]
        assert cards[bob]["id"] == match_id

        # acceptMatch(): join the chat room, then talk.
        for user in (alice, bob):
            js.emit(user, "after_hours:join_chat", {"matchId": match_id}, ack=False)
        ack = js.emit(
            alice,
            "after_hours:send_message",
            {"matchId": match_id, "text": "Noodles it is?", "tempId": "temp_1"},
        )
        sent = dart.message(ack["message"])
        [incoming] = js.wait_event(bob, "after_hours:new_message")
        assert dart.message(incoming)["id"] == sent["id"]
        assert js.emit(bob, "after_hours:mark_read", {"matchId": match_id})["success"] is True
        [read] = js.wait_event(alice, "after_hours:messages_read")
        assert (read["matchId"], read["messageIds"]) == (match_id, [sent["id"]])

        # Saving: Alice first, then Bob; Alice's chat screen filters match_saved on matchId.
        first = http[alice].post(f"/api/after-hours/matches/{match_id}/save")
        assert (first.status, first.body["mutualSave"]) == (200, False)
        [partner_saved] = js.wait_event(bob, "after_hours:partner_saved")
        assert partner_saved["matchId"] == match_id
        second = http[bob].post(f"/api/after-hours/matches/{match_id}/save")
        assert (second.status, second.body["mutualSave"]) == (200, True)
        permanent_id = dart.cast(second.body["permanentMatchId"], "String", "permanentMatchId")
        [saved] = js.wait_event(alice, "after_hours:match_saved")
        assert dart.read(saved, matchId="String?", permanentMatchId="String?") == {
            "matchId": match_id,
            "permanentMatchId": permanent_id,
        }

    # The chat is now a permanent match in the main app, with its messages.
    matches = http[alice].get(f"/api/v1/matches/{alice}").body["matches"]
    assert [(m["id"], {m["userId1"], m["userId2"]}) for m in matches] == [(permanent_id, {alice, bob})]
    history = http[bob].get(f"/api/v1/messages/{permanent_id}").body["messages"]
    assert [(dart.message(m)["senderId"], m["text"]) for m in history] == [(alice, "Noodles it is?")]
