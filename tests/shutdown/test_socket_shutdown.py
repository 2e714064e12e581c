"""Socket.IO clients when a server process stops (issue 3, acceptance 3)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from typing import cast

import psycopg
import pytest
import redis
from django.conf import settings

from chat.models import UserStatus
from profiles.models import Match, User
from tests.shutdown.conftest import backend_waiting_on_lock
from tests.support.jsclient import JS_DIR, JsClient
from tests.support.servers import DaphneProcess, server_env, shared_listening_socket, test_database_url
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token

pytestmark = pytest.mark.django_db(transaction=True)


def group_members() -> set[bytes]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    members: set[bytes] = set()
    for key in client.scan_iter("asgi:group:*"):
        members.update(cast(list[bytes], client.zrange(key, 0, -1)))  # no decode_responses: bytes
    return members


def online_users() -> set[str]:
    return set(UserStatus.objects.filter(is_online=True).values_list("user_id", flat=True))


def start(listen, **env: str) -> DaphneProcess:
    return DaphneProcess(
        server_env(DJANGO_SETTINGS_MODULE="tests.support.settings", **env), listen_socket=listen
    )


def test_clients_get_a_close_frame_and_reconnect_to_the_other_process(tmp_path):
    users = [User.objects.create(id=f"user_{n}", provider="email") for n in range(3)]
    Match.objects.create(user_1=users[0], user_2=users[1])
    listen = shared_listening_socket()
    first = start(listen, DB_APPLICATION_NAME="vlvt-first")
    second = None
    try:
        with JsClient() as js:
            for user in users:
                result = js.connect(
                    user.id,
                    first.base_url,
                    token=mint_token(user.id),
                    reconnection=True,
                    reconnectionDelay=100,
                    reconnectionDelayMax=200,
                )
                assert result["connected"] is True
            wait_until(lambda: online_users() == {u.id for u in users}, what="everyone online")
            first_process_channels = group_members()
            assert len(first_process_channels) == 3

            second = start(listen, DB_APPLICATION_NAME="vlvt-second")
            first.signal(signal.SIGTERM)
            assert first.wait(30) == 0

            for user in users:
                js.wait_note(user.id, "reconnect", timeout=20)
                disconnect = next(n for n in js.notes(user.id) if n["kind"] == "disconnect")
                assert disconnect["reason"] == "transport close"
                assert disconnect["code"] == 1001
            # Every group membership of the stopped process is gone; the new ones are the second's.
            wait_until(lambda: len(group_members()) == 3, what="the reconnected sockets to join")
            assert group_members().isdisjoint(first_process_channels)
            wait_until(lambda: online_users() == {u.id for u in users}, what="everyone online again")
            assert "Traceback" not in first.log()
        # All clients gone: everyone offline, no membership left.
        wait_until(lambda: online_users() == set(), what="everyone offline")
        wait_until(lambda: group_members() == set(), what="no group membership left")
    finally:
        if second is not None:
            assert second.stop() == 0
        first.stop()
        listen.close()


def test_a_thousand_sockets_are_closed_with_a_code_and_nobody_is_left_online():
    count = 1000
    User.objects.bulk_create([User(id=f"many_{n}", provider="email") for n in range(count)])
    listen = shared_listening_socket()
    server = start(listen, DB_APPLICATION_NAME="vlvt-many", SHUTDOWN_TIMEOUT="20")
    tokens = [mint_token(f"many_{n}", expires_in=3600) for n in range(count)]
    node = subprocess.Popen(
        ["node", str(JS_DIR / "many.mjs")],
        cwd=JS_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert node.stdin is not None and node.stdout is not None
    try:
        node.stdin.write(json.dumps({"url": server.base_url, "tokens": tokens, "timeoutMs": 120000}) + "\n")
        node.stdin.flush()
        assert json.loads(node.stdout.readline()) == {"connected": count, "failed": 0}
        wait_until(lambda: len(online_users()) == count, timeout=60, what="all users online")

        server.signal(signal.SIGTERM)
        assert server.wait(60) == 0
        closed = json.loads(node.stdout.readline())
        assert closed == {"closed": count, "codes": {"1001": count}, "reasons": {"transport close": count}}
        assert online_users() == set()
        assert group_members() == set()
        assert "Traceback" not in server.log()
    finally:
        node.kill()
        server.stop()
        listen.close()


def test_events_queued_on_a_socket_are_all_acked_before_its_close_frame():
    """A client with hundreds of sends outstanding when SIGTERM arrives: every one is stored and
    acked, then the socket gets its close frame (the consumer reports its event queue busy)."""
    import threading

    from chat.models import Message
    from profiles.models import UserSubscription
    from tests.support.sockets import make_match, make_user

    alice, bob = make_user("Alice"), make_user("Bob")
    UserSubscription.objects.create(user_id=alice, is_active=True)
    match = make_match(alice, bob)
    listen = shared_listening_socket()
    server = start(listen, RATE_LIMITS_ENABLED="false")  # 300 sends in a second, far over 30/min
    try:
        with JsClient() as js:
            js.connect("alice", server.base_url, token=mint_token(alice))
            emits = [
                ("alice", "send_message", [{"matchId": match, "text": f"m{i}", "tempId": f"t{i}"}])
                for i in range(300)
            ]
            acks: list = []
            sender = threading.Thread(target=lambda: acks.extend(js.emit_all(emits, timeout=20)))
            sender.start()
            wait_until(lambda: Message.objects.exists(), what="the first batch to commit")
            server.signal(signal.SIGTERM)
            sender.join(30)
            assert server.wait(30) == 0
            disconnect = js.wait_note("alice", "disconnect")[0]
        stored = list(Message.objects.order_by("created_at").values_list("id", "text"))
        assert len(stored) == 300
        assert [a.get("success") for a in acks] == [True] * 300
        assert [(a["message"]["id"], a["message"]["text"]) for a in acks] == stored
        assert (disconnect["reason"], disconnect["code"]) == ("transport close", 1001)
        assert "Traceback" not in server.log()
    finally:
        server.stop()
        listen.close()


def test_a_socket_still_busy_at_the_deadline_gets_a_close_frame_and_its_send_never_commits():
    """The socket's send waits on a lock that is never released: the drain cannot close it, and at
    SHUTDOWN_TIMEOUT it gets a close frame (1001) instead of a dropped connection; its send, cut
    off, is rolled back."""

    from chat.models import Message
    from tests.support.sockets import make_match, make_user

    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    listen = shared_listening_socket()
    server = start(listen, SHUTDOWN_TIMEOUT="2", DB_APPLICATION_NAME="vlvt-busy")
    try:
        with JsClient() as js, psycopg.connect(test_database_url()) as locker:
            js.connect("alice", server.base_url, token=mint_token(alice))
            # The insert's foreign key check waits for this lock on the match row.
            locker.execute("SELECT 1 FROM matches WHERE id = %s FOR UPDATE", [match])
            js.emit("alice", "send_message", {"matchId": match, "text": "cut off"}, ack=False)
            with psycopg.connect(test_database_url(), autocommit=True) as pg:
                wait_until(
                    lambda: backend_waiting_on_lock(pg, "vlvt-busy"), what="the send to wait on the lock"
                )
            server.signal(signal.SIGTERM)
            assert server.wait(30) == 1
            disconnect = js.wait_disconnect("alice")
            locker.rollback()
        assert (disconnect["reason"], disconnect["code"]) == ("transport close", 1001)
        # Ending the database sessions (the deadline's first step) fails the blocked send, so the
        # drain may close the socket (1001) on the reactor just before the deadline's own pass
        # does: either way it is closed by the deadline with a close frame, never dropped.
        closes = re.findall(
            r"at the deadline answered 0 request\(s\) 503 and closed (\d) socket\(s\)", server.log()
        )
        assert closes in (["0"], ["1"]), server.log()
        assert not Message.objects.exists()
    finally:
        server.stop()
        listen.close()
