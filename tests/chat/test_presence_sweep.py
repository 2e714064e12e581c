"""Presence after a crash: the periodic sweep (chat.presence) run by a real `celery worker -B`.

Daphne processes keep their presence liveness key for 3 s (PRESENCE_PROCESS_TTL_MS, refreshed on
the 200 ms heartbeats) and beat runs the sweep every half second, so a killed process's users go
offline within a few seconds instead of minutes.
"""

from __future__ import annotations

import re
import signal
import uuid
from datetime import datetime

import pytest
from django.utils import timezone

from chat.models import UserStatus
from tests.support.jsclient import JsClient
from tests.support.servers import beat_workers
from tests.support.sockets import daphne_server, make_match, make_user
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token
from vlvt.redis import sync_redis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

FAST = {"SOCKET_PING_INTERVAL_MS": "200", "PRESENCE_PROCESS_TTL_MS": "3000"}
SWEPT = "presence sweep done"


@pytest.fixture
def sweeper(tmp_path):
    """Starts `celery -A vlvt worker -B` with the sweep every 0.5 s; stopped (SIGTERM) after."""
    with beat_workers(tmp_path) as start:
        yield lambda *pool: start(
            *pool, PRESENCE_SWEEP_SECONDS="0.5", DB_APPLICATION_NAME=f"vlvt-sweep-{uuid.uuid4().hex[:8]}"
        )


def statuses(js: JsClient, name: str) -> list[tuple[str, bool]]:
    return [(a[0]["userId"], a[0]["isOnline"]) for a in js.events(name, "user_status_changed")]


def sweeps(worker) -> list[str]:
    return [line for line in worker.log().splitlines() if SWEPT in line]


def more_sweeps(worker, count: int) -> None:
    """Until `count` more sweeps have finished (0.5 s apart: a few of them outlast the 3 s TTL)."""
    done = len(sweeps(worker))
    wait_until(lambda: len(sweeps(worker)) >= done + count, timeout=30, what=f"{count} more sweeps")


def presence_keys() -> list[str]:
    return sorted(k.decode() for k in sync_redis().scan_iter(match="presence:*"))


def test_users_of_a_killed_process_go_offline_and_their_partners_on_another_process_are_told(js, sweeper):
    alice, bob, stranger = make_user("Alice"), make_user("Bob"), make_user("Stranger")
    make_match(alice, bob)
    with daphne_server(**FAST) as one, daphne_server(**FAST) as two:
        worker = sweeper("--pool", "solo")
        bob_sid = js.connect("bob", two.base_url, token=mint_token(bob))["id"]
        js.connect("stranger", two.base_url, token=mint_token(stranger))
        sid = js.connect("alice", one.base_url, token=mint_token(alice))["id"]
        assert js.wait_event("bob", "user_status_changed")[0]["isOnline"] is True
        wait_until(lambda: UserStatus.objects.filter(pk=alice, is_online=True).exists(), what="alice online")
        more_sweeps(worker, 8)  # a live process's sockets are left alone
        assert UserStatus.objects.get(pk=alice).socket_id == sid
        killed_at = timezone.now()

        one.signal(signal.SIGKILL)  # no disconnect logic runs
        one.wait()

        payload = js.wait_event("bob", "user_status_changed", count=2, timeout=30)[0]
        assert payload == {"userId": alice, "isOnline": False, "timestamp": payload["timestamp"]}
        assert datetime.fromisoformat(payload["timestamp"]) > killed_at
        more_sweeps(worker, 4)  # room for a (wrong) second broadcast

        assert statuses(js, "bob") == [(alice, True), (alice, False)]
        assert [s for s in statuses(js, "stranger") if s[0] == alice] == []
        row = UserStatus.objects.get(pk=alice)
        assert (row.is_online, row.socket_id) == (False, None)
        assert row.last_seen_at is not None
        assert row.last_seen_at == row.updated_at and row.last_seen_at > killed_at
        bob_row = UserStatus.objects.get(pk=bob)
        assert (bob_row.is_online, bob_row.socket_id) == (True, bob_sid)
        # alice's entry and the dead process's key are gone; two's key and its two users remain
        raw = sync_redis().hget(f"presence:user:{bob}", bob_sid)
        assert isinstance(raw, bytes)
        live_process = raw.decode()
        assert presence_keys() == sorted(
            [f"presence:user:{bob}", f"presence:user:{stranger}", f"presence:proc:{live_process}"]
        )
        sweep_lines = [line for line in sweeps(worker) if "users_offline=1" in line]
        assert len(sweep_lines) == 1
        assert re.search(r"sockets_deleted=1 users_offline=1 users_back=0 users_pending=0", sweep_lines[0])
        assert all(
            "sockets_deleted=0 users_offline=0" in line for line in sweeps(worker) if line not in sweep_lines
        )

    assert worker.stop() == 0
    assert "closers, 0 failed)" in worker.log()
    assert "Traceback" not in worker.log() and "ERROR" not in worker.log()


