"""The After Hours bridge (docs/contract.md, D26) with real Daphne processes, real Redis
pub/sub and the official socket.io-client: once per socket whatever the number of processes,
nobody else, malformed and unknown events dropped, back after a Redis restart, closed first on
SIGTERM."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import time
import uuid
from typing import Any

import pytest
import redis

from chat.after_hours.bridge import WHITELIST, parse_envelope
from tests.chat.after_hours.conftest import make_user
from tests.support.jsclient import JsClient
from tests.support.servers import free_port
from tests.support.sockets import daphne_server, own_events_channel
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token
from vlvt.redis import sync_redis

SUBSCRIBED = "after hours bridge: subscribed to"


def envelope(kind: str, target: str, payload: dict) -> str:
    return json.dumps(
        {"type": kind, "targetUserId": target, "payload": payload, "timestamp": "2026-03-01T23:00:00.000Z"}
    )


def bridge_events(js: JsClient, name: str) -> list[tuple[str, list]]:
    return [(e, a) for e, a in js.received(name) if e.startswith("after_hours:")]


def subscribers(client: redis.Redis, channel: str) -> int:
    return dict(client.pubsub_numsub(channel))[channel.encode()]


def _subscribed_once(client: redis.Redis, channel: str) -> bool:
    return subscribers(client, channel) == 1


# --- the envelope ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"a string"',
        b'{"type": "after_hours:match", "payload": {}}',
        b'{"targetUserId": "u1", "payload": {}}',
        b'{"type": "after_hours:match", "targetUserId": "", "payload": {}}',
        b'{"type": "after_hours:match", "targetUserId": 7, "payload": {}}',
        b'{"type": 3, "targetUserId": "u1", "payload": {}}',
        b'{"type": "after_hours:match", "targetUserId": "u1"}',
        b'{"type": "after_hours:match", "targetUserId": "u1", "payload": null}',
        b'{"type": "after_hours:match", "targetUserId": "u1", "payload": [1]}',
        json.dumps(
            {"type": "after_hours:match", "targetUserId": "u1", "payload": {"x": "y" * 70_000}}
        ).encode(),
    ],
)
def test_malformed_envelopes_are_rejected(raw):
    assert parse_envelope(raw) is None


def test_a_well_formed_envelope_parses_whatever_its_type():
    parsed = parse_envelope(envelope("after_hours:whatever", "u1", {"a": 1}).encode())
    assert parsed is not None
    assert (parsed.type, parsed.target_user_id, parsed.payload) == ("after_hours:whatever", "u1", {"a": 1})
    assert "after_hours:whatever" not in WHITELIST and len(WHITELIST) == 5


# --- two processes ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_each_socket_of_the_target_gets_each_event_once_across_two_processes(js):
    """The real channel name. Alice has two sockets on one process and one on the other; Bob and
    Carol are connected too. Every process hears every event and relays to its own sockets only."""
    channel = "after_hours:events"
    alice, bob, carol = make_user("Alice"), make_user("Bob"), make_user("Carol")
    with (
        daphne_server(AFTER_HOURS_EVENTS_CHANNEL=channel) as one,
        daphne_server(AFTER_HOURS_EVENTS_CHANNEL=channel) as two,
    ):
        for name, server, user in (
            ("a1", one, alice),
            ("a2", one, alice),
            ("a3", two, alice),
            ("bob", one, bob),
            ("carol", two, carol),
        ):
            assert js.connect(name, server.base_url, token=mint_token(user))["connected"] is True
        one.wait_for_log(SUBSCRIBED)
        two.wait_for_log(SUBSCRIBED)
        assert one.log().count(SUBSCRIBED) == two.log().count(SUBSCRIBED) == 1  # one subscriber per process

        match_id = str(uuid.uuid4())
        sent: list[tuple[str, str, dict[str, Any]]] = [
            (
                "after_hours:match",
                alice,
                {"matchId": match_id, "expiresAt": "2026-03-01T23:10:00.000Z", "profile": {"name": "Bob"}},
            ),
            (
                "after_hours:no_matches",
                alice,
                {"activeUsersNearby": 0, "message": "No matches available right now. Stay active!"},
            ),
            ("after_hours:match_expired", alice, {"matchId": match_id, "reason": "timeout"}),
            (
                "after_hours:session_expiring",
                alice,
                {"sessionId": "s1", "expiresAt": "2026-03-01T23:30:00.000Z", "minutesRemaining": 2},
            ),
            ("after_hours:session_expired", alice, {"sessionId": "s1", "reason": "timeout"}),
            ("after_hours:match", bob, {"matchId": match_id, "profile": {"name": "Alice"}}),
        ]
        dropped = [
            b"{not json",
            json.dumps(["after_hours:match", alice, {}]).encode(),
            json.dumps({"type": "after_hours:match", "targetUserId": alice}).encode(),
            envelope("after_hours:new_message", alice, {"id": "forged"}).encode(),
            envelope("user_status_changed", alice, {"userId": bob, "isOnline": True}).encode(),
            envelope("after_hours:match", "", {"matchId": match_id}).encode(),
        ]
        publisher = sync_redis()
        for i, (kind, target, payload) in enumerate(sent):
            assert publisher.publish(channel, envelope(kind, target, payload)) >= 2
            publisher.publish(channel, dropped[i])
        for target in (alice, bob, carol):  # markers: after them, nothing else can be on its way
            publisher.publish(
                channel, envelope("after_hours:session_expired", target, {"sessionId": "marker"})
            )

        marker = ("after_hours:session_expired", [{"sessionId": "marker"}])
        for name in ("a1", "a2", "a3"):
            js.wait_event(name, "after_hours:session_expired", count=2)
            assert bridge_events(js, name) == [(kind, [payload]) for kind, _, payload in sent[:5]] + [marker]
        js.wait_event("bob", "after_hours:session_expired")
        assert bridge_events(js, "bob") == [("after_hours:match", [sent[5][2]]), marker]
        js.wait_event("carol", "after_hours:session_expired")
        assert bridge_events(js, "carol") == [marker]
        for server in (one, two):
            assert "Traceback" not in server.log()
            assert server.log().count("after hours bridge: malformed event dropped") == 4
            assert server.log().count("after hours bridge: event type not relayed") == 2


@pytest.mark.django_db(transaction=True)
def test_the_subscriber_starts_with_the_first_socket_of_a_process(js):
    channel = own_events_channel()
    user = make_user()
    client = sync_redis()
    with daphne_server(AFTER_HOURS_EVENTS_CHANNEL=channel) as server:
        time.sleep(0.5)
        assert subscribers(client, channel) == 0
        js.connect("first", server.base_url, token=mint_token(user))
        js.connect("second", server.base_url, token=mint_token(user))
        server.wait_for_log(SUBSCRIBED)
        assert subscribers(client, channel) == 1
        js.disconnect("first")
        js.disconnect("second")
        js.connect("again", server.base_url, token=mint_token(user))
        client.publish(channel, envelope("after_hours:match", user, {"matchId": "m"}))
        assert js.wait_event("again", "after_hours:match") == [{"matchId": "m"}]
        assert (subscribers(client, channel), server.log().count(SUBSCRIBED)) == (1, 1)


# --- Redis restarts --------------------------------------------------------------------------------


class ThrowawayRedis:
    """A redis-server of this test's own (never the machine's shared one), restartable on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--enable-debug-command",
                "local",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_until(lambda: _pings(client), what="redis-server to answer")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.django_db(transaction=True)
