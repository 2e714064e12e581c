"""A socket's `send_message` runs its statement from the event loop, on the event loop's own pool
(vlvt.database), with no thread between; only the sends that need a look-up (a resend of a stored
tempId) go to a database thread. Every outcome is the one the thread's path (`_send_each`, the
pipeline the REST send shares) gives. Real PostgreSQL; the event loop is this test's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import pytest

from chat import socket_handlers
from chat.models import Message
from chat.services import delivery, messages
from profiles.models import Block, Profile
from tests.chat.rest_support import make_match, make_message, make_user
from tests.support.sockets import LIMIT_REACHED_ACK
from tests.support.wait import wait_until
from vlvt import database, dbpool

pytestmark = pytest.mark.django_db(transaction=True)


def on_loop(fn: Callable[[], Awaitable[Any]]) -> Any:
    """`fn()` on an event loop of its own, whose pool is closed before the loop ends."""

    async def main() -> Any:
        try:
            return await fn()
        finally:
            await database.close_loop_pool()

    return asyncio.run(main())


THREAD_PATH = socket_handlers._send_each


@pytest.fixture
def threads(monkeypatch) -> list[list[Any]]:
    """The items that went to a database thread (`_send_each`), one list per trip."""
    trips: list[list[Any]] = []

    def recording(sender_id: str, items: list[Any], here: set[str]) -> list[Any]:
        trips.append(list(items))
        return THREAD_PATH(sender_id, items, here)

    monkeypatch.setattr(socket_handlers, "_send_each", recording)
    return trips


def send(sender: str, items: list[Any], here: Collection[str] = ()) -> list[Any]:
    results = on_loop(lambda: socket_handlers._send_on_loop(sender, items, set(here)))
    return [r if isinstance(r, dict) else r.ack() for r in results]


def sent_on_thread(sender: str, items: list[Any]) -> list[Any]:
    """The acks of the thread's path, called directly (not counted in `threads`)."""
    return [r if isinstance(r, dict) else r.ack() for r in THREAD_PATH(sender, items, set())]


def stored(match_id: str) -> list[tuple[str, str | None, str | None]]:
    return list(
        Message.objects.filter(match_id=match_id)
        .order_by("created_at")
        .values_list("text", "status", "temp_id")
    )


def test_a_new_message_is_stored_and_acked_from_the_loop(threads):
    alice, bob = make_user(premium=True), make_user()
    match_id = make_match(alice, bob)

    [ack] = send(alice, [{"matchId": match_id, "text": "  hi  ", "tempId": "t-1"}])

    row = Message.objects.get(match_id=match_id)
    assert ack == {
        "success": True,
        "message": {
            "id": row.id,
            "matchId": match_id,
            "senderId": alice,
            "text": "hi",
            "status": "sent",
            "createdAt": ack["message"]["createdAt"],
            "tempId": "t-1",
        },
    }
    assert (row.text, row.status, row.temp_id, row.delivered_at) == ("hi", "sent", "t-1", None)
    assert row.created_at is not None
    assert ack["message"]["createdAt"] == row.created_at.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
    assert threads == []


def test_a_recipient_named_reachable_is_stored_as_delivered(threads):
    alice, bob = make_user(premium=True), make_user()
    match_id = make_match(alice, bob)

    [ack] = send(alice, [{"matchId": match_id, "text": "hi"}], here={bob})

    assert ack["message"]["status"] == "sent"  # the ack says sent, as it always has
    row = Message.objects.get(match_id=match_id)
    assert row.status == "delivered"
    assert row.delivered_at == row.created_at
    assert threads == []


def test_a_free_tier_sender_is_capped_at_20_a_day_from_the_loop(threads):
    alice, bob = make_user(), make_user()
    match_id = make_match(alice, bob)
    for i in range(19):
        make_message(match_id, alice, str(i))

    first, second = send(
        alice, [{"matchId": match_id, "text": "the 20th"}, {"matchId": match_id, "text": "the 21st"}]
    )

    assert first["success"] is True
    assert second == LIMIT_REACHED_ACK
    assert Message.objects.filter(match_id=match_id, sender_id=alice).count() == 20
    assert threads == []


