"""One channel-layer reader per process instead of one per socket.

channels_redis delivers the messages of all of a process's channels from one Redis key, through
one receive loop, into a per-channel queue (`receive_buffer`) that each channel's `receive()`
waits on; a waiting `receive()` costs a task, two helper tasks and a wait, and every message two
new tasks. Here one pump task per process waits on a channel of its own, which keeps that receive
loop running, and each socket's `receive_buffer` entry is a `_Direct` object that hands the
message straight to the socket (in order) instead of queueing it for a reader.

This leans on channels_redis internals (`receive_buffer`, `new_channel`'s shared prefix; the
version is pinned); with another channel layer the consumer reads its channel itself. Other code
in the process may still `receive()` on channels of its own: those keep channels_redis's queues.

The pump runs while sockets are registered and stops with the last one, so a process that shuts
down has no pump left once its sockets are closed.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("vlvt.realtime")

Deliver = Callable[[dict[str, Any]], None]

# A closed socket's channel drops what still arrives for it (a publish that raced its
# group_discard) for longer than channels_redis keeps a message (`expiry`, 60 s), then is forgotten.
_TOMBSTONE_SECONDS = 120


class _Direct:
    """A socket's entry in `receive_buffer`; channels_redis only calls `put_nowait` on it, as
    nobody `receive()`s on the socket's channel."""

    __slots__ = ("deliver",)

    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver

    def put_nowait(self, message: dict[str, Any]) -> None:
        self.deliver(message)


def _drop(message: dict[str, Any]) -> None:
    logger.debug("layer message for a closed socket dropped")


class LayerPump:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.sockets = 0
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def supported(layer: Any) -> bool:
        try:
            from channels_redis.core import RedisChannelLayer
        except ImportError:
            return False
        return isinstance(layer, RedisChannelLayer) and hasattr(layer, "receive_buffer")

    async def register(self, deliver: Deliver) -> str:
        """A new channel for a socket, whose messages go to `deliver`."""
        channel = await self.layer.new_channel()
        self.layer.receive_buffer[channel] = _Direct(deliver)
        self.sockets += 1
        if self._task is None:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
            self._task = asyncio.ensure_future(self._run())
        return channel

    def unregister(self, channel: str) -> None:
        buffers = self.layer.receive_buffer
        buffers[channel] = _Direct(_drop)
        asyncio.get_running_loop().call_later(_TOMBSTONE_SECONDS, buffers.pop, channel, None)
        self.sockets -= 1
        if self.sockets <= 0 and self._task is not None:
            self.sockets = 0
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
                logger.debug("pump channel message ignored: %r", message.get("type"))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("channel layer receive failed; retrying")
                await asyncio.sleep(0.5)


_pumps: dict[int, LayerPump] = {}


def pump_for(layer: Any) -> LayerPump | None:
    """The process's pump for this layer, or None when the layer is not one it can drive."""
    pump = _pumps.get(id(layer))
    if pump is None:
        if not LayerPump.supported(layer):
            return None
        pump = _pumps[id(layer)] = LayerPump(layer)
    return pump