def test_events_flow_again_after_a_redis_restart(js, throwaway_redis):
    """The whole server runs on this throwaway Redis (channel layer, presence, the bridge). The socket
    may or may not survive the outage (that is the consumer's business); it reconnects if not, and
    events published once the bridge has resubscribed reach it."""
    channel = "after_hours:events"
    user = make_user()
    publisher = redis.Redis(port=throwaway_redis.port)
    with daphne_server(REDIS_URL=throwaway_redis.url, AFTER_HOURS_EVENTS_CHANNEL=channel) as server:
        js.connect(
            "phone",
            server.base_url,
            token=mint_token(user),
            reconnection=True,
            reconnectionDelay=100,
            reconnectionDelayMax=300,
        )
        server.wait_for_log(SUBSCRIBED)
        assert publisher.publish(channel, envelope("after_hours:match", user, {"n": 1})) == 1
        assert js.wait_event("phone", "after_hours:match") == [{"n": 1}]

        for restart in (1, 2):
            throwaway_redis.kill()
            time.sleep(0.5)  # the bridge notices and retries against a closed port
            throwaway_redis.start()
            publisher = redis.Redis(port=throwaway_redis.port)
            wait_until(
                functools.partial(_subscribed_once, publisher, channel), what="the bridge to subscribe again"
            )
            assert server.log().count("after hours bridge: resubscribed to") == restart
            deliver_until_received(js, publisher, channel, user, n=1 + restart)

        assert sorted({args[0]["n"] for _, args in bridge_events(js, "phone")}) == [1, 2, 3]
        assert "after hours bridge: Redis unavailable (ConnectionError)" in server.log()


def deliver_until_received(js: JsClient, publisher: redis.Redis, channel: str, user: str, *, n: int) -> None:
    """Publish event `n` until the socket has it (a socket reconnecting misses what is published meanwhile)."""
    for _ in range(20):
        if js.state("phone")["connected"]:
            publisher.publish(channel, envelope("after_hours:match", user, {"n": n}))
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                if any(args[0]["n"] == n for _, args in bridge_events(js, "phone")):
                    return
                time.sleep(0.05)
        else:
            time.sleep(0.2)
    raise AssertionError(f"event {n} never reached the socket: {js.notes('phone')}")


