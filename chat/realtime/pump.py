"""One channel-layer reader per process instead of one per socket.

channels_redis keeps the messages of all of a process's channels under one Redis key and hands
them out through one receive loop into a per-channel queue (`receive_buffer`) that each channel's
`receive()` waits on; a waiting `receive()` costs a task, two helper tasks and a wait, and every
message two new tasks. Here one pump task per process reads that key in batches
(`ChannelLayer.receive_local`, chat.realtime.layer), and each socket's `receive_buffer` entry is a
`_Direct` object that hands the message straight to the socket (in order) instead of queueing it
for a reader.

This leans on channels_redis internals (`receive_buffer`, `new_channel`'s shared prefix; the
version is pinned); with another channel layer the consumer reads its channel itself. Other code
in the process may still `receive()` on channels of its own: what the pump reads for them goes to
their channels_redis queues.

The pump runs while sockets are registered and stops with the last one, so a process that shuts
down has no pump left once its sockets are closed.

Redis may lose its data (a restart without persistence, a failover) and answer as if nothing
happened. The pump's watch task keeps the process's marker key in Redis every `WATCH_INTERVAL`
seconds (`ChannelLayer.assert_marker`, which the layer's retry queue also asks after an outage);
when the marker has vanished, `recover` puts every group membership of this process's sockets back
in one round trip (`ChannelLayer.restore_groups`), lists the process as live again (other
processes' retry queues wait for that before they send what waited, `chat.realtime.layer`), and
calls the `on_recovered` callbacks: the consumers re-assert their presence (and their groups once
more) instead of at their next periodic refresh. A failed read waits for Redis to answer a PING
(every `RECOVERY_POLL` seconds) before reading again.

The pump also knows which of its sockets are in which group (the layer's `group_add` and
`group_discard` tell it, `chat.realtime.layer`), so that a `group_send` from this process reaches
them at once (`deliver_to_group`), before and without any Redis round trip, as socket.io's Redis
adapter broadcasts to its local sockets before publishing to the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("vlvt.realtime")

Deliver = Callable[[dict[str, Any]], None]

RECOVERY_POLL = 0.1
WATCH_INTERVAL = 0.25
WATCH_TIMEOUT = 2.0
# False from a failed watch round (Redis refused, or did not answer within WATCH_TIMEOUT) until
# the next one that succeeds: new sockets are refused meanwhile without trying Redis.
redis_answering = True
# Called (no arguments, on the sockets' loop) when Redis answers again after a failed read.
on_recovered: list[Callable[[], Any]] = []

# A closed socket's channel drops what still arrives for it (a publish that raced its
# group_discard) for longer than channels_redis keeps a message (`expiry`, 60 s), then is forgotten.
_TOMBSTONE_SECONDS = 120


class _Direct:
    """A socket's entry in `receive_buffer`; channels_redis only calls `put_nowait` on it, as
    nobody `receive()`s on the socket's channel. `groups` are the local groups it is in."""

    __slots__ = ("deliver", "groups")

    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver
        self.groups: list[str] | None = None

    def put_nowait(self, message: dict[str, Any]) -> None:
        self.deliver(message)


def _drop(message: dict[str, Any]) -> None:
    logger.debug("layer message for a closed socket dropped")


