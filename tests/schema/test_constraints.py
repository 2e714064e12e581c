"""The constraints, defaults and ON DELETE rules of the schema, exercised with real rows.

Rows are inserted with plain SQL where the point is what another service (auth-service, the
original Node services) gets from the database itself."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from chat.models import DateProposal, Message, ReadReceipt, Report, TypingIndicator, UserStatus
from profiles.models import (
    AfterHoursMatch,
    AfterHoursSession,
    Block,
    DeviceFingerprint,
    FcmToken,
    Match,
    Profile,
    Swipe,
    TicketLedger,
    User,
    UserSubscription,
)

pytestmark = pytest.mark.django_db


def sql(statement: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def rejected(statement: str, params=None) -> str:
    """Run a statement that must violate a constraint; return the constraint's name."""
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        sql(statement, params)
    cause = info.value.__cause__
    assert isinstance(cause, psycopg.Error) and cause.diag.constraint_name is not None
    return cause.diag.constraint_name


def user(user_id: str) -> User:
    return User.objects.create(id=user_id, provider="email", email=f"{user_id}@example.com")


def session_for(u: User, **extra) -> AfterHoursSession:
    return AfterHoursSession.objects.create(
        user=u,
        expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        latitude=Decimal("40.71280000"),
        longitude=Decimal("-74.00600000"),
        fuzzed_latitude=Decimal("40.71000000"),
        fuzzed_longitude=Decimal("-74.00000000"),
        **extra,
    )


def test_database_defaults_apply_to_rows_inserted_by_other_services():
    sql("INSERT INTO users (id, provider) VALUES ('google_1', 'google'), ('apple_2', 'apple')")
    assert sql(
        "SELECT id_verified, after_hours_consent, created_at IS NOT NULL FROM users WHERE id = 'google_1'"
    ) == [(False, False, True)]
    sql("INSERT INTO matches (id, user_id_1, user_id_2) VALUES ('match_x', 'google_1', 'apple_2')")
    assert sql("SELECT source FROM matches") == [("swipe",)]
    sql("INSERT INTO messages (id, match_id, sender_id, text) VALUES ('msg_x', 'match_x', 'google_1', 'hi')")
    assert sql("SELECT status, temp_id FROM messages") == [("sent", None)]
    sql("INSERT INTO swipes (user_id, target_user_id, action) VALUES ('google_1', 'apple_2', 'like')")
    (swipe_id,) = sql("SELECT id FROM swipes")[0]
    assert isinstance(swipe_id, uuid.UUID)
    sql("INSERT INTO fcm_tokens (user_id, token) VALUES ('google_1', 'a'), ('google_1', 'b')")
    # SERIAL: the sequence numbers them (sequences are not rolled back with the test, hence first + 1).
    ((first, active_a), (second, active_b)) = sql("SELECT id, is_active FROM fcm_tokens ORDER BY id")
    assert (second - first, active_a, active_b) == (1, True, True)
    sql("INSERT INTO after_hours_preferences (user_id) VALUES ('google_1')")
    assert sql("SELECT seeking_gender, max_distance_km, min_age, max_age FROM after_hours_preferences") == [
        ("Any", 10, 18, 99)
    ]
    sql(
        "INSERT INTO reports (id, reporter_id, reported_user_id, reason) VALUES ('report_x', 'google_1', 'apple_2', 'spam')"
    )
    assert sql("SELECT status FROM reports") == [("pending",)]
    sql("INSERT INTO user_subscriptions (user_id) VALUES ('google_1')")
    assert sql("SELECT is_active, expires_at FROM user_subscriptions") == [(False, None)]


def test_orm_creates_get_the_documented_ids_and_defaults():
    a, b = user("email_1_aaaaaaa"), user("email_2_bbbbbbb")
    match = Match.objects.create(user_1=a, user_2=b)
    assert match.id.startswith("match_") and uuid.UUID(match.id.removeprefix("match_"))
    assert match.source == "swipe"
    assert Block.objects.create(user=a, blocked_user=b).id.startswith("block_")
    message = Message.objects.create(match=match, sender=a, text="hello")
    assert message.id.startswith("msg_") and message.status == "sent" and message.created_at is not None
    assert Report.objects.create(reporter=a, reported_user=b, reason="spam").id.startswith("report_")
    receipt = ReadReceipt.objects.create(message=message, user=b)
    assert ReadReceipt.objects.get(pk=(message.id, b.id)).read_at == receipt.read_at
    TypingIndicator.objects.create(match=match, user=a, is_typing=True)
    assert TypingIndicator.objects.get(pk=(match.id, a.id)).is_typing is True
    assert isinstance(Swipe.objects.create(user=a, target_user=b, action="like").id, uuid.UUID)


