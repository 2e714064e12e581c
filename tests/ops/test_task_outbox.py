"""A task published while the broker (Redis) is down is not lost: it waits in the outbox table and
a real worker runs it once Redis is back (vlvt.outbox). Here the push of a message sent over REST to
a recipient with no socket, by a real Daphne, while a private redis-server is stopped: its
delivered-or-push decision (the presence lookup fails too) waits for the message's publication,
which the channel layer gives up after SOCKET_UNDELIVERED_PUSH_SECONDS (1 s here) and pushes
instead, Redis still down: one push per message, into the outbox."""

from __future__ import annotations

import functools

import pytest

from chat.models import Message
from tests.support.api import send_over_rest
from tests.support.redis_server import private_redis
from tests.support.servers import start_celery
from tests.support.sockets import daphne_server, make_match, make_user
from tests.support.wait import wait_until
from vlvt.outbox.models import TaskOutbox

pytestmark = pytest.mark.django_db(transaction=True)


def succeeded(worker, task_id: str) -> bool:
    return f"chat.tasks.push_new_message[{task_id}] succeeded" in worker.log()


def test_pushes_queued_while_redis_is_down_run_once_it_is_back():
    alice, bob = make_user("Alice"), make_user("Bob")
    match = make_match(alice, bob)
    with private_redis() as redis_server:
        worker = start_celery("worker", "--pool", "solo", "--loglevel", "INFO", REDIS_URL=redis_server.url)
        try:
            worker.wait_for_log("vlvt: worker serving", timeout=60)
            with daphne_server(REDIS_URL=redis_server.url, SOCKET_UNDELIVERED_PUSH_SECONDS="1") as server:
                send_over_rest(server, alice, match, "before")
                wait_until(lambda: worker.log().count("push_new_message[") >= 2, what="the first push to run")

                redis_server.stop()
                sent = [send_over_rest(server, alice, match, f"during {i}")["id"] for i in range(3)]
                wait_until(
                    lambda: server.log().count("channel layer: 1 undelivered message(s) pushed instead") == 3,
                    timeout=30,
                    what="the three publications given up and pushed",
                )
                stored = list(TaskOutbox.objects.order_by("id").values("name", "args", "task_id"))
                assert [(row["name"], row["args"]) for row in stored] == [
                    ("chat.tasks.push_new_message", [bob, message_id]) for message_id in sent
                ]
                assert Message.objects.filter(id__in=sent).count() == 3

                redis_server.start()  # empty: the broker's queues are gone too
                wait_until(lambda: not TaskOutbox.objects.exists(), timeout=60, what="the outbox relayed")
                for row in stored:
                    wait_until(
                        functools.partial(succeeded, worker, row["task_id"]), timeout=60, what="the push ran"
                    )
                after = send_over_rest(server, alice, match, "after")["id"]  # straight to the broker again
                assert not TaskOutbox.objects.exists()
                assert Message.objects.filter(id=after).exists()
        finally:
            worker.stop()
    # No push lost to a failed publish; the failing presence lookups are one warning for the outage.
    assert "in on_commit()" not in server.log()
    assert server.log().count("presence: lookups fail") == 1