# --- shutdown --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sigterm_closes_the_subscriber_before_the_channel_layer_and_the_database(js):
    channel = own_events_channel()
    user = make_user()
    client = sync_redis()
    with daphne_server(AFTER_HOURS_EVENTS_CHANNEL=channel) as server:
        js.connect("phone", server.base_url, token=mint_token(user))
        server.wait_for_log(SUBSCRIBED)
        assert subscribers(client, channel) == 1

        server.signal(signal.SIGTERM)

        assert server.wait(timeout=20) == 0
        log = server.log()
    assert subscribers(client, channel) == 0
    closed = [
        line.split("shutdown: closed ", 1)[1].split(" in ")[0]
        for line in log.splitlines()
        if "shutdown: closed " in line and " in " in line
    ]
    closed = [name for name in closed if not name.startswith("resources")]
    assert closed[0] == "after hours bridge"
    assert (
        closed.index("after hours bridge")
        < closed.index("channel layer")
        < closed.index("database connections")
    )
    assert log.index("after hours bridge: unsubscribed and closed") < log.index(
        "shutdown: closed after hours bridge"
    )
    assert "Traceback" not in log and "UNSUBSCRIBE failed" not in log


# --- in-process: idle reads and closing ------------------------------------------------------------


def test_an_idle_subscription_outlives_the_client_socket_timeout(redis_url):
    """redis-py's default socket timeout is 5 s: the bridge's reads must treat silence as silence."""
    import asyncio

    from chat.after_hours.bridge import AfterHoursBridge

    channel = own_events_channel()
    received: list[tuple[str, str, dict]] = []

    async def deliver(user_id: str, event: str, payload: dict) -> int:
        received.append((user_id, event, payload))
        return 1

    async def scenario() -> AfterHoursBridge:
        bridge = AfterHoursBridge(url=redis_url, channel=channel, deliver=deliver)
        bridge.start()
        while not bridge.subscriptions:
            await asyncio.sleep(0.01)
        await asyncio.sleep(7)  # idle, past the 5 s default socket timeout
        sync_redis().publish(channel, envelope("after_hours:no_matches", "u1", {"activeUsersNearby": 3}))
        while not received:
            await asyncio.sleep(0.01)
        await bridge.close()
        return bridge

    bridge = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert received == [("u1", "after_hours:no_matches", {"activeUsersNearby": 3})]
    assert (bridge.subscriptions, bridge.relayed, bridge.dropped) == (1, 1, 0)  # never reconnected
    assert subscribers(sync_redis(), channel) == 0


def test_closing_while_redis_is_unreachable_is_quick():
    import asyncio

    from chat.after_hours.bridge import AfterHoursBridge

    async def scenario() -> float:
        bridge = AfterHoursBridge(
            url=f"redis://127.0.0.1:{free_port()}/0",
            channel="after_hours:events",
            deliver=None,  # type: ignore[arg-type]  # never connects, so never delivers
        )
        bridge.start()
        await asyncio.sleep(0.5)  # a few refused connection attempts
        started = time.monotonic()
        await bridge.close()
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0


def test_a_server_that_stops_answering_is_dropped_and_resubscribed(throwaway_redis, monkeypatch, caplog):
    """A hung server (or a half-open connection) never closes the socket: the watchdog's PING finds it."""
    import asyncio

    from chat.after_hours import bridge as bridge_module
    from chat.after_hours.bridge import AfterHoursBridge

    monkeypatch.setattr(bridge_module, "PING_INTERVAL", 0.3)
    monkeypatch.setattr(bridge_module, "PONG_TIMEOUT", 0.3)
    channel = "after_hours:events"
    server = redis.Redis(port=throwaway_redis.port)
    received: list[dict] = []

    async def deliver(user_id: str, event: str, payload: dict) -> int:
        received.append(payload)
        return 1

    async def until(condition, what: str) -> None:
        deadline = time.monotonic() + 15
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.02)

    async def scenario() -> AfterHoursBridge:
        bridge = AfterHoursBridge(url=throwaway_redis.url, channel=channel, deliver=deliver)
        bridge.start()
        await until(lambda: bridge.subscriptions == 1, "the subscription")
        await asyncio.to_thread(server.execute_command, "DEBUG", "SLEEP", "2")  # the server hangs for 2 s
        await until(lambda: bridge.subscriptions == 2, "the resubscription")
        server.publish(channel, envelope("after_hours:match", "u1", {"after": "hang"}))
        await until(lambda: received, "the event")
        await bridge.close()
        return bridge

    with caplog.at_level("INFO", logger="vlvt.realtime.after_hours_bridge"):
        bridge = asyncio.run(asyncio.wait_for(scenario(), 40))
    assert received == [{"after": "hang"}]
    assert bridge.relayed == 1
    assert "no answer to PING" in caplog.text
