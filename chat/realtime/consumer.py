"""The Socket.IO-compatible endpoint at `/socket.io/`: one consumer per WebSocket.

What the official Node server does, in one Channels consumer: the Engine.IO v4 handshake (open
packet, server pings, close on a missed pong), the Socket.IO v5 namespace connect with `auth.token`,
events with acks, and server events from the channel layer (`socket.emit` messages on the user's
group, published by `chat.events`).

The consumer's loop reads frames one at a time and hands each event to the socket's event queue,
whose one task handles them in arrival order, each acked before the next starts; consecutive
events with a batch handler (`send_message`) that queued up while the task was busy go to the
database together and are acked in order. So a client with many events outstanding gets them
handled back to back, never reordered. The queue is bounded (`conf.queue_max_events`,
`conf.queue_max_bytes`): an event beyond is refused as rate limited, and a socket that keeps
sending into a full queue is closed. The shutdown wrapper closes a socket only while it waits
in `receive()` with its event queue empty (the consumer reports its queue's start and end through
the scope's `ACTIVITY` object), so every event received has been acked. Events sent right after
CONNECT wait until the connect work is done, so none is dropped (docs/contract.md, D19).

What follows an ack runs on two ordered queues per socket, so the next event is handled while it
runs: the handler's events to other users (`ctx.defer`: published in the order of the acks), and
database follow-ups (`ctx.later`: delivered status or a push, batched; presence transitions). The
disconnect logic waits for both before it leaves its groups and updates presence.

Channel-layer messages reach the socket through the process's one reader (`pump`); the socket
gets its channel only once its namespace is connected.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import AsyncConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from socketio import packet as sio

from chat.realtime import conf, handlers, presence, protocol, pump, ratelimit, registry
from chat.realtime.auth import INVALID_TOKEN, HandshakeRejected, authenticate, origin_allowed
from chat.realtime.groups import user_group
from chat.realtime.handlers import HOOKS, EventContext
from chat.realtime.pump import LayerPump, pump_for
from chat.realtime.pump import on_recovered as pump_on_recovered
from chat.realtime.throttle import redis_slots
from vlvt.http.ratelimit import StoreOutage
from vlvt.server.shutdown.asgi import ACTIVITY

logger = logging.getLogger("vlvt.realtime")

PAYLOAD_TOO_LARGE = {"success": False, "error": "Payload too large"}
# A namespace CONNECT needs Redis (the user's group, presence). While Redis cannot be reached the
# client gets this CONNECT_ERROR at once (it may CONNECT again on the same connection), instead of
# a connection reset after redis-py's retries: a CONNECT whose Redis work fails is refused, and
# for REDIS_RETRY_SECONDS after that, or while the pump's watch finds Redis silent (a hung
# Redis), the others are refused without trying Redis. CONNECT_REDIS_TIMEOUT only backs that up:
# a burst of a thousand CONNECTs queues for the Redis slots for a while, and must not be refused.
SERVICE_UNAVAILABLE = "Service temporarily unavailable, please retry"
CONNECT_REDIS_TIMEOUT = 10.0
REDIS_RETRY_SECONDS = 1.0
REFRESH_TIMEOUT = 1.0  # a socket's periodic re-assertion of its groups and presence
redis_outage = StoreOutage(REDIS_RETRY_SECONDS)
FLOODED = 1008  # WebSocket close code (policy violation) for a socket that keeps flooding its queue
# The most queued events of one name handled by one batch call.
MAX_BATCH = 64

Deferred = Callable[[], Awaitable[Any]]


class OrderedTasks:
    """Callables run one after another on one task, started when there is work (none when idle;
    the queue too is only allocated while there is work, as most sockets are idle)."""

    __slots__ = ("_queue", "_task", "_what")

    def __init__(self, what: str) -> None:
        self._queue: collections.deque[Deferred] | None = None
        self._task: asyncio.Task[None] | None = None
        self._what = what

    def add(self, fn: Deferred) -> None:
        if self._queue is None:
            self._queue = collections.deque()
        self._queue.append(fn)
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while self._queue:
                fn = self._queue.popleft()
                try:
                    await fn()
                except Exception:
                    logger.exception("socket %s failed", self._what)
        finally:
            self._task = None
            self._queue = None

    async def wait(self) -> None:
        """Until everything queued so far (and queued meanwhile) has run; immune to cancellation."""
        while self._task is not None:
            await asyncio.shield(self._task)


class SocketIOConsumer(AsyncConsumer):
    def __init__(self) -> None:
        self.sid = ""  # the Socket.IO socket id, once the namespace is connected
        self.user_id: str | None = None
        self.groups: set[str] = set()
        self.closed = False
        self.channel_layer: Any = None
        self.channel_name = ""
        self._reader: asyncio.Task[None] | None = None  # only when the layer has no pump
        self._pump: LayerPump | None = None
        self._inbox = OrderedTasks("layer message")
        self._fanout = OrderedTasks("fan-out")
        self._later = OrderedTasks("background work")
        self._sent: list[tuple[str, str]] = []  # (recipient, message id) awaiting delivered-or-push
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._connect_timer: asyncio.TimerHandle | None = None
        self._expiry_timer: asyncio.TimerHandle | None = None
        self._timer_tasks: set[asyncio.Task[Any]] = set()
        self._refreshed = 0.0
        self._events: collections.deque[tuple[handlers.HandlerSpec, str, Any, int | None, int]] | None = None
        self._events_task: asyncio.Task[None] | None = None
        self._queued_bytes = 0  # packet characters of the events in `_events`
        self._refused = 0  # events refused for a full queue since it was last empty
        self._activity: Any = None
        # Events published to the socket's groups while its CONNECT is being done: sent right
        # after the CONNECT ack, in order (a client reads no event before its ack).
        self._held: list[str] | None = None

    # Channels' own __call__ is replaced: the scope is the raw ASGI dict, not the stubs' TypedDict.
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:  # type: ignore[override]  # see above
        """One frame at a time from the client until it goes (no per-message tasks)."""
        self.scope = scope  # type: ignore[assignment]  # the raw ASGI scope, as above
        self.base_send = send
        self._activity = scope.get(ACTIVITY)
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    await self.websocket_receive(message)
                elif kind == "websocket.connect":
                    if not await self.websocket_connect(message):
                        return
                elif kind == "websocket.disconnect":
                    return
        finally:
            await self._disconnected()

    # -- Engine.IO ---------------------------------------------------------------------------------
    async def websocket_connect(self, message: dict[str, Any]) -> bool:
        code = protocol.handshake_error(protocol.query_params(self.scope), is_upgrade=True)
        if code is None and not origin_allowed(self.scope):
            code = protocol.FORBIDDEN
        if code is not None:
            # Daphne can only refuse a WebSocket handshake with 403 (no ASGI denial response).
            logger.info("socket handshake refused: %s", protocol.ERROR_MESSAGES[code])
            self.closed = True
            await self.send({"type": "websocket.close"})
            return False
        await self.send({"type": "websocket.accept"})
        await self._send(
            protocol.open_packet(
                protocol.new_sid(),
                ping_interval=conf.ping_interval_ms(),
                ping_timeout=conf.ping_timeout_ms(),
                max_payload=settings.SOCKET_PAYLOAD_LIMIT,
            )
        )
        loop = asyncio.get_running_loop()
        self._ping_timer = loop.call_later(conf.ping_interval_ms() / 1000, self._ping)
        self._connect_timer = loop.call_later(conf.connect_timeout_ms() / 1000, self._connect_timeout)
        return True

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if self.closed:
            return
        if not text:  # binary frames carry Socket.IO attachments, which this server does not accept
            await self.close("parse error")
            return
        kind, body = text[0], text[1:]
        if kind == protocol.MESSAGE:
            await self._socketio(body)
        elif kind == protocol.PONG:
            self._pong()
        elif kind == protocol.CLOSE:
            await self.close("transport close")
        elif kind in (protocol.NOOP, protocol.UPGRADE):
            pass
        else:  # a v4 client never pings (the server does), and anything else is not Engine.IO
            await self.close("invalid heartbeat direction" if kind == protocol.PING else "parse error")

    async def _disconnected(self) -> None:
        self.closed = True
        self._cancel_timers()
        await self._events_done()
        await self._teardown()

    # -- heartbeat (timers, not tasks, so an idle socket costs little) ------------------------------
    def _ping(self) -> None:
        self._ping_timer = None
        if self.closed:
            return
        self._spawn(self._send(protocol.PING))
        self._spawn(presence.keep_process_alive())
        loop = asyncio.get_running_loop()
        self._pong_timer = loop.call_later(conf.ping_timeout_ms() / 1000, self._missed_pong)

    def _pong(self) -> None:
        if self._pong_timer is None:
            return  # an unsolicited pong changes nothing
        self._pong_timer.cancel()
        self._pong_timer = None
        loop = asyncio.get_running_loop()
        self._ping_timer = loop.call_later(conf.ping_interval_ms() / 1000, self._ping)
        # Re-asserting Redis state rides on the heartbeat, so idle sockets do it too.
        if self.user_id is not None and loop.time() - self._refreshed >= conf.refresh_ms() / 1000:
            self._refreshed = loop.time()
            self.later(self._refresh)

    async def _refresh(self) -> None:
        """Assert again what Redis holds for this socket: its group memberships (channels_redis
        forgets them after `group_expiry`, a day) and its presence entry. Both come back after
        Redis lost its data (a restart without persistence). Runs on the background queue, which
        the disconnect logic waits for, so it never re-adds a socket that has gone."""
        user_id = self.user_id
        if user_id is None or self.channel_layer is None:
            return
        try:
            # Bounded: against a hung Redis, each refresh held one of the process's few Redis slots
            # for the whole outage, and every socket's sends and publications queued for a slot
            # behind them, until well after Redis answered again. The next refresh tries again.
            async with asyncio.timeout(REFRESH_TIMEOUT):
                async with redis_slots():
                    for group in list(self.groups):
                        await self.channel_layer.group_add(group, self.channel_name)
                came_back = await presence.socket_added(user_id, self.sid)  # Redis had lost the user
            if came_back:
                await HOOKS.presence_changed(user_id, online=True, socket_id=self.sid)
        except Exception as exc:  # a line, not a traceback: every socket may tell it in an outage
            logger.warning("refreshing a socket's groups and presence failed (%r)", exc)

    def _missed_pong(self) -> None:
        self._pong_timer = None
        self._spawn(self.close("ping timeout"))

    def _connect_timeout(self) -> None:
        self._connect_timer = None
        if self.user_id is None:
            self._spawn(self.close("connect timeout"))

    def _token_expired(self) -> None:
        """The token the socket connected with has expired: close the connection (a WebSocket
        close, no Socket.IO DISCONNECT), so the client reconnects by itself and its CONNECT must
        carry a valid token again (a stale one gets CONNECT_ERROR `Token expired`)."""
        self._expiry_timer = None
        self._spawn(self.close("token expired"))

    def _cancel_expiry(self) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._timer_tasks.add(task)
        task.add_done_callback(self._timer_tasks.discard)

    def _cancel_timers(self) -> None:
        for timer in (self._ping_timer, self._pong_timer, self._connect_timer, self._expiry_timer):
            if timer is not None:
                timer.cancel()
        self._ping_timer = self._pong_timer = self._connect_timer = self._expiry_timer = None

    async def close(self, reason: str, *, code: int = 1000) -> None:
        """Close the Engine.IO connection; the disconnect logic runs when the disconnect arrives."""
        if self.closed:
            return
        logger.info("socket closed by the server: %s", reason)
        self.closed = True
        self._cancel_timers()
        await self.send({"type": "websocket.close", "code": code})

    # -- Socket.IO ---------------------------------------------------------------------------------
    async def _socketio(self, body: str) -> None:
        if len(body) > settings.SOCKET_PAYLOAD_LIMIT:
            # Never parse it. An event that asked for an ack learns why nothing happened.
            ack_id = protocol.peek_ack_id(body)
            if ack_id is not None and self.user_id is not None:
                await self._send(protocol.ack(ack_id, PAYLOAD_TOO_LARGE))
            return
        try:
            packet = protocol.decode(body)
        except protocol.ProtocolError:
            await self.close("parse error")
            return
        except protocol.PayloadRejected as exc:
            await self._rejected(body, exc.message)
            return
        if packet.namespace != "/":
            if packet.type == sio.CONNECT:
                await self._send(protocol.connect_error("Invalid namespace", packet.namespace))
            return
        if packet.type == sio.EVENT:
            if self.user_id is not None:
                await self._event(packet.data[0], packet.data[1:], packet.ack_id, len(body))
        elif packet.type == sio.CONNECT:
            await self._connect_namespace(packet.data)
        elif packet.type == sio.DISCONNECT:
            self._cancel_expiry()
            await self._events_done()
            await self._teardown()
        # ACKs: this server never asks the client for one; events before CONNECT are ignored.

    async def _rejected(self, body: str, error: str) -> None:
        """A packet whose JSON no handler could use: the socket stays up, and the client hears
        why when it waits for an answer (an event's ack, a CONNECT's error)."""
        logger.info("socket packet rejected: %s", error)
        if body.startswith(str(sio.CONNECT)) and self.user_id is None:
            await self._send(protocol.connect_error(INVALID_TOKEN))
            return
        ack_id = protocol.peek_ack_id(body)
        if ack_id is not None and self.user_id is not None:
            await self._send(protocol.ack(ack_id, {"success": False, "error": error}))

    async def _connect_namespace(self, auth: Any) -> None:
        if self.user_id is not None:
            return
        try:
            user = authenticate(auth)
        except HandshakeRejected as exc:
            await self._send(protocol.connect_error(exc.message))
            return
        if redis_outage.skipping() or not pump.redis_answering:
            await self._send(protocol.connect_error(SERVICE_UNAVAILABLE))
            return
        loop = asyncio.get_running_loop()
        user_id = self.user_id = user.user_id
        self.sid = protocol.new_sid()
        self._held = []
        self._refreshed = loop.time()
        try:
            async with asyncio.timeout(CONNECT_REDIS_TIMEOUT):
                await self._open_channel()
                await self.join(user_group(user_id))
                first = bool(await presence.socket_added(user_id, self.sid))
        except Exception as exc:
            if not isinstance(exc, TimeoutError):
                redis_outage.failed()
            logger.warning("socket CONNECT refused: Redis unavailable (%r)", exc)
            self._undo_connect(user_id)
            await self._send(protocol.connect_error(SERVICE_UNAVAILABLE))
            return
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        self._cancel_expiry()  # a namespace connected again after a DISCONNECT
        self._expiry_timer = loop.call_later(max(0.0, user.expires - time.time()), self._token_expired)
        registry.add(user_id, self)
        await self._send(protocol.connect_ok(self.sid))
        await self._release_held()
        if first:
            sid = self.sid
            self.later(lambda: HOOKS.presence_changed(user_id, online=True, socket_id=sid))

    def _undo_connect(self, user_id: str) -> None:
        """A CONNECT that failed half-way: this process forgets the socket's groups and channel;
        a presence entry Redis may still apply (a hung Redis runs queued commands when it
        resumes) is removed once Redis answers."""
        sid = self.sid
        if self._pump is not None:
            for group in self.groups:
                self._pump.leave(group, self.channel_name)
            self._pump.unregister(self.channel_name)
            self._pump = None
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        self.groups.clear()
        self.channel_layer = None
        self.channel_name = ""
        self.user_id = None
        self.sid = ""
        self._held = None
        self._spawn(_forget_presence(user_id, sid))

    async def _event(self, name: Any, args: list[Any], ack_id: int | None, size: int) -> None:
        spec = handlers.HANDLERS.get(name) if isinstance(name, str) else None
        if spec is None:
            return  # no listener: the official server drops it, and never acks
        queue = self._events
        if queue is None:
            queue = self._events = collections.deque()
        elif len(queue) >= conf.queue_max_events() or self._queued_bytes + size > conf.queue_max_bytes():
            await self._refuse(name, ack_id)  # (an empty queue always takes one event)
            return
        queue.append((spec, name, args[0] if args else None, ack_id, size))
        self._queued_bytes += size
        if self._events_task is None:
            if self._activity is not None:
                self._activity.begin()
            self._events_task = asyncio.ensure_future(self._handle_events())

    async def _refuse(self, name: str, ack_id: int | None) -> None:
        """The queue is full: the event is not handled, and the client hears it as a rate limit
        (the `rate_limit_error` event, and the rate-limit ack if it asked for one). A socket that
        keeps sending while its queue stays full is closed."""
        self._refused += 1
        if self._refused > conf.queue_flood_limit():
            logger.warning("socket closed for flooding its event queue", extra={"event": name})
            await self.close("event queue flooded", code=FLOODED)
            return
        logger.info("Socket event queue full", extra={"event": name})
        await self.emit("rate_limit_error", ratelimit.queue_full_payload(name, conf.queue_max_events()))
        if ack_id is not None:
            await self._send(protocol.ack(ack_id, ratelimit.error_ack(ratelimit.QUEUE_FULL_RETRY_MS)))

    async def _handle_events(self) -> None:
        """The socket's event queue, in order; runs while there are events (no task when idle)."""
        try:
            queue = self._events
            while queue:
                spec, name, data, ack_id, size = queue.popleft()
                self._queued_bytes -= size
                if spec.batch is None or not queue or queue[0][0] is not spec:
                    await self._handle([(data, ack_id)], spec, name)
                    continue
                run = [(data, ack_id)]
                while queue and queue[0][0] is spec and len(run) < MAX_BATCH:
                    _, _, data, ack_id, size = queue.popleft()
                    self._queued_bytes -= size
                    run.append((data, ack_id))
                await self._handle(run, spec, name)
        finally:
            self._events_task = None
            self._events = None
            self._queued_bytes = self._refused = 0
            if self._activity is not None:
                self._activity.end()

    async def _events_done(self) -> None:
        """Until every event received so far has been handled and acked."""
        while self._events_task is not None:
            await asyncio.shield(self._events_task)

    async def _handle(self, run: list[tuple[Any, int | None]], spec: handlers.HandlerSpec, name: str) -> None:
        """Events of one name (several only with a batch handler): rate limits, handler, acks in
        order, then the fan-out and background work they left."""
        user_id = self.user_id
        if user_id is None:  # the namespace was left meanwhile
            return
        allowed: list[tuple[Any, int | None]] = []
        for data, ack_id in run:
            retry_after = await ratelimit.check(name, user_id, self.sid)
            if retry_after is None:
                allowed.append((data, ack_id))
                continue
            logger.info("Socket rate limit exceeded for user", extra={"event": name})
            await self.emit("rate_limit_error", ratelimit.error_payload(name, retry_after))
            if ack_id is not None:
                await self._send(protocol.ack(ack_id, ratelimit.error_ack(retry_after)))
        if not allowed:
            return
        ctx = EventContext(self, user_id, self.sid)
        failure = {"success": False, "error": spec.failure}
        try:
            if len(allowed) == 1:
                results: list[Any] = [await spec.fn(ctx, allowed[0][0])]
            else:
                assert spec.batch is not None
                results = await spec.batch(ctx, [data for data, _ in allowed])
        except (OperationalError, InterfaceError) as exc:
            # PostgreSQL unreachable: one line per event, not a traceback (thousands in an outage).
            logger.warning(
                "socket event handler failed: database unavailable (%s)", exc, extra={"event": name}
            )
            results = [failure] * len(allowed)
        except Exception:
            logger.exception("socket event handler failed", extra={"event": name})
            results = [failure] * len(allowed)
        for (_, ack_id), result in zip(allowed, results, strict=True):
            if ack_id is not None and result is not None:
                await self._send(protocol.ack(ack_id, result))
        for fn in ctx.deferred:  # fan-out only after the acks are out
            self._fanout.add(fn)
        for fn in ctx.background:
            self._later.add(fn)

    async def socket_emit(self, message: dict[str, Any]) -> None:
        """A `chat.events` publication on one of this socket's groups. A room publication may skip
        a user's sockets (`skip_user`) or one socket (`skip_channel`) that get the event otherwise."""
        if self.user_id is None or self.closed:
            return
        if message.get("skip_user") == self.user_id or message.get("skip_channel") == self.channel_name:
            return
        await self.emit(message["event"], message["data"])

    async def socket_emit_many(self, message: dict[str, Any]) -> None:
        """Several events of one publication (`chat.events.asend_many_to_user`), in order."""
        if self.user_id is None or self.closed:
            return
        if message.get("skip_user") == self.user_id or message.get("skip_channel") == self.channel_name:
            return
        for event, data in message["emits"]:
            await self.emit(event, data)

    # -- the channel layer -------------------------------------------------------------------------
    async def _open_channel(self) -> None:
        if self.channel_layer is not None:
            return
        self.channel_layer = get_channel_layer()
        self._pump = pump_for(self.channel_layer)
        if self._pump is not None:  # the process's one reader hands us our messages
            self.channel_name = await self._pump.register(self._layer_message)
        else:
            self.channel_name = await self.channel_layer.new_channel()
            self._reader = asyncio.ensure_future(self._read_channel())

    def _reassert(self) -> None:
        """Redis answers again after a failure: refresh groups and presence now (see _refresh)."""
        if self.user_id is not None and not self.closed:
            self._refreshed = asyncio.get_running_loop().time()
            self.later(self._refresh)

    def _layer_message(self, message: dict[str, Any]) -> None:
        self._inbox.add(lambda: self._handle_layer_message(message))

    async def _read_channel(self) -> None:
        while True:
            try:
                message = await self.channel_layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("channel layer receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            await self._handle_layer_message(message)

    async def _handle_layer_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        handler = getattr(self, kind.replace(".", "_"), None) if isinstance(kind, str) else None
        if handler is None or not isinstance(kind, str) or kind.startswith(("websocket.", "_")):
            logger.warning("no handler for layer message %r", kind)
            return
        try:
            await handler(message)
        except Exception:
            logger.exception("handling a layer message failed")

    # -- what handlers may use ---------------------------------------------------------------------
    async def emit(self, event: str, *args: Any) -> None:
        if self._held is not None:
            self._held.append(protocol.event(event, *args))
            return
        await self._send(protocol.event(event, *args))

    async def _release_held(self) -> None:
        """The events held during the CONNECT, in order; any arriving meanwhile queue behind."""
        held = self._held
        while held:
            await self._send(held.pop(0))
        self._held = None

    async def join(self, group: str) -> None:
        if group not in self.groups:
            self.groups.add(group)
            async with redis_slots():
                await self.channel_layer.group_add(group, self.channel_name)

    async def leave(self, group: str) -> None:
        if group in self.groups:
            self.groups.discard(group)
            async with redis_slots():
                await self.channel_layer.group_discard(group, self.channel_name)

    def later(self, fn: Deferred) -> None:
        """Run `fn()` on this socket's background task, after everything queued before it."""
        self._later.add(fn)

    def note_sent(self, recipient_id: str, message_id: str) -> None:
        """A message went out to its recipient's sockets: mark it delivered, or push, soon.

        Messages noted while the previous batch is being written form the next batch, so the
        background work keeps up with any send rate."""
        self._sent.append((recipient_id, message_id))
        if len(self._sent) == 1:
            self.later(self._deliver_sent)

    async def _deliver_sent(self) -> None:
        sent, self._sent = self._sent, []
        await HOOKS.messages_sent(sent)

    # -- internals ---------------------------------------------------------------------------------
    async def _send(self, text: str) -> None:
        await self.send({"type": "websocket.send", "text": text})

    async def _presence(self, op: Any, user_id: str) -> bool:
        try:
            return bool(await op(user_id, self.sid))
        except Exception:
            logger.exception("presence update failed")
            return False

    async def _teardown(self) -> None:
        """Leave the namespace: background work finished, groups left, presence updated. Runs once."""
        user_id, self.user_id = self.user_id, None
        await self._fanout.wait()
        await self._later.wait()
        for group in list(self.groups):
            try:
                await self.leave(group)
            except Exception:
                logger.exception("leaving a group failed")
        if self._pump is not None:
            self._pump.unregister(self.channel_name)
            self._pump = None
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        self.channel_layer = None
        if user_id is None:
            return
        registry.discard(user_id, self)
        if await self._presence(presence.socket_removed, user_id):
            await HOOKS.presence_changed(user_id, online=False, socket_id=None)


async def _forget_presence(user_id: str, sid: str, attempts: int = 30) -> None:
    for _ in range(attempts):
        await asyncio.sleep(REDIS_RETRY_SECONDS)
        try:
            async with asyncio.timeout(CONNECT_REDIS_TIMEOUT):
                await presence.socket_removed(user_id, sid)
            return
        except Exception:
            continue
    logger.error("presence entry of a refused socket not removed: Redis did not answer for 30 s")


def _reassert_all() -> None:
    for socket in registry.all_sockets():
        socket._reassert()


pump_on_recovered.append(_reassert_all)
