"""Sockets while Redis is down (a private redis-server, stopped and restarted empty): a new socket
gets a clear CONNECT_ERROR at once and connects once Redis is back; a message sent meanwhile
reaches its recipient on another process after Redis returns instead of being dropped."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from chat.events import user_group
from chat.models import Message
from tests.support.api import send_over_rest
from tests.support.redis_server import private_redis
from tests.support.servers import start_celery
from tests.support.sockets import daphne_server, make_match, make_user
from tests.support.wait import wait_until
from vlvt.http.auth import mint_token
from vlvt.outbox.models import TaskOutbox

pytestmark = pytest.mark.django_db(transaction=True)

UNAVAILABLE = {"connected": False, "error": "Service temporarily unavailable, please retry", "data": None}


@pytest.fixture
def redis_server():
    with private_redis() as server:
        yield server


def test_a_new_socket_gets_connect_error_while_redis_is_down_and_connects_once_it_is_back(redis_server, js):
    user = make_user("Ada")
    with daphne_server(REDIS_URL=redis_server.url) as server:
        assert js.connect("first", server.base_url, token=mint_token(user))["connected"] is True
        redis_server.stop()

        assert js.connect("during", server.base_url, token=mint_token(user)) == UNAVAILABLE
        assert js.connect("again", server.base_url, token=mint_token(user)) == UNAVAILABLE
        assert js.notes("during", "disconnect") == []  # refused with an answer, not reset

        redis_server.start()
        wait_until(
            lambda: js.connect(f"after-{len(js.notes())}", server.base_url, token=mint_token(user))[
                "connected"
            ],
            what="a socket to connect with Redis back",
        )
        assert "Exception inside application" not in server.log()


def test_a_message_sent_while_redis_is_down_reaches_the_recipient_on_another_process(redis_server, js):
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    with daphne_server(REDIS_URL=redis_server.url) as one, daphne_server(REDIS_URL=redis_server.url) as two:
        js.connect("alice", one.base_url, token=mint_token(alice))
        js.connect("bob", two.base_url, token=mint_token(bob))
        before = js.emit("alice", "send_message", {"matchId": match, "text": "before", "tempId": "t1"})
        assert js.wait_event("bob", "new_message") == [before["message"]]

        redis_server.stop()
        during = js.emit("alice", "send_message", {"matchId": match, "text": "during", "tempId": "t2"})
        assert during["success"] is True
        assert Message.objects.filter(text="during").count() == 1
        redis_server.start()  # empty: group memberships and presence are gone

        assert js.wait_event("bob", "new_message", count=2, timeout=20) == [during["message"]]
        assert [args[0]["text"] for args in js.events("bob", "new_message")] == ["before", "during"]
        after = js.emit("alice", "send_message", {"matchId": match, "text": "after", "tempId": "t3"})
        assert js.wait_event("bob", "new_message", count=3) == [after["message"]]


def test_every_message_sent_over_rest_while_redis_is_down_reaches_each_connected_recipient(redis_server, js):
    """Redis comes back empty: each process puts its sockets back in their groups before the
    others' retry queues send what waited, so no recipient misses one."""
    pairs = [(make_user(f"Sender {i}"), make_user(f"Recipient {i}")) for i in range(8)]
    matches = [make_match(sender, recipient) for sender, recipient in pairs]
    with daphne_server(REDIS_URL=redis_server.url) as one, daphne_server(REDIS_URL=redis_server.url) as two:
        for i, (_, recipient) in enumerate(pairs):
            assert js.connect(f"r{i}", two.base_url, token=mint_token(recipient))["connected"] is True

        redis_server.stop()
        sent = [
            send_over_rest(one, sender, match, f"during {i}")
            for i, ((sender, _), match) in enumerate(zip(pairs, matches, strict=True))
        ]
        redis_server.start()  # empty: group memberships and presence are gone

        for i, message in enumerate(sent):
            (event,) = js.wait_event(f"r{i}", "new_message", timeout=30)
            assert (event["id"], event["text"]) == (message["id"], message["text"])
        assert [len(js.events(f"r{i}", "new_message")) for i in range(len(pairs))] == [1] * len(pairs)
        # logged once the retry queue's last batch went out, which may be just after its messages
        # arrived
        wait_until(lambda: "publication(s) sent after retrying" in one.log(), what="the retry queue's line")