@pytest.mark.parametrize(
    ("case", "items", "expected"),
    [
        ("not an object", ["hi"], {"success": False, "error": "Invalid message data"}),
        ("blank text", [{"text": " \u2003 "}], {"success": False, "error": "Invalid message data"}),
        (
            "too long",
            [{"text": "z" * 5001}],
            {"success": False, "error": "Message too long (max 5000 characters)"},
        ),
        (
            "a list as tempId",
            [{"text": "hi", "tempId": ["x"]}],
            {"success": False, "error": "Invalid message data"},
        ),
        (
            "no such match",
            [{"matchId": "match_nope", "text": "hi"}],
            {"success": False, "error": "Match not found"},
        ),
    ],
)
def test_bad_input_gets_the_threads_ack_and_stores_nothing(threads, case, items, expected):
    alice, bob = make_user(premium=True), make_user()
    match_id = make_match(alice, bob)
    items = [item if not isinstance(item, dict) else {"matchId": match_id, **item} for item in items]

    assert send(alice, items) == [expected]
    assert sent_on_thread(alice, items) == [expected]
    assert stored(match_id) == []
    assert threads == []


def test_refusals_are_the_threads_refusals(threads):
    alice, bob, outsider = make_user(), make_user(), make_user()
    match_id = make_match(alice, bob)
    message = {"matchId": match_id, "text": "hi"}

    assert (
        send(outsider, [message])
        == sent_on_thread(outsider, [message])
        == [{"success": False, "error": "Unauthorized"}]
    )
    Profile.objects.filter(pk=alice).update(bio=" ")
    gated = {
        "success": False,
        "error": "Please complete your profile to start messaging: bio",
        "code": "PROFILE_INCOMPLETE",
        "missingFields": ["bio"],
    }
    assert send(alice, [message]) == sent_on_thread(alice, [message]) == [gated]
    Profile.objects.filter(pk=alice).update(bio="ok")
    Block.objects.create(user_id=bob, blocked_user_id=alice)
    blocked = {"success": False, "error": "Unable to send message"}
    assert send(alice, [message]) == sent_on_thread(alice, [message]) == [blocked]
    assert stored(match_id) == []
    assert threads == []


def test_a_resend_of_a_stored_temp_id_gets_the_original_through_a_thread(threads):
    alice, bob = make_user(premium=True), make_user()
    match_id = make_match(alice, bob)
    [first] = send(alice, [{"matchId": match_id, "text": "hi", "tempId": 7}])
    Block.objects.create(user_id=bob, blocked_user_id=alice)  # a resend still gets its original

    [again] = send(alice, [{"matchId": match_id, "text": "hi", "tempId": 7}])

    assert again == first
    assert stored(match_id) == [("hi", "sent", "7")]
    assert threads == [[{"matchId": match_id, "text": "hi", "tempId": 7}]]


def test_a_batch_commits_together_and_a_refused_one_changes_nothing_else(threads):
    alice, bob = make_user(premium=True), make_user()
    match_id = make_match(alice, bob)

    acks = send(
        alice,
        [
            {"matchId": match_id, "text": "one", "tempId": "a"},
            {"matchId": match_id, "text": ""},
            {"matchId": "match_nope", "text": "lost"},
            {"matchId": match_id, "text": "two", "tempId": "b"},
        ],
    )

    assert [a["success"] for a in acks] == [True, False, False, True]
    assert [a.get("error") for a in acks[1:3]] == ["Invalid message data", "Match not found"]
    assert stored(match_id) == [("one", "sent", "a"), ("two", "sent", "b")]
    assert threads == []