class LayerPump:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        # The loop the sockets live on (Daphne's); set by the first register().
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sockets = 0
        self._task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        # group -> this process's socket channels in it
        self.members: dict[str, list[str]] = {}

    @staticmethod
    def supported(layer: Any) -> bool:
        return hasattr(layer, "receive_local") and hasattr(layer, "receive_buffer")

    async def register(self, deliver: Deliver) -> str:
        """A new channel for a socket, whose messages go to `deliver`."""
        channel = await self.layer.new_channel()
        self.loop = asyncio.get_running_loop()
        self.layer.receive_buffer[channel] = _Direct(deliver)
        self.sockets += 1
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
            if hasattr(self.layer, "assert_marker"):
                self._watch_task = asyncio.ensure_future(self._watch())
        return channel

    def unregister(self, channel: str) -> None:
        buffers = self.layer.receive_buffer
        entry = buffers.get(channel)
        if type(entry) is _Direct and entry.groups:
            for group in tuple(entry.groups):
                self.leave(group, channel)
        buffers[channel] = _Direct(_drop)
        asyncio.get_running_loop().call_later(_TOMBSTONE_SECONDS, buffers.pop, channel, None)
        self.sockets -= 1
        if self.sockets <= 0 and self._task is not None:
            self.sockets = 0
            self._task.cancel()
            self._task = None
            if self._watch_task is not None:
                self._watch_task.cancel()
                self._watch_task = None
            global redis_answering
            redis_answering = True  # nothing watches any more: the next CONNECT tries Redis itself

    def join(self, group: str, channel: str) -> None:
        entry = self.layer.receive_buffer.get(channel)
        if type(entry) is not _Direct or entry.deliver is _drop:
            return  # not a live socket of this pump: its messages go through Redis
        # Lists, not sets: a socket is in a group or two, a group has a socket or two here.
        if entry.groups is None:
            entry.groups = [group]
        elif group not in entry.groups:
            entry.groups.append(group)
        members = self.members.get(group)
        if members is None:
            self.members[group] = [channel]
        elif channel not in members:
            members.append(channel)

    def leave(self, group: str, channel: str) -> None:
        entry = self.layer.receive_buffer.get(channel)
        if type(entry) is _Direct and entry.groups and group in entry.groups:
            entry.groups.remove(group)
        members = self.members.get(group)
        if members is not None and channel in members:
            members.remove(channel)
            if not members:
                del self.members[group]

    async def _run(self) -> None:
        buffers = self.layer.receive_buffer
        while True:
            try:
                received = await self.layer.receive_local()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.error("channel layer receive failed (%r); waiting for Redis", exc)
                await self._until_redis_answers()
                continue
            for channels, message in received:
                for channel in channels:
                    buffers[channel].put_nowait(message)

    async def _watch(self) -> None:
        global redis_answering
        while True:
            try:
                async with asyncio.timeout(WATCH_TIMEOUT):
                    await self.layer.assert_marker()  # on a loss of data, recovers (`recover`)
                redis_answering = True
            except asyncio.CancelledError:
                raise
            except Exception:
                redis_answering = False  # the next round that reaches Redis sees whether it lost its data
            await asyncio.sleep(WATCH_INTERVAL)

    async def _restore_groups(self) -> None:
        """Every socket back in its groups, then this process listed as live again (which tells
        the other processes' retry queues that its sockets can be reached)."""
        restore = getattr(self.layer, "restore_groups", None)
        if restore is None:
            return
        try:
            async with asyncio.timeout(WATCH_TIMEOUT):
                if self.members:
                    await restore({group: list(channels) for group, channels in self.members.items()})
                await self.layer.assert_marker()
        except asyncio.CancelledError:
            raise
        except Exception:  # each socket's own refresh (on_recovered) puts them back too
            logger.warning("channel layer: restoring the sockets' groups failed", exc_info=True)

    async def _until_redis_answers(self) -> None:
        ping = getattr(self.layer, "ping", None)
        while True:
            await asyncio.sleep(RECOVERY_POLL)
            if ping is None:
                return
            try:
                async with asyncio.timeout(1.0):
                    await ping()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                continue


_pumps: dict[int, LayerPump] = {}


def pump_for(layer: Any) -> LayerPump | None:
    """The process's pump for this layer, or None when the layer is not one it can drive."""
    pump = _pumps.get(id(layer))
    if pump is None:
        if not LayerPump.supported(layer):
            return None
        pump = _pumps[id(layer)] = LayerPump(layer)
    return pump


async def recover(layer: Any) -> None:
    """Redis lost its data (the layer's marker says so, whoever asked it): put this process's
    sockets back in their groups, list the process as live again, and have the consumers
    re-assert their presence."""
    logger.warning("channel layer: Redis lost its data; sockets re-assert their groups and presence")
    pump = _pumps.get(id(layer))
    if pump is not None:
        await pump._restore_groups()
    for callback in list(on_recovered):
        try:
            callback()
        except Exception:
            logger.exception("a Redis recovery callback failed")


def is_local(layer: Any, channel: str) -> bool:
    """A socket channel of this process's pump (live or closed): never delivered through Redis."""
    return type(layer.receive_buffer.get(channel)) is _Direct


def deliver_to_group(layer: Any, group: str, message: dict[str, Any]) -> None:
    """Give `message` (a copy each) to this process's sockets in `group`, in the order of the
    calls, as their Redis delivery would. From a thread other than the sockets' loop (an
    `async_to_sync` publisher on a loop of its own) the hand-over goes through that loop."""
    pump = _pumps.get(id(layer))
    if pump is None or pump.loop is None:
        return
    channels = pump.members.get(group)
    if not channels:
        return
    buffers = layer.receive_buffer
    loop = pump.loop
    same_loop = _running_loop() is loop
    for name in tuple(channels):
        entry = buffers.get(name)
        if type(entry) is not _Direct:
            continue
        if same_loop:
            entry.put_nowait(dict(message))
        else:
            try:
                loop.call_soon_threadsafe(entry.put_nowait, dict(message))
            except RuntimeError:  # that loop is closed: so are its sockets
                return


def join(layer: Any, group: str, channel: str) -> None:
    pump = _pumps.get(id(layer))
    if pump is not None:
        pump.join(group, channel)


def leave(layer: Any, group: str, channel: str) -> None:
    pump = _pumps.get(id(layer))
    if pump is not None:
        pump.leave(group, channel)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
