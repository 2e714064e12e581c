"""Query counts of the hot paths, pinned (a regression here is a benchmark regression)."""

from __future__ import annotations

import pytest

from chat import services
from chat.models import Message
from profiles.models import UserSubscription
from tests.chat.rest_support import Api, make_match, make_message, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat_pair():
    a, b = make_user(), make_user()
    match_id = make_match(a, b)
    for i in range(60):
        make_message(match_id, b, f"m{i}")  # the partner: a keeps a free daily allowance
    return a, b, match_id


def test_history_page_is_one_query(client, chat_pair, django_assert_num_queries):
    a, _, match_id = chat_pair
    api = Api(client, a)
    with django_assert_num_queries(1):  # membership and the page together
        status, body = api.get(f"/messages/{match_id}?limit=50")
    assert (status, len(body["messages"]), body["pagination"]["hasMore"]) == (200, 50, True)


def test_history_of_a_match_without_messages_and_of_none(client, django_assert_num_queries):
    a, b = make_user(), make_user()
    match_id = make_match(a, b)
    api = Api(client, a)
    with django_assert_num_queries(1):
        status, body = api.get(f"/messages/{match_id}?limit=50")
    assert (status, body["messages"], body["pagination"]) == (
        200,
        [],
        {"limit": 50, "hasMore": False, "oldestTimestamp": None, "newestTimestamp": None},
    )
    with django_assert_num_queries(1):
        status, body = api.get("/messages/match_that_does_not_exist?limit=50")
    assert (status, body["error"]) == (403, "Forbidden: You are not part of this match")


def test_matches_list_is_one_query(client, chat_pair, django_assert_num_queries):
    a, _, _ = chat_pair
    for _ in range(5):
        make_match(a, make_user())
    with django_assert_num_queries(1):
        status, body = Api(client, a).get(f"/matches/{a}")
    assert (status, len(body["matches"])) == (200, 6)


def test_free_send_queries(chat_pair, django_assert_num_queries):
    a, _, match_id = chat_pair
    # Nested in the test's transaction, each stage in a savepoint: the send's statement (checks; no
    # insert for a free-tier sender); then the advisory lock and the statement again, counting today's
    # messages and inserting. Outside a transaction: the statement, BEGIN, lock, statement, COMMIT.
    with django_assert_num_queries(7):
        services.message_send(sender_id=a, match_id=match_id, text="hi")


def test_premium_send_queries(chat_pair, django_assert_num_queries):
    a, _, match_id = chat_pair
    UserSubscription.objects.create(user_id=a, is_active=True)
    # savepoint; the send's one statement (checks and insert); release. Outside a transaction: the
    # one statement.
    with django_assert_num_queries(3):
        services.message_send(sender_id=a, match_id=match_id, text="hi")


def test_send_with_temp_id_needs_no_lookup_first(chat_pair, django_assert_num_queries):
    a, _, match_id = chat_pair
    UserSubscription.objects.create(user_id=a, is_active=True)
    with django_assert_num_queries(3):  # as without a tempId: the unique index checks it
        first = services.message_send(sender_id=a, match_id=match_id, text="hi", temp_id="t1")
    # A resend: savepoint; the statement, whose insert meets the index; release; the original.
    with django_assert_num_queries(4):
        again = services.message_send(sender_id=a, match_id=match_id, text="hi", temp_id="t1")
    assert (first.created, again.created, again.message) == (True, False, first.message)
    assert Message.objects.filter(match_id=match_id, sender_id=a).count() == 1


def test_a_send_to_a_recipient_named_reachable_is_stored_delivered_by_its_insert(
    chat_pair, django_assert_num_queries
):
    a, b, match_id = chat_pair
    UserSubscription.objects.create(user_id=a, is_active=True)
    with django_assert_num_queries(3):  # as any premium send: no UPDATE after the insert
        result = services.message_send(sender_id=a, match_id=match_id, text="hi", delivered_to={b})
    row = Message.objects.get(pk=result.message["id"])
    assert (result.created, result.delivered, result.message["status"]) == (True, True, "sent")
    assert (row.status, row.delivered_at) == ("delivered", row.created_at)

    other = services.message_send(sender_id=a, match_id=match_id, text="again", delivered_to={"someone"})
    row = Message.objects.get(pk=other.message["id"])
    assert (other.delivered, row.status, row.delivered_at) == (False, "sent", None)