def test_a_failed_statement_rolls_the_batch_back_and_the_thread_sends_it_again(monkeypatch, threads):
    alice, bob = make_user(premium=True), make_user()
    match_id = make_match(alice, bob)
    params = messages._Send._params

    def failing_for_boom(self, now, *, capped, limit):
        values = params(self, now, capped=capped, limit=limit)
        return {**values, "limit": "boom"} if self.text == "boom" else values  # ::int fails in PostgreSQL

    monkeypatch.setattr(messages._Send, "_params", failing_for_boom)
    items = [
        {"matchId": match_id, "text": "one", "tempId": "a"},
        {"matchId": match_id, "text": "boom", "tempId": "b"},
        {"matchId": match_id, "text": "two", "tempId": "c"},
    ]

    acks = send(alice, items)

    assert [a["success"] for a in acks] == [True, False, True]
    assert acks[1] == {"success": False, "error": "Failed to send message"}
    assert stored(match_id) == [("one", "sent", "a"), ("two", "sent", "c")]
    assert threads == [items]  # the whole batch, once


def test_while_postgresql_is_known_unreachable_sends_fail_at_once_without_asking_the_pool(
    monkeypatch, threads
):
    alice, bob = make_user(premium=True), make_user()
    match_id = make_match(alice, bob)
    monkeypatch.setattr(dbpool, "_failed_at", time.monotonic())

    async def attempt() -> tuple[list[Any], dict[str, int]]:
        results = await socket_handlers._send_on_loop(alice, [{"matchId": match_id, "text": "hi"}] * 2, set())
        assert database._pool is not None
        return results, database._pool.get_stats()

    results, stats = on_loop(attempt)

    assert results == [{"success": False, "error": "Failed to send message"}] * 2
    assert stats.get("requests_num", 0) == 0
    assert stored(match_id) == []
    assert threads == []


def test_the_pool_is_closed_at_shutdown_with_the_process_database_connections(monkeypatch):
    from vlvt.server.shutdown import ShutdownCoordinator

    shutdown = ShutdownCoordinator(timeout=0)
    monkeypatch.setattr("vlvt.server.shutdown._coordinator", shutdown)
    monkeypatch.setattr(database, "_closer_registered", False)
    alice, bob = make_user(premium=True), make_user()
    match_id = make_match(alice, bob)

    async def send_and_shut_down() -> tuple[list[str], int, int]:
        await socket_handlers._send_on_loop(alice, [{"matchId": match_id, "text": "hi"}], set())
        closers = shutdown.closers()
        async with database.loop_connection() as conn:
            pid = conn.info.backend_pid
        return closers, pid, await shutdown.close_resources()

    assert shutdown.closers() == []
    closers, pid, failures = asyncio.run(send_and_shut_down())
    assert closers == ["database (event loop's pool)"]
    assert failures == 0
    assert database._pool is None
    wait_until(lambda: not _session_alive(pid), what="the pool's session to end")


def _session_alive(pid: int) -> bool:
    with database.own_connection("probe", connect_timeout=2) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row is not None and row[0] == 1


def test_the_delivered_mark_of_online_recipients_is_written_from_the_loop():
    alice, bob, carol = make_user(), make_user(), make_user()
    to_bob = make_message(make_match(alice, bob), alice, "hi bob")
    with_carol = make_match(alice, carol)
    to_carol = make_message(with_carol, alice, "hi carol")
    read = make_message(with_carol, alice, "read already", status="read")
    sent = [(bob, to_bob.id), (carol, to_carol.id), (carol, read.id)]

    assert on_loop(lambda: delivery.adeliver_or_push(sent=sent, online={bob})) is False
    assert on_loop(lambda: delivery.adeliver_or_push(sent=sent, online=None)) is False
    assert set(Message.objects.values_list("status", flat=True)) == {"sent", "read"}

    assert on_loop(lambda: delivery.adeliver_or_push(sent=sent, online={bob, carol})) is True
    rows = {m.id: (m.status, m.delivered_at is not None) for m in Message.objects.all()}
    assert rows == {
        to_bob.id: ("delivered", True),
        to_carol.id: ("delivered", True),
        read.id: ("read", False),
    }
