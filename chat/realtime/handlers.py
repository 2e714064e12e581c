"""What the transport asks of the application: handlers for the client events, and hooks for
presence transitions and sent messages. The chat app registers both in ChatConfig.ready()
(`chat.socket_handlers`, `chat.after_hours.socket_handlers`, `chat.presence`).

A handler is `async def h(ctx, data) -> ack | None`, registered with `@handler(name, failure=...)`.
`data` is the event's first argument, whatever the client sent: each handler checks its shape
before touching a field (docs/contract.md, D19), so null, a list or a wrong type gets an error ack
and the socket stays up. Work that must follow the ack goes through `ctx.defer(...)` (events to
other users: the socket's fan-out task, in order) or `ctx.later(...)` (database follow-ups: the
socket's background task, in order); the next event does not wait for either. An exception
becomes `{success:false, error:<failure>}`, the original's catch-all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

if TYPE_CHECKING:
    from chat.realtime.consumer import SocketIOConsumer

logger = logging.getLogger("vlvt.realtime")

Ack = dict[str, Any]
Handler = Callable[["EventContext", Any], Awaitable[Ack | None]]
BatchHandler = Callable[["EventContext", list[Any]], Awaitable[list[Ack]]]


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    fn: Handler
    failure: str  # the ack when the handler raises
    batch: BatchHandler | None = None  # several queued events of this name at once, in order


HANDLERS: dict[str, HandlerSpec] = {}


def handler(name: str, *, failure: str, batch: BatchHandler | None = None) -> Callable[[Handler], Handler]:
    """Register `fn` for client event `name` (rate limits are looked up by name in ratelimit.LIMITS).

    With `batch`, consecutive events of this name that queued up on one socket are handled by one
    `batch(ctx, [data, ...])` call, which returns their acks in order; it must mean exactly what
    calling `fn` for each in turn means."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = HandlerSpec(fn, failure, batch)
        return fn

    return register


class EventContext:
    """What a handler may do with the socket that sent the event."""

    __slots__ = ("consumer", "user_id", "socket_id", "deferred", "background")

    def __init__(self, consumer: SocketIOConsumer, user_id: str, socket_id: str) -> None:
        self.consumer = consumer
        self.user_id = user_id
        self.socket_id = socket_id
        self.deferred: list[Callable[[], Awaitable[Any]]] = []
        self.background: list[Callable[[], Awaitable[Any]]] = []

    def defer(self, fn: Callable[[], Awaitable[Any]]) -> None:
        """Run `fn()` after the ack (publishing events to others), in order with the socket's
        other fan-out; the disconnect logic waits for it."""
        self.deferred.append(fn)

    def later(self, fn: Callable[[], Awaitable[Any]]) -> None:
        """Run `fn()` after the ack on the socket's background task, in order with the socket's
        other background work (database follow-ups); the disconnect logic waits for it."""
        self.background.append(fn)

    async def emit(self, event: str, data: Any) -> None:
        """An event to this socket only."""
        await self.consumer.emit(event, data)

    async def join(self, group: str) -> None:
        await self.consumer.join(group)

    async def leave(self, group: str) -> None:
        await self.consumer.leave(group)


def db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """A chat service or selector, called off the event loop.

    Not thread-sensitive: each call is self-contained (its own transaction, its pooled connection
    returned when it ends), so sockets' database work runs in parallel instead of queueing on one
    thread.
    """
    return database_sync_to_async(fn, thread_sensitive=False)


def error(message: str) -> Ack:
    return {"success": False, "error": message}


async def _no_presence(user_id: str, *, online: bool, socket_id: str | None) -> None:
    return None


async def _no_delivery(sent: list[tuple[str, str]]) -> None:
    return None


@dataclass(slots=True)
class Hooks:
    """The application's part at the transport's transitions."""

    # A user's first socket anywhere came (online) or their last one went: write and tell it.
    presence_changed: Callable[..., Awaitable[None]] = _no_presence
    # Messages published to their recipients' groups, as (recipient, message id): delivered or push.
    messages_sent: Callable[[list[tuple[str, str]]], Awaitable[None]] = _no_delivery


HOOKS = Hooks()