def test_check_constraints_reject_bad_values():
    sql("INSERT INTO users (id, provider) VALUES ('u1', 'email'), ('u2', 'email')")
    assert rejected("INSERT INTO profiles (user_id, age) VALUES ('u1', 17)") == "check_age_range"
    assert rejected("INSERT INTO profiles (user_id, age) VALUES ('u1', 121)") == "check_age_range"
    assert rejected("INSERT INTO profiles (user_id, latitude) VALUES ('u1', 90.5)") == "check_latitude"
    assert rejected("INSERT INTO profiles (user_id, longitude) VALUES ('u1', -180.5)") == "check_longitude"
    sql("INSERT INTO profiles (user_id, age, latitude, longitude) VALUES ('u1', 18, -90, 180)")
    sql("INSERT INTO profiles (user_id, age, latitude, longitude) VALUES ('u2', 120, NULL, NULL)")
    assert rejected(
        "INSERT INTO swipes (user_id, target_user_id, action) VALUES ('u1','u2','superlike')"
    ) == ("swipes_action_check")
    sql("INSERT INTO matches (id, user_id_1, user_id_2) VALUES ('m1', 'u1', 'u2')")
    assert (
        rejected(
            "INSERT INTO messages (id, match_id, sender_id, text, status) VALUES ('x', 'm1', 'u1', 't', 'seen')"
        )
        == "check_message_status"
    )
    sql("INSERT INTO messages (id, match_id, sender_id, text, status) VALUES ('x', 'm1', 'u1', 't', NULL)")
    assert (
        rejected(
            "INSERT INTO reports (id, reporter_id, reported_user_id, reason, status) VALUES ('r', 'u1', 'u2', 'x', 'open')"
        )
        == "check_report_status"
    )
    assert rejected(
        "INSERT INTO fcm_tokens (user_id, token, device_type) VALUES ('u1', 't', 'blackberry')"
    ) == ("fcm_tokens_device_type_check")
    assert Profile.objects.count() == 2 and Message.objects.count() == 1 and FcmToken.objects.count() == 0


def test_unique_constraints():
    a, b, c = user("a"), user("b"), user("c")
    Swipe.objects.create(user=a, target_user=b, action="like")
    assert rejected("INSERT INTO swipes (user_id, target_user_id, action) VALUES ('a', 'b', 'pass')") == (
        "swipes_user_id_target_user_id_key"
    )
    Block.objects.create(user=a, blocked_user=b)
    assert rejected("INSERT INTO blocks (id, user_id, blocked_user_id) VALUES ('block_2', 'a', 'b')") == (
        "blocks_user_id_blocked_user_id_key"
    )
    FcmToken.objects.create(user=a, token="tok")
    assert (
        rejected("INSERT INTO fcm_tokens (user_id, token) VALUES ('a', 'tok')")
        == "fcm_tokens_user_id_token_key"
    )
    FcmToken.objects.create(user=b, token="tok")  # the same token for another user is allowed
    UserSubscription.objects.create(user=a, revenuecat_original_transaction_id="t1")
    assert (
        rejected(
            "INSERT INTO user_subscriptions (user_id, revenuecat_original_transaction_id) VALUES ('a', 't1')"
        )
        == "user_subscriptions_user_id_revenuecat_original_transaction__key"
    )
    s = session_for(a)
    sql(
        "INSERT INTO after_hours_declines (session_id, user_id, declined_user_id) VALUES (%s, 'a', 'c')",
        [s.id],
    )
    s2 = session_for(c)
    assert (
        rejected(
            "INSERT INTO after_hours_declines (session_id, user_id, declined_user_id) VALUES (%s, 'a', 'c')",
            [s2.id],
        )
        == "after_hours_declines_user_pair_unique"
    )


def test_one_open_after_hours_session_per_user():
    a = user("a")
    first = session_for(a)
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        session_for(a)
    cause = info.value.__cause__
    assert isinstance(cause, psycopg.Error)
    assert cause.diag.constraint_name == "idx_after_hours_sessions_active_user"
    AfterHoursSession.objects.filter(id=first.id).update(ended_at=dt.datetime(2029, 1, 1, tzinfo=dt.UTC))
    session_for(a)  # a new one once the first has ended
    assert AfterHoursSession.objects.filter(user=a).count() == 2


