"""ChatApiService and the push-token calls of NotificationService, as the app calls them (chat
host, `/api/v1/...`): matches, history, sending, unread counts, mark-read, unmatch, FCM tokens."""

from __future__ import annotations

import pytest

from chat.models import Message
from profiles.models import FcmToken, Match
from tests.chat.rest_support import like, make_match, make_message, make_user
from tests.client import dart

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    return alice, bob, make_match(alice, bob)


def test_matches_list_reads_as_the_match_model(app, pair):
    alice, bob, match_id = pair
    reply = app(alice).get(f"/api/v1/matches/{alice}")
    assert reply.status == 200
    [match] = dart.cast(reply.body["matches"], "List", "matches")
    match = dart.read(match, **dart.MATCH)
    assert (match["id"], match["userId1"], match["userId2"]) == (match_id, alice, bob)


def test_create_match_answers_200_with_the_match(app):
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    like(alice, bob)
    like(bob, alice)
    reply = app(alice).post("/api/v1/matches", {"userId1": alice, "userId2": bob})
    assert reply.status == 200, reply  # createMatch accepts 200 only
    match = dart.read(reply.body["match"], **dart.MATCH)
    assert (match["userId1"], match["userId2"]) == (alice, bob)
    assert reply.body.get("alreadyExists") is not True  # the app reads `alreadyExists == true`
    again = app(alice).post("/api/v1/matches", {"userId1": alice, "userId2": bob})
    assert (again.status, again.body["alreadyExists"], again.body["match"]["id"]) == (200, True, match["id"])


def test_send_message_and_read_the_history(app, pair):
    alice, bob, match_id = pair
    reply = app(alice).post("/api/v1/messages", {"matchId": match_id, "senderId": alice, "text": "Hello Bob"})
    assert reply.status == 200, reply  # sendMessage accepts 200 only
    sent = dart.message(reply.body["message"])
    assert (sent["matchId"], sent["senderId"], sent["text"]) == (match_id, alice, "Hello Bob")

    history = app(bob).get(f"/api/v1/messages/{match_id}")
    assert history.status == 200
    messages = [dart.message(m) for m in dart.cast(history.body["messages"], "List", "messages")]
    assert [(m["id"], m["senderId"], m["text"]) for m in messages] == [(sent["id"], alice, "Hello Bob")]


def test_unread_counts_and_mark_read(app, pair):
    alice, bob, match_id = pair
    for text in ("one", "two"):
        make_message(match_id, bob, text)
    reply = app(alice).get(f"/api/v1/matches/{alice}/unread-counts")
    assert reply.status == 200
    counts = dart.cast(reply.body["unreadCounts"], "Map", "unreadCounts")
    assert {k: dart.cast(v, "int", k) for k, v in counts.items()} == {match_id: 2}

    reply = app(alice).put(f"/api/v1/messages/{match_id}/mark-read", {"userId": alice})
    assert reply.status == 200, reply
    assert app(alice).get(f"/api/v1/matches/{alice}/unread-counts").body["unreadCounts"] in (
        {},
        {match_id: 0},
    )


def test_unmatch(app, pair):
    alice, _, match_id = pair
    reply = app(alice).delete(f"/api/v1/matches/{match_id}")
    assert (reply.status, reply.body["success"]) == (200, True)
    assert not Match.objects.filter(pk=match_id).exists()


def test_push_token_register_and_unregister(app):
    alice = make_user(name="Alice")
    reply = app(alice).post("/api/v1/fcm/register", {"token": "fcm-token-1", "deviceType": "android"})
    assert (reply.status, reply.body["success"]) == (200, True), reply
    assert list(FcmToken.objects.filter(user_id=alice).values_list("token", "device_type")) == [
        ("fcm-token-1", "android")
    ]
    reply = app(alice).post("/api/v1/fcm/unregister", {"token": "fcm-token-1"})
    assert (reply.status, reply.body["success"]) == (200, True), reply
    assert FcmToken.objects.filter(user_id=alice, is_active=True).count() == 0
    assert Message.objects.count() == 0
