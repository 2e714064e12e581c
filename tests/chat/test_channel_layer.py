"""The channel layer (`chat.realtime.layer.ChannelLayer`) on real Redis: a `group_send` reaches
this process's sockets directly and everyone else through Redis, each member exactly once, in
order, with channels_redis's capacity rule kept on the Redis path. Two layer instances stand for
two server processes (each has its own client prefix, pump and Redis key)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings

from chat.realtime.layer import ChannelLayer
from chat.realtime.pump import pump_for
from vlvt.redis import sync_redis

pytestmark = pytest.mark.django_db(databases=[])


def make_layer(prefix: str, **config: Any) -> ChannelLayer:
    hosts = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    return ChannelLayer(hosts=hosts, prefix=prefix, **config)


@pytest.fixture
def prefix():
    name = f"test-layer-{uuid.uuid4().hex[:8]}"
    yield name
    client = sync_redis()
    keys = list(client.scan_iter(f"{name}*"))
    if keys:
        client.delete(*keys)


class Socket:
    """What a socket consumer is to the pump: a channel whose messages are collected."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.channel = ""

    async def open(self, layer: ChannelLayer) -> Socket:
        pump = pump_for(layer)
        assert pump is not None
        self.channel = await pump.register(self._deliver)
        return self

    def _deliver(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        async def enough() -> None:
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.messages


async def joined(layer: ChannelLayer, group: str) -> Socket:
    """A socket of `layer`'s process, in `group`."""
    socket = await Socket().open(layer)
    await layer.group_add(group, socket.channel)
    return socket


def redis_queue_size(layer: ChannelLayer) -> int:
    """Messages waiting in Redis for the layer's process (all its channels share one key)."""
    return sync_redis().zcard(f"{layer.prefix}specific.{layer.client_prefix}!")


async def close(*layers: ChannelLayer) -> None:
    for layer in layers:
        pump = pump_for(layer)
        if pump is not None and pump._task is not None:
            pump._task.cancel()
        await layer.close_pools()


def test_a_socket_of_this_process_gets_the_message_without_redis(prefix):
    async def scenario() -> None:
        layer = make_layer(prefix)
        socket = await joined(layer, "user.alice")
        message = {"type": "socket.emit", "event": "new_message", "data": {"id": "m1"}}

        await layer.group_send("user.alice", message)

        # Delivered before group_send returned, with no Redis queue involved.
        assert socket.messages == [message]
        assert socket.messages[0] is not message
        assert redis_queue_size(layer) == 0
        await asyncio.sleep(0.2)  # nothing comes a second time through Redis
        assert socket.messages == [message]
        await close(layer)

    asyncio.run(scenario())


def test_members_on_two_processes_each_get_it_once_in_order(prefix):
    async def scenario() -> None:
        here, there = make_layer(prefix), make_layer(prefix)
        local, remote = await joined(here, "user.bob"), await joined(there, "user.bob")
        sent = [{"type": "socket.emit", "event": "new_message", "data": {"n": n}} for n in range(5)]

        for message in sent:
            await here.group_send("user.bob", message)

        assert local.messages == sent
        assert await remote.wait_for(5) == sent
        await asyncio.sleep(0.2)
        assert (local.messages, remote.messages) == (sent, sent)
        # Read without channels_redis's in-flight backup: nothing left behind in Redis.
        assert redis_queue_size(there) == 0
        assert list(sync_redis().scan_iter(f"{prefix}*inflight")) == []
        # And the other way round: the remote process's own socket directly, ours through Redis.
        back = {"type": "socket.emit", "event": "typing", "data": {}}
        await there.group_send("user.bob", back)
        assert remote.messages[-1] == back
        assert (await local.wait_for(6))[-1] == back
        await close(here, there)

    asyncio.run(scenario())


def test_a_socket_that_left_the_group_or_closed_gets_nothing(prefix):
    async def scenario() -> None:
        layer = make_layer(prefix)
        pump = pump_for(layer)
        assert pump is not None
        stays, leaves, closes = [await Socket().open(layer) for _ in range(3)]
        for socket in (stays, leaves, closes):
            await layer.group_add("user.carol", socket.channel)
        await layer.group_add("ah_match.x", closes.channel)

        await layer.group_discard("user.carol", leaves.channel)
        pump.unregister(closes.channel)  # a socket that went without leaving its groups
        await layer.group_send("user.carol", {"type": "socket.emit", "event": "e", "data": 1})
        await layer.group_send("ah_match.x", {"type": "socket.emit", "event": "e", "data": 2})

        await asyncio.sleep(0.2)
        assert [m["data"] for m in stays.messages] == [1]
        assert leaves.messages == closes.messages == []
        assert pump.members == {"user.carol": [stays.channel]}
        assert redis_queue_size(layer) == 0  # the closed socket's channel is not sent to via Redis
        await close(layer)

    asyncio.run(scenario())


def test_a_publisher_on_another_thread_reaches_the_sockets_loop(prefix):
    async def scenario() -> None:
        layer = make_layer(prefix)
        socket = await joined(layer, "user.dan")
        message = {"type": "socket.emit", "event": "new_message", "data": {"id": "m2"}}

        # A synchronous publisher (a REST request's on_commit) with an event loop of its own.
        publisher = threading.Thread(target=async_to_sync(layer.group_send), args=("user.dan", message))
        publisher.start()
        await asyncio.to_thread(publisher.join)

        assert await socket.wait_for(1) == [message]
        await asyncio.sleep(0.2)
        assert socket.messages == [message]
        await close(layer)

    asyncio.run(scenario())


def test_the_redis_path_keeps_channels_redis_capacity(prefix, caplog):
    async def scenario() -> None:
        here, there = make_layer(prefix, capacity=2), make_layer(prefix)  # the sender's capacity applies
        # A remote process that reads nothing meanwhile: its Redis queue fills up.
        channel = await there.new_channel()
        await here.group_add("user.erin", channel)

        for n in range(3):
            await here.group_send("user.erin", {"type": "socket.emit", "event": "e", "data": n})

        assert redis_queue_size(there) == 2
        assert [(await there.receive(channel))["data"] for _ in range(2)] == [0, 1]
        await close(here, there)

    with caplog.at_level("INFO", logger="channels_redis.core"):
        asyncio.run(scenario())
    assert "1 of 1 channels over capacity in group user.erin" in caplog.text


def test_a_plain_receiver_in_a_process_with_sockets_still_gets_its_messages(prefix):
    async def scenario() -> None:
        here, there = make_layer(prefix), make_layer(prefix)
        socket = await Socket().open(there)  # the pump of `there` reads its Redis key
        plain = await there.new_channel()
        await here.group_add("user.fay", plain)
        await here.group_add("user.fay", socket.channel)

        await here.group_send("user.fay", {"type": "socket.emit", "event": "e", "data": 7})

        received = await asyncio.wait_for(there.receive(plain), 5)
        assert received == {"type": "socket.emit", "event": "e", "data": 7}
        assert await socket.wait_for(1) == [received]
        await close(here, there)

    asyncio.run(scenario())


def test_while_the_retry_queue_drains_only_the_groups_it_holds_wait_behind_it(prefix):
    """A publication queues behind the retry queue's whole backlog while Redis does not answer
    (or the groups are being restored); once the queue drains, only behind its own group's."""
    layer = make_layer(prefix)
    retries = retries_of(layer)
    retries.items.append((0.0, "user.alice", {"type": "socket.emit", "event": "new_message", "data": {}}))
    retries.pending["user.alice"] += 1

    assert (retries.holds("user.alice"), retries.holds("user.bob")) == (True, True)
    retries.draining = True
    assert (retries.holds("user.alice"), retries.holds("user.bob")) == (True, False)
    retries.items.popleft()  # in flight: still ahead of alice's next one until sent
    assert (retries.holds("user.alice"), retries.holds("user.bob")) == (True, False)
    retries._sent("user.alice")
    assert (retries.holds("user.alice"), retries.holds("user.bob")) == (False, False)
    assert dict(retries.pending) == {}


def retries_of(layer: ChannelLayer) -> Any:
    return layer.retries()