def test_one_time_ticket_awards_are_paid_once():
    a = user("a")
    TicketLedger.objects.create(user=a, amount=1, reason="verification")
    TicketLedger.objects.create(user=a, amount=1, reason="first_match")
    for reason in ("verification", "first_match"):
        assert rejected(
            "INSERT INTO ticket_ledger (user_id, amount, reason) VALUES ('a', 1, %s)", [reason]
        ) == ("ticket_ledger_one_time_award_unique")
    # Repeatable rewards stay repeatable.
    for reason in ("date_completed", "date_completed", "referral_bonus", "referral_bonus"):
        TicketLedger.objects.create(user=a, amount=1, reason=reason)
    assert TicketLedger.objects.filter(user=a).count() == 6


def test_a_match_exists_once_whatever_the_order_of_the_pair():
    a, b = user("a"), user("b")
    Match.objects.create(id="match_1", user_1=a, user_2=b)
    assert rejected("INSERT INTO matches (id, user_id_1, user_id_2) VALUES ('match_2', 'b', 'a')") == (
        "matches_unordered_pair_unique"
    )
    assert rejected("INSERT INTO matches (id, user_id_1, user_id_2) VALUES ('match_3', 'a', 'b')") in {
        "matches_unordered_pair_unique",
        "matches_user_id_1_user_id_2_key",
    }
    assert list(Match.objects.values_list("id", flat=True)) == ["match_1"]


def test_message_temp_id_is_unique_per_match_and_sender():
    a, b = user("a"), user("b")
    m = Match.objects.create(user_1=a, user_2=b)
    Message.objects.create(id="msg_1", match=m, sender=a, text="x", temp_id="tmp-1")
    assert (
        rejected(
            "INSERT INTO messages (id, match_id, sender_id, text, temp_id) VALUES ('msg_2', %s, 'a', 'x', 'tmp-1')",
            [m.id],
        )
        == "messages_match_sender_temp_id_unique"
    )
    Message.objects.create(id="msg_3", match=m, sender=b, text="x", temp_id="tmp-1")  # other sender
    Message.objects.create(id="msg_4", match=m, sender=a, text="x")  # no temp id: never conflicts
    Message.objects.create(id="msg_5", match=m, sender=a, text="x")
    assert Message.objects.count() == 4


def test_deleting_a_user_in_sql_cascades_and_sets_null_as_the_original():
    a, b, c = user("a"), user("b"), user("c")
    User.objects.filter(id="c").update(referred_by=a)
    Profile.objects.create(user=a, name="A", age=30)
    m = Match.objects.create(user_1=a, user_2=b)
    msg = Message.objects.create(match=m, sender=b, text="hi")
    ReadReceipt.objects.create(message=msg, user=a)
    TypingIndicator.objects.create(match=m, user=b)
    UserStatus.objects.create(user=a, is_online=True)
    DateProposal.objects.create(
        match=m, proposer=b, place_name="Cafe", proposed_date=dt.date(2030, 1, 1), proposed_time=dt.time(19)
    )
    Swipe.objects.create(user=b, target_user=a, action="like")
    session_b = session_for(b)
    ah = AfterHoursMatch.objects.create(
        session=session_b,
        user_1=b,
        user_2=c,
        expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        declined_by=a,
    )
    fingerprint = DeviceFingerprint.objects.create(user=b, session=session_b, device_id="d1")

    sql("DELETE FROM users WHERE id = 'a'")  # as auth-service does

    assert User.objects.get(id="c").referred_by_id is None
    assert AfterHoursMatch.objects.get(id=ah.id).declined_by_id is None
    assert (
        Profile.objects.count(),
        Match.objects.count(),
        Message.objects.count(),
        ReadReceipt.objects.count(),
        TypingIndicator.objects.count(),
        UserStatus.objects.count(),
        DateProposal.objects.count(),
        Swipe.objects.count(),
    ) == (0, 0, 0, 0, 0, 0, 0, 0)

    sql("DELETE FROM after_hours_sessions WHERE id = %s", [session_b.id])
    assert AfterHoursMatch.objects.count() == 0  # CASCADE from the session
    assert DeviceFingerprint.objects.get(id=fingerprint.id).session_id is None  # SET NULL


def test_deleting_a_converted_match_keeps_the_after_hours_match():
    a, b = user("a"), user("b")
    m = Match.objects.create(user_1=a, user_2=b, source="after_hours")
    ah = AfterHoursMatch.objects.create(
        session=session_for(a),
        user_1=a,
        user_2=b,
        expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        converted_to_match=m,
    )
    Match.objects.filter(id=m.id).delete()
    assert AfterHoursMatch.objects.get(id=ah.id).converted_to_match_id is None