def test_a_live_process_keeps_its_users_while_dead_ones_and_a_dead_runs_leftovers_are_swept(js, sweeper):
    alice, bob, carol, dave, erin = (make_user(n) for n in ("Alice", "Bob", "Carol", "Dave", "Erin"))
    for partner in (alice, carol, dave, erin):
        make_match(bob, partner)
    now = timezone.now()
    for user in (carol, dave):
        UserStatus.objects.create(
            user_id=user, is_online=True, socket_id=f"{user}-socket", last_seen_at=now, updated_at=now
        )
    # carol was on a process that died before this run: its key is long gone
    sync_redis().hset(f"presence:user:{carol}", f"{carol}-socket", "dead-host:1:deadbeef")
    # a sweep died after deleting dave's last socket and erin's, before writing them offline
    sync_redis().sadd("presence:offline_pending", dave, erin)
    with daphne_server(**FAST) as one, daphne_server(**FAST) as two:
        js.connect("bob", two.base_url, token=mint_token(bob))
        sid = js.connect("alice", one.base_url, token=mint_token(alice))["id"]
        # ... and erin has connected again since (her connect wrote her online)
        erin_sid = js.connect("erin", two.base_url, token=mint_token(erin))["id"]
        js.wait_event("bob", "user_status_changed", count=2)
        assert sorted(statuses(js, "bob")) == sorted([(alice, True), (erin, True)])
        js.clear("bob")
        worker = sweeper("--concurrency", "2")  # prefork: the sweep runs in pool children

        js.wait_event("bob", "user_status_changed", count=2, timeout=30)
        more_sweeps(worker, 8)  # 4 s: longer than the 3 s a key lives without its refreshes

        assert sorted(statuses(js, "bob")) == sorted([(carol, False), (dave, False)])
        rows = {row.user_id: (row.is_online, row.socket_id) for row in UserStatus.objects.all()}
        assert rows == {
            alice: (True, sid),
            bob: (True, js.state("bob")["id"]),
            carol: (False, None),
            dave: (False, None),
            erin: (True, erin_sid),
        }
        assert all(
            row.last_seen_at is not None and row.last_seen_at > now
            for row in UserStatus.objects.filter(pk__in=[carol, dave])
        )
        assert list(sync_redis().hgetall(f"presence:user:{alice}")) == [sid.encode()]
        assert list(sync_redis().hgetall(f"presence:user:{erin}")) == [erin_sid.encode()]
        assert not sync_redis().exists(f"presence:user:{carol}")
        assert sync_redis().smembers("presence:offline_pending") == set()
        assert js.state("alice")["connected"] is True
        online = js.emit("bob", "get_online_status", {"userIds": [alice, carol, dave, erin]})["statuses"]
        assert {s["userId"]: s["isOnline"] for s in online} == {
            alice: True,
            carol: False,
            dave: False,
            erin: True,
        }
        acted = [
            line for line in sweeps(worker) if "sockets_deleted=0 users_offline=0 users_back=0" not in line
        ]
        assert len(acted) == 1
        assert "sockets_deleted=1 users_offline=2 users_back=1 users_pending=0" in acted[0]


def test_a_process_that_only_stalled_past_its_key_has_its_users_back_online_when_it_runs_again(js, sweeper):
    alice, bob = make_user("Alice"), make_user("Bob")
    make_match(alice, bob)
    with daphne_server(**FAST, SOCKET_REFRESH_MS="500") as one, daphne_server(**FAST) as two:
        worker = sweeper("--pool", "solo")
        js.connect("bob", two.base_url, token=mint_token(bob))
        sid = js.connect("alice", one.base_url, token=mint_token(alice))["id"]
        js.wait_event("bob", "user_status_changed")

        one.signal(signal.SIGSTOP)  # alive, but silent past its key's 3 s
        try:
            assert js.wait_event("bob", "user_status_changed", count=2, timeout=30)[0]["isOnline"] is False
            assert UserStatus.objects.get(pk=alice).is_online is False
            # (a process waking up while the sweep is still writing makes both write and tell,
            # the race every transition has; here the sweep has finished first)
            wait_until(
                lambda: [line for line in sweeps(worker) if "users_offline=1" in line], what="the sweep"
            )
        finally:
            one.signal(signal.SIGCONT)

        # the socket re-asserts its presence on its next refresh: online again, partners told
        assert js.wait_event("bob", "user_status_changed", count=3, timeout=30)[0]["isOnline"] is True
        more_sweeps(worker, 4)
        assert statuses(js, "bob") == [(alice, True), (alice, False), (alice, True)]
        row = wait_until(
            lambda: UserStatus.objects.filter(pk=alice, is_online=True).first(), what="alice online"
        )
        assert row.socket_id == sid
        assert sync_redis().hlen(f"presence:user:{alice}") == 1
        assert js.state("alice")["connected"] is True