def test_a_message_redis_never_took_becomes_one_push_to_its_recipient(redis_server, js):
    """A publication for a socket on another process that Redis does not take within
    SOCKET_UNDELIVERED_PUSH_SECONDS is given up and its message pushed to the recipient instead; the
    broker being that same Redis, the push waits in the outbox and a worker sends it once Redis is
    back. The delivered-or-push decision of that message, whose presence lookup failed too, leaves
    the push to the given-up publication: one push, not two."""
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    env = {"REDIS_URL": redis_server.url, "SOCKET_UNDELIVERED_PUSH_SECONDS": "1"}
    worker = start_celery("worker", "--pool", "solo", "--loglevel", "INFO", REDIS_URL=redis_server.url)
    try:
        worker.wait_for_log("vlvt: worker serving", timeout=60)
        with daphne_server(**env) as one, daphne_server(**env) as two:
            js.connect("alice", one.base_url, token=mint_token(alice))
            js.connect("bob", two.base_url, token=mint_token(bob))
            before = js.emit("alice", "send_message", {"matchId": match, "text": "before", "tempId": "t1"})
            assert js.wait_event("bob", "new_message") == [before["message"]]
            # Its delivered-or-push decision runs after the event; Redis stops only once it is made.
            wait_until(
                lambda: Message.objects.filter(id=before["message"]["id"], status="delivered").exists(),
                what="the first message marked delivered",
            )

            redis_server.stop()
            during = js.emit("alice", "send_message", {"matchId": match, "text": "during", "tempId": "t2"})
            assert during["success"] is True
            one.wait_for_log("presence: lookups fail", timeout=30)  # the decision, made meanwhile
            group = user_group(bob)
            one.wait_for_log(f"publication to {group} undelivered after 1.0s without Redis", timeout=30)
            one.wait_for_log("channel layer: 1 undelivered message(s) pushed instead", timeout=30)
            rows = list(TaskOutbox.objects.values_list("name", "args", "task_id"))
            assert [(name, tuple(args)) for name, args, _ in rows] == [
                ("chat.tasks.push_new_message", (bob, during["message"]["id"]))
            ]

            redis_server.start()
            wait_until(lambda: not TaskOutbox.objects.exists(), timeout=60, what="the outbox relayed")
            ((_, _, task_id),) = rows
            worker.wait_for_log(f"chat.tasks.push_new_message[{task_id}] succeeded", timeout=60)
            assert worker.log().count("chat.tasks.push_new_message[") == 2  # received, succeeded
            assert [args[0]["text"] for args in js.events("bob", "new_message")] == ["before"]
            assert one.log().count("presence: lookups fail") == 1  # one line for the outage
    finally:
        worker.stop()


def _push_tasks(redis_url: str) -> list[tuple[str, str]]:
    """(recipient, message id) of every push_new_message task waiting in the Celery queue."""
    tasks = []
    for raw in redis.Redis.from_url(redis_url).lrange("celery", 0, -1):
        envelope = json.loads(raw)
        if envelope["headers"]["task"] == "chat.tasks.push_new_message":
            args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
            tasks.append(tuple(args))
    return tasks


def test_a_message_sent_while_redis_is_down_to_an_offline_recipient_is_pushed_once_redis_is_back(
    redis_server, js
):
    """The presence lookup fails while Redis is down, so the decision waits for the publication; when
    Redis comes back before SOCKET_UNDELIVERED_PUSH_SECONDS the publication goes out (to no socket)
    and the decision is made then: the recipient has none, one push. Three sends, three pushes."""
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    with daphne_server(REDIS_URL=redis_server.url) as one:
        js.connect("alice", one.base_url, token=mint_token(alice))
        redis_server.stop()
        sent = [
            js.emit("alice", "send_message", {"matchId": match, "text": f"during {i}", "tempId": f"t{i}"})
            for i in range(2)
        ]
        sent.append({"message": send_over_rest(one, alice, match, "during rest")})
        assert [s["message"]["text"] for s in sent] == ["during 0", "during 1", "during rest"]
        one.wait_for_log("presence: lookups fail", timeout=30)
        redis_server.start()  # empty

        expected = sorted((bob, s["message"]["id"]) for s in sent)
        wait_until(lambda: not TaskOutbox.objects.exists(), timeout=60, what="the outbox relayed")
        wait_until(
            lambda: sorted(_push_tasks(redis_server.url)) == expected, timeout=30, what="the three pushes"
        )
        one.wait_for_log("publication(s) sent after retrying", timeout=30)
        assert sorted(_push_tasks(redis_server.url)) == expected
        assert one.log().count("presence: lookups fail") == 1


def test_a_message_sent_while_redis_is_frozen_is_marked_delivered_once_it_reaches_the_recipient(
    redis_server, js
):
    """Against a hung Redis the presence lookup gives up (after 1 s, holding nothing for the whole
    freeze) and the decision waits for the publication; once Redis answers the publication reaches
    Bob's socket, presence (kept: Redis did not lose its data) finds him, and the message is marked
    delivered, with no push."""
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    with daphne_server(REDIS_URL=redis_server.url) as one, daphne_server(REDIS_URL=redis_server.url) as two:
        js.connect("alice", one.base_url, token=mint_token(alice))
        js.connect("bob", two.base_url, token=mint_token(bob))

        redis_server.freeze()
        try:
            during = js.emit("alice", "send_message", {"matchId": match, "text": "during", "tempId": "t1"})
            assert during["success"] is True
            one.wait_for_log("presence: lookups fail", timeout=30)
        finally:
            redis_server.thaw()

        assert js.wait_event("bob", "new_message", timeout=30) == [during["message"]]
        wait_until(
            lambda: Message.objects.filter(id=during["message"]["id"], status="delivered").exists(),
            timeout=30,
            what="the message marked delivered",
        )
        assert _push_tasks(redis_server.url) == []
        assert not TaskOutbox.objects.exists()
